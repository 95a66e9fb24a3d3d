"""logs: what a view selects of its sources and how many of its lines it keeps — the last
``-n`` lines (or the first, newest first), ``--grep``'s matches — on the Batches and Merged
chunks of view.py, for every reader (the ``logs`` verb, ``status NAME``)."""

from .formats import text_of
from .view import Batch, Merged, ReadProblem


def selected(source, since, until, count, reverse, stop_at=None, timed=True, match=None):
    """The batches of ``source`` a view shows, in the order it shows them: from ``since`` to
    ``until`` (keys, or None), the last ``count`` lines (None: all), newest first when
    ``reverse``. ``stop_at``: a follower's StartPoint (view.Source.batches). ``timed=False``:
    the view shows no times and merges nothing (the keys go unread where nothing else needs
    them). ``match``: --grep's compiled pattern, applied before ``count`` counts."""
    if count is not None:
        return _tail_of(source, count, since, until, stop_at, reverse, match)
    if reverse:
        return source.reversed_batches(since, until, match=match)
    return source.batches(since, until, stop_at=stop_at,
                          timed=timed or since is not None or until is not None, match=match)


def first_of(chunks, count):
    """The first ``count`` lines of a stream of Merged chunks."""
    for chunk in chunks:
        if count <= 0:
            return
        if len(chunk) > count:
            chunk = Merged(chunk.lines[:count], chunk.sources[:count], chunk.keys[:count],
                           chunk.exact[:count], chunk.files[:count])
        count -= len(chunk)
        yield chunk


def last_of(chunks, count):
    """The last ``count`` lines of a stream of Merged chunks (held: ``count`` lines)."""
    held, first, total = [], 0, 0  # held[first:]: the chunks kept
    for chunk in chunks:
        held.append(chunk)
        total += len(chunk)
        while first < len(held) and total - len(held[first]) >= count:
            total -= len(held[first])
            held[first] = None
            first += 1
        if first > 64 and first * 2 > len(held):
            del held[:first]
            first = 0
    held = held[first:]
    if held and total > count:
        drop, oldest = total - count, held[0]
        held[0] = Merged(oldest.lines[drop:], oldest.sources[drop:], oldest.keys[drop:],
                         oldest.exact[drop:], oldest.files[drop:])
    return held if count else []


def _tail_of(source, count, since, until, stop_at, reverse, match=None):
    """The last ``count`` lines of ``source``, newest first when ``reverse`` (their merge keys
    negated, as ``Source.reversed_batches`` gives them)."""
    batches = source.tail(count, since, until, stop_at=stop_at, match=match) if count else []
    if reverse:
        flipped = []
        for batch in reversed(batches):
            negated = [-key for key in reversed(batch.keys)]
            flipped.append(Batch(batch.lines[::-1], batch.keys[::-1], negated,
                                 None if batch.stamped is None else batch.stamped[::-1],
                                 batch.file, batch.kind))
        return flipped
    return batches


def guarded(streams, problem):
    """The streams, each wrapped so that a source that cannot be read says so and yields
    nothing more."""
    def said_once(source, batches):
        try:
            yield from batches
        except ReadProblem as exc:
            problem("%s: %s" % (source.label, exc))
    return [(source, said_once(source, batches)) for source, batches in streams]


def matching(chunk, pattern):
    """The lines of a Merged chunk whose text (after its stamp) ``pattern`` finds: what a
    follower shows of new lines under --grep."""
    keep = [index for index, (line, stamped) in enumerate(zip(chunk.lines, chunk.exact))
            if pattern.search(text_of(line, stamped))]
    return Merged([chunk.lines[i] for i in keep], [chunk.sources[i] for i in keep],
                  [chunk.keys[i] for i in keep], [chunk.exact[i] for i in keep],
                  [chunk.files[i] for i in keep])
