"""The VM tier: the tests of ``tests/vm/`` in a virtual machine whose PID 1 is systemd and
whose one cgroup hierarchy is cgroup v2 with the memory, pids, cpu and io controllers — what
the cgroup features need and a machine with cgroup v1 controllers (or without systemd) lacks
(docs/testing.md#the-vm-tier).

The guest's root is a Debian 13 root made by tests/debian.py's ``ensure_root`` (its cache, its
key: the release, the mirror, ``PACKAGES``), then an image of it made once: the files of
``image_files()`` (the test unit, the masks, the small initrd's list) laid over the root in an
overlay, the initrd made again there, the checkout installed there as the Debian tiers install
it (editable, from /src: the guest's /src is the run's checkout), ``mkfs.ext4 -d`` of the
whole, with the kernel and initrd beside it, kept under a key of the root, those files, the
script that makes it and pyproject.toml. The image is never written: qemu boots it with
``snapshot=on``.

A run: the checkout is copied onto a second disk made by ``mkfs.ext4 -d`` (the guest's /src,
writable, thrown away after); qemu (TCG: no KVM needed) boots the kernel; systemd starts the
one test unit, which mounts /src and runs this file with ``--guest``: pytest with ``CI=true``
and ``RUNIT_PROVISION_VM=1``, its
output and a last marker line with its exit code written to the second serial port alone (the
first is the console), and the machine powered off whatever happens. The host prints that
output and exits 0 (passed), 1 (failed, or no result), 2 (the VM could not be made: a skip,
exit 0, unless ``CI=true``). qemu runs under ``timeout`` in a process group of its own, ended
on every way out.

Usage: ``.venv/bin/python tests/vm_tier.py [--cache DIR] [--image-only] [PYTEST_ARGS...]``;
``tests/vm_tier.py -- bench/NAME.py ARGS...`` runs that bench in the guest instead of pytest
(the guest's installed virtualenv as the checkout's ``.venv``), its output printed as the
tests' is: ``bench/tree.py --cgroup`` measures a tree with a cgroup per service there.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import debian  # noqa: E402

# systemd as PID 1 (systemd-sysv), udev and kmod (the disks, modules), dbus (systemctl,
# systemd-run), the kernel; what debian.install() needs (python3-venv, hatchling, editables);
# the tests' libraries, the C runit (tests compare both runtimes), ps/pgrep and mount.
PACKAGES = ("systemd", "systemd-sysv", "udev", "kmod", "dbus", "linux-image-amd64",
            "python3", "python3-venv", "python3-hatchling", "python3-editables",
            "python3-jinja2", "python3-yaml", "python3-pytest", "python3-pytest-xdist",
            "runit", "procps", "util-linux")
RELEASE = debian.Release("13", "trixie", "trixie", PACKAGES, ())
UNIT = "runit-provision-vm.service"
MARK = "RUNIT-PROVISION-VM"
# The test unit's own limit; the host's (``--timeout``) is longer, so that a hung guest still
# powers itself off and says so first.
GUEST_TIMEOUT = 1500
# What the guest's systemd need not start: logins on the consoles, timers, the C runit's own
# runsvdir (the tests start the runsvdirs they need).
MASKED = ("serial-getty@ttyS0.service", "serial-getty@ttyS1.service", "getty@tty1.service",
          "getty.target", "systemd-timesyncd.service", "apt-daily.timer",
          "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer", "man-db.timer",
          "dpkg-db-backup.timer", "systemd-tmpfiles-clean.timer", "runit.service")
# The initrd holds only what finds an ext4 root on a virtio disk.
INITRD_MODULES = ("virtio_pci", "virtio_blk", "ext4")
UNIT_TEXT = """\
[Unit]
Description=runit-provision's VM tier: tests/vm/, the result on ttyS1, then power off
After=multi-user.target
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/bin/sh -ec 'mkdir -p /src && mount /dev/vdb /src && exec python3 %s --guest'
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS1
TimeoutStartSec=%d
Delegate=yes

