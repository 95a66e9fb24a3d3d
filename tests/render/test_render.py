"""The generator: exact scripts for the common cases, modes and owners, templates, purity."""

import doctest
import subprocess
import sys

import pytest

from runit_provision.errors import RenderError
from runit_provision.render import Absent, Directory, File, Symlink, environment, render
from runit_provision.runtime.unix.edir import value_from_bytes
from runit_provision.protocol.canonical import (
    TREE_LOCK, LogRun, TreeRun, log_run_from_bytes, tree_run_from_bytes)

from .helpers import config_from_text, text_of, tree_from_text

WEB = """
runit::services:
  web:
    command: /usr/bin/web --port 8080
    user: www
    group: adm
    env: {PORT: 8080, GREETING: "hello\\nworld", UNSET: null}
    nice: 5
    limits: {nofile: 1024, core: 0}
    needs: [db]
    log: {size: 1000000, num: 5, min: 2, timeout: 3600, processor: "gzip", udp: "10.0.0.1:514",
          prefix: "web: ", patterns: ["-*debug*", "+*"], user: "www:adm", line_length: 2000}
  db:
    command: [/usr/sbin/db, --data, /srv/db]
    log: {timestamps: iso}
"""


def test_a_command_service():
    tree = tree_from_text(WEB)
    assert text_of(tree, "/etc/sv/web/run") == (
        "#!/bin/sh\n"
        "exec 2>&1\n"
        "sv -w 7 start /etc/sv/db || exit 1\n"
        "exec chpst -u www:adm -e ./env -n 5 -o 1024 -c 0 /usr/bin/web --port 8080\n")
    assert text_of(tree, "/etc/sv/db/run") == (
        "#!/bin/sh\nexec 2>&1\nexec /usr/sbin/db --data /srv/db\n")
    assert tree["/etc/sv/web/run"] == File("/etc/sv/web/run", tree["/etc/sv/web/run"].content,
                                           0o755, "root", "root")
    assert tree["/etc/service/web"] == Symlink("/etc/service/web", "/etc/sv/web")


def test_env_files_have_chpst_e_semantics():
    tree = tree_from_text(WEB)
    files = {path.rsplit("/", 1)[1]: tree[path] for path in tree.paths()
             if path.startswith("/etc/sv/web/env/")}
    assert sorted(files) == ["GREETING", "PORT", "UNSET"]
    assert all(entry.mode == 0o640 for entry in files.values())
    assert value_from_bytes(files["PORT"].content) == "8080"
    assert value_from_bytes(files["GREETING"].content) == "hello\nworld"
    assert value_from_bytes(files["UNSET"].content) is None


def test_the_logger_is_canonical_and_its_config_lies_in_the_log_directory():
    tree = tree_from_text(WEB)
    run = tree["/etc/sv/web/log/run"].content
    assert run == b"#!/bin/sh\nexec chpst -u www:adm svlogd -tt -l 2000 /var/log/web\n"
    assert log_run_from_bytes(run) == LogRun("chpst", "www:adm",
                                                ["-tt", "-l", "2000", "/var/log/web"])
    assert text_of(tree, "/var/log/web/config") == (
        "s1000000\nn5\nN2\nt3600\n!gzip\nu10.0.0.1:514\np web: \n".replace("p web", "pweb")
        + "-*debug*\n+*\n")
    assert tree["/var/log/web"] == Directory("/var/log/web", 0o755, "www", "adm")
    assert tree["/etc/sv/db/log/run"].content == b"#!/bin/sh\nexec svlogd -ttt /var/log/db\n"
    assert log_run_from_bytes(tree["/etc/sv/db/log/run"].content) is not None


def test_udp_only_and_no_timestamps():
    tree = tree_from_text("runit::services:\n  s:\n    command: x\n"
                          "    log: {udp: 10.1.1.1, udp_only: true, timestamps: none}\n")
    assert text_of(tree, "/var/log/s/config") == "U10.1.1.1\n"
    assert text_of(tree, "/etc/sv/s/log/run") == "#!/bin/sh\nexec svlogd /var/log/s\n"


