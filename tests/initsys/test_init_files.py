"""initsys: the init files of every init system, rendered under a staging root and validated.

systemd: the unit passes ``systemd-analyze verify --root`` with nothing to say (the root holds
a copy of the host's units, for the targets, and our installed launcher, for ExecStart);
sysvinit: the inittab line is checked field by field and the shared file keeps every other
line; upstart: the job, by inspection; runit as process 1: our stages, or none.
"""

import os
import shutil
import subprocess

import pytest

from tests.skips import missing

from runit_provision.errors import InstallError
from runit_provision.initsys import inittab, stages, systemd, upstart
from runit_provision.initsys.runsvdir import scanned_dir

from .conftest import by_path, make_config

PREFIX = "/usr/local/lib/runit-provision"
RUNSVDIR = PREFIX + "/bin/runsvdir"
START = PREFIX + "/runsvdir-start"
HOST_UNITS = ("/usr/lib/systemd/system", "/lib/systemd/system")


def paths(runtime):
    return set(by_path(runtime))


def not_payload(runtime):
    return [e for e in runtime.entries if not e.path.startswith(PREFIX + "/0")]


# -- systemd -----------------------------------------------------------------------------------
def test_systemd_unit_and_its_enabling_link(root):
    runtime = root.runtime(make_config(init="systemd"))
    entries = by_path(runtime)
    unit = entries[systemd.UNIT_PATH]
    text = unit.content.decode()
    assert "ExecStart=%s -P /etc/service\n" % RUNSVDIR in text
    assert "KillMode=process\nKillSignal=SIGTERM\n" in text
    assert "Restart=always\n" in text and "TasksMax=infinity\n" in text
    assert "Delegate=yes\nDelegateSubgroup=supervise\n" in text  # services below, tree in a leaf
    assert "WantedBy=multi-user.target\n" in text
    assert entries[systemd.WANTS_PATH].target == systemd.UNIT_PATH
    # the unit comes after the launcher it starts, in converge order
    order = [e.path for e in runtime.entries]
    assert order.index(RUNSVDIR) < order.index(systemd.UNIT_PATH)
    assert [c.argv for c in runtime.commands] == [
        ("systemctl", "daemon-reload"), ("systemctl", "start", systemd.UNIT)]
    assert all(c.after == (systemd.UNIT_PATH, systemd.WANTS_PATH) for c in runtime.commands)


def needs(what):
    """Skip without ``what`` — except in CI, where its absence is a failure."""
    missing(what, "apt-get install systemd")


def host_units():
    """The host's unit directory (for the targets our unit names), or None."""
    return next((d for d in HOST_UNITS if os.path.exists(d + "/multi-user.target")), None)


@pytest.mark.parametrize("runtime_kind", ["python", "system"])
def test_systemd_analyze_verify_finds_nothing_to_say(root, runtime_kind, tmp_path):
    units = host_units()
    if shutil.which("systemd-analyze") is None or units is None:
        needs("systemd-analyze and the host's units")
    shutil.copytree(units, str(root.at(units)), symlinks=True)
    if runtime_kind == "system":
        root.file("/usr/bin/runsvdir", "#!/bin/sh\n", 0o755)
    from runit_provision.apply.session import converge_runtime as converge
    from runit_provision.initsys import options
    _, _, result = converge(make_config(init="systemd", runtime=runtime_kind,
                                        service_dir="/srv/50%-service"),
                            options(), str(root), False, 5.0)  # install-runtime, staged
    assert result.error is None, result.error
    unit = root.read(systemd.UNIT_PATH)
    assert "/srv/50%%-service" in unit  # a specifier would be expanded otherwise
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", "--root=%s" % root,
                           systemd.UNIT], capture_output=True, text=True, timeout=60)
    # DelegateSubgroup= (systemd 254) is written for every host: an older systemd ignores it,
    # and says so — the one line it may say
    said = [line for line in done.stderr.splitlines() if not (
        systemd_version() < 254 and "Unknown key 'DelegateSubgroup' in section [Service]" in line)]
    assert (done.returncode, done.stdout, said) == (0, "", [])


def systemd_version():
    found = subprocess.run(["systemd-analyze", "--version"], capture_output=True, text=True)
    return int(found.stdout.split()[1].split(".")[0])