[Install]
WantedBy=multi-user.target
""" % ("/src/tests/" + Path(__file__).name, GUEST_TIMEOUT)
VENV_PYTHON = debian.VENV + "/bin/python"
PYTEST = [VENV_PYTHON, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--color=no",
          "--durations=10"]
# The controllers the tier promises, enabled for the tests' cgroups.
CONTROLLERS = ("cpu", "io", "memory", "pids")


# The image from the root (``$1``) and the files laid in ``upper``: the root's /boot read and
# the new initrd written into the upper layer; the checkout installed from /src (``$2``: under
# TCG the install would cost the guest minutes), then removed: the run's own is mounted there.
INSTALL = ("import sys; sys.path.insert(0, '/src'); from tests import debian; "
           "sys.exit(debian.install())")
IMAGE_SCRIPT = ('mount -t overlay overlay -o "lowerdir=$1,upperdir=upper,workdir=work" merged'
                " && mount -t proc proc merged/proc && mount --rbind /dev merged/dev"
                " && chroot merged update-initramfs -u -k all >/dev/null"
                ' && chroot merged /usr/bin/python3 -c "$2"'
                " && umount -R merged/dev merged/proc && rm -rf merged/src && mkdir merged/src"
                " && mkfs.ext4 -q -L root -d merged disk.ext4 4G >/dev/null"
                " && cp merged/boot/vmlinuz-* vmlinuz && cp merged/boot/initrd.img-* initrd.img")


def image_files():
    """{path in the root: text, or ``("link", target)``}: what the image lays over the root."""
    files = {
        "etc/hostname": "vm\n",
        "etc/fstab": "/dev/vda / ext4 rw,relatime 0 1\n",
        "etc/initramfs-tools/conf.d/vm-tier": "MODULES=list\n",
        "etc/initramfs-tools/modules": "".join(name + "\n" for name in INITRD_MODULES),
        "etc/systemd/system/" + UNIT: UNIT_TEXT,
        "etc/systemd/system/multi-user.target.wants/" + UNIT: ("link", "/etc/systemd/system/"
                                                               + UNIT),
    }
    files.update(("etc/systemd/system/" + name, ("link", "/dev/null")) for name in MASKED)
    return files


def image_key(root, files, project):
    """The image's cache key: the root's own (its name), every file laid over it, how the
    image is made and the checkout's pyproject.toml (``project``: the console scripts the
    install made)."""
    text = json.dumps([root.name, sorted(files.items()), IMAGE_SCRIPT, INSTALL, project])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def lay(files, upper):
    """Write ``files`` (image_files()) under ``upper``."""
    for relative, content in files.items():
        path = Path(upper, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            os.symlink(content[1], str(path))
        else:
            path.write_text(content)


def ensure_image(cache, log=print):
    """``(directory, how)``: the cached image (disk.ext4, vmlinuz, initrd.img), made first
    when absent — and its root, by tests/debian.py — (``how``: cache or built)."""
    root, how = debian.ensure_root(RELEASE, cache, log)
    files = image_files()
    path = cache / ("vm-" + image_key(root, files, (debian.ROOT / "pyproject.toml").read_text()))
    if (path / ".ready").exists():
        return path, how
    building = Path(tempfile.mkdtemp(prefix=".building-vm-", dir=str(cache)))
    try:
        log("== making the VM image of %s into %s" % (root, path))
        upper, work, merged = (building / name for name in ("upper", "work", "merged"))
        for directory in (upper, work, merged):
            directory.mkdir()
        lay(files, upper)
        debian.copy_checkout(upper / "src")
        # in mount and PID namespaces of their own: the overlay gone with them, and every
        # process started there, whatever happens (--kill-child, as debian.py's build)
        subprocess.run(["unshare", "--mount", "--pid", "--fork", "--kill-child",
                        "--propagation", "private", "sh", "-ec", IMAGE_SCRIPT, "sh", str(root),
                        INSTALL], cwd=str(building), check=True, timeout=900)
        for name in ("upper", "work", "merged"):
            shutil.rmtree(str(building / name))
        (building / ".ready").write_text(root.name + "\n")
        try:
            building.rename(path)
        except OSError:  # another run made the same image meanwhile: it is as good
            if not (path / ".ready").exists():
                raise
    finally:
        if building.exists():
            shutil.rmtree(str(building), ignore_errors=True)
    return path, "built"


def source_disk(scratch, pytest_args):
    """The checkout, and the guest's pytest arguments (.vm-args), onto an ext4 disk image:
    the guest's /src."""
    src = scratch / "src"
    debian.copy_checkout(src)
    (src / ".vm-args").write_text(json.dumps(pytest_args))
    size = sum(path.stat().st_size for path in src.rglob("*") if path.is_file())
    disk = scratch / "src.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-L", "src", "-d", str(src), str(disk),
                    "%dM" % (size * 3 // 2**20 + 256)], stdout=subprocess.DEVNULL, check=True,
                   timeout=300)
    return disk


