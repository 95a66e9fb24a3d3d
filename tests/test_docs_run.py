"""Every shell block of the README, the tutorial and the how-tos runs as written, and prints
what the page says it prints (the figures it quotes, the exit codes it names): a page can no
longer drift from the code. The blocks are read by ``tests/docblocks.py`` (which fences are
commands, which output, the ``# →`` claims, the ``not run`` markers).

Each page runs in one bash session, its blocks in order, as a reader would type them at the
repository's top — in a sandbox that leaves the machine as it was:

- a private mount, PID and network namespace (``unshare``; root): its own ``/tmp`` (a
  directory of the test bound over it: the README's ``/tmp/tour`` and a ``mktemp -d`` are the
  sandbox's), its own ``/proc``, a loopback of its own (the tutorial's web on port 8080 takes
  nobody's port); when the session ends, every process of the namespace ends with it;
- a working copy of the repository at ``/tmp/work`` (its ``.venv`` a link to this checkout's,
  which must be up to date: ``make demo`` then only runs the demo); ``HOME`` is ``/tmp/home``,
  the config cache ``/tmp/cache``, ``LANG=C.UTF-8``, an 80-column terminal (``COLUMNS``); PATH
  is the system's — the README and the tutorial put ``.venv/bin`` on it themselves — with
  ``.venv/bin`` in front for a how-to, whose reader has runit-provision installed;
- ``set -uo pipefail`` and ``set -e``'s rule, but a command whose trailing ``# → exit N``
  names its status may end with that status (and must); a transcript's commands (``$ ``)
  show their output and their status is what the transcript shows.

A how-to run "as root on a host" (``ON_A_HOST``) has the machine's ``/etc``, ``/var``,
``/usr/local``, ``/home`` and ``/opt`` under a private overlay, fresh ``/etc/sv``,
``/etc/service``, ``/var/log`` and ``/run``, and a runsvdir on ``/etc/service`` as its init; a
page's ``<!-- setup: … -->`` gives the state its prose assumes. A block a page marks
``<!-- not run: WHY; covered by tests/… -->`` is not run here: each names the tests that cover
it, and they must exist. Under ``CI=true`` nothing that can run is skipped: no root, no
``unshare``, no Puppet or no Debian runit is a failure there. How to write a page for it:
docs/testing.md, "The pages' shell blocks".
"""

import doctest
import os
import re
import secrets
import shutil
import subprocess
import sys

import pytest

from . import docblocks
from .conftest import IN_CI, OUR_BIN, ROOT
from .runtime.processes import Group

PAGES = ["README.md", "docs/tutorial.md"] + sorted(
    str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("howto-*.md"))
BLOCKS = {page: docblocks.blocks_of(page, (ROOT / page).read_text()) for page in PAGES}
RUN = [block for page in PAGES for block in BLOCKS[page] if block.not_run is None]
NOT_RUN = [block for page in PAGES for block in BLOCKS[page] if block.not_run is not None]

# Pages that start from a checkout (they put .venv/bin on PATH themselves); a how-to's reader
# has runit-provision installed.
FROM_A_CHECKOUT = {"README.md", "docs/tutorial.md"}
# Pages run "as root on a host" with the default paths: /etc, /var, /usr/local, /home and /opt
# are the machine's under a private writable layer (overlayfs: what the page writes stays in the
# sandbox), /etc/sv, /etc/service, /var/log and /run start empty (a fresh host, and no way to
# the machine's init), and a runsvdir runs on /etc/service, as init runs it on a host: ours,
# or Debian's with the system's PATH (its runsv, chpst, runsvdir: the C runit's system tree).
ON_A_HOST = {"docs/howto-add-a-service.md": "ours",
             "docs/howto-migrate-from-puppet-runit.md": "c"}
# What a page needs beyond root and the namespaces: the tutorial's part 4 runs `puppet apply`
# of the module with Debian's stdlib; the migration's node has Debian's runit.
NEEDS = {"docs/tutorial.md": (("Puppet", "/usr/bin/puppet"),
                              ("puppetlabs-stdlib", "/usr/share/puppet/modules/stdlib")),
         "docs/howto-migrate-from-puppet-runit.md": (("Debian's runit", "/usr/bin/runsvdir"),)}
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A page's whole run, on a busy two-core machine: the tutorial takes about a minute.
DEADLINE = 600


