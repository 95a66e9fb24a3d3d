"""``runit-provision import``: service directories -> data that renders them again.

The promise (docs/import.md): on the host it was imported from, ``plan`` with the imported
data changes nothing — or the import lists what it would change, and why. Tested on a host
applied by the real ``apply`` (every key, both spellings), on Debian's ``runit-services``
corpus as packaged and as ``runit-helper`` installs a service, and on bad input: a binary or
missing run, a FIFO where a file should be, a link loop — every problem said, nothing written.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from runit_provision.cli.main import main
from runit_provision.shown import shown_name

from ..apply.helpers import staged_root
from ..skips import missing

CORPUS = Path("/usr/share/runit/sv")  # Debian's runit-services
PASSWD = ("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n"
          "www-data:x:33:33::/var/www:/bin/false\n")
GROUP = "root:x:0:\nnogroup:x:65534:\nwww-data:x:33:\nadm:x:4:\n"
APPLIED = """runit:
  init: none
  runtime: system
  sv_timeout: 9
  log_dir: /var/log/runit
  services:
    web:
      command: /usr/local/bin/web --port 8080 --title "My Site"
      user: www-data
      group: adm
      env: {PORT: 8080, MOTD: "two\\nlines", UNSET: null, EMPTY: ""}
      cwd: /srv/my web
      umask: "027"
      nice: -5
      limits: {nofile: 4096, core: 0, mem: 100000000}
      needs: [cache]
      finish: '[ "$1" = 0 ] || sleep 2 # 100%{literal("%")}{sure}'
      control: {h: 'exec pkill -HUP -P "$(cat supervise/pid)"', "1": "echo one"}
      restart: {give_up_after: 10, within: 30}
      log: {user: "www-data:adm", timestamps: iso, size: 5000000, num: 20, min: 2,
            timeout: 86400, processor: gzip, udp: "127.0.0.1:514", udp_only: true,
            prefix: "web: ", patterns: ["-*DEBUG*", "+*"], line_length: 900}
    cache: {command: [/usr/bin/redis-server, --port, "6379", "it's", ""], check: {tcp: 6379},
            down: true, log: {dir: /srv/cache-log, timestamps: none}}
    raw: {run: "exec sleep 100", log: {run: "#!/bin/sh\\nexec svlogd -tt ./main\\n"},
          enabled: false}
    quiet: {command: /bin/true, log: false, env: {}}
"""
HOST_KEYS = {"init": "none", "runtime": "system"}  # how the sandbox is run, not what import says


@pytest.fixture
def root(tmp_path):
    return staged_root(tmp_path, PASSWD, GROUP)


def run_cli(*argv):
    return main([str(arg) for arg in argv])


def applied(root, tmp_path, text=APPLIED):
    data = tmp_path / "applied.yaml"
    data.write_text(text)
    assert run_cli("apply", "--data", data, "--root", root, "--profile-d", "none") == 0
    return data


def with_host_keys(imported, tmp_path, spelling="runit"):
    """The imported data and the sandbox's init and runtime, in one file."""
    data = yaml.safe_load(imported.read_text())
    if spelling == "runit":
        data["runit"].update(HOST_KEYS)
    else:
        data.update({"runit::" + key: value for key, value in HOST_KEYS.items()})
    merged = tmp_path / ("merged-%s.yaml" % spelling)
    merged.write_text(yaml.safe_dump(data, sort_keys=False))
    return merged


@pytest.mark.parametrize("spelling", ["runit", "params"])
def test_plan_after_importing_an_applied_host_changes_nothing(root, tmp_path, spelling, capsys):
    applied(root, tmp_path)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out,
                   "--spelling", spelling) == 0, capsys.readouterr().err
    text = out.read_text()
    imported = yaml.safe_load(text)
    services = imported["runit"]["services"] if spelling == "runit" else imported[
        "runit::services"]
    assert sorted(services) == ["cache", "quiet", "raw", "web"]
    web = services["web"]
    assert web["command"] == ["/usr/local/bin/web", "--port", "8080", "--title", "My Site"]
    assert (web["user"], web["group"], web["cwd"], web["umask"], web["nice"]) == (
        "www-data", "adm", "/srv/my web", "0027", -5)
    assert web["limits"] == {"nofile": 4096, "core": 0, "mem": 100000000}
    assert web["env"] == {"EMPTY": "", "MOTD": "two\nlines", "PORT": "8080", "UNSET": None}
    assert web["log"]["udp_only"] is True and "dir" not in web["log"]
    assert services["cache"]["log"] == {"timestamps": "none", "dir": "/srv/cache-log"}
    assert services["raw"]["log"] == {"run": "#!/bin/sh\nexec svlogd -tt ./main\n"}
    assert services["raw"]["enabled"] is False
    assert services["quiet"] == {"command": ["/bin/true"], "env": {}, "log": False}
    assert "%{literal('%')}{sure}" in web["finish"]  # hiera reads it back as 100%{sure}
    assert "# web: recognised command, user, group" in text
    merged = with_host_keys(out, tmp_path, spelling)
    capsys.readouterr()
    assert run_cli("plan", "--data", merged, "--root", root, "--profile-d", "none") == 0, (
        capsys.readouterr().out)


