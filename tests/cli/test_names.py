"""Issue 31, item 2: one name rule for every verb (model/units.py, docs/names.md) — through
the real CLI, on a staged ``--root`` (nothing started, no sv run).

Each verb that takes names — ``--only`` or as words (plan, apply, status, metrics, verify,
render), or as words only (logs, restart, start, stop, once, hup, term) — takes a user's service as ``alice/notes``,
``~alice/notes`` (``/home/alice/notes`` once a shell expanded it) and, when only one user's
tree has it, ``notes``, and selects exactly it; a bare name two users have is ambiguous (exit
1, naming both); a name the data does not declare is exit 1 with "did you mean", never an
empty success. Every label a verb prints is accepted back.
"""

import json
import os
import re
import shutil

import pytest

from runit_provision.cli.main import main

from ..apply.helpers import copied, staged_root

DATA = """\
runit::init: none
runit::services:
  web: {command: /usr/bin/web}
  worker: {command: /usr/bin/worker}
  quiet: {command: /usr/bin/quiet, log: false}
runit::users:
  alice:
    home: /home/alice
    services:
      notes: {command: /usr/bin/notes}
      app: {command: /usr/bin/app}
  bob:
    home: /home/bob
    services:
      app: {command: /usr/bin/app}
"""
PASSWD = ("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"
          "bob:x:1001:1001::/home/bob:/bin/sh\n")
GROUP = "root:x:0:\nalice:x:1000:\nbob:x:1001:\n"
ONLY_VERBS = ("plan", "apply", "status", "metrics", "verify", "render")
POSITIONAL_VERBS = ("logs", "restart", "start", "stop", "once", "hup", "term")
VERBS = ONLY_VERBS + POSITIONAL_VERBS
SPELLINGS = ("alice/notes", "~alice/notes", "/home/alice/notes", "notes")  # the third: the
# second unquoted, as a shell expands it


@pytest.fixture(scope="module")
def applied_once(tmp_path_factory):
    """``staged``'s root and data, made once for the file."""
    tmp_path = tmp_path_factory.mktemp("names")
    root = staged_root(tmp_path, passwd=PASSWD, group=GROUP)
    for login, uid in (("alice", 1000), ("bob", 1001)):
        (root / "home" / login).mkdir(parents=True)
        os.chown(str(root / "home" / login), uid, uid)
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    for log in ("var/log/web", "home/alice/logs/notes", "home/bob/logs/app"):
        (root / log / "current").write_text("a line of %s\n" % log)
    for run in ("etc/sv/web/run", "home/alice/sv/notes/run", "home/bob/sv/app/run"):
        (root / run).unlink()
    return tmp_path


@pytest.fixture
def staged(applied_once, tmp_path, capsys):
    """A --root DIR the data was applied to, with alice's and bob's homes, a line in each
    log, and the run files of web, alice/notes and bob/app gone (so that plan and apply show
    which of them a selection takes): a copy of ``applied_once``'s, owners and modes kept,
    as the verbs that act change it."""
    root, data = copied(applied_once, ["root", "data.yaml"], tmp_path)
    capsys.readouterr()
    return root, data, tmp_path


def argv(verb, staged, *names):
    root, data, tmp = staged
    where = ["--out", str(tmp / "out")] if verb == "render" else ["--root", str(root)]
    if verb in POSITIONAL_VERBS:
        return [verb, "--data", str(data)] + where + list(names)
    return [verb, "--data", str(data)] + where + ["--only"] + list(names)


def run(verb, staged, capsys, *names):
    code = main(argv(verb, staged, *names))
    out, err = capsys.readouterr()
    return code, out, err


# -- a wrong name: exit 1, and what it may have meant ---------------------------------------
WRONG = {  # names (after a good one) -> what every verb says, exit 1, nothing on stdout
    "unknown": (["web", "wrokr"], "no service 'wrokr' in the data (did you mean worker?)"),
    "ambiguous": (["app"], "'app' is a service of more than one user: alice/app, bob/app "
                           "(name one as LOGIN/NAME)"),
    "a login": (["~alice"], "no service '~alice' in the data (alice is a user: runsvdir-alice "
                            "is their tree, alice/NAME one of their services)"),
}


@pytest.mark.parametrize("wrong", sorted(WRONG))
@pytest.mark.parametrize("verb", VERBS)
def test_a_wrong_name_is_exit_1_saying_what_it_may_have_meant(staged, capsys, verb, wrong):
    names, message = WRONG[wrong]
    assert run(verb, staged, capsys, *names) == (1, "", "runit-provision %s: %s\n"
                                                  % (verb, message))


def test_plan_json_says_the_wrong_name(staged, capsys):
    code, out, _ = run("plan", staged, capsys, "wrokr", "--json")
    assert code == 1 and json.loads(out) == {
        "changed": False, "failed": True,
        "msg": "no service 'wrokr' in the data (did you mean worker?)"}


def test_logs_of_a_service_without_a_log_is_exit_1(staged, capsys):
    code, out, err = run("logs", staged, capsys, "quiet")
    assert (code, out, err) == (1, "", "runit-provision logs: quiet has no log in the data "
                                       "(log: false)\n")


