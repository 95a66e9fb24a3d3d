"""The sandbox file (protocol/process/sandbox.py) and sandbox-run's pure plan: what it mounts,
what it remounts read-only, which capabilities it keeps (docs/sandbox.md)."""

import pytest

from runit_provision.protocol.process.sandbox import (
    CAPABILITIES, KEYS, Sandbox, capability_mask, capability_number, spec_bytes,
    spec_from_bytes)
from runit_provision.runtime.sandboxrun import (
    Kind, Mount, kept_capabilities, mounts_for, parse_argv, read_only_remounts)

INACCESSIBLE, READ_ONLY, READ_WRITE, TMPFS = (
    Kind.INACCESSIBLE, Kind.READ_ONLY, Kind.READ_WRITE, Kind.TMPFS)

EVERY_SETTING = Sandbox(
    no_new_privileges=True, capabilities=["net_bind_service", "net_raw"], private_tmp=True,
    protect_system="strict", protect_home="read-only",
    read_write_paths=["/var/lib/app", "-/srv/a b,c"], read_only_paths=["/opt/x\\y"],
    inaccessible_paths=["/var/secret"], private_devices=True, private_network=True,
    protect_kernel=True)


def test_every_setting_round_trips():
    data = spec_bytes(EVERY_SETTING)
    assert data.count(b"\n") == 1 and data.startswith(b"sandbox 1 ")
    assert spec_from_bytes(data) == EVERY_SETTING


@pytest.mark.parametrize("key", KEYS)
def test_each_setting_on_alone_round_trips(key):
    value = {"capabilities": [], "protect_system": "full", "protect_home": "tmpfs",
             "read_write_paths": ["/a"], "read_only_paths": ["/b"],
             "inaccessible_paths": ["/c"]}.get(key, True)
    sandbox = Sandbox(**{key: value})
    assert spec_from_bytes(spec_bytes(sandbox)) == sandbox != Sandbox()


def test_no_capabilities_is_not_no_setting():
    """``capabilities: []`` empties the bounding set; no key leaves it alone."""
    assert spec_bytes(Sandbox(capabilities=[])) == b"sandbox 1 capabilities=\n"
    assert spec_bytes(Sandbox()) == b"sandbox 1\n"
    assert spec_from_bytes(b"sandbox 1\n").capabilities is None


