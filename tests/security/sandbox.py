"""The security tier's host: real unprivileged users, their homes, root's tree — in a namespace.

``Namespace`` is a private mount namespace (``unshare --mount``, held by a process that waits
on its creator, and ends the namespace's processes if its creator is cut short) in which
``/etc/passwd`` and ``/etc/group`` are scratch copies of the host's with two more users,
``apprun1`` and ``apprun2`` (uids 61001 and 61002), and in which every directory on
the way to this interpreter and checkout that they could not pass is made passable (a tmpfs
over it, its entries bound back): the host's own files, users and ``/root`` stay as they are.
Every process of the tier runs inside (``nsenter``); the test reads the files directly.

``Sandbox`` is one host's worth of data in a temp directory (mode 0755, so the users reach
their homes): a root service ``rootsvc`` and one service per user (``web1``, ``web2``), each
logged and printing a secret marker of its owner's, applied by the real
``runit-provision apply`` (relocated data, ``init: none``) under root's tree — our runsvdir or
the C one (``runtime: system``). ``as_user`` runs a command as a user, as an attacker would.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ..conftest import C_RUNIT, OUR_BIN, ROOT, make_bin_dir
from ..runtime.processes import (
    BASE_PATH, close_pipes, descendants, end_processes_under, kill_pids, process_group_members,
    running_pid, wait_until)

USERS = {"apprun1": 61001, "apprun2": 61002}
SECRET = {"root": "root-secret-7d1f", "apprun1": "apprun1-secret-2c9a",
          "apprun2": "apprun2-secret-5e3b"}


def _holder_script(scratch, hidden):
    """The namespace's set-up, then a wait on its creator that holds it."""
    lines = ["set -e",
             "mount --bind %s/passwd /etc/passwd" % scratch,
             "mount --bind %s/group /etc/group" % scratch]
    for index, directory in enumerate(hidden):
        keep = "%s/keep%d" % (scratch, index)
        lines += ["mkdir -p %s" % keep,
                  "mount --bind %s %s" % (directory, keep),
                  "mount -t tmpfs -o mode=0755 tmpfs %s" % directory,
                  "for entry in %s/* %s/.[!.]*; do" % (keep, keep),
                  '  [ -e "$entry" ] || [ -L "$entry" ] || continue',
                  '  target=%s/"${entry##*/}"' % directory,
                  '  if [ -d "$entry" ] && [ ! -L "$entry" ]; then mkdir "$target"; '
                  'else : > "$target"; fi',
                  '  [ -L "$entry" ] && { rm "$target"; cp -P "$entry" "$target"; continue; }',
                  '  mount --bind "$entry" "$target"',
                  "done"]
    lines += ["echo ready"] + _SWEEP_WHEN_CREATOR_GOES.format(scratch=scratch).splitlines()
    return "\n".join(lines) + "\n"


# The holder waits on its stdin, a pipe only its creator holds: at EOF its creator is gone
# without closing it (a pytest or bench cut by a signal or a timeout, whose fixtures never
# ran), and it ends every process of its namespace — root's trees, the users' — and removes
# the scratch files: never ``rm -r``, which would follow a bind mount that outlived ``umount``
# into the host's own directories. A ``close`` kills the holder first: no sweep then.
_SWEEP_WHEN_CREATOR_GOES = """\
while read -r _; do :; done
me=$(readlink /proc/$$/ns/mnt)
for round in 1 2 3 4 5; do
  found=
  for entry in /proc/[0-9]*; do
    pid=${{entry#/proc/}}
    [ "$pid" = "$$" ] && continue
    [ "$(readlink "$entry/ns/mnt" 2>/dev/null)" = "$me" ] || continue
    kill -9 "$pid" 2>/dev/null && found=1
  done
  [ -n "$found" ] || break
  sleep 0.2
done
for keep in {scratch}/keep*; do umount -l "$keep" 2>/dev/null || true; done
rm -f {scratch}/passwd {scratch}/group
rmdir {scratch}/keep* {scratch} 2>/dev/null || true
"""


