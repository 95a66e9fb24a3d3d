"""cli: ``runit-provision apply`` — converge this host (or ``--root DIR``) to the data; with
``--check`` it only plans (``runit-provision plan``).

The one path (``apply/job.py``): observe once, plan, print the plan, execute exactly it,
observe again, watch what it started (apply/watch.py). Exit codes: ``apply`` 0 (converged,
whether or not anything changed; ``--json`` carries ``changed``) or 1 (an error, a refused
user, a service it started that did not stay up — each said with its last exit and last log
lines); ``plan``/``--check`` 0 (nothing would change), 2 (changes pending) or 1 (an error).
Ctrl-C: 130, with what was done before it and the restarts still owed (``Done before
stopping: …``), then ``runit-provision apply: interrupted at STEP`` — one line on stderr.

The runtime's installation and its link into init come from the init room
(``apply.desired.services_desire``), planned and converged with the services — unless
``init: none``.
"""

import argparse
import sys
import time

from ..apply.desired import default_profile_dir, services_desire
from ..apply.report import refusal_line, report_json
from ..apply.runner import SubprocessRunner, sv_command
from ..apply.session import converge
from ..apply.watch import log_dirs_of
from ..errors import Interrupted, ProvisionError
from ..model.units import labels_named, spent_schedules
from ..shown import prefixed_lines, shown_name, shown_text
from .arguments import add_name_arguments, names_chosen
from .inputs import ACCOUNTS_HELP, add_input_arguments, identities_for, inputs_from_args
from .main import EXIT_INTERRUPTED
from .output import print_interrupted, print_plan, print_result
from .table import print_json

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
ROOT_HELP = ("staging: write every path under DIR (contents keep the final paths), take users "
             "from DIR/etc/passwd and DIR/etc/group, start nothing, call no sv, ask this "
             "host's kernel nothing (cgroup controllers, user namespaces: the host that runs "
             "the image does)")

DESCRIPTION = """\
Converge this host to the data: service directories written atomically and complete before
they are linked, undeclared runit files purged inside the service directories, drift put back,
each change brought to the running service as docs/apply.md's table says (run, env/*, conf,
sandbox or ready changed -> sv -w T restart; a cgroup file -> its limits set in the running
cgroup; log/run -> restart the log; log config -> HUP it), a bounded wait until runsv serves
each new link, absent services stopped and removed, users' trees (runsvdir-<login> first).
Then what it started or restarted is watched until each run is half a second old (--wait at
most): a service that died (crash-looping, or not up after dying) or never came up is said on
stderr with its last exit and its last log lines (--json: not_up).

Exit codes: 0 converged (or, with --check, nothing would change), 2 with --check: changes
pending, 1 an error (the message says which step, and every file is wholly old or new), or a
service it started that did not stay up; 130 Ctrl-C (what was done before it, and the restarts
it still owes, are said first)."""


