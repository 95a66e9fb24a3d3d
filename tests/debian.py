"""The Debian tiers: the runtime, a user's tree, ``make demo`` and the Puppet module's ``puppet
apply`` tier, run inside a root of a newer Debian release than the machine's, under its own
``python3``, its C runit and its ``puppet-agent`` — Debian 13 (trixie: CPython 3.13, runit
2.2.0, Puppet 8) and Debian 14 (forky: CPython 3.14, runit 2.3.1, OpenVox 9); ``RELEASES``
says what each runs (docs/testing.md#debian-13).

The root is made once by ``debootstrap`` from the Debian mirror this machine's apt uses, then
``apt-get install`` of the release's packages in it, and kept in ``CACHE`` under a name keyed by a hash of
the release, the mirror and the package list (a change of either makes a new one; the old ones
stay until removed by hand). Each run sees the cached root through an overlay whose upper layer
is a scratch directory: nothing a run writes reaches the cache.

A run happens in new mount and PID namespaces (``unshare --mount --pid --fork --kill-child``):
the overlay, /proc, /sys, /dev, a tmpfs /tmp and /run are mounted there, then the root becomes
``/`` by ``pivot_root`` — not ``chroot``, so that a test's ``nsenter``/``unshare`` into a mount
namespace of its own lands in the release's root, not the machine's. The namespace's PID 1 is
this script (``--init``), reaping orphans; when it ends, the kernel ends every process left in
the namespace and the namespace's mounts go with it. The scratch directory is removed after,
whatever the outcome.

Exit 0 when every step passed; 1 when one failed; 2 when the root could not be made — a skip
(exit 0, said) unless ``CI=true``.

Usage: ``.venv/bin/python tests/debian.py --release 13|14 [--cache DIR]
[--steps runtime,demo,...] [--workers N] [--keep-going]``
"""

import argparse
import collections
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/var/cache/runit-provision-ci")
# What both releases' roots hold: python3 and the tests' own libraries from Debian (nothing is
# fetched from a package index but the Puppet tier's wheelhouse); python3-hatchling and
# python3-editables build the checkout's editable install without network; runit, the C
# reference; puppet-agent (Puppet 8 on Debian 13; on 14 OpenVox 9, built from the ``openvox``
# source); procps: ps and pgrep, read by the runtime's tests; make: ``make demo``;
# ca-certificates: pip's HTTPS.
PACKAGES = ("python3", "python3-venv", "python3-jinja2", "python3-yaml", "python3-pytest",
            "python3-pytest-xdist", "python3-testinfra", "python3-ruamel.yaml",
            "python3-hatchling", "runit", "puppet-agent", "puppet-lint",
            "puppet-module-puppetlabs-stdlib", "procps", "make", "ca-certificates",
            "python3-editables")
VENV = "/opt/runit-provision"
# The runtime's steps: other_pythons.RUNTIME with the C runit's runs kept (its version is the
# point) and the stage runner (runit: ctrl-alt-del, stage 1's endings), sv, runsv's errors and
# utmpset beside it; users' trees under root's runsvdir are tests/runtime/supervision/users/.
RUNTIME_TESTS = ("tests/runtime/test_transcripts.py", "tests/runtime/test_runsvdir.py",
                 "tests/runtime/test_runsvdir_nested.py", "tests/runtime/test_svlogd.py",
                 "tests/runtime/test_chpst.py", "tests/runtime/test_runsv_idle.py",
                 "tests/runtime/test_process_identity.py", "tests/runtime/test_runit.py",
                 "tests/runtime/test_sv.py", "tests/runtime/test_runsv_errors.py",
                 "tests/runtime/test_utmpset.py", "tests/runtime/supervision",
                 "--deselect",
                 "tests/runtime/test_runsvdir.py::test_more_services_than_runits_ceiling")