def test_a_broken_unit_is_not_verified_silently(root):
    """The check above can fail: systemd-analyze does complain about a bad key."""
    units = host_units()
    if shutil.which("systemd-analyze") is None or units is None:
        needs("systemd-analyze and the host's units")
    shutil.copytree(units, str(root.at(units)), symlinks=True)
    root.file("/bin/true-ish", "#!/bin/sh\n", 0o755)
    root.file("/etc/systemd/system/x.service",
              "[Service]\nExecStart=/bin/true-ish\nKillMode=mixd\n")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", "--root=%s" % root,
                           "x.service"], capture_output=True, text=True, timeout=60)
    assert "KillMode" in done.stderr or "kill mode" in done.stderr


def test_system_runtime_unit_stops_the_c_runsvdir_with_hup(root):
    root.file("/usr/bin/runsvdir", "", 0o755)
    text = by_path(root.runtime(make_config(init="systemd", runtime="system")))[
        systemd.UNIT_PATH].content.decode()
    assert "ExecStart=/usr/bin/runsvdir -P /etc/service\n" in text
    assert "KillMode=process\nKillSignal=SIGHUP\nSuccessExitStatus=111\n" in text


DEBIAN_UNIT = ("[Unit]\nDescription=Runit service supervision\n[Service]\n"
               "ExecStart=/etc/runit/2\nKillSignal=SIGHUP\nKillMode=process\nRestart=always\n"
               "[Install]\nWantedBy=multi-user.target\n")
DEBIAN_STAGE_2 = ("#!/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/usr/sbin:/bin:/usr/bin\n"
                  "SVDIR=/etc/service\n\nexec env - PATH=$PATH \\\n"
                  "runsvdir -P \"${SVDIR}\" 'log: ......'\n")


def debian_runit_run(root):
    root.file("/lib/systemd/system/runit.service", DEBIAN_UNIT)
    root.file("/etc/runit/2", DEBIAN_STAGE_2, 0o755)
    root.file("/usr/bin/runsvdir", "", 0o755)
    root.dir("/etc/runit/runsvdir/default")
    root.link("/etc/runit/runsvdir/current", "/etc/runit/runsvdir/default")
    root.link("/etc/service", "runit/runsvdir/current")


def test_system_runtime_prefers_debians_runit_service(root):
    debian_runit_run(root)
    runtime = root.runtime(make_config(init="systemd", runtime="system"))
    wants = systemd.WANTS_DIR + "/runit.service"
    assert [(e.kind, e.path) for e in runtime.entries] == [("symlink", wants)]
    assert by_path(runtime)[wants].target == "/lib/systemd/system/runit.service"
    assert [c.argv for c in runtime.commands] == [("systemctl", "daemon-reload"),
                                                  ("systemctl", "start", "runit.service")]
    assert any("runit.service" in note for note in runtime.notes)


def test_system_runtime_with_another_service_dir_gets_its_own_unit(root):
    debian_runit_run(root)
    runtime = root.runtime(make_config(init="systemd", runtime="system", service_dir="/srv/sv"))
    assert systemd.UNIT_PATH in paths(runtime)


def test_a_switch_to_the_distro_unit_stops_and_removes_ours(root):
    debian_runit_run(root)
    root.file(systemd.UNIT_PATH, "# runit-provision: runsvdir on /etc/service\n")
    root.link(systemd.WANTS_PATH, systemd.UNIT_PATH)
    runtime = root.runtime(make_config(init="systemd", runtime="system"))
    assert {(e.kind, e.path) for e in runtime.entries} >= {
        ("absent", systemd.UNIT_PATH), ("absent", systemd.WANTS_PATH)}
    stop = runtime.commands[0]
    assert stop.argv == ("systemctl", "stop", systemd.UNIT) and stop.before == (
        systemd.UNIT_PATH,)


def test_python_runtime_beside_an_enabled_runit_service_gets_a_note(root):
    debian_runit_run(root)
    root.link(systemd.WANTS_DIR + "/runit.service", "/lib/systemd/system/runit.service")
    runtime = root.runtime(make_config(init="systemd"))
    assert any("two supervisors on one directory" in note for note in runtime.notes)