def test_a_one_shot_imports_back_as_one_and_plans_nothing(root, tmp_path, capsys):
    """Issue 46 §1: the ``oneshot`` mark and the rendered finish read back as ``oneshot:
    true`` (the finish is not data of its own), and the plan of the import is empty."""
    applied(root, tmp_path, 'runit:\n  init: none\n  runtime: system\n  services:\n'
            '    setup: {command: /usr/local/bin/setup, oneshot: true, log: false}\n')
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert services == {"setup": {"command": ["/usr/local/bin/setup"], "oneshot": True,
                                  "log": False}}
    capsys.readouterr()
    assert run_cli("plan", "--data", with_host_keys(out, tmp_path), "--root", root,
                   "--profile-d", "none") == 0, capsys.readouterr().out


def test_readiness_and_needs_on_one_shots_import_back_and_plan_nothing(root, tmp_path, capsys):
    """``ready`` and the check it renders read back as ``ready``, ``ready_timeout`` and
    ``watchdog`` (not as a file and a script of the data's own), the notify-relay it renders
    into run under the C runsv taken out of the command; ``needs-done`` and its guard are the
    key ``needs``'s; the plan of the import is empty. A ``ready`` beside a hand-written check
    is not carried, and said."""
    applied(root, tmp_path, 'runit:\n  init: none\n  runtime: system\n  services:\n'
            '    setup: {command: /usr/local/bin/setup, oneshot: true, log: false}\n'
            '    web: {command: /usr/bin/web, log: false, ready: {notify: {access: all}},'
            ' ready_timeout: 90, watchdog: 10}\n'
            '    relay: {command: /usr/bin/relay, log: false, ready: {fd: 4}}\n'
            '    db: {command: /usr/bin/db, log: false, ready: notify}\n'
            '    app: {command: /usr/bin/app, log: false, needs: [setup]}\n')
    (root / "etc/sv/db/check").write_text("#!/bin/sh\nexec pg_isready\n")
    out, hand = tmp_path / "imported.yaml", tmp_path / "hand.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out, "--only", "setup", "web",
                   "relay", "app") == 0, capsys.readouterr().err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert services["app"] == {"command": ["/usr/bin/app"], "log": False, "needs": ["setup"]}
    assert services["web"] == {"command": ["/usr/bin/web"], "log": False,
                               "ready": {"notify": {"access": "all"}}, "ready_timeout": 90,
                               "watchdog": 10}
    assert services["relay"] == {"command": ["/usr/bin/relay"], "log": False,
                                 "ready": {"fd": 4}}
    capsys.readouterr()
    assert run_cli("import", "--root", root, "/etc/sv", "--out", hand, "--only", "db") == 2
    assert "db: plan would change: ready would be removed: a check of its own is beside it" \
        in capsys.readouterr().err
    db = yaml.safe_load(hand.read_text())["runit"]["services"]["db"]
    assert db["check"] == "#!/bin/sh\nexec pg_isready\n" and "ready" not in db
    assert "NOTIFY_SOCKET=$(notify-relay $$)" in db["run"]  # the run's own now, as written
    (root / "etc/sv/db").rename(root / "db-elsewhere")
    (root / "etc/service/db").unlink()
    capsys.readouterr()
    assert run_cli("plan", "--data", with_host_keys(out, tmp_path), "--root", root,
                   "--profile-d", "none") == 0, capsys.readouterr().out


def test_the_one_shot_of_before_oneshot_is_recognised(root, tmp_path, capsys):
    """A run that ends ``exec sv down .`` (the bundled demo's setup before issue 46) is kept
    as written — import reproduces the host — and said to be a one-shot, with the key."""
    service = root / "etc" / "sv" / "setup"
    service.mkdir(parents=True)
    (service / "run").write_text("#!/bin/sh\nexec 2>&1\necho set up\nexec sv down .\n")
    (service / "run").chmod(0o755)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0
    text = out.read_text()
    assert yaml.safe_load(text)["runit"]["services"]["setup"]["run"].endswith(
        "exec sv down .\n")
    assert "run ends with `exec sv down .`: work that runs once (kept as written; oneshot: " \
           "true says so" in text + capsys.readouterr().err


def test_what_the_data_cannot_say_is_listed_as_a_change(root, tmp_path, capsys):
    applied(root, tmp_path)
    sv = root / "etc" / "sv"
    os.chmod(str(sv / "web" / "run"), 0o700)
    (sv / "web" / "env" / "not-a-name").write_text("x\n")
    (sv / "web" / "control" / "z").write_text("#!/bin/sh\n")
    (sv / "cache" / "down").write_text("junk")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 2
    err = capsys.readouterr().err
    assert "web: plan would change: /etc/sv/web/run: mode 0700 would become 0755" in err
    assert "web: plan would change: env/not-a-name would be removed: not a variable name" in err
    assert "web: plan would change: control/z would be removed: runsv knows no such hook" in err
    assert "cache: plan would change: down would be made an empty file" in err
    assert "plan would change: /etc/sv/web/run: mode 0700" in out.read_text()


