"""svlogd's config parser and pattern language (runit's logdir_open and pmatch.c)."""

import doctest
import itertools
import random

import pytest

from runit_provision.runtime.svlog import config as logconfig
from runit_provision.runtime.svlog.config import (compile_pattern, parse_config, pattern_matches,
                                               selection, udp_address)


def test_doctests():
    assert doctest.testmod(logconfig).failed == 0


def test_defaults_are_runits():
    config = parse_config(b"")
    assert (config.size_max, config.keep_max, config.keep_min, config.age_max) == (
        1000000, 10, 10, 0)
    assert (config.processor, config.udp, config.udp_only, config.prefix, config.rules) == (
        None, None, False, b"", ())
    assert config.is_plain


@pytest.mark.parametrize("line, field, value", [
    (b"s100", "size_max", 100),
    (b"s2k", "size_max", 2048),
    (b"s3m", "size_max", 3 * 1024 * 1024),
    (b"s0", "size_max", 0),
    (b"s100x", "size_max", 100),        # runit reads the digits and one suffix byte
    (b"s18446744073709551716", "size_max", 100),   # scan_ulong wraps at 2**64, as C's
    (b"n" + b"9" * 5000, "keep_max", (10 ** 5000 - 1) % 2 ** 64),  # no int() digit limit
    (b"n5", "keep_max", 5),
    (b"n0", "keep_max", 0),
    (b"N3", "keep_min", 3),
    (b"t30", "age_max", 30),
    (b"t2m", "age_max", 120),
    (b"t1h", "age_max", 3600),
    (b"!gzip -9", "processor", b"gzip -9"),
    (b"papp[1]: ", "prefix", b"app[1]: "),
])
def test_directives(line, field, value):
    config = parse_config(line + b"\n")
    assert getattr(config, field) == value
    assert config.warnings == []


def test_last_of_a_kind_wins_and_comments_and_blanks_are_ignored():
    config = parse_config(b"# comment\n\ns10\ns20\n!a\n!b\n")
    assert (config.size_max, config.processor) == (20, b"b")


def test_empty_processor_and_prefix_lines_change_nothing():
    assert parse_config(b"!\np\n").processor is None
    assert parse_config(b"pX\np\n").prefix == b"X"


def test_a_last_line_without_newline_counts_unless_it_is_one_byte():
    assert parse_config(b"s10").size_max == 10
    assert parse_config(b"s10\n-").rules == ()   # runit's loop stops before the last byte


@pytest.mark.parametrize("line", [b"sabc", b"s", b"n", b"N x", b"t", b" s100", b"x"])
def test_broken_lines_are_reported_and_ignored(line):
    config = parse_config(line + b"\n", "log/main")
    assert config.warnings == ["ignoring config line: log/main/config: %s" % line.decode()]
    assert (config.size_max, config.keep_max, config.keep_min, config.age_max) == (
        1000000, 10, 10, 0)


def test_udp_targets():
    config = parse_config(b"u127.0.0.1:5140\n")
    assert (config.udp, config.udp_only) == (("127.0.0.1", 5140), False)
    config = parse_config(b"U10.1.2.3\n")
    assert (config.udp, config.udp_only) == (("10.1.2.3", 514), True)
    assert not config.is_plain


@pytest.mark.parametrize("text, expected", [
    (b"1.2.3.4", ("1.2.3.4", 514)),
    (b"1.2.3.4:99", ("1.2.3.4", 99)),
    (b"1.2.3.4 trailing words", ("1.2.3.4", 514)),   # runit ignores what follows
    (b"[::1]", ("::1", 514)),
    (b"[fe80::1]:600", ("fe80::1", 600)),
    (b"2001:db8::7", ("2001:db8::7", 514)),
    (b"1.2.3", "unable to scan ip address: 1.2.3"),
    (b"1.2.3.256", "unable to scan ip address: 1.2.3.256"),
    (b"host.example", "unable to scan ip address: host.example"),
    (b"[::g]", "unable to scan ip address: [::g]"),
    (b"1.2.3.4:0", "unable to scan port number: 0"),
    (b"1.2.3.4:70000", "unable to scan port number: 70000"),
    # refused, not wrapped into range as C's scan_ulong would
    (b"1.2.3.4:18446744073709551617", "unable to scan port number: 18446744073709551617"),
    (b"1.2.3.18446744073709551617", "unable to scan ip address: 1.2.3.18446744073709551617"),
    (b"001.2.3.4:00099", ("001.2.3.4", 99)),
    (b"[::1]:", "unable to scan port number: "),
])
def test_udp_address(text, expected):
    assert udp_address(text) == expected


