"""cli: ``runit-provision verify`` — the host against the data, with testinfra, reported the
way pytest reports (and as JUnit XML for CI, JSON for machines).

The checks come from the same data, facts and accounts the applier converges from
(``checks/expected.py``); each host of ``--hosts`` (testinfra host specs, default ``local://``)
is read in one command (``checks/snapshot.py``) and every check runs over that reading. Exit
0 when every check passed (skipped ones included), 1 when one failed, a host could not be read,
or the data is bad.

``--security`` scores each service's exposure from the data alone (``checks/exposure.py``) and
reads no host: the host's copy of what is scored (``sandbox``, ``run``) is what the checks'
``files`` compare. ``--security-max`` makes it a gate: exit 1 when a service scores above.
"""

import argparse
import os
import shutil
import sys
import textwrap
import time

from ..checks.report import counts, junit_xml
from ..errors import ProvisionError, ServiceNameError
from ..model.units import labels_named
from ..render import render
from ..shown import prefixed_lines, shown_name, shown_text
from .arguments import add_name_arguments, names_chosen, seconds
from .inputs import ACCOUNTS_HELP, add_input_arguments, inputs_from_args
from .table import print_json

DESCRIPTION = """\
Verify hosts against the data: every declared service exists with the rendered files,
contents, modes and owners; is linked or not as declared; is supervised; is up unless down;
its logger is up and its log directory writable by the logger's user; every user's
runsvdir-<login> is up and runs as the user; absent services are gone; every other service
linked in those service directories (not in the data) runs unless a down file marks it
normally down; the runit tools are
installed, and (unless init: none) the runtime is installed and linked into init as
install-runtime and apply would make it. Each host is read in one command (python3 on the
host when it has one, else sh and sv). Exit 0 when every check passed, 1 otherwise."""

# How long a host has to answer: a host that never does (a home on an NFS server that is gone)
# would hold the report for ever. The default leaves sh's probe, the slow one, room for a
# thousand services on a slow host over ssh (its speed: bench/RESULTS.md, row 23).
HOST_TIMEOUT = 600

ROOT_HELP = ("a staged tree (an image): every path is read under DIR, owners from "
             "DIR/etc/passwd and DIR/etc/group; nothing runs there, so supervision is not "
             "checked")

EPILOG = """\
hosts: testinfra host specs, comma-separated or repeated: local:// (the default),
ssh://[user@]host[:port], ssh://host?ssh_config=FILE, docker://container,
paramiko://..., ansible://... (see testinfra's documentation); ?sudo=true reads as root.
Accounts (owners, the logger's user) are compared by name on the host itself.

""" + ACCOUNTS_HELP


def add_parser(sub):
    parser = sub.add_parser("verify", help="check hosts against the data (testinfra)",
                            description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser, root_help=ROOT_HELP)
    parser.add_argument("--hosts", metavar="SPEC", action="append",
                        help="testinfra host specs (comma-separated; default local://)")
    parser.add_argument("--templates", metavar="DIR", help="templates overriding the bundled ones")
    add_name_arguments(parser)
    parser.add_argument("--junitxml", metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--probe", choices=("auto", "sh"), default="auto",
                        help="auto: python3 on the host when it has one, else sh; sh: always sh")
    parser.add_argument("--host-timeout", metavar="SECONDS", type=seconds, default=HOST_TIMEOUT,
                        help="how long each host has to answer its reading before its checks "
                             "are errors and the next host is read (0: no limit; default %d)"
                             % HOST_TIMEOUT)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per check")
    parser.add_argument("--security", action="store_true",
                        help="instead of the checks: each service's exposure, scored from the "
                             "data as systemd-analyze security scores a unit (0.0-10.0, 10 "
                             "worst), with the settings that would lower it; reads no host")
    parser.add_argument("--security-max", metavar="SCORE", type=security_max,
                        help="with --security (implied): exit 1 when a service scores above "
                             "SCORE (0-10, one decimal) or above the band of a level word "
                             "(OK, MEDIUM, EXPOSED, ...)")
    return parser


