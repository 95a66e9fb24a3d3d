"""The VM tier's driver (tests/vm_tier.py): the image's cache key, what the image lays over
the root, qemu's command, the guest's marker line, and that the suite leaves tests/vm/ to the
VM. The tier itself runs by ``make test-vm`` (docs/testing.md#the-vm-tier)."""

import os
import subprocess
import sys
from pathlib import Path

from tests import vm_tier
from tests.conftest import ROOT


def test_the_images_key_changes_with_the_root_and_each_file_laid_over_it():
    files = vm_tier.image_files()
    key = vm_tier.image_key(Path("/cache/debian13-aaaa"), files, "[project]")
    assert key == vm_tier.image_key(Path("/cache/debian13-aaaa"), dict(files), "[project]")
    assert len(key) == 16
    assert key != vm_tier.image_key(Path("/cache/debian13-bbbb"), files, "[project]")
    assert key != vm_tier.image_key(Path("/cache/debian13-aaaa"), files, "[project]\nx = 1")
    changed = dict(files, **{"etc/hostname": "other\n"})
    assert key != vm_tier.image_key(Path("/cache/debian13-aaaa"), changed, "[project]")


def test_the_roots_key_covers_the_vm_packages():
    from tests import debian
    source = "http://deb.debian.org/debian"
    assert debian.root_key(vm_tier.RELEASE, source) != debian.root_key(
        debian.RELEASES["13"], source)


def test_the_test_unit_is_delegated_bounded_and_powers_off_whatever_happens(tmp_path):
    vm_tier.lay(vm_tier.image_files(), tmp_path)
    unit = (tmp_path / "etc/systemd/system" / vm_tier.UNIT).read_text().splitlines()
    for line in ("Delegate=yes", "SuccessAction=poweroff-force",
                 "FailureAction=poweroff-force", "TimeoutStartSec=%d" % vm_tier.GUEST_TIMEOUT,
                 "TTYPath=/dev/ttyS1"):
        assert line in unit
    assert [line for line in unit if line.startswith("ExecStart=")] == [
        "ExecStart=/bin/sh -ec 'mkdir -p /src && mount /dev/vdb /src && exec python3 "
        "/src/%s --guest'" % Path(vm_tier.__file__).relative_to(ROOT)]
    wants = tmp_path / "etc/systemd/system/multi-user.target.wants" / vm_tier.UNIT
    assert os.readlink(str(wants)) == "/etc/systemd/system/" + vm_tier.UNIT
    assert os.readlink(str(tmp_path / "etc/systemd/system/serial-getty@ttyS1.service")) == \
        "/dev/null"


def test_qemu_never_writes_the_image_and_keeps_the_tests_port_apart():
    argv = vm_tier.qemu_argv(Path("/img"), Path("/s/src.ext4"), Path("/s"), 2048, 2)
    drives = [argv[index + 1] for index, word in enumerate(argv) if word == "-drive"]
    assert drives[0].startswith("file=/img/disk.ext4,") and "snapshot=on" in drives[0]
    assert drives[1].startswith("file=/s/src.ext4,") and "snapshot" not in drives[1]
    serials = [argv[index + 1] for index, word in enumerate(argv) if word == "-serial"]
    assert serials == ["file:/s/console.log", "file:/s/tests.log"]
    assert argv[argv.index("-accel") + 1].startswith("tcg")


def test_only_the_guests_result_line_is_its_result():
    assert vm_tier.result_of("RUNIT-PROVISION-VM result 0") == 0
    assert vm_tier.result_of("RUNIT-PROVISION-VM result 1") == 1
    assert vm_tier.result_of("[    3.1] RUNIT-PROVISION-VM result 0") is None
    assert vm_tier.result_of("RUNIT-PROVISION-VM begin: 13.2") is None
    assert vm_tier.result_of("RUNIT-PROVISION-VM result x") is None


def test_the_suite_leaves_the_vm_tests_to_the_vm():
    env = {key: value for key, value in os.environ.items() if key != "RUNIT_PROVISION_VM"}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "tests/vm/"],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    assert "test_cgroup_host" not in done.stdout and done.returncode == 5, \
        done.stdout + done.stderr
