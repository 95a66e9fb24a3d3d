"""Every internal link of the project's documentation resolves: a relative link names a file or
directory that exists, and a ``#fragment`` names a heading (or an ``<a name>``/``<a id>``) of
its target, slugged as GitHub does. Links to other sites are not followed. A module a page names
in code (``runtime/supervision/users/usertree.py``) exists: the pages describe the code as it
is (the CHANGELOG, history, may name what is gone)."""

import re
import pytest

from .conftest import ROOT

DOCUMENTS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "RESULTS.md",
                    ROOT / "puppet" / "README.md"] + list((ROOT / "docs").glob("*.md")))

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]"  # [text], [text [x]]
                         r"\(\s*<?([^()\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # (target "title")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s.*)?$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# a Python file named by a path in a code span, with a ``:name`` or ``::test`` after it or not
MODULE_PATH = re.compile(r"`((?:[\w.-]+/)+[\w-]+\.py)(?:::?[\w\[\]-]+)?`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, …


def slug(heading):
    """GitHub's anchor of a heading's text (github-slugger): the rendered text lower-cased,
    every character that is not a letter, a digit, a space, ``-`` or ``_`` dropped, each space
    a ``-``.

    >>> slug("10. Interop probe (Debian 2.1.2-54)")
    '10-interop-probe-debian-212-54'
    >>> slug("The `runit_services` fact")
    'the-runit_services-fact'
    >>> slug("runit — services and [trees](x.md)")
    'runit--services-and-trees'
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags show nothing
    return "".join(c for c in text.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def prose_lines(path):
    """(line number, line) outside fenced code blocks."""
    in_fence = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if fence:
            if in_fence is None:
                in_fence = fence.group(1)
            elif fence.group(1) == in_fence:
                in_fence = None
            continue
        if in_fence is None:
            yield number, line


def anchors(path):
    """Every fragment a link may name in ``path``: headings' slugs (the second of two equal
    ones gets ``-1``, and so on) and explicit HTML anchors."""
    found, seen = set(), {}
    for _number, line in prose_lines(path):
        found.update(HTML_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else "%s-%d" % (base, count))
    return found


def links(path):
    """(line number, target) of every link in ``path``'s prose (not in code)."""
    for number, line in prose_lines(path):
        reference = REFERENCE_LINK.match(line)
        if reference:
            yield number, reference.group(1)
            continue
        for match in INLINE_LINK.finditer(CODE_SPAN.sub("", line)):
            yield number, match.group(2)


def broken_links(path, root=ROOT):
    """One line per link of ``path`` that does not resolve, paths shown relative to root."""
    problems = []
    for number, target in links(path):
        if EXTERNAL.match(target):
            continue
        file_part, _, fragment = target.partition("#")
        where = "%s:%d: %s" % (path.relative_to(root), number, target)
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append("%s: no such file" % where)
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append("%s: no heading #%s in %s" % (
                where, fragment, resolved.relative_to(root)))
    return problems


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_internal_link_resolves(path):
    assert path.exists(), "%s is missing" % path.relative_to(ROOT)
    assert broken_links(path) == []


def test_the_checker_finds_what_is_broken(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## The `x_y` part\n\n## Part\n## Part\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n[ok](other.md#the-x_y-part) [ok](other.md#part-1) [ok](#page)\n"
                    "[gone](missing.md) [bad anchor](other.md#nope) [site](https://example.com)\n"
                    "```\n[in code](missing.md)\n```\n`[in a span](missing.md)`\n"
                    "[ref]: other.md#part\n")
    problems = [problem.split(": ", 1)[1] for problem in broken_links(page, tmp_path)]
    assert problems == ["missing.md: no such file",
                        "other.md#nope: no heading #nope in other.md"]



def missing_modules(path, sources):
    """``[(line, module path)]`` of each ``MODULE_PATH`` of ``path`` that no file of
    ``sources`` (paths relative to the checkout) is: it names one whole, or ends one (a
    path from a room down, ``unix/pathexec.py``; a test's, from tests/)."""
    return [(number, found) for number, line in enumerate(path.read_text().splitlines(), 1)
            for found in MODULE_PATH.findall(line)
            if found not in sources and not any(source.endswith("/" + found)
                                                for source in sources)]


@pytest.mark.parametrize("path", [path for path in DOCUMENTS
                                  if path.name not in ("CHANGELOG.md", "RESULTS.md")],
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_every_module_a_page_names_exists(path, python_sources):
    assert missing_modules(path, python_sources) == []


@pytest.fixture(scope="module")
def python_sources():
    """The checkout's Python files, relative to it (no virtualenv's, nor mutmut's copy)."""
    return {str(found.relative_to(ROOT)) for found in ROOT.rglob("*.py")
            if not any(part.startswith(".venv") or part == "mutants"
                       for part in found.relative_to(ROOT).parts)}
