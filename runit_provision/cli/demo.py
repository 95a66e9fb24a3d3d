"""cli: ``runit-provision demo`` — the main job on a bundled example, in a sandbox, no root
needed.

The example is a small hiera hierarchy shipped with the package (``runit_provision/demo/``:
``hiera.yaml``, node and common data, facts): a logged ticker, an HTTP server on loopback with
a ``check``, a one-shot, a service that ``needs`` another, and your own tree
(``runsvdir-<you>`` running ``~/service``). The demo copies it into a temporary directory
(``demo/sandbox.py``), starts our ``runsvdir`` on the sandbox's service directory (as init
would on a host) and then runs the real commands, one numbered step each (``STEPS``):
``apply``, ``status``, a few log lines, an edit of the node data and ``plan --diff`` (a change
and a restart), ``apply`` (the restart), ``apply`` again (nothing to do). Then everything is
stopped — ``runsvdir``'s TERM brings the whole tree down, users' trees included — and the
sandbox removed. ``--keep`` leaves it running and prints the exact commands that ask it
(``status``, ``logs``, ``verify``) and the one that ends it, ``demo --stop DIR``.

A stop — Ctrl-C (SIGINT), SIGTERM, SIGHUP, or standard output's reader gone (``demo | head
-3``) — at any step ends the demo as its end does, then exits 128 + the signal's number (130,
143, 129; 141 for the closed output, SIGPIPE's), with one line on stderr (none for a closed
output: the reader left; cli/main's rule). While the sandbox is being made, and once it is
being taken down, a stop is only noted — a half-made sandbox or a half-taken-down tree would
be left — and the first one noted is the exit code's. After a stop, nothing more goes to
standard output, and a ``--keep`` is not honoured (a demo cut short is not worth keeping, and
nobody may have seen how to stop it).
"""

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import sys
import time

from ..demo.sandbox import Sandbox, example_dir
from ..errors import ProvisionError, raised_while
from ..shown import prefixed_lines, shown_text

EDITED_FROM = "GREETING: hello from the ticker"
EDITED_TO = "GREETING: hello again, after an edit"
EDITED_KEY = EDITED_FROM.split(":", 1)[0]  # the heading names it; its values are env's: masked
# The steps, in order: (what a stop message calls it, its heading). Step 0 is the sandbox and
# our runsvdir on it (its lines say so, without a heading); the last is the end.
STEPS = (
    ("the sandbox", None),
    ("apply", "runit-provision apply — the sandbox converges to the data"),
    ("status", "runit-provision status"),
    ("logs", "runit-provision logs -n 10 — the services' logs as one view, by time"),
    ("the edit and plan", "the data changes: the ticker's env %s (its value masked, as in "
                          "the diff)" % EDITED_KEY),
    ("the restart", "runit-provision apply — the change, and the restart it calls for"),
    ("apply again", "runit-provision apply — again: nothing to do"),
    ("the end", "everything stopped"),
)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


DESCRIPTION = """\
The main job on a bundled example, in a sandbox under TMPDIR, no root needed: our runsvdir
started on it, then apply, status, logs, an edit of the data, plan --diff, apply (the restart),
apply again (nothing to do); then runsvdir's TERM takes the whole tree down and the sandbox is
removed.

A stop at any step ends it the same way — the tree down, the sandbox removed — then one line
on stderr: Ctrl-C (SIGINT) exits 130, SIGTERM 143, SIGHUP 129; standard output closed (demo |
head -3) exits 141 and says nothing. Exit codes otherwise: 0 the demo ran through (--stop: the
tree ended and DIR removed), 1 a step failed or something of the tree had to be killed (--stop:
DIR is not a sandbox a demo --keep left), 2 bad usage."""


def add_parser(sub):
    parser = sub.add_parser("demo", help="the main job on a bundled example, in a sandbox",
                            description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--keep", action="store_true",
                       help="leave the sandbox and its runsvdir running, and print the commands "
                            "that ask it (status, logs, verify) and the one that stops it")
    which.add_argument("--stop", metavar="DIR",
                       help="stop the tree a demo --keep left running in DIR and remove DIR")
    return parser


def run(args):
    if args.stop is not None:
        return stop_kept(args.stop)
    try:
        return run_demo(keep=args.keep)
    except ProvisionError as exc:  # the sandbox could not be made (no runtime's tools)
        sys.stderr.write(prefixed_lines("runit-provision demo: ", shown_text(str(exc))))
        return 1


