"""The commands apply runs as a user get that user's environment and nothing of root's
(issue 16, F5: a user could read root's whole environment — a token, HOME=/root — from
``/proc/PID/environ`` of the ``sv`` apply ran as them). Real processes."""

import os
import pwd

import pytest

from runit_provision.apply.runner import RunAs, SubprocessRunner

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs a command as another user")


def test_a_command_run_as_a_user_sees_only_that_users_environment(monkeypatch):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    monkeypatch.setenv("SECRET_TOKEN", "s3cr3t")
    environ = {"HOME": "/nonexistent", "USER": "nobody", "LOGNAME": "nobody",
               "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "SVDIR": "/nonexistent/service"}
    done = SubprocessRunner().run(
        ["/bin/sh", "-c", "id -u; id -G; pwd; cat /proc/$$/environ | tr '\\0' '\\n'"],
        run_as=RunAs(nobody.pw_uid, nobody.pw_gid, environ))
    assert done.returncode == 0, done.output
    uid, groups, cwd, *variables = done.output.splitlines()
    assert (int(uid), groups.split(), cwd) == (nobody.pw_uid, [str(nobody.pw_gid)], "/")
    seen = dict(variable.split("=", 1) for variable in variables if "=" in variable)
    seen.pop("PWD", None)  # the shell's own
    assert seen == environ
    assert "s3cr3t" not in done.output and "/root" not in done.output


def test_a_command_run_as_root_keeps_the_environment_it_was_given(monkeypatch):
    """Init tools run as root: their environment is the apply's."""
    monkeypatch.setenv("SECRET_TOKEN", "s3cr3t")
    done = SubprocessRunner().run(["/bin/sh", "-c", 'echo "$SECRET_TOKEN"'])
    assert done.output == "s3cr3t\n"


def test_endless_output_is_kept_to_a_bound_and_a_command_past_its_time_is_killed_whole():
    """A user's ./check (sv runs it) writing without end: root's apply keeps 64 KiB of it,
    reads and drops the rest, and at the timeout kills the command's whole process group."""
    from runit_provision.apply.runner import OUTPUT_MAX
    done = SubprocessRunner().run(["/bin/sh", "-c", "head -c 50000000 /dev/zero; echo end"],
                                  timeout=60)
    assert done.returncode == 0
    assert done.output.startswith("\0" * 100) and len(done.output) < OUTPUT_MAX + 100
    assert done.output.endswith("(%d more bytes of output not kept)"
                                % (50000000 + 4 - OUTPUT_MAX))
    done = SubprocessRunner().run(["/bin/sh", "-c", "sleep 1000 & cat /dev/zero"], timeout=1)
    assert done.returncode is None and done.output.endswith("(no answer within 1s)")
    # how soon after its time: tests/test_timing.py (slow)