def closed_ancestors(paths):
    """The directories on the way to ``paths`` that others may not pass (no o+x), outermost
    first."""
    found = []
    for path in paths:
        parts = Path(os.path.realpath(path)).parents
        for directory in reversed(list(parts)):
            if str(directory) == "/" or str(directory) in found:
                continue
            if not os.stat(str(directory)).st_mode & stat.S_IXOTH:
                found.append(str(directory))
    return found


def scratch_users(count):
    """``count`` scratch accounts for a bench: login -> uid, from uid 62001 on — apart from the
    tests' ``USERS``, so that a uid in a diagnostic names one account."""
    return {"rpuser%d" % index: 62001 + index for index in range(count)}


class Namespace:
    """A private mount namespace with the scratch accounts (``users``: login -> uid, by default
    ``USERS``); ``run``/``start`` inside it."""

    def __init__(self, users=None):
        self.users = dict(USERS if users is None else users)
        self.scratch = tempfile.mkdtemp(prefix="rp-ns-")
        passwd = Path("/etc/passwd").read_text()
        group = Path("/etc/group").read_text()
        for login, uid in self.users.items():
            passwd += "%s:x:%d:%d::/nonexistent:/bin/sh\n" % (login, uid, uid)
            group += "%s:x:%d:\n" % (login, uid)
        Path(self.scratch, "passwd").write_text(passwd)
        Path(self.scratch, "group").write_text(group)
        hidden = closed_ancestors([sys.executable, os.path.realpath(sys.executable),
                                   sys.prefix, sys.base_prefix, str(ROOT), str(OUR_BIN)])
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
             _holder_script(self.scratch, hidden)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        line = self.holder.stdout.readline()
        if line != b"ready\n":
            self.holder.kill()
            raise RuntimeError("namespace set-up failed: %s" % self.holder.stderr.read())
        self.prefix = ["nsenter", "--target", str(self.holder.pid), "--mount", "--"]

    def argv(self, argv, user=None):
        """``argv`` inside the namespace, as ``user`` (a login) when given: all of the user's
        ids, their groups only, no capability — a real unprivileged process."""
        if user is None:
            return self.prefix + [str(a) for a in argv]
        uid = self.users[user]
        return self.prefix + ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                              "--init-groups", "--inh-caps=-all", "--"] + [str(a) for a in argv]

    def run(self, argv, user=None, timeout=60, **kwargs):
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.argv(argv, user), timeout=timeout, **kwargs)

    def start(self, argv, env, output):
        """A process inside, in a session of its own (ended by process group)."""
        with open(str(output), "ab") as out:
            return subprocess.Popen(self.argv(argv), env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def close(self):
        self.holder.kill()
        self.holder.wait()
        close_pipes(self.holder)
        subprocess.run(["umount", "-R", self.scratch], capture_output=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


def service(owner, extra=None):
    """A service that says its owner's secret at start, and a numbered line every 50 ms."""
    script = ('echo "%s $GREETING"; n=0; while :; do n=$((n+1)); echo "%s line $n"; '
              "sleep 0.05; done" % (SECRET[owner], owner))
    found = {"command": ["sh", "-c", script], "env": {"GREETING": "one"}}
    found.update(extra or {})
    return found


class Sandbox:
    """One host's data, applied under root's tree (``impl``: ours or c) in ``namespace``."""

    def __init__(self, namespace, impl):
        self.ns, self.impl = namespace, impl
        self.base = Path(tempfile.mkdtemp(prefix="rp-sec-"))
        self.base.chmod(0o755)
        self.bin = make_bin_dir(self.base / "bin", impl)
        self.sv_dir = self.base / "etc" / "sv"
        self.service_dir = self.base / "etc" / "service"
        self.service_dir.mkdir(parents=True)
        for login, uid in namespace.users.items():
            home = self.home(login)
            home.mkdir(parents=True)
            os.chown(str(home), uid, uid)
            home.chmod(0o750)
        (self.base / "home").chmod(0o755)
        self.tree = None
        self.outputs = self.base / "root-tree.out"
        self.services = {"rootsvc": service("root")}
        self.user_services = {"apprun1": {"web1": service("apprun1")},
                              "apprun2": {"web2": service("apprun2")}}

    def home(self, login):
        return self.base / "home" / login

    def path(self, relative):
        return self.base / relative

    def environ(self):
        """What every command of the tier runs with: the tier's tools first on PATH."""
        return {"PATH": "%s:%s" % (self.bin, BASE_PATH)}

    # -- root's tree --------------------------------------------------------------------------
    def start_tree(self, env=None):
        runsvdir = str(OUR_BIN / "runsvdir") if self.impl == "ours" else C_RUNIT["runsvdir"]
        environ = self.environ()
        environ.update(env or {})
        self.tree = self.ns.start([runsvdir, self.service_dir], environ, self.outputs)
        return self.tree

    def kill_tree(self):
        """SIGKILL root's runsvdir alone (a crash); what it supervised is left as it is."""
        self.tree.kill()
        self.tree.wait()

    # -- the data, applied -------------------------------------------------------------------
    def data(self):
        path = "%s:%s" % (self.bin, BASE_PATH)
        users = {login: {"home": str(self.home(login)), "path": path, "groups": [login],
                         "services": services}
                 for login, services in self.user_services.items()}
        return {"runit": {"runtime": "python" if self.impl == "ours" else "system",
                          "init": "none", "sv_dir": str(self.sv_dir),
                          "service_dir": str(self.service_dir),
                          "log_dir": str(self.base / "var" / "log"), "sv_timeout": 7,
                          "services": self.services, "users": users}}

    def apply(self, env=None, check=True, args=()):
        """``runit-provision apply --json`` inside the namespace, as root (``args``: more
        options); the report."""
        data = self.base / "data.yaml"
        data.write_text(yaml.safe_dump(self.data()))
        environ = self.environ()
        environ.update(env or {})
        done = self.ns.run([OUR_BIN / "runit-provision", "apply", "--data", data, "--json",
                            "--wait", "30"] + list(args), env=environ, timeout=120)
        report = json.loads(done.stdout)
        if check:
            assert done.returncode == 0, (report.get("msg"), report.get("refusals"),
                                          done.stderr)
        report["exit"] = done.returncode
        return report

    def up(self, env=None):
        """Root's tree started, the data applied, every service running and logging."""
        self.start_tree(env)
        self.apply(env)
        for side in self.all_sides():
            wait_until(lambda side=side: running_pid(side), timeout=20, what="%s running" % side)
        return self

    def all_sides(self):
        sides = [self.sv_dir / "rootsvc", self.sv_dir / "rootsvc" / "log"]
        for login, services in self.user_services.items():
            sides += [self.sv_dir / ("runsvdir-" + login),
                      self.sv_dir / ("runsvdir-" + login) / "log"]
            for name in services:
                sides += [self.home(login) / "sv" / name, self.home(login) / "sv" / name / "log"]
        return sides

    # -- as root would, and as a user would ------------------------------------------------
    def sv(self, *args, user=None, timeout=60):
        sv = str(OUR_BIN / "sv") if self.impl == "ours" else C_RUNIT["sv"]
        started = time.monotonic()
        done = self.ns.run([sv] + [str(a) for a in args], user=user, timeout=timeout,
                           env=self.environ())
        done.seconds = time.monotonic() - started
        return done

    def tool(self, *args, user=None, timeout=120, text=True):
        """``runit-provision ARGS… --data data.yaml`` (the data ``apply`` wrote) as root, or as
        ``user`` (a login): the CompletedProcess, its output text or (``text=False``) bytes."""
        return self.ns.run([OUR_BIN / "runit-provision"] + [str(a) for a in args]
                           + ["--data", self.base / "data.yaml"], user=user, timeout=timeout,
                           text=text, env=self.environ())

    def as_user(self, login, script, timeout=60):
        """``sh -c script`` as ``login`` in their home: what an attacker can do."""
        done = self.ns.run(["/bin/sh", "-c", 'cd "$0" && ' + script, self.home(login)],
                           user=login, timeout=timeout)
        assert done.returncode == 0, done.stderr
        return done

    def close(self):
        if self.tree is not None:
            kill_pids(set(process_group_members(self.tree.pid)) | set(descendants(self.tree.pid)))
            self.tree.wait()
        end_processes_under(self.base)
        shutil.rmtree(str(self.base), ignore_errors=True)
