"""Void Linux's layout imported whole: ``conf`` beside run, generic services and instances
whose run is a link, ``supervise`` a link into /run, ``vlogger`` loggers, hand-written ``sv
check`` guards, and the odd entries a real directory holds (a README, a helper, a FIFO, a
conf too big to read, a binary, an empty directory).

The tree is written here in Void's shapes (service directories as ``srcpkgs/*/files/NAME/``
of void-packages install them into ``/etc/sv``), imported with relative paths from the
directory that holds ``sv/`` (``runit-provision import sv/*``), rendered back and compared
byte for byte — content, executable bits, links as links — then applied to an empty root,
where a second ``plan`` is empty; ``plan`` on the host it came from is empty too.
"""

import os
import stat

import pytest
import yaml

from runit_provision.cli.main import main

from ..apply.helpers import staged_root

PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
GROUP = "root:x:0:\n"
HOST_KEYS = {"init": "none", "runtime": "system"}

# NAME -> {relative path: text (0755 for run and finish, else 0644) | ("link", target)}
VOID = {
    "nginx": {
        "run": "#!/bin/sh\n[ -r conf ] && . ./conf\nexec nginx -g 'daemon off;' ${OPTS} 2>&1\n",
        "conf": "# options for nginx\nOPTS=\"-c /etc/nginx/nginx.conf\"\n",
        "log/run": "#!/bin/sh\nexec vlogger -t nginx -p daemon\n",
    },
    "frr-generic": {
        "run": "#!/bin/sh\nexec 2>&1\nd=${PWD##*/}\n[ -r conf ] && . ./conf\n"
               "exec /usr/lib/frr/${d} $OPTS\n",
        "finish": "#!/bin/sh\nexec /usr/lib/frr/frrcommon.sh stop ${PWD##*/}\n",
    },
    "bgpd": {"run": ("link", "../frr-generic/run"), "finish": ("link", "../frr-generic/finish"),
             "conf": "OPTS=-A 127.0.0.1\n"},
    "agetty-generic": {
        "run": "#!/bin/sh\ntty=${PWD##*-}\n[ -r conf ] && . ./conf\n"
               "exec setsid /sbin/agetty ${GETTY_ARGS} \"${tty}\" \"${BAUD_RATE}\" "
               "\"${TERM_NAME}\"\n",
        "finish": "#!/bin/sh\ntty=${PWD##*-}\nexec utmpset -w ${tty}\n",
    },
    "agetty-tty1": {"run": ("link", "/etc/sv/agetty-generic/run"),
                    "finish": ("link", "/etc/sv/agetty-generic/finish"),
                    "conf": "GETTY_ARGS=\"--noclear\"\nBAUD_RATE=38400\nTERM_NAME=linux\n",
                    "supervise": ("link", "/run/runit/supervise.agetty-tty1")},
    "agetty-ttyS0": {"run": ("link", "/etc/sv/agetty-generic/run"),
                     "conf": ("link", "/etc/sv/agetty-tty1/conf")},
    "NetworkManager": {
        "run": "#!/bin/sh\nsv check dbus >/dev/null || exit 1\nexec NetworkManager -n > "
               "/dev/null 2>&1\n",
        "README": "Enable dbus first.\n",
        "tools/restart-wifi": "#!/bin/sh\nnmcli radio wifi off; nmcli radio wifi on\n",
    },
    "dbus": {"run": "#!/bin/sh\n[ ! -d /run/dbus ] && install -m755 -g 22 -o 22 -d /run/dbus\n"
                    "exec dbus-daemon --system --nofork --nopidfile\n",
             "check": "#!/bin/sh\nexec dbus-send --system / org.freedesktop.DBus.Peer.Ping "
                      ">/dev/null 2>&1\n"},
}
EXECUTABLE = ("run", "finish", "check", "tools/restart-wifi")


def make_void(sv):
    for name, files in VOID.items():
        for relative, value in files.items():
            path = sv / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(value, tuple):
                os.symlink(value[1], str(path))
                continue
            path.write_text(value)
            path.chmod(0o755 if relative in EXECUTABLE or relative.endswith("/run") else 0o644)


def run_cli(*argv):
    return main([str(arg) for arg in argv])


def entries_of(base):
    """{relative path: ("link", target) | (bytes, executable) | "dir"} below ``base``."""
    found = {}
    for directory, dirs, files in os.walk(str(base)):
        for name in dirs + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, str(base))
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = "dir"
            else:
                with open(path, "rb") as handle:
                    found[relative] = (handle.read(), bool(info.st_mode & 0o111))
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(directory, name))]
    return found


def with_host_keys(imported, tmp_path):
    data = yaml.safe_load(imported.read_text())
    data["runit"].update(HOST_KEYS)
    merged = tmp_path / "merged.yaml"
    merged.write_text(yaml.safe_dump(data, sort_keys=False))
    return merged


@pytest.fixture
def host(tmp_path):
    root = staged_root(tmp_path / "host", PASSWD, GROUP)
    make_void(root / "etc" / "sv")
    (root / "etc" / "service").mkdir()  # none enabled: Void's /var/service links are a host's
    return root


