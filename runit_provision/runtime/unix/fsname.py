"""runtime/unix: a file name between bytes and str as ``os.fsencode``/``os.fsdecode`` convert
it, without their code. Theirs is Python in ``os``, which CPython 3.11 keeps deep-frozen in the
interpreter's own data: each object it touches is written (its reference count) on a page of
that data, scattered over 1.7 MB. A user's tree, forked from the fork server, would copy
those pages as its own — about 60 kB for a handful of calls; these functions live with the
rest of our code. ``os``'s are kept where a path may already be the other type (or a
``PathLike``): these take exactly one type.
"""
import sys

_ENCODING = sys.getfilesystemencoding()
_ERRORS = sys.getfilesystemencodeerrors()


def fsdecode(raw):
    """``os.fsdecode`` of bytes.

    >>> fsdecode(b"caf\\xc3\\xa9"), fsdecode(b"\\xff")
    ('café', '\\udcff')
    """
    return raw.decode(_ENCODING, _ERRORS)


def fsencode(text):
    """``os.fsencode`` of a str.

    >>> fsencode("café"), fsencode("\\udcff")
    (b'caf\\xc3\\xa9', b'\\xff')
    """
    return text.encode(_ENCODING, _ERRORS)
