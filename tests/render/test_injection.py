"""No data can inject shell: hostile values in every field stay inert.

Each payload tries to create a marker file. Every rendered script must pass ``sh -n``, and the
scripts are run with PATH holding only stand-ins for chpst/sv/svlogd/curl/nc that print their
arguments: the arguments must arrive exactly as the data said, and the marker must not exist.
Fields that end up in ``log/run`` or name accounts refuse such values instead (DataError).
"""

import json
import subprocess

import pytest

from runit_provision.errors import DataError
from runit_provision.runtime.unix.edir import value_from_bytes

from .helpers import config_from_text, make_argv_bin
from runit_provision.render import render

PAYLOADS = [
    "$(touch {mark})",
    "`touch {mark}`",
    "'; touch {mark}; echo '",
    "\"; touch {mark}; echo \"",
    "x; touch {mark}",
    "x\ntouch {mark}",
    "$(touch {mark})'\"`\\",
    "x && touch {mark} || touch {mark}",
    "${{PATH:=$(touch {mark})}}",
    "*",
]


def yaml_string(value):
    return json.dumps(value)  # JSON strings are YAML strings


def run_script(path, cwd, bin_dir):
    proc = subprocess.run(["/bin/sh", str(path)], cwd=str(cwd), env={"PATH": str(bin_dir)},
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    return proc.stdout.split(b"\0")[:-1], proc.returncode


def write_tree(tree, root):
    for entry in tree:
        target = root / entry.path.lstrip("/")
        if entry.kind == "directory":
            target.mkdir(parents=True, exist_ok=True)
        elif entry.kind == "file":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(entry.content)
            target.chmod(entry.mode)


@pytest.mark.parametrize("index", range(len(PAYLOADS)))
def test_hostile_values_stay_inert(tmp_path, index):
    mark = tmp_path / "pwned"
    payload = PAYLOADS[index].format(mark=mark)
    one_line = payload.replace("\n", " ")
    bin_dir = make_argv_bin(tmp_path / "bin")
    cwd_dir = tmp_path / "cwd" / one_line.replace("/", "_")
    cwd_dir.mkdir(parents=True)
    data = """
runit::sv_dir: {root}/sv
runit::service_dir: {root}/service
runit::log_dir: {root}/log
runit::services:
  plain:
    command: [argv, {p}, {p}]
    env: {{VALUE: {p}}}
    log: {{prefix: {one}, processor: {one}, patterns: [{pattern}]}}
  chpsted:
    command: [argv, {p}]
    user: www
    cwd: {cwd}
    env: {{VALUE: {p}}}
    check: {{http: {url}}}
  checked:
    command: x
    check: {{command: [argv, {p}]}}
""".format(root=tmp_path, p=yaml_string(payload), one=yaml_string(one_line),
           pattern=yaml_string("-" + one_line), cwd=yaml_string(str(cwd_dir)),
           url=yaml_string("http://127.0.0.1/" + one_line.replace(" ", "%20")))
    tree = render(config_from_text(data))
    write_tree(tree, tmp_path / "out")
    out = tmp_path / "out" / str(tmp_path).lstrip("/")
    scripts = [entry.path for entry in tree if entry.kind == "file" and entry.mode == 0o755]
    assert len(scripts) >= 7
    for path in scripts:
        check = subprocess.run(["/bin/sh", "-n", str(tmp_path / "out" / path.lstrip("/"))],
                               capture_output=True)
        assert check.returncode == 0, (path, check.stderr)

    argv, code = run_script(out / "sv/plain/run", out / "sv/plain", bin_dir)
    assert argv == [b"chpst", b"-e", b"./env", b"argv", payload.encode(), payload.encode()]
    argv, code = run_script(out / "sv/chpsted/run", out / "sv/chpsted", bin_dir)
    assert code == 0
    assert argv == [b"chpst", b"-u", b"www", b"-e", str(tmp_path / "sv/chpsted/env").encode(),
                    b"argv", payload.encode()]
    argv, code = run_script(out / "sv/chpsted/check", out / "sv/chpsted", bin_dir)
    assert argv[0] == b"curl" and argv[-1].endswith(one_line.replace(" ", "%20").encode())
    argv, code = run_script(out / "sv/checked/check", out / "sv/checked", bin_dir)
    assert argv == [b"argv", payload.encode()]
    argv, code = run_script(out / "sv/plain/log/run", out / "sv/plain/log", bin_dir)
    assert argv == [b"svlogd", b"-tt", str(tmp_path / "log" / "plain").encode()]
    for name in ("plain", "chpsted"):
        env_file = tree["%s/sv/%s/env/VALUE" % (tmp_path, name)]
        assert value_from_bytes(env_file.content) == payload
    config = tree["%s/log/plain/config" % tmp_path].content.decode()
    assert config.count("\n") == 3  # p, !, one pattern: a newline cannot add a line
    assert not mark.exists()


@pytest.mark.parametrize("field", [
    "user: {p}", "group: {p}\n    user: www", "log: {{user: {p}}}", "log: {{dir: {p}}}",
    "needs: [{p}]", "owner: {p}", "check: {{tcp: {p}}}", "umask: {p}", "env: {{{p}: x}}",
    "log: {{udp: {p}}}",
])
@pytest.mark.parametrize("payload", ["$(touch /tmp/pwned)", "a b", "`id`", "x;y", "/x\ny"])
def test_fields_written_unquoted_refuse_shell(field, payload):
    text = "runit::services:\n  s:\n    command: x\n    " + field.format(
        p=yaml_string(payload)) + "\n"
    with pytest.raises(DataError):
        config_from_text(text)


@pytest.mark.parametrize("name", ["$(touch x)", "a;b", "a b", "`x`", "a\nb", "..", "a/../b"])
def test_hostile_service_names_are_refused(name):
    with pytest.raises(DataError, match="services"):
        config_from_text("runit::services:\n  %s: {command: x}\n" % yaml_string(name))


def test_hostile_logins_are_refused():
    with pytest.raises(DataError, match="not a valid user or group name"):
        config_from_text("runit::users: [%s]\n" % yaml_string("$(touch x)"))
