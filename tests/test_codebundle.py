"""The views' code bundle (runit_provision/startup/codebundle.py): a package's modules served from one
file in its ``__pycache__``, checked against their sources like a ``.pyc``, trusted like one.

Each run is a fresh interpreter (``-S``, bytecode written: the suite's own
PYTHONDONTWRITEBYTECODE is taken out of its environment) importing a small package made in
a temporary directory through the bundle, then writing it if it must. A source is made older
than the bundle's racy window by its mtime; its ctime cannot be set back, so the runs write
as if three seconds later (``keep``'s clock)."""

import ast
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import runit_provision
from runit_provision.startup import codebundle

from .conftest import pythons

PROGRAM = """import sys, time
sys.path[:0] = [%(here)r, %(checkout)r]
from runit_provision.startup import codebundle, codebundle_writer
bundle = codebundle.serve("pkg", %(package)r)
import pkg.a, pkg.sub.b
%(more)s
found = [pkg.a.f(), pkg.sub.b.g(), sorted(bundle.served), pkg.a.__file__,
         pkg.a.f.__code__.co_filename, pkg.sub.__path__, pkg.a.__spec__.origin,
         pkg.a.__cached__]
found.append(codebundle_writer.keep(bundle, time.time_ns() + 3 * 10**9))
print(repr(found))
"""
CHECKOUT = str(Path(runit_provision.__file__).parent.parent)
ALL = ["pkg", "pkg.a", "pkg.sub", "pkg.sub.b"]
DEADLINE = 30  # seconds a fresh interpreter may take (a run takes a tenth of one)
OTHER = 61001  # a scratch uid: no account of the host's


def make_package(here):
    """pkg/{__init__,a}.py and pkg/sub/{__init__,b}.py under ``here``, ten seconds old."""
    package = here / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    return 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("def g():\n    return 'b'\n")
    for path in package.rglob("*.py"):
        aged(path)
    return package


def aged(path, seconds=10):
    moment = time.time() - seconds
    os.utime(str(path), (moment, moment))


def run(here, more="", umask=-1):
    """What a fresh interpreter found: [f(), g(), served, a's __file__, f's co_filename,
    sub's __path__, a's origin, a's __cached__, whether the bundle was written]. ``umask``:
    the child's (-1: this process's)."""
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", PROGRAM % {
            "here": str(here), "checkout": CHECKOUT, "package": str(here / "pkg"),
            "more": more}],
        capture_output=True, text=True, env=env, cwd=str(here), timeout=DEADLINE,
        umask=umask)
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def bundle_of(package):
    return Path(codebundle.bundle_path(str(package)))


def test_a_bundle_serves_the_modules_the_run_before_imported(tmp_path):
    package = make_package(tmp_path)
    first = run(tmp_path)
    assert first[:3] == [1, "b", []] and first[-1] is True
    pyc = "a.%s.pyc" % sys.implementation.cache_tag
    assert first[-2] == str(package / "__pycache__" / pyc)  # imported the usual way
    info = bundle_of(package).stat()
    assert info.st_mode & 0o777 == 0o644 and info.st_uid == os.geteuid()
    second = run(tmp_path)
    source = str(package / "a.py")
    # its code's cache is the bundle, as a .pyc module's is its .pyc
    assert second == [1, "b", ALL, source, source, [str(package / "sub")], source,
                      str(bundle_of(package)), False]


def test_a_traceback_names_the_source_and_shows_its_line(tmp_path):
    package = make_package(tmp_path)
    (package / "a.py").write_text("def f():\n    return 1\n\n\ndef boom():\n"
                                  "    raise ValueError('from a')\n")
    aged(package / "a.py")
    run(tmp_path)
    more = ("import traceback\ntry:\n    pkg.a.boom()\nexcept ValueError:\n"
            "    print(repr(traceback.format_exc()))\n")
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", PROGRAM % {
            "here": str(tmp_path), "checkout": CHECKOUT, "package": str(package),
            "more": more}], capture_output=True, text=True, env=env, timeout=DEADLINE)
    lines = result.stdout.strip().splitlines()
    text, found = ast.literal_eval(lines[0]), ast.literal_eval(lines[1])
    assert "pkg.a" in found[2]
    assert 'File "%s", line 6, in boom' % (package / "a.py") in text
    assert "raise ValueError('from a')" in text


