"""initsys: reading a root — links resolved inside it, which init it has, who owns a path."""

import doctest
import importlib
import os
import pkgutil

import pytest

import runit_provision.initsys as initsys
from runit_provision.errors import InstallError
from runit_provision.initsys.detect import detect_init
from runit_provision.apply.fsroot import FsRoot
from runit_provision.initsys.hostview import HostView
from runit_provision.initsys.packages import UNKNOWN, PackageDB, aliases, package_install_command


@pytest.mark.parametrize("name", [m.name for m in pkgutil.iter_modules(initsys.__path__)])
def test_doctests(name):
    module = importlib.import_module("runit_provision.initsys." + name)
    assert doctest.testmod(module).failed == 0


def test_links_resolve_inside_the_root(root):
    # Debian: /etc/service -> runit/runsvdir/current -> /etc/runit/runsvdir/default
    root.dir("/etc/runit/runsvdir/default")
    root.link("/etc/runit/runsvdir/current", "/etc/runit/runsvdir/default")
    root.link("/etc/service", "runit/runsvdir/current")
    view = root.view()
    assert view.resolve("/etc/service") == "/etc/runit/runsvdir/default"
    assert view.is_dir("/etc/service")
    assert view.same_place("/etc/service", "/etc/runit/runsvdir/default")
    assert not view.is_live
    # an absolute link never leads out of the root
    root.link("/etc/escape", "/proc/1")
    assert view.resolve("/etc/escape") == "/proc/1" and not view.is_dir("/etc/escape")


def test_a_link_loop_resolves_to_none(root):
    root.link("/a", "b")
    root.link("/b", "a")
    assert root.view().resolve("/a/x") is None


def test_two_loops_are_not_one_place(root):
    root.link("/a", "b")
    root.link("/b", "a")
    assert not root.view().same_place("/a/x", "/b/y")


def test_the_view_reads_as_the_applier_does(root):
    # a FIFO is not waited on, a link is not read through, an absolute target stays inside
    root.dir("/etc")
    os.mkfifo(str(root.at("/etc/inittab")))
    root.link("/etc/hostname", "/etc/passwd")  # this machine has one; the root has none
    view = root.view()
    assert view.read("/etc/inittab") is None and view.lexists("/etc/inittab")
    assert view.read("/etc/hostname") is None and not view.is_file("/etc/hostname")
    assert view.readlink("/etc/hostname") == "/etc/passwd"


@pytest.mark.skipif(os.geteuid() != 0, reason="gives a link to another user")
def test_a_link_someone_else_owns_is_not_followed(root):
    root.file("/var/service/web/run", "#!/bin/sh\n")
    root.link("/etc/service", "/var/service")
    os.lchown(str(root.at("/etc/service")), 1000, 1000)
    view = root.view()
    assert view.is_link("/etc/service") and view.readlink("/etc/service") == "/var/service"
    assert view.resolve("/etc/service") is None and not view.is_dir("/etc/service")
    assert view.listdir("/etc/service") == [] and not view.lexists("/etc/service/web")


# -- init: auto --------------------------------------------------------------------------------
@pytest.mark.parametrize("build, expected", [
    (lambda r: r.link("/sbin/init", "/lib/systemd/systemd"), "systemd"),
    (lambda r: r.link("/sbin/init", "/usr/local/sbin/runit-init"), "runit"),
    (lambda r: r.file("/etc/inittab", "id:2:initdefault:\n"), "sysvinit"),
    (lambda r: (r.dir("/etc/init"), r.file("/sbin/initctl", "", 0o755)), "upstart"),
    (lambda r: r.file("/usr/lib/systemd/systemd", "", 0o755), "systemd"),
    (lambda r: r.file("/etc/runit/2", "#!/bin/sh\n", 0o755), "runit"),
])
def test_auto_under_a_root_goes_by_the_installed_files(root, build, expected):
    build(root)
    assert detect_init(root.view())[0] == expected


def test_auto_finds_nothing_and_says_what_to_do(root):
    root.dir("/etc")
    with pytest.raises(InstallError, match="init: none to leave init alone"):
        detect_init(root.view())


class LiveView(HostView):
    """The running-host rules on a fake root (is_live forced)."""

    def __init__(self, root):
        super().__init__(root.fs())
        self.is_live = True


