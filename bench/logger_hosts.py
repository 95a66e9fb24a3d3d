#!/usr/bin/env python3
"""bench: loggers that run as another user — what one logger host per identity costs against
a process per logger.

Root's tree of N services whose ``log/run`` is ``exec chpst -u USER svlogd -tt ./main`` (the
form render writes for ``log: {user: USER}``):

* **C runit**: a runsv per service and, per logger, a C ``svlogd`` running as USER;
* **ours**: one runsvdir; the N loggers run in one *logger host* of USER's identity, forked
  from the tree's fork server (docs/security.md: root's process never opens a user's log
  directory).

A process per logger is the other way ours could run them: each would be a host with one
logger, so its cost is N × a one-logger host's USS — read off the run with N = 1. Figures:
USS and PSS (``/proc/PID/smaps_rollup``) of the tree's processes by owner (root's, USER's),
2 s after every logger wrote its ``current``; one tree at a time.

Usage: ``.venv/bin/python bench/logger_hosts.py [--loggers 1 10 100] [--user nobody]`` (root).
"""

import argparse
import os
import pwd
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tree  # noqa: E402  (bench/tree.py: /proc readers, launch and stop)

C_CHPST = "/usr/bin/chpst"
LOG_RUN = "#!/bin/sh\nexec {chpst} -u {user} {svlogd} -tt ./main\n"
LOGGERS_TIMEOUT = 60.0
SETTLE = 2.0


class AsUser:
    """A tree whose loggers run as ``user`` (mixed into tree.CRunit or tree.Ours)."""

    chpst = "chpst"
    user = "nobody"

    def write_service(self, parent, name, svlogd=None):
        service = tree.Runit.write_service(parent, name)
        if svlogd is not None:
            entry = pwd.getpwnam(self.user)
            main = service / "log" / "main"
            main.mkdir(parents=True)
            os.chown(str(main), entry.pw_uid, entry.pw_gid)
            run = service / "log" / "run"
            run.write_text(LOG_RUN.format(chpst=self.chpst, user=self.user, svlogd=svlogd))
            run.chmod(0o755)
        return service


class CAsUser(AsUser, tree.CRunit):
    chpst = C_CHPST

    def binaries(self):
        return super().binaries() + (C_CHPST, tree.C_SVLOGD)


class OursAsUser(AsUser, tree.Ours):
    chpst = str(tree.VENV_BIN / "chpst")


def wait_loggers(sup, deadline):
    """Until every service's logger has opened its ``current``."""
    while not all((service / "log" / "main" / "current").exists() for service in sup.services):
        if time.monotonic() > deadline or not sup.alive():
            raise tree.Failed("loggers not all started; log: %s" % sup.log_tail())
        time.sleep(0.05)


def by_owner(sup, uid):
    """USS and PSS (kB) and process counts of the tree's processes: root's and ``uid``'s."""
    found = {"root": [0, 0, 0], "user": [0, 0, 0]}
    for pid in tree.supervision_pids(sup.proc.pid):
        try:
            owner = os.stat("/proc/%d" % pid).st_uid
        except OSError:
            continue
        memory = tree.memory_kb(pid)
        totals = found["user" if owner == uid else "root"]
        totals[0] += memory["uss"]
        totals[1] += memory["pss"]
        totals[2] += 1
    return found


def measure(kind, scratch, count, user):
    sup = kind(scratch)
    sup.user = user
    missing = sup.missing()
    if missing:
        return missing
    tree.start_tree(sup, "n%d" % count, count, logged=True)
    try:
        wait_loggers(sup, time.monotonic() + LOGGERS_TIMEOUT)
        time.sleep(SETTLE)
        return by_owner(sup, pwd.getpwnam(user).pw_uid)
    finally:
        sup.stop()


def mb(kb):
    return "%.2f MB" % (kb / 1024.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loggers", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--user", default="nobody")
    args = parser.parse_args(argv)
    tree.become_subreaper()
    results = {}
    with tempfile.TemporaryDirectory(prefix="logger-hosts-") as scratch:
        for count in sorted(set(args.loggers)):
            for kind in (CAsUser, OursAsUser):
                place = Path(scratch) / ("%s-%d" % (kind.__name__, count))
                place.mkdir()
                place.chmod(0o755)  # the user's loggers reach their directories through it
                results[kind.__name__, count] = measure(kind, place, count, args.user)
    one = results.get(("OursAsUser", min(args.loggers)))
    print("loggers as %s; load %.1f" % (args.user, os.getloadavg()[0]))
    print("%-7s %-5s %26s %26s %22s" % ("loggers", "impl", "root's: USS / PSS (procs)",
                                      "the user's: USS / PSS (procs)", "a process per logger"))
    for (name, count), found in sorted(results.items(), key=lambda item: item[0][1]):
        impl = "C" if name == "CAsUser" else "ours"
        if isinstance(found, str):
            print("%-7d %-5s %s" % (count, impl, found))
            continue
        apart = ""
        if impl == "ours" and isinstance(one, dict) and one["user"][2]:
            apart = mb(count * one["user"][0] / one["user"][2] / min(args.loggers))
        print("%-7d %-5s %26s %26s %22s" % (
            count, impl,
            "%s / %s (%d)" % (mb(found["root"][0]), mb(found["root"][1]), found["root"][2]),
            "%s / %s (%d)" % (mb(found["user"][0]), mb(found["user"][1]), found["user"][2]),
            apart))
    print("a process per logger: N x the USS of the user's process with %d logger(s), per"
          " logger" % min(args.loggers))


if __name__ == "__main__":
    main()
