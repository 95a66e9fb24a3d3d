"""The rooms and who may import whom (docs/layout.md), checked two ways.

Statically: every import statement of every module (function-level ones too) is read with
``ast`` and its target checked against ``ALLOWED``; the rooms are layered (none imports one
above it) and no module imports itself through others (no cycle). At run time: each runtime
and protocol module, imported in a fresh child of a new interpreter (one forked per module),
must not pull in what the runtime never needs (jinja2, yaml, the generator rooms) — the
check that catches an import hidden in a library.
"""

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

import runit_provision

from .conftest import parsed

PACKAGE_DIR = Path(runit_provision.__file__).parent
PACKAGE = "runit_provision"
RUNTIME_ENGINES = ("supervision", "svlog", "control", "unix")

# room -> the rooms it may import (itself always). Third-party packages are listed by name.
# The rooms are listed from the bottom up: a room may import only rooms listed before it
# (test_no_room_imports_one_above_it), so the rooms' graph has no cycle either.
ALLOWED = {
    # version: the package's __init__ (its version), imported by the cli; imports none
    "version": set(),
    # errors: the one tree
    "errors": set(),
    # shown: how text from outside (a name in a home, a logged line) is shown; pure, stdlib
    "shown": set(),
    "protocol": {"errors"},
    "runtime.unix": {"protocol", "errors"},
    "runtime.svlog": {"runtime.unix", "protocol", "errors"},
    # runtime.control: sv's parts (its command table, waits, session, wakers), sv's alone
    "runtime.control": {"runtime.unix", "protocol", "errors"},
    "runtime.supervision": {"runtime.svlog", "runtime.unix", "protocol", "errors",
                            "setproctitle"},
    "runtime.program": {"runtime.supervision", "runtime.svlog", "runtime.control",
                        "runtime.unix", "protocol", "errors"},
    "source": {"errors", "yaml"},
    # accounts: the records and parsers (pure), the databases a command reads (a file's table
    # or the host's) and host.py, the one module asking the host's (test_one_module_asks_nss)
    "accounts": {"errors"},
    "hiera": {"source", "errors", "yaml"},
    "model": {"protocol", "errors"},
    "schema": {"model", "accounts", "source", "protocol", "errors"},
    # inputs: the one pipeline, data + facts + accounts -> Config (cli/inputs holds the options)
    "inputs": {"hiera", "schema", "accounts", "errors"},
    "render": {"model", "protocol", "errors", "jinja2"},
    # host: what is on the host, read safely — the walk under one root (fsread), one side's
    # live state into protocol's one side type (sides), what the data does not declare
    # (supervised: the units of model), the text of the restarts owed (owed); it never writes.
    # Below the applier and health, which both read the host through it
    "host": {"model", "protocol", "errors"},
    # initsys reads the host through the FsReader its caller hands it (duck-typed: host/'s
    # reader, or the applier's FsRoot), never apply's code: the applier stays out of the room
    "initsys": {"model", "protocol", "errors"},
    # runtime.unix: the OS helpers at the bottom (inotify for the wait for runsv, libc's syncfs)
    # model.tree: the entries every room exchanges; nothing of the generator (render) itself;
    # host: its reads (FsRoot is host.fsread's FsReader with the applier's writes)
    # initsys: the runtime's part of what the host should hold (apply/desired.py)
    "apply": {"host", "initsys", "model", "protocol", "errors", "runtime.unix",
              "shown"},
    # health: is it as wanted — it reads the host through host's readers (sides, supervised,
    # owed) into protocol's one side type; nothing of the applier, which never asks it either
    "health": {"host", "model", "protocol", "errors", "shown"},
    # checks: what runs is judged by health's one verdict (health/verdict.py, pure)
    "checks": {"model", "render", "health", "protocol", "errors", "shown",
               "testinfra", "pytest"},
    # runtime.unix: inotify, for following; the files themselves are read by logs alone;
    # model: the units a view selects; host: what else is supervised and where its logger
    # writes, and the opener of a user's log directory (logs/sources.py)
    "logs": {"host", "model", "protocol", "errors", "runtime.unix", "shown"},
    # fleet: PuppetDB over HTTP (urllib) and the rows of its facts, judged by health's one
    # verdict (a pure module), a side's state read back as protocol's Condition; nothing of
    # the host
    "fleet": {"health", "protocol", "errors"},
    # importing: proposals confirmed by the generator's own path (schema + render); the host
    # is opened by the cli (host.fsread) and read through it here (host.py, found.py)
    "importing": {"model", "schema", "render", "accounts", "protocol", "errors",
                  "shown", "yaml", "ruamel"},
    # demo: the demo's example (its files that are not code) and the sandbox it runs in — a
    # temporary host, our runsvdir on it, the wait for its tree to be as wanted (health's rows
    # read through host/), and its one end (processes: the tree's processes)
    "demo": {"health", "host", "accounts", "runtime.unix", "protocol", "errors", "yaml"},
    # mixin: alerts, rules and dashboards over metrics' families (health/metrics.py names
    # them); pure dicts — the cli writes them
    "mixin": {"health"},
    "cli": {"*"},
}