PYTEST = [VENV + "/bin/python", "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
STEPS = {
    "install": None,  # the checkout into a virtualenv of the root's python3 (see install())
    # the pure tier: where the root's CPython runs nowhere else (test-pythons lacks it)
    "pure": PYTEST + ["-n", "{workers}", "-m", "not slow and not interop and not puppet"],
    "runtime": PYTEST + ["-n", "{workers}", "-m", "slow or interop"] + list(RUNTIME_TESTS),
    "demo": ["make", "demo", "BIN=%s/bin" % VENV, "STAMP=%s/.installed" % VENV],
    "puppet": PYTEST + ["-n", "{workers}", "tests/puppet/test_apply.py",
                        "tests/puppet/test_noop.py", "-k", "not live"],
    # the module under a new agent: it parses, lints clean, its rspec-puppet tests pass
    "module": PYTEST + ["-n", "{workers}", "tests/puppet/test_module.py::test_everything_parses",
                        "tests/puppet/test_module.py::test_lint_is_clean",
                        "tests/puppet/test_rspec.py"],
}
# A release: its number (as --release takes it), codename, debootstrap's script for it (the
# machine's debootstrap may predate the release: sid's script makes any newer suite), the
# packages of its root and the steps run there, in order.
Release = collections.namedtuple("Release", "number codename script packages steps")
# Debian 14's puppet step runs the module's rspec tests and lint too (OpenVox 9 is new there);
# runit-services and systemd: the pure tier's import corpus and systemd-analyze's calendar;
# shellcheck: the pure tier's check of the golden trees' scripts; netcat-openbsd, curl, wget:
# the rendered checks' routes (tests/render/test_checks.py).
FORKY_PACKAGES = PACKAGES + ("ruby-rspec-puppet", "ruby-puppetlabs-spec-helper", "rake",
                             "runit-services", "systemd", "shellcheck", "netcat-openbsd",
                             "curl", "wget")
RELEASES = {release.number: release for release in (
    Release("13", "trixie", "trixie", PACKAGES, ("install", "runtime", "demo", "puppet")),
    Release("14", "forky", "sid", FORKY_PACKAGES,
            ("install", "pure", "runtime", "demo", "puppet", "module")),
)}


def mirror(apt=Path("/etc/apt")):
    """The Debian mirror of this machine's apt sources (deb822 ``URIs:`` or one-line ``deb``),
    the first that serves ``debian`` (not -security); deb.debian.org when none is found."""
    for source in sorted(apt.glob("sources.list*")) + sorted((apt / "sources.list.d").glob("*")):
        if not source.is_file():
            continue
        for line in source.read_text(errors="replace").splitlines():
            words = re.sub(r"\[[^]]*\]", "", line).split()  # a one-line source's [options]
            uris = words[1:] if words[:1] == ["URIs:"] else words[1:2] if words[:1] == ["deb"] \
                else []
            for uri in uris:
                if uri.rstrip("/").endswith("/debian"):
                    return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def root_key(release, source):
    """The cache's key: the release, the mirror and the package list, hashed."""
    text = "\n".join((release.codename, source) + release.packages)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_root(release, cache, log=print):
    """``(path, how)``: ``release``'s cached root, made first when absent (``how``: cache or
    built)."""
    source = mirror()
    path = cache / ("debian%s-%s" % (release.number, root_key(release, source)))
    if (path / ".ready").exists():
        return path, "cache"
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=str(cache)))
    building.chmod(0o755)  # a root's / (apt's _apt user downloads into it)
    try:
        log("== making a Debian %s root from %s into %s" % (release.number, source, path))
        # debootstrap, then apt-get in the root, in mount and PID namespaces of their own: the
        # /proc, /sys and /dev they mount in the root go with them whatever happens (never left
        # mounted under a directory that is then removed), and so does every process they start
        # (--kill-child: when unshare is killed, its child, the namespace's PID 1, goes too).
        # policy-rc.d (exit 101) while apt-get runs: a package with an init script (dbus, in
        # the VM tier's root) is not started in the root; removed after, as a booted root
        # would otherwise refuse invoke-rc.d too.
        script = ('debootstrap --variant=minbase "$1" . "$2" "$3" >/dev/null && '
                  "mount -t proc proc proc && mount --rbind /dev dev && "
                  "cp /etc/resolv.conf etc/resolv.conf && "
                  "printf '#!/bin/sh\\nexit 101\\n' > usr/sbin/policy-rc.d && "
                  "chmod 755 usr/sbin/policy-rc.d && "
                  "chroot . apt-get install -y -q --no-install-recommends %s >/dev/null && "
                  "rm usr/sbin/policy-rc.d"
                  % " ".join(release.packages))
        subprocess.run(["unshare", "--mount", "--pid", "--mount-proc", "--fork", "--kill-child",
                        "--propagation", "private", "sh", "-ec", script, "sh", release.codename,
                        source, "/usr/share/debootstrap/scripts/" + release.script],
                       cwd=str(building), check=True, timeout=1800,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        subprocess.run(["chroot", str(building), "apt-get", "clean"], check=True, timeout=300)
        (building / ".ready").write_text("\n".join(release.packages) + "\n")
        building.rename(path)
    finally:
        if building.exists():
            shutil.rmtree(str(building), ignore_errors=True)
    return path, "built"


def copy_checkout(target):
    """The checkout's files, without its virtualenvs, .git and caches (mutmut's ``mutants/``
    among them), into ``target``."""
    ignore = shutil.ignore_patterns(".git", ".venv", ".venv-*", "__pycache__",
                                    ".pytest_cache", "*.egg-info", "mutants")
    shutil.copytree(str(ROOT), str(target), ignore=ignore, symlinks=True, dirs_exist_ok=True)


def enter(root, scratch, argv):
    """In the new namespaces (this process is their PID 1): mount the overlay of ``root`` and
    what a system needs under it, make it ``/`` and become the init that runs ``argv``."""
    merged, upper, work = (Path(scratch) / name for name in ("merged", "upper", "work"))
    for directory in (merged, upper, work):
        directory.mkdir()

    def mount(*args):
        subprocess.run(("mount",) + args, check=True, timeout=60)

    mount("-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s"
          % (root, upper, work), str(merged))
    mount("-t", "proc", "proc", str(merged / "proc"))
    mount("--rbind", "/sys", str(merged / "sys"))
    mount("--rbind", "/dev", str(merged / "dev"))
    for tmpfs in ("tmp", "run"):
        mount("-t", "tmpfs", "-o", "mode=1777" if tmpfs == "tmp" else "mode=755", "tmpfs",
              str(merged / tmpfs))
    # the machine's resolver, and the certificates it trusts (a proxy's own CA, where the
    # machine's network has one: the Puppet tier's wheelhouse is fetched through it)
    shutil.copyfile("/etc/resolv.conf", str(merged / "etc" / "resolv.conf"))
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt",
                    str(merged / "etc" / "ssl" / "certs" / "ca-certificates.crt"))
    copy_checkout(merged / "src")
    os.chdir(str(merged))
    (merged / ".oldroot").mkdir()
    subprocess.run(["pivot_root", ".", ".oldroot"], check=True, timeout=60)
    os.chdir("/")
    subprocess.run(["/usr/bin/umount", "-l", "/.oldroot"], check=True, timeout=60)
    os.rmdir("/.oldroot")
    child = os.fork()
    if child == 0:
        os.setsid()
        os.execv("/usr/bin/python3", ["python3", "/src/tests/debian.py", "--inside"] + argv)
    while True:  # PID 1: reap every orphan until the tier itself ends
        pid, status = os.wait()
        if pid == child:
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
                else (status >> 8)