def test_a_changed_source_is_imported_from_itself_and_the_bundle_written_again(tmp_path):
    package = make_package(tmp_path)
    run(tmp_path)
    # the same size, another mtime: a .pyc's check by size alone would not see it
    (package / "a.py").write_text("def f():\n    return 2\n")
    aged(package / "a.py", seconds=5)
    changed = run(tmp_path)
    assert changed[0] == 2 and "pkg.a" not in changed[2] and changed[-1] is True
    assert sorted(changed[2]) == ["pkg", "pkg.sub", "pkg.sub.b"]
    again = run(tmp_path)
    assert again[0] == 2 and again[2] == ALL and again[-1] is False


def test_a_source_changed_within_the_racy_window_is_not_put_in(tmp_path):
    package = make_package(tmp_path)
    (package / "a.py").write_text("def f():\n    return 3\n")  # now: its time may not show
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    program = PROGRAM.replace("time.time_ns() + 3 * 10**9", "time.time_ns()") % {
        "here": str(tmp_path), "checkout": CHECKOUT, "package": str(package), "more": ""}
    found = ast.literal_eval(subprocess.run(
        [sys.executable, "-S", "-c", program], capture_output=True, text=True,
        env=env, timeout=DEADLINE).stdout.strip())
    # every source was just made (its ctime is now): none is put in, no bundle is written
    assert found[0] == 3 and found[-1] is False and not bundle_of(package).exists()
    later = run(tmp_path)  # three seconds later by keep's clock: now they go in
    assert later[0] == 3 and later[2] == [] and later[-1] is True
    assert run(tmp_path)[:3] == [3, "b", ALL]


def test_reload_takes_the_changed_source(tmp_path):
    package = make_package(tmp_path)
    run(tmp_path)
    more = ("import importlib\nopen(%r, 'w').write('def f():\\n    return 40 + 2\\n')\n"
            "importlib.reload(pkg.a)\n" % str(package / "a.py"))
    assert run(tmp_path, more)[0] == 42


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_a_bundle_others_may_write_is_ignored(tmp_path, mode):
    package = make_package(tmp_path)
    run(tmp_path)
    bundle_of(package).chmod(mode)
    found = run(tmp_path)
    assert found[:3] == [1, "b", []]
    assert found[-1] is True and bundle_of(package).stat().st_mode & 0o777 == 0o644