def room_of(module):
    """The room of a module name inside the package (``runtime.program`` for the nine
    programs), or None for a module outside it."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return "version"
    if parts[1] == "runtime":
        if len(parts) == 2:
            return "runtime.package"
        if parts[2] in RUNTIME_ENGINES:
            return "runtime." + parts[2]
        return "runtime.program"
    return parts[1]


def modules():
    """Every module of the package: (dotted name, path)."""
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def imports_of(module, path):
    """Every module ``path`` imports, absolute, with the line: [(target, line)]."""
    tree = parsed(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    targets = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # "from . import inotify" imports the module runit_provision.….inotify
            for alias in node.names:
                candidate = target + "." + alias.name
                if room_of(candidate) is not None and _is_module(candidate):
                    targets.append((candidate, node.lineno))
                else:
                    targets.append((target, node.lineno))
    return targets


def _is_module(name):
    relative = Path(*name.split(".")[1:])
    return ((PACKAGE_DIR / relative).with_suffix(".py").exists()
            or (PACKAGE_DIR / relative / "__init__.py").exists())


THIRD_PARTY = ("jinja2", "yaml", "ruamel", "testinfra", "pytest", "setproctitle", "_pytest")


def violations():
    found = []
    for module, path in modules():
        source_room = room_of(module)
        allowed = ALLOWED.get(source_room, set())
        for target, line in imports_of(module, path):
            where = "%s:%d" % (path.relative_to(PACKAGE_DIR.parent), line)
            target_room = room_of(target)
            if target_room is None:
                top = target.split(".")[0]
                if top in THIRD_PARTY and "*" not in allowed and top not in allowed:
                    found.append("%s: %s imports %s" % (where, source_room, top))
                continue
            if target_room == "cli" and source_room != "cli":
                found.append("%s: nothing imports cli (%s does)" % (where, module))
            if target_room == source_room:
                if source_room == "runtime.program" and target != module:
                    found.append("%s: a program imports another program (%s)" % (where, target))
                continue
            if "*" in allowed or target_room in allowed:
                continue
            found.append("%s: %s may not import %s (%s)" % (where, source_room, target_room,
                                                            target))
    return found


def test_every_module_belongs_to_a_known_room():
    unknown = sorted({room_of(module) for module, _ in modules()} - set(ALLOWED)
                     - {"runtime.package"})
    assert not unknown, "rooms missing from ALLOWED: %s" % unknown


def test_the_import_matrix():
    assert violations() == []


def test_the_matrix_sees_relative_and_function_level_imports(tmp_path):
    """The checker itself: a relative import inside a function is found and resolved."""
    sample = tmp_path / "mod.py"
    sample.write_text("def f():\n    from ...model import tree\n    from . import inotify\n")
    found = imports_of("runit_provision.runtime.unix.mod", sample)
    assert ("runit_provision.model.tree", 2) in found
    assert ("runit_provision.runtime.unix.inotify", 3) in found


# -- the graph of modules: no cycle, and no room importing one above it -----------------------
def module_of(target, paths):
    """The module of the package ``target`` names: itself, else the longest leading part that
    is one (``runit_provision.protocol.layout.acted_on`` -> ``….protocol.layout``); None for
    a module outside the package."""
    parts = target.split(".")
    while parts and parts[0] == PACKAGE:
        if ".".join(parts) in paths:
            return ".".join(parts)
        parts.pop()
    return None


def import_graph():
    """module -> {module it imports: ["path:line", …]}: every arrow inside the package, a lazy
    import in a function as much as one at the top (it runs too, only later). Importing
    ``a.b`` runs ``a/__init__.py`` first; that is not an arrow here: a package whose
    ``__init__`` imports its own modules (schema, hiera, model…) is showing its face, which
    is not a cycle."""
    paths = dict(modules())
    graph = {module: {} for module in paths}
    for module, path in paths.items():
        for target, line in imports_of(module, path):
            imported = module_of(target, paths)
            where = "%s:%d" % (path.relative_to(PACKAGE_DIR.parent), line)
            if imported is not None and imported != module:
                wheres = graph[module].setdefault(imported, [])
                if where not in wheres:  # "from .x import a, b": one arrow
                    wheres.append(where)
    return graph


def import_cycles(graph):
    """The cycles of ``graph`` (module -> the modules it imports): each set of modules that
    all reach one another through imports (a strongly connected component of two or more),
    as a sorted tuple; the tuples sorted."""
    reach = {module: reached(graph, module) for module in graph}
    return sorted({tuple(sorted(other for other in reach[module] if module in reach[other]))
                   for module in graph if module in reach[module]})


def reached(graph, start):
    """Every module ``start`` imports, directly or through others."""
    found, todo = set(), list(graph[start])
    while todo:
        module = todo.pop()
        if module not in found:
            found.add(module)
            todo.extend(graph.get(module, ()))
    return found


def described(cycle, graph):
    """A cycle as a failure says it: its modules, then each arrow between them and where."""
    short = [module[len(PACKAGE) + 1:] for module in cycle]
    lines = ["a cycle of %d modules: %s" % (len(cycle), ", ".join(short))]
    for module in cycle:
        for imported in sorted(set(graph[module]) & set(cycle)):
            lines.append("  %s -> %s (%s)" % (module[len(PACKAGE) + 1:],
                                             imported[len(PACKAGE) + 1:],
                                             ", ".join(graph[module][imported])))
    return "\n".join(lines)


def test_no_module_import_cycle():
    """No module imports itself through others (issue 45 §1: there were five cycles, the
    supervision wing's of six files among them)."""
    graph = import_graph()
    found = import_cycles(graph)
    assert found == [], "\n".join(described(cycle, graph) for cycle in found)


def test_the_cycle_finder():
    """The checker itself: cycles found whole, with what hangs off them left out."""
    graph = {"a": {"b": []}, "b": {"c": []}, "c": {"a": [], "d": []}, "d": {"e": []},
             "e": {"d": []}, "f": {"a": []}, "g": {}}
    assert import_cycles(graph) == [("a", "b", "c"), ("d", "e")]


# runtime/__init__.py is empty (test_sub_package_inits_are_empty): below every room
RANK = {room: rank for rank, room in enumerate(["runtime.package", *ALLOWED])}


def test_the_table_points_down():
    """What ALLOWED lets a room import is listed before it (below it)."""
    found = ["%s may import %s, above it" % (room, other)
             for room, others in ALLOWED.items() for other in sorted(others)
             if other in RANK and RANK[other] > RANK[room]]
    assert found == []


def test_no_room_imports_one_above_it():
    """Every arrow between rooms points down ALLOWED's order — the cli's too, which may import
    any room, all being below it."""
    found = []
    for module, path in modules():
        room = room_of(module)
        for target, line in imports_of(module, path):
            other = room_of(target)
            if other is not None and RANK[other] > RANK[room]:
                found.append("%s:%d: %s imports %s (%s), a room above it" % (
                    path.relative_to(PACKAGE_DIR.parent), line, room, other, target))
    assert found == []


# -- a room is read in a sitting: at most ROOM_SIZE modules and sub-rooms -----------------------
ROOM_SIZE = 20


def room_size(directory):
    """The modules (``__init__.py`` too) and sub-packages directly in ``directory``."""
    return sum(1 for entry in directory.iterdir()
               if (entry.suffix == ".py" and entry.is_file())
               or (entry.is_dir() and (entry / "__init__.py").is_file()))


def test_a_room_holds_at_most_room_size_modules():
    """Every room and sub-room (the package itself is the house: its rooms, docs/layout.md)."""
    found = {str(init.parent.relative_to(PACKAGE_DIR)): room_size(init.parent)
             for init in PACKAGE_DIR.rglob("__init__.py") if init.parent != PACKAGE_DIR}
    assert {room: size for room, size in found.items() if size > ROOM_SIZE} == {}


def test_sub_package_inits_are_empty():
    """Importing ``runtime.unix.diag`` must not run anything else (``sv status``'s start-up)."""
    for init in (PACKAGE_DIR / "runtime").rglob("__init__.py"):
        assert init.read_text().strip() == "", init
    for room in ("protocol", "cli"):
        assert (PACKAGE_DIR / room / "__init__.py").read_text().strip() == "", room


# The host's account databases (NSS) are asked in one module; the runtime's programs and
# verify's probe (checks/hostprobe.py, sent to the host it reads) are programs of their own.
ASKS_NSS = {"runit_provision.accounts.host", "runit_provision.checks.hostprobe"}


def test_one_module_asks_nss():
    """Who imports pwd or grp, or calls getgrouplist, outside the runtime."""
    found = {module for module, path in modules()
             if not room_of(module).startswith("runtime")
             and ({target for target, _ in imports_of(module, path)} & {"pwd", "grp"}
                  or "getgrouplist" in path.read_text())}
    assert found == ASKS_NSS


# The host room reads, never writes (the applier's writes are apply/fsroot.py's): none of its
# modules names a call or an open flag that changes a file system.
WRITES = {"write", "rename", "replace", "unlink", "remove", "rmdir", "mkdir", "makedirs",
          "symlink", "link", "chmod", "fchmod", "lchmod", "chown", "fchown", "lchown",
          "truncate", "ftruncate", "mkfifo", "mknod", "utime", "sync", "fsync", "O_WRONLY",
          "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"}


def test_the_host_room_never_writes():
    found = []
    for module, path in modules():
        if room_of(module) != "host":
            continue
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Attribute) and node.attr in WRITES and isinstance(
                    node.value, ast.Name) and node.value.id in ("os", "posix", "shutil"):
                found.append("%s:%d: %s.%s" % (path.name, node.lineno, node.value.id,
                                               node.attr))
    assert found == []