def test_a_run_file_the_data_cannot_hold_is_refused_loudly_and_the_rest_written(root, tmp_path,
                                                                                capsys):
    """A binary, a FIFO, a link loop, a dangling link and a directory where run should be:
    each directory named with its reason on stderr and in the header; the good one written;
    exit 3. With only refused ones: exit 1, nothing written."""
    sv = root / "etc" / "sv"
    for name, make in (("binary", lambda p: p.write_bytes(b"\x7fELF\x02\x01\x01\0")),
                       ("fifo", lambda p: os.mkfifo(str(p))),
                       ("loop", lambda p: os.symlink("run", str(p))),
                       ("dangling", lambda p: os.symlink("../gone/run", str(p))),
                       ("dir", lambda p: p.mkdir())):
        (sv / name).mkdir(parents=True)
        make(sv / name / "run")
    (sv / "good").mkdir()
    (sv / "good" / "run").write_text("#!/bin/sh\nexec sleep 1\n")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 3
    err = capsys.readouterr().err
    assert "refused /etc/sv/binary: run: holds control characters" in err
    assert "refused /etc/sv/fifo: run: not a regular file (a FIFO)" in err
    assert "refused /etc/sv/dir: run: not a regular file (a directory)" in err
    assert "refused /etc/sv/dangling: run: a link to ../gone/run, which does not resolve: " \
        "no such file" in err
    assert "refused /etc/sv/loop: run: a link to run, which does not resolve: Too many " \
        "levels of symbolic links" in err
    text = out.read_text()
    assert "# refused /etc/sv/fifo: run: not a regular file (a FIFO)" in text
    assert list(yaml.safe_load(text)["runit"]["services"]) == ["good"]
    shutil.rmtree(str(sv / "good"))
    out.unlink()
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 1
    assert "nothing imported: every directory was refused" in capsys.readouterr().err
    assert not out.exists()


def test_relative_paths_are_the_shells(root, tmp_path, capsys, monkeypatch):
    """`import sv/*` from the directory holding sv/: paths from the current directory; with
    --root, from a current directory inside the root, else refused with why."""
    for name in ("a", "b"):
        (tmp_path / "void" / "sv" / name).mkdir(parents=True)
        (tmp_path / "void" / "sv" / name / "run").write_text("#!/bin/sh\nexec sleep 1\n")
        (tmp_path / "void" / "sv" / name / "run").chmod(0o755)
    (tmp_path / "void" / "service").mkdir()  # where they would be linked
    monkeypatch.chdir(tmp_path / "void")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "sv/a", "sv/b", "--out", out) == 0, capsys.readouterr().err
    data = yaml.safe_load(out.read_text())["runit"]
    assert sorted(data["services"]) == ["a", "b"]
    assert data["sv_dir"] == os.path.realpath(str(tmp_path / "void" / "sv"))
    (root / "etc" / "sv" / "c").mkdir(parents=True)
    (root / "etc" / "sv" / "c" / "run").write_text("#!/bin/sh\nexec sleep 1\n")
    monkeypatch.chdir(root / "etc")
    assert run_cli("import", "--root", root, "sv/c", "--out", out) == 2, \
        capsys.readouterr().err
    assert list(yaml.safe_load(out.read_text())["runit"]["services"]) == ["c"]
    monkeypatch.chdir(tmp_path / "void")
    assert run_cli("import", "--root", root, "sv/a") == 1
    assert "a relative PATH with --root is taken from the current directory" in \
        capsys.readouterr().err


def test_bad_paths_are_said(root, tmp_path, capsys):
    (root / "etc" / "sv" / "empty").mkdir(parents=True)
    os.symlink("loop", str(root / "etc" / "loop"))
    assert run_cli("import", "--root", root, "/etc/sv/empty", "/etc/loop", "/etc/none") == 1
    err = capsys.readouterr().err
    assert "/etc/sv/empty: neither a service directory (no run, no schedule) nor a " \
           "directory of them" in err
    assert "/etc/loop: Too many levels of symbolic links" in err
    assert "/etc/none: neither" in err
    assert run_cli("import", "--root", root) == 1
    assert "name the service directories" in capsys.readouterr().err


USER_TREE = APPLIED.replace("  services:\n", """  users:
    www-data:
      home: /var/www
      path: /usr/bin:/bin
      services:
        notebook: {command: "/usr/bin/jupyter lab", env: {PORT: "8888"}}
        once: {run: "exec true", log: false, enabled: false}
  services:
""", 1)


def test_a_users_tree_of_the_group_readable_form_is_read_and_its_acl_said(root, tmp_path,
                                                                           capsys):
    """A tree an apply left before its log was read by an ACL: /var/log/runit/runsvdir-LOGIN
    in the user's group, no ACL. It is read into users: {LOGIN: …} all the same; what plan
    would change of its log directory is said, and plan with the result does it."""
    (root / "var" / "www").mkdir(parents=True)
    applied(root, tmp_path, USER_TREE)
    tree_log = str(root / "var" / "log" / "runit" / "runsvdir-www-data")
    os.removexattr(tree_log, "system.posix_acl_access")
    os.chown(tree_log, 0, 33)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 2
    err = capsys.readouterr().err
    assert yaml.safe_load(out.read_text())["runit"]["users"]["www-data"]["services"]
    assert ("runsvdir-www-data: plan would change: /var/log/runit/runsvdir-www-data: owner "
            "0:33 (root:www-data) would become 0:0 (root:root)") in err
    assert ("runsvdir-www-data: plan would change: /var/log/runit/runsvdir-www-data: ACL "
            "none would become user:33:r-x,group::r-x,mask::r-x") in err
    merged = with_host_keys(out, tmp_path)
    assert run_cli("plan", "--data", merged, "--root", root, "--profile-d", "none") == 2
    assert ("~ /var/log/runit/runsvdir-www-data (owner 0:33 -> 0:0; acl none -> "
            "user:33:r-x,group::r-x,mask::r-x)") in capsys.readouterr().out