def test_a_bundle_of_another_user_is_ignored(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    package = make_package(tmp_path)
    run(tmp_path)
    os.chown(str(bundle_of(package)), OTHER, OTHER)
    found = run(tmp_path)
    assert found[:3] == [1, "b", []] and found[-1] is True  # written again, root's
    assert bundle_of(package).stat().st_uid == 0


def _two_links(tmp_path, package):
    os.link(str(bundle_of(package)), str(tmp_path / "second"))


def _a_fifo(tmp_path, package):
    bundle_of(package).unlink()
    os.mkfifo(str(bundle_of(package)), 0o644)


def _linked_pycache(tmp_path, package):
    (package / "__pycache__").rename(tmp_path / "elsewhere")
    (package / "__pycache__").symlink_to(tmp_path / "elsewhere")


def _owned(*paths):
    for path in paths:
        os.chown(str(path), OTHER, OTHER)


# a bundle someone other than root (the tests' euid) could have written or replaced: the
# harm, and whether the run writes a bundle of its own (it does not into a directory the
# reader would refuse)
REFUSED = {
    "two links": (_two_links, True),
    "a FIFO": (_a_fifo, True),
    "a __pycache__ others in its group may write":
        (lambda here, package: (package / "__pycache__").chmod(0o775), False),
    "a package directory anyone may write":
        (lambda here, package: package.chmod(0o777), False),
    "a parent anyone may write, not sticky": (lambda here, package: here.chmod(0o777), False),
    "a __pycache__ of another user's":
        (lambda here, package: _owned(package / "__pycache__"), False),
    "the package's owner's, who is not root": (lambda here, package: _owned(
        package, package / "__pycache__", bundle_of(package)), False),
    "a __pycache__ that is a link": (_linked_pycache, False),
}


@pytest.mark.parametrize("harm", sorted(REFUSED))
def test_a_bundle_someone_else_could_have_written_is_not_read(tmp_path, harm):
    """Root's view does not run a bundle another user could have written or swapped: not
    one with a second name, a FIFO (whose open would wait for a writer), one in a directory
    on the way someone else may write, of another user, or behind a link. It imports from
    the sources (the right code, nothing served), quietly."""
    if os.geteuid() != 0:
        pytest.skip("as root: another user's files need chown, and root is who is at stake")
    package = make_package(tmp_path)
    assert run(tmp_path)[-1] is True and run(tmp_path)[2] == ALL  # trusted until the harm
    harm_done, rewritten = REFUSED[harm]
    harm_done(tmp_path, package)
    before = bundle_of(package).read_bytes() if harm != "a FIFO" else None
    try:
        found = run(tmp_path)
        assert found[:3] == [1, "b", []]
        assert found[-1] is rewritten
        if rewritten:  # a new file in its place: one link, root's, read by the next run
            info = bundle_of(package).lstat()
            assert (info.st_nlink, info.st_uid, info.st_mode) == (1, 0, 0o100644)
            assert run(tmp_path)[2] == ALL
        else:  # the writer does not write what the reader would refuse
            assert bundle_of(package).read_bytes() == before
    finally:
        tmp_path.chmod(0o700)


def test_the_writer_does_not_wait_on_a_fifo_put_in_a_source_s_place(tmp_path):
    """A module the bundle holds whose source is now a FIFO is left out when the bundle is
    written again — not opened, whose open would wait for a writer."""
    package = make_package(tmp_path)
    run(tmp_path)
    (package / "c.py").write_text("")
    aged(package / "c.py")
    source = str(package / "sub" / "b.py")
    # after the view's imports: b's source becomes a FIFO, and a module new to the bundle
    # (pkg.c) has the view write it again
    found = run(tmp_path, "import os; os.unlink(%r); os.mkfifo(%r); import pkg.c"
                % (source, source))
    assert found[2] == ALL and found[-1] is True
    os.unlink(source)
    (package / "sub" / "b.py").write_text("def g():\n    return 'b'\n")
    aged(package / "sub" / "b.py")
    assert run(tmp_path)[2] == ["pkg", "pkg.a", "pkg.sub"]


def test_a_sticky_parent_anyone_may_write_is_trusted(tmp_path):
    """As ``/tmp``: in a sticky directory no one else can move or replace what is root's."""
    package = make_package(tmp_path)
    run(tmp_path)
    tmp_path.chmod(0o1777)
    try:
        assert run(tmp_path)[2] == ALL
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_a_bundle_is_written_as_it_is_read(tmp_path, umask):
    """The writer's rules are the reader's: a new file of the writer's, mode 0644 whatever
    the umask, one link, renamed into place — read by the next view."""
    package = make_package(tmp_path)
    # __pycache__ as an installation has it (pip compiles as root, umask 022); one the
    # interpreter makes under a umask that lets others write is not trusted (below)
    (package / "__pycache__").mkdir(mode=0o755)
    (package / "__pycache__").chmod(0o755)
    assert run(tmp_path, umask=umask)[-1] is True
    info = bundle_of(package).lstat()
    assert (info.st_mode, info.st_uid, info.st_nlink) == (0o100644, os.geteuid(), 1)
    assert not [path for path in (package / "__pycache__").iterdir()
                if path.name.endswith(".tmp")]
    assert run(tmp_path, umask=umask)[2:3] == [ALL]


def test_nothing_is_written_into_a_pycache_the_interpreter_made_for_others_to_write(
        tmp_path):
    """Under umask 002 the interpreter makes ``__pycache__`` 0775: a bundle there would not
    be read, so none is written (nor compiled) — the views import as without one."""
    package = make_package(tmp_path)
    found = run(tmp_path, umask=0o002)
    assert (package / "__pycache__").stat().st_mode & 0o777 == 0o775
    assert found[-1] is False and not bundle_of(package).exists()
    assert run(tmp_path, umask=0o002)[2] == []


def test_a_user_s_view_trusts_root_s_files_and_the_user_s_own(tmp_path, monkeypatch):
    """The owners trusted are root and the process's euid: a user's checkout (its
    directories the user's, those above root's) is the user's view's to read; root's view
    trusts root's alone."""
    if os.geteuid() != 0:
        pytest.skip("changing a directory's owner needs root")
    pycache = tmp_path / "home" / "pkg" / "__pycache__"
    pycache.mkdir(parents=True, mode=0o755)
    for path in (pycache, pycache.parent, pycache.parent.parent):
        path.chmod(0o755)
        os.chown(str(path), OTHER, OTHER)
    assert codebundle.trusted_owners() == (0,)
    assert not codebundle.is_directory_trusted(str(pycache), (0,), walk=True)
    monkeypatch.setattr(codebundle.posix, "geteuid", lambda: OTHER)
    assert codebundle.trusted_owners() == (0, OTHER)
    assert codebundle.is_directory_trusted(str(pycache), (0, OTHER), walk=True)
    assert not codebundle.is_directory_trusted("home/pkg/__pycache__", (0, OTHER))  # relative


def test_a_link_to_a_bundle_is_not_followed(tmp_path):
    package = make_package(tmp_path)
    run(tmp_path)
    bundle = bundle_of(package)
    bundle.rename(tmp_path / "elsewhere")
    bundle.symlink_to(tmp_path / "elsewhere")
    found = run(tmp_path, "import os; os.unlink(%r)" % str(bundle))
    assert found[:3] == [1, "b", []]


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "header only",
                                    "index not a dict", "index past the end",
                                    "a code damaged"])
