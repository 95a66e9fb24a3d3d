"""Every line a command writes of an error starts with its prefix (``runit-provision plan:``),
the second problem of the data as the first, for each command that reads data: a message of
several lines is grepped, and told apart from another command's, line by line (issue 59 §5)."""

import pytest

from runit_provision.cli.main import main

# two problems of the data, each a line at its file:line:col
INVALID = "runit:\n  services:\n    web:\n      command: 5\n      nice: x\n"
# a [ never closed: said where it was opened
MALFORMED = "runit:\n  services:\n    web:\n      needs: [db\n    db:\n      run: x\n"

VERBS = [["plan"], ["apply"], ["render", "--out", "{t}/out"], ["verify"], ["status"],
         ["logs"], ["metrics"], ["restart", "web"], ["start", "web"], ["stop", "web"],
         ["once", "web"], ["hup", "web"], ["term", "web"], ["install-runtime", "--check"]]


@pytest.mark.parametrize("verb", VERBS, ids=lambda verb: verb[0])
@pytest.mark.parametrize("text, lines", [(INVALID, 2), (MALFORMED, 1)],
                         ids=["invalid", "malformed"])
def test_every_error_line_starts_with_the_commands_prefix(tmp_path, capsys, verb, text,
                                                          lines):
    data = tmp_path / "data.yaml"
    data.write_text(text)
    (tmp_path / "root").mkdir()
    argv = [word.format(t=tmp_path) for word in verb] + ["--data", str(data)]
    if verb[0] != "render":
        argv += ["--root", str(tmp_path / "root")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    prefix = "runit-provision %s: " % verb[0]
    assert err and all(line.startswith(prefix) for line in err.splitlines()), err
    assert sum(str(data) in line for line in err.splitlines()) == lines, err
    if text is MALFORMED:
        assert "%s:4:14: malformed YAML: this [ is not closed" % data in err


def test_lookup_says_each_line_with_its_prefix(tmp_path, capsys):
    data = tmp_path / "data.yaml"
    data.write_text("a: 1\n\tb: 2\n")
    assert main(["lookup", "a", "--data", str(data)]) == 1
    assert capsys.readouterr().err == (
        "runit-provision lookup: %s:2:1: malformed YAML: a tab: YAML indents with spaces\n"
        % data)
