"""Where data came from: positions of every key path, for errors that name file:line:column."""

import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from runit_provision import source
from runit_provision.errors import DataError
from runit_provision.hiera.facts import load_facts_file
from runit_provision.source import Origin, key_path_text, load_yaml_with_origins, origin_of

DATA = """\
runit:
  users: [apprun1, apprun2]
  services:
    web:
      command: /usr/local/bin/web --port 8080
      env:
        PORT: 8080
"""


def test_plain_data_and_an_origin_for_every_key_and_item():
    data, origins = load_yaml_with_origins("common.yaml", text=DATA)
    assert data == {"runit": {"users": ["apprun1", "apprun2"], "services": {"web": {
        "command": "/usr/local/bin/web --port 8080", "env": {"PORT": 8080}}}}}
    assert type(data["runit"]) is dict and type(data["runit"]["users"][0]) is str
    assert origins[("runit", "users")] == Origin("common.yaml", 2, 3)
    assert origins[("runit", "users", 1)] == Origin("common.yaml", 2, 20)
    assert str(origins[("runit", "services", "web", "env", "PORT")]) == "common.yaml:7:9"


def test_origin_of_falls_back_to_the_nearest_ancestor():
    _, origins = load_yaml_with_origins("common.yaml", text=DATA)
    assert origin_of(origins, ("runit", "services", "web", "user")) == Origin(
        "common.yaml", 4, 5)


def test_key_path_text():
    assert key_path_text(("runit", "services", "web", "log", 0)) == "runit.services.web.log[0]"
    assert key_path_text(()) == "(top level)"


def test_malformed_yaml_names_the_position():
    with pytest.raises(DataError, match=r"^bad\.yaml:2:5: malformed YAML: mapping values "):
        load_yaml_with_origins("bad.yaml", text="a: 1\nb: c: d\n")


@pytest.mark.parametrize("text, message", [
    # where a bracket or quote never closed was opened, not the lines later it was given up
    ("runit:\n  services:\n    db:\n      needs: [web, cache\n    web:\n      run: x\n",
     "4:14: malformed YAML: this [ is not closed (at 5:8: did not find expected ',' or ']')"),
    ("a: {x: 1, y: 2\nb: 3\n",
     "1:4: malformed YAML: this { is not closed (at 2:2: did not find expected ',' or '}')"),
    ("a: 'it is\nb: 2\n", "1:4: malformed YAML: this ' is not closed (at 3:1: found "
                          "unexpected end of stream)"),
    # a tab said as a tab, wherever libyaml meets it
    ("runit:\n\tservices: {}\n", "2:1: malformed YAML: a tab: YAML indents with spaces"),
    ("a:\n  b: 1\n\tc: 2\n", "3:1: malformed YAML: a tab: YAML indents with spaces"),
    ("a: [1, 2}\n", "1:4: malformed YAML: this [ is not closed (at 1:9: did not find "
                    "expected ',' or ']')"),
])
def test_malformed_yaml_is_placed_where_it_is_fixed(text, message):
    with pytest.raises(DataError) as raised:
        load_yaml_with_origins("d.yaml", text=text)
    assert str(raised.value) == "d.yaml:" + message