# -- the supervision wing: rooms, one way (docs/layout.md) ----------------------------------------
# runtime/supervision's rooms, bottom first, and the rooms of the wing each may import: the
# engine (loop, spawn, one side, one directory's supervisor) knows nothing of loggers, trees,
# users or the fork server — what hosts its logger and what runs a user's tree are handed to it;
# what hosts loggers beside the engine is built on it; the tree (runsvdir's body) makes the log
# hosts and hands them on; a forked user's tree runs a tree and becomes its user as a logger
# host does; the fork server runs what users' trees and logger hosts run.
WING = PACKAGE + ".runtime.supervision"
SUPERVISION_ROOMS = {
    "engine": set(),
    "loggers": {"engine"},
    "tree": {"engine", "loggers"},
    "users": {"engine", "loggers", "tree"},
    "forks": {"engine", "loggers", "tree", "users"},
}


def supervision_room_of(module):
    """The wing's room of a module of runtime/supervision ("" for a flat one), else None."""
    if not module.startswith(WING + "."):
        return None
    parts = module[len(WING) + 1:].split(".")
    return parts[0] if len(parts) > 1 else ""


def test_the_supervision_wing_is_rooms_whose_imports_point_down():
    found = []
    for module, path in modules():
        room = supervision_room_of(module)
        if room is None or path.name == "__init__.py":
            continue
        if room not in SUPERVISION_ROOMS:
            found.append("%s: in no room of the wing" % module)
            continue
        for target, line in imports_of(module, path):
            target_room = supervision_room_of(target)
            if target_room not in (None, room) and target_room not in SUPERVISION_ROOMS[room]:
                found.append("%s:%d: %s may not import %s (%s)" % (
                    path.relative_to(PACKAGE_DIR.parent), line, room, target_room or "the wing",
                    target))
    assert found == []