def qemu_argv(image, source, scratch, memory, cpus, quiet=True):
    """qemu under TCG (KVM here needs a guest kernel of its own), the image never written,
    ttyS0 the console (the kernel's and systemd's messages unless ``quiet``) and ttyS1 the
    tests' output, into files of ``scratch``."""
    return ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-machine", "q35", "-m", str(memory), "-smp", str(cpus), "-nodefaults",
            "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"),
            "-append", "root=/dev/vda rw console=ttyS0 panic=-1 %s"
            "systemd.unified_cgroup_hierarchy=1" % ("quiet " if quiet else ""),
            "-drive", "file=%s,format=raw,if=virtio,snapshot=on,cache=unsafe"
            % (image / "disk.ext4"),
            "-drive", "file=%s,format=raw,if=virtio,cache=unsafe" % source,
            "-serial", "file:%s" % (scratch / "console.log"),
            "-serial", "file:%s" % (scratch / "tests.log")]


def result_of(line):
    """The guest's exit code from its marker line, or None for any other line.

    >>> result_of("RUNIT-PROVISION-VM result 0"), result_of("[  3.1] RUNIT-PROVISION-VM x")
    (0, None)
    """
    words = line.split()
    if len(words) == 3 and words[:2] == [MARK, "result"] and words[2].isdigit():
        return int(words[2])
    return None


