"""``runit-provision install-runtime`` under ``--root``: what goes where, idempotency, --check,
upgrades and the switch, drift, what is never overwritten, --uninstall, --json."""

import json
import marshal
import os
import py_compile
import shutil
import sys

import pytest

import runit_provision
from runit_provision.cli.main import main
from runit_provision.initsys import launchers, payload, systemd

PREFIX = "/usr/local/lib/runit-provision"
VERSION = runit_provision.__version__


def install(root, *args):
    return main(["install-runtime", "--root", str(root)] + list(args))


def source_of_version(tmp_path, version):
    """A copy of this package's runtime with another __version__ (an upgrade to install)."""
    target = tmp_path / ("src-" + version) / "runit_provision"
    for relative, content in payload.sources_from(None).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative == "__init__.py":
            content = content.replace(('"%s"' % VERSION).encode(), ('"%s"' % version).encode())
        path.write_bytes(content)
    return str(target.parent)


def test_what_goes_where(root, capsys):
    root.dpkg(runit=["/usr/bin/sv"])
    assert install(root, "--init", "systemd") == 0
    out = capsys.readouterr().out
    current = root.at(PREFIX + "/current")
    assert os.readlink(str(current)) == VERSION
    assert root.exists(PREFIX + "/%s/runit_provision/runtime/sv.py" % VERSION)
    pyc = "%s/%s/runit_provision/runtime/__pycache__/sv.%s.pyc" % (
        PREFIX, VERSION, sys.implementation.cache_tag)
    assert root.exists(pyc)
    for tool, (_, kind) in launchers.TOOLS.items():
        link = "/usr/local/%s/%s" % (kind, tool)
        assert os.readlink(str(root.at(link))) == PREFIX + "/bin/" + tool
        text = root.read(PREFIX + "/bin/" + tool)
        assert text.splitlines()[0].endswith(" -SI") and launchers.MARKER in text
        assert os.stat(str(root.at(PREFIX + "/bin/" + tool))).st_mode & 0o777 == 0o755
    # nothing of the generator is installed
    installed = {str(p.relative_to(root.at(PREFIX + "/" + VERSION)))
                 for p in root.at(PREFIX + "/" + VERSION).rglob("*.py")}
    assert not [p for p in installed if p.startswith(("runit_provision/render",
                                                      "runit_provision/cli",
                                                      "runit_provision/hiera"))]
    # /usr/bin/sv belongs to runit in this root: left alone, and said so
    assert not root.exists("/usr/bin/sv")
    assert "note: left alone: /usr/bin/sv belongs to the package runit" in out
    assert root.exists(systemd.UNIT_PATH)


def test_usr_bin_sv_where_no_package_owns_it(root):
    root.dpkg(coreutils=["/usr/bin/env"])
    assert install(root, "--init", "none") == 0
    assert os.readlink(str(root.at("/usr/bin/sv"))) == PREFIX + "/bin/sv"


def test_usr_bin_sv_is_not_guessed_without_a_package_database(root, capsys):
    root.dir("/etc")
    assert install(root, "--init", "none") == 0
    assert not root.exists("/usr/bin/sv")
    assert "left alone: /usr/bin/sv (no package database under" in capsys.readouterr().out


def test_a_file_that_is_not_ours_is_left_alone(root, capsys):
    root.dpkg()
    root.file("/usr/local/bin/sv", "#!/bin/sh\necho my own sv\n", 0o755)
    root.link("/usr/bin/sv", "/opt/runit/sv")
    assert install(root, "--init", "none") == 0
    assert root.read("/usr/local/bin/sv") == "#!/bin/sh\necho my own sv\n"
    assert os.readlink(str(root.at("/usr/bin/sv"))) == "/opt/runit/sv"
    out = capsys.readouterr().out
    assert "left alone: /usr/local/bin/sv exists and is not ours" in out
    assert "left alone: /usr/bin/sv exists and is not ours" in out


def test_second_run_is_a_no_op_and_check_exits_0(root, capsys):
    root.dpkg()
    assert install(root, "--init", "systemd") == 0
    capsys.readouterr()
    assert install(root, "--init", "systemd", "--check") == 0
    assert "nothing to do: the runtime %s is installed and linked (init: systemd)" % VERSION \
        in capsys.readouterr().out
    assert install(root, "--init", "systemd") == 0
    assert "nothing to do" in capsys.readouterr().out


def test_check_shows_and_changes_nothing_exit_2(root, capsys):
    root.dpkg()
    assert install(root, "--init", "systemd", "--check") == 2
    out = capsys.readouterr().out
    assert "+ %s/%s/ (the runtime %s:" % (PREFIX, VERSION, VERSION) in out
    assert "+ /usr/local/bin/sv -> %s/bin/sv" % PREFIX in out
    assert "\u21bb systemctl daemon-reload  (runit-provision-runsvdir.service changed)" in out
    assert not root.exists(PREFIX)


