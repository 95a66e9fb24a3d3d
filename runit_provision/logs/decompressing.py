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
        self._file = importlib.import_module(module).open(io.open(posix.dup(fd), "rb"), "rb")

    def read(self, size):
        try:
            return self._file.read(size)
        except (OSError, EOFError, ValueError) as exc:
            raise DecodeError("%s: %s" % (self.name, exc or "truncated")) from exc

    def close(self):
        self._file.close()
