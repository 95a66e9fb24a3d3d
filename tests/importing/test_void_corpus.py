"""Void Linux's own service directories, imported whole.

Two corpora, neither copied into this repository:

- ``VOID_SV_CORPUS``: 290 of the service directories Void's package templates ship
  (``srcpkgs/*/files/NAME/`` of void-packages, as ``vsv`` installs them into ``/etc/sv``; the
  corpus's README, ``../shared/corpora/void-sv/`` beside the checkout, says where they come
  from). ``.ci/run`` sets it; without it the test skips, and under ``CI=true`` fails. Read
  in place: ``import void-sv/*`` from the directory that holds it — one command, relative
  paths — renders back byte for byte (content, modes, links) except what import itself names
  as what ``plan`` would change (its modes, 0555 and 0444, become the data's; a script
  without ``#!`` or a final newline gets them), and applied to an empty root the second
  ``plan`` is empty.
- ``VOID_RUNIT_GIT``: void-runit's published ``services/`` at commit
  22a908018b4cb386d56f077e5497bf50adeaee75 (github.com/void-linux/void-runit, 2026-06-08) —
  ``agetty-generic`` and its 13 instances (``run`` and ``finish`` links to it, ``conf`` files
  and links to another instance's, ``supervise`` links into ``/run/runit``), and ``sulogin`` —
  taken from a clone at test time (``git archive`` of the commit: modes and links as git
  keeps them; ``git clone --bare https://github.com/void-linux/void-runit``); without it the
  test skips, also under CI=true (tests/skips.py allows it: .ci/run fetches packages
  alone). Every directory imports with relative paths (``import sv/*`` from the directory
  holding ``sv/``), renders back byte for byte (content,
  executable bits, links as links), ``plan`` on the host is empty, and after ``apply`` to an
  empty root the second ``plan`` is empty and the tree is Void's.

The shapes of void-packages' service directories, written here: ``test_void.py``.
"""

import io
import os
import re
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from .test_void import PASSWD, GROUP, assert_round_trip, run_cli, with_host_keys
from ..apply.helpers import staged_root
from ..conftest import IN_CI, ROOT

COMMIT = "22a908018b4cb386d56f077e5497bf50adeaee75"
MIRROR = os.environ.get("VOID_RUNIT_GIT", "")


def void_services(sv):
    """Void's ``services/`` at COMMIT, extracted into ``sv``; the names of its directories."""
    if not MIRROR or not os.path.isdir(MIRROR):
        pytest.skip("VOID_RUNIT_GIT names no clone of void-linux/void-runit (%r): see the "
                    "module's docstring" % MIRROR)
    archive = subprocess.run(["git", "--git-dir", MIRROR, "archive", "--format=tar", COMMIT,
                              "services"], capture_output=True, check=True, timeout=60).stdout
    sv.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            relative = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not relative:
                continue
            path = sv / relative
            if member.isdir():
                path.mkdir(exist_ok=True)
            elif member.issym():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(member.linkname, str(path))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(tar.extractfile(member).read())
                path.chmod(member.mode & 0o755)  # git keeps 755 or 644; archive adds g+w
    return sorted(name for name in os.listdir(str(sv)) if os.path.lexists(str(sv / name / "run")))


def shapes(services):
    """How many were read into keys, kept as written, carried conf, and linked to a generic."""
    return {
        "services": len(services),
        "command": sum("command" in data for data in services.values()),
        "run kept as written": sum("run" in data for data in services.values()),
        "run a link": sum("run" in data.get("links", {}) for data in services.values()),
        "conf carried": sum("conf" in data for data in services.values()),
        "conf a link": sum("conf" in data.get("links", {}) for data in services.values()),
    }


def test_void_runit_services_import_whole_and_render_back(tmp_path, capsys, monkeypatch):
    host = staged_root(tmp_path / "host", PASSWD, GROUP)
    names = void_services(host / "etc" / "sv")
    (host / "etc" / "service").mkdir()
    assert len(names) == 15
    monkeypatch.chdir(host / "etc")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", host, *["sv/" + name for name in names],
                   "--out", out) == 0, capsys.readouterr().err
    text = out.read_text()
    services = yaml.safe_load(text)["runit"]["services"]
    assert sorted(services) == names
    assert shapes(services) == {"services": 15, "command": 0, "run kept as written": 2,
                                "run a link": 13, "conf carried": 5, "conf a link": 8}
    # scripts indented with tabs are literal blocks still, read back as written
    assert "    agetty-generic:\n      run: |\n        #!/bin/sh\n" in text
    assert "\n        \t# busybox\n" in text
    # agetty-hvc0's run links to agetty-serial's, itself a link to agetty-generic's
    assert text.count(": an instance of the generic service agetty-generic\n") == 8
    assert text.count(": an instance of the generic service agetty-serial\n") == 5
    assert_round_trip(out, host, names, tmp_path, capsys)


VOID_SV = os.environ.get("VOID_SV_CORPUS", "")
NAMED = re.compile(r"runit-provision import: ([^:]+): plan would change: (.*)$")
CONTENT_NAMED = ("its content would change", "a newline would be added at its end",
                 "a #!/bin/sh line would be added")


def void_sv_corpus():
    """The corpus's directory, as ``VOID_SV_CORPUS`` names it (read in place, never copied)."""
    if not VOID_SV or not os.path.isfile(os.path.join(VOID_SV, "3proxy", "run")):
        why = ("VOID_SV_CORPUS names no corpus of Void's service directories (%r): .ci/run "
               "sets it to ../shared/corpora/void-sv beside the checkout" % VOID_SV)
        if IN_CI:
            pytest.fail(why)
        pytest.skip(why)
    return Path(os.path.realpath(VOID_SV))


