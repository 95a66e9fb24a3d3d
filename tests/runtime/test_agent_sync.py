"""``AgentIO.when_done``: root's word that a user's agent has done everything asked so far —
what a supervisor that exits waits for before it lets ``supervise/ok`` go (runsv gone, for
``sv``). Without it ``apply`` (``sv -w exit``, then the retired service's removal) met the
agent's last status write in the directory it was emptying: "Directory not empty".

Real agents (``agent.run`` in a forked child, test_agent_gone.py's), stopped so that the
order is the test's and not the machine's.
"""

import os
import signal

import pytest

from .test_agent_gone import setting, turn_until  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow


def side_dir(tmp_path):
    side = tmp_path / "service" / "web"
    (side / "supervise").mkdir(parents=True)
    return side, os.open(str(side), os.O_RDONLY | os.O_DIRECTORY)


def test_done_only_once_the_agent_did_the_writes_asked_before(setting, tmp_path):
    loop, io, agents, _base, _quiet, errors = setting
    side, side_fd = side_dir(tmp_path)
    status = side / "supervise" / "status"
    try:
        pid, _ = agents.start()
        os.kill(pid, signal.SIGSTOP)
        io.write_files(side_fd, [(False, "supervise/status", b"down\n")], "",
                       lambda *said: errors.append(said))
        seen = []
        io.when_done(lambda: seen.append(status.exists()))
        assert not turn_until(loop, lambda: seen, timeout=0.5)  # the agent does nothing now
        os.kill(pid, signal.SIGCONT)
        assert turn_until(loop, lambda: seen), errors
        assert seen == [True] and errors == []  # the write was done when it was said done
    finally:
        os.close(side_fd)


def test_an_agent_killed_owing_the_work_does_not_hold_it_for_good(setting, tmp_path):
    """The work goes to the next agent, whenever one comes: waiting for it would keep a
    service's ``ok`` held — runsv up, for ``sv`` — with nobody coming."""
    loop, io, agents, _base, _quiet, errors = setting
    side, side_fd = side_dir(tmp_path)
    seen = []
    try:
        agents.killed_owing(lambda: (
            io.write_files(side_fd, [(False, "supervise/status", b"down\n")], "",
                           lambda *said: errors.append(said)),
            io.when_done(lambda: seen.append("done"))))
        assert turn_until(loop, lambda: seen) and seen == ["done"]
        assert not (side / "supervise" / "status").exists()  # the next agent's to write
        agents.start()
        assert turn_until(loop, lambda: (side / "supervise" / "status").exists()), errors
    finally:
        os.close(side_fd)


def test_with_no_agent_running_it_is_at_once(setting):
    _loop, io, _agents, _base, _quiet, _errors = setting
    seen = []
    io.when_done(lambda: seen.append("done"))
    assert seen == ["done"]