def require(what, present):
    """Skip without it — except in CI, where its absence is a failure."""
    if present:
        return
    if IN_CI:
        pytest.fail("CI=true but %s is missing" % what)
    pytest.skip("%s is missing" % what)


def require_sandbox(page):
    require("root (a private mount and PID namespace)", os.geteuid() == 0)
    for tool in ("unshare", "mount", "make"):
        require(tool, shutil.which(tool))
    for what, path in NEEDS.get(page, ()):
        require(what, os.path.exists(path))


# -- the session's script: the page's blocks between markers, set -e's rule with the page's
# exceptions -------------------------------------------------------------------------------

PRELUDE = """\
set -uo pipefail
__main=$BASHPID
declare -A __want=(%(want)s) __free=(%(free)s)
__failed() {
  local status=$1 line=$2
  [ "$BASHPID" = "$__main" ] || return "$status"
  if [ "${__want[$line]-}" = "$status" ] || [ -n "${__free[$line]-}" ]; then
    printf '\\n@@%(token)s exit %%s %%s|@@\\n' "$line" "$status"; return "$status"
  fi
  printf '\\n@@%(token)s failed %%s %%s|@@\\n' "$line" "$status"
  exit "$status"
}
trap '__failed $? $LINENO' ERR
"""


def marker(token, *words):
    """A line that prints a marker the output is cut at, with the page's $T as it is then."""
    return "printf '\\n@@%s %s|%%s@@\\n' \"${T-}\"" % (token, " ".join(str(w) for w in words))


# Run as the namespace's first process: the loopback up, a host's layers (ON_A_HOST), the
# sandbox's /tmp, then the page's session in its place. $1: the sandbox's /tmp; $2: the
# script; $3: where a host's layers are kept, or empty; $4: the host's runsvdir, ours or c;
# $5: a Python, which brings the loopback up (SIOCSIFFLAGS, IFF_UP: no iproute2 needed); $6:
# this checkout.
ENTER = """\
set -e
"$5" -c 'import fcntl, socket, struct
lo = struct.pack("16sH", b"lo", 1)
fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8914, lo)'
if [ -n "$3" ]; then
  # the layers on a tmpfs of their own: an overlay's upper cannot be on an overlay (a
  # container's root), and what the page writes there goes with the namespace
  mkdir -p "$3"
  mount -t tmpfs tmpfs "$3"
  for layer in etc var usr/local home opt; do
    [ -d "/$layer" ] || continue
    mkdir -p "$3/$layer/upper" "$3/$layer/work"
    mount -t overlay overlay \
      -o "lowerdir=/$layer,upperdir=$3/$layer/upper,workdir=$3/$layer/work" "/$layer"
  done
  # a plain directory, where Debian's runit makes /etc/service a link (in the layer only)
  if [ -L /etc/service ]; then rm /etc/service; fi
  mkdir -p /etc/sv /etc/service /var/log
  for fresh in /etc/sv /etc/service /var/log /run; do mount -t tmpfs tmpfs "$fresh"; done
fi
case "$6" in
  /tmp/*)
    # the checkout itself under /tmp: seen at its own path inside too, where its .venv's
    # scripts (their #! lines) and its editable install name it
    mkdir -p "$1${6#/tmp}"
    mount --bind "$6" "$1${6#/tmp}" ;;
esac
mount --rbind "$1" /tmp
cd /tmp/work
if [ "$4" = c ]; then
  PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/runsvdir /etc/service </dev/null >/dev/null 2>&1 &
elif [ -n "$3" ]; then
  runsvdir /etc/service </dev/null >/dev/null 2>&1 &
fi
exec bash --norc --noprofile -c "$2"
"""


