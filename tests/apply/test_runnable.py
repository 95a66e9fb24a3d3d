"""apply/runnable.py's words, pure: a script a user may run whose ``#!`` interpreter they may
not reach (a launcher in /usr/local/bin for a python under /root) is refused naming the
interpreter as the reason, not the script alone. The kernel's agreement with the rule:
tests/security/test_sv_runnable.py."""

import os
import shutil
import tempfile

import pytest

from runit_provision.apply.runnable import cannot_run_words, why_not_runnable

UID = 54321  # no account needed: the rule reads modes and owners only


@pytest.fixture
def open_dir():
    """A directory every user can pass (pytest's own is root's, 0700)."""
    found = tempfile.mkdtemp(prefix="rp-runnable-")
    os.chmod(found, 0o755)
    yield found
    shutil.rmtree(found, ignore_errors=True)


def test_an_interpreter_out_of_reach_is_named_as_the_reason(open_dir):
    closed = os.path.join(open_dir, "root")
    os.mkdir(closed, 0o700)
    python = os.path.join(closed, "python3")
    os.symlink("/bin/sh", python)
    sv = os.path.join(open_dir, "sv")
    with open(sv, "w") as handle:
        handle.write("#!%s\nexit 0\n" % python)
    os.chmod(sv, 0o755)
    path, why = why_not_runnable([sv, "status"], UID, UID)
    assert path == closed
    assert why == ("not searchable by uid %d (drwx------ 0:0) — which keeps the user from %s, "
                   "the interpreter %s's #! line names" % (UID, python, sv))
    assert cannot_run_words("alice", (sv, path, why)).startswith(
        "user alice cannot run %s (%s: not searchable" % (sv, closed))
    os.chmod(closed, 0o711)
    assert why_not_runnable([sv], UID, UID) is None
