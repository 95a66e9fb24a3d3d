"""Ctrl-C in an apply's file steps, landed at a chosen moment through the ``fs`` seam: SIGINT
sent to this process right after the N-th call of one of FsRoot's writes did its work — a
directory made, a file written to its temp name, the sync, a rename into place, a link —
as a terminal's Ctrl-C lands at any moment. Whatever the moment, what the Result says was
done (what ``Done before stopping:`` counts) is exactly what the disk holds, and no temp
file is left behind."""

import os
import signal

import pytest

from runit_provision.apply.fsroot import FsRoot, is_temp_name
from runit_provision.apply.steps import Action, PathStep
from runit_provision.errors import Interrupted

from .test_job import Host, data_text

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owners are set: needs root")


def a_function_call():
    """Nothing: calling it is where Python runs a handler that a signal left pending."""


def ctrl_c_after(fs, method, count):
    """``fs`` whose ``method`` sends SIGINT to this process right after its ``count``-th
    call did its work."""
    real, calls = getattr(fs, method), []

    def then_ctrl_c(*args, **kwargs):
        done = real(*args, **kwargs)
        calls.append(args)
        if len(calls) == count:
            signal.raise_signal(signal.SIGINT)
            a_function_call()  # the KeyboardInterrupt lands here, unless it is held back
        return done
    setattr(fs, method, then_ctrl_c)
    return fs


@pytest.fixture
def host(tmp_path):
    host = Host(tmp_path)
    yield host
    host.fs.close()


@pytest.mark.parametrize("method, count", [
    ("make_dir", 1), ("make_dir", 4), ("write_temp", 1), ("write_temp", 6), ("sync", 1),
    ("rename_temp", 1), ("rename_temp", 5), ("make_symlink", 1)])
def test_ctrl_c_at_any_file_step_leaves_done_what_the_disk_holds(host, method, count):
    host.fs.close()
    host.fs = ctrl_c_after(FsRoot("/"), method, count)
    job = host.job(data_text(host.base))
    plan = job.plan()
    with pytest.raises(Interrupted) as raised:
        job.execute(plan)
    done = raised.value.result.done
    said_created = sorted(step.path for step, _ in done if step.action is Action.CREATE)
    on_disk = sorted(step.path for step in plan.steps if isinstance(step, PathStep)
                     and step.action is Action.CREATE and os.path.lexists(step.path))
    assert said_created == on_disk
    assert 0 < len(on_disk) < len([step for step in plan.steps if step.is_change])
    left = [os.path.join(top, name) for top, dirs, files in os.walk(str(host.base))
            for name in dirs + files if is_temp_name(name)]
    assert left == []
