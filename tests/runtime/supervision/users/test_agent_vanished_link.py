"""A link of the user's in their tree's directory that is gone between root's look at the
directory and its open of the service (the user removed it, or made its target unreachable,
in that window — what ``tests/security/test_undeclared_visible.py`` met under load, as the user
removed links of theirs to root's and another user's services): the open is that service's
failure, said as runsv's fatal message, and the agent lives on — it died of it (an
AttributeError out of ``servicedir.open_service``'s clean-up, the agent's exit 111), a
denial of service the user could cause on their own tree at will.

Real agents (``agent.run`` in a forked child, test_agent_gone.Agents) on root's real AgentIO;
the window made deterministic: the link planted, looked at (``list``), then taken away, then
the service opened.
"""

import errno
import os

import pytest

from runit_provision.errors import FatalError

from .test_agent_gone import setting, turn_until  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow


def _asked(loop, ask):
    """``ask(done)``'s answer, once the agent gave it."""
    got = []
    ask(got.append)
    assert turn_until(loop, lambda: got), "no answer"
    return got[0]


@pytest.mark.parametrize("how", ["removed", "target unreachable"])
def test_a_link_gone_between_the_look_and_the_open_is_that_services_failure(setting, tmp_path,
                                                                          how):
    loop, io, agents, _base, _quiet, errors = setting
    target = tmp_path / "elsewhere" / "svc"
    (target / "supervise").mkdir(parents=True)
    tree = agents.tree
    os.symlink(str(target), str(tree / "peek"))
    pid, link = agents.start()
    listing = _asked(loop, lambda done: io.list_services(str(tree), done))
    assert [name for name, _ in listing.entries] == ["peek"]
    if how == "removed":
        os.unlink(str(tree / "peek"))
    else:
        os.rename(str(tmp_path / "elsewhere"), str(tmp_path / "moved"))
    found = _asked(loop, lambda done: io.open_service(str(tree / "peek"), done))
    assert isinstance(found, FatalError), found
    assert str(found) == "unable to change to directory: file does not exist"
    # the agent lives on, and answers the next request
    assert link.is_open and os.waitpid(pid, os.WNOHANG) == (0, 0)
    again = _asked(loop, lambda done: io.list_services(str(tree), done))
    assert not isinstance(again, OSError), again  # AgentGone, had it died
    gone = [(name, found.errno) for name, found in again.entries]
    assert gone == ([] if how == "removed" else [("peek", errno.ENOENT)])
    assert link.is_open and errors == []
