"""model: a directory's POSIX access ACL as the kernel holds it — the bytes of the
``system.posix_acl_access`` extended attribute, read and written. Pure.

The format is the kernel's (include/uapi/linux/posix_acl_xattr.h): a little-endian u32 version
(2), then one 8-byte entry per line of ``getfacl``'s — u16 tag, u16 permission bits, u32 id
(a uid or gid; ``NO_ID`` for the entries that name none) — sorted by tag, then id.

``readers_acl`` is the one ACL the renderer asks for: the mode's owner, group and other, plus
read and search for each reader, as journald gives each user their journal file. An ACL is a
tuple of ``(tag, perm, id)`` entries in the kernel's order; the kernel keeps the mode's group
bits equal to the mask, so a directory with readers is given group bits that hold r-x.
"""

import errno
import struct

from ..errors import ProtocolError

XATTR = "system.posix_acl_access"
# the errnos of a file system that keeps no ACL (one errno on Linux, two names)
UNSUPPORTED = frozenset((errno.ENOTSUP, errno.EOPNOTSUPP))
VERSION = 2
NO_ID = 0xFFFFFFFF

USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
READ_SEARCH = 0o5

_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")
_NAMED = (USER, GROUP)
_WORDS = {USER_OBJ: "user", USER: "user", GROUP_OBJ: "group", GROUP: "group", MASK: "mask",
          OTHER: "other"}


def readers_acl(mode, uids):
    """The access ACL of a directory of ``mode`` that the users ``uids`` may also read and
    search: named entries r-x, the mask the union of the group class (setfacl's rule).

    >>> readers_acl(0o750, [1001]) == ((USER_OBJ, 7, NO_ID), (USER, 5, 1001),
    ...                                (GROUP_OBJ, 5, NO_ID), (MASK, 5, NO_ID), (OTHER, 0, NO_ID))
    True
    >>> readers_acl(0o750, []) == acl_of_mode(0o750)  # no reader: the mode says it all
    True
    """
    if not uids:
        return acl_of_mode(mode)
    group = (mode >> 3) & 7
    return _in_order([(USER_OBJ, (mode >> 6) & 7, NO_ID), (GROUP_OBJ, group, NO_ID),
                      (MASK, group | READ_SEARCH, NO_ID), (OTHER, mode & 7, NO_ID)]
                     + [(USER, READ_SEARCH, uid) for uid in set(uids)])


def acl_of_mode(mode):
    """The three entries a mode is, as the kernel shows a file with no ACL."""
    return ((USER_OBJ, (mode >> 6) & 7, NO_ID), (GROUP_OBJ, (mode >> 3) & 7, NO_ID),
            (OTHER, mode & 7, NO_ID))


def acl_to_bytes(acl):
    """The xattr's value for ``acl``.

    >>> acl_to_bytes(acl_of_mode(0o750)).hex()
    '0200000001000700ffffffff04000500ffffffff20000000ffffffff'
    """
    return _HEADER.pack(VERSION) + b"".join(_ENTRY.pack(*entry) for entry in _in_order(acl))


def acl_from_bytes(data):
    """The ACL an xattr's value holds; ProtocolError for anything but a well-formed one.

    >>> acl_from_bytes(acl_to_bytes(readers_acl(0o750, [7]))) == readers_acl(0o750, [7])
    True
    >>> acl_from_bytes(b"\\x01\\0\\0\\0")
    Traceback (most recent call last):
    ...
    runit_provision.errors.ProtocolError: not a version 2 POSIX ACL (version 1)
    """
    if len(data) < _HEADER.size or (len(data) - _HEADER.size) % _ENTRY.size:
        raise ProtocolError("not a POSIX ACL: %d bytes" % len(data))
    version = _HEADER.unpack_from(data)[0]
    if version != VERSION:
        raise ProtocolError("not a version 2 POSIX ACL (version %d)" % version)
    acl = tuple(_ENTRY.iter_unpack(data[_HEADER.size:]))
    for tag, perm, _ in acl:
        if tag not in _WORDS or perm & ~7:
            raise ProtocolError("not a POSIX ACL entry: tag %#x, perm %#o" % (tag, perm))
    return acl


def extended(acl):
    """The entries of ``acl`` the mode does not say: the named ones, the mask — and the
    owning group's, which the mode's group bits no longer are once there is a mask. Empty:
    an ACL the mode says whole (the kernel keeps none).

    >>> extended(acl_of_mode(0o750))
    ()
    >>> words(extended(readers_acl(0o750, [1001])))
    'user:1001:r-x,group::r-x,mask::r-x'
    """
    if not any(tag in _NAMED or tag == MASK for tag, _, _ in acl):
        return ()
    return _in_order(entry for entry in acl if entry[0] not in (USER_OBJ, OTHER))


def words(acl):
    """``acl`` as getfacl's short text says it (``none`` for no entry at all).

    >>> words(readers_acl(0o750, [1001]))
    'user::rwx,user:1001:r-x,group::r-x,mask::r-x,other::---'
    """
    if not acl:
        return "none"
    return ",".join("%s:%s:%s" % (_WORDS[tag], "" if ident == NO_ID else ident, _perm(perm))
                    for tag, perm, ident in acl)


def _in_order(entries):
    """The kernel's order: by tag, then id."""
    return tuple(sorted(entries, key=lambda entry: (entry[0], entry[2])))


def _perm(perm):
    return "".join(letter if perm & bit else "-" for letter, bit in (("r", 4), ("w", 2),
                                                                      ("x", 1)))