def test_a_damaged_bundle_is_ignored(tmp_path, damage):
    import marshal

    package = make_package(tmp_path)
    run(tmp_path)
    bundle = bundle_of(package)
    data, header = bundle.read_bytes(), codebundle.header()
    length = int.from_bytes(data[len(header):len(header) + 4], "little")
    codes_at = len(header) + 4 + length
    entries = marshal.loads(data[len(header) + 4:codes_at])
    if damage == "truncated":
        data = data[:len(data) * 2 // 3]
    elif damage == "empty":
        data = b""
    elif damage == "garbage":
        data = header + bytes(range(256)) * 8
    elif damage == "header only":
        data = header
    elif damage == "index not a dict":
        index = marshal.dumps(list(entries.items()))
        data = header + len(index).to_bytes(4, "little") + index + data[codes_at:]
    elif damage == "index past the end":
        data = header + (len(data) * 2).to_bytes(4, "little") + data[len(header) + 4:]
    else:
        offset, size = entries["pkg.a"][4:6]
        start = codes_at + offset
        data = data[:start] + b"\xff" * size + data[start + size:]
    bundle.write_bytes(data)
    found = run(tmp_path)
    assert found[:2] == [1, "b"] and "pkg.a" not in found[2] and found[-1] is True
    if damage == "a code damaged":  # the others are still served from it
        assert found[2] == ["pkg", "pkg.sub", "pkg.sub.b"]
    assert run(tmp_path)[2] == ALL  # written again whole


def test_another_interpreters_bundle_is_not_this_ones(tmp_path):
    package = make_package(tmp_path)
    run(tmp_path)
    bundle = bundle_of(package)
    # another Python's: its cache_tag in the name (this one looks for its own)…
    other = Path(codebundle.bundle_path(str(package), "cpython-399"))
    bundle.rename(other)
    assert run(tmp_path)[2] == [] and other.exists()
    # …and its magic number in the header, were it found under this one's name
    data = bundle.read_bytes()
    magic = codebundle.MAGIC_NUMBER
    bundle.write_bytes(data.replace(magic, bytes([magic[0] ^ 1]) + magic[1:], 1))
    assert run(tmp_path)[2] == []


def test_another_python_ignores_this_ones_bundle(tmp_path):
    """A real other interpreter, when the machine has one: its own name, nothing served,
    the right code."""
    others = [path for path in pythons(("3.12", "3.13")).values()
              if os.path.realpath(path) != os.path.realpath(sys.executable)]
    if not others:
        pytest.skip("no other Python 3 interpreter here")
    package = make_package(tmp_path)
    run(tmp_path)
    ours = bundle_of(package).read_bytes()
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([others[0], "-S", "-c", PROGRAM % {
        "here": str(tmp_path), "checkout": CHECKOUT, "package": str(package), "more": ""}],
        capture_output=True, text=True, env=env, timeout=DEADLINE)
    found = ast.literal_eval(result.stdout.strip())
    assert found[:3] == [1, "b", []] and bundle_of(package).read_bytes() == ours


def test_no_bundle_is_written_without_bytecode_writing(tmp_path):
    package = make_package(tmp_path)
    found = run(tmp_path, "sys.dont_write_bytecode = True")
    assert found[-1] is False and not bundle_of(package).exists()


def test_a_view_program_writes_its_bundle_and_then_imports_from_it(tmp_path):
    """The command itself (``logs --dir D -n 3`` as a program, -S -I as a launcher starts
    it) on a copy of the package: the first run writes the bundle, the second imports every
    module of ours it loads after cli/main from it."""
    checkout = tmp_path / "checkout"
    shutil.copytree(str(Path(runit_provision.__file__).parent),
                    str(checkout / "runit_provision"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in checkout.rglob("*.py"):
        aged(path)
    log = tmp_path / "log"
    log.mkdir()
    (log / "current").write_bytes(b"".join(b"@4000000065000000%08x line %d\n" % (n, n)
                                           for n in range(50)))
    launcher = tmp_path / "launcher.py"
    launcher.write_text("import sys\nsys.path[:0] = [%r]\n"
                        "from runit_provision.cli.main import main\nsys.exit(main())\n"
                        % str(checkout))
    argv = [sys.executable, "-S", "-I", "-v", str(launcher), "logs", "--dir", str(log),
            "-n", "3"]
    ours = str(checkout / "runit_provision")
    served_before = sorted([ours + "/__init__.py", ours + "/cli/__init__.py",
                            ours + "/cli/main.py", ours + "/startup/__init__.py",
                            ours + "/startup/codebundle.py"])
    deadline = time.monotonic() + 30
    # the sources were just copied (their ctimes are now): each goes in once it is out of
    # the racy window, and the bundle is written again while one is missing
    while True:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE)
        assert result.returncode == 0 and result.stdout.endswith("line 49\n"), result.stderr
        from_pyc = sorted(line.split(" matches ")[1] for line in result.stderr.splitlines()
                          if ".pyc matches " in line and "runit_provision" in line)
        if from_pyc == served_before:
            # a bundle that served every module is not written: its writer is not imported
            assert "codebundle_writer" not in result.stderr
            break
        assert time.monotonic() < deadline, from_pyc
        time.sleep(0.25)  # a poll's pace, not a synchronisation: the loop's deadline holds
    assert bundle_of(checkout / "runit_provision").exists()


def test_nothing_is_compiled_where_the_bundle_cannot_be_written(tmp_path):
    """A read-only installation (here: a __pycache__ that is not a directory one may write
    into — root may write anywhere a mode forbids, so a file stands in its place): the view
    neither writes nor compiles, every time."""
    package = make_package(tmp_path)
    (package / "__pycache__").write_text("")
    # every compile(), seen from the audit hook, printed before the found values
    more = ("compiled = []\n"
            "sys.addaudithook(lambda event, args: event == 'compile' and compiled.append(1))\n"
            "import atexit; atexit.register(lambda: print(len(compiled)))\n")
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-S", "-c", PROGRAM % {
        "here": str(tmp_path), "checkout": CHECKOUT, "package": str(package), "more": more}],
        capture_output=True, text=True, env=env, timeout=DEADLINE).stdout.strip().splitlines()
    found, compiles = ast.literal_eval(out[0]), int(out[1])
    assert found[:3] == [1, "b", []] and found[-1] is False and compiles == 0
    assert (package / "__pycache__").read_text() == ""
    # where it may write, the same run compiles the modules it puts in
    (package / "__pycache__").unlink()
    out = subprocess.run([sys.executable, "-S", "-c", PROGRAM % {
        "here": str(tmp_path), "checkout": CHECKOUT, "package": str(package), "more": more}],
        capture_output=True, text=True, env=env, timeout=DEADLINE).stdout.strip().splitlines()
    assert ast.literal_eval(out[0])[-1] is True and int(out[1]) == len(ALL)
