"""``runit-provision import`` tells the truth (issue 31, item 9), through the real CLI on trees
a real ``apply --root`` made in a temporary directory:

- owners are compared as ``plan`` compares them — names to numbers through the databases
  every command reads (``Databases.ids_of``) — so a tree ``plan`` calls clean imports with
  exit 0, whatever databases name its owners (the host's included);
- ``--into`` says every top-level key it adds or changes, and adds no relocation
  (``sv_dir``, ``service_dir``, ``log_dir``: they move every service of the node the file
  does not place) unless ``--relocate``;
- a file import cannot read is said as it is: missing, not a regular file, or too big.
"""

import os
import pwd

import pytest
import yaml

from runit_provision.cli.main import main

from .test_import import HIERA_FILE, added_lines_only

HOST_LOGIN = "www-data"  # a login of the host's own passwd (Debian's): no file names it here


def run_cli(*argv):
    return main([str(arg) for arg in argv])


def plain_root(tmp_path):
    """A --root DIR without etc/passwd or etc/group: every command asks the host's."""
    root = tmp_path / "root"
    root.mkdir()
    return root


def applied(root, tmp_path, text):
    data = tmp_path / "applied.yaml"
    data.write_text(text)
    assert run_cli("apply", "--data", data, "--root", root, "--profile-d", "none") == 0
    return data


def host_login():
    try:
        return pwd.getpwnam(HOST_LOGIN)
    except KeyError:
        pytest.skip("the host has no %s login" % HOST_LOGIN)


# -- owners: one resolution, plan's ---------------------------------------------------------------
USERS_TREE = """runit:
  init: none
  runtime: system
  services:
    plain: {command: /bin/true}
  users:
    %s:
      home: %s
      services:
        notebook: {command: "/usr/bin/jupyter lab"}
"""


def test_a_tree_plan_calls_clean_imports_clean_with_the_hosts_accounts(tmp_path, capsys):
    """No etc/passwd under --root, no --passwd: the host names the user's owners. Import
    used to name only the owners of the system's services, and listed every file of the
    user's tree as ``owner 33 would become www-data`` (33 *is* www-data)."""
    entry = host_login()
    root = plain_root(tmp_path)
    (root / entry.pw_dir.lstrip("/")).mkdir(parents=True)
    data = applied(root, tmp_path, USERS_TREE % (HOST_LOGIN, entry.pw_dir))
    assert run_cli("plan", "--data", data, "--root", root, "--profile-d", "none") == 0
    capsys.readouterr()
    out = tmp_path / "imported.yaml"
    code = run_cli("import", "--root", root, "/etc/sv", "--out", out)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "would become" not in err and "would become" not in out.read_text()
    imported = yaml.safe_load(out.read_text())["runit"]
    assert sorted(imported["users"][HOST_LOGIN]["services"]) == ["notebook"]


def test_an_owner_that_differs_by_number_is_still_listed(tmp_path, capsys):
    """The other way round: a file of the user's tree owned by another uid is a change plan
    would make, said with numbers (what plan compares) and the names the databases give."""
    entry = host_login()
    root = plain_root(tmp_path)
    (root / entry.pw_dir.lstrip("/")).mkdir(parents=True)
    applied(root, tmp_path, USERS_TREE % (HOST_LOGIN, entry.pw_dir))
    run = root / entry.pw_dir.lstrip("/") / "sv" / "notebook" / "run"
    os.chown(str(run), 0, 0)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 2
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "would become" in line]
    assert said == ["runit-provision import: notebook: plan would change: %s/sv/notebook/run: "
                    "owner 0:0 (root:root) would become %d:%d (%s:%s)" % (
                        entry.pw_dir, entry.pw_uid, entry.pw_gid, HOST_LOGIN, HOST_LOGIN)], err