def install():
    """The checkout (in /src) into a virtualenv of the root's python3 that sees Debian's
    libraries (pytest, jinja2...): its console scripts are the runtime's tools."""
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", VENV],
                   check=True, timeout=300)
    done = subprocess.run([VENV + "/bin/python", "-m", "pip", "install", "-q", "--no-deps",
                           "--no-build-isolation", "--no-index", "-e", "/src"], timeout=600)
    Path(VENV, ".installed").touch()
    return done.returncode


def inside(release, steps, workers, keep_going):
    """Run ``steps`` in the root (as /src), each timed; a summary at the end. Exit 0 when all
    passed."""
    os.chdir("/src")
    versions = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "python3",
                               "runit", "puppet-agent", "puppet-module-puppetlabs-stdlib"],
                              capture_output=True, text=True, timeout=60).stdout
    print("== inside Debian %s:\n%s" % (release.number, versions), flush=True)
    results = []
    for name in steps:
        print("\n== Debian %s: %s" % (release.number, name), flush=True)
        started = time.monotonic()
        if STEPS[name] is None:
            code = install()
        else:
            argv = [word.format(workers=workers) for word in STEPS[name]]
            code = subprocess.run(argv, timeout=3600).returncode
        results.append((name, code, time.monotonic() - started))
        if code and not keep_going and name == "install":
            break
    print("\n== the Debian %s tier" % release.number)
    for name, code, seconds in results:
        print("%-10s %s in %.0f s" % (name, "passed" if code == 0 else "FAILED (%d)" % code,
                                       seconds))
    return 0 if all(code == 0 for _, code, _ in results) and len(results) == len(steps) else 1


