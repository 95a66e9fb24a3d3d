"""hiera merge behaviours on plain values: Puppet's MergeStrategy and deep_merge, with origins."""

import pytest

from runit_provision.errors import DataError
from runit_provision.hiera.merge import NOT_FOUND, strategy_from
from runit_provision.source import Origin


def annotated(value, file, path=()):
    """``(value, origins)`` with a distinct made-up origin for every key and item."""
    origins = {}

    def walk(node, at, line):
        origins[at] = Origin(file, line, len(at) + 1)
        if isinstance(node, dict):
            for number, (key, sub) in enumerate(node.items()):
                walk(sub, at + (key,), line * 10 + number)
        elif isinstance(node, list):
            for number, sub in enumerate(node):
                walk(sub, at + (number,), line * 10 + number)
    walk(value, (), 1)
    return value, origins


def merged(strategy, *levels):
    """Merge values given highest priority first, as levels of a hierarchy."""
    strategy = strategy_from(strategy)
    found = strategy.combine([(lambda level=level: annotated(level[1], level[0]))
                              for level in levels])
    return found


def test_first_returns_the_highest_level_untouched():
    value, origins = merged("first", ("node", {"a": 1}), ("common", {"a": 2, "b": 3}))
    assert value == {"a": 1}
    assert origins[("a",)].file == "node"


def test_unique_flattens_wraps_scalars_and_keeps_first_occurrences():
    value, origins = merged("unique", ("node", [3, [1, 3]]), ("os", 2), ("common", [1, 2, 4]))
    assert value == [3, 1, 2, 4]
    assert [origins[(i,)].file for i in range(4)] == ["node", "node", "os", "common"]


def test_unique_keeps_ruby_equality_one_and_true_differ():
    assert merged("unique", ("a", [1, True]), ("b", [1.0, 1]))[0] == [1, True, 1.0]


def test_unique_of_a_lower_hash_is_an_error():
    with pytest.raises(DataError, match="unique"):
        merged("unique", ("a", [1]), ("b", {"x": 1}))


def test_hash_merges_top_level_keys_lower_order_first():
    value, origins = merged("hash", ("node", {"b": {"x": 1}, "c": 3}),
                            ("common", {"a": 1, "b": {"y": 2}}))
    assert list(value.items()) == [("a", 1), ("b", {"x": 1}), ("c", 3)]
    assert origins[("b", "x")].file == "node" and origins[("a",)].file == "common"
    assert ("b", "y") not in origins


def test_deep_merges_nested_hashes_and_unions_arrays():
    value, origins = merged("deep", ("node", {"web": {"env": {"B": "2"}, "needs": ["q", "db"]}}),
                            ("common", {"web": {"command": "c", "env": {"A": "1"},
                                                "needs": ["db"]}}))
    assert value == {"web": {"command": "c", "env": {"A": "1", "B": "2"}, "needs": ["db", "q"]}}
    assert origins[("web", "command")].file == "common"
    assert origins[("web", "env", "B")].file == "node"
    assert origins[("web", "needs", 0)].file == "common"
    assert origins[("web", "needs", 1)].file == "node"


def test_deep_nil_never_overrides_and_false_is_replaced():
    assert merged("deep", ("node", {"a": None, "b": 1}), ("common", {"a": 5, "b": False}))[0] \
        == {"a": 5, "b": 1}


def test_deep_knockout_of_array_items_strings_and_whole_arrays():
    strategy = {"strategy": "deep", "knockout_prefix": "--"}
    value, origins = merged(strategy,
                            ("node", {"needs": ["--db", "q"], "env": {"B": "--"},
                                      "groups": ["--", "x"]}),
                            ("common", {"needs": ["db", "cache"], "env": {"A": "1", "B": "2"},
                                        "groups": ["a", "b"]}))
    assert value == {"needs": ["cache", "q"], "env": {"A": "1", "B": ""}, "groups": ["x"]}
    assert origins[("env", "B")].file == "node"


def test_deep_knockout_hash_keys_are_not_special_as_in_puppet():
    strategy = {"strategy": "deep", "knockout_prefix": "--"}
    assert merged(strategy, ("node", {"--db": {}}), ("common", {"db": {"c": 1}}))[0] \
        == {"db": {"c": 1}, "--db": {}}


def test_deep_single_level_is_returned_untouched_new_keys_are_self_merged():
    strategy = {"strategy": "deep", "knockout_prefix": "--"}
    assert merged(strategy, ("node", {"x": ["z", "z", "--y"]}))[0] == {"x": ["z", "z", "--y"]}
    assert merged(strategy, ("node", {"x": ["z", "z", "--y"]}), ("common", {}))[0] \
        == {"x": ["z"]}


def test_deep_sort_and_merge_hash_arrays():
    assert merged({"strategy": "deep", "sort_merged_arrays": True},
                  ("a", {"x": [3, 1]}), ("b", {"x": [2]}))[0] == {"x": [1, 2, 3]}
    assert merged({"strategy": "deep", "merge_hash_arrays": True},
                  ("a", {"x": [{"p": 1}]}), ("b", {"x": [{"q": 2}, {"r": 3}]}))[0] \
        == {"x": [{"q": 2, "p": 1}, {"r": 3}]}


def test_nothing_found_is_not_found():
    assert strategy_from("deep").combine([lambda: NOT_FOUND]) is NOT_FOUND


@pytest.mark.parametrize("spec", ["merge_all", {"strategy": "hash", "knockout_prefix": "--"},
                                  {"knockout_prefix": "--"}, {"strategy": "deep", "x": 1}])
def test_bad_merge_specs_are_data_errors(spec):
    with pytest.raises(DataError):
        strategy_from(spec)