# -- every spelling selects the one service ---------------------------------------------------
def selected(verb, staged, out):
    """What ``verb``'s output shows it acted on: a set of labels (or paths)."""
    root, _, tmp = staged
    if verb in ("plan", "apply"):
        return {line.split()[1] for line in out.splitlines() if line.startswith("+ ")}
    if verb == "status":  # the table: its rows end at the first blank line (logs follow)
        table = out.split("\n\n", 1)[0]
        return {line.split()[0] for line in table.splitlines()[1:]}
    if verb == "metrics":
        return {line.split('service="', 1)[1].split('"', 1)[0] for line in out.splitlines()
                if 'service="' in line}
    if verb == "verify":  # -v: NODEID STATUS, a service's checks and each tree's directories
        return {line.split("::", 1)[0] for line in out.splitlines()
                if re.match(r"\S+::.* (PASSED|FAILED|SKIPPED|ERROR)$", line)
                and line.split("::", 1)[0] not in ("system", "~alice", "~bob")}
    if verb == "render":
        return {str(path.relative_to(tmp / "out")) for path in (tmp / "out").rglob("run")}
    if verb == "logs":  # TIME LABEL: TEXT
        return {line.split(": ", 1)[0].rsplit(" ", 1)[1] for line in out.splitlines()}
    return {line.rsplit(None, 1)[1] for line in out.splitlines()}  # would run: sv … DIR


EXPECTED = {
    "plan": {"/home/alice/sv/notes/run"}, "apply": {"/home/alice/sv/notes/run"},
    "status": {"alice/notes"}, "metrics": {"alice/notes"}, "verify": {"alice/notes"},
    "render": {"home/alice/sv/notes/run", "home/alice/sv/notes/log/run"},
    "logs": {"alice/notes"}, "restart": {"/home/alice/sv/notes"},
    "start": {"/home/alice/sv/notes"}, "stop": {"/home/alice/sv/notes"},
    "once": {"/home/alice/sv/notes"}, "hup": {"/home/alice/sv/notes"},
    "term": {"/home/alice/sv/notes"}}
EXIT = {"plan": 2, "status": 3, "verify": 1}  # verify: alice/notes's run is gone


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("verb", VERBS)
def test_every_spelling_selects_that_service_alone(staged, capsys, verb, spelling):
    extra = ["-v"] if verb == "verify" else []
    code, out, err = run(verb, staged, capsys, spelling, *extra)
    assert code == EXIT.get(verb, 0), err
    assert selected(verb, staged, out) == EXPECTED[verb], out


@pytest.mark.parametrize("verb", ONLY_VERBS)
def test_names_given_as_words_are_as_given_to_only_and_add_up(staged, capsys, verb):
    """Every verb that takes ``--only`` takes the names as words too, as status does; the
    two add up (apply: once, as its first run makes what both select)."""
    extra = ["-v"] if verb == "verify" else []
    as_words = argv(verb, staged)[:-1] + ["alice/notes"] + extra
    web = {"plan": {"/etc/sv/web/run"}, "apply": {"/etc/sv/web/run"},
           "render": {"etc/sv/web/run", "etc/sv/web/log/run"}}.get(verb, {"web"})
    code, out, err = main(as_words + ["--only", "web"]), *capsys.readouterr()
    assert code == EXIT.get(verb, 0), err
    assert selected(verb, staged, out) == EXPECTED[verb] | web, out
    if verb != "apply":
        shutil.rmtree(str(staged[2] / "out"), ignore_errors=True)  # render's, written again
        code, out, err = main(as_words), *capsys.readouterr()
        assert code == EXIT.get(verb, 0), err
        assert selected(verb, staged, out) == EXPECTED[verb], out


def test_a_system_service_and_a_users_tree_by_their_names(staged, capsys):
    code, out, _ = run("restart", staged, capsys, "web", "runsvdir-bob", "~alice/notes",
                       "alice/notes")
    assert code == 0 and selected("restart", staged, out) == {
        "/etc/sv/web", "/etc/sv/runsvdir-bob", "/home/alice/sv/notes"}
    code, out, _ = run("plan", staged, capsys, "web")
    assert code == 2 and selected("plan", staged, out) == {"/etc/sv/web/run"}


# -- what a verb prints, a verb takes ----------------------------------------------------------
def test_every_label_printed_is_a_name_every_verb_takes(staged, capsys):
    root, data, _ = staged
    assert main(["status", "--data", str(data), "--root", str(root), "--json"]) == 3
    labels = [row["service"] for row in json.loads(capsys.readouterr().out)["services"]]
    assert labels == ["quiet", "web", "worker", "runsvdir-alice", "runsvdir-bob", "alice/app",
                      "alice/notes", "bob/app"]
    _, out, _ = run("verify", staged, capsys, *labels, "-v")
    assert selected("verify", staged, out) == set(labels)
    for label in labels:
        code, out, _ = run("status", staged, capsys, label)
        assert code == 3 and selected("status", staged, out) == {label}
        code, out, _ = run("metrics", staged, capsys, label)
        assert code == 0 and selected("metrics", staged, out) == {label}
