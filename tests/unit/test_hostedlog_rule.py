"""Which ``log/run`` the tree hosts itself (the canonical svlogd form, nothing else), and the
file-system identity it takes for ``chpst -u``."""

import os

import pytest

from runit_provision.runtime.hostedlog import Canonical, FsIdentity, canonical_from_run


@pytest.mark.parametrize("text, expected", [
    (b"#!/bin/sh\nexec svlogd -tt ./main\n", Canonical(None, None, ["-tt", "./main"])),
    (b"#!/bin/sh\nexec svlogd main\n", Canonical(None, None, ["main"])),
    (b"#!/bin/sh\nexec /usr/bin/svlogd -t /var/log/web\n",
     Canonical(None, None, ["-t", "/var/log/web"])),
    (b"#!/bin/sh\nexec chpst -u www svlogd -tt ./main\n",
     Canonical("chpst", "www", ["-tt", "./main"])),
    (b"#!/bin/sh\nexec chpst -uwww:adm:log svlogd ./main\n",
     Canonical("chpst", "www:adm:log", ["./main"])),
    (b"#!/bin/sh\nexec /usr/bin/chpst -u :1000:1000 /usr/bin/svlogd ./a ./b\n",
     Canonical("/usr/bin/chpst", ":1000:1000", ["./a", "./b"])),
    # comments, blank lines and surrounding blanks are not shell
    (b"#!/bin/sh\n# written by runit-provision\n\n  exec svlogd -tt ./main  \n\n",
     Canonical(None, None, ["-tt", "./main"])),
    (b"#! /bin/sh\nexec svlogd ./main", Canonical(None, None, ["./main"])),
    (b"#!/bin/sh\nexec svlogd\n", Canonical(None, None, [])),  # svlogd's usage error is svlogd's
])
def test_canonical_forms(text, expected):
    assert canonical_from_run(text) == expected


@pytest.mark.parametrize("text", [
    b"",
    b"exec svlogd ./main\n",                               # no shebang
    b"#!/bin/bash\nexec svlogd ./main\n",                  # another shell
    b"#!/bin/sh -e\nexec svlogd ./main\n",                 # shell options
    b"#!/bin/sh\r\nexec svlogd ./main\r\n",                # CRLF: no /bin/sh\r to exec
    b"#!/bin/sh\nsvlogd ./main\n",                         # not exec'd
    b"#!/bin/sh\nexec 2>&1\nexec svlogd ./main\n",         # two commands
    b"#!/bin/sh\nexec svlogd ./main 2>/dev/null\n",        # a redirection
    b"#!/bin/sh\nexec svlogd \"./main\"\n",                # quotes
    b"#!/bin/sh\nexec svlogd $LOGDIR\n",                   # a variable
    b"#!/bin/sh\nexec svlogd ./main*\n",                   # a glob
    b"#!/bin/sh\nexec svlogd ~/logs\n",                    # tilde expansion
    b"#!/bin/sh\nexec svlogd ./main; echo bye\n",          # a second command
    b"#!/bin/sh\nexec svlogd ./main # comment\n",          # an inline comment
    b"#!/bin/sh\nexec svlogd `pwd`\n",                     # command substitution
    b"#!/bin/sh\nexec env A=1 svlogd ./main\n",            # another program in front
    b"#!/bin/sh\nexec chpst -e ./env svlogd ./main\n",     # other chpst options
    b"#!/bin/sh\nexec chpst -u www -e ./env svlogd ./m\n",
    b"#!/bin/sh\nexec chpst svlogd ./main\n",              # chpst without -u
    b"#!/bin/sh\nexec chpst -u\n",
    b"#!/bin/sh\nexec cat >/dev/null\n",                   # not svlogd at all
    b"#!/bin/sh\nexec multilog t ./main\n",
    b"#!/bin/sh\nexec svlogd-wrapper ./main\n",
    "#!/bin/sh\nexec svlogd ./journal-é\n".encode(),       # not a simple word
])
def test_anything_else_runs_as_a_process(text):
    assert canonical_from_run(text) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="setfsuid needs root")
def test_fs_identity_nests_and_restores():
    """Entered again from inside (a callback of the engine), it still restores our ids."""
    identity = FsIdentity(65534, [65534])
    groups = os.getgroups()
    with identity:
        assert os.getgroups() == [65534]
        with identity:
            assert os.getgroups() == [65534]
        assert os.getgroups() == [65534]
        assert fs_ids() == (65534, 65534)
    assert os.getgroups() == groups
    assert fs_ids() == (os.geteuid(), os.getegid())


def fs_ids():
    """(fsuid, fsgid) of this process, from /proc/self/status."""
    with open("/proc/self/status") as handle:
        fields = {line.split(":")[0]: line.split()[1:] for line in handle}
    return int(fields["Uid"][3]), int(fields["Gid"][3])