def test_a_users_tree_imports_into_its_users_entry(root, tmp_path, capsys):
    """runsvdir-LOGIN is read back into users: {LOGIN: …} and the user's ~/sv into its
    services; plan with the result changes nothing, the tree's own service included."""
    (root / "var" / "www").mkdir(parents=True)
    applied(root, tmp_path, USER_TREE)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0, \
        capsys.readouterr().err
    imported = yaml.safe_load(out.read_text())["runit"]
    user = imported["users"]["www-data"]
    assert (user["home"], user["path"], user["groups"]) == ("/var/www", "/usr/bin:/bin",
                                                           ["www-data"])
    assert user["services"]["notebook"]["command"] == ["/usr/bin/jupyter", "lab"]
    assert user["services"]["once"] == {"run": "#!/bin/sh\nexec true\n", "log": False,
                                        "enabled": False}
    assert "runsvdir-www-data" not in imported["services"]
    assert "# www-data: a user's tree (runsvdir-www-data), 2 services" in out.read_text()
    merged = with_host_keys(out, tmp_path)
    capsys.readouterr()
    assert run_cli("plan", "--data", merged, "--root", root, "--profile-d", "none") == 0, (
        capsys.readouterr().out)


def test_a_tree_of_another_shape_is_imported_as_a_service(root, tmp_path, capsys):
    service = root / "etc" / "sv" / "runsvdir-bob"
    service.mkdir(parents=True)
    (service / "run").write_text("#!/bin/sh\nexec chpst -u bob runsvdir /home/bob/service\n")
    (service / "run").chmod(0o755)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0
    assert ("runsvdir-bob: imported as a service: its run is not the one runit-provision "
            "renders for a user's tree") in capsys.readouterr().err
    bob = yaml.safe_load(out.read_text())["runit"]["services"]["runsvdir-bob"]
    assert bob["run"] == "#!/bin/sh\nexec chpst -u bob runsvdir /home/bob/service\n"


def corpus_root(root):
    if not CORPUS.is_dir():
        missing("Debian's runit-services (%s)" % CORPUS, "apt-get install runit-services")
    shutil.copytree(str(CORPUS), str(root / "etc" / "sv"), symlinks=True)
    return root


def test_debians_runit_services_import_and_render_byte_for_byte(root, tmp_path, capsys):
    """The 28 directories of runit-services as packaged: every script is kept as written
    (they run through /lib/runit/invoke-run), and renders back to the same bytes; the only
    changes listed are the empty log/ directories runit-helper fills in at install and, where
    a newer runit-services ships env/ files readable by all, their mode made 0640 (an env/
    value may be a secret: render's mode for every one)."""
    corpus_root(root)
    names = sorted(name for name in os.listdir(str(root / "etc" / "sv"))
                   if (root / "etc" / "sv" / name / "run").exists())
    assert len(names) >= 20
    out = tmp_path / "imported.yaml"
    code = run_cli("import", "--root", root, "/etc/sv", "--out", out)
    err = capsys.readouterr().err
    assert code in (0, 2), err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert sorted(services) == names
    for line in err.splitlines():
        assert "/log would be removed: it has no run" in line or " is a " in line \
            or "not carried (apply leaves it as it is): .meta/: a dot-name" in line \
            or "would be created" in line or "would point to" in line \
            or re.search(r"/env/[^/:]+: mode 0644 would become 0640$", line), line
    render_out = tmp_path / "rendered"
    data = tmp_path / "imported-for-render.yaml"
    data.write_text(out.read_text())
    assert run_cli("render", "--data", data, "--out", render_out, "--passwd", root / "etc/passwd",
                   "--group", root / "etc/group") == 0
    for name in names:
        for script in ("run", "finish", "check"):
            original = root / "etc" / "sv" / name / script
            if original.exists():
                assert (render_out / "etc" / "sv" / name / script).read_bytes() == \
                    original.read_bytes(), (name, script)


def test_a_service_as_runit_helper_installs_it(root, tmp_path, capsys):
    """Debian's /etc/sv/ssh after install: log/run chowns the log directory, then execs
    svlogd on it quoted — kept as written, with the directory it logs to."""
    service = root / "etc" / "sv" / "ssh"
    (service / "log").mkdir(parents=True)
    (service / ".meta").mkdir()
    (service / ".meta" / "installed").write_text("")
    os.symlink("/run/runit/supervise/ssh", str(service / "supervise"))
    (service / "run").write_text("#!/usr/bin/env /lib/runit/invoke-run\nset -e\n"
                                 'exec /usr/sbin/sshd -D -e $SSHD_OPTS\n')
    (service / "log" / "run").write_text(
        "#!/bin/sh\nchown _runit-log:adm '/var/log/runit/ssh'\nchmod 750 '/var/log/runit/ssh'\n"
        "exec chpst -u _runit-log svlogd -tt '/var/log/runit/ssh'\n")
    for path in (service / "run", service / "log" / "run"):
        path.chmod(0o755)
    (root / "etc" / "service").mkdir()
    os.symlink("/etc/sv/ssh", str(root / "etc" / "service" / "ssh"))
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "--service-dir", "/etc/service", "--out", out) == 0, \
        capsys.readouterr().err
    ssh = yaml.safe_load(out.read_text())["runit"]["services"]["ssh"]
    assert ssh["run"].startswith("#!/usr/bin/env /lib/runit/invoke-run\n")
    assert ssh["log"]["run"].endswith("svlogd -tt '/var/log/runit/ssh'\n")
    assert "enabled" not in ssh