# -- at run time: what importing a runtime module really loads ---------------------------------
FORBIDDEN_IN_RUNTIME = ("jinja2", "yaml", "ruamel", "testinfra", "runit_provision.render",
                        "runit_provision.hiera", "runit_provision.schema",
                        "runit_provision.model", "runit_provision.source",
                        "runit_provision.accounts",
                        "runit_provision.apply", "runit_provision.host",
                        "runit_provision.health",
                        "runit_provision.cli",
                        "runit_provision.checks")


def runtime_and_protocol_modules():
    return [module for module, _ in modules()
            if room_of(module) in ("protocol", "runtime.program", "runtime.supervision",
                                   "runtime.svlog", "runtime.unix")]


# One interpreter forks a fresh child per module: each child starts from the same few
# modules a new interpreter has, imports one module and says what is loaded then.
FORK_EACH = """
import importlib, json, os, sys
for module in json.loads(sys.argv[1]):
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(module)
            print(json.dumps([module, sorted(sys.modules)]), flush=True)
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
"""


@functools.lru_cache(maxsize=None)
def _loaded_after_each():
    wanted = runtime_and_protocol_modules() + [PACKAGE + ".initsys"]
    done = subprocess.run([sys.executable, "-c", FORK_EACH, json.dumps(wanted)], check=True,
                          capture_output=True, text=True, timeout=300)
    return ({module: set(loaded) for module, loaded in map(json.loads, done.stdout.splitlines())},
            done.stderr)


