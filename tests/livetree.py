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
def our_runsvdir(tmp_path, service_dir):
    """Our runsvdir on ``service_dir`` for the block, a bin dir of our tools first on its PATH
    (yielded); then it, its group, what it started and every process under ``tmp_path``
    ended."""
    path = "%s:%s" % (make_bin_dir(tmp_path / "bin", "ours"), BASE_PATH)
    tree = subprocess.Popen([our_tool("runsvdir"), str(service_dir)], start_new_session=True,
                            env={"PATH": path}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield path
    finally:
        kill_pids(set(process_group_members(tree.pid)) | set(descendants(tree.pid)))
        tree.wait()
        kill_pids(processes_under(tmp_path))


@contextlib.contextmanager
def tree_of(tmp_path, services, sv_timeout=10):
    """The path of a data file declaring ``services`` (our runtime, under ``tmp_path``) and
    our runsvdir on its service directory for the block; nothing applied yet."""
    service_dir = tmp_path / "service"
    service_dir.mkdir()
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": {
        "runtime": "python", "init": "none", "sv_dir": str(tmp_path / "sv"),
        "service_dir": str(service_dir), "log_dir": str(tmp_path / "log"),
        "sv_timeout": sv_timeout, "services": services}}))
    with our_runsvdir(tmp_path, service_dir):
        yield data


@contextlib.contextmanager
def live_tree(tmp_path, services):
    """``tree_of``'s data, applied: every step of apply done (it exits 1 when a service
    does not stay up)."""
    with tree_of(tmp_path, services) as data:
        assert main(["apply", "--data", str(data), "--wait", "20", "--profile-d", "none"]) in (0, 1)
        yield data


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
