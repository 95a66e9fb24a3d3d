"""A live tree of our runtime made by ``apply`` from data, and the loopback helpers of the tests
that serve its metrics (node_exporter, Prometheus): free ports, HTTP reads with a short timeout.
Every process is started in a session of its own and ended by its process group."""

import contextlib
import socket
import subprocess
import urllib.request

import yaml

from runit_provision.cli.main import main

from .conftest import make_bin_dir, our_tool
from .runtime.processes import BASE_PATH, descendants, kill_pids, process_group_members, \
    processes_under


@contextlib.contextmanager
def live_tree(tmp_path, services):
    """The path of a data file declaring ``services``, applied to a runsvdir of ours that runs
    for the block; every step of apply done (it exits 1 when a service does not stay up)."""
    service_dir = tmp_path / "service"
    service_dir.mkdir()
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": {
        "runtime": "python", "init": "none", "sv_dir": str(tmp_path / "sv"),
        "service_dir": str(service_dir), "log_dir": str(tmp_path / "log"), "sv_timeout": 10,
        "services": services}}))
    bin_dir = make_bin_dir(tmp_path / "bin", "ours")
    tree = subprocess.Popen([our_tool("runsvdir"), str(service_dir)], start_new_session=True,
                            env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert main(["apply", "--data", str(data), "--wait", "20", "--profile-d", "none"]) in (0, 1)
        yield data
    finally:
        kill_pids(set(process_group_members(tree.pid)) | set(descendants(tree.pid)))
        tree.wait()
        kill_pids(processes_under(tmp_path))


@contextlib.contextmanager
def serving(argv):
    """``argv`` run in a session of its own for the block, then killed with its group."""
    server = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield server
    finally:
        kill_pids(set(process_group_members(server.pid)) | {server.pid})
        server.wait(timeout=60)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url):
    """The body of ``url`` as text, None while it cannot be read (not up yet, refused)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.read().decode()
    except OSError:
        return None


NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


def node_exporter_argv(port, textfile):
    """node_exporter on 127.0.0.1:``port`` with only its textfile collector, reading
    ``textfile``."""
    return [NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % port,
            "--collector.disable-defaults", "--collector.textfile",
            "--collector.textfile.directory=%s" % textfile]
