"""The commands initsys asks for, run in their phases by install-runtime — the applier's one
path (``apply/job.py``) — against a staging root treated as a live host (``staging=False``)
with a fake runner that records what the root held at each call (nothing is run on this
machine)."""

from runit_provision.apply.runner import Completed
from runit_provision.apply.session import converge_runtime
from runit_provision.initsys import options, systemd

from .conftest import make_config
from .test_init_files import DEBIAN_STAGE_2, DEBIAN_UNIT


class Recorder:
    """A fake runner: each command with whether the unit file existed when it ran."""

    def __init__(self, root, effects=None):
        self.root, self.calls, self.effects = root, [], effects or {}

    def run(self, argv, timeout=None, run_as=None):
        self.calls.append((tuple(argv), self.root.exists(systemd.UNIT_PATH)))
        effect = self.effects.get(argv[0])
        if effect is not None:
            return effect(self.root) or Completed(argv, 0, "")
        return Completed(argv, 0, "")


def converge(root, runner, config, **opts):
    """``(runtime, plan, ran)``: the init room's answer, the first plan, the commands run."""
    runtime, plan, result = converge_runtime(config, options(**opts), str(root), False, 5.0,
                                             runner=runner, staging=False)
    assert result.error is None, result.error
    assert result.after is not None and result.after.is_empty, result.after.steps
    ran = [tuple(step.argv) for step, _ in result.done if step.action == "run"]
    return runtime, plan, ran


def test_systemd_reload_and_start_after_the_unit_then_nothing(root):
    root.dpkg()
    runner = Recorder(root)
    converge(root, runner, make_config(init="systemd"))
    assert runner.calls == [(("systemctl", "daemon-reload"), True),
                            (("systemctl", "start", systemd.UNIT), True)]
    runner.calls.clear()
    _, plan, ran = converge(root, runner, make_config(init="systemd"))
    assert plan.is_empty and ran == []  # (on the running host: start if not running)


def test_uninstall_stops_the_unit_before_its_file_goes(root):
    root.dpkg()
    converge(root, Recorder(root), make_config(init="systemd"))
    runner = Recorder(root)
    converge(root, runner, make_config(init="systemd"), uninstall=True)
    assert runner.calls == [(("systemctl", "stop", systemd.UNIT), True),
                            (("systemctl", "daemon-reload"), False)]
    assert not root.exists(systemd.UNIT_PATH)


def test_telinit_q_only_when_inittab_changed(root):
    root.dpkg()
    root.file("/etc/inittab", "id:2:initdefault:\n")
    runner = Recorder(root)
    converge(root, runner, make_config(init="sysvinit"))
    assert [argv for argv, _ in runner.calls] == [("telinit", "q")]
    runner.calls.clear()
    converge(root, runner, make_config(init="sysvinit"))
    assert runner.calls == []


def install_debian_runit(root):
    """What apt-get install ./runit-run.deb would leave (the fake runner's effect)."""
    root.file("/usr/bin/runsvdir", "", 0o755)
    root.file("/lib/systemd/system/runit.service", DEBIAN_UNIT)
    root.file("/etc/runit/2", DEBIAN_STAGE_2, 0o755)


def test_a_package_file_is_installed_first_then_the_host_is_asked_again(root):
    root.dpkg()
    runner = Recorder(root, {"apt-get": install_debian_runit})
    config = make_config(init="systemd", runtime="system", package_file="runit-run.deb")
    runtime, plan, ran = converge(root, runner, config)
    assert [argv[0] for argv in ran] == ["apt-get", "systemctl", "systemctl"]
    # asked again after the install: the distribution's unit is used, ours never written
    assert not root.exists(systemd.UNIT_PATH)
    assert root.exists(systemd.WANTS_DIR + "/runit.service")
    runner.calls.clear()
    _, plan, ran = converge(root, runner, config)
    assert plan.is_empty and ran == []


def test_a_failed_package_install_stops_before_anything_is_written(root):
    root.dpkg()
    runner = Recorder(root, {"apt-get": lambda root: Completed(
        ["apt-get"], 100, "E: Unable to locate package")})
    config = make_config(init="systemd", runtime="system", package_file="runit-run.deb")
    runtime, plan, result = converge_runtime(config, options(), str(root), False, 5.0,
                                             runner=runner, staging=False)
    assert "./runit-run.deb failed (exit 100)" in str(result.error)
    assert "Unable to locate package" in str(result.error)
    assert [argv[0] for argv, _ in runner.calls] == ["apt-get"] and result.done == []
    assert runtime.runtime == "system" and not root.exists(systemd.WANTS_DIR)