def test_a_run_script_gets_a_shebang_and_the_needs_guard_after_it():
    tree = tree_from_text("runit::services:\n  a: {command: x}\n"
                          "  b:\n    run: |\n      echo b\n      exec sleep 1\n"
                          "    needs: [a]\n    log: false\n")
    assert text_of(tree, "/etc/sv/b/run") == (
        "#!/bin/sh\nsv -w 7 start /etc/sv/a || exit 1\necho b\nexec sleep 1\n")
    assert "/etc/sv/b/log" not in tree and "/var/log/b" not in tree


def test_scripts_umask_cwd_down_disabled_absent():
    tree = tree_from_text("""
runit::sv_timeout: 30
runit::services:
  s:
    command: x
    umask: "027"
    cwd: /srv/my app
    env: {A: b}
    down: true
    finish: "echo finished"
    check: {http: "http://127.0.0.1:8080/health"}
    control: {t: "exec kill -TERM 1", 2: "echo two"}
  "off": {command: y, enabled: false}  # quoted: unquoted, YAML 1.1 reads a boolean
  gone: {command: z, ensure: absent}
""")
    assert text_of(tree, "/etc/sv/s/run") == (
        "#!/bin/sh\nexec 2>&1\numask 0027\ncd '/srv/my app' || exit 1\n"
        "exec chpst -e /etc/sv/s/env x\n")
    assert tree["/etc/sv/s/down"] == File("/etc/sv/s/down", b"", 0o644)
    assert text_of(tree, "/etc/sv/s/finish") == "#!/bin/sh\necho finished\n"
    assert "url=http://127.0.0.1:8080/health\n" in text_of(tree, "/etc/sv/s/check")
    assert text_of(tree, "/etc/sv/s/control/2") == "#!/bin/sh\necho two\n"
    assert tree["/etc/sv/s/control/t"].mode == 0o755
    assert "/etc/sv/off/run" in tree and "/etc/service/off" not in tree
    assert tree["/etc/service/gone"] == Absent("/etc/service/gone")
    assert tree["/etc/sv/gone"] == Absent("/etc/sv/gone")
    assert not [p for p in tree.paths() if p.startswith("/etc/sv/gone/")]


def test_a_users_tree():
    tree = tree_from_text("""
runit::users:
  alice:
    services:
      app: {command: /home/alice/bin/app, env: {A: b}}
runit::services:
  job: {command: /home/alice/bin/job, owner: alice, needs: [app]}
""")
    base = "/etc/sv/runsvdir-alice"
    assert text_of(tree, base + "/run") == (
        "#!/bin/sh\nexec 2>&1\nexec env -i PATH=\"$PATH\" chpst -u alice:alice:adm:staff "
        "-e ./env -L /home/alice/service/.runsvdir.lock runsvdir /home/alice/service\n")
    # the line is data: the tree (and import) read it back through the one parser
    assert tree_run_from_bytes(tree[base + "/run"].content) == TreeRun(
        "alice:alice:adm:staff", "./env", "/home/alice/service/" + TREE_LOCK,
        "/home/alice/service")
    assert text_of(tree, base + "/control/t").endswith("\nexec sv -v h .\n")
    env = {p.rsplit("/", 1)[1]: value_from_bytes(tree[p].content)
           for p in tree.paths() if p.startswith(base + "/env/")}
    assert env == {"HOME": "/home/alice", "USER": "alice", "LOGNAME": "alice", "SVDIR":
                   "/home/alice/service", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                   "/usr/bin:/sbin:/bin"}
    # the tree's output: logged by root into root's directory, which alice alone reads (an
    # ACL: her group may hold others); ~/logs/runsvdir leads there, and gives way to what an
    # earlier layout left
    assert tree[base + "/log/run"].content == (
        b"#!/bin/sh\nexec svlogd -tt /var/log/runsvdir-alice\n")
    assert tree[base + "/log/run"].owner == "root" and tree[base + "/log"].group == "root"
    assert tree["/var/log/runsvdir-alice"] == Directory("/var/log/runsvdir-alice", 0o750,
                                                        "root", "root", readers=["alice"])
    assert tree["/var/log/runsvdir-alice/config"].group == "root"
    assert tree["/home/alice/logs/runsvdir"] == Symlink(
        "/home/alice/logs/runsvdir", "/var/log/runsvdir-alice", "alice", "alice", yields=True)
    assert tree["/home/alice/logs"] == Directory("/home/alice/logs", 0o750, "alice", "alice")
    assert tree["/etc/service/runsvdir-alice"] == Symlink("/etc/service/runsvdir-alice", base)
    # the user's own services: in ~/sv, linked into ~/service, the user's, no chpst -u
    assert text_of(tree, "/home/alice/sv/job/run") == (
        "#!/bin/sh\nexec 2>&1\nsv -w 7 start /home/alice/sv/app || exit 1\n"
        "exec /home/alice/bin/job\n")
    assert tree["/home/alice/sv/app/env/A"].owner == "alice"
    assert tree["/home/alice/service/app"] == Symlink("/home/alice/service/app",
                                                      "/home/alice/sv/app", "alice", "alice")
    assert tree["/home/alice/sv/app/log/run"].content == (
        b"#!/bin/sh\nexec svlogd -tt /home/alice/logs/app\n")
    assert tree["/home/alice/sv/app"].mode == 0o750
    owners = {entry.owner for entry in tree if entry.path.startswith("/home/alice/")}
    assert owners == {"alice"}


