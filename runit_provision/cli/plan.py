"""cli: ``runit-provision plan`` — what ``apply`` would do, and why; nothing is changed.

The same path as ``apply --check`` (``cli/apply.py``): observe once, plan, print. Exit codes
as terraform's ``-detailed-exitcode``: 0 nothing would change, 2 changes pending, 1 an error —
so Puppet's ``exec { unless => 'runit-provision plan …' }`` corrects drift honestly.
"""

import argparse

from .apply import add_job_arguments, run_job
from .arguments import ACCOUNTS_HELP

DESCRIPTION = """\
Show what runit-provision apply would do, one line per path and action (+ create, ~ change,
- remove, ↻ restart/HUP/stop with the reason), then the restarts it would skip and why.
Nothing is changed. Exit codes: 0 nothing would change, 2 changes pending (a linked service
that no runsv serves counts: apply would wait for it, and fail naming the likely cause), 1 an
error."""


def add_parser(sub):
    parser = sub.add_parser("plan", help="show what apply would do (apply --check)",
                            description=DESCRIPTION, epilog=ACCOUNTS_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_job_arguments(parser)
    return parser


def run(args):
    return run_job(args, check=True)