def test_a_link_a_user_planted_in_their_home_is_not_followed(root, tmp_path, capsys):
    """The user swaps ~/sv for a link to a directory of root's: import follows no link of
    theirs — their tree is not imported, and stderr says why."""
    (root / "var" / "www").mkdir(parents=True)
    applied(root, tmp_path, USER_TREE)
    secret = root / "etc" / "secret-sv" / "stolen"
    secret.mkdir(parents=True)
    (secret / "run").write_text("#!/bin/sh\necho root's eyes only\n")
    home_sv = root / "var" / "www" / "sv"
    shutil.rmtree(str(home_sv))
    os.symlink("/etc/secret-sv", str(home_sv))
    os.lchown(str(home_sv), 33, 33)
    out = tmp_path / "imported.yaml"
    run_cli("import", "--root", root, "/etc/sv", "--out", out)
    err = capsys.readouterr().err
    assert "runsvdir-www-data: imported as a service: www-data's tree could not be read" in err
    assert "not followed" in err
    assert "root's eyes only" not in out.read_text()


RECIPES = {
    # a one-shot: does its work, then tells its own runsv not to start it again
    "ntpdate": {"run": "#!/bin/sh\nexec 2>&1\nntpdate -b pool.ntp.org\nexec sv o .\n"},
    # a getty that takes its terminal from its directory's name, getty_tty2
    "getty_tty2": {"run": '#!/bin/sh\ntty=${PWD##*/getty_}\nexec setsid agetty "$tty" '
                          "38400 linux\n",
                   "finish": "#!/bin/sh\nexec utmpset -w \"${PWD##*/getty_}\"\n"},
    # a watchdog that restarts another service when it stops answering
    "watchdog": {"run": "#!/bin/sh\nwhile sleep 60; do\n  curl -fs http://127.0.0.1/ "
                        ">/dev/null || sv restart /etc/sv/web\ndone\n"},
    # shared memory set up, then a check on postgresql, then chpst -u (the pg_shm recipe)
    "pg_shm": {"run": "#!/bin/sh\nsv -w7 c postgresql || exit 1\n"
                      "exec chpst -u postgres pg_shm_keeper %{x}\n"},
    # a user's runsvdir with runit's status-area placeholder
    "runsvdir-olduser": {"run": "#!/bin/sh\nexec chpst -u olduser runsvdir "
                                "/home/olduser/service 'log: ..........................."
                                ".......'\n"},
}


def test_hand_written_recipes_are_kept_as_written_and_render_back(root, tmp_path, capsys):
    """Scripts from the seeds' busybox examples and the Arch wiki's recipes (one-shot with
    sv o, a getty reading its tty from $PWD, a watchdog, pg_shm's sv -w7 c and chpst -u, a
    user's runsvdir with a log placeholder): kept as written, rendered back byte for byte,
    hiera's %{ escaped."""
    sv = root / "etc" / "sv"
    for name, files in RECIPES.items():
        for relative, text in files.items():
            path = sv / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(0o755)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0, \
        capsys.readouterr().err
    rendered = tmp_path / "rendered"
    assert run_cli("render", "--data", out, "--out", rendered) == 0, capsys.readouterr().err
    for name, files in RECIPES.items():
        for relative, text in files.items():
            assert (rendered / "etc" / "sv" / name / relative).read_text() == text, name


HIERA_FILE = """---
# node data for web1: hand-edited, keep the comments!
runit:
  init: none         # a staged root
  runtime: system
  sv_timeout: 9      # said out loud
  log_dir: /var/log/runit
  services:
    # the front end
    nginx:
      command: "/usr/sbin/nginx -g 'daemon off;'"
      env: {TZ: 'UTC'}
lookup_options:
  runit::services:
    merge: deep
"""


def added_lines_only(before, after):
    """True when ``after`` is ``before`` with lines inserted, and nothing else changed."""
    remaining = iter(after.splitlines(True))
    return all(any(line == other for other in remaining) for line in before.splitlines(True))


def test_into_adds_the_services_and_keeps_the_file_byte_for_byte(root, tmp_path, capsys):
    """A log_dir the file lacks moves nginx's logs too: added with --relocate, and said (the
    refusal without it: tests/importing/test_import_truth.py)."""
    applied(root, tmp_path)
    target = tmp_path / "web1.yaml"
    original = HIERA_FILE.replace("  log_dir: /var/log/runit\n", "")
    target.write_text(original)
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target, "--relocate") == 0
    assert capsys.readouterr().err.splitlines() == [
        "runit-provision import: --into %s: %s" % (target, said) for said in (
            "added runit.log_dir: /var/log/runit",
            "changed runit.services: added cache, quiet, raw, web")]
    merged = target.read_text()
    assert added_lines_only(original, merged)
    assert "    # web: recognised command, user, group" in merged
    data = yaml.safe_load(merged)["runit"]
    assert sorted(data["services"]) == ["cache", "nginx", "quiet", "raw", "web"]
    assert data["log_dir"] == "/var/log/runit"  # a setting the file lacked, added
    assert run_cli("plan", "--data", target, "--root", root, "--profile-d", "none",
                   "--only", "web", "cache", "quiet", "raw") == 0, capsys.readouterr().out


def test_into_refuses_a_service_the_file_has_unless_replace(root, tmp_path, capsys):
    applied(root, tmp_path)
    target = tmp_path / "web1.yaml"
    target.write_text(HIERA_FILE.replace("    nginx:", "    web:"))
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target) == 1
    assert "service web is in the file already (--replace to replace it)" in \
        capsys.readouterr().err
    assert target.read_text() == HIERA_FILE.replace("    nginx:", "    web:")  # untouched
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target, "--replace") == 0
    assert yaml.safe_load(target.read_text())["runit"]["services"]["web"]["user"] == "www-data"


