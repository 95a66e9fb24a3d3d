"""A directory's access ACL in the kernel's bytes (model/acl.py): the layout the kernel
documents (include/uapi/linux/posix_acl_xattr.h), checked against bytes written by hand, the
order it requires, and every malformed value refused; and the readers' ACL journald's shape."""

import struct

import pytest

from runit_provision.errors import ProtocolError, RenderError
from runit_provision.model.acl import (
    GROUP, GROUP_OBJ, MASK, NO_ID, OTHER, USER, USER_OBJ, acl_from_bytes, acl_of_mode,
    acl_to_bytes, extended, readers_acl, words)
from runit_provision.model.tree import Directory

# getfacl: user::rwx user:1000:r-x group::r-x mask::r-x other::--- (what setfacl writes)
BY_HAND = bytes.fromhex(
    "02000000"                    # version 2, little-endian
    "0100" "0700" "ffffffff"      # USER_OBJ rwx
    "0200" "0500" "e8030000"      # USER r-x 1000
    "0400" "0500" "ffffffff"      # GROUP_OBJ r-x
    "1000" "0500" "ffffffff"      # MASK r-x
    "2000" "0000" "ffffffff")     # OTHER ---


def test_the_readers_acl_is_the_bytes_setfacl_writes():
    acl = readers_acl(0o750, [1000])
    assert acl_to_bytes(acl) == BY_HAND
    assert acl_from_bytes(BY_HAND) == acl
    assert words(acl) == "user::rwx,user:1000:r-x,group::r-x,mask::r-x,other::---"


def test_entries_are_written_by_tag_then_id_whatever_order_they_come_in():
    acl = readers_acl(0o750, [1002, 7, 1000, 7])
    assert [ident for tag, _, ident in acl if tag == USER] == [7, 1000, 1002]  # once, by id
    shuffled = tuple(reversed(acl)) + ((GROUP, 5, 40), (USER, 4, 3))
    data = acl_to_bytes(shuffled)
    tags_ids = [(tag, ident) for tag, _, ident in struct.iter_unpack("<HHI", data[4:])]
    assert tags_ids == sorted(tags_ids)


def test_the_mask_holds_the_group_class():
    """setfacl's rule: the mask is the union of the owning group's and the named entries'."""
    assert dict((tag, perm) for tag, perm, _ in readers_acl(0o770, [5]))[MASK] == 0o7
    assert dict((tag, perm) for tag, perm, _ in readers_acl(0o750, [5]))[MASK] == 0o5


def test_extended_is_what_the_mode_does_not_say():
    assert extended(acl_of_mode(0o750)) == ()
    assert extended(readers_acl(0o750, [1000])) == (
        (USER, 5, 1000), (GROUP_OBJ, 5, NO_ID), (MASK, 5, NO_ID))
    assert words(()) == "none"


@pytest.mark.parametrize("data,why", [
    (b"", "not a POSIX ACL: 0 bytes"),
    (b"\x02\0\0\0\x01\0", "not a POSIX ACL: 6 bytes"),
    (b"\x01\0\0\0", "not a version 2 POSIX ACL (version 1)"),
    (b"\x02\0\0\0" + struct.pack("<HHI", 0x40, 7, NO_ID), "not a POSIX ACL entry: tag 0x40"),
    (b"\x02\0\0\0" + struct.pack("<HHI", USER_OBJ, 8, NO_ID), "perm 0o10"),
])
def test_a_malformed_value_is_refused(data, why):
    with pytest.raises(ProtocolError, match=why.replace("(", r"\(").replace(")", r"\)")):
        acl_from_bytes(data)


def test_every_tag_is_the_kernels():
    assert (USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER) == (0x01, 0x02, 0x04, 0x08, 0x10,
                                                               0x20)


def test_a_directory_with_readers_gives_its_group_r_x():
    """The kernel shows the mask as the mode's group bits: a mode without r-x there would
    never match what it holds."""
    assert Directory("/d", 0o750, readers=["alice"]).readers == ("alice",)
    with pytest.raises(RenderError, match="gives its group r-x too, not 0700"):
        Directory("/d", 0o700, readers=["alice"])
