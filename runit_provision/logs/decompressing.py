"""logs: a rotated file a processor compressed (``!gzip``, ``!xz``…; files.open_log knows it by
its magic bytes) read as its plain lines, through the standard library's decompressor — up to
a bound on what it decompresses to (the room's DECOMPRESSED_RATIO, logs/__init__.py): a few bytes of a gzip, bzip2 or
xz stream can hold gigabytes."""

import io
import os

from . import DEFAULT_LIMITS, DecodeError


class Decompressing:
    """A compressed file read as its plain lines, up to ``limit`` bytes decompressed (by
    default the bound of Limits for its size); its errors, and that bound reached, as
    DecodeError."""

    seekable = False

    def __init__(self, fd, module, name, limit=None):
        import importlib
        if limit is None:
            limit = DEFAULT_LIMITS.decompressed(os.fstat(fd).st_size)
        self.name, self.limit, self._left = name, limit, limit
        # the decompressor does not close a file it was handed: ``close`` closes both
        self._raw = io.open(os.dup(fd), "rb")
        self._file = importlib.import_module(module).open(self._raw, "rb")

    def read(self, size):
        try:
            data = self._file.read(min(size, self._left + 1))
        except (OSError, EOFError, ValueError) as exc:
            raise DecodeError("%s: %s" % (self.name, exc or "truncated")) from exc
        if len(data) > self._left:
            raise DecodeError("%s: decompressed past %d bytes, the bound for a compressed file "
                              "of %d bytes: the rest not read" % (
                                  self.name, self.limit, os.fstat(self._raw.fileno()).st_size))
        self._left -= len(data)
        return data

    def close(self):
        try:
            self._file.close()
        finally:
            self._raw.close()