class Script:
    """The bash text of a page's blocks, and which of its lines is which page line."""

    def __init__(self, blocks, token):
        self.token = token
        self.page_line = {}    # script line -> page line, for every line of a block
        want, free, body = {}, set(), []
        offset = PRELUDE.count("\n")

        def add(text, page_line=None):
            for number, line in enumerate(text.splitlines()):
                body.append(line)
                if page_line is not None:
                    self.page_line[offset + len(body)] = page_line + number
            return offset + len(body) - len(text.splitlines()) + 1  # the first line's

        for index, block in enumerate(blocks):
            add(marker(token, "begin", index))
            if block.is_transcript:
                for number, command in enumerate(block.commands):
                    add(marker(token, "command", index, number))
                    free.add(add(command.text, command.line))
            else:
                if block.yaml_above is not None:
                    add("YAML_ABOVE=$(cat <<'__YAML_ABOVE__'\n%s\n__YAML_ABOVE__\n)"
                        % block.yaml_above)
                first = add(block.text, block.line + 1)
                for command in block.commands:
                    if command.exit is not None:
                        want[first + command.line - block.line - 1] = command.exit
            add(marker(token, "end", index))
        add(marker(token, "done"))
        self.want = want
        self.text = PRELUDE % {
            "token": token,
            "want": " ".join("[%d]=%d" % item for item in sorted(want.items())),
            "free": " ".join("[%d]=1" % line for line in sorted(free)),
        } + "\n".join(body) + "\n"
        assert self.text.count("\n") == offset + len(body)


