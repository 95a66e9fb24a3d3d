"""verify and the helper through testinfra's ``ssh://`` backend, against an sshd this test starts.

The sshd (Debian's openssh-server) listens on 127.0.0.1 on a free port with a throwaway host
key, accepts one throwaway client key (authorized_keys in the test's directory), and is told
everything on its command line (``-f /dev/null``: nothing of the host's sshd config or keys).
Debian's sshd wants /run/sshd, which this host may not have: it runs in a mount namespace of its
own with a tmpfs on /run. The client side is an ssh_config file of the test's own. The sshd is
ended by its process group; ``controlpersist=0`` leaves no ssh master behind.
"""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import testinfra

from runit_provision.checks.service import RunitService
from runit_provision.cli.main import main

from ..skips import missing
from ..livetree import free_port
from ..runtime.processes import Processes, running_pid, wait_until
from .live import running

pytestmark = pytest.mark.slow
SSHD = "/usr/sbin/sshd"


def require_sshd():
    if os.access(SSHD, os.X_OK) and shutil.which("ssh") and shutil.which("ssh-keygen"):
        return
    missing("sshd and ssh (%s)" % SSHD, "apt-get install openssh-server")


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "throwaway",
                    "-f", str(path)], check=True, stdin=subprocess.DEVNULL)
    return Path(str(path) + ".pub").read_text().split()[:2]


@pytest.fixture
def sshd(tmp_path, live_ours):
    """``ssh://runit-test?...``: the spec of a host reached through a loopback sshd."""
    require_sshd()
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    host_type, host_key = keygen(keys / "host_key")
    client_type, client_key = keygen(keys / "client_key")
    (keys / "authorized_keys").write_text("%s %s\n" % (client_type, client_key))
    port = free_port()
    options = {
        "Port": port, "ListenAddress": "127.0.0.1", "HostKey": keys / "host_key",
        "AuthorizedKeysFile": keys / "authorized_keys", "PidFile": "none",
        "StrictModes": "no", "UsePAM": "no", "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no", "PermitRootLogin": "prohibit-password",
        # the runtime's tools first, as install-runtime will put them on a host's PATH
        "SetEnv": "PATH=%s" % live_ours.path,
    }
    argv = [SSHD, "-D", "-e", "-f", "/dev/null"]
    for key, value in options.items():
        argv += ["-o", "%s=%s" % (key, value)]
    script = 'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec "$@"'
    processes = Processes()
    group = processes.start(["unshare", "--mount", "--propagation", "private",
                             "sh", "-c", script, "sshd"] + argv, output=tmp_path / "sshd.log")
    try:
        wait_until(lambda: group.poll() is not None or _listening(port), timeout=10,
                   what="sshd listening")
        assert group.poll() is None, group.output()
        (keys / "known_hosts").write_text("runit-test %s %s\n" % (host_type, host_key))
        config = tmp_path / "ssh_config"
        config.write_text(
            "Host runit-test\n  HostName 127.0.0.1\n  Port %d\n  User root\n"
            "  HostKeyAlias runit-test\n"
            "  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n"
            "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n  LogLevel ERROR\n"
            % (port, keys / "client_key", keys / "known_hosts"))
        yield "ssh://runit-test?ssh_config=%s&controlpersist=0&timeout=10" % config
    finally:
        processes.kill_all()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def live_ours(sandbox, which_tool, monkeypatch):
    with running(sandbox, "ours", which_tool, monkeypatch) as host:
        yield host


def test_verify_over_ssh(live_ours, sshd, sandbox, capsys, tmp_path):
    # the login shell may add to it (root's ~/.bashrc), but our tools come before /usr/bin's
    remote_path = testinfra.get_host(sshd).check_output("echo $PATH").split(":")
    assert remote_path.index(str(live_ours.bin_dir)) < remote_path.index("/usr/bin")
    data = str(live_ours.data_file)
    wait_until(lambda: main(["verify", "--data", data, "--hosts", sshd]) == 0, timeout=20,
               what="verify over ssh exit 0")
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("hosts: ssh://runit-test;")

    live_ours.sv("-w", "10", "down", "web")
    junit = tmp_path / "junit.xml"
    code = main(["verify", "--data", data, "--hosts", "local://," + sshd, "--json",
                 "--junitxml", str(junit)])
    import json
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["summary"]["failed"] == 2  # the same check on both hosts
    failed = sorted((c["host"], c["id"], c["problems"][0].split(": ")[0])
                    for c in report["checks"] if c["status"] == "failed")
    assert failed == [("local", "web::running", "web"),
                      ("ssh://runit-test", "web::running", "web")]
    assert 'classname="ssh://runit-test.web" name="running"' in junit.read_text()


def test_the_helper_over_ssh(live_ours, sshd, sandbox):
    host = testinfra.get_host(sshd)
    web = RunitService(host, "web", str(sandbox / "service"), str(sandbox / "sv"))
    assert web.is_linked and web.is_running and web.log.is_running
    assert web.pid == running_pid(sandbox / "service" / "web")
    assert web.snapshot.prober == "python"