def test_a_bad_udp_line_is_ignored_entirely():
    # runit sets "UDP only" before scanning the address: every line would go nowhere.
    config = parse_config(b"Unot-an-address\n")
    assert (config.udp, config.udp_only) == (None, False)
    assert config.warnings == ["unable to scan ip address: not-an-address"]


# -- patterns ---------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern, line, expected", [
    (b"", b"", True),
    (b"", b"x", False),
    (b"abc", b"abc", True),
    (b"abc", b"abcd", False),            # the whole line must match
    (b"ab", b"abc", False),
    (b"*", b"", True),
    (b"*", b"anything", True),
    (b"a*", b"abc", True),
    (b"*c", b"abc", True),
    (b"*c", b"abcc", False),             # * stops at the first c; the rest is "c" != ""
    (b"*b*", b"abc", True),
    (b"*: *: pid *", b"tcpsvd: info: pid 1977 from 10.4.1.14", True),
    (b"*pid*", b"tcpsvd: info: pid 1977 from 10.4.1.14", False),   # runit's man page
    (b"+a", b"aaa", True),
    (b"+a", b"", False),
    (b"+ab", b"aab", True),
    (b"+aa", b"aaab", False),            # + is possessive: nothing left for the second a
    (b"+ab", b"aaa", True),              # runit: a run reaching the end matches the rest
    (b"+a*", b"aaax", True),
    (b"x+", b"x", False),                # a trailing + never matches (runit reads past it)
    (b"**", b"a*b", True),               # the second * is an operator again
    (b"*+a", b"x+a", False),             # the + after * is an operator: a run of "a" at "+"
    (b"++", b"++", True),
    (b"+*", b"**", True),
])
def test_pattern_language(pattern, line, expected):
    assert pattern_matches(pattern, line) is expected
    assert bool(compile_pattern(pattern)(line)) is expected


def test_compiled_patterns_agree_with_the_reference_matcher():
    rng = random.Random(4)
    alphabet = b"ab*+"
    for _ in range(20000):
        pattern = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        line = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert bool(compile_pattern(pattern)(line)) == pattern_matches(pattern, line), (
            pattern, line)


def test_regex_metacharacters_are_literals():
    for char in b".^$?{}[]()|\\-":
        byte = bytes([char])
        assert compile_pattern(b"a" + byte + b"*")(b"a" + byte + b"zz")
        assert not compile_pattern(b"a" + byte)(b"ax")
        assert compile_pattern(b"*" + byte + b"x")(b"qq" + byte + b"x")


def test_every_short_pattern_over_a_small_alphabet():
    words = [bytes(w) for n in range(4) for w in itertools.product(b"a*+", repeat=n)]
    for pattern in words:
        matcher = compile_pattern(pattern)
        for line in words:
            assert bool(matcher(line)) == pattern_matches(pattern, line), (pattern, line)


def select_line(rules, line):
    return selection(rules, "+-", True)[0](line), selection(rules, "eE", False)[0](line)


def test_selection_last_match_wins_with_runits_defaults():
    rules = parse_config(b"-*\n+a*\n-ab*\ne*x\nE*y*\n").rules
    assert select_line(rules, b"q") == (False, False)
    assert select_line(rules, b"aq") == (True, False)
    assert select_line(rules, b"abq") == (False, False)
    assert select_line(rules, b"qx") == (False, True)
    assert select_line(rules, b"qyx") == (False, False)
    assert select_line((), b"anything") == (True, False)


def test_pick_agrees_with_decide_for_random_rule_sets():
    rng = random.Random(7)
    words = [bytes(rng.choice(b"ab*") for _ in range(rng.randint(0, 4))) for _ in range(200)]
    for _ in range(500):
        text = b"".join(rng.choice([b"+", b"-", b"e", b"E"]) + rng.choice(words) + b"\n"
                        for _ in range(rng.randint(0, 5)))
        rules = parse_config(text).rules
        for kinds, default in (("+-", True), ("eE", False)):
            decide, pick = selection(rules, kinds, default)
            expected = [w for w in words if reference_decision(rules, kinds, default, w)]
            assert [w for w in words if decide(w)] == expected, text
            assert (words if pick is None else pick(words)) == expected, text


def reference_decision(rules, kinds, default, line):
    """runit's logmatch: every rule in order, the last match wins."""
    decision = default
    for kind, pattern, _ in rules:
        if kind in kinds and pattern_matches(pattern, line):
            decision = kind in "+e"
    return decision


def test_plain_means_nothing_to_look_at():
    assert parse_config(b"+only*\n").is_plain          # + after the default + changes nothing
    assert not parse_config(b"-x*\n").is_plain
    assert not parse_config(b"e*\n").is_plain
    assert parse_config(b"-*\n+*\n").is_plain
    assert not parse_config(b"-*\n").is_plain
