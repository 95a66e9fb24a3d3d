"""The skips a CI run may have, and the one way a test says a component is missing.

Under ``CI=true`` a skip is a failure (``pytest_runtest_makereport`` in tests/conftest.py)
unless its reason is one of ``ALLOWED_IN_CI``: what CI's machine lacks because it differs
from another tier's, never what ``.ci/run`` could install. A case that does not apply to one
runtime is not collected at all (the ``not_applicable`` marker), so it is no skip either.
docs/testing.md lists the same reasons (tests/test_skips.py holds the two together).
"""

import os
import re

import pytest

IN_CI = os.environ.get("CI") == "true"

# (pattern of the skip's reason, why CI may skip it). Each pattern is anchored at the start.
ALLOWED_IN_CI = (
    (r"the C runsvchdir before 2\.3\.0 ignores \$RUNSVDIR",
     "Debian 12's and 13's runit: the tier of the runit that has it (Debian 14) runs it"),
    (r"this hierarchy has the memory controller \(the VM tier's case\)",
     "a refusal only a cgroup root without the memory controller shows; a root with it "
     "tests the limits instead"),
    (r"tzdata \S+ here, \S+ in the fixture",
     "the calendar fixture's cases of a zone whose rules this machine's tzdata changed; "
     "the rest of the fixture and the live sample run"),
    (r"the running version is never missing",
     "a case about another CPython than the one running the tests"),
    (r"VOID_RUNIT_GIT names no clone of void-linux/void-runit",
     "a clone from GitHub, which .ci/run does not make (it fetches nothing but packages); "
     "VOID_SV_CORPUS's corpus, beside the checkout, is imported in CI"),
    (r"not a git checkout",
     "the Debian tiers' copy of the checkout has no .git; make test runs it in the checkout"),
)


def allowed_in_ci(reason):
    """Why CI may skip for ``reason`` (a skip's message), or None when it must fail."""
    for pattern, why in ALLOWED_IN_CI:
        if re.match(pattern, reason):
            return why
    return None


def skip_reason(report):
    """The reason of a skipped test's report (pytest's ``(path, line, "Skipped: …")``)."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text[len("Skipped: "):] if text.startswith("Skipped: ") else text


def missing(what, install):
    """The test cannot run without ``what``: skipped, saying what to install — under
    ``CI=true`` a failure, since ``.ci/run`` installs it."""
    if IN_CI:
        pytest.fail("CI=true but %s is missing (%s; .ci/run does)" % (what, install),
                    pytrace=False)
    pytest.skip("%s is missing (%s)" % (what, install))


def needs_root(why):
    """The test needs root (``why``): CI runs the suite as root, so there it is a failure."""
    if os.geteuid() != 0:
        missing("root (%s)" % why, "run the suite as root, as .ci/run")
