"""Apply cases as data (``cases/*.yaml``): a host state and data -> the exact steps, in order,
with their reasons, and every no-op with its reason. Pure: the host is a ``MemoryFs`` built
from the data it was converged to (``before``) plus ``edits``; live states are given per side
directory; the plan is made by the real ``observe`` and ``plan``.

A case::

    what: one line
    before: |            # data the host was converged to (absent: an empty host)
    edits:               # then changed by hand: chmod/write/remove/symlink/mkdir/chown/nlink
      - {chmod: /etc/sv/web/run, mode: 0644}   # /acl (is: none | refused)
                         # (a write's content: text, or !!binary bytes)
    live:                # side directory -> run | down | finish | STATE/WANT (run/down) | none
      /etc/sv/web: run   # (its log/ runs too unless given; a side not given has no runsv)
                         # | unknown (status unreadable) | unknown-ok (ok not a FIFO)
    staging: false       # --root: nothing probed, started or run
    commands:            # initsys's: {argv, reason, after, before, prepare}
    notes: [...]         # initsys's notes on the runtime it found
    extra_entries:       # initsys's: {directory: P} | {file: P, content} | {symlink: P, target}
                         # | {absent: P} | {bytecode: P, source, header} (a .pyc's first bytes)
    owners: true         # manage owners (as root)
    only: [NAME, ...]    # --only, names as the verbs take them (model/units.py)
    cannot_run:          # users who cannot run the sv (runnable.py): login -> [sv, path, why]
      alice: [/root/.venv/bin/sv, /root, not searchable by uid 1000 (drwx------ 0:0)]
    data: |              # the data applied now
    expect:
      steps: [...]       # step_text of every step, in order: ACTION PATH (REASONS) and
                         # [PARTICULARS] (kind, target or mode, owner, secret, its service;
                         # a service step's command)
      noops: [...]       # every no-op but "up to date", in order
      up_to_date: 12     # optional
      refusals: {login: words the message contains}
      problems: [...]    # ApplyError expected: its lines, each a problem that stops the apply
      owed: [...]        # what the plan writes down as owed, ACTION LABEL (REASON) (none: [])
      diffs: {...}       # optional: PATH -> [BEFORE, AFTER] of every step plan --diff shows
                         # (report.step_diff: a file's text, a secret masked)
"""

from pathlib import Path

import pytest
import yaml

from runit_provision.apply.observe import observe
from runit_provision.apply.plan import plan
from runit_provision.apply.report import step_diff
from runit_provision.errors import ApplyError
from runit_provision.render import render
from runit_provision.model.tree import Absent, Bytecode, Directory, File, Symlink

from ..pipeline import config_from_text
from .helpers import (ACL_REFUSED, IDENTITIES, OK_NOT_A_FIFO, STATUS_UNREADABLE, MemoryFs, Node,
                      desired_from_text, live_probe, noop_texts, side, step_text, unknown_side)

CASES = Path(__file__).parent / "cases"
UNKNOWN = {"unknown": STATUS_UNREADABLE, "unknown-ok": OK_NOT_A_FIFO}


def load_case(path):
    return yaml.safe_load(path.read_text())


def host_of(case):
    fs = MemoryFs()
    if case.get("before"):
        fs.add_tree(render(config_from_text(case["before"])))
    for edit in case.get("edits") or []:
        apply_edit(fs, edit)
    return fs


def apply_edit(fs, edit):
    nodes = fs.nodes
    if "chmod" in edit:
        nodes[edit["chmod"]].mode = edit["mode"]
    elif "chown" in edit:
        nodes[edit["chown"]].uid, nodes[edit["chown"]].gid = edit["uid"], edit["gid"]
    elif "write" in edit:
        fs.add_parents(edit["write"])
        old = nodes.get(edit["write"])
        content = edit["content"]  # text, or bytes (!!binary)
        nodes[edit["write"]] = Node("file", edit.get("mode", old.mode if old else 0o644),
                                    content=content if isinstance(content, bytes)
                                    else content.encode())
    elif "remove" in edit:
        fs.remove(edit["remove"])
    elif "symlink" in edit:
        fs.remove(edit["symlink"])
        fs.add_parents(edit["symlink"])
        nodes[edit["symlink"]] = Node("symlink", 0o777, edit.get("uid", 0), edit.get("uid", 0),
                                      target=edit["target"])
    elif "mkdir" in edit:
        fs.add_parents(edit["mkdir"])
        nodes[edit["mkdir"]] = Node("directory", edit.get("mode", 0o755), edit.get("uid", 0),
                                    edit.get("uid", 0))
    elif "acl" in edit:  # none: it holds none; refused: its file system keeps none
        nodes[edit["acl"]].acl = {"none": None, "refused": ACL_REFUSED}[edit["is"]]
    elif "nlink" in edit:
        nodes[edit["nlink"]].nlink = 2
    elif "fifo" in edit:
        nodes[edit["fifo"]] = Node("fifo", 0o600)
    else:
        raise ValueError("unknown edit %r" % edit)