@pytest.mark.parametrize("data, why", [
    (b"", "one line"),
    (b"sandbox 1 private_tmp", "one line"),
    (b"sandbox 1\nsandbox 1\n", "one line"),
    (b"\x00\xff garbage\n", "not ASCII"),
    (b"garbage\n", "not a sandbox file"),
    (b"sandbox 2 private_tmp\n", "not a sandbox file"),
    (b"sandbox 1 private_users\n", "unknown setting: private_users"),
    (b"sandbox 1 private_tmp=yes\n", "private_tmp: a flag takes no value"),
    (b"sandbox 1 protect_system\n", "expected protect_system=VALUE"),
    (b"sandbox 1 protect_system=yes\n", "protect_system=yes: not one of true, full, strict"),
    (b"sandbox 1 protect_home=no\n", "not one of true, read-only, tmpfs"),
    (b"sandbox 1 capabilities=net_bind_service,cap_foo\n", "unknown capability: cap_foo"),
    (b"sandbox 1 read_write_paths=var/lib\n", "not an absolute, normalised path: var/lib"),
    (b"sandbox 1 read_only_paths=/a/../b\n", "not an absolute, normalised path"),
    (b"sandbox 1 inaccessible_paths=\n", "an empty list is written as no word"),
    (b"sandbox 1 read_only_paths=/a\\09\n", "a bad escape"),
    (b"sandbox 1 private_tmp private_tmp\n", "private_tmp: given twice"),
])
def test_anything_else_is_refused_saying_why(data, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(")):
        spec_from_bytes(data)


def test_capability_names_are_the_kernels():
    assert capability_number("CAP_NET_BIND_SERVICE") == 10 == capability_number("net_bind_service")
    assert CAPABILITIES[21] == "sys_admin" and CAPABILITIES[40] == "checkpoint_restore"
    assert capability_mask([0, 40]) == 0x10000000001


def test_the_mounts_parents_first_named_paths_win():
    mounts = mounts_for(Sandbox(protect_system="full", read_write_paths=["/etc/app"],
                                read_only_paths=["/usr"], inaccessible_paths=["-/etc/app"]))
    assert [mount.path for mount in mounts] == ["/boot", "/efi", "/etc", "/etc/app", "/usr"]
    # named: inaccessible beats read-write at one path; the named /usr is required
    assert mounts[3] == Mount("/etc/app", INACCESSIBLE, False)
    assert mounts[4] == Mount("/usr", READ_ONLY, True)


def test_the_settings_mounts():
    paths = {mount.path: mount.kind for mount in mounts_for(EVERY_SETTING)}
    assert paths["/"] == READ_ONLY and paths["/tmp"] == TMPFS and paths["/var/tmp"] == TMPFS
    assert paths["/home"] == READ_ONLY and paths["/dev"] == Kind.PRIVATE_DEV
    assert paths["/sys"] == READ_ONLY and paths["/proc/sys"] == READ_ONLY  # protect_kernel
    assert paths["/proc"] == READ_WRITE and paths["/proc/kcore"] == INACCESSIBLE
    assert paths["/sys/class/net"] == Kind.SYSFS_NET and paths["/var/lib/app"] == READ_WRITE
    assert paths["/srv/a b,c"] == READ_WRITE and paths["/opt/x\\y"] == READ_ONLY


def test_each_mount_is_governed_by_the_nearest_sandbox_path():
    mounts = [Mount("/", READ_ONLY), Mount("/proc", READ_WRITE), Mount("/proc/sys", READ_ONLY),
              Mount("/tmp", TMPFS), Mount("/home", INACCESSIBLE)]
    table = [("/", "rw,relatime"), ("/proc", "rw,nosuid,nodev,noexec"),
             ("/proc/sys", "rw,nosuid"), ("/proc/sys/fs/binfmt_misc", "rw,relatime"),
             ("/tmp", "rw"), ("/tmp/x", "rw"), ("/home", "rw,nodev"), ("/home", "ro,nosuid"),
             ("/boot", "rw,noexec")]
    # parents first; of two mounts at /home, the flags of the one on top (listed last)
    assert read_only_remounts(mounts, table) == [
        ("/", 0), ("/boot", 8), ("/home", 2), ("/proc/sys", 2), ("/proc/sys/fs/binfmt_misc", 0)]
    assert read_only_remounts([], table) == []


def test_the_capabilities_kept():
    assert kept_capabilities(Sandbox()) is None
    assert kept_capabilities(Sandbox(capabilities=[])) == []
    assert kept_capabilities(Sandbox(capabilities=["sys_module", "kill"],
                                     protect_kernel=True)) == [5]
    everything_but = kept_capabilities(Sandbox(private_devices=True))
    assert 27 not in everything_but and 17 not in everything_but and 21 in everything_but


def test_the_command_line():
    assert parse_argv(["sandbox-run", "spec", "prog", "-u", "x"]) == (
        "spec", None, ["prog", "-u", "x"])
    assert parse_argv(["sandbox-run", "spec", "-u", "nobody:nogroup", "prog"]) == (
        "spec", "nobody:nogroup", ["prog"])
    assert parse_argv(["sandbox-run", "spec", "-unobody", "prog"]) == ("spec", "nobody", ["prog"])
    for short in (["sandbox-run"], ["sandbox-run", "spec"], ["sandbox-run", "spec", "-u"],
                  ["sandbox-run", "spec", "-u", "nobody"]):
        assert parse_argv(short) is None