def test_rendering_is_deterministic():
    first = list(tree_from_text(WEB))
    again = list(tree_from_text(WEB))
    assert [(e.path, getattr(e, "content", None), e.mode) for e in first] == \
        [(e.path, getattr(e, "content", None), e.mode) for e in again]
    assert [e.path for e in first] == sorted(e.path for e in first)


def test_one_environment_for_many_renders_renders_the_same():
    """``render(…, environment=…)`` (importing's check of each translation): templates
    compiled once and used again give each config's own tree, as a new environment does."""
    shared = environment.make_environment()
    for text in (WEB, "runit::services: {s: {command: x, log: {size: 5}}}\n", WEB):
        config = config_from_text(text)
        assert list(render(config, environment=shared)) == list(render(config))


def test_only():
    tree = tree_from_text(WEB, only=["db"])
    assert "/etc/sv/db/run" in tree and "/etc/sv/web/run" not in tree


def test_a_user_template_directory_overrides_ours(tmp_path):
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "config.j2").write_text("s{{ log.size }}\n# ours\n")
    tree = tree_from_text("runit::services: {s: {command: x, log: {size: 5}}}\n",
                          templates=tmp_path)
    assert text_of(tree, "/var/log/s/config") == "s5\n# ours\n"
    assert text_of(tree, "/etc/sv/s/run").startswith("#!/bin/sh\n")  # the rest is ours


def test_a_service_template(tmp_path):
    (tmp_path / "web-run.j2").write_text(
        "#!/bin/sh\nexec {{ chpst | map('sh') | join(' ') }} {{ command | map('sh') | "
        "join(' ') }} --name {{ service.name | sh }}\n")
    config = config_from_text("runit::services:\n  web: {command: \"/bin/web 'a b'\", "
                              "user: www, template: web-run.j2}\n",
                              path=str(tmp_path / "data.yaml"))
    tree = render(config)
    assert text_of(tree, "/etc/sv/web/run") == "#!/bin/sh\nexec -u www /bin/web 'a b' --name web\n"


def test_strict_undefined(tmp_path):
    (tmp_path / "run.j2").write_text("#!/bin/sh\nexec {{ nonsense }}\n")
    config = config_from_text("runit::services: {web: {command: x}}\n")
    with pytest.raises(RenderError, match="nonsense"):
        render(config, templates=tmp_path)


def test_a_missing_service_template_is_a_render_error(tmp_path):
    config = config_from_text("runit::services: {web: {template: nowhere.j2}}\n",
                              path=str(tmp_path / "d.yaml"))
    with pytest.raises(RenderError, match="nowhere.j2: cannot read"):
        render(config)


def test_a_user_template_for_log_run_gets_the_canonical_text_and_its_parts(tmp_path):
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "run.j2").write_text(
        "{{ log_run }}# user={{ user }} args={{ args | join(',') }}\n")
    tree = tree_from_text("runit::services: {s: {command: x, log: {user: www}}}\n",
                          templates=tmp_path)
    assert text_of(tree, "/etc/sv/s/log/run") == (
        "#!/bin/sh\nexec chpst -u www svlogd -tt /var/log/s\n"
        "# user=www args=-tt,/var/log/s\n")


def test_entries_are_frozen():
    tree = tree_from_text("runit::services: {s: {command: x}}\n")
    for entry in tree:
        with pytest.raises(AttributeError, match="frozen"):
            entry.mode = 0o777