def test_drift_is_reverted(root, capsys):
    root.dpkg()
    install(root, "--init", "none")
    launcher = root.at(PREFIX + "/bin/sv")
    original = launcher.read_text()
    launcher.write_text(original.replace("-SI", "-I"))  # still ours (marker), but edited
    launcher.chmod(0o700)
    module = root.at("%s/%s/runit_provision/runtime/sv.py" % (PREFIX, VERSION))
    module.write_text("raise SystemExit('edited')\n")
    stray = module.parent / "__pycache__" / "sv.cpython-38.pyc"  # no interpreter of ours: 3.9+
    stray.write_bytes(b"old")
    capsys.readouterr()
    assert install(root, "--init", "none", "--check") == 2
    out = capsys.readouterr().out
    assert "~ %s/bin/sv" % PREFIX in out and "2 paths to change/remove" in out
    assert install(root, "--init", "none") == 0
    assert launcher.read_text() == original and os.stat(str(launcher)).st_mode & 0o777 == 0o755
    assert module.read_bytes() == payload.sources_from(None)["runtime/sv.py"]
    assert not stray.exists()


def test_upgrade_switches_current_keeps_the_previous_and_drops_older(root, tmp_path):
    root.dpkg()
    for version in ("0.0.1", "0.0.2", "0.0.3"):
        assert install(root, "--init", "none", "--source",
                       source_of_version(tmp_path, version)) == 0
        assert os.readlink(str(root.at(PREFIX + "/current"))) == version
        assert "__version__ = \"%s\"" % version in root.read(
            "%s/%s/runit_provision/__init__.py" % (PREFIX, version))
        assert install(root, "--init", "none", "--check", "--source",
                       source_of_version(tmp_path, version)) == 0  # nothing more to do
    assert sorted(os.listdir(str(root.at(PREFIX)))) == [
        "0.0.2", "0.0.3", "bin", "current", "runsvdir-start"]
    # back to 0.0.2: 0.0.3 is the newest other version, kept
    assert install(root, "--init", "none", "--source", source_of_version(tmp_path, "0.0.2")) == 0
    assert sorted(os.listdir(str(root.at(PREFIX))))[:2] == ["0.0.2", "0.0.3"]


def test_a_wheel_as_package_file_is_installed_from(root, tmp_path):
    if shutil.which("zip") is None and not hasattr(shutil, "make_archive"):
        pytest.skip("no way to build a zip")
    source = source_of_version(tmp_path, "9.9.9")
    wheel = shutil.make_archive(str(tmp_path / "runit_provision-9.9.9-py3-none-any"), "zip",
                                source)
    os.rename(wheel, wheel[:-4] + ".whl")
    data = tmp_path / "data.yaml"
    data.write_text("runit::package_file: %s\nrunit::init: none\n" % (wheel[:-4] + ".whl"))
    root.dpkg()
    assert install(root, "--data", str(data)) == 0
    assert os.readlink(str(root.at(PREFIX + "/current"))) == "9.9.9"


def test_each_module_gets_the_standard_compilers_unchecked_pyc_under_its_final_name(root):
    """compileall wrote them: each of this source and interpreter (PEP 552, unchecked), its
    code named by the installed path, not the root's."""
    root.dpkg()
    assert install(root, "--init", "none") == 0
    sources = payload.sources_from(None)
    base = "%s/%s/runit_provision/" % (PREFIX, VERSION)
    for relative, source in sources.items():
        written = root.at(base + payload.cache_path(relative)).read_bytes()
        assert written[:16] == payload.pyc_header(source), relative
        assert written[4:8] == b"\x01\x00\x00\x00"  # hash-based, unchecked
        assert marshal.loads(written[16:]).co_filename == base + relative


def test_a_stale_or_foreign_pyc_is_compiled_again_and_an_edited_module_alone_rewritten(
        root, capsys):
    root.dpkg()
    install(root, "--init", "none")
    base = "%s/%s/runit_provision/" % (PREFIX, VERSION)
    sv_pyc = root.at(base + payload.cache_path("runtime/sv.py"))
    layout_pyc = root.at(base + payload.cache_path("protocol/layout.py"))
    module = root.at(base + "errors.py")
    good = sv_pyc.read_bytes()
    py_compile.compile(str(root.at(base + "runtime/sv.py")), cfile=str(sv_pyc))  # timestamp
    layout_pyc.write_bytes(layout_pyc.read_bytes()[:8] + b"\0" * 8 + good[16:])
    module.write_bytes(module.read_bytes() + b"# edited\n")
    capsys.readouterr()
    assert install(root, "--init", "none", "--check", "--json") == 2
    actions = {(item["path"], item["kind"], item["action"])
               for item in json.loads(capsys.readouterr().out)["actions"]}
    assert actions == {(base + payload.cache_path("runtime/sv.py"), "bytecode", "change"),
                       (base + payload.cache_path("protocol/layout.py"), "bytecode", "change"),
                       (base + "errors.py", "file", "change")}
    assert install(root, "--init", "none") == 0
    assert sv_pyc.read_bytes()[:16] == good[:16]
    assert layout_pyc.read_bytes()[:16] == payload.pyc_header(
        payload.sources_from(None)["protocol/layout.py"])
    capsys.readouterr()
    assert install(root, "--init", "none", "--check") == 0, capsys.readouterr().out


