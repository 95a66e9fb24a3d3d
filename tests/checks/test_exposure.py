"""A service's exposure (checks/exposure.py): systemd-analyze security's sum over what the data
can set — each setting lowers the score, root scores worse than a user, the score stays in
its bounds — and ``exposures`` over a Config's trees."""

import itertools

import pytest

from runit_provision.checks.exposure import (
    BEST, ITEMS, LEVELS, NOT_SCORED, Process, badness_sum, exposure_of, exposures, level_of,
    max_score, process_of, score_of)
from runit_provision.protocol.process.sandbox import Sandbox

from ..pipeline import config_from_text

BARE_ROOT = Process(None, Sandbox(), 0o022, False)
BARE_USER = Process("www", Sandbox(), 0o022, False)
IN_TREE = Process("alice", Sandbox(), 0o022, True)
SHUT = dict(no_new_privileges=True, capabilities=(), private_tmp=True, private_devices=True,
            private_network=True, protect_kernel=True, protect_system="strict",
            protect_home="true")


def with_setting(process, setting):
    return BEST[setting][1](process)


PROCESSES = {"root": BARE_ROOT, "user": BARE_USER, "user's tree": IN_TREE}


@pytest.mark.parametrize("name, setting", [
    (name, setting) for name in PROCESSES for setting in sorted(BEST)
    if setting != "user" or name == "root"])  # a user's process runs as a user already
def test_each_setting_at_its_best_lowers_the_score_and_is_offered(name, setting):
    process = PROCESSES[name]
    better = with_setting(process, setting)
    assert badness_sum(better) < badness_sum(process)
    by = score_of(process) - score_of(better)
    offered = {lowering.setting: lowering.by for lowering in exposure_of(process).lowerings}
    # offered when the score printed (in tenths) moves: umask's weight seldom moves it
    assert offered.get(setting, 0) == by and (by > 0 or setting == "umask")


def test_the_offers_come_most_first_and_none_is_left_at_the_best():
    lowerings = exposure_of(BARE_ROOT).lowerings
    assert [lowering.by for lowering in lowerings] == sorted(
        (lowering.by for lowering in lowerings), reverse=True)
    assert lowerings[0].setting == "sandbox.capabilities"  # systemd weighs them most, together
    best = Process("www", Sandbox(**SHUT), 0o077, False)
    assert exposure_of(best).lowerings == [] and exposure_of(best).score == 0


def test_root_scores_worse_than_a_user_and_nobody_than_a_login_of_its_own():
    assert score_of(BARE_ROOT) == 98 and level_of(score_of(BARE_ROOT)) == "UNSAFE"
    assert score_of(BARE_USER) == 91
    nobody = BARE_ROOT._replace(user="nobody")
    assert badness_sum(BARE_ROOT) > badness_sum(nobody) > badness_sum(BARE_USER)
    # the same hardening, as root and as a user
    assert score_of(Process(None, Sandbox(**SHUT), 0o077, False)) == 8
    assert score_of(Process("www", Sandbox(**SHUT), 0o077, False)) == 0


def test_a_users_tree_runs_as_its_login_whatever_user_says_and_user_is_never_offered():
    config = config_from_text(
        "runit::users:\n  alice:\n    services:\n      notes: {command: /usr/bin/notes}\n")
    [(label, login, process, exposure)] = exposures(config)
    assert (label, login, process.user, process.in_user_tree) == ("alice/notes", "alice",
                                                                  "alice", True)
    assert exposure.score == score_of(BARE_USER)
    assert "user" not in {lowering.setting for lowering in exposure.lowerings}


def test_a_dangerous_capability_weighs_more_than_a_harmless_one():
    def kept(*names, user="www"):
        return score_of(Process(user, Sandbox(**dict(SHUT, capabilities=names)), 0o077,
                                False))
    assert kept() == 0
    assert kept("sys_admin") > kept("net_admin") > kept("net_bind_service") > kept("lease")
    assert kept("sys_admin", "net_admin") > kept("sys_admin")
    # as root the listed ones stay in the bounding set, but none is raised as ambient
    assert kept("net_bind_service", user=None) - kept(user=None) < kept("net_bind_service")


