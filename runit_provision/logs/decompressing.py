"""logs: a rotated file a processor compressed (``!gzip``, ``!xz``…; files.open_log knows it by
its magic bytes) read as its plain lines, through the standard library's decompressor."""

import io
import posix

from .files import DecodeError


class Decompressing:
    """A compressed file read as its plain lines; its errors as DecodeError."""

    seekable = False

    def __init__(self, fd, module, name):
        import importlib
        self.name = name
        # the decompressor does not close a file it was handed: ``close`` closes both
        self._raw = io.open(posix.dup(fd), "rb")
        self._file = importlib.import_module(module).open(self._raw, "rb")

    def read(self, size):
        try:
            return self._file.read(size)
        except (OSError, EOFError, ValueError) as exc:
            raise DecodeError("%s: %s" % (self.name, exc or "truncated")) from exc

    def close(self):
        try:
            self._file.close()
        finally:
            self._raw.close()
