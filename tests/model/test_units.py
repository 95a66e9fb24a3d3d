"""The declared units and the one name rule (``model/units.py``), pure: every spelling of a
system service, a user's tree and a user's service; a bare name a user's tree alone has
(unique, or ambiguous and naming each); an unknown name an error with what it may have meant
— never an empty selection."""

import pytest

from runit_provision.errors import ProvisionError, ServiceNameError
from runit_provision.model.units import (ServiceUnit, declared_units, labels_named, logged_units,
                                         logins_without_tree, spent_schedules, units_named)

from ..pipeline import config_from_text

DATA = """\
runit::services:
  web: {command: /usr/bin/web}
  worker: {command: /usr/bin/worker}
  old: {ensure: absent}
runit::users:
  alice:
    home: /home/alice
    services:
      notes: {command: /usr/bin/notes}
      app: {command: /usr/bin/app}
      web: {command: /usr/bin/alices-web}
  bob:
    home: /home/bob
    services:
      app: {command: /usr/bin/app}
"""


@pytest.fixture(scope="module")
def config():
    return config_from_text(DATA)


def named(config, *names):
    return [unit.label for unit in units_named(declared_units(config), names)]


def test_every_declared_unit_in_apply_order_with_its_label(config):
    assert [unit.label for unit in declared_units(config)] == [
        "old", "web", "worker", "runsvdir-alice", "runsvdir-bob", "alice/app", "alice/notes",
        "alice/web", "bob/app"]


@pytest.mark.parametrize("name, label", [
    ("web", "web"),  # the system tree's, though alice has a web too
    ("old", "old"),  # declared absent: still a name (plan tears it down)
    ("runsvdir-alice", "runsvdir-alice"),
    ("alice/web", "alice/web"),
    ("~alice/web", "alice/web"),
    ("alice/notes", "alice/notes"),
    ("~alice/notes", "alice/notes"),
    ("/home/alice/notes", "alice/notes"),  # ~alice/notes unquoted, as the shell expands it
    ("notes", "alice/notes"),  # only alice's tree has it
    ("bob/app", "bob/app"),
    ("~bob/app", "bob/app"),
])
def test_each_spelling_names_one_unit_and_the_label_printed_is_a_spelling(config, name, label):
    assert named(config, name) == [label]
    assert named(config, label) == [label]  # what every verb prints is accepted back


def test_names_in_the_order_given_each_once(config):
    assert named(config, "notes", "web", "~alice/notes", "alice/notes") == ["alice/notes", "web"]
    assert labels_named(config, ["notes", "web"]) == frozenset({"alice/notes", "web"})
    assert labels_named(config, None) is None and labels_named(config, []) is None


def test_a_bare_name_of_several_users_is_ambiguous_and_names_each(config):
    with pytest.raises(ServiceNameError) as caught:
        named(config, "app")
    assert str(caught.value) == ("'app' is a service of more than one user: alice/app, "
                                 "bob/app (name one as LOGIN/NAME)")
    assert isinstance(caught.value, ProvisionError)  # every verb's exit 1


@pytest.mark.parametrize("name, hint", [
    ("wrokr", "did you mean worker?"),  # a transposition: difflib's ratio taken both ways
    ("wbe", "did you mean web?"),
    ("notse", "did you mean alice/notes?"),  # a user's by its bare name
    ("alice/ntoes", "did you mean alice/notes or alice/web or alice/app?"),
    ("~alise/notes", "did you mean alice/notes or alice/web?"),
    ("/home/alice/ntoes", "did you mean alice/notes or alice/web or alice/app?"),
    ("runsvdir-alcie", "did you mean runsvdir-alice or runsvdir-bob?"),
    ("bob/web", "did you mean web or alice/web?"),  # the name in the other trees first
    ("carol/app", "did you mean alice/app or bob/app?"),
    ("web/log", "did you mean web?"),  # a log side is not a service
    ("alice", "alice is a user: runsvdir-alice is their tree, alice/NAME one of their "
              "services"),
    ("~alice", "alice is a user: runsvdir-alice is their tree, alice/NAME one of their "
               "services"),
    ("zzz", "declared: old, web, worker, runsvdir-alice, runsvdir-bob, alice/app, "
            "alice/notes, alice/web, bob/app"),
    ("", "declared: old, web, worker, runsvdir-alice, runsvdir-bob, alice/app, alice/notes, "
         "alice/web, bob/app"),
])
def test_an_unknown_name_is_an_error_with_what_it_may_have_meant(config, name, hint):
    with pytest.raises(ServiceNameError) as caught:
        named(config, "web", name)
    assert str(caught.value) == "no service %r in the data (%s)" % (name, hint)


def test_a_long_list_of_declared_names_is_cut_short():
    services = "".join("  svc%02d: {command: /bin/true}\n" % index for index in range(20))
    config = config_from_text("runit::services:\n" + services)
    with pytest.raises(ServiceNameError) as caught:
        named(config, "zzz")
    assert str(caught.value).endswith(
        "(declared: %s, and 8 more)" % ", ".join("svc%02d" % index for index in range(12)))


def test_no_service_at_all_says_so():
    with pytest.raises(ServiceNameError) as caught:
        named(config_from_text("runit::services: {}\n"), "web")
    assert str(caught.value) == "no service 'web' in the data (it declares no service)"


def test_a_unit_takes_each_of_its_fields_by_name_and_no_other():
    given = {name: "value of " + name for name in ServiceUnit.__slots__}
    unit = ServiceUnit(**given)
    assert {name: getattr(unit, name) for name in ServiceUnit.__slots__} == given
    assert all(getattr(ServiceUnit(), name) is None for name in ServiceUnit.__slots__)
    with pytest.raises(TypeError):
        ServiceUnit(nmae="web")


# -- what logs reads: the units with a log a command line selects ------------------------------
def logged(config, names=(), logins=()):
    return [unit.label for unit in logged_units(declared_units(config), list(names),
                                                list(logins))]


def test_logs_reads_every_logged_unit_or_those_named_and_those_of_a_login_in_the_data_s_order(
        config):
    assert logged(config) == ["web", "worker", "runsvdir-alice", "runsvdir-bob", "alice/app",
                              "alice/notes", "alice/web", "bob/app"]
    assert logged(config, ["bob/app", "web"]) == ["web", "bob/app"]
    assert logged(config, ["web"], ["alice"]) == ["web", "alice/app", "alice/notes",
                                                 "alice/web"]


def test_a_named_unit_without_a_log_is_an_error_and_a_login_without_a_tree_selects_nothing(
        config):
    with pytest.raises(ServiceNameError, match="old has no log in the data .ensure: absent."):
        logged(config, ["old"])
    assert logged(config, ["web"], ["carol"]) == ["web"]
    assert logins_without_tree(declared_units(config), ["alice", "carol", "bob"]) == ["carol"]


def test_a_spent_schedule_is_named_by_its_label():
    """A timer whose schedule has no elapse after now, in any tree; one with an elapse left,
    and a service without a schedule, are not."""
    config = config_from_text("""\
runit::services:
  spent: {command: /bin/true, schedule: "2020-01-01 00:00"}
  daily: {command: /bin/true, schedule: daily}
  web: {command: /usr/bin/web}
runit::users:
  alice:
    home: /home/alice
    services:
      old: {command: /bin/true, schedule: "2021-06-01 12:00"}
""")
    now = 1_800_000_000 * 1_000_000  # 2027
    assert spent_schedules(config, now) == [("spent", "2020-01-01 00:00"),
                                            ("alice/old", "2021-06-01 12:00")]