def named_changes(err, sv_dir):
    """{absolute path: [what import said plan would change there]} from import's stderr;
    a change said of a script by its name (``run: a newline …``) is that script's."""
    found = {}
    for line in err.splitlines():
        match = NAMED.match(line)
        if match is None:
            continue
        name, change = match.groups()
        base = "%s/%s" % (sv_dir, name)
        if change.startswith("/"):
            path, _, said = change.partition(": ")
            path = path.split(" ")[0]  # "PATH would be created", "PATH -> T would point …"
        else:
            relative, _, said = change.partition(": ")
            path = "%s/%s" % (base, relative)
        found.setdefault(path, []).append(said or change)
    return found


def tree_of(base):
    """{relative path: (kind, mode, bytes or link target)} of everything below ``base``."""
    found = {}
    for directory, dirs, files in os.walk(str(base)):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                found[os.path.relpath(path, str(base))] = ("link", None, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[os.path.relpath(path, str(base))] = ("dir", mode, None)
            else:
                with open(path, "rb") as handle:
                    found[os.path.relpath(path, str(base))] = ("file", mode, handle.read())
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(directory, name))]
    return found


@pytest.mark.slow
def test_void_packages_services_import_whole_and_render_back(tmp_path, capsys):
    corpus = void_sv_corpus()
    names = sorted(name for name in os.listdir(str(corpus))
                   if os.path.lexists(str(corpus / name / "run")))
    assert len(names) >= 290, names
    empty = tmp_path / "service"  # nothing of the corpus is linked: each imported disabled
    empty.mkdir()
    out = tmp_path / "imported.yaml"
    here = os.getcwd()
    os.chdir(str(corpus.parent))
    try:  # `import void-sv/*`, as the shell expands it
        code = run_cli("import", *["%s/%s" % (corpus.name, name) for name in names],
                       "--service-dir", empty, "--out", out)
    finally:
        os.chdir(here)
    err = capsys.readouterr().err
    assert code == 2, err  # imported, with what plan would change said
    assert "refused" not in err and "not carried" not in err, err
    data = yaml.safe_load(out.read_text())["runit"]
    assert sorted(data["services"]) == names
    assert data["sv_dir"] == str(corpus)
    named = named_changes(err, corpus)

    rendered_root = tmp_path / "rendered"
    merged = with_host_keys(out, tmp_path)
    assert run_cli("render", "--data", merged, "--out", rendered_root) == 0
    rendered = rendered_root / str(corpus).lstrip("/")
    unnamed = []
    have, got = tree_of(corpus), tree_of(rendered)
    for relative, (kind, mode, content) in sorted(have.items()):
        path, said = "%s/%s" % (corpus, relative), None
        said = named.get(path, [])
        if relative not in got:
            unnamed += [] if any("would be removed" in item for item in said) else [
                (relative, "not rendered")]
            continue
        other_kind, other_mode, other_content = got[relative]
        if other_kind != kind:
            unnamed.append((relative, "%s rendered as a %s" % (kind, other_kind)))
        elif content != other_content and not any(item.startswith(CONTENT_NAMED)
                                                  for item in said):
            unnamed.append((relative, "content"))
        elif mode != other_mode and "mode %04o would become %04o" % (mode, other_mode) \
                not in said:
            unnamed.append((relative, "mode %04o -> %04o" % (mode, other_mode)))
    for relative in sorted(set(got) - set(have)):
        if not any(item.endswith("would be created")
                   for item in named.get("%s/%s" % (corpus, relative), [])):
            unnamed.append((relative, "rendered, not on the host"))
    assert unnamed == [], unnamed[:20]

    # an empty host with the accounts the services run as (chpst -u: apply never makes one)
    logins = {data[key] for data in data["services"].values() for key in ("user", "group")
              if key in data}
    accounts = sorted(logins - {"root"})
    fresh = staged_root(tmp_path / "fresh", PASSWD + "".join(
        "%s:x:%d:%d::/nonexistent:/bin/false\n" % (name, 2000 + index, 2000 + index)
        for index, name in enumerate(accounts)), GROUP + "".join(
        "%s:x:%d:\n" % (name, 2000 + index) for index, name in enumerate(accounts)))
    assert run_cli("apply", "--data", merged, "--root", fresh, "--profile-d", "none") == 0
    capsys.readouterr()
    assert run_cli("plan", "--data", merged, "--root", fresh, "--profile-d", "none") == 0, \
        capsys.readouterr().out


def test_ci_names_the_corpus_beside_the_checkout():
    """``.ci/run`` (which runs from the checkout's root) exports ``VOID_SV_CORPUS`` as the
    absolute path of ``../shared/corpora/void-sv`` — where the corpus's README puts it — so
    that under ``CI=true`` the corpus test runs, or fails: it never skips there."""
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    exports = [line for line in script if line.startswith("export VOID_SV_CORPUS=")]
    assert len(exports) == 1, exports
    cd = script.index('cd "$(dirname "$0")/.."')
    assert cd < script.index(exports[0]) < script.index("make test")
    done = subprocess.run(["bash", "-c", exports[0] + '; printf %s "$VOID_SV_CORPUS"'],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=30)
    assert done.stdout == os.path.join(os.path.dirname(os.path.realpath(str(ROOT))), "shared",
                                       "corpora", "void-sv")