def add_parser(sub):
    parser = sub.add_parser("apply", help="converge this host to the data",
                            description=DESCRIPTION, epilog=ACCOUNTS_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_job_arguments(parser)
    parser.add_argument("--check", action="store_true",
                        help="plan only, change nothing (= runit-provision plan)")
    return parser


def add_job_arguments(parser):
    """What plan and apply both take."""
    add_input_arguments(parser, root_help=ROOT_HELP)
    parser.add_argument("--templates", metavar="DIR", help="templates overriding the bundled ones")
    add_name_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print Ansible's result as JSON instead of lines")
    parser.add_argument("--diff", action="store_true", help="show unified diffs of text files")
    parser.add_argument("--brief", action="store_true",
                        help="one line for a new directory, with a count of what it holds, "
                             "instead of one per path (Puppet's exec output: every line is a "
                             "log message)")
    parser.add_argument("--show-secrets", action="store_true",
                        help="show env/ values in diffs (masked otherwise)")
    parser.add_argument("--wait", metavar="SECONDS", type=float, default=15.0,
                        help="how long to wait for runsv to serve a new link, and at most "
                             "how long to watch what apply started (default 15)")
    parser.add_argument("--lock-timeout", metavar="SECONDS", type=float, default=60.0,
                        help="how long to wait for another apply to finish (default 60)")
    parser.add_argument("--profile-d", metavar="DIR",
                        help="where the SVDIR snippet for users' login shells goes ('none': "
                             "nowhere; default: etc/profile.d in the directory holding every "
                             "path of the data — /etc/profile.d on a host, the sandbox's own "
                             "for data that relocates everything)")


def run(args):
    return run_job(args, check=args.check)


def run_job(args, check):
    """Plan, and unless ``check``, apply; print; the exit code."""
    command = "plan" if check else "apply"
    try:
        # plan refuses as apply does: its exit code answers "would apply converge here?"
        from ..host.sandboxpaths import replaceable_question

        config, _ = inputs_from_args(args, accounts_must_exist=True,
                                     writable=replaceable_question(args.root),
                                     **kernel_questions(args))
        only = labels_named(config, names_chosen(args))
        from ..render import render

        tree = render(config, templates=args.templates, only=only)
    except ProvisionError as exc:
        return _failed(args, command, exc)
    _warn_spent_schedules(command, config)
    root = args.root or "/"
    profile_dir = (None if args.profile_d == "none" else args.profile_d
                   or default_profile_dir(config))

    def show(plan):
        if not check and not args.json:
            print_plan(plan, args.diff, args.show_secrets, brief=args.brief)

    desire = services_desire(config, tree, only=only, profile_dir=profile_dir)
    try:
        plan, result = converge(args.root, desire, config.sv_dir, check, args.lock_timeout,
                                identities=identities_for(args.passwd, args.group, args.root),
                                runner=SubprocessRunner(), sv=sv_command(config.runtime),
                                wait_seconds=args.wait, on_plan=show)
    except BrokenPipeError:
        raise  # the plan could not be shown, and nothing was changed: cli/main's rule
    except Interrupted as exc:  # Ctrl-C while it executed: what it did and owes, then 130
        plan, result = exc.result.plan, exc.result
    except (ProvisionError, OSError) as exc:
        return _failed(args, command, exc)
    if check:
        return _checked(args, plan, root)
    from ..logs.last import last_lines_under  # here: only a service not up has lines to show

    logs = {} if result.is_interrupted else last_lines_under(log_dirs_of(result.not_up), root)
    if args.json:
        print_json(report_json(plan, result, show_secrets=args.show_secrets, root=root,
                               logs=logs))
        if result.is_interrupted:
            print_interrupted(result)
    else:
        print_result(result, logs=logs)
    if result.is_interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.is_ok else EXIT_ERROR


def kernel_questions(args):
    """What plan and apply ask the running kernel of the data: none under ``--root``, whose
    tree is an image for the kernel of the host that will run it (that host's apply asks)."""
    if args.root:
        return {}
    from ..host.cgroup import cgroup_hierarchy
    from ..host.userns import user_namespaces_refused

    return {"cgroup": cgroup_hierarchy, "userns": user_namespaces_refused}


def _checked(args, plan, root):
    if args.json:
        print_json(report_json(plan, check_mode=True, show_secrets=args.show_secrets,
                               root=root))
    else:
        print_plan(plan, args.diff, args.show_secrets, brief=args.brief)
        for login, message in sorted(plan.refusals.items()):
            sys.stderr.write("runit-provision plan: %s\n" % refusal_line(login, message))
    if plan.refusals:
        return EXIT_ERROR
    return EXIT_OK if plan.is_empty else EXIT_CHANGES


def _warn_spent_schedules(command, config):
    """A warning on stderr for each timer whose schedule has no elapse after now: applied,
    it never runs."""
    for label, text in spent_schedules(config, time.time_ns() // 1000):
        sys.stderr.write("runit-provision %s: warning: %s: schedule %s has no elapse "
                         "after now: the timer never runs (status says no next run)\n"
                         % (command, shown_name(label), shown_name(repr(text))))


def _failed(args, command, exc):
    """The error said (JSON's ``msg`` exact, the text's safe to print: a file name is one
    escaped line, a message of several lines — every problem of the data — keeps them)."""
    message = shown = str(exc)
    if isinstance(exc, OSError) and not isinstance(exc, ProvisionError):
        message = "%s: %s" % (exc.filename or "", exc.strerror)
        shown = "%s: %s" % (shown_name(str(exc.filename or "")), exc.strerror)
    if args.json:
        print_json({"changed": False, "failed": True, "msg": message})
    sys.stderr.write(prefixed_lines("runit-provision %s: " % command, shown_text(shown)))
    return EXIT_ERROR