def test_an_owner_the_accounts_do_not_know_is_said(tmp_path, capsys):
    """A logger's user that the accounts lack: plan would stop on it, and import says so
    instead of naming it a change of owner."""
    root = plain_root(tmp_path)
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nghost:x:4242:4242::/:\n")
    (root / "etc" / "group").write_text("root:x:0:\nghost:x:4242:\n")
    applied(root, tmp_path, "runit:\n  init: none\n  runtime: system\n  services:\n"
                            "    web: {command: /bin/true, log: {user: ghost}}\n")
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")  # ghost is gone
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 2
    err = capsys.readouterr().err
    assert ("web: plan would change: /var/log/web: owner 'ghost' is not known "
            "(%s/etc/passwd): plan would stop" % root) in err, err


# -- --into: every key said, no relocation unless asked ------------------------------------------
RELOCATED = """runit:
  init: none
  runtime: system
  sv_dir: /srv/sv
  service_dir: /srv/service
  services:
    web: {command: /bin/true, log: false}
"""
NODE_FILE = HIERA_FILE.replace("  sv_timeout: 9      # said out loud\n", "")


def test_into_refuses_to_relocate_the_node_unless_relocate(tmp_path, capsys):
    """The imported services lie in /srv/sv: adding sv_dir and service_dir to a node's file
    would move every service of the node (nginx here, and every one the hierarchy gives it)
    there. Refused, named, the file untouched; with --relocate, added and said."""
    root = plain_root(tmp_path)
    applied(root, tmp_path, RELOCATED)
    target = tmp_path / "web1.yaml"
    target.write_text(NODE_FILE)
    assert run_cli("import", "--root", root, "/srv/sv", "--service-dir", "/srv/service",
                   "--into", target) == 1
    err = capsys.readouterr().err
    assert target.read_text() == NODE_FILE
    prefix = "runit-provision import: --into %s: " % target
    assert err.splitlines() == [
        prefix + "runit.sv_dir: /srv/sv would be added, and every service directory of the "
        "node would move there (the services other levels of the hierarchy give it too): "
        "--relocate to add it",
        prefix + "runit.service_dir: /srv/service would be added, and every service of the "
        "node would be enabled there instead (the services other levels of the hierarchy "
        "give it too): --relocate to add it"], err
    assert run_cli("import", "--root", root, "/srv/sv", "--service-dir", "/srv/service",
                   "--into", target, "--relocate") == 0
    err = capsys.readouterr().err
    merged = target.read_text()
    assert added_lines_only(NODE_FILE, merged)
    data = yaml.safe_load(merged)["runit"]
    assert (data["sv_dir"], data["service_dir"]) == ("/srv/sv", "/srv/service")
    said = [line[len(prefix):] for line in err.splitlines() if line.startswith(prefix)]
    assert said == ["added runit.sv_dir: /srv/sv", "added runit.service_dir: /srv/service",
                    "changed runit.services: added web"], err


def test_into_says_every_key_in_the_params_spelling(tmp_path, capsys):
    root = plain_root(tmp_path)
    applied(root, tmp_path, RELOCATED)
    target = tmp_path / "web1.yaml"
    original = "runit::init: none\nrunit::services:\n  nginx:\n    command: /usr/sbin/nginx\n"
    target.write_text(original)
    assert run_cli("import", "--root", root, "/srv/sv", "--service-dir", "/srv/service",
                   "--into", target) == 1
    err = capsys.readouterr().err
    assert "runit::sv_dir: /srv/sv would be added" in err and target.read_text() == original
    assert run_cli("import", "--root", root, "/srv/sv", "--service-dir", "/srv/service",
                   "--into", target, "--relocate") == 0
    err = capsys.readouterr().err
    for line in ("added runit::sv_dir: /srv/sv", "added runit::service_dir: /srv/service",
                 "changed runit::services: added web"):
        assert "--into %s: %s\n" % (target, line) in err, err


def test_into_a_file_without_runit_says_the_keys_it_creates(tmp_path, capsys):
    """A file with no runit data yet: the services hash is a key added, and said."""
    root = plain_root(tmp_path)
    applied(root, tmp_path, "runit:\n  init: none\n  runtime: system\n  services:\n"
                            "    web: {command: /bin/true, log: false}\n")
    target = tmp_path / "web1.yaml"
    target.write_text("ntp::servers: [pool.ntp.org]\n")
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target) == 0
    err = capsys.readouterr().err
    assert "--into %s: added runit.services: web\n" % target in err, err


