"""startup/quickparse.py: the daily views' plain command lines read without argparse — the same
values argparse gives, or nothing (argparse reads it), never a command line misread."""

import argparse
import itertools

import pytest

from runit_provision.cli import logs as logs_module
from runit_provision.cli.arguments import line_count
from runit_provision.cli.main import build_parser, parse_command_line
from runit_provision.startup import quickparse


def argparse_values(command, words):
    """What argparse makes of ``command words…`` (as cli/main parses it), or the SystemExit
    code of its usage error."""
    argv = logs_module.prepare_argv([command] + words) if command == "logs" \
        else [command] + words
    try:
        return vars(parse_command_line(build_parser(command), argv, command))
    except SystemExit as exc:
        return exc.code


def quick_values(command, words):
    argv = logs_module.prepare_argv([command] + words) if command == "logs" \
        else [command] + words
    found = quickparse.parse(command, argv[1:])
    return None if found is None else vars(found)


def table_of(parser):
    """A subcommand's argparse parser as a quickparse.Verb's parts: what the table must
    say."""
    kinds = {argparse._StoreTrueAction: quickparse.TRUE,
             argparse._StoreConstAction: quickparse.CONST,
             argparse._AppendAction: quickparse.APPEND,
             argparse._ExtendAction: quickparse.EXTEND}
    options, defaults, positional = {}, dict(parser._defaults), None
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            assert action.nargs == "*", action
            positional, defaults[action.dest] = action.dest, []
            continue
        kind = kinds.get(type(action))
        extra = action.const if kind == quickparse.CONST else None
        if kind is None:
            assert type(action) is argparse._StoreAction, action
            if action.nargs == "+":
                kind = quickparse.MANY
            elif action.type is line_count:
                kind = quickparse.COUNT
            else:
                assert action.nargs is None and action.type is None, action
                kind, extra = quickparse.STORE, action.choices
        elif kind == quickparse.APPEND:
            assert action.nargs is None and action.type is None, action
        for string in action.option_strings:
            options[string] = (action.dest, kind, extra)
        defaults.setdefault(action.dest, action.default)
    exclusive = tuple(tuple(action.dest for action in group._group_actions)
                      for group in parser._mutually_exclusive_groups)
    return positional, options, defaults, exclusive


def test_the_daily_views_are_one_list():
    """A daily view (startup.VIEWS: served from the code bundle, ended at once) has its
    quick table, and only a daily view has one (docs/layout.md, *Adding a day-2 view*)."""
    from runit_provision import startup
    from runit_provision.cli import main

    assert set(quickparse.VERBS) == set(startup.VIEWS)
    assert set(startup.VIEWS) <= set(main.COMMANDS)


@pytest.mark.parametrize("command", sorted(quickparse.VERBS))
def test_each_table_says_what_the_argparse_parser_says(command):
    verb = quickparse.VERBS[command]
    parser = build_parser(command).commands[command]
    assert (verb.positional, verb.options, verb.defaults, verb.exclusive) == table_of(parser)


WORDS = {
    "logs": ["web", "alice/app", "", "-n", "10", "-n5", "-n=3", "--lines=7", "-n", "-1",
             "--since", "-1h", "-S", "today", "-U=-5m", "--until", "now", "-u", "db",
             "--unit=x", "--dir", "/var/log/a", "/var/log/b", "--dir=/d", "--data", "d.yaml",
             "--hiera=h.yaml", "--root", "/r", "--user", "alice", "-o", "cat", "-o",
             "verbose", "--output=json", "--json", "--json=1", "--utc", "--raw", "-g",
             "ERROR", "--grep=a=b", "-r", "-f", "-rf", "--follow", "--rev", "-h", "--help",
             "--", "-", "--facts", "f.yaml", "--passwd", "p", "--group", "g", "--nope"],
    "status": ["web", "db", "", "--only", "a", "b", "--only=c", "--json", "--fact",
               "--logs", "0", "--logs=5", "--logs", "-3", "--logs", "x", "--data", "d.yaml",
               "--hiera", "h.yaml", "--root=/r", "--facts", "f", "--passwd", "p", "--group",
               "g", "--js", "-h", "--", "--json=yes", "--only"],
}


def command_lines(command):
    """Every command line of one to three of the verb's sample words, and a few longer."""
    words = WORDS[command]
    for size in (0, 1, 2, 3):
        yield from (list(line) for line in itertools.permutations(words, size)) \
            if size < 3 else (list(line) for line in itertools.islice(
                itertools.permutations(words, size), 0, None, 37))
    yield ["-n", "10", "web", "--since", "-1h", "db", "-u", "x", "-g", "E", "-r"]
    yield ["--dir", "a", "b", "-n", "3", "--dir", "c", "-o", "cat", "--json", "-o", "cat"]


@pytest.mark.parametrize("command", sorted(quickparse.VERBS))
def test_every_quick_parse_is_argparse_s(command, capsys):
    quick = 0
    for line in command_lines(command):
        found = quick_values(command, line)
        if found is None:
            continue
        quick += 1
        assert found == argparse_values(command, line), line
    capsys.readouterr()  # argparse's usage errors, for the lines it was compared on
    assert quick > 100  # the plain lines were read here


@pytest.mark.parametrize("line", [
    ["logs", "--dir", "/var/log/svc03", "-n", "10"],
    ["logs", "-n", "10", "svc03", "--data", "F", "--root", "/r"],
    ["logs", "--dir", "a", "b", "--since", "-1h"],
    ["logs", "--dir", "a", "b", "-o", "cat"],
    ["status", "svc03", "--data", "F", "--root", "/r"],
    ["status", "--hiera", "/etc/runit-provision/hiera.yaml", "--only", "api", "--logs", "10"],
])
def test_the_daily_lines_are_read_quickly(line):
    assert quick_values(line[0], line[1:]) == argparse_values(line[0], line[1:])


@pytest.mark.parametrize("line", [
    ["logs", "--help"], ["logs", "-rn", "5"], ["logs", "--lin", "5"], ["logs", "-n", "x"],
    ["logs", "-o", "xml"], ["logs", "--data", "a", "--dir", "b"], ["logs", "--", "web"],
    ["status", "--data", "a", "--hiera", "b"], ["status", "--logs", "-1"],
    ["status", "--only"], ["status", "--json=1"], ["plan", "--data", "a"],
])
def test_help_errors_and_the_unusual_are_argparse_s(line):
    assert quickparse.parse(line[0], line[1:]) is None
