"""The structured checks run: each fallback of the tcp and http scripts (a PATH of that tool
alone) against a live and a dead port on 127.0.0.1, printing nothing either way."""

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from ..skips import missing
from .helpers import text_of, tree_from_text


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def dead_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


def only_path(tmp_path, tool):
    """A PATH of ``tool`` alone (the route the script takes) and python3, its last resort."""
    only = tmp_path / ("only-%s" % (tool or "python3"))
    only.mkdir()
    os.symlink(sys.executable, str(only / "python3"))
    if tool is not None:
        found = shutil.which(tool)
        if found is None:
            missing(tool, "apt-get install %s" % tool)
        os.symlink(found, str(only / tool))
    return str(only)


def run_check(tmp_path, check, path):
    """The check's exit code; it must print nothing, passing or not: sv runs it again and
    again until it passes, each run's output on its caller's terminal."""
    script = tmp_path / "check"
    script.write_text(text_of(tree_from_text(
        "runit::services: {s: {command: x, check: %s}}\n" % check), "/etc/sv/s/check"))
    done = subprocess.run(["/bin/sh", str(script)], env={"PATH": path}, cwd=str(tmp_path),
                          capture_output=True, timeout=30)
    assert (done.stdout, done.stderr) == (b"", b""), check
    return done.returncode


@pytest.mark.parametrize("tool", ["nc", "bash", None], ids=["nc", "bash", "python-only"])
def test_tcp(tmp_path, server, tool):
    path = only_path(tmp_path, tool)
    assert run_check(tmp_path, "{tcp: %d}" % server, path) == 0
    assert run_check(tmp_path, "{tcp: '127.0.0.1:%d'}" % dead_port(), path) != 0


@pytest.mark.parametrize("tool", ["curl", "wget", None], ids=["curl", "wget", "python-only"])
def test_http(tmp_path, server, tool):
    path = only_path(tmp_path, tool)
    assert run_check(tmp_path, "{http: 'http://127.0.0.1:%d/'}" % server, path) == 0
    assert run_check(tmp_path, "{http: 'http://127.0.0.1:%d/nowhere'}" % server, path) != 0
    assert run_check(tmp_path, "{http: 'http://127.0.0.1:%d/'}" % dead_port(), path) != 0