def test_someone_elses_unit_of_our_name_is_left_alone(root):
    root.file(systemd.UNIT_PATH, "[Service]\nExecStart=/bin/mine\n")
    runtime = root.runtime(make_config(init="systemd"))
    assert systemd.UNIT_PATH not in paths(runtime)
    assert any("left alone: %s" % systemd.UNIT_PATH in note for note in runtime.notes)


def test_a_changed_unit_restarts_the_tree(root):
    root.file(systemd.UNIT_PATH, "# runit-provision: runsvdir on /srv/old\n")
    runtime = root.runtime(make_config(init="systemd"))
    assert ("systemctl", "try-restart", systemd.UNIT) in [c.argv for c in runtime.commands]


# -- sysvinit ----------------------------------------------------------------------------------
INITTAB = "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n1:2345:respawn:/sbin/getty 38400 tty1\n"


def test_inittab_gets_one_valid_line_and_keeps_the_rest(root):
    root.file("/etc/inittab", INITTAB)
    runtime = root.runtime(make_config(init="sysvinit"))
    text = by_path(runtime)["/etc/inittab"].content.decode()
    assert text.startswith(INITTAB)
    added = text[len(INITTAB):].splitlines()
    assert added == ["# runit-provision: runsvdir on /etc/service (runit-provision "
                     "install-runtime)", "RPSV:2345:respawn:" + START]
    assert all(inittab.line_problem(line) is None for line in text.splitlines()
               if line and not line.startswith("#"))
    assert [(c.argv, c.after) for c in runtime.commands] == [(("telinit", "q"),
                                                              ("/etc/inittab",))]
    script = by_path(runtime)[START].content.decode()
    assert script.splitlines()[-1].startswith(
        'exec env - PATH="$PATH" %s -P /etc/service \'log: ....' % RUNSVDIR)
    assert scanned_dir(script) == "/etc/service"


def test_inittab_line_is_replaced_not_repeated(root):
    root.file("/etc/inittab", INITTAB + "# runit-provision: runsvdir on /old (runit-provision "
              "install-runtime)\nRPSV:2345:respawn:/old/start\n")
    text = by_path(root.runtime(make_config(init="sysvinit")))["/etc/inittab"].content.decode()
    assert text.count("RPSV:") == 1 and "/old" not in text


def test_inittab_unchanged_needs_no_telinit(root):
    root.file("/etc/inittab", inittab.with_line(INITTAB, "/etc/service",
                                                "RPSV:2345:respawn:" + START))
    assert root.runtime(make_config(init="sysvinit")).commands == []


def test_no_inittab_under_sysvinit_is_an_error(root):
    root.dir("/etc")
    with pytest.raises(InstallError, match="no /etc/inittab"):
        root.runtime(make_config(init="sysvinit"))


def test_system_runtime_keeps_debians_inittab_entry(root):
    root.file("/usr/sbin/runsvdir-start", "#!/bin/sh\nexec runsvdir -P /etc/service 'log: ..'\n",
              0o755)
    root.file("/usr/bin/runsvdir", "", 0o755)
    root.file("/etc/inittab", INITTAB + "SV:123456:respawn:/usr/sbin/runsvdir-start\n")
    runtime = root.runtime(make_config(init="sysvinit", runtime="system"))
    assert by_path(runtime)["/etc/inittab"].content.decode() == root.read("/etc/inittab")
    assert runtime.commands == [] and any("SV" in note for note in runtime.notes)


@pytest.mark.parametrize("line, problem", [
    ("RPSV:2345:respawn:/x", None),
    ("RPSV:2345:respawn", "not id:runlevels:action:process"),
    ("R PS:2345:respawn:/x", "id R PS: 1 to 4 characters"),
    ("RPSV:2345:respawnn:/x", "action respawnn: not one of inittab(5)'s"),
    ("RPSV:2345:respawn:", "no process"),
    ("RPSV:2345:respawn:/" + "x" * 127, "process longer than 127 characters"),
])
def test_inittab_line_syntax(line, problem):
    assert inittab.line_problem(line) == problem


def test_a_prefix_too_long_for_inittab_is_refused(root):
    root.file("/etc/inittab", INITTAB)
    with pytest.raises(InstallError, match="longer than 127"):
        root.runtime(make_config(init="sysvinit"), prefix="/opt/" + "p" * 120)


