"""bench: what a sandbox adds to each start of a service — ``sandbox-run`` in front of the
program, against the C tools a runit host has at the same place.

Each variant starts ``/bin/true`` through it, as a ``./run`` would exec it, timed from spawn to
exit (wall), interleaved round-robin so load hits every variant alike:

* ``/bin/true`` alone (the floor);
* the C ``chpst -u nobody`` (what the C runit's ``./run`` execs to switch user);
* util-linux's ``unshare --mount --propagation slave --net`` (the namespaces, in C, nothing
  mounted in them);
* our ``chpst -u nobody`` (the same as the C one's, for scale);
* our ``sandbox-run`` with ``no_new_privileges`` only (its floor: one interpreter, no
  namespace) and with docs/sandbox.md's example (capabilities, private /tmp and /dev,
  protect_system strict, protect_home read-only, protect_kernel, private_network; ``-u
  nobody``) — the figure.

Ours run through the launchers ``install-runtime`` installs (``#!PYTHON -S -I``, a scratch
prefix; nothing of the host touched), as on a host. Needs root (namespaces, the user switch)
and Debian's runit.

Usage: ``.venv/bin/python bench/sandbox_start.py [--runs N]``
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sv_startup import install_runtime

FULL = ("sandbox 1 no_new_privileges capabilities=net_bind_service private_tmp "
        "protect_system=strict protect_home=read-only private_devices private_network "
        "protect_kernel\n")


def timed(argv):
    start = time.perf_counter()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit("%s: exit %d: %s" % (" ".join(argv), done.returncode,
                                              done.stderr.decode(errors="replace")))
    return took


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("needs root: namespaces and the user switch")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        sv_launcher, _python = install_runtime(scratch)
        bin_dir = Path(sv_launcher).parent
        (scratch / "nnp").write_text("sandbox 1 no_new_privileges\n")
        (scratch / "full").write_text(FULL)
        table = [
            ("/bin/true", ["/bin/true"]),
            ("C chpst -u nobody", ["/usr/bin/chpst", "-u", "nobody", "/bin/true"]),
            ("unshare --mount --net (C)", ["unshare", "--mount", "--propagation", "slave",
                                          "--net", "/bin/true"]),
            ("our chpst -u nobody", [str(bin_dir / "chpst"), "-u", "nobody", "/bin/true"]),
            ("sandbox-run no_new_privileges", [str(bin_dir / "sandbox-run"),
                                               str(scratch / "nnp"), "/bin/true"]),
            ("sandbox-run, the docs' example", [str(bin_dir / "sandbox-run"),
                                                str(scratch / "full"), "-u", "nobody",
                                                "/bin/true"]),
        ]
        for _, command in table:  # warm-up: bytecode written, caches filled
            timed(command)
        times = {name: [] for name, _ in table}
        for _ in range(args.runs):
            for name, command in table:
                times[name].append(timed(command))
    chpst = statistics.median(times["C chpst -u nobody"])
    print("load %.1f, %d runs each, interleaved" % (os.getloadavg()[0], args.runs))
    print("%-32s %10s %10s %10s" % ("variant", "median ms", "p90 ms", "× C chpst"))
    for name, _ in table:
        values = sorted(times[name])
        median = statistics.median(values)
        print("%-32s %10.2f %10.2f %10.2f" % (name, median * 1e3,
                                              values[int(len(values) * 0.9) - 1] * 1e3,
                                              median / chpst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