def test_uninstall_removes_ours_and_nothing_else(root, capsys):
    root.dpkg()
    root.file("/etc/inittab", "id:2:initdefault:\n")
    root.file("/usr/local/bin/mytool", "#!/bin/sh\n", 0o755)
    assert install(root, "--init", "sysvinit") == 0
    assert "RPSV:" in root.read("/etc/inittab")
    capsys.readouterr()
    assert install(root, "--uninstall") == 0
    out = capsys.readouterr().out
    assert "- %s" % PREFIX in out and "- /usr/local/bin/sv" in out
    assert root.read("/etc/inittab") == "id:2:initdefault:\n"
    assert not root.exists(PREFIX) and not root.exists("/usr/local/bin/sv")
    assert root.exists("/usr/local/bin/mytool")
    assert install(root, "--uninstall", "--check") == 0


def test_uninstall_of_systemd_stops_before_removing(root, capsys):
    root.dpkg()
    install(root, "--init", "systemd")
    capsys.readouterr()
    assert install(root, "--uninstall", "--check", "--json") == 2
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is True
    assert {"path": systemd.UNIT_PATH, "kind": "absent", "action": "remove"} in result["actions"]
    assert [c["argv"] for c in result["commands"]] == [
        ["systemctl", "stop", systemd.UNIT], ["systemctl", "daemon-reload"]]


def test_json(root, capsys):
    root.dpkg()
    assert install(root, "--init", "none", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is True and result["version"] == VERSION
    assert result["runtime"] == "python" and result["init"] == "none"
    assert {"path": "/usr/local/bin/sv", "kind": "symlink", "action": "create"} in \
        result["actions"]
    assert install(root, "--init", "none", "--json") == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False


def test_system_runtime_without_runit_is_an_error(root, capsys):
    root.file("/etc/inittab", "")
    assert install(root, "--runtime", "system", "--init", "sysvinit") == 1
    assert "runtime: system, but this host has no runsvdir" in capsys.readouterr().err


def test_system_runtime_with_package_file_plans_the_install(root, tmp_path, capsys):
    data = tmp_path / "data.yaml"
    data.write_text("runit:\n  runtime: system\n  init: sysvinit\n"
                    "  package_file: runit-2.1.1-6.el6.x86_64.rpm\n")
    root.file("/etc/inittab", "")
    root.file("/usr/bin/yum", "", 0o755)
    assert install(root, "--data", str(data), "--check") == 2
    out = capsys.readouterr().out
    assert ("\u21bb yum install -y ./runit-2.1.1-6.el6.x86_64.rpm  (runtime: system and no "
            "runsvdir on the host: install runit-2.1.1-6.el6.x86_64.rpm)") in out
    assert "RPSV:2345:respawn:%s/runsvdir-start" % PREFIX not in out  # paths, not contents
    assert "+ %s/runsvdir-start" % PREFIX in out


@pytest.mark.parametrize("option", ["--prefix", "--python"])
def test_odd_paths_are_refused(root, option, capsys):
    assert install(root, option, "relative/path") == 1
    assert "an absolute path of simple characters is needed" in capsys.readouterr().err


def test_init_runit_links_runit_where_the_kernels_init_looks(root, capsys):
    root.merged_usr()
    root.dpkg()
    assert install(root, "--init", "runit") == 0
    for tool in ("runit", "runit-init"):
        assert os.readlink(str(root.at("/usr/sbin/" + tool))) == PREFIX + "/bin/" + tool
    assert root.exists("/etc/runit/2")


def test_init_runit_leaves_debians_runit_alone(root, capsys):
    root.merged_usr()
    root.dpkg(runit=["/sbin/runit", "/sbin/runit-init"])
    root.file("/usr/sbin/runit", "\x7fELF", 0o755)
    assert install(root, "--init", "runit") == 0
    assert root.read("/usr/sbin/runit") == "\x7fELF"
    out = capsys.readouterr().out
    assert "left alone: /sbin/runit belongs to the package runit" in out
    assert "left alone: /sbin/runit-init belongs to the package runit" in out
