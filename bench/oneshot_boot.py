#!/usr/bin/env python3
"""bench: one-shots at boot (issue 46 §4) — a tree of 100 services in which 20 are one-shots
that 50 others ``need``, against the same start without one-shots, under our runsvdir and the
C runit, side by side.

The two trees, rendered by ``runit-provision render`` from data (no loggers: the figure is
the one-shots' and the ``needs`` waits' cost, not svlogd's):

* **with one-shots**: ``job00``…``job19`` (``oneshot: true``, ``/bin/true`` — setup work that
  takes no time of its own, so what is measured is the mechanism), ``dep00``…``dep49``
  (``needs: [job(i mod 20)]``) and ``plain00``…``plain29``;
* **without**: the same 100 names, the twenty ``job`` as daemons, no ``needs``.

Each daemon's ``run`` writes a mark and execs ``sleep``. A round copies the rendered tree to
a fresh directory, bind-mounts its ``etc/sv`` over ``/etc/sv`` in a private mount namespace
(the rendered scripts name ``/etc/sv/NAME``; the host's own ``/etc/sv`` is never touched),
launches the runsvdir on its ``etc/service`` and times launch → every daemon's mark written
and every one-shot's ``supervise/last-run`` saying exit 0. Rounds alternate the two trees and
the two implementations. Budget: with ≤ 1.2× without, for each implementation.

Usage: ``.venv/bin/python bench/oneshot_boot.py [--rounds 5]`` (root: the mount namespace).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tree  # noqa: E402  (bench/tree.py: the implementations' launch and stop)

BUDGET = 1.2
JOBS, DEPENDENTS, PLAIN = 20, 50, 30
TIMEOUT = 60.0
POLL = 0.005
MARK_RUN = "echo > {marks}/$0; exec sleep 100000"


def data_text(marks, with_oneshots):
    lines = ["runit::init: none", "runit::services:"]

    def daemon(name, extra=""):
        lines.append("  %s: {command: [/bin/sh, -c, %r, %s], log: false%s}"
                     % (name, MARK_RUN.format(marks=marks), name, extra))

    for index in range(JOBS):
        if with_oneshots:
            lines.append("  job%02d: {oneshot: true, command: [/bin/true], log: false}" % index)
        else:
            daemon("job%02d" % index)
    for index in range(DEPENDENTS):
        daemon("dep%02d" % index, ", needs: [job%02d]" % (index % JOBS) if with_oneshots else "")
    for index in range(PLAIN):
        daemon("plain%02d" % index)
    return "\n".join(lines) + "\n"


def render(scratch, name, with_oneshots):
    marks = scratch / ("marks-" + name)
    data = scratch / ("%s.yaml" % name)
    data.write_text(data_text(marks, with_oneshots))
    out = scratch / ("rendered-" + name)
    subprocess.run([str(tree.VENV_BIN / "runit-provision"), "render", "--data", str(data),
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return out, marks


class Rendered(tree.Runit):
    """A rendered tree: ``etc/sv`` bound over /etc/sv, ``etc/service`` scanned."""

    def __init__(self, scratch, implementation, rendered, marks):
        super().__init__(scratch)
        self.implementation, self.rendered, self.marks = implementation, rendered, marks

    def prepare(self, name, count=0, logged=False):
        self.root = self.scratch / ("%s-%s" % (self.implementation.key, name))
        shutil.rmtree(str(self.root), ignore_errors=True)
        shutil.copytree(str(self.rendered), str(self.root), symlinks=True)
        shutil.rmtree(str(self.marks), ignore_errors=True)
        self.marks.mkdir()
        subprocess.run(["mount", "--bind", str(self.root / "etc/sv"), "/etc/sv"], check=True)
        self.tree = self.root / "etc/service"

    def binaries(self):
        return (self.runsvdir(),)

    def runsvdir(self):
        return (tree.C_RUNSVDIR if self.implementation is tree.CRunit
                else str(tree.VENV_BIN / "runsvdir"))

    def argv(self):
        return [self.runsvdir(), str(self.tree)]

    def stop(self):
        super().stop()
        subprocess.run(["umount", "/etc/sv"], check=False)


def wait_settled(sup, daemons, jobs, started):
    deadline = started + TIMEOUT
    while True:
        marked = len(os.listdir(str(sup.marks)))
        done = sum(1 for job in jobs if _done(sup.root / "etc/sv" / job))
        if marked >= daemons and done == len(jobs):
            return time.perf_counter() - started
        if time.perf_counter() > deadline or not sup.alive():
            stuck = [job for job in jobs if not _idle(sup.root / "etc/sv" / job)]
            raise tree.Failed("%d/%d daemons marked, %d/%d one-shots done (%s not down);"
                              " log: %s" % (marked, daemons, done, len(jobs),
                                            " ".join(stuck) or "none", sup.log_tail()))
        time.sleep(POLL)


def _done(service):
    try:
        return (service / "supervise/last-run").read_text().startswith(
            "last-run 1 exit=0 signal=0 ")
    except OSError:
        return False


def _idle(service):
    try:
        return (service / "supervise/stat").read_text().startswith("down")
    except OSError:
        return False


def one_round(scratch, implementation, variant, rendered):
    out, marks, with_oneshots = rendered
    sup = Rendered(scratch, implementation, out, marks)
    sup.prepare(variant)
    tree.past_its_second(sup.tree)
    os.environ["PATH"] = ("%s:/usr/sbin:/usr/bin:/sbin:/bin" % tree.VENV_BIN
                          if implementation is tree.Ours else "/usr/sbin:/usr/bin:/sbin:/bin")
    started = time.perf_counter()
    sup.launch(variant)
    try:
        jobs = ["job%02d" % i for i in range(JOBS)] if with_oneshots else []
        daemons = DEPENDENTS + PLAIN + (0 if with_oneshots else JOBS)
        return wait_settled(sup, daemons, jobs, started)
    finally:
        sup.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if os.environ.get("ONESHOT_BOOT_NS") != "1":
        env = dict(os.environ, ONESHOT_BOOT_NS="1")
        return subprocess.call(["unshare", "-m", "--propagation", "private", sys.executable,
                                __file__] + (argv if argv is not None else sys.argv[1:]),
                               env=env)
    tree.become_subreaper()
    implementations = [tree.Ours, tree.CRunit]
    results = {}
    with tempfile.TemporaryDirectory(prefix="oneshot-boot-", dir="/dev/shm") as scratch:
        scratch = Path(scratch)
        variants = {"with": render(scratch, "with", True) + (True,),
                    "without": render(scratch, "without", False) + (False,)}
        for number in range(args.rounds):
            for implementation in (implementations if number % 2 == 0
                                   else implementations[::-1]):
                missing = Rendered(scratch, implementation, None, None).missing()
                if missing:
                    results[implementation.label] = missing
                    continue
                for variant in (("with", "without") if number % 2 == 0
                                else ("without", "with")):
                    seconds = one_round(scratch, implementation, variant, variants[variant])
                    results.setdefault(implementation.label, {}).setdefault(
                        variant, []).append(seconds)
    load = os.getloadavg()[0]
    print("one-shots at boot: %d services, %d one-shots needed by %d; %d rounds; load %.1f"
          % (JOBS + DEPENDENTS + PLAIN, JOBS, DEPENDENTS, args.rounds, load))
    print("%-8s %12s %12s %7s %s" % ("impl", "with (med)", "without", "ratio", "budget ≤ %.1f×"
                                     % BUDGET))
    for label, figures in results.items():
        if isinstance(figures, str):
            print("%-8s %s" % (label, figures))
            continue
        with_s = statistics.median(figures["with"])
        without_s = statistics.median(figures["without"])
        ratio = with_s / without_s
        print("%-8s %10.3f s %10.3f s %6.2f× %s   (with: %s)"
              % (label, with_s, without_s, ratio, "met" if ratio <= BUDGET else "NOT met",
                 " ".join("%.3f" % s for s in figures["with"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
