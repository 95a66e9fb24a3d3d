"""fleet: the nodes' ``runit_services`` facts → rows of services that are not as wanted. Pure.

A node's fact is what ``runit-provision status --fact`` printed there (the Puppet module's
external fact): ``services`` (each with its ``main`` and ``log`` sides) and ``not_running``.
Facter turns the CLI's JSON ``null`` into ``""``; both read as "none" here. Whether a
service is as wanted is its node's verdict (health/verdict.py), which the fact carries.

A fact is as old as the node's last agent run that sent it: a node whose agent stopped keeps
its last "as wanted" in PuppetDB for ever. ``stale_nodes`` names those whose facts are older
than a bound, so that silence is never read as health.
"""

from ..health.verdict import is_as_wanted_word, judge
from ..protocol.sidestate import Condition

UNKNOWN = "unknown"  # no account of it in the fact (health/verdict.UNKNOWN's word)


class Problem:
    """One service of one node that is not as wanted: ``node``, ``service`` (its label),
    ``state`` (``state_of`` its fact's word),
    ``want``, ``why`` (crash-looping, gave up, not running, its log side…) and
    ``last_exit`` and ``deaths`` as the fact words them."""

    __slots__ = ("node", "service", "state", "want", "why", "last_exit", "deaths")

    def __init__(self, node, service, state, want, why, last_exit, deaths):
        self.node, self.service, self.state, self.want = node, service, state, want
        self.why, self.last_exit, self.deaths = why, last_exit, deaths

    def as_json(self):
        return {name: getattr(self, name) for name in self.__slots__}


def problems_of(facts):
    """``facts``: ``{certname: runit_services value}`` → Problems, by node then service,
    and the nodes whose fact is not one (``[(certname, why)]``)."""
    found, unreadable = [], []
    for node in sorted(facts):
        value = facts[node]
        if not isinstance(value, dict) or not isinstance(value.get("services"), list):
            unreadable.append((node, "its runit_services fact is not what status --fact "
                                     "prints"))
            continue
        not_running = set(value.get("not_running") or ())
        for service in value["services"]:
            if isinstance(service, dict):
                problem = _problem(node, service, not_running)
                if problem is not None:
                    found.append(problem)
    return found, unreadable


def _problem(node, service, not_running):
    """The Problem of one service of a node's fact, or None when it is as wanted: the words
    its node judged it by (the fact's ``verdict``), or — in a fact an older node sent, which
    carries none — the same verdict over the fact's words (health/verdict.py)."""
    label = str(service.get("service", "?"))
    main = service.get("main") if isinstance(service.get("main"), dict) else {}
    words = service.get("verdict")
    if not isinstance(words, str) or not words:  # the node's not_running: its stopped ones
        stopped = label in not_running
        words = judge(service, wanted=stopped,
                      running=not stopped and service.get("running") is True).word
    if is_as_wanted_word(words, main):  # a one-shot's running or done (…) too
        return None
    return Problem(node, label, state_of(main.get("state")),
                   str(main.get("want") or "-"), words,
                   str(main.get("last_exit") or UNKNOWN), str(main.get("deaths") or UNKNOWN))


def state_of(word):
    """A side's ``state`` as a fact words it, read back: its protocol.sidestate.Condition —
    ``UNKNOWN`` where the fact says none (Facter's ``""``) — or, a word no Condition is (a
    newer node's), that word as the fact gives it.

    >>> state_of("run"), state_of(""), state_of("paused")
    (<Condition.RUN: 'run'>, <Condition.UNKNOWN: 'unknown'>, 'paused')
    """
    if not word:
        return Condition.UNKNOWN
    try:
        return Condition(word)
    except ValueError:
        return str(word)


def stale_nodes(facts, times, now, after):
    """The nodes of ``facts`` whose facts were stored more than ``after`` seconds before
    ``now`` (``times``: ``{certname: unix seconds}``, puppetdb.fact_times), as ``[(certname,
    age in whole seconds, or None when PuppetDB gave no time)]`` by node; none when ``after``
    is 0.

    >>> stale_nodes({"a": {}, "b": {}, "c": {}}, {"a": 100.0, "b": 3000.0}, 4000.0, 3600)
    [('a', 3900), ('c', None)]
    """
    if not after:
        return []
    found = []
    for node in sorted(facts):
        moment = times.get(node)
        if moment is None:
            found.append((node, None))
        elif now - moment > after:
            found.append((node, int(now - moment)))
    return found


COLUMNS = ("NODE", "SERVICE", "STATE", "WANT", "WHY", "LAST EXIT", "DEATHS")


def cells(problem):
    """A Problem as the row ``fleet status`` prints under COLUMNS."""
    return (problem.node, problem.service, problem.state, problem.want, problem.why,
            problem.last_exit, problem.deaths)
