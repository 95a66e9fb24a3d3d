"""Issue 31, item 6 and the ``logs`` part of item 8: what a journalctl user types, through the
installed ``runit-provision logs`` (a real process, log directories written by hand).

- ``-g PATTERN -n N``: the last N *matching* lines, as journalctl (``-n`` used to be applied
  first: ``-g ERROR -n 4`` printed nothing when the ERROR line was older than the last 4);
  with ``-r`` and ``-f`` too.
- ``--dir a --dir b``: both (the last used to win, silently); ``-u NAME`` as a positional name,
  again for more; repeated names add up, each shown once.
- ``--json``: the same as ``-o json``.
"""

import json
import os
import signal
import subprocess

import pytest

from ..conftest import OUR_BIN
from ..runtime.processes import wait_until
from .helpers import BASE, LogDir

PROGRAM = str(OUR_BIN / "runit-provision")


def run(*argv):
    """The installed command: (exit code, stdout, stderr)."""
    proc = subprocess.run([PROGRAM, "logs"] + [str(arg) for arg in argv],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def noisy(tmp_path):
    """web: one ERROR line, then 30 lines of chatter across a rotation; db: chatter and one
    ERROR line older than web's."""
    web, db = LogDir(tmp_path / "web"), LogDir(tmp_path / "db")
    db.add("ERROR db first", BASE - 10)
    web.add("ERROR disk full", BASE)
    for index in range(30):
        web.add("info %d" % index, BASE + 1 + index)
        db.add("db info %d" % index, BASE + 1.5 + index)
        if index == 14:
            web.rotate(BASE + 16)
    return web, db


# -- --grep before -n -------------------------------------------------------------------------
def test_grep_then_the_last_n_matching_lines(noisy):
    web, db = noisy
    assert run("--dir", web.path, "-g", "ERROR", "-n", "4", "-o", "cat") == (
        0, "ERROR disk full\n", "")
    assert run("--dir", web.path, db.path, "-g", "ERROR", "-n", "1", "-o", "cat") == (
        0, "ERROR disk full\n", "")
    assert run("--dir", web.path, db.path, "-g", "ERROR", "-n", "5", "-o", "cat") == (
        0, "ERROR db first\nERROR disk full\n", "")
    assert run("--dir", web.path, db.path, "-g", "ERROR", "-n", "1", "-r", "-o", "cat") == (
        0, "ERROR disk full\n", "")
    # the count is of matching lines, across the rotation
    assert run("--dir", web.path, "-g", r"^info 1\d$", "-n", "3", "-o", "cat")[1] == (
        "info 17\ninfo 18\ninfo 19\n")
    assert run("--dir", web.path, "-g", "nothing matches", "-n", "3") == (0, "", "")


def test_a_grep_pattern_that_is_not_one_names_the_option_and_the_pattern(noisy):
    """Issue 44, item 19: ``-g '['`` said only "unterminated character set at position 0"."""
    web, _ = noisy
    assert run("--dir", web.path, "-g", "[") == (
        2, "", "runit-provision logs: -g/--grep '[': not a regular expression (Python's): "
               "unterminated character set at position 0\n")


def test_follow_with_grep_starts_with_the_last_matching_lines_and_follows_matches(noisy):
    web, _ = noisy
    follower = subprocess.Popen([PROGRAM, "logs", "--dir", str(web.path), "-f", "-g", "ERROR",
                                 "-n", "1", "-o", "cat"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    try:
        os.set_blocking(follower.stdout.fileno(), False)
        seen = []

        def read():
            chunk = follower.stdout.read()
            if chunk:
                seen.append(chunk.decode())
            return "".join(seen)

        assert wait_until(lambda: read() == "ERROR disk full\n" and read(), timeout=20,
                          what="the last matching line") == "ERROR disk full\n"
        web.add("info after", BASE + 100)
        web.add("ERROR again", BASE + 101)
        assert wait_until(lambda: "ERROR again" in read() and read(), timeout=20,
                          what="the new matching line") == "ERROR disk full\nERROR again\n"
    finally:
        os.killpg(follower.pid, signal.SIGTERM)
        follower.wait(timeout=20)
        follower.stdout.close()
        follower.stderr.close()


# -- --dir, -u and names add up -----------------------------------------------------------------
def test_repeated_dir_adds_up_and_a_directory_named_twice_is_read_once(noisy):
    web, db = noisy
    both = run("--dir", web.path, db.path, "-o", "cat")
    assert both[0] == 0 and both[1].count("\n") == 62
    assert run("--dir", web.path, "--dir", db.path, "-o", "cat") == both
    assert run("--dir", web.path, "--dir", db.path, "--dir", str(web.path) + "/",
               "-o", "cat") == both


DATA = """\
runit::init: none
runit::sv_dir: {t}/sv
runit::service_dir: {t}/service
runit::log_dir: {t}/log
runit::services:
  web: {{command: /usr/bin/web}}
  db: {{command: /usr/bin/db}}
  cache: {{command: /usr/bin/cache}}
"""


@pytest.fixture
def declared(tmp_path):
    """A data file declaring web, db and cache, each with a log of one line (svlogd -tt, the
    data's default)."""
    data = tmp_path / "data.yaml"
    data.write_text(DATA.format(t=tmp_path))
    for offset, name in enumerate(("web", "db", "cache")):
        LogDir(tmp_path / "log" / name, "human").add("%s says hi" % name, BASE + offset)
    return data


def test_u_is_a_name_again_for_more_and_names_add_up(declared):
    by_names = run("--data", declared, "web", "cache", "-o", "cat")
    assert by_names == (0, "web says hi\ncache says hi\n", "")
    assert run("--data", declared, "-u", "web", "-u", "cache", "-o", "cat") == by_names
    assert run("--data", declared, "--unit", "cache", "web", "-o", "cat") == by_names
    assert run("--data", declared, "web", "-u", "web", "-u", "cache", "-o", "cat") == by_names
    code, out, err = run("--data", declared, "-u", "web", "-u", "nosuch")
    assert (code, out) == (1, "")  # an unknown name, as every command says it (docs/names.md)
    assert err.startswith("runit-provision logs: no service 'nosuch' in the data"), err


def test_user_the_data_gives_no_tree_is_bad_usage_after_the_names(declared):
    """--user LOGIN selects LOGIN's services: a login without a tree in the data is a usage
    error (2), said after any name that names nothing (1, the one name rule's words)."""
    assert run("--data", declared, "--user", "nobodyhere", "web") == (
        2, "", "runit-provision logs: no user 'nobodyhere' with a tree in the data\n")
    code, out, err = run("--data", declared, "--user", "nobodyhere", "nosuch")
    assert (code, out) == (1, "")
    assert err.startswith("runit-provision logs: no service 'nosuch' in the data"), err


def test_u_with_dir_is_bad_usage(noisy):
    web, _ = noisy
    code, out, err = run("--dir", web.path, "-u", "web")
    assert (code, out) == (2, "")
    assert err == ("runit-provision logs: --dir names the directories itself: no SERVICE, -u "
                   "or --user with it\n")


# -- --json ---------------------------------------------------------------------------------------
def test_json_is_o_json(noisy):
    web, db = noisy
    as_o = run("--dir", web.path, db.path, "-o", "json", "-n", "3")
    assert as_o[0] == 0 and len(as_o[1].splitlines()) == 3
    assert [json.loads(line)["line"] for line in as_o[1].splitlines()] == [
        "db info 28", "info 29", "db info 29"]
    assert run("--dir", web.path, db.path, "--json", "-n", "3") == as_o