class PageRun:
    """A page's blocks run in one sandboxed session: what each block printed, how it ended."""

    def __init__(self, page, tmp_path, blocks=None):
        self.page = page
        blocks = BLOCKS[page] if blocks is None else blocks
        self.blocks = [block for block in blocks if block.not_run is None]
        self.script = Script(self.blocks, "docs-" + secrets.token_hex(6))
        self.sandbox = tmp_path
        self.output = ""
        self.returncode = None

    def working_copy(self):
        """The repository at the sandbox's /tmp/work, its .venv this checkout's."""
        tmp = self.sandbox / "tmp"
        tmp.mkdir()
        tmp.chmod(0o1777)
        (tmp / "home").mkdir()
        (tmp / "cache").mkdir(mode=0o700)
        work = tmp / "work"
        shutil.copytree(ROOT, work, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", ".pytest_cache", "*.egg-info", "mutants"))
        venv = ROOT / ".venv"
        if not (venv / ".installed").exists() or OUR_BIN != venv / "bin":
            pytest.fail("the pages run this checkout's .venv, made by make (%s); these tests "
                        "run from %s: run them through `make test`" % (venv, OUR_BIN))
        (work / ".venv").symlink_to(venv)
        stale = subprocess.run(["make", "-q", ".venv/.installed"], cwd=str(work),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if stale.returncode != 0:
            pytest.fail(".venv is older than pyproject.toml: `make .venv/.installed` first "
                        "(a page's `make demo` would otherwise install the copy into it)")
        return tmp

    def environment(self):
        path = SYSTEM_PATH
        if self.page not in FROM_A_CHECKOUT:
            path = "/tmp/work/.venv/bin:" + path
        return {"PATH": path, "HOME": "/tmp/home", "USER": "root", "LOGNAME": "root",
                "SHELL": "/bin/bash", "LANG": "C.UTF-8", "COLUMNS": "80"}

    def run(self):
        tmp = self.working_copy()
        script = self.sandbox / "page.sh"
        script.write_text(self.script.text)  # kept beside the output, for reading
        host = str(self.sandbox / "host") if self.page in ON_A_HOST else ""
        runsvdir = ON_A_HOST.get(self.page, "")
        argv = ["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child",
                "--mount-proc", "--propagation", "private",
                "bash", "--norc", "--noprofile", "-c", ENTER, "enter", str(tmp),
                self.script.text, host, runsvdir, sys.executable, str(ROOT)]
        session = Group(argv, cwd=str(self.sandbox), env=self.environment(),
                        output=str(self.sandbox / "output"))
        try:
            self.returncode = session.wait(DEADLINE)
        except AssertionError:
            self.returncode = "killed after %d s" % DEADLINE
        finally:
            # the namespace's processes end with its first (unshare --kill-child); the group
            # is ours: unshare and whatever it had not handed over yet
            session.kill()
        self.output = session.output()
        self._parse()
        return self

    def _parse(self):
        pattern = re.compile(r"\n?@@%s (\w+)([^@|\n]*)\|([^@\n]*)@@\n"
                             % re.escape(self.script.token))
        self.began, self.ended, self.temp = set(), set(), {}
        self.chunks = {}        # (block, command or None) -> what it printed
        self.exits = {}         # page line -> status of a command that ended non-zero
        self.failure = None     # (page line, status) where set -e's rule ended the page
        self.done = False
        key, start = None, 0
        for found in pattern.finditer(self.output):
            if key is not None:
                self.chunks[key] = self.chunks.get(key, "") + self.output[start:found.start()]
            kind, words, temp = found.group(1), found.group(2).split(), found.group(3)
            if kind in ("end", "done"):
                key = None
            if kind == "begin":
                self.began.add(int(words[0]))
                key = (int(words[0]), None)
            elif kind == "command":
                key = (int(words[0]), int(words[1]))
            elif kind == "end":
                self.ended.add(int(words[0]))
                self.temp[int(words[0])] = temp or None
            elif kind == "done":
                self.done = True
            elif kind == "exit":
                self.exits[self.script.page_line.get(int(words[0]))] = int(words[1])
            elif kind == "failed":
                self.failure = (self.script.page_line.get(int(words[0])), int(words[1]))
            start = found.end()
        if key is not None:
            self.chunks[key] = self.chunks.get(key, "") + self.output[start:]

    def tail(self, lines=40):
        return "\n".join(self.output.splitlines()[-lines:])

    def problems(self, block):
        """What is wrong with one block's run: empty when it ran as the page says."""
        index = self.blocks.index(block)
        if index not in self.began:
            if not self.began:  # the sandbox itself failed: say how
                return ["not reached: the session ended before the page began (%s):\n%s"
                        % (self.stopped(), self.tail())]
            return ["not reached: the page stopped before it (%s)" % self.stopped()]
        if index not in self.ended:
            return ["it did not run through: %s\n--- the session's last lines:\n%s" % (
                self.stopped(), self.tail())]
        found = []
        temp = self.temp.get(index)
        if block.is_transcript:
            for number, command in enumerate(block.commands):
                printed = self.chunks.get((index, number), "")
                if not docblocks.output_matches(command.expected, printed, temp, whole=True):
                    found.append(self.mismatch("`$ %s` (line %d)" % (
                        command.text.splitlines()[0], command.line), command.expected,
                        printed, temp))
            return found
        printed = self.chunks.get((index, None), "")
        for command in block.commands:
            if command.exit is not None and self.exits.get(command.line, 0) != command.exit:
                found.append("line %d: exit %s, where the page says exit %d" % (
                    command.line, self.exits.get(command.line, 0), command.exit))
        missing = docblocks.claim_found(block.claims(), printed, temp)
        if missing is not None:
            found.append(self.mismatch("the claim %r" % missing, [missing], printed, temp))
        if block.expected is not None and not docblocks.output_matches(
                block.expected, printed, temp):
            found.append(self.mismatch("the output at line %d" % block.expected_line,
                                       block.expected, printed, temp))
        return found

    def stopped(self):
        if self.failure:
            return "line %s exited %d" % self.failure
        return "the session ended %s" % self.returncode

    @staticmethod
    def mismatch(what, expected, printed, temp):
        return "%s is not what it printed.\n--- the page (normalised):\n%s\n--- printed " \
               "(normalised):\n%s" % (
                   what, "\n".join(docblocks.normalise(line) for line in expected),
                   "\n".join(docblocks.normalise(line, temp) for line in printed.splitlines()))


RUNS = {}


@pytest.fixture
def page_run(request, tmp_path_factory):
    """Each page is run once, the first time one of its blocks is tested (a test file is one
    unit of work: every block of a page is tested in the same worker)."""
    def get(page):
        if page not in RUNS:
            require_sandbox(page)
            RUNS[page] = PageRun(page, tmp_path_factory.mktemp("page")).run()
        return RUNS[page]
    return get


def marks_of(block):
    return [pytest.mark.puppet] if block.page in NEEDS else []


@pytest.mark.slow
@pytest.mark.parametrize("block", [pytest.param(block, id=block.name, marks=marks_of(block))
                                   for block in RUN])
def test_block_runs_as_written(block, page_run):
    problems = page_run(block.page).problems(block)
    assert not problems, "%s:\n%s" % (block.name, "\n\n".join(problems))


@pytest.mark.parametrize("block", NOT_RUN, ids=lambda block: block.name)
def test_a_block_not_run_names_the_test_that_covers_it(block):
    assert block.covered_by, "%s: `not run: %s` names no test (tests/….py)" % (
        block.name, block.not_run)
    for path, name in block.covered_by:
        assert (ROOT / path).is_file(), "%s: %s does not exist" % (block.name, path)
        if name:
            assert re.search(r"^(?:def|class) %s\b" % re.escape(name.split("[")[0]),
                             (ROOT / path).read_text(), re.M), "%s: no %s in %s" % (
                block.name, name, path)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_its_blocks_read(page):
    """A page with shell in it has command blocks found (a fence the reader sees as shell is
    not silently passed over)."""
    text = (ROOT / page).read_text()
    fenced = sum(1 for _line, info, _body, _before in docblocks.fences(text)
                 if info in docblocks.COMMAND_INFO)
    assert fenced == sum(1 for block in BLOCKS[page] if block.info in docblocks.COMMAND_INFO)


def test_the_readers_examples():
    result = doctest.testmod(docblocks, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# A time a run takes ("about 4 s", "in under a minute", "in 3½ min"), said in a paragraph that
# does not say where it was measured: a figure no one can hold against their own machine.
TIMING = re.compile(r"\b(?:about|in under|in) (?:a|\d[\d.½]*) ?(?:s|min|minutes?|seconds?)\b")


def unmeasured_timings(text):
    """The timings of paragraphs (outside code) that do not say "measured".

    >>> unmeasured_timings("It runs in about 5 s.\\n\\nIn about 3 s (measured: on a VM).\\n")
    ['about 5 s']
    >>> unmeasured_timings("```\\nok in 0.21 seconds\\n```\\nIn about fifteen minutes: reading.\\n")
    []
    """
    found, paragraph, in_fence = [], [], False
    for line in text.splitlines() + [""]:
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if line.strip():
            paragraph.append(line)
            continue
        joined = " ".join(paragraph)
        if "measured" not in joined:
            found += TIMING.findall(joined)
        paragraph = []
    return found


@pytest.mark.parametrize("page", PAGES)
def test_a_time_a_page_quotes_says_what_it_was_measured_on(page):
    assert unmeasured_timings((ROOT / page).read_text()) == []


@pytest.mark.parametrize("page", PAGES)
def test_a_count_the_prose_gives_is_one_an_output_shows(page):
    """"The 382 paths" repeats a figure an output fence of the page shows, which the run
    compares with what the command printed: a figure only the prose holds drifts unseen."""
    assert docblocks.unshown_figures((ROOT / page).read_text()) == []


def test_the_timing_rule_has_examples():
    runner = doctest.DocTestRunner()
    for example in doctest.DocTestFinder().find(unmeasured_timings, globs={
            "unmeasured_timings": unmeasured_timings}):
        runner.run(example)
    assert runner.failures == 0 and runner.tries == 2


# The runner itself: a page that drifted from the code fails, naming what and where.
DRIFTED = """\
# A page

```sh
T=$(mktemp -d)
echo "Applied: 322 created." >"$T/out"; cat "$T/out"
```

```
Applied: 268 created.
```

```sh
echo "Plan: 14 to create"; exit_with() { return "$1"; }
exit_with 2   # → exit 2: 15 to create
exit_with 0   # → exit 1
```

```
$ echo one; echo two
one
…
$ echo three
four
```

```sh
false
echo never
```

```sh
echo not reached
```
"""


@pytest.mark.slow
def test_a_page_that_drifted_fails_naming_each_drift(tmp_path):
    require_sandbox("README.md")
    blocks = docblocks.blocks_of("drifted.md", DRIFTED)
    run = PageRun("drifted.md", tmp_path, blocks).run()
    found = [run.problems(block) for block in blocks]
    assert "the output at line 8" in found[0][0] and "Applied: 322 created." in found[0][0]
    assert found[1][0] == "line 15: exit 0, where the page says exit 1"
    assert "the claim '15 to create'" in found[1][1]
    assert "`$ echo three` (line 22)" in found[2][0] and len(found[2]) == 1
    assert found[3] == ["it did not run through: line 27 exited 1\n--- the session's last "
                        "lines:\n" + run.tail()]
    assert found[4] == ["not reached: the page stopped before it (line 27 exited 1)"]