class Stopped(BaseException):
    """The demo stopped before its end: ``signum`` SIGINT, SIGTERM, SIGHUP — or SIGPIPE for
    a standard output whose reader has gone. Not an Exception: nothing the demo runs (an
    apply's user part that fails alone) may take it for an error of its own, nor a
    KeyboardInterrupt, which the commands it runs answer themselves (cli/main)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Stops:
    """While in this block, SIGINT, SIGTERM and SIGHUP stop the demo: the first raises
    ``Stopped`` where the demo is — unless it is inside ``noted()`` (raised at that block's
    end) or after ``hold()`` (never raised). Only the first is raised: a second Ctrl-C cannot
    cut the end short. ``first``: the first stop's number."""

    def __init__(self):
        self.first = None
        self._noting = 0
        self._is_held = False
        self._previous = {}

    def __enter__(self):
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum, frame):
        self.stop(signum)

    def stop(self, signum):
        if self.first is None:
            self.first = signum
        if not (self._noting or self._is_held):
            self._is_held = True
            raise Stopped(self.first)

    @contextlib.contextmanager
    def noted(self):
        self._noting += 1
        try:
            yield
        finally:
            self._noting -= 1
        if self.first is not None and not self._is_held:
            self._is_held = True
            raise Stopped(self.first)

    def hold(self):
        self._is_held = True


class Demo:
    """One run: ``box`` (demo/sandbox.Sandbox), ``stops`` (Stops), ``step`` (the step under
    way, an index of STEPS)."""

    def __init__(self, stops):
        self.stops = stops
        self.box = None
        self.step = 0

    def say(self, text):
        """A line on standard output; its reader gone, the demo stops (SIGPIPE) and says
        nothing more."""
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            from .main import is_output_closed

            if not is_output_closed():
                raise  # another pipe's EPIPE is a fault, raised as it is (cli/main's rule)
            self.output_closed()

    def output_closed(self):
        """Standard output's reader has gone: what is still buffered for it, and everything
        after, goes nowhere, and the demo stops as SIGPIPE would stop a C program."""
        from .main import discard_output

        discard_output()
        self.stops.stop(signal.SIGPIPE)

    def heading(self, number):
        self.step = number
        text = "%d. %s" % (number, STEPS[number][1])
        self.say("\n── %s " % text + "─" * max(3, 76 - len(text)))

    def command(self, argv):
        """``runit-provision ARGV`` in this process; its exit code. Its output closed, the
        demo stops."""
        from .main import EXIT_OUTPUT_CLOSED, main

        code = main(argv)
        if code == EXIT_OUTPUT_CLOSED:  # main found the reader gone (is_output_closed)
            self.output_closed()
        return code

    def steps(self):
        """Steps 0 to 6; the exit code of the demo's job (not of its end)."""
        box = self.box
        node_file = os.path.join(box.hiera, "data", "nodes", "demo.example.com.yaml")
        self.say("The example: %s (copied into the sandbox %s)" % (example_dir(), box.dir))
        self.say("runsvdir (ours, pid %d) serves %s, as init would on a host"
                 % (box.runsvdir.pid, box.service_dir))
        self.heading(1)
        if self.command(["apply"] + box.job_options()) != 0:
            return 1
        box.wait_steady(config_of(box), 10)
        self.heading(2)
        self.command(["status"] + box.inputs())
        self.heading(3)
        self.show_logs(10, wait_for=("reporter", "web answered"))
        self.heading(4)
        with open(node_file) as handle:
            text = handle.read()
        with open(node_file, "w") as handle:
            handle.write(text.replace(EDITED_FROM, EDITED_TO))
        self.say("$ runit-provision plan --diff   (exit 2: changes pending; env values masked)")
        plan_code = self.command(["plan", "--diff"] + box.job_options())
        self.say("(plan exited %d)" % plan_code)
        self.heading(5)
        if self.command(["apply"] + box.job_options()) != 0:
            return 1
        self.heading(6)
        if self.command(["apply"] + box.job_options()) != 0:
            return 1
        self.show_logs(2, ["ticker"], wait_for=("ticker", EDITED_TO.split(": ", 1)[1]))
        return 0 if plan_code == 2 else 1

    def show_logs(self, count, services=(), wait_for=None, seconds=5.0):
        """``runit-provision logs -n COUNT [SERVICE…]`` on the sandbox's data — once the last
        line of ``wait_for``'s service (service, text) says that text, or ``seconds`` passed."""
        from ..protocol.layout import CURRENT

        if wait_for is not None:
            name, text = wait_for
            current = os.path.join(self.box.dir, "var", "log", name, CURRENT)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    with open(current) as handle:
                        found = handle.read()
                except OSError:
                    found = ""
                lines = found.splitlines()
                if lines and text in lines[-1]:
                    break
                time.sleep(0.05)
        self.say("$ runit-provision %s" % " ".join(["logs", "-n", str(count)] + list(services)))
        self.command(["logs", "-n", str(count)] + list(services) + self.box.inputs())

    def end(self, code, started):
        """Step 7: the tree down and the sandbox removed; the demo's exit code."""
        if self.stops.first is None:
            self.heading(7)
        ended = self.box.take_down() if self.box is not None else None
        if ended is not None and ended.left:
            code = 1
        if self.stops.first is None:
            self.say("killed %d leftover process(es): %s" % (len(ended.left), ended.left)
                     if ended.left else "runsvdir took the whole tree down; no process left")
            self.say("demo finished in %.1f s" % (time.monotonic() - started))
        if self.stops.first is None:
            return code
        say_stopped(self.stops.first, self.step, ended)
        return 128 + self.stops.first

    def say_how_to_ask(self):
        """The exact commands that ask the kept tree, and the one that ends it."""
        box = self.box
        lines, program = kept_commands(box)
        self.say("\nLeft running: runsvdir (ours, pid %d) serves %s.\n"
                 "Ask it — these lines, as they are, in a shell:" % (box.runsvdir.pid,
                                                               box.service_dir))
        for line in lines:
            self.say("  " + line)
        self.say("Stop it — the whole tree, then the sandbox removed:\n  %s"
                 % " ".join([program, "demo", "--stop", shlex.quote(box.dir)]))