def test_unreadable_file(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_yaml_with_origins(tmp_path / "missing.yaml")


# Bounds (docs/hiera.md#bounds-on-a-data-file): a data file's size, and what its aliases copy.

def billion_laughs(indent=""):
    """Nine levels of nine aliases: 342 bytes that copy into 387 million values."""
    lines = [indent + 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(indent + "%s: &%s [%s]" % (name, name, ",".join(["*" + previous] * 9)))
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_under_any_key_is_refused_at_its_alias():
    text = "runit::services:\n  web: {command: /bin/true}\nunused:\n" + billion_laughs("  ")
    with pytest.raises(DataError) as caught:
        load_yaml_with_origins("common.yaml", text=text)
    # f: &f [*e,*e,…] is line 9; the bound runs out in its second copy of e
    assert str(caught.value) == (
        "common.yaml:9:13: unused.f[1]: the alias *e copies too much: aliases and merge keys "
        "may copy at most 200000 values into one data file (an alias bomb?); write the data "
        "out, or alias less")


def test_merge_keys_of_merge_keys_are_bounded_too():
    lines = ["a: &a {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1}"]
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append("%s: &%s {<<: [%s]}" % (name, name, ", ".join(["*" + previous] * 9)))
    with pytest.raises(DataError, match=r"^m\.yaml:\d+:\d+: \w\.<<: the alias \*\w copies too "
                                        r"much: .* at most 200000 values"):
        load_yaml_with_origins("m.yaml", text="\n".join(lines) + "\n")


def test_copies_up_to_the_bound_load_and_one_more_is_refused(monkeypatch):
    monkeypatch.setattr(source, "MAX_ALIAS_COPIES", 8)
    # each *a copies the list and its 3 items: 4 values
    data, _ = load_yaml_with_origins("b.yaml", text="a: &a [1, 2, 3]\nb: [*a, *a]\n")
    assert data == {"a": [1, 2, 3], "b": [[1, 2, 3], [1, 2, 3]]}
    with pytest.raises(DataError, match=r"^b\.yaml:2:13: b\[2\]: the alias \*a copies too "
                                        r"much: .* at most 8 values"):
        load_yaml_with_origins("b.yaml", text="a: &a [1, 2, 3]\nb: [*a, *a, *a]\n")


def test_a_merge_brought_in_from_another_mapping_names_its_target(monkeypatch):
    """The alias that went past the bound is in the merged mapping's text, not in the
    holder's: the message names where the copied node is defined."""
    # base's *l copies 4 values, web's "<<" 1 pair, then web.log (that *l again) 1 too many
    monkeypatch.setattr(source, "MAX_ALIAS_COPIES", 5)
    with pytest.raises(DataError, match=r"^x\.yaml:1:4: web\.log: an alias of this copies "
                                        r"too much"):
        load_yaml_with_origins("x.yaml", text="l: &l [1, 2, 3]\nbase: &base {log: *l}\n"
                                              "web: {<<: *base}\n")


def test_five_hundred_services_merging_a_base_load_with_their_origins():
    lines = ["base: &base", "  user: www-data", "  nice: 5",
             "  log: &log {size: 1000000, num: 10, timestamps: iso}", "services:"]
    for number in range(500):
        lines += ["  svc%03d:" % number, "    <<: *base",
                  "    command: /usr/local/bin/svc --port %d" % (8000 + number)]
    lines += ["  last: {<<: *base, nice: 1, log: *log}"]
    data, origins = load_yaml_with_origins("big.yaml", text="\n".join(lines) + "\n")
    assert len(data["services"]) == 501
    assert data["services"]["svc499"] == {
        "user": "www-data", "nice": 5, "command": "/usr/local/bin/svc --port 8499",
        "log": {"size": 1000000, "num": 10, "timestamps": "iso"}}
    # a merged key is where the base says it; an own key where the service says it
    assert origins[("services", "svc499", "nice")] == Origin("big.yaml", 3, 3)
    assert origins[("services", "svc499", "log", "num")] == Origin("big.yaml", 4, 29)
    assert origins[("services", "svc499", "command")] == Origin("big.yaml", 1505, 5)
    assert origins[("services", "last", "nice")] == Origin("big.yaml", 1506, 21)


def test_merge_keys_read_as_psych_reads_them():
    """In place: a key after "<<" wins over a merged one, a merged one over a key before it;
    of a list of mappings the first wins (tests/hiera/test_against_puppet.py: the same
    against puppet lookup)."""
    data, _ = load_yaml_with_origins("m.yaml", text=(
        "a: &a {x: from-a, y: from-a}\nb: &b {x: from-b, z: from-b}\n"
        "after: {<<: *a, x: own}\nbefore: {x: own, <<: *a}\nlisted: {<<: [*a, *b]}\n"))
    assert data["after"] == {"x": "own", "y": "from-a"}
    assert data["before"] == {"x": "from-a", "y": "from-a"}
    assert data["listed"] == {"x": "from-a", "y": "from-a", "z": "from-b"}


@pytest.mark.parametrize("text, found", [("a: {<<: 5}\n", "scalar"),
                                         ("a: {<<: [{x: 1}, [2]]}\n", "sequence")])
def test_a_merge_of_something_else_than_mappings_names_its_place(text, found):
    with pytest.raises(DataError, match=r"^m\.yaml:1:\d+: malformed YAML: expected a mapping"
                                        r".* for merging, but found %s" % found):
        load_yaml_with_origins("m.yaml", text=text)


def test_a_file_past_the_size_bound_is_refused_before_it_is_parsed(tmp_path):
    at_bound = tmp_path / "at-bound.yaml"
    at_bound.write_bytes(b"a: 1\n" + b"#" * (source.MAX_DATA_FILE_BYTES - 6) + b"\n")
    assert load_yaml_with_origins(at_bound)[0] == {"a": 1}
    past = tmp_path / "past.yaml"
    past.write_bytes(at_bound.read_bytes() + b"[")  # malformed too: not parsed
    with pytest.raises(DataError, match=r"^%s: too big for a data file: more than 2097152 "
                                        r"bytes \(2 MiB\)" % re.escape(str(past))):
        load_yaml_with_origins(past)
    with pytest.raises(DataError, match="too big for a data file"):
        load_yaml_with_origins("/dev/zero")  # endless: only the bound is read


def test_a_facts_file_has_the_same_bounds(tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text(billion_laughs())
    with pytest.raises(DataError, match=r"facts\.yaml:\d+:\d+: f\[1\]: the alias \*e"):
        load_facts_file(facts)


# A key written twice (issue 44, item 13): PyYAML, as Psych, keeps the last and drops the first
# unread — and any error in it with it. An error at every place, every such key of the file.

TWICE = """\
runit::services:
  api:
    command: /usr/bin/api
    comand: typo
  web: {command: /usr/bin/web}
  api:
    command: /usr/bin/api2
"""


def test_a_key_written_twice_is_an_error_at_both_places():
    with pytest.raises(DataError) as raised:
        load_yaml_with_origins("common.yaml", text=TWICE)
    assert str(raised.value).splitlines() == [
        "common.yaml:2:3: runit::services.api: a key written twice in one hash (also at 6:3); "
        "give it once: YAML keeps the last and drops the rest unread",
        "common.yaml:6:3: runit::services.api: a key written twice in one hash (also at 2:3); "
        "give it once: YAML keeps the last and drops the rest unread"]


def test_every_key_written_twice_is_named_at_once_as_the_data_compares_keys():
    text = "a: {x: 1, x: 2}\nb:\n  yes: 1\n  true: 2\nc: [{t: 1, t: 2, t: 3}]\n"
    with pytest.raises(DataError) as raised:
        load_yaml_with_origins("d.yaml", text=text)
    lines = str(raised.value).splitlines()
    assert [line.split(": ")[0:2] for line in lines] == [
        ["d.yaml:1:5", "a.x"], ["d.yaml:1:11", "a.x"], ["d.yaml:3:3", "b.true"],
        ["d.yaml:4:3", "b.true"], ["d.yaml:5:6", "c[0].t"], ["d.yaml:5:12", "c[0].t"],
        ["d.yaml:5:18", "c[0].t"]]
    assert "a key written 3 times in one hash (also at 5:12, 5:18)" in lines[4]


def test_a_merge_keys_pairs_overridden_are_not_written_twice():
    """``<<`` brings keys in that an own key may override (Psych's reading): not an error —
    again when the mapping is copied by an alias. A key twice inside a merged mapping written
    in place is."""
    text = ("base: &b {x: 1, y: 2}\nover: &o {<<: *b, x: 3}\ncopy: *o\n"
            "more: {<<: [*o, *b], y: 4}\n")
    data, _ = load_yaml_with_origins("m.yaml", text=text)
    assert data["copy"] == {"x": 3, "y": 2} and data["more"] == {"x": 3, "y": 4}
    with pytest.raises(DataError, match=r"^m\.yaml:1:10: c\.q: a key written twice .*"
                                        r"\(also at 1:16\)"):
        load_yaml_with_origins("m.yaml", text="c: {<<: {q: 1, q: 2}, r: 1}\n")
    # a merge key inside a mapping merged in place (tests/hiera/test_against_puppet.py's)
    data, _ = load_yaml_with_origins("m.yaml", text=(
        "x: &x {a: 1, c: 2}\nn: {<<: {<<: *x, c: 3}, a: 4}\n"))
    assert data["n"] == {"a": 4, "c": 3}
    with pytest.raises(DataError, match=r"^m\.yaml:2:18: n\.c: a key written twice .*"
                                        r"\(also at 2:24\)"):
        load_yaml_with_origins("m.yaml", text="x: &x {a: 1}\nn: {<<: {<<: *x, c: 3, c: 4}}\n")


def test_a_key_written_twice_in_a_hierarchy_and_its_hiera_yaml(tmp_path):
    from runit_provision.hiera import load

    (tmp_path / "data").mkdir()
    (tmp_path / "data/common.yaml").write_text(TWICE)
    (tmp_path / "hiera.yaml").write_text(
        "version: 5\nhierarchy:\n  - name: common\n    path: common.yaml\n"
        "defaults: {datadir: data, data_hash: yaml_data}\n")
    with pytest.raises(DataError, match=r"common\.yaml:2:3: runit::services\.api: a key "
                                        r"written twice"):
        load(hiera=tmp_path / "hiera.yaml", facts={}).runit_data()
    (tmp_path / "hiera.yaml").write_text(
        "version: 5\nhierarchy:\n  - name: common\n    path: common.yaml\n"
        "hierarchy: []\n")
    with pytest.raises(DataError, match=r"hiera\.yaml:2:1: hierarchy: a key written twice "
                                        r"in one hash \(also at 5:1\)"):
        load(hiera=tmp_path / "hiera.yaml", facts={})


# What cannot be read is said as it is (issue 44, item 15): a byte that is not UTF-8 at its
# file:line:col, not at a byte offset; a file that may not be read, "permission denied".

def test_a_byte_that_is_not_utf8_is_named_at_its_line_and_column(tmp_path):
    data = tmp_path / "common.yaml"
    data.write_bytes(b"runit::services:\n  web:\n    command: \"/bin/w\xc3\xa9b\xff\"\n")
    with pytest.raises(DataError) as raised:
        load_yaml_with_origins(data)
    assert str(raised.value) == ("%s:3:23: not UTF-8: the byte 0xff cannot be read as text (a "
                                 "data file is UTF-8)" % data)


def as_nobody(function):
    """What ``function`` raises as DataError (or "ok"), run in a child process that became
    nobody (uid 65534): root reads every file, and the test is of a reader that may not."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                function()
                said = "ok"
            except DataError as exc:
                said = str(exc)
            os.write(write_end, said.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 30
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the child reading as nobody did not end within 30 s")
        time.sleep(0.01)
    with os.fdopen(read_end, "rb") as said:
        return said.read().decode()


def test_a_data_file_that_may_not_be_read_says_permission_denied(tmp_path):
    from runit_provision.hiera import load

    hidden = tmp_path / "hidden"  # pytest's tmp_path is root's, 0700: nobody cannot search it
    hidden.mkdir()
    (hidden / "common.yaml").write_text("runit::services: {}\n")
    assert as_nobody(lambda: load(data=hidden / "common.yaml", facts={}).runit_data()) == (
        "%s: cannot read: permission denied" % (hidden / "common.yaml"))
    assert as_nobody(lambda: load(data=tmp_path / "missing.yaml", facts={})).endswith(
        "missing.yaml: cannot read: permission denied")
    shared = Path(tempfile.mkdtemp(prefix="runit-provision-test."))
    shared.chmod(0o755)  # searchable by nobody
    try:
        (shared / "common.yaml").write_text("runit::services: {}\n")
        (shared / "common.yaml").chmod(0o600)
        assert as_nobody(lambda: load(data=shared / "common.yaml", facts={}).runit_data()) == (
            "%s: cannot read: permission denied" % (shared / "common.yaml"))
        (shared / "hiera.yaml").write_text(
            "version: 5\ndefaults: {datadir: %s, data_hash: yaml_data}\nhierarchy:\n"
            "  - {name: common, path: common.yaml}\n" % hidden)
        assert as_nobody(lambda: load(hiera=shared / "hiera.yaml", facts={}).runit_data()) == (
            "%s: cannot read: permission denied" % (hidden / "common.yaml"))
        assert load(data=shared / "common.yaml", facts={}).runit_data()[0] == {"services": {}}
    finally:
        shutil.rmtree(shared)