def run(release, root, passthrough):
    """The tier (``passthrough``: its options) in new namespaces over ``root``; the scratch
    directory removed after."""
    scratch = tempfile.mkdtemp(prefix="runit-provision-debian%s-" % release.number, dir="/var/tmp")
    argv = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private",
            sys.executable, str(Path(__file__).resolve()), "--init", str(root), scratch] + \
        passthrough
    tier = subprocess.Popen(argv, start_new_session=True)
    try:
        return tier.wait(timeout=3600)
    finally:
        if tier.poll() is None:
            os.killpg(tier.pid, 9)  # --kill-child: its PID 1 goes, and the namespace with it
            tier.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", choices=sorted(RELEASES), required=True,
                        help="the Debian release whose root the tier runs in")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="where the roots are kept (default: %s)" % CACHE)
    parser.add_argument("--steps", help="the steps to run (default: the release's: %s)" % (
        "; ".join("%s: %s" % (r.number, ",".join(r.steps)) for r in RELEASES.values())))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--run", metavar="COMMAND",
                        help="after the install, run COMMAND (sh -c, in /src) instead of the "
                        "steps: one test, a shell's work, by hand")
    parser.add_argument("--root-only", action="store_true",
                        help="make the root (or find it in the cache) and stop: what .ci/run "
                        "starts in the background before make test")
    parser.add_argument("--keep-going", action="store_true",
                        help="run the steps after a failed install too")
    parser.add_argument("--init", nargs=2, metavar=("ROOT", "SCRATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # .ci/run's trap ends a background build with SIGTERM: as an exception, so that every
    # ``finally`` here runs (the build's or the run's namespace ended, the scratch removed)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    release = RELEASES[args.release]
    steps = [step for step in (args.steps or ",".join(release.steps)).split(",") if step]
    unknown = [step for step in steps if step not in STEPS and not args.run]
    if unknown:
        parser.error("unknown steps: %s" % ", ".join(unknown))
    if args.run:
        steps = ["run"]
        STEPS["run"] = ["sh", "-c", args.run]
    if "install" not in steps:
        steps.insert(0, "install")
    passthrough = ["--release", release.number, "--steps", ",".join(steps), "--workers", str(args.workers)] + \
        (["--keep-going"] if args.keep_going else []) + (["--run", args.run] if args.run else [])
    if args.init:
        return enter(args.init[0], args.init[1], passthrough)
    if args.inside:
        return inside(release, steps, args.workers, args.keep_going)
    started = time.monotonic()
    try:
        root, how = ensure_root(release, args.cache)
    except (OSError, subprocess.SubprocessError) as exc:
        print("the Debian %s root could not be made: %s" % (release.number, exc), flush=True)
        if os.environ.get("CI") == "true":
            return 2
        print("skipped (not CI=true)")
        return 0
    made = time.monotonic() - started
    print("== Debian %s root: %s (%s in %.0f s)" % (release.number, root, how, made),
          flush=True)
    if args.root_only:
        return 0
    code = run(release, root, passthrough)
    print("== Debian %s tier: %s in %.0f s (root %s in %.0f s)" % (
        release.number, "passed" if code == 0 else "FAILED", time.monotonic() - started, how, made))
    return code


if __name__ == "__main__":
    sys.exit(main())