def loaded_after_import(module):
    """The modules loaded in a fresh child of a new interpreter once it has imported
    ``module``."""
    loaded, errors = _loaded_after_each()
    assert module in loaded, "importing %s failed:\n%s" % (module, errors)
    return loaded[module]


@pytest.mark.parametrize("module", runtime_and_protocol_modules())
def test_runtime_and_protocol_load_nothing_heavy(module):
    loaded = loaded_after_import(module)
    bad = sorted(name for name in loaded
                 if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_RUNTIME))
    assert not bad, "%s pulls in %s" % (module, bad)


# -- initsys: the entries of model.tree and nothing of the generator --------------------------
def test_initsys_loads_no_jinja2_yaml_or_renderer():
    loaded = loaded_after_import(PACKAGE + ".initsys")
    bad = sorted(name for name in loaded
                 if name.split(".")[0] in ("jinja2", "yaml")
                 or name.startswith(PACKAGE + ".render"))
    assert not bad, "runit_provision.initsys pulls in %s" % bad


# -- a long runtime module says why it is one ---------------------------------------------------
# runit's runsv.c is ~600 lines one reads in a sitting: a module of the runtime longer than that
# is split along a seam, or its opening docstring says why it stays one (a paragraph "Why …").
LONG_MODULE = 600


