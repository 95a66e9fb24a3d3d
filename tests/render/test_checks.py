"""The structured checks run: each fallback of the tcp and http scripts against a live and a
dead port on 127.0.0.1 (no nc here: bash's /dev/tcp or curl first, then python3 alone)."""

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

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


def python_only_path(tmp_path):
    only = tmp_path / "python-only"
    only.mkdir()
    os.symlink(sys.executable, str(only / "python3"))
    return str(only)


def run_check(tmp_path, check, path):
    script = tmp_path / "check"
    script.write_text(text_of(tree_from_text(
        "runit::services: {s: {command: x, check: %s}}\n" % check), "/etc/sv/s/check"))
    return subprocess.run(["/bin/sh", str(script)], env={"PATH": path}, cwd=str(tmp_path),
                          capture_output=True, timeout=30).returncode


@pytest.mark.parametrize("route", ["system", "python-only"])
def test_tcp(tmp_path, server, route):
    if route == "system" and not (shutil.which("nc") or shutil.which("bash")):
        pytest.skip("neither nc nor bash")
    path = os.environ["PATH"] if route == "system" else python_only_path(tmp_path)
    assert run_check(tmp_path, "{tcp: %d}" % server, path) == 0
    assert run_check(tmp_path, "{tcp: '127.0.0.1:%d'}" % dead_port(), path) != 0


@pytest.mark.parametrize("route", ["system", "python-only"])
def test_http(tmp_path, server, route):
    if route == "system" and not (shutil.which("curl") or shutil.which("wget")):
        pytest.skip("neither curl nor wget")
    path = os.environ["PATH"] if route == "system" else python_only_path(tmp_path)
    assert run_check(tmp_path, "{http: 'http://127.0.0.1:%d/'}" % server, path) == 0
    assert run_check(tmp_path, "{http: 'http://127.0.0.1:%d/nowhere'}" % server, path) != 0
    assert run_check(tmp_path, "{http: 'http://127.0.0.1:%d/'}" % dead_port(), path) != 0
