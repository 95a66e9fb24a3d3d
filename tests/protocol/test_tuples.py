"""protocol/tuples.py: ``named_tuple`` behaves as ``collections.namedtuple`` in everything the
project's records use of it — built the same ways, compared, hashed, encoded, copied and
pickled alike, and refusing what namedtuple refuses."""

import collections
import copy
import json
import pickle

import pytest

from runit_provision.protocol.tuples import named_tuple

Ours = named_tuple("Entry", "kind path size", defaults=(0,), module=__name__)
Theirs = collections.namedtuple("Entry", "kind path size", defaults=(0,))


Pickled = named_tuple("Pickled", "kind path size", defaults=(0,), module=__name__)  # found by its name


class Subclassed(named_tuple("Subclassed", "login name", module=__name__)):
    __slots__ = ()

    @property
    def label(self):
        return "%s/%s" % (self.login, self.name)


CALLS = [(("file", "/etc/sv"), {}), (("file", "/etc/sv", 3), {}), (("file",), {"path": "/x"}),
         ((), {"kind": "dir", "path": "/y", "size": 9}), (("link", "/z"), {"size": 1})]


@pytest.mark.parametrize("args, named", CALLS)
def test_built_and_read_as_namedtuple(args, named):
    ours, theirs = Ours(*args, **named), Theirs(*args, **named)
    assert ours == theirs and tuple(ours) == tuple(theirs) and hash(ours) == hash(theirs)
    assert (ours.kind, ours.path, ours.size) == (theirs.kind, theirs.path, theirs.size)
    assert ours[1:] == theirs[1:] and len(ours) == 3
    kind, path, size = ours
    assert (kind, path, size) == tuple(theirs)
    assert repr(ours) == repr(theirs)
    assert ours._asdict() == dict(theirs._asdict())
    assert ours._replace(size=7) == theirs._replace(size=7) and ours.size == theirs.size
    assert json.dumps(ours) == json.dumps(theirs)
    assert sorted([ours, Ours("a", "b")]) == sorted([theirs, Theirs("a", "b")])


def test_its_class_is_namedtuple_s():
    assert Ours._fields == Theirs._fields and Ours._field_defaults == Theirs._field_defaults
    assert Ours._make(["a", "b", 1]) == Theirs._make(["a", "b", 1])
    if hasattr(Theirs, "__match_args__"):  # 3.10 and later (ours has it on 3.9 too: unused)
        assert Ours.__match_args__ == Theirs.__match_args__
    assert Ours.__name__ == "Entry" and Ours.__module__ == __name__
    assert not hasattr(Ours("a", "b"), "__dict__")  # slotted: a record costs a tuple


def test_copied_and_pickled_as_itself():
    entry = Pickled("file", "/etc/sv", 3)
    for again in (copy.copy(entry), copy.deepcopy(entry), pickle.loads(pickle.dumps(entry))):
        assert again == entry and type(again) is Pickled
    sub = Subclassed("alice", "app")
    assert pickle.loads(pickle.dumps(sub)).label == "alice/app"
    assert repr(sub) == "Subclassed(login='alice', name='app')"
    assert sub._replace(name="web").label == "alice/web" and type(sub._replace()) is Subclassed


@pytest.mark.parametrize("args, named", [(("a", "b", 1, 2), {}), ((), {"path": "/x"}),
                                         (("a",), {"kind": "b"}), (("a", "b"), {"sise": 1})])
def test_refuses_what_namedtuple_refuses(args, named):
    with pytest.raises(TypeError):
        Theirs(*args, **named)
    with pytest.raises(TypeError):
        Ours(*args, **named)
    with pytest.raises((TypeError, ValueError)):
        Ours("a", "b")._replace(sise=1)
    with pytest.raises(TypeError):
        Ours._make(["a"])