def test_void_layout_imports_with_relative_paths_and_renders_back_byte_for_byte(
        host, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(host / "etc")
    out = tmp_path / "imported.yaml"
    names = sorted(VOID)
    assert run_cli("import", "--root", host, *["sv/" + name for name in names],
                   "--out", out) == 0, capsys.readouterr().err
    text = out.read_text()
    services = yaml.safe_load(text)["runit"]["services"]
    assert sorted(services) == names
    assert services["nginx"]["conf"] == VOID["nginx"]["conf"]
    assert services["nginx"]["log"] == {"run": VOID["nginx"]["log/run"]}
    assert services["bgpd"]["links"] == {"run": "../frr-generic/run",
                                         "finish": "../frr-generic/finish"}
    assert services["agetty-ttyS0"]["links"] == {"run": "/etc/sv/agetty-generic/run",
                                                 "conf": "/etc/sv/agetty-tty1/conf"}
    assert services["NetworkManager"]["files"] == {
        "README": "Enable dbus first.\n",
        "tools/restart-wifi": {"content": VOID["NetworkManager"]["tools/restart-wifi"],
                               "mode": "0755"}}
    assert "run is a link to ../frr-generic/run: an instance of the generic service " \
           "frr-generic" in text
    assert "log/run is vlogger (to syslog, tag nginx): kept as written" in text
    assert "needs dbus: by hand-written sv guards in run" in text
    assert_round_trip(out, host, names, tmp_path, capsys)


def test_what_cannot_be_carried_is_named_and_the_rest_imported(host, tmp_path, capsys):
    """A FIFO, a 10 MB conf, a binary and an empty directory are named (apply leaves them);
    a dangling run link and a run that is a directory refuse their directories; the rest is
    written, exit 3."""
    sv = host / "etc" / "sv"
    os.mkfifo(str(sv / "nginx" / "fifo"))
    (sv / "bgpd" / "conf").unlink()
    with open(str(sv / "bgpd" / "conf"), "wb") as handle:
        handle.truncate(10 << 20)
    (sv / "dbus" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (sv / "dbus" / "empty").mkdir()
    (sv / "gone").mkdir()
    os.symlink("../nothing/run", str(sv / "gone" / "run"))
    (sv / "odd" / "run").mkdir(parents=True)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", host, "/etc/sv", "--out", out) == 3
    err = capsys.readouterr().err
    for line in (
            "nginx: not carried (apply leaves it as it is): fifo: not a regular file (a FIFO)",
            "bgpd: not carried (apply leaves it as it is): conf: larger than 1 MiB "
            "(10485760 bytes)",
            "dbus: not carried (apply leaves it as it is): logo.png: not UTF-8 text",
            "dbus: not carried (apply leaves it as it is): empty/: an empty directory",
            "refused /etc/sv/gone: run: a link to ../nothing/run, which does not resolve",
            "refused /etc/sv/odd: run: not a regular file (a directory)"):
        assert line in err, line
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert sorted(services) == sorted(VOID)
    assert "conf" not in services["bgpd"]
    assert "# refused /etc/sv/gone" in out.read_text()


def test_a_run_scripts_guards_in_the_renderers_form_are_read_as_needs(host, tmp_path, capsys):
    """``sv -w 7 start /etc/sv/dbus || exit 1`` right after ``#!/bin/sh`` is what ``needs``
    writes into a run script: read back as ``needs: [dbus]`` (confirmed by rendering); Void's
    own ``sv check dbus`` guard is kept as written and said; a guard with another timeout
    than the tree's is kept as written."""
    sv = host / "etc" / "sv"
    for name, run in (("nm", "#!/bin/sh\nsv -w 7 start /etc/sv/dbus || exit 1\n"
                             "exec NetworkManager -n\n"),
                      ("slow", "#!/bin/sh\nsv -w 30 start /etc/sv/dbus || exit 1\n"
                               "exec slow\n")):
        (sv / name).mkdir()
        (sv / name / "run").write_text(run)
        (sv / name / "run").chmod(0o755)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", host, "/etc/sv", "--out", out) == 0, \
        capsys.readouterr().err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert "needs" not in services["nm"]  # dbus is not enabled: needs would be refused
    assert "nm: recognised" in out.read_text() and "imported disabled" in out.read_text()
    for name in ("dbus", "nm", "slow", "NetworkManager"):
        os.symlink("/etc/sv/" + name, str(host / "etc" / "service" / name))
    assert run_cli("import", "--root", host, "/etc/sv", "--out", out) == 0, \
        capsys.readouterr().err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert services["nm"]["needs"] == ["dbus"]
    assert services["nm"]["run"] == "#!/bin/sh\nexec NetworkManager -n\n"
    assert "needs" not in services["slow"] and "sv -w 30" in services["slow"]["run"]
    assert "needs" not in services["NetworkManager"]
    merged = with_host_keys(out, tmp_path)
    capsys.readouterr()
    assert run_cli("plan", "--data", merged, "--root", host, "--profile-d", "none") == 0, \
        capsys.readouterr().out


def assert_round_trip(out, host, names, tmp_path, capsys):
    """The imported data ``out`` of ``host``'s ``names`` renders back every entry as it was
    (supervise, runsv's, aside: a link into /run/runit on Void, never data); plan on the
    host is empty; applied to an empty host, the second plan is empty and the tree is the
    host's."""
    rendered = tmp_path / "rendered"
    assert run_cli("render", "--data", out, "--out", rendered) == 0, capsys.readouterr().err
    for name in names:
        have = entries_of(host / "etc" / "sv" / name)
        have.pop("supervise", None)
        assert entries_of(rendered / "etc" / "sv" / name) == have, name
    merged = with_host_keys(out, tmp_path)
    capsys.readouterr()
    assert run_cli("plan", "--data", merged, "--root", host, "--profile-d", "none") == 0, \
        capsys.readouterr().out
    fresh = staged_root(tmp_path / "fresh", PASSWD, GROUP)
    assert run_cli("apply", "--data", merged, "--root", fresh, "--profile-d", "none") == 0
    capsys.readouterr()
    assert run_cli("plan", "--data", merged, "--root", fresh, "--profile-d", "none") == 0, \
        capsys.readouterr().out
    for name in names:
        have = entries_of(host / "etc" / "sv" / name)
        have.pop("supervise", None)
        assert entries_of(fresh / "etc" / "sv" / name) == have, name
