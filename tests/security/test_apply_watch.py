"""apply reports a started service that did not stay up with its last log lines (issue 31
item 5; docs/apply.md) — lines root reads from a log directory a user owns.

apprun1's three new services exit at once. Before root's apply, apprun1 prepares two of their
log directories in its home: one's ``current`` a link to a file only root may read, the
other's a FIFO. Root runs the real ``runit-provision apply`` (text, as on a terminal) under
our runtime and the C runit: it exits 1 naming the three, shows what the first logged with
its escape sequences escaped, says the other two logs are unreadable — and never prints the
root-only file, nor waits on the FIFO.
"""

import pytest
import yaml

from ..conftest import OUR_BIN

pytestmark = pytest.mark.slow

MARKER = "root-only-9f3e"
DYING = ["sh", "-c", "printf 'fatal: \\033]0;PWNED\\007 db unreachable\\n'; exit 3"]
# what no line of the output may carry: C0 controls but the tab and newline, DEL, C1
FORBIDDEN = [bytes([byte]) for byte in range(32) if byte not in (9, 10)] + [
    b"\x7f"] + [b"\xc2" + bytes([byte]) for byte in range(0x80, 0xa0)]


def test_the_log_lines_of_a_users_service_that_died_are_read_safely(sandbox):
    sandbox.up()
    secret = sandbox.path("root-only")
    secret.write_text(MARKER + "\n")
    secret.chmod(0o600)
    sandbox.as_user("apprun1", "mkdir -p logs/linked logs/fifo && ln -s %s logs/linked/current"
                               " && mkfifo logs/fifo/current" % secret)
    sandbox.user_services["apprun1"].update(
        {name: {"command": DYING} for name in ("plain", "linked", "fifo")})
    data = sandbox.base / "data.yaml"
    data.write_text(yaml.safe_dump(sandbox.data()))
    done = sandbox.ns.run([OUR_BIN / "runit-provision", "apply", "--data", data, "--wait", "30"],
                          env=sandbox.environ(), text=False,
                          timeout=120)  # a blocking open of the FIFO would never return
    out, err = done.stdout, done.stderr
    assert done.returncode == 1, (out, err)
    for byte in FORBIDDEN:
        assert byte not in out + err, (byte, err)
    assert MARKER.encode() not in out + err
    text = err.decode("utf-8")
    blocks = blocks_of(text)
    assert sorted(blocks) == ["apprun1/fifo", "apprun1/linked", "apprun1/plain"], text
    for why, _ in blocks.values():
        assert why.startswith("died since it was started: "), text
    logged = " fatal: \\x1b]0;PWNED\\x07 db unreachable"
    assert blocks["apprun1/plain"][1][-1].endswith(logged), text
    logs = sandbox.home("apprun1") / "logs"
    assert blocks["apprun1/fifo"][1] == [
        "(%s/fifo/current unreadable: not a regular file)" % logs], text
    # our svlogd leaves the link (and cannot write through it); the C svlogd moves it aside
    # and writes a file of its own: either way, nothing of where the link led
    [linked] = blocks["apprun1/linked"][1][-1:]
    assert linked.endswith(logged) or linked.startswith(
        "(%s/linked/current unreadable: " % logs), text
    assert text.splitlines()[-1] == ("runit-provision apply: 3 services started did not stay "
                                     "up: apprun1/fifo, apprun1/linked, apprun1/plain")


def blocks_of(text):
    """{label: (why, [its log lines])} of the report on stderr (its summary line left out)."""
    found, current = {}, None
    for line in text.splitlines()[:-1]:
        if line.startswith("    ") and current is not None:
            current[1].append(line[4:])
        elif line.startswith("runit-provision apply: ") and ": " in line[23:]:
            label, _, why = line[23:].partition(": ")
            current = found[label] = (why, [])
    return found
