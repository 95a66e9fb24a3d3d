"""The fast tier holds no clock (docs/testing.md#the-tiers): no ``assert`` in a test module
without a cost marker compares a time something took, a CPU time or a peak RSS. Such a bound
fails on a loaded machine, or passes because the machine is quiet; the fast tier checks the
behaviour through a seam instead, and the figure is timed in tests/test_timing.py (slow) or
measured in bench/.

The scan reads the tests' source (``ast``) and follows values, not names: a reading of a real
clock (``time.monotonic()`` and its kin) is a moment; one moment minus another is a duration;
``getrusage``, ``os.times`` and ``/proc``'s ``VmRSS`` are costs, as is a JSON key or field
named for one (``rss_mb``, ``cpu``). A value keeps its kind through assignments, arithmetic,
``int``/``max``/…, and the return of a function of any test module, position by position
when it returns a tuple. An assert is flagged when it compares a duration, a cost, or two
moments. Not flagged: a fake clock (it is not ``time``), a moment compared with data made
from it (a timestamp planted and read back), and a deadline — a ``while``/``if`` on the clock,
or an assert inside the ``while`` that waits: it bounds a failure, it is not the claim. Beyond
the scan: a duration that comes back as data (a record a script wrote with its own ``date``);
those tests give the script a clock that says a fixed moment instead.
"""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
COST_MARKERS = {"slow", "interop", "puppet"}
CLOCKS = {("time", name) for name in ("monotonic", "monotonic_ns", "time", "time_ns",
                                      "perf_counter", "perf_counter_ns", "clock_gettime",
                                      "clock_gettime_ns")}
CPU_CLOCKS = {("time", "process_time"), ("time", "process_time_ns"), ("time", "thread_time"),
              ("os", "times"), ("resource", "getrusage")}
COST_WORDS = ("rss", "cpu", "maxrss", "utime", "stime", "VmRSS", "VmHWM")
NUMERIC = {"int", "float", "round", "abs", "max", "min", "sum"}
CLOCK_WORDS = {name for _, name in CLOCKS | CPU_CLOCKS}
# what a module's text holds when it may measure: read further only then
TEXT_MARKERS = {"monotonic", "perf_counter", "time.time", "time_ns", "clock_gettime",
                "process_time", "thread_time", "os.times", "getrusage", "from time import",
                "rss", "cpu", "ru_", "VmRSS", "VmHWM"}
MOMENT, DURATION, COST = "moment", "duration", "cost"
# tests/vm/ is a tier of its own: one VM, alone (docs/testing.md#the-vm-tier)
OTHER_TIERS = ("vm/",)


def marks_in(node):
    """The ``pytest.mark.X`` names anywhere in ``node``."""
    return {sub.attr for sub in ast.walk(node) if isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Attribute) and sub.value.attr == "mark"}


def is_cost_word(text):
    """Whether a name or key names a cost: ``rss_mb``, ``ru_utime``, ``VmRSS`` (a word of
    it, split at ``_``: ``TFD_TIMER_ABSTIME`` is none)."""
    return isinstance(text, str) and bool(
        {part.lower() for part in text.split("_")} & {word.lower() for word in COST_WORDS})


class Module:
    """One test module's functions and what kind of value each returns."""

    def __init__(self, path, text):
        self.path = path
        self.tree = ast.parse(text, str(path))
        self.aliases = {}  # local name -> ("time", "monotonic") for from-imports of clocks
        self.imported = {}  # local name -> (module path, function name)
        self.functions, self.silent = {}, set()  # silent: functions that return nothing
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
                if not any(isinstance(sub, ast.Return) and sub.value is not None
                           for sub in ast.walk(node)):
                    self.silent.add(node.name)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.level == 0 and (node.module, alias.name) in CLOCKS | CPU_CLOCKS:
                        self.aliases[local] = (node.module, alias.name)
                    elif node.level and node.module:
                        base = path.parent
                        for _ in range(node.level - 1):
                            base = base.parent
                        target = base.joinpath(*node.module.split(".")).with_suffix(".py")
                        self.imported[local] = (target, alias.name)
        self.returns = {}  # function name -> kinds (a set) or a tuple of kinds by position
        self.words = {}  # function name -> the names, attributes and strings it uses

    def may_measure(self, function, modules):
        """Whether ``function`` uses a clock, a cost or a function that returns one: the
        others are not read further (most of the suite, which keeps the scan quick)."""
        if function.name not in self.words:
            self.words[function.name] = {
                getattr(node, "id", None) or getattr(node, "attr", None) or node.value
                for node in ast.walk(function) if isinstance(node, (ast.Name, ast.Attribute))
                or isinstance(node, ast.Constant) and isinstance(node.value, str)}
        words = self.words[function.name]
        if words & CLOCK_WORDS or words & set(self.aliases) or words & set(self.returns):
            return True
        if any(is_cost_word(word) for word in words):
            return True
        return any(name in words and path in modules and imported in modules[path].returns
                   for name, (path, imported) in self.imported.items())

    def returns_of(self, name, kinds, function):
        """Keep what ``function`` returns, when it is a clock's or a cost's."""
        returned = [node.value for node in ast.walk(function)
                    if isinstance(node, ast.Return) and node.value is not None]
        if len(returned) == 1 and isinstance(returned[0], ast.Tuple):
            value = tuple(kinds.of(element) for element in returned[0].elts)
            found = any(value)
        else:
            value = set().union(*(kinds.of(node) for node in returned)) if returned else set()
            found = bool(value)
        if found:
            self.returns[name] = value

    def is_costed(self):
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(target, ast.Name) and target.id == "pytestmark"
                    for target in node.targets):
                return bool(marks_in(node.value) & COST_MARKERS)
        return False