def boot(image, pytest_args, timeout, memory, cpus, console=None, out=sys.stdout):
    """Boot the VM on a copy of the checkout, print the guest's output as it comes; the guest's
    pytest exit code, or None when it gave none (the console's end printed then). ``console``:
    a file that keeps the whole console, the boot's messages in it."""
    scratch = Path(tempfile.mkdtemp(prefix="runit-provision-vm-", dir="/var/tmp"))
    qemu = None
    try:
        source = source_disk(scratch, pytest_args)
        tests_log = scratch / "tests.log"
        tests_log.touch()
        # TMPDIR: where snapshot=on keeps what the guest writes to its root
        qemu = subprocess.Popen(
            ["timeout", "--kill-after=10", str(timeout)]
            + qemu_argv(image, source, scratch, memory, cpus, quiet=console is None),
            stdin=subprocess.DEVNULL, stdout=open(str(scratch / "qemu.log"), "wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, TMPDIR=str(scratch)))
        code, pending = None, b""
        with open(str(tests_log), "rb") as stream:
            while True:
                ended = qemu.poll() is not None
                pending += stream.read()
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace").rstrip("\r")
                    found = result_of(line)
                    if found is not None:
                        code = found
                    else:
                        print(line, file=out, flush=True)
                if ended:
                    break
                time.sleep(0.5)
        if qemu.returncode:
            print("== qemu: exit %d%s" % (qemu.returncode, " (timed out after %d s)" % timeout
                                          if qemu.returncode in (124, 137) else ""), file=out)
            print((scratch / "qemu.log").read_text(errors="replace")[-2000:], file=out)
        if code is None:
            said = (scratch / "console.log").read_text(errors="replace").splitlines()
            print("== no result from the guest; the console's last lines:", file=out)
            print("\n".join(said[-60:]), file=out, flush=True)
        return code
    finally:
        if qemu is not None and qemu.poll() is None:
            os.killpg(qemu.pid, signal.SIGKILL)
            qemu.wait(timeout=60)
        if console is not None and (scratch / "console.log").exists():
            shutil.copyfile(str(scratch / "console.log"), str(console))
        shutil.rmtree(str(scratch), ignore_errors=True)


def delegate():
    """In the guest, in the test unit (``Delegate=yes``): this process into a leaf of the
    unit's cgroup, the controllers enabled below, and the parent of the tests' cgroups made:
    its path (the no-internal-processes rule: a cgroup that hands controllers to its children
    holds no process itself)."""
    unit = Path("/sys/fs/cgroup" + Path("/proc/self/cgroup").read_text().split(":", 2)[2]
                .strip())
    leaf = unit / "runner"
    leaf.mkdir(exist_ok=True)
    (leaf / "cgroup.procs").write_text(str(os.getpid()))
    enable = " ".join("+" + name for name in CONTROLLERS)
    (unit / "cgroup.subtree_control").write_text(enable)
    tests = unit / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "cgroup.subtree_control").write_text(enable)
    return tests


def guest():
    """The test unit's work in the guest: install, pytest, the result marker; the exit code."""
    import termios
    os.chdir("/src")
    print("%s begin: Debian %s, kernel %s, %s, up %.0f s" % (
        MARK, Path("/etc/debian_version").read_text().strip(), os.uname().release,
        subprocess.run(["systemctl", "--version"], capture_output=True, text=True,
                       timeout=60).stdout.split("\n")[0],
        float(Path("/proc/uptime").read_text().split()[0])), flush=True)
    code = 1
    try:
        tests = delegate()
        args = json.loads(Path(".vm-args").read_text())
        bench = args[:1] and args[0].startswith("bench/")
        if bench:  # a bench, on the checkout's .venv
            Path(".venv").symlink_to(debian.VENV)
        code = subprocess.run(([VENV_PYTHON] if bench else PYTEST) + args,
                              timeout=GUEST_TIMEOUT - 60, env=dict(
                                  os.environ, CI="true", RUNIT_PROVISION_VM="1",
                                  RUNIT_PROVISION_VM_CGROUP=str(tests))).returncode
    finally:
        print("%s result %d" % (MARK, code), flush=True)
        termios.tcdrain(sys.stdout.fileno())  # every byte out of the port before power-off
    return code


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=debian.CACHE,
                        help="where the root and the image are kept (default: %s)"
                        % debian.CACHE)
    parser.add_argument("--image-only", action="store_true",
                        help="make the image (or find it in the cache) and stop: what .ci/run "
                        "starts in the background")
    parser.add_argument("--timeout", type=int, default=GUEST_TIMEOUT + 300,
                        help="seconds qemu may run, boot to power-off")
    parser.add_argument("--memory", type=int, default=2048, help="the guest's MiB")
    parser.add_argument("--cpus", type=int, default=2, help="the guest's CPUs")
    parser.add_argument("--console", type=Path, metavar="FILE",
                        help="keep the guest's console in FILE, with the boot's messages")
    parser.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("pytest_args", nargs="*", default=["tests/vm/"],
                        help="what the guest's pytest runs (default: tests/vm/)")
    args = parser.parse_args(argv)
    if args.guest:
        return guest()
    # .ci/run's trap ends a background build with SIGTERM, a reader a run with Ctrl-C: each as
    # an exception, so that every ``finally`` runs (the build's directory removed, qemu's
    # process group ended) — SIGINT too where the caller left it ignored (a shell's ``&``)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: sys.exit(128 + signum))
    started = time.monotonic()
    try:
        if shutil.which("qemu-system-x86_64") is None:
            raise OSError("no qemu-system-x86_64 (apt-get install qemu-system-x86)")
        image, how = ensure_image(args.cache)
    except (OSError, subprocess.SubprocessError) as exc:
        print("the VM could not be made: %s" % exc, flush=True)
        if os.environ.get("CI") == "true":
            return 2
        print("skipped (not CI=true)")
        return 0
    made = time.monotonic() - started
    print("== VM image: %s (%s in %.0f s)" % (image, how, made), flush=True)
    if args.image_only:
        return 0
    booted = time.monotonic()
    code = boot(image, args.pytest_args, args.timeout, args.memory, args.cpus, args.console)
    print("== the VM tier: %s in %.0f s (boot to power-off %.0f s; image %s in %.0f s)" % (
        "passed" if code == 0 else "FAILED" if code else "NO RESULT",
        time.monotonic() - started, time.monotonic() - booted, how, made), flush=True)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