def test_into_with_replace_says_what_it_replaced(tmp_path, capsys):
    root = plain_root(tmp_path)
    applied(root, tmp_path, "runit:\n  init: none\n  runtime: system\n  services:\n"
                            "    web: {command: /bin/true, log: false}\n"
                            "    cron: {command: /usr/sbin/cron -f, log: false}\n")
    target = tmp_path / "web1.yaml"
    target.write_text("runit:\n  services:\n    web:\n      command: /bin/false\n")
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target, "--replace") == 0
    err = capsys.readouterr().err
    assert "--into %s: changed runit.services: added cron; replaced web\n" % target in err, err


# -- a file import cannot read: its true reason -------------------------------------------------
LOGGED = """runit:
  init: none
  runtime: system
  services:
    web: {command: /bin/true}
"""


@pytest.mark.parametrize("make, why", [
    (lambda path: path.unlink(), "missing"),
    (lambda path: (path.unlink(), os.mkfifo(str(path))), "not a regular file (a FIFO)"),
    (lambda path: (path.unlink(), path.mkdir()), "not a regular file (a directory)"),
    (lambda path: (path.unlink(), os.symlink("/dev/null", str(path))),
     "not a regular file (a symbolic link)"),
    (lambda path: path.write_bytes(b"s1\n" * 400000), "larger than 1 MiB (1200000 bytes)"),
])
def test_a_log_config_import_cannot_read_is_said_as_it_is(tmp_path, capsys, make, why):
    """svlogd's config of a stock logger: its keys cannot be read back, so log/run is kept as
    written — and the comment gives the true reason, not "not a regular file of at most
    1 MiB" for a file that is not there at all."""
    root = plain_root(tmp_path)
    applied(root, tmp_path, LOGGED)
    make(root / "var" / "log" / "web" / "config")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) in (0, 2)
    text = out.read_text()
    assert "log/run kept as written: svlogd's config in /var/log/web: %s\n" % why in text, text
    assert "at most 1 MiB" not in text + capsys.readouterr().err


@pytest.mark.parametrize("name, make, why", [
    ("gone", None, "run: missing"),
    ("fifo", lambda path: os.mkfifo(str(path)), "run: not a regular file (a FIFO)"),
    ("dir", lambda path: path.mkdir(), "run: not a regular file (a directory)"),
    ("loop", lambda path: os.symlink("run", str(path)), "run: a link to run, which does not "
                                                         "resolve: Too many levels of symbolic "
                                                         "links"),
    ("dangling", lambda path: os.symlink("/etc/sv/gone/run", str(path)),
     "run: a link to /etc/sv/gone/run, which does not resolve: no such file"),
    ("to-a-dir", lambda path: os.symlink("/etc", str(path)),
     "run: a link to /etc, not a regular file (a directory)"),
    ("big", lambda path: path.write_bytes(b"#!/bin/sh\n" + b"#" * (1 << 20)),
     "run: larger than 1 MiB (1048586 bytes)"),
])
def test_a_run_import_cannot_read_is_said_as_it_is(tmp_path, capsys, name, make, why):
    root = plain_root(tmp_path)
    base = root / "etc" / "sv" / name
    base.mkdir(parents=True)
    if make is None:  # a service linked in the service dir whose run is gone
        (root / "etc" / "service").mkdir()
        os.symlink("/etc/sv/" + name, str(root / "etc" / "service" / name))
        (base / "finish").write_text("#!/bin/sh\n")
        paths = ["--service-dir", "/etc/service"]
    else:
        make(base / "run")
        paths = ["/etc/sv/" + name]
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, *paths, "--out", out) == 1
    err = capsys.readouterr().err
    assert "/etc/sv/%s: %s\n" % (name, why) in err, err
    assert not out.exists()


