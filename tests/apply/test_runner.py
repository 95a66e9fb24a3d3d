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