class Kinds:
    """What kind of value each expression of one function is."""

    def __init__(self, module, modules, function):
        self.module, self.modules, self.names = module, modules, {}
        for _ in range(3):  # a name assigned from a name assigned later in a loop
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        self.bind(target, node.value)
                elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value:
                    self.bind(node.target, node.value)

    def bind(self, target, value):
        if isinstance(target, ast.Tuple):
            parts = self.positions(value)
            for index, element in enumerate(target.elts):
                if isinstance(element, ast.Starred):
                    continue
                if parts is None:
                    self.bind(element, value)
                elif index < len(parts):
                    self.add(element, parts[index])
        else:
            self.add(target, self.of(value))

    def add(self, target, kinds):
        if isinstance(target, ast.Name) and kinds:
            self.names[target.id] = self.names.get(target.id, set()) | set(kinds)
        elif isinstance(target, ast.Tuple):
            for element in target.elts:
                self.add(element, kinds)

    def positions(self, value):
        """Kinds by position when ``value`` is a tuple or a call returning one, else None."""
        if isinstance(value, ast.Tuple):
            return [self.of(element) for element in value.elts]
        if isinstance(value, ast.Call):
            returned = self.returned_by(value.func)
            if isinstance(returned, tuple):
                return list(returned)
        return None

    def returned_by(self, func):
        if isinstance(func, ast.Name):
            if func.id in self.module.returns:
                return self.module.returns[func.id]
            if func.id in self.module.imported:
                path, name = self.module.imported[func.id]
                other = self.modules.get(path)
                if other is not None:
                    return other.returns.get(name)
        return None

    def of(self, node):
        """The kinds of ``node``'s value: a subset of {MOMENT, DURATION, COST}."""
        if isinstance(node, ast.Call):
            func = node.func
            named = None
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                named = (func.value.id, func.attr)
            elif isinstance(func, ast.Name):
                named = self.module.aliases.get(func.id)
            if named in CLOCKS:
                return {MOMENT}
            if named in CPU_CLOCKS:
                return {COST}
            returned = self.returned_by(func)
            if returned is not None:
                return set().union(*returned) if isinstance(returned, tuple) else returned
            if isinstance(func, ast.Name) and func.id in NUMERIC:
                return set().union(*(self.of(arg) for arg in node.args)) if node.args else set()
            return set()
        if isinstance(node, ast.Name):
            return self.names.get(node.id, set())
        if isinstance(node, ast.Constant):
            return {COST} if node.value in ("VmRSS", "VmHWM") else set()
        if isinstance(node, ast.Attribute):
            return {COST} if is_cost_word(node.attr) else self.of(node.value)
        if isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Constant) and is_cost_word(key.value):
                return {COST}
            return self.of(node.value)
        if isinstance(node, ast.BinOp):
            left, right = self.of(node.left), self.of(node.right)
            if isinstance(node.op, ast.Sub) and MOMENT in left and MOMENT in right:
                return (left | right | {DURATION}) - {MOMENT}
            return left | right
        if isinstance(node, ast.UnaryOp):
            return self.of(node.operand)
        if isinstance(node, (ast.Tuple, ast.List)):
            return set().union(*(self.of(element) for element in node.elts)) if node.elts \
                else set()
        return set()

    def is_bound(self, test):
        """Whether ``test`` compares a duration, a cost or two moments."""
        for node in ast.walk(test):
            if isinstance(node, ast.Compare):
                kinds = [self.of(operand) for operand in [node.left] + node.comparators]
                if any(DURATION in kind or COST in kind for kind in kinds):
                    return True
                if sum(MOMENT in kind for kind in kinds) >= 2:
                    return True
        return False


def read_modules(root):
    """The modules under ``root`` that may measure, with what their functions return: a
    module is parsed only when its text names a clock, a cost or a function known to return
    one (most of the suite does not, which keeps the scan quick)."""
    texts = {path: path.read_text() for path in sorted(root.rglob("*.py"))}
    modules, returning = {}, set()
    while True:
        words = TEXT_MARKERS | returning
        new = [path for path, text in texts.items()
               if path not in modules and any(word in text for word in words)]
        if not new:
            return modules
        for path in new:
            modules[path] = Module(path, texts[path])
        for _ in range(3):  # returns through helpers, helpers of helpers, across modules
            for module in modules.values():
                for name, function in module.functions.items():
                    if name not in module.silent and module.may_measure(function, modules):
                        module.returns_of(name, Kinds(module, modules, function), function)
        returning = {name for module in modules.values() for name in module.returns}