def test_into_a_file_in_the_params_spelling(root, tmp_path, capsys):
    applied(root, tmp_path)
    target = tmp_path / "web1.yaml"
    original = ("runit::init: none\nrunit::runtime: system\nrunit::sv_timeout: 9\n"
                "runit::log_dir: /var/log/runit\nrunit::services:\n  nginx:\n"
                "    command: /usr/sbin/nginx  # the front end\n")
    target.write_text(original)
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target) == 0, \
        capsys.readouterr().err
    assert added_lines_only(original, target.read_text())
    assert "web" in yaml.safe_load(target.read_text())["runit::services"]


def test_into_a_file_ruamel_would_rewrite_is_refused(root, tmp_path, capsys):
    applied(root, tmp_path)
    target = tmp_path / "odd.yaml"
    odd = "runit:\n    services:   {}\n"  # a layout a round trip would change
    target.write_text(odd)
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target) == 1
    assert "would not come back byte for byte" in capsys.readouterr().err
    assert target.read_text() == odd


def test_into_a_malformed_file_is_said_where_it_is_fixed_and_left_untouched(root, tmp_path,
                                                                           capsys):
    """A malformed --into file is an error placed as plan places it (exit 1), not ruamel's
    traceback; the file is left as it was."""
    applied(root, tmp_path)
    target = tmp_path / "broken.yaml"
    broken = "runit:\n  services:\n    db:\n      needs: [web\n    web: {}\n"
    target.write_text(broken)
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target) == 1
    assert capsys.readouterr().err == (
        "runit-provision import: %s:4:14: malformed YAML: this [ is not closed (at 5:8: did "
        "not find expected ',' or ']')\n" % target)
    assert target.read_text() == broken


def test_user_imports_a_users_own_tree_whatever_runs_it(root, tmp_path, capsys):
    """A tree runit-provision did not start (the Arch wiki's per-user runsvdir): --user
    reads ~/service and where its links point."""
    (root / "etc" / "passwd").write_text(PASSWD + "ann:x:1000:1000::/home/ann:/bin/sh\n")
    home = root / "home" / "ann"
    for name, run in (("notes", "#!/bin/sh\nexec 2>&1\nexec jupyter lab\n"),
                      ("sync", "#!/bin/sh\nexec unison -repeat watch\n")):
        (home / "sv" / name).mkdir(parents=True)
        (home / "sv" / name / "run").write_text(run)
        (home / "sv" / name / "run").chmod(0o755)
    (home / "service").mkdir()
    os.symlink("/home/ann/sv/notes", str(home / "service" / "notes"))
    out = tmp_path / "imported.yaml"
    code = run_cli("import", "--root", root, "--user", "ann", "--out", out)
    assert code in (0, 2), capsys.readouterr().err
    ann = yaml.safe_load(out.read_text())["runit"]["users"]["ann"]
    assert ann["home"] == "/home/ann"
    assert ann["services"]["notes"] == {"command": ["jupyter", "lab"], "log": False}
    assert ann["services"]["sync"]["enabled"] is False
    assert run_cli("import", "--root", root, "--user", "nobody-here") == 1
    assert "--user nobody-here: no such login" in capsys.readouterr().err


def test_into_adds_a_users_tree_too(root, tmp_path, capsys):
    (root / "var" / "www").mkdir(parents=True)
    applied(root, tmp_path, USER_TREE)
    target = tmp_path / "web1.yaml"
    target.write_text(HIERA_FILE)
    assert run_cli("import", "--root", root, "/etc/sv", "--into", target) == 0, \
        capsys.readouterr().err
    assert added_lines_only(HIERA_FILE, target.read_text())
    user = yaml.safe_load(target.read_text())["runit"]["users"]["www-data"]
    assert sorted(user["services"]) == ["notebook", "once"]
    capsys.readouterr()
    assert run_cli("plan", "--data", target, "--root", root, "--profile-d", "none",
                   "--only", "runsvdir-www-data", "notebook", "once") == 0, \
        capsys.readouterr().out


# -- names from outside, safe to print (docs/security.md, N7) ------------------------------------
PLANTED = [b"esc\x1b]0;PWNED\x07\x1b[2Jx", b"nl\nfake: line", b"bad\xffname"]


@pytest.mark.parametrize("into", [False, True])
def test_names_found_are_commented_escaped_and_write_no_data(root, tmp_path, capsys, into):
    """An env/ file named with a newline, an escape sequence or a byte that is not UTF-8:
    each listed escaped on one comment line and one stderr line, and the YAML holds only
    what was imported (with --out, and merged --into a file)."""
    applied(root, tmp_path)
    env = os.fsencode(root / "etc" / "sv" / "web" / "env")
    for name in PLANTED:
        with open(os.path.join(env, name), "wb") as handle:
            handle.write(b"x\n")
    out = tmp_path / "imported.yaml"
    if into:
        out.write_text(HIERA_FILE)
    assert run_cli("import", "--root", root, "/etc/sv", "--into" if into else "--out",
                   out) == 2
    err = capsys.readouterr().err
    text = out.read_bytes().decode("utf-8")  # strict
    for name in PLANTED:
        said = "env/%s would be removed: not a variable name" % shown_name(os.fsdecode(name))
        assert "runit-provision import: web: plan would change: %s\n" % said in err
        assert any(line.lstrip().startswith("#") and said in line
                   for line in text.splitlines()), said
    for line in (text + err).splitlines():
        assert line.isprintable(), line
    data = yaml.safe_load(text)
    assert "fake" not in data and "fake" not in data["runit"]
    assert sorted(data["runit"]["services"]["web"]["env"]) == ["EMPTY", "MOTD", "PORT", "UNSET"]


