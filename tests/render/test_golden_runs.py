"""The golden trees run: each ``golden/**/*.tree`` is checked by more than the renderer that
wrote it. Every script in it passes ``sh -n`` and shellcheck, and the C runit accepts the tree:
written under a scratch root, one C ``runsvdir`` per service directory of the tree finds every
linked service, starts its ``run`` (and its log's) unless ``down`` says not to. The scripts'
bodies are stubs there (a ``sleep``): the C runit proves the tree's shape — links, modes,
``down``, ``log/`` — and ``sh -n``/shellcheck the scripts' text, without running a service's
program on this machine."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import IN_CI, require_c_runit
from ..runtime.processes import (BASE_PATH, C_RUNSVDIR, C_SV, Group, end_tree,
                                 wait_until)

GOLDEN = Path(__file__).parent / "golden"
TREES = sorted(GOLDEN.rglob("*.tree"))
ENTRY = re.compile(r"^== (\S+)  (file (\d+)|directory (\d+)|symlink -> (\S+)|absent)\b.*$",
                   re.M)
# The rendered scripts run under Debian's dash (or busybox ash): both have ``ulimit -c``,
# ``-n`` and the others that POSIX leaves undefined (SC3045).
SHELLCHECK = ["shellcheck", "--shell=sh", "--severity=warning", "--exclude=SC3045",
              "--format=gcc"]


def entries(tree):
    """``(path, kind, mode or link target, content)`` of each entry of a dump (test_golden's
    ``dump``); ``content`` is a file's text, None for the others."""
    text = tree.read_text()
    found = list(ENTRY.finditer(text))
    for match, following in zip(found, found[1:] + [None]):
        path, what, file_mode, dir_mode, target = match.groups()
        if file_mode:
            body = text[match.end() + 1:following.start() if following else len(text)]
            body = "" if body == "(empty)\n" else body.replace("\\ no newline\n", "")
            yield path, "file", int(file_mode, 8), body
        elif dir_mode:
            yield path, "directory", int(dir_mode, 8), None
        elif target:
            yield path, "symlink", target, None


def scripts(tree):
    """``{path: text}`` of the tree's executable shell scripts."""
    return {path: body for path, kind, mode, body in entries(tree)
            if kind == "file" and mode & 0o111 and body.startswith("#!/bin/sh")}


def written(tree, scratch, body_of=None):
    """The tree written under ``scratch`` (absolute links made relative to it); ``body_of``:
    a file's new content from its path and text. The service directories: each directory
    that holds a link to a directory with a ``run``."""
    for path, kind, value, body in entries(tree):
        where = scratch / path.lstrip("/")
        where.parent.mkdir(parents=True, exist_ok=True)
        if kind == "directory":
            where.mkdir(exist_ok=True)
        elif kind == "file":
            where.write_text(body_of(path, body) if body_of else body)
            where.chmod(value)
        else:
            where.symlink_to(scratch / value.lstrip("/") if value.startswith("/") else value)
    return sorted({link.parent for link in scratch.rglob("*")
                   if link.is_symlink() and (link / "run").is_file()})


@pytest.mark.parametrize("tree", TREES, ids=[tree.stem for tree in TREES])
def test_each_script_of_a_golden_tree_passes_sh_n(tree, tmp_path):
    found = scripts(tree)
    assert found, "%s: no script read" % tree
    for number, (path, body) in enumerate(sorted(found.items())):
        script = tmp_path / str(number)
        script.write_text(body)
        done = subprocess.run(["/bin/sh", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, "%s: %s: %s" % (tree.name, path, done.stderr)


@pytest.mark.parametrize("tree", TREES, ids=[tree.stem for tree in TREES])
def test_each_script_of_a_golden_tree_passes_shellcheck(tree, tmp_path):
    if shutil.which("shellcheck") is None:
        if IN_CI:
            pytest.fail("CI=true but shellcheck is not installed (apt-get install shellcheck)")
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    paths = {}
    for number, (path, body) in enumerate(sorted(scripts(tree).items())):
        (tmp_path / str(number)).write_text(body)
        paths[str(tmp_path / str(number))] = path
    done = subprocess.run(SHELLCHECK + sorted(paths), capture_output=True, text=True)
    said = done.stdout
    for name, path in paths.items():
        said = said.replace(name + ":", path + ":")
    assert done.returncode == 0 and said == "", "%s:\n%s%s" % (tree.name, said, done.stderr)


def stub(path, body):
    """A script's stand-in: a run sleeps (so runsv shows it running), the others end."""
    if not body.startswith("#!/bin/sh"):
        return body
    return "#!/bin/sh\nexec sleep 1000\n" if path.endswith("/run") else "#!/bin/sh\nexit 0\n"


def expected_status(service):
    """The C sv's words for a linked service directory: ``down`` or ``run``, and its log's."""
    return ("down" if (service / "down").exists() else "run",
            (service / "log" / "run").exists())


def status_of(line):
    """``(state, whether a log runs)`` from a C ``sv status`` line; a pid it shows that is
    not the stub's ``sleep`` (a ``run`` that failed to start, caught in its moment) is no
    run."""
    for pid in re.findall(r"\(pid (\d+)\)", line):
        try:
            if Path("/proc/%s/comm" % pid).read_text() != "sleep\n":
                return None
        except OSError:
            return None
    return line.split(":", 1)[0], "; run: log: (pid " in line


@pytest.mark.interop
@pytest.mark.parametrize("tree", TREES, ids=[tree.stem for tree in TREES])
def test_the_c_runit_starts_each_service_of_a_golden_tree(tree, tmp_path):
    require_c_runit()
    scratch = tmp_path / "root"
    service_dirs = written(tree, scratch, stub)
    assert service_dirs, "%s: no service directory" % tree
    services = [link for directory in service_dirs for link in sorted(directory.iterdir())
                if link.is_symlink()]
    env = {"PATH": BASE_PATH}
    trees = [Group([C_RUNSVDIR, directory], env=env, output=tmp_path / ("runsvdir-%d" % n))
             for n, directory in enumerate(service_dirs)]
    try:
        def as_expected():
            done = subprocess.run([C_SV, "status"] + [str(link) for link in services],
                                  capture_output=True, text=True, env=env, timeout=30)
            lines = done.stdout.splitlines()
            found = [status_of(line) for line in lines]
            wanted = [expected_status(link.resolve()) for link in services]
            return lines if found == wanted else None
        wait_until(as_expected, timeout=20, what="%s: every service as its files say" % tree.name)
    finally:
        for group in trees:
            end_tree(group.proc, scratch)
    for group in trees:
        assert "fatal" not in group.output() and "warning" not in group.output(), group.output()