def probe_of(case):
    """The live states of the case; a service side given without its log side has its logger
    running (one runsv serves both), unless the log side is given too."""
    states = {}
    for path, text in (case.get("live") or {}).items():
        state, _, want = str(text).partition("/")
        if state in UNKNOWN:
            states[path] = unknown_side(UNKNOWN[state])
            continue
        states[path] = side(None if state == "none" else state, want or "up")
    for path in list(states):
        if not path.endswith("/log") and states[path].is_supervised:
            states.setdefault(path + "/log", side("run"))
    return live_probe(states)


class Command:
    """An initsys command record: argv, reason and when (prepare, before, after paths)."""

    def __init__(self, argv, reason, after=(), before=(), prepare=False):
        self.argv, self.reason, self.after = argv, reason, after
        self.before, self.prepare = before, prepare


def extra_entry(item):
    """An initsys entry: {directory: PATH} | {file: PATH, content} | {symlink: PATH, target}
    | {absent: PATH} | {bytecode: PATH, source, header}."""
    if "directory" in item:
        return Directory(item["directory"], item.get("mode", 0o755))
    if "file" in item:
        return File(item["file"], item.get("content", ""), item.get("mode", 0o644))
    if "absent" in item:
        return Absent(item["absent"])
    if "bytecode" in item:
        return Bytecode(item["bytecode"], item["source"], item["header"].encode())
    return Symlink(item["symlink"], item["target"])


def plan_of(case):
    fs = host_of(case)
    desired = desired_from_text(case["data"], profile_dir=case.get("profile_dir"),
                                only=case.get("only"),
                                commands=[Command(**item) for item in case.get("commands", [])],
                                extra_entries=[extra_entry(item)
                                               for item in case.get("extra_entries", [])],
                                notes=case.get("notes", ()))
    staging = case.get("staging", False)
    observation = observe(desired, fs, None if staging else probe_of(case))
    observation.cannot_run = {login: tuple(found)
                              for login, found in (case.get("cannot_run") or {}).items()}
    return plan(desired, observation, IDENTITIES if case.get("owners", True) else None,
                is_staging=staging)


@pytest.mark.parametrize("path", sorted(CASES.glob("*.yaml")), ids=lambda path: path.stem)
def test_case(path):
    case = load_case(path)
    expect = case["expect"]
    if "problems" in expect:
        with pytest.raises(ApplyError) as caught:
            plan_of(case)
        assert str(caught.value).split("\n") == expect["problems"]
        return
    result = plan_of(case)
    assert [step_text(step) for step in result.steps] == expect.get("steps", [])
    assert noop_texts(result) == expect.get("noops", [])
    assert all(noop.path for noop in result.noops)  # --json lists each by what it is about
    assert ["%s %s (%s)" % (entry.action, entry.label, entry.reason)
            for entry in result.owed] == expect.get("owed", [])
    if "diffs" in expect:
        shown = {step.path: step_diff(step) for step in result.steps}
        assert {path: [diff["before"], diff["after"]] for path, diff in shown.items()
                if diff is not None} == expect["diffs"]
    if "up_to_date" in expect:
        assert sum(noop.reason == "up to date" for noop in result.noops) == expect["up_to_date"]
    refusals = expect.get("refusals", {})
    assert sorted(result.refusals) == sorted(refusals)
    for login, words in refusals.items():
        assert words in result.refusals[login]


def test_every_case_says_what_it_shows():
    for path in CASES.glob("*.yaml"):
        case = load_case(path)
        assert case.get("what") and case.get("data") and case.get("expect"), path.name