def test_doctests():
    assert doctest.testmod(environment).failed == 0


def test_render_uses_no_other_room():
    """render may use model, protocol, errors and jinja2 — never the runtime, cli, hiera,
    schema or apply (the static matrix is tests/test_boundaries.py; this is what loads)."""
    code = ("import sys; from runit_provision.render import render; "
            "print(sorted(m for m in sys.modules if m.startswith('runit_provision.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = eval(out)
    assert loaded and all(name.split(".")[1] in ("model", "render", "protocol", "errors")
                          for name in loaded), loaded


def test_a_logger_that_cannot_be_canonical(tmp_path):
    """A login with a ``$`` (a simple word it is not): the stock log/run refuses to write
    another form; a template of the user's may quote it."""
    text = "runit::users: {'host$': {home: /home/host}}\n"
    with pytest.raises(RenderError, match=r"template log/run.j2: '/var/log/runsvdir-host\$' is "
                                          r"not a simple "
                                          r"word .*: no canonical log/run"):
        tree_from_text(text)
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "run.j2").write_text(
        "#!/bin/sh\nexec svlogd {{ args | map('sh') | join(' ') }}\n")
    tree = tree_from_text(text, templates=tmp_path)
    assert text_of(tree, "/etc/sv/runsvdir-host$/log/run") == (
        "#!/bin/sh\nexec svlogd -tt '/var/log/runsvdir-host$'\n")


def test_a_give_up_policy_is_one_file_runsv_never_reads():
    tree = tree_from_text("""
runit::defaults:
  restart: {within: 300}
runit::services:
  flaky: {command: x, restart: {give_up_after: 10}}
  steady: {command: y}
""")
    assert tree["/etc/sv/flaky/give-up"] == File("/etc/sv/flaky/give-up", b"10 300\n", 0o644)
    assert "/etc/sv/steady/give-up" not in tree  # a window alone is no policy


def test_a_log_run_kept_as_written_is_all_that_is_written_of_the_logger():
    """``log: {run: …}`` (what import keeps of a log/run that is not canonical): the script as
    it is, 0755; no log directory, no config — the script owns them."""
    script = ("#!/bin/sh\nchown _runit-log:adm '/var/log/runit/ssh'\n"
              "exec chpst -u _runit-log svlogd -tt '/var/log/runit/ssh'\n")
    tree = tree_from_text("runit::services:\n  ssh:\n    command: /usr/sbin/sshd -D\n"
                          "    log:\n      dir: /var/log/runit/ssh\n      run: |\n"
                          + "".join("        " + line + "\n" for line in script.splitlines()))
    assert tree["/etc/sv/ssh/log/run"] == File("/etc/sv/ssh/log/run", script.encode(), 0o755)
    assert not [path for path in tree.paths() if path.startswith("/var/log")]


READY = """
runit::runtime: %s
runit::defaults:
  ready: notify
  ready_timeout: 90
runit::services:
  db: {command: /usr/sbin/db, ready: {notify: {access: all}}, watchdog: 10}
  web: {run: "#!/bin/sh\\nexec web\\n", needs: [db]}
  probe: {command: /bin/probe, check: {tcp: 80}}
"""


def test_ready_notify_is_a_ready_file_and_a_check_that_reads_the_record():
    """Our runsv reads ``ready``; every sv waits on the ``check``; defaults merge (a service's
    own check wins over a default ``notify``). No relay under our runtime."""
    tree = tree_from_text(READY % "python")
    assert tree["/etc/sv/db/ready"] == File("/etc/sv/db/ready",
                                            b"notify access=all timeout=90 watchdog=10\n", 0o644)
    assert text_of(tree, "/etc/sv/web/ready") == "notify timeout=90\n"
    check = text_of(tree, "/etc/sv/db/check")
    assert "grep -cx -e 'state ready' -e \"pid $pid\" supervise/readiness" in check
    assert tree["/etc/sv/db/check"].mode == 0o755
    assert "/etc/sv/probe/ready" not in tree and "nc -z" in text_of(tree, "/etc/sv/probe/check")
    assert "notify-relay" not in text_of(tree, "/etc/sv/db/run")