def test_an_env_file_import_cannot_read_is_said_as_it_is(tmp_path, capsys):
    root = plain_root(tmp_path)
    applied(root, tmp_path, "runit:\n  init: none\n  runtime: system\n  services:\n"
                            "    web: {command: /bin/true, log: false, env: {A: x}}\n")
    env = root / "etc" / "sv" / "web" / "env"
    os.mkfifo(str(env / "PIPE"))
    (env / "BIG").write_bytes(b"x" * (1 << 20 + 1))
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 2
    err = capsys.readouterr().err
    assert "env/PIPE would be removed: not a regular file (a FIFO)" in err, err
    assert "env/BIG would be removed: larger than 1 MiB (2097152 bytes)" in err, err


@pytest.mark.parametrize("make, why", [
    (lambda path: os.mkfifo(str(path)), "not a regular file (a FIFO)"),
    (lambda path: path.write_bytes(b"[Service]\nExecStart=/bin/true\n" + b"#" * (1 << 20)),
     "larger than 1 MiB (1048606 bytes)"),
])
def test_a_systemd_unit_import_cannot_read_is_said_as_it_is(tmp_path, capsys, make, why):
    root = plain_root(tmp_path)
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    make(units / "odd.service")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "--systemd", "odd", "--out", out) == 2
    assert "runit-provision import: odd refused: %s\n" % why in \
        capsys.readouterr().err


def test_a_log_dir_behind_a_users_link_is_said_not_a_traceback(tmp_path, capsys):
    """The user made ~/logs a link of theirs: the loggers' configs there cannot be reached
    (FsRoot follows root's links only). Import used to end in an UnsafePathError's traceback;
    it says why and keeps those loggers as written. The tree's own log is root's directory,
    which the link does not reach: read, and imported whole."""
    entry = host_login()
    root = plain_root(tmp_path)
    home = root / entry.pw_dir.lstrip("/")
    home.mkdir(parents=True)
    applied(root, tmp_path, USERS_TREE % (HOST_LOGIN, entry.pw_dir))
    (home / "logs").rename(home / "logs-real")
    os.symlink(entry.pw_dir + "/logs-real", str(home / "logs"))
    os.lchown(str(home / "logs"), entry.pw_uid, entry.pw_gid)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0
    text = out.read_text()
    assert ("log/run kept as written: svlogd's config in %s/logs/notebook: cannot be read: "
            % entry.pw_dir) in text, text
    assert "not followed" in text
    assert "0 refused" in text and "    %s:\n" % HOST_LOGIN in text
    assert "runsvdir" not in capsys.readouterr().err


def test_a_users_tree_logged_as_the_user_before_imports_its_log_dir(tmp_path, capsys):
    """A host applied before the tree's output was root's to log: ``runsvdir-LOGIN/log/run``
    runs svlogd as the user into a directory of theirs. Import keeps that place as the
    user's ``log_dir`` (where the link to root's log will be) and says the logger will be
    root's; the current form imports with no ``log_dir`` at all."""
    entry = host_login()
    root = plain_root(tmp_path)
    home = root / entry.pw_dir.lstrip("/")
    home.mkdir(parents=True)
    applied(root, tmp_path, USERS_TREE % (HOST_LOGIN, entry.pw_dir))
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0
    assert "log_dir" not in out.read_text()
    old = home / "logs" / "tree"
    old.mkdir()
    (old / "config").write_text("")
    (root / "etc/sv/runsvdir-{0}/log/run".format(HOST_LOGIN)).write_text(
        "#!/bin/sh\nexec chpst -u {0} svlogd -tt {1}/logs/tree\n".format(
            HOST_LOGIN, entry.pw_dir))
    capsys.readouterr()
    run_cli("import", "--root", root, "/etc/sv", "--out", out)
    text = out.read_text()
    users = yaml.safe_load(text)["runit"]["users"]
    assert users[HOST_LOGIN]["log_dir"] == entry.pw_dir + "/logs/tree", text
    assert ("plan would change: /etc/sv/runsvdir-%s/log/run: its content would change"
            % HOST_LOGIN) in capsys.readouterr().err
