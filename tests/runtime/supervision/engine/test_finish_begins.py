"""servicedir.finish_begins: our runsv leaves a one-shot's or a timer's ./finish unstarted only
when it is the rendered one — a regular file its owner may execute, not a link, whose first
bytes are the rendered head (docs/jobs.md) — and never waits to find out (a FIFO there)."""

import os

import pytest

from runit_provision.runtime.supervision.engine.servicedir import finish_begins

HEAD = b"#!/bin/sh\n# A one-shot's finish (oneshot: true; docs/jobs.md).\n"


def looked_at(directory):
    fd = os.open(str(directory), os.O_RDONLY | os.O_DIRECTORY)
    try:
        return finish_begins(fd, HEAD)
    finally:
        os.close(fd)


def written(directory, content, mode=0o755):
    finish = directory / "finish"
    finish.write_bytes(content)
    finish.chmod(mode)
    return finish


def test_the_rendered_head_in_an_executable_file_is_the_rendered_finish(tmp_path):
    written(tmp_path, HEAD + b"exit 0\n")
    assert looked_at(tmp_path)


@pytest.mark.parametrize("how", ["other bytes", "shorter", "not executable", "absent",
                                 "a link to it", "a fifo", "a directory"])
def test_anything_else_is_a_finish_to_start(tmp_path, how):
    service = tmp_path / "svc"
    service.mkdir()
    if how == "other bytes":
        written(service, HEAD.replace(b"one-shot", b"one shot"))
    elif how == "shorter":
        written(service, HEAD[:-1])
    elif how == "not executable":
        written(service, HEAD, mode=0o644)
    elif how == "a link to it":
        os.symlink(str(written(tmp_path, HEAD)), str(service / "finish"))
    elif how == "a fifo":
        os.mkfifo(str(service / "finish"))  # would block a plain open: never waited on
    elif how == "a directory":
        (service / "finish").mkdir()
    assert not looked_at(service)