def test_ready_notify_under_the_c_runsv_renders_the_relay_before_the_daemon():
    tree = tree_from_text(READY % "system")
    assert text_of(tree, "/etc/sv/db/run") == (
        "#!/bin/sh\nexec 2>&1\n"
        "NOTIFY_SOCKET=$(notify-relay $$ access=all timeout=90 watchdog=10) || exit 1\n"
        "export NOTIFY_SOCKET\nWATCHDOG_USEC=10000000\nexport WATCHDOG_USEC\n"
        "exec /usr/sbin/db\n")
    assert text_of(tree, "/etc/sv/web/run") == (
        "#!/bin/sh\nsv -w 7 start /etc/sv/db || exit 1\n"
        "NOTIFY_SOCKET=$(notify-relay $$ timeout=90) || exit 1\nexport NOTIFY_SOCKET\n"
        "exec web\n")


def test_ready_fd_is_s6s_notification_fd_and_under_the_c_runsv_a_relayed_fifo():
    tree = tree_from_text("runit::services:\n  web: {command: /usr/bin/web, ready: {fd: 4},"
                          " ready_timeout: 30}\n")
    assert text_of(tree, "/etc/sv/web/ready") == "fd=4 timeout=30\n"
    assert "supervise/readiness" in text_of(tree, "/etc/sv/web/check")
    assert "notify-relay" not in text_of(tree, "/etc/sv/web/run")
    tree = tree_from_text("runit::runtime: system\nrunit::services:\n"
                          "  web: {command: /usr/bin/web, ready: {fd: 4}, ready_timeout: 30}\n")
    assert text_of(tree, "/etc/sv/web/run") == (
        "#!/bin/sh\nexec 2>&1\n"
        "notify-relay $$ fd=4 timeout=30 || exit 1\n"
        "exec 4<>supervise/notification-fifo\n"
        "exec /usr/bin/web\n")
    # the shell opens it: a POSIX shell names descriptors up to 9 only
    with pytest.raises(Exception, match=r"services.web.ready.fd: ready: \{fd: 12\} with "
                                        r"runtime: system: .* 3 to 9 only"):
        tree_from_text("runit::runtime: system\nrunit::services:\n"
                       "  web: {command: /usr/bin/web, ready: {fd: 12}}\n")


def test_a_backoff_is_a_file_our_runsv_reads_and_a_finish_that_waits_under_the_c_runsv():
    """``restart``'s back-off renders ``backoff`` (our runsv's timer reads it at each death)
    and a ``finish`` with the step delays for the C runsv (templates/finish/backoff.j2): the
    data's own finish runs first, in a subshell; our runsv tells the finish not to wait."""
    from runit_provision.protocol.backoff import RUNSV_ENV, backoff_from_bytes

    tree = tree_from_text("""
runit::services:
  flaky:
    command: x
    finish: "echo ended $1 $2"
    restart: {delay: 1, max_delay: 8, steps: 3, jitter: 0.5, give_up_after: 9}
  plain: {command: y, restart: {delay: 2}}
""")
    found = backoff_from_bytes(tree["/etc/sv/flaky/backoff"].content)
    assert (found.first, found.max, found.steps, found.jitter, found.reset) == (1, 8, 3, 0.5, 60)
    assert tree["/etc/sv/flaky/backoff"].mode == 0o644
    assert tree["/etc/sv/flaky/give-up"].content == b"9 60\n"
    finish = text_of(tree, "/etc/sv/flaky/finish")
    assert finish.startswith("#!/bin/sh\n(\necho ended $1 $2\n)\n# restart back-off")
    assert "-v table='1 2 4 8'" in finish and "-v jitter=0.5" in finish
    assert '[ "${%s:-}" = runsv ] && exit 0' % RUNSV_ENV in finish
    assert tree["/etc/sv/flaky/finish"].mode == 0o755
    plain = text_of(tree, "/etc/sv/plain/finish")
    assert plain.startswith("#!/bin/sh\n# restart back-off") and "-v table='2'" in plain
    subprocess.run(["sh", "-n", "-c", finish], check=True)  # sh reads it


def test_a_backoff_refuses_a_finish_that_is_not_shell():
    with pytest.raises(RenderError, match="must be shell, not #!/usr/bin/python3"):
        tree_from_text("runit::services:\n  x:\n    command: x\n"
                       "    finish: \"#!/usr/bin/python3\\nprint(1)\"\n"
                       "    restart: {delay: 1}\n")
