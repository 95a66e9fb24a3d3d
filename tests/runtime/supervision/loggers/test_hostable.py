"""loggers/hostedlogger.hostable: whether a tree runs a service's logger itself, and as whom —
the parse of ``log/run`` kept by its bytes (a tree of many users asks it of the same few
scripts), who it runs as asked at every call, and what is kept bounded."""

from runit_provision.runtime.supervision.loggers import hostedlogger
from runit_provision.runtime.supervision.loggers.hostedlogger import OWN, hostable

AS_ROOT = b"#!/bin/sh\nexec chpst -u root svlogd -tt ./main\n"
ROOT, SOMEONE = (0, 0, [0]), (1000, 1000, [])


def test_the_parse_is_kept_but_who_it_runs_as_is_asked_each_time():
    canonical, identity = hostable(AS_ROOT, own=ROOT)
    assert (canonical.user, canonical.args, identity) == ("root", ["-tt", "./main"], OWN)
    # the same bytes for a tree of another identity: chpst -u root is not its to run
    assert hostable(AS_ROOT, own=SOMEONE) is None
    assert hostable(AS_ROOT, own=ROOT)[1] is OWN


def test_what_svlogd_or_the_shell_form_refuses_stays_refused():
    for script in (b"#!/bin/sh\nexec svlogd -Z ./main\n",  # an option svlogd rejects
                   b"#!/bin/sh\nexec svlogd -tt \"$LOGDIR\"\n", b""):
        assert hostable(script, own=ROOT) is None
        assert hostable(script, own=ROOT) is None


def test_the_kept_parses_are_bounded():
    for number in range(3 * hostedlogger._CANONICAL_MAX):
        hostable(b"#!/bin/sh\nexec svlogd ./main%d\n" % number, own=ROOT)
    assert len(hostedlogger._CANONICAL) <= hostedlogger._CANONICAL_MAX