def security_max(text):
    """``--security-max``'s argparse type: a score or level, in tenths (exposure.max_score)."""
    from ..checks.exposure import max_score

    try:
        return max_score(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("%s, got %r" % (exc, text)) from exc


def run(args):
    if args.security or args.security_max is not None:
        return run_security(args)
    start = time.monotonic()
    try:
        import testinfra
    except ImportError:
        sys.stderr.write("runit-provision verify: needs pytest-testinfra "
                         "(pip install 'runit-provision[checks]')\n")
        return 1
    from ..checks.expected import expectations
    from ..checks.verify import verify_host

    specs = [spec for value in (args.hosts or ["local://"]) for spec in value.split(",") if spec]
    if args.root is not None:  # the checks read paths as ROOT + path: a relative one read "/"
        args.root = os.path.abspath(args.root)  # as "img/" and missed it

    def read():
        config, accounts = inputs_from_args(args, accounts_must_exist=is_accounts_host(
            args, specs))
        only = labels_named(config, names_chosen(args))
        return config, accounts, only, render(config, templates=args.templates, only=only)

    found = read_or_say(read)
    if found is None:
        return 1
    config, accounts, only, tree = found
    expected = expectations(config, tree, only=only,
                            runtime=runtime_expected(config, args.root, specs),
                            root=args.root, accounts=accounts if args.root else None)
    try:
        hosts = testinfra.get_hosts(specs)
    except (RuntimeError, ValueError) as exc:
        sys.stderr.write("runit-provision verify: bad --hosts: %s\n" % exc)
        return 1
    outcomes = []
    for host in hosts:
        outcomes += verify_host(host, expected, host.backend.get_pytest_id(),
                                python=args.probe == "auto", seconds=args.host_timeout or None)
    took = time.monotonic() - start
    if args.junitxml:
        write_junitxml(args.junitxml, outcomes, took)
    if args.json:
        print_json(json_report(outcomes, took))
    else:
        sys.stdout.write(text_report(outcomes, took, len(hosts) > 1, args.verbose,
                                     source=args.hiera or args.data, root=args.root))
    return 0 if all(outcome.status in ("passed", "skipped") for outcome in outcomes) else 1


def read_or_say(read):
    """``read()``'s value, or None once what it raised is on stderr: a name the data has not
    (its message), or bad data (each line of it prefixed)."""
    try:
        return read()
    except ServiceNameError as exc:
        sys.stderr.write("runit-provision verify: %s\n" % exc)
    except ProvisionError as exc:
        sys.stderr.write(prefixed_lines("runit-provision verify: ", shown_text(str(exc))))
    return None


def run_security(args):
    """``--security``: the exposure of every service the data declares (``--only``: those
    named), as a table or JSON (and JUnit XML, a check per service); exit 1 above
    ``--security-max``, or when the data is bad."""
    from ..checks.exposure import NOT_SCORED, exposures

    start = time.monotonic()
    if args.hosts:
        sys.stderr.write("runit-provision verify: --security scores the data and reads no "
                         "host: --hosts is for the checks (run verify without --security "
                         "for them)\n")
        return 2

    def read():
        config, _ = inputs_from_args(args)
        return exposures(config, labels_named(config, names_chosen(args)))

    found = read_or_say(read)
    if found is None:
        return 1
    limit = args.security_max
    above = [label for label, _, _, exposure in found
             if limit is not None and exposure.score > limit]
    if args.junitxml:
        node = os.path.splitext(os.path.basename(args.facts))[0] if args.facts else "data"
        write_junitxml(args.junitxml, security_outcomes(found, limit, node),
                       time.monotonic() - start)
    if args.json:
        print_json(security_json(found, limit, above, NOT_SCORED))
    else:
        print_security(found, limit, above, NOT_SCORED)
    return 1 if above else 0


TOP_LOWERINGS = 3  # settings per row of the table; JSON has them all
LEVEL_MARKS = {"PERFECT": "ok", "SAFE": "ok", "OK": "ok", "EXPOSED": "~", "UNSAFE": "bad",
               "DANGEROUS": "bad"}


def lowering_text(lowering):
    """``protect_kernel: true -1.5``: the data key (its ``sandbox.`` dropped), its best value,
    the score it takes off."""
    return "%s: %s -%.1f" % (lowering.setting.rpartition(".")[2], lowering.best,
                             lowering.by / 10)


def print_security(found, limit, above, not_scored):
    from .table import print_table

    rows = [(shown_name(label), shown_name(login) if login else "system",
             "root" if process.is_root else shown_name(process.user),
             "%.1f" % exposure.value, exposure.level,
             ", ".join(lowering_text(lowering)
                       for lowering in exposure.lowerings[:TOP_LOWERINGS]) or "-")
            for label, login, process, exposure in found]
    after = [("dim", line) for line in textwrap.wrap(
        "not scored, no setting here: " + " ".join(not_scored), 80, subsequent_indent="  ")]
    if limit is not None:
        after.append(("bad", "%d above %.1f: %s" % (len(above), limit / 10, ", ".join(
            shown_name(label) for label in above))) if above else
            ("ok", "none above %.1f" % (limit / 10)))
    print_table(("SERVICE", "TREE", "USER", "SCORE", "LEVEL", "WOULD LOWER IT"), rows,
                marks=[LEVEL_MARKS.get(exposure.level) for *_, exposure in found],
                after=after)


def security_outcomes(found, limit, node):
    """A check ``LABEL::security exposure`` per service, for the JUnit report: failed when it
    scores above ``limit``, with its score and what would lower it; ``node`` stands where the
    checks' report names a host (the facts' node, or ``data``)."""
    from ..checks.expected import Check
    from ..checks.verify import Outcome

    return [Outcome(Check(label, "security exposure"), node, problems=[
        "%s: %.1f (%s), above %.1f; would lower it: %s" % (
            label, exposure.value, exposure.level, limit / 10,
            ", ".join(lowering_text(lowering) for lowering in exposure.lowerings))]
        if limit is not None and exposure.score > limit else [])
        for label, _, _, exposure in found]


def security_json(found, limit, above, not_scored):
    return {
        "passed": not above,
        "max": None if limit is None else limit / 10,
        "above": above,
        "not_scored": list(not_scored),
        "services": [{
            "service": label, "tree": login, "user": None if process.is_root else process.user,
            "score": exposure.value, "level": exposure.level,
            "lowered_by": [{"setting": lowering.setting, "to": lowering.best,
                            "by": lowering.by / 10} for lowering in exposure.lowerings],
            "items": [{"name": item.name, "setting": item.setting, "weight": item.weight,
                       "badness": badness, "range": item.range, "why": why}
                      for item, badness, why in exposure.items],
        } for label, login, process, exposure in found],
    }


def is_accounts_host(args, specs):
    """Whether the accounts the data is read with are those of the hosts verified — a staged
    tree's, files given on purpose, or this host's for ``local://`` — so that an account the
    data names and they lack is bad data, at its file:line:col (as for plan and apply). A
    remote host's accounts are its own: its ``run-as accounts`` checks ask it."""
    return (args.root is not None or args.passwd is not None or args.group is not None
            or all(spec.split("://", 1)[0] == "local" for spec in specs))


def runtime_expected(config, root, specs):
    """The init room's answer the runtime's checks come from: for this host or the staged
    ``root`` (the room reads files where it runs, so a remote host's checks are skipped), an
    ``Unknown`` that fails when the room refuses the data here, None for ``init: none``."""
    from ..apply.desired import is_runtime_managed
    from ..checks.expected import Unknown

    if not is_runtime_managed(config):
        return None
    if any(spec.split("://", 1)[0] != "local" for spec in specs):
        return Unknown("not checked on a remote host: the init room reads the host's files "
                       "where it runs (verify on the host itself, or against a --root)")
    try:
        from .. import initsys
        from ..host.fsread import FsReader

        with FsReader(root or "/") as fs:
            return initsys.desired_runtime(config, fs)
    except ProvisionError as exc:
        return Unknown(str(exc), is_error=True)


# -- reports ------------------------------------------------------------------------------------
def test_id(outcome, with_host):
    """pytest's node id form: ``web::running``, ``web::running[ssh://web01]`` for many hosts."""
    return outcome.check.nodeid + ("[%s]" % outcome.host if with_host else "")


def summary_words(outcomes, seconds):
    found = counts(outcomes)
    words = ["%d %s" % (found[status], status) for status in ("failed", "passed", "skipped",
                                                                "error") if found.get(status)]
    return "%s in %.2fs" % (", ".join(words) or "no checks", seconds)


def ruler(text, char="=", width=None):
    width = width or shutil.get_terminal_size((80, 20)).columns
    text = " %s " % text if text else ""
    left = max(2, (width - len(text)) // 2)
    return char * left + text + char * max(2, width - left - len(text))


LETTERS = {"passed": ".", "failed": "F", "skipped": "s", "error": "E"}


def text_report(outcomes, seconds, with_host, verbose, source=None, root=None):
    """pytest's terminal report: progress, FAILURES with every problem, a short summary."""
    lines = [ruler("runit-provision verify")]
    hosts = []
    for outcome in outcomes:
        if outcome.host not in hosts:
            hosts.append(outcome.host)
    lines.append("hosts: %s; data: %s; %d checks" % (", ".join(hosts), source,
                                                      len(outcomes)))
    if root is not None:
        lines.append("--root %s: a staged tree — files, links, owners and the runtime; "
                     "nothing runs there" % root)
    lines.append("")
    for host in hosts:
        mine = [outcome for outcome in outcomes if outcome.host == host]
        if verbose:
            lines += ["%s %s" % (test_id(outcome, with_host), outcome.status.upper())
                      for outcome in mine]
        else:
            progress = "".join(LETTERS[outcome.status] for outcome in mine)
            lines.append("%s: %s" % (host, progress))
    failed = [outcome for outcome in outcomes if outcome.status in ("failed", "error")]
    if failed:
        lines += ["", ruler("FAILURES")]
        for outcome in failed:
            lines.append(ruler("%s [%s]" % (outcome.check.nodeid, outcome.host), "_"))
            lines += [outcome.error] if outcome.error else outcome.problems
            lines.append("")
    noted = [outcome for outcome in outcomes if outcome.status != "passed"]
    if noted:
        lines += [ruler("short test summary info")]
        for outcome in noted:
            reason = outcome.error or outcome.skipped or outcome.problems[0].split("\n")[0]
            more = len(outcome.problems) - 1
            if more > 0:
                reason += " (and %d more)" % more
            lines.append("%s %s - %s" % (outcome.status.upper(), test_id(outcome, with_host),
                                         reason))
    lines.append(ruler(summary_words(outcomes, seconds)))
    return "\n".join(lines) + "\n"


def write_junitxml(path, outcomes, seconds):
    """The JUnit XML report (checks/report.py) written to ``path``, its directory made."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "wb") as report:
        report.write(junit_xml(outcomes, seconds))


def json_report(outcomes, seconds):
    found = counts(outcomes)
    return {
        "passed": all(outcome.status in ("passed", "skipped") for outcome in outcomes),
        "summary": {status: found.get(status, 0)
                    for status in ("passed", "failed", "skipped", "error")},
        "seconds": round(seconds, 3),
        "checks": [{"host": outcome.host, "id": outcome.check.nodeid,
                    "group": outcome.check.group, "check": outcome.check.name,
                    "status": outcome.status, "problems": outcome.problems,
                    "reason": outcome.error or outcome.skipped} for outcome in outcomes],
    }