def long_modules_without_a_reason(paths):
    """The paths of ``paths`` longer than LONG_MODULE lines whose module docstring has no
    paragraph beginning "Why"."""
    found = []
    for path in paths:
        text = path.read_text()
        if text.count("\n") <= LONG_MODULE:
            continue
        doc = ast.get_docstring(parsed(path)) or ""
        if not any(paragraph.startswith("Why") for paragraph in doc.split("\n\n")):
            found.append(path)
    return found


def test_a_long_runtime_module_says_why_it_stays_one():
    runtime = [path for module, path in modules() if room_of(module).startswith("runtime")]
    assert long_modules_without_a_reason(runtime) == []


def test_the_reason_finder(tmp_path):
    short, silent, said = (tmp_path / name for name in ("short.py", "silent.py", "said.py"))
    short.write_text('"""Short."""\n')
    silent.write_text('"""Long.\n\nNothing more."""\n' + "x = 1\n" * LONG_MODULE)
    said.write_text('"""Long.\n\nWhy one module: one program."""\n' + "x = 1\n" * LONG_MODULE)
    assert long_modules_without_a_reason([short, silent, said]) == [silent]


# -- public Python only: no private module, no ``sys._*`` ---------------------------------------
def private_uses(path):
    """The private names ``path`` uses, with their lines: imports of a module whose name
    starts with ``_`` (``__future__`` is public) or of ``posix`` (``os`` is its public face),
    ``sys._*`` attributes and ``getattr(sys, "_…")``."""
    found = []
    for node in ast.walk(parsed(path)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if (top.startswith("_") and top != "__future__") or top == "posix":
                found.append((top, node.lineno))
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "sys" and node.attr.startswith("_")):
            found.append(("sys." + node.attr, node.lineno))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name) and node.args[0].id == "sys"
                and isinstance(node.args[1], ast.Constant)
                and str(node.args[1].value).startswith("_")):
            found.append(("sys." + node.args[1].value, node.lineno))
    return sorted(found, key=lambda use: use[1])


def test_the_package_uses_public_python_only():
    found = []
    for _, path in modules():
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        found += ["%s:%d: %s" % (relative, line, name) for name, line in private_uses(path)]
    assert found == []


def test_the_private_use_finder(tmp_path):
    sample = tmp_path / "mod.py"
    sample.write_text("from __future__ import annotations\nimport os, _signal\nimport posix\n"
                      "from _operator import itemgetter\nimport sys\nsys._getframe(1)\n"
                      "getattr(sys, '_base_executable', None)\nsys.argv\n")
    assert private_uses(sample) == [("_signal", 2), ("posix", 3), ("_operator", 4),
                                    ("sys._getframe", 6), ("sys._base_executable", 7)]


# -- a module's docstring fits on a screen ------------------------------------------------------
# What a module is and why, in a few paragraphs; a format, a table or a reference belongs to its
# page in docs/, which the docstring names.
DOCSTRING_LINES = 30


def long_docstrings(paths):
    """``(path, lines)`` of each of ``paths`` whose module docstring is longer than
    DOCSTRING_LINES lines."""
    found = []
    for path in paths:
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
        if doc.count("\n") + 1 > DOCSTRING_LINES:
            found.append((path, doc.count("\n") + 1))
    return found


def test_a_module_docstring_fits_on_a_screen():
    assert long_docstrings([path for _, path in modules()]) == []


def test_the_docstring_measure(tmp_path):
    short, long = tmp_path / "short.py", tmp_path / "long.py"
    short.write_text('"""One line."""\n')
    long.write_text('"""%s"""\n' % ("line\n" * DOCSTRING_LINES))
    assert long_docstrings([short, long]) == [(long, DOCSTRING_LINES + 1)]