def asserts_outside_waits(function):
    """The asserts of ``function`` outside a ``while`` (a loop that waits) and outside the
    functions it defines; a ``for`` over cases is no wait."""
    def walk(node, in_loop):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Assert) and not in_loop:
                yield child
            yield from walk(child, in_loop or isinstance(child, ast.While))
    yield from walk(function, False)


def clock_bounds(root=TESTS):
    """``path:line: assert …`` of each clock, CPU or RSS bound in the fast tier under
    ``root``."""
    found = []
    modules = read_modules(root)
    for path, module in modules.items():
        relative = path.relative_to(root).as_posix()
        if relative.startswith(OTHER_TIERS) or module.is_costed():
            continue
        costed_classes = {id(method) for node in ast.walk(module.tree)
                          if isinstance(node, ast.ClassDef)
                          and any(marks_in(d) & COST_MARKERS for d in node.decorator_list)
                          for method in ast.walk(node)}
        for function in module.functions.values():
            if id(function) in costed_classes or any(
                    marks_in(decorator) & COST_MARKERS for decorator in function.decorator_list):
                continue
            if not module.may_measure(function, modules):
                continue
            kinds = Kinds(module, modules, function)
            for node in asserts_outside_waits(function):
                if kinds.is_bound(node.test):
                    found.append("%s:%d: assert %s" % (relative, node.lineno,
                                                        ast.unparse(node.test)[:80]))
    return found


def test_the_fast_tier_asserts_no_clock_cpu_or_rss_bound():
    assert clock_bounds() == []


# -- the scan itself, on sources written here --------------------------------------------------
FLAGGED = {
    "a time taken": """
        import time
        def test_x():
            began = time.monotonic()
            work()
            assert time.monotonic() - began < 2
        """,
    "through a helper's tuple": """
        import time
        def timed(call):
            started = time.perf_counter()
            return call(), time.perf_counter() - started
        def test_x():
            (code, out), took = timed(run)
            assert code == 0
            assert took < 1.0
        """,
    "a moment against a moment": """
        from time import time
        def test_x():
            at = time() + 0.3
            wait()
            assert time() >= at
        """,
    "a CPU time": """
        import resource
        def test_x():
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert usage.ru_utime < 0.5
        """,
    "an RSS a child reported": """
        def test_x():
            result = run_measured()
            assert result["rss_mb"] < 200, result
        """,
    "a bound in a for over cases": """
        import time
        def test_x():
            for case in CASES:
                began = time.monotonic()
                run(case)
                assert time.monotonic() - began < 1
        """,
    "a bound after a deadline loop": """
        import time
        def test_x():
            began = time.monotonic()
            while not done() and time.monotonic() < began + 5:
                pass
            assert time.monotonic() - began >= 1
        """,
}
PASSED = {
    "a deadline loop": """
        import time
        def test_x():
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if ready():
                    break
            assert ready()
        """,
    "an assert that ends the wait": """
        import time
        def read_until(marker):
            deadline = time.monotonic() + 10
            while True:
                left = deadline - time.monotonic()
                assert left > 0, "no %s in time" % marker
        """,
    "a fake clock": """
        def test_x(clock):
            began = clock.monotonic()
            clock.advance(5)
            assert clock.monotonic() - began == 5
        """,
    "a timestamp planted and read back": """
        import time
        def test_x():
            now = time.time()
            plant(now - 10)
            assert abs(read_back() - (now - 10)) < 1e-6
        """,
    "a slow test": """
        import time, pytest
        @pytest.mark.slow
        def test_x():
            began = time.monotonic()
            assert time.monotonic() - began < 2
        """,
    "a slow module": """
        import time, pytest
        pytestmark = [pytest.mark.slow]
        def test_x():
            began = time.monotonic()
            assert time.monotonic() - began < 2
        """,
    "the other values of a timed call": """
        import time
        def timed(call):
            started = time.monotonic()
            return call(), time.monotonic() - started
        def test_x():
            code, took = timed(run)
            assert code == 0
        """,
}


@pytest.mark.parametrize("name, source", sorted(FLAGGED.items()) + sorted(PASSED.items()),
                         ids=sorted(FLAGGED) + sorted(PASSED))
def test_the_scan_flags_bounds_and_leaves_deadlines(tmp_path, name, source):
    import textwrap
    (tmp_path / "test_case.py").write_text(textwrap.dedent(source))
    found = clock_bounds(tmp_path)
    assert (len(found) == 1) == (name in FLAGGED), found
