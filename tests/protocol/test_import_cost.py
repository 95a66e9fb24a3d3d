"""protocol: what ``sv status``'s path loads (nothing it does not use: docs/sv.md), and the
words and numbers the status types print.
"""

import ast
import pickle
import subprocess
import sys

import pytest

from runit_provision.protocol.status import State, Status

HEAVY = ("re", "ctypes", "select", "subprocess",
         "signal", "argparse", "dataclasses",
         "runit_provision.protocol.errstr",
         "_ctypes", "runit_provision.runtime.unix.inotify", "runit_provision.runtime.unix.libc",
         # read only when there is an option or a number: "sv status NAME" has neither
         "runit_provision.runtime.unix.sgetopt", "runit_provision.runtime.unix.scan")


def modules_loaded_by(statement):
    """The modules ``statement`` loads in a fresh interpreter — reported with ``repr``, not
    ``json``, whose own import (``re``, ``enum``, ``collections``…) would hide them."""
    code = ("import sys; before = set(sys.modules); %s; "
            "print(repr(sorted(set(sys.modules) - before)))" % statement)
    out = subprocess.run([sys.executable, "-S", "-c",
                          "import sys; sys.path[:0] = %r; exec(%r)" % (sys.path, code)],
                         check=True, capture_output=True, text=True).stdout
    return set(ast.literal_eval(out))


@pytest.mark.parametrize("module", ["runit_provision.protocol.status",
                                    "runit_provision.protocol.probe",
                                    "runit_provision.runtime.sv"])
def test_sv_status_path_loads_nothing_heavy(module):
    loaded = modules_loaded_by("import " + module)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_state_is_shown_as_its_byte():
    assert list(State) == [State.DOWN, State.RUN, State.FINISH] == [0, 1, 2]
    assert State(1) is State.RUN and State(State.FINISH) is State.FINISH
    assert (State.RUN.name, State.RUN.value, repr(State.RUN)) == ("RUN", 1, "<State.RUN: 1>")
    assert len(State) == 3 and isinstance(State.DOWN, int)
    with pytest.raises(ValueError):
        State(3)
    assert pickle.loads(pickle.dumps(State.FINISH)) is State.FINISH
    assert "%s %d {}".format(State.RUN) % (State.FINISH, State.DOWN) == "2 0 1"


def test_status_is_a_named_tuple():
    record = Status(1, 2, 3, True, "d", False, State.DOWN)
    assert record == (1, 2, 3, True, "d", False, State.DOWN)
    assert (record.seconds, record.pid, record.want, record.state) == (1, 3, "d", State.DOWN)
    assert record._replace(pid=9).pid == 9 and record.pid == 3
    assert record._asdict()["paused"] is True
    assert Status._fields[-1] == "state"
    assert pickle.loads(pickle.dumps(record)) == record
    assert repr(record).startswith("Status(seconds=1, nanoseconds=2, pid=3,")
    with pytest.raises(AttributeError):
        record.pid = 5


def test_condition_behaves_like_a_str_enum_of_its_words():
    """SideState.state's Condition is its word wherever the word is written: ``%s``, JSON."""
    import enum
    import json

    from runit_provision.protocol.sidestate import Condition

    words = ("down", "run", "finish", "not supervised", "unknown")
    like = enum.Enum("Condition", [(word.upper().replace(" ", "_"), word) for word in words],
                     type=str)
    assert [(member.name, member.value) for member in Condition] == [
        (member.name, member.value) for member in like]
    assert len(Condition) == len(like) == 5
    for member in Condition:
        assert Condition(member.value) is member and Condition(member) is member
        assert member == member.value and hash(member) == hash(member.value)
        assert repr(member) == repr(like(member.value))
        assert "%s" % member == "{}".format(member) == str(member) == member.value
        for indent in (None, 1):  # the C encoder and the Python one (status --json's)
            assert json.dumps({"state": member}, indent=indent) == json.dumps(
                {"state": like(member.value)}, indent=indent) == json.dumps(
                {"state": member.value}, indent=indent)
        assert pickle.loads(pickle.dumps(member)) is member
        assert type(member.value) is str
    with pytest.raises(ValueError):
        Condition("running")
    with pytest.raises(ValueError):
        Condition(["run"])
    assert [member for member in Condition if member.is_runsv_state] == [
        Condition.DOWN, Condition.RUN, Condition.FINISH]