def kept_commands(box):
    """``(lines, program)``: the shell lines that ask the kept sandbox ``box`` — its PATH
    first when this shell's would not find our tools (verify checks that the runtime on PATH
    is ours) — and how they name ``runit-provision``."""
    ours = os.path.join(box.bin, "runit-provision")
    lines = []
    if not _found_on_path("runsvdir", box.bin):
        lines.append("export PATH=%s:\"$PATH\"" % shlex.quote(box.bin))
    program = "runit-provision" if os.access(ours, os.X_OK) else \
        " ".join(shlex.quote(part) for part in (sys.executable, "-m", "runit_provision.cli.main"))
    inputs = " ".join(shlex.quote(part) for part in box.inputs())
    lines += ["%s status %s" % (program, inputs),
              "%s logs -n 10 %s" % (program, inputs),
              "%s verify %s%s"
              % (program, inputs, "".join(" " + shlex.quote(part)
                                          for part in box.templates()))]
    return lines, program


def _found_on_path(name, directory):
    found = shutil.which(name)
    return found is not None and os.path.realpath(os.path.dirname(found)) == \
        os.path.realpath(directory)


def run_demo(keep=False):
    started = time.monotonic()
    with Stops() as stops:
        demo = Demo(stops)
        code = 1
        try:
            with stops.noted():  # a sandbox is made whole, and its runsvdir started, or none
                demo.box = Sandbox.make()
                demo.box.start()
            code = demo.steps()
        except BaseException as exc:
            if not raised_while(exc, Stopped):  # a fault of ours: nothing it started may outlive it either
                stops.hold()
                if demo.box is not None:
                    demo.box.take_down()
                raise
        stops.hold()  # from here on, a stop is only noted: the end is not cut short
        if keep and stops.first is None:
            demo.say_how_to_ask()
            if stops.first is None:  # its lines are out: the tree is theirs now
                demo.say("demo finished in %.1f s" % (time.monotonic() - started))
                return code
        return demo.end(code, started)


def say_stopped(signum, step, ended):
    """The one line of a demo a signal stopped (none for a closed output: its reader left)."""
    if signum == signal.SIGPIPE:
        return
    what = "interrupted" if signum == signal.SIGINT else \
        "stopped by %s" % signal.Signals(signum).name
    text = "runit-provision demo: %s at step %d (%s)" % (what, step, STEPS[step][0])
    if ended is None:
        text += "; no sandbox was made"
    else:
        text += "; its tree is down and its sandbox removed"
        if ended.left:
            text += "; %d leftover process(es) killed" % len(ended.left)
        if not ended.is_removed:
            text += "; but the sandbox could not be removed"
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except OSError:
        pass  # a terminal hung up (SIGHUP): nobody to tell


def stop_kept(directory):
    """``demo --stop DIR``: the end of a sandbox ``--keep`` left."""
    box, why = Sandbox.kept(directory)
    if box is None:
        sys.stderr.write("runit-provision demo: %s\n" % why)
        return 1
    with Stops() as stops:
        stops.hold()  # a Ctrl-C does not cut the end short
        ended = box.take_down()
    if ended.left:
        sys.stdout.write("killed %d leftover process(es): %s\n" % (len(ended.left), ended.left))
    else:
        sys.stdout.write("runsvdir took the whole tree down; no process left\n")
    if ended.is_removed:
        sys.stdout.write("removed %s\n" % box.dir)
    else:
        sys.stderr.write("runit-provision demo: %s could not be removed\n" % box.dir)
    sys.stdout.flush()
    if stops.first is not None:
        return 128 + stops.first
    return 0 if ended.is_removed and not ended.left else 1


def config_of(box):
    """The Config of the sandbox's data, read as ``status`` reads it."""
    from .inputs import config_from_args
    from .main import build_parser

    return config_from_args(build_parser().parse_args(["status"] + box.inputs()))