@pytest.mark.parametrize("build, expected", [
    (lambda r: r.file("/proc/1/comm", "runit\n"), "runit"),
    (lambda r: (r.file("/proc/1/comm", "systemd\n"), r.dir("/run/systemd/system")), "systemd"),
    (lambda r: (r.file("/proc/1/comm", "init\n"), r.file("/sbin/initctl", "", 0o755)),
     "upstart"),
    (lambda r: (r.file("/proc/1/comm", "init\n"), r.file("/etc/inittab", "")), "sysvinit"),
])
def test_auto_on_the_running_host_goes_by_process_1(root, build, expected):
    build(root)
    assert detect_init(LiveView(root))[0] == expected


def test_a_container_with_runit_installed_but_not_running_is_not_runit(root):
    # this very machine: Debian's runit package (so /etc/runit/2), process 1 something else
    root.file("/proc/1/comm", "process_api\n")
    root.file("/etc/runit/2", "#!/bin/sh\n", 0o755)
    with pytest.raises(InstallError, match="found no init system on this host"):
        detect_init(LiveView(root))


# -- packages ----------------------------------------------------------------------------------
def test_merged_usr_aliases(root):
    root.merged_usr()
    view = root.view()
    assert aliases(view, "/usr/sbin/runit") == ["/sbin/runit", "/usr/sbin/runit"]
    assert aliases(view, "/bin/sv") == ["/bin/sv", "/usr/bin/sv"]
    assert aliases(view, "/usr/local/bin/sv") == ["/usr/local/bin/sv"]


def test_dpkg_ownership_through_aliases_and_diversions(root):
    root.merged_usr()
    root.dpkg(runit=["/.", "/usr/bin", "/usr/bin/sv", "/sbin/runit"],
              **{"coreutils:amd64": ["/usr/bin/env"]})
    root.file("/var/lib/dpkg/diversions", "/usr/bin/chpst\n/usr/bin/chpst.real\nlocal-pkg\n")
    db = PackageDB(root.view())
    assert db.known
    assert db.owner("/usr/bin/sv") == "runit"
    assert db.owner("/usr/sbin/runit") == "runit"  # listed as /sbin/runit
    assert db.owner("/usr/bin/env") == "coreutils"
    assert db.owner("/usr/bin/chpst") == "local-pkg"
    assert db.owner("/usr/local/bin/sv") is None


def test_rpm_is_asked_through_the_query_seam(root):
    root.dir("/var/lib/rpm")
    root.file("/sbin/sv", "", 0o755)
    asked = []

    def query(argv):
        asked.append(argv)
        return (0, "runit\n") if argv[-1] == "/sbin/sv" else (1, "")
    db = PackageDB(root.view(), query)
    assert db.known and db.owner("/sbin/sv") == "runit"
    assert asked == [["rpm", "--root", str(root), "-qf", "--queryformat", "%{NAME}\\n",
                      "/sbin/sv"]]
    assert db.owner("/usr/bin/sv") is None  # missing: nothing to ask
    assert PackageDB(root.view(), lambda argv: (127, "")).owner("/sbin/sv") == UNKNOWN


def test_no_database_is_known_as_such(root):
    root.dir("/etc")
    assert not PackageDB(root.view()).known


@pytest.mark.parametrize("package_file, tools, argv", [
    ("runit_2.1.2-54_amd64.deb", (), ["apt-get", "install", "-y", "--no-install-recommends",
                                      "./runit_2.1.2-54_amd64.deb"]),
    ("/srv/runit-2.1.1-6.el6.x86_64.rpm", ("/usr/bin/yum",),
     ["yum", "install", "-y", "/srv/runit-2.1.1-6.el6.x86_64.rpm"]),
    ("runit.rpm", ("/usr/bin/dnf", "/usr/bin/yum"), ["dnf", "install", "-y", "./runit.rpm"]),
    ("runit.rpm", (), ["rpm", "-U", "--replacepkgs", "./runit.rpm"]),
])
def test_package_install_command(root, package_file, tools, argv):
    for tool in tools:
        root.file(tool, "", 0o755)
    assert package_install_command(root.view(), package_file) == argv


def test_a_package_file_of_unknown_kind_is_refused(root):
    with pytest.raises(InstallError, match="not a .deb or an .rpm"):
        package_install_command(root.view(), "runit.tar.gz")


def test_the_root_slash_is_the_running_host():
    with FsRoot("/") as fs:
        view = HostView(fs)
        assert view.root == "/" and view.is_live
