"""checks: running verify's checks against a host — one snapshot, then every check over it.

``verify_host(host, expectations)`` reads the host once (``snapshot.take_snapshot``) and returns
an ``Outcome`` per check: passed, failed with its problems, or skipped with the reason. What the
outcomes look like in JUnit XML is ``report.py``'s; on a terminal and in JSON,
``cli/verify.py``'s.
"""

import time

from ..errors import VerifyError
from .expected import Skipped
from .snapshot import take_snapshot


class Outcome:
    """A check's result on one host: ``problems`` (empty: passed), ``skipped`` (the reason, or
    None), ``seconds`` it took, and ``error`` when the host could not be read at all."""

    __slots__ = ("check", "host", "problems", "skipped", "seconds", "error")

    def __init__(self, check, host, problems=(), skipped=None, seconds=0.0, error=None):
        self.check, self.host, self.problems = check, host, list(problems)
        self.skipped, self.seconds, self.error = skipped, seconds, error

    @property
    def status(self):
        """``passed``, ``failed``, ``skipped`` or ``error``."""
        if self.error is not None:
            return "error"
        if self.skipped is not None:
            return "skipped"
        return "failed" if self.problems else "passed"

    def __repr__(self):
        return "Outcome(%s, %s)" % (self.check.nodeid, self.status)


def verify_host(host, expectations, host_id="local", python=True, seconds=None):
    """Every check of ``expectations`` on ``host`` (a testinfra Host), from one reading of it.

    A host that cannot be read — or does not answer within ``seconds`` (None: no limit) —
    gives every check the ``error``, rather than raising: the other hosts of a run still get
    verified.
    """
    start = time.monotonic()
    try:
        snapshot = take_snapshot(host, expectations.request, python=python,
                                 root=expectations.root, seconds=seconds)
        if expectations.accounts is not None:
            snapshot.use_accounts(expectations.accounts)
    except (VerifyError, RuntimeError, OSError) as exc:  # testinfra's ssh raises RuntimeError
        message = "cannot read %s: %s" % (host_id, exc)
        return [Outcome(check, host_id, error=message) for check in expectations.checks]
    read_seconds = time.monotonic() - start
    outcomes = []
    for check in expectations.checks + expectations.found_in(snapshot):
        if check.skip is not None:
            outcomes.append(Outcome(check, host_id, skipped=check.skip))
            continue
        began = time.monotonic()
        found = check.test(snapshot)
        seconds = time.monotonic() - began
        if isinstance(found, Skipped):  # what it found is not the data's promise to keep
            outcomes.append(Outcome(check, host_id, skipped=found.reason, seconds=seconds))
        else:
            outcomes.append(Outcome(check, host_id, found, seconds=seconds))
    if outcomes:  # the one reading of the host is part of every check; junit shows it once
        outcomes[0].seconds += read_seconds
    return outcomes
