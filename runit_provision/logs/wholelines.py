"""logs: bytes that come in chunks — a decompressor's, a follower's reads of a growing file —
cut into blocks of whole lines, with the line bound (LINE_MAX, logs/__init__.py): a line longer is cut
there and marked, the rest of it dropped up to its newline. Between chunks it holds at most
that many bytes of an unfinished line, in pieces: joined once, when the line ends (never
``rest + data`` on every chunk — quadratic in a line without a newline)."""

from . import cut_line


class WholeLines:
    """Feed it chunks (``feed``), take blocks of whole lines; ``rest()`` at the end is the
    unfinished last line. ``skipping``: the rest of a cut line is being dropped (a reader
    of a plain file may jump a hole meanwhile: files.next_data).

    >>> lines = WholeLines(4)
    >>> lines.feed(b"ab\\ncd"), lines.feed(b"efgh"), lines.feed(b"ij\\nk"), lines.rest()
    ([b'ab\\n'], [b'cdef...[cut: longer than 4 bytes]\\n'], [], b'k')
    """

    __slots__ = ("line_max", "pieces", "held", "skipping")

    def __init__(self, line_max):
        self.line_max, self.pieces, self.held, self.skipping = line_max, [], 0, False

    def feed(self, data):
        """The blocks of whole lines ``data`` completes (a list, maybe empty)."""
        found = []
        if self.skipping:
            end = data.find(b"\n")
            if end < 0:
                return found
            self.skipping = False
            data = data[end + 1:]
        last = data.rfind(b"\n") + 1
        start = 0
        if last and self.pieces:  # the held line ends in this chunk
            start = data.find(b"\n") + 1
            self.pieces.append(data[:start])
            line = b"".join(self.pieces)
            self.pieces, self.held = [], 0
            found.append(line if len(line) <= self.line_max + 1
                         else cut_line(line[:self.line_max], self.line_max) + b"\n")
        if last > start:
            found += self._bounded(data[start:last] if start or last < len(data) else data)
        if last < len(data):
            self._hold(data[last:], found)
        return found

    def rest(self):
        """The unfinished last line (b"" when none, or when it was cut)."""
        rest = b"" if self.skipping else b"".join(self.pieces)
        self.pieces, self.held = [], 0
        return rest

    def _hold(self, piece, found):
        self.pieces.append(piece)
        self.held += len(piece)
        if self.held > self.line_max:
            head = b"".join(self.pieces)[:self.line_max]
            found.append(cut_line(head, self.line_max) + b"\n")
            self.pieces, self.held, self.skipping = [], 0, True

    def _bounded(self, block):
        """``block`` (whole lines) with each line longer than the bound cut: a window of
        line_max + 1 bytes without a newline is such a line — looked for a window at a time
        (a chunk of 1 MiB is ~16 rfinds), never line by line."""
        line_max = self.line_max
        if len(block) <= line_max + 1:
            return [block]
        found, kept, position = [], 0, 0
        while position + line_max < len(block):
            end = block.rfind(b"\n", position, position + line_max + 1)
            if end >= 0:
                position = end + 1
                continue
            if position > kept:
                found.append(block[kept:position])
            found.append(cut_line(block[position:position + line_max], line_max) + b"\n")
            position = kept = block.find(b"\n", position + line_max) + 1
        if kept < len(block):
            found.append(block[kept:] if kept else block)
        return found