def test_a_setting_that_drops_a_capability_counts_it_dropped():
    listed = ("mknod", "sys_rawio", "sys_module")
    alone = badness_sum(Process("www", Sandbox(capabilities=listed), 0o022, False))
    # the setting's own weight, and systemd's weight of each capability group it empties
    for setting, weight in (("private_devices", 1000 + 500 + 1000), ("protect_kernel",
                                                                      3000 + 1000)):
        sandbox = Sandbox(capabilities=listed, **{setting: True})
        assert alone - badness_sum(Process("www", sandbox, 0o022, False)) == weight


def test_every_combination_scores_within_bounds_and_a_level():
    words = {"protect_system": (None, "true", "full", "strict"),
             "protect_home": (None, "read-only", "tmpfs", "true"),
             "capabilities": (None, (), ("net_bind_service",), ("sys_admin",))}
    flags = ("no_new_privileges", "private_network", "protect_kernel")
    for user, umask in itertools.product((None, "nobody", "www"), (0o000, 0o022, 0o077)):
        for values in itertools.product(*words.values(), *[(False, True)] * len(flags)):
            settings = dict(zip(list(words) + list(flags), values))
            score = score_of(Process(user, Sandbox(**settings), umask, False))
            assert 0 <= score <= 100 and level_of(score) in dict(LEVELS).values()
    # all open: root raises no ambient capability, the one item it cannot fail
    assert score_of(Process(None, Sandbox(), 0o000, False)) == 99


def test_the_items_are_systemds_weights_over_what_the_data_sets():
    assert sum(item.weight for item in ITEMS) == 27100
    assert {item.setting for item in ITEMS} == set(BEST)
    assert "SystemCallFilter=" in NOT_SCORED and "NoNewPrivileges=" not in NOT_SCORED


def test_systemds_bands():
    assert [level_of(score) for score in (0, 1, 9, 10, 49, 50, 74, 75, 89, 90, 99, 100)] == [
        "PERFECT", "SAFE", "SAFE", "OK", "OK", "MEDIUM", "MEDIUM", "EXPOSED", "EXPOSED",
        "UNSAFE", "UNSAFE", "DANGEROUS"]


@pytest.mark.parametrize("text, tenths", [("0", 0), ("10", 100), ("4.5", 45),
                                          ("ok", 49), ("EXPOSED", 89), ("UNSAFE", 99)])
def test_a_maximum_is_a_score_or_the_top_of_a_band(text, tenths):
    assert max_score(text) == tenths


@pytest.mark.parametrize("text", ["10.1", "-1", "4.55", "7.", "five", "", "1e1"])
def test_a_maximum_out_of_bounds_is_refused(text):
    with pytest.raises(ValueError, match="expected a score from 0 to 10"):
        max_score(text)


def test_exposures_of_a_config_skip_absent_services_and_follow_the_labels():
    config = config_from_text(
        "runit::services:\n"
        "  web:\n    command: /usr/bin/web\n    user: www\n    umask: '0077'\n"
        "    sandbox: {no_new_privileges: true, capabilities: [], private_tmp: true,"
        " private_devices: true, private_network: true, protect_kernel: true,"
        " protect_system: strict, protect_home: true}\n"
        "  gone: {command: /usr/bin/gone, ensure: absent}\n"
        "  bare: {command: /usr/bin/bare}\n")
    found = {label: exposure for label, _, _, exposure in exposures(config)}
    assert {label: exposure.score for label, exposure in found.items()} == {"bare": 98,
                                                                            "web": 0}
    assert process_of(config.services["web"]).umask == 0o077
    assert [label for label, *_ in exposures(config, frozenset({"web"}))] == ["web"]
