"""Log directories as svlogd leaves them, written by hand for the pure tier: ``current`` and
rotated ``@….s`` files named by their rotation time, lines stamped as svlogd stamps them."""

import gzip
import os
import time
from pathlib import Path

from runit_provision.logs.files import PlainReader, blocks
from runit_provision.protocol.tai64 import tai64n_label

BASE = 1_700_000_000  # unix seconds of the first line


def stamp(kind, seconds):
    """svlogd's stamp of a unix time (float seconds) in ``kind``."""
    whole = int(seconds)
    nanos = int(round((seconds - whole) * 1e9))
    if kind == "tai64n":
        return tai64n_label(whole, nanos)
    separator = "_" if kind == "human" else "T"
    return time.strftime("%Y-%m-%d" + separator + "%H:%M:%S", time.gmtime(whole)) + \
        ".%05d" % (nanos // 10000)


def line(kind, seconds, text):
    return ("%s %s\n" % (stamp(kind, seconds), text)) if kind else text + "\n"


class LogDir:
    """A log directory being written: ``add(text, at)`` appends a line, ``rotate(at)`` makes
    ``current`` a rotated file named by ``at`` (compressed with ``gzip_it``)."""

    def __init__(self, path, kind="tai64n"):
        self.path, self.kind = Path(path), kind
        self.path.mkdir(parents=True, exist_ok=True)
        self.current = self.path / "current"
        self.current.write_text("")

    def add(self, text, at):
        with open(str(self.current), "a") as handle:
            handle.write(line(self.kind, at, text))

    def rotate(self, at, gzip_it=False):
        name = tai64n_label(int(at), int((at % 1) * 1e9)) + ".s"
        target = self.path / name
        if gzip_it:
            target.write_bytes(gzip.compress(self.current.read_bytes()))
            self.current.write_text("")
        else:
            os.rename(str(self.current), str(target))
            self.current.write_text("")
        return target


def read_blocks(path, **options):
    """``files.blocks`` of the plain file at ``path``, as a list."""
    fd = os.open(str(path), os.O_RDONLY)
    try:
        return list(blocks(PlainReader(fd), **options))
    finally:
        os.close(fd)