def test_import_refuses_to_guess_where_a_relocated_tree_is_linked(tmp_path, capsys,
                                                                   monkeypatch):
    """Issue 44 §3: a tree with no ``service/`` beside it, and no link to its services where
    runsvdir usually scans: import says it cannot tell and names ``--service-dir`` (exit 1,
    nothing written), instead of writing every service ``enabled: false``. Given, an empty
    directory imports them disabled; a ``service/`` beside the tree is where they are
    linked — or, holding none, where they would be (each disabled, said)."""
    sv = tmp_path / "tree" / "sv"
    (sv / "a").mkdir(parents=True)
    (sv / "a" / "run").write_text("#!/bin/sh\nexec sleep 1\n")
    (sv / "a" / "run").chmod(0o755)
    monkeypatch.chdir(tmp_path / "tree")
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "sv/a", "--out", out) == 1
    err = capsys.readouterr().err
    assert "where the services of %s are linked cannot be told: none is linked in " \
           "/etc/service, /var/service, /service, and there is no %s beside it — name the " \
           "directory runsvdir scans with --service-dir DIR" % (sv, sv.parent / "service") in err
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("import", "sv/a", "--service-dir", empty, "--out", out) == 0
    data = yaml.safe_load(out.read_text())["runit"]
    assert data["service_dir"] == str(empty) and data["services"]["a"]["enabled"] is False
    (sv.parent / "service").mkdir()
    assert run_cli("import", "sv/a", "--out", out) == 0
    assert "no service of %s is linked in %s" % (sv, sv.parent / "service") in \
        capsys.readouterr().err
    data = yaml.safe_load(out.read_text())["runit"]
    assert data["service_dir"] == str(sv.parent / "service")
    assert data["services"]["a"]["enabled"] is False
    os.symlink("../sv/a", str(sv.parent / "service" / "a"))
    assert run_cli("import", "sv/a", "--out", out) == 2  # the relative link would be absolute
    data = yaml.safe_load(out.read_text())["runit"]
    assert "enabled" not in data["services"]["a"]
    assert "would point to %s" % (sv / "a") in capsys.readouterr().err


# -- values as chpst reads them, bytes the data cannot hold (issue 44 §4) -------------------------
ENV_FILES = {"GREETING": b"cafe", "OTHER": b"x \t\nsecond line\n", "NUL": b"a\0b",
             "SAME": b"kept\n", "EMPTY": b"\n", "UNSET": b""}


def envdir_reads(env_dir, impl, tmp_path):
    """What ``envdir`` (``impl``'s: ours or the C runit's chpst) gives ``env`` from ``env_dir``:
    {name: value} of the variables of ENV_FILES it sets."""
    from subprocess import run
    from ..conftest import make_bin_dir, require_c_runit
    if impl == "c":
        require_c_runit()
    tools = tmp_path / ("bin-" + impl)
    if not tools.exists():
        make_bin_dir(tools, impl)
    done = run([str(tools / "envdir"), str(env_dir), "/usr/bin/env", "-0"],
               capture_output=True, timeout=30, env={"UNSET": "set before"})
    assert done.returncode == 0, done.stderr
    found = dict(item.decode().split("=", 1) for item in done.stdout.split(b"\0") if item)
    return {name: value for name, value in found.items() if name in ENV_FILES}


@pytest.mark.parametrize("impl", ["ours", pytest.param("c", marks=pytest.mark.interop)])
def test_env_files_are_carried_as_chpst_reads_them(root, tmp_path, capsys, impl):
    """An env file without a trailing newline (``printf cafe > env/GREETING``) was dropped
    (``would be removed``): applying the data deleted the variable. Each value is carried as
    envdir reads it — the real envdir, ours and the C runit's — and where the file the data
    renders differs from the host's bytes, the difference is named; applied, every variable
    reads the same, and nothing is restarted for it (apply cases: env-same-value.yaml)."""
    web = root / "etc" / "sv" / "web"
    (web / "env").mkdir(parents=True)
    (web / "run").write_text("#!/bin/sh\nexec 2>&1\nexec chpst -e ./env /usr/bin/web\n")
    (web / "run").chmod(0o755)
    for name, content in ENV_FILES.items():
        (web / "env" / name).write_bytes(content)
        (web / "env" / name).chmod(0o640)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 2
    err = capsys.readouterr().err
    env = yaml.safe_load(out.read_text())["runit"]["services"]["web"]["env"]
    read = envdir_reads(web / "env", impl, tmp_path)
    assert read == {"GREETING": "cafe", "OTHER": "x", "NUL": "a\nb", "SAME": "kept",
                    "EMPTY": ""}
    assert {name: value for name, value in env.items() if value is not None} == read
    assert env["UNSET"] is None
    assert "would be removed" not in err
    said = "web: plan would change: /etc/sv/web/env/%s: rewritten as chpst -e reads it, the " \
           "value the same: "
    assert said % "GREETING" + "a newline would be added at its end\n" in err
    assert said % "NUL" + "a newline would be added at its end\n" in err
    assert said % "OTHER" + "the blanks that end its line (chpst drops them) and the 12 " \
        "bytes after its first line (chpst reads one line) would be dropped\n" in err
    assert "env/SAME" not in err and "env/EMPTY" not in err and "env/UNSET" not in err
    fresh = staged_root(tmp_path / "fresh", PASSWD, GROUP)
    merged = with_host_keys(out, tmp_path)
    assert run_cli("apply", "--data", merged, "--root", fresh, "--profile-d", "none") == 0
    assert envdir_reads(fresh / "etc" / "sv" / "web" / "env", impl, tmp_path) == read
    capsys.readouterr()
    assert run_cli("plan", "--data", merged, "--root", root, "--profile-d", "none") == 2
    plan = capsys.readouterr().out
    assert "~ /etc/sv/web/env/GREETING (content (chpst -e reads the same value: no restart))" \
        in plan, plan