# -- upstart -----------------------------------------------------------------------------------
def test_upstart_job(root):
    runtime = root.runtime(make_config(init="upstart"))
    assert by_path(runtime)[upstart.JOB_PATH].content.decode() == (
        "# runit-provision: runsvdir on /etc/service (written by runit-provision "
        "install-runtime;\n"
        "# a change here is reverted, runit-provision install-runtime --uninstall removes it)\n"
        "description \"runit service supervision: runsvdir on /etc/service\"\n"
        "start on runlevel [2345]\n"
        "stop on runlevel [!2345]\n"
        "respawn\n"
        "kill signal TERM\n"
        "kill timeout 30\n"
        "exec %s\n" % START)
    assert [c.argv for c in runtime.commands] == [("initctl", "start", upstart.JOB)]


def test_a_changed_upstart_job_is_stopped_first(root):
    root.file(upstart.JOB_PATH, "# runit-provision: old\n")
    commands = root.runtime(make_config(init="upstart")).commands
    assert [(c.argv, c.before) for c in commands][0] == (("initctl", "stop", upstart.JOB),
                                                         (upstart.JOB_PATH,))


# -- runit as process 1 ------------------------------------------------------------------------
def test_no_stages_get_ours(root):
    root.dir("/etc")
    runtime = root.runtime(make_config(init="runit"))
    entries = by_path(runtime)
    stage_2 = entries["/etc/runit/2"].content.decode()
    assert scanned_dir(stage_2) == "/etc/service" and RUNSVDIR in stage_2
    assert entries["/etc/runit/1"].mode == entries["/etc/runit/3"].mode == 0o755
    assert runtime.commands == []


def test_debians_stage_2_on_the_service_dir_needs_nothing(root):
    debian_runit_run(root)
    runtime = root.runtime(make_config(init="runit"))
    assert not [p for p in paths(runtime) if p.startswith("/etc/")]


def test_a_stage_2_on_another_dir_gets_a_nested_tree(root):
    debian_runit_run(root)
    runtime = root.runtime(make_config(init="runit", service_dir="/srv/service"))
    entries = by_path(runtime)
    link = "/etc/service/" + stages.NESTED
    assert entries[link].target == "/etc/sv/" + stages.NESTED
    run = entries["/etc/sv/%s/run" % stages.NESTED].content.decode()
    assert scanned_dir(run) == "/srv/service"
    assert "exec sv -v h ." in entries["/etc/sv/%s/control/t" % stages.NESTED].content.decode()


def test_a_stage_2_we_cannot_read_gets_a_note(root):
    root.file("/etc/runit/2", "#!/bin/sh\nexec /usr/local/bin/my-supervisor\n", 0o755)
    runtime = root.runtime(make_config(init="runit"))
    assert not [p for p in paths(runtime) if p.startswith("/etc/")]
    assert any("does not say which directory" in note for note in runtime.notes)


def test_init_none_leaves_init_alone(root):
    root.file("/etc/inittab", INITTAB)
    runtime = root.runtime(make_config(init="none"))
    assert not [p for p in paths(runtime) if not p.startswith(("/usr/local/",))]
    assert runtime.commands == []


@pytest.mark.parametrize("path, content, expected", [
    # cgroup v2: its events, whatever is in it itself (our tree's own are in supervise)
    (systemd.CGROUP_EVENTS, "populated 0\nfrozen 0\n", [("systemctl", "start", systemd.UNIT)]),
    (systemd.CGROUP_EVENTS, "populated 1\nfrozen 0\n", []),
    # v1's named hierarchy: its processes listed
    (systemd.CGROUP_PROCS, "", [("systemctl", "start", systemd.UNIT)]),
    (systemd.CGROUP_PROCS, "4242\n", []),
])
def test_on_the_running_host_start_follows_the_units_cgroup(root, path, content, expected):
    from runit_provision.initsys.runsvdir import Runsvdir
    runsvdir = Runsvdir(RUNSVDIR, "/etc/service", system=False)
    root.file(systemd.UNIT_PATH, systemd.unit_text(runsvdir))
    root.link(systemd.WANTS_PATH, systemd.UNIT_PATH)
    root.file(path % systemd.UNIT, content)
    view = root.view()
    view.is_live = True
    part = systemd.link(view, runsvdir)
    assert [c.argv for c in part.commands if not c.after] == expected