LATIN1_RUN = "#!/bin/sh\n# Café, by hand\nexec sleep 100\n".encode("latin-1")


def test_a_byte_that_is_not_utf8_in_run_is_named_and_the_rest_imported(root, tmp_path, capsys):
    """A run script with one Latin-1 byte was refused with "not UTF-8 text" and nothing to
    find it by — and under --user the whole import failed. The data holds text (hiera, Puppet's
    catalog: UTF-8), so the directory is refused, the byte named by line and column, and
    every other service imported and written (exit 3), for a tree as for a user's."""
    sv = root / "etc" / "sv"
    for name, content in (("cafe", LATIN1_RUN), ("good", b"#!/bin/sh\nexec sleep 1\n")):
        (sv / name).mkdir(parents=True)
        (sv / name / "run").write_bytes(content)
        (sv / name / "run").chmod(0o755)
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 3
    said = "refused /etc/sv/cafe: run: not UTF-8 text: byte 0xe9 at line 2, column 6 (é in " \
           "Latin-1)"
    assert said in capsys.readouterr().err
    assert list(yaml.safe_load(out.read_text())["runit"]["services"]) == ["good"]
    (root / "etc" / "passwd").write_text(PASSWD + "ann:x:1000:1000::/home/ann:/bin/sh\n")
    home = root / "home" / "ann"
    shutil.copytree(str(sv), str(home / "sv"), symlinks=True)
    (home / "service").mkdir()
    assert run_cli("import", "--root", root, "--user", "ann", "--out", out) == 3
    assert "refused /home/ann/sv/cafe: run: not UTF-8 text: byte 0xe9 at line 2, column 6" in \
        capsys.readouterr().err
    text = out.read_text()
    assert "# refused /home/ann/sv/cafe: run: not UTF-8 text: byte 0xe9" in text
    assert list(yaml.safe_load(text)["runit"]["users"]["ann"]["services"]) == ["good"]


def test_a_backoff_imports_as_its_keys_and_its_finish_as_the_datas_own(root, tmp_path, capsys):
    """The rendered ``backoff`` file is read back into ``restart``'s keys, and the finish the
    back-off rendered into the data's own finish (or none): plan after import is empty."""
    applied(root, tmp_path, """runit:
  init: none
  runtime: system
  services:
    flaky:
      command: /bin/false
      finish: "echo ended $1 $2"
      restart: {delay: 0.5, max_delay: 30, steps: 4, jitter: 2, reset_after: 120,
                give_up_after: 9}
    steady: {command: /bin/true, restart: {delay: 3}}
""")
    (root / "etc" / "sv" / "flaky" / "backoff-state").write_text(
        "backoff-state 1 pid=1 restarts=2\n")  # the finish's record: the runtime's, not data
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0, (
        capsys.readouterr().err)
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert services["flaky"]["restart"] == {"give_up_after": 9, "within": 60, "delay": 0.5,
                                            "max_delay": 30, "steps": 4, "jitter": 2,
                                            "reset_after": 120}
    assert services["flaky"]["finish"] == "#!/bin/sh\necho ended $1 $2\n"
    assert services["steady"]["restart"] == {"delay": 3} and "finish" not in services["steady"]
    capsys.readouterr()
    assert run_cli("plan", "--data", with_host_keys(out, tmp_path), "--root", root,
                   "--profile-d", "none") == 0, capsys.readouterr().out


def test_a_sandboxed_service_imports_back_as_its_sandbox_and_plans_nothing(root, tmp_path,
                                                                          capsys):
    """The ``sandbox`` file reads back as the key, sandbox-run's words in run as the command
    and the user it switches to, and a run script's wrapper as the script in ``./sandboxed``
    with its guards (docs/sandbox.md); the plan of the import is empty."""
    sandbox = {"no_new_privileges": True, "capabilities": ["net_bind_service"],
               "protect_system": True, "read_write_paths": ["/srv/my web", "-/var/cache/web"]}
    services = {
        "web": {"command": ["/usr/local/bin/web", "--port", "80"], "user": "www-data",
                "group": "adm", "cwd": "/srv/my web", "env": {"A": "b"}, "sandbox": sandbox},
        "script": {"run": "#!/bin/sh\nexec 2>&1\nexec sleep 100\n", "needs": ["web"],
                   "sandbox": {"private_tmp": True, "protect_home": "read-only"}},
        "purge": {"command": ["/usr/bin/purge"], "schedule": "daily",
                  "sandbox": {"capabilities": [], "private_network": True}},
    }
    applied(root, tmp_path, yaml.safe_dump({"runit": {"init": "none", "runtime": "system",
                                                      "services": services}}))
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == 0, \
        capsys.readouterr().err
    imported = yaml.safe_load(out.read_text())["runit"]["services"]
    assert imported["web"]["sandbox"] == sandbox and imported["web"]["user"] == "www-data"
    assert imported["web"]["command"] == services["web"]["command"]
    assert (imported["script"]["run"], imported["script"]["needs"]) == (
        services["script"]["run"], ["web"])
    assert imported["script"]["sandbox"] == services["script"]["sandbox"]
    assert imported["purge"]["sandbox"] == services["purge"]["sandbox"]
    capsys.readouterr()
    assert run_cli("plan", "--data", with_host_keys(out, tmp_path), "--root", root,
                   "--profile-d", "none") == 0, capsys.readouterr().out
