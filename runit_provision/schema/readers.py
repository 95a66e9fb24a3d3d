"""schema: the typed readers every part of the schema reads values with.

Each reader takes a key path and a raw value, and returns the typed value, or None after
recording a problem at that path (``problems.Problems``): text without control characters,
whole numbers in a range, choices, absolute paths, account and service names, scripts, and
``command`` argvs split as sh splits words. Words that end up in the canonical ``log/run`` are
checked with ``protocol.canonical.is_simple_word``, the rule the generator and the runtime share.
"""

import re

from ..protocol.canonical import is_simple_word
from ..source import type_name

_NAME = re.compile(r"[A-Za-z0-9_@%+,=:][A-Za-z0-9_.@%+,=:-]*\Z")  # a service directory name
_ACCOUNT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?\Z")  # a login or group name
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters other than \t \n


def is_account_name(text):
    """True for a login or group name (``www-data``, ``_apt``, ``host$``)."""
    return bool(_ACCOUNT.match(text))


class Readers:
    """Typed readers: each returns the value, or None after recording a problem at ``path``."""

    def __init__(self, problems):
        self.problems = problems

    def hash(self, path, value):
        if isinstance(value, dict):
            return value
        self.problems.add(path, "expected a hash, got %s" % type_name(value))
        return None

    def keyed_hash(self, path, value, known):
        """A hash whose keys are ``known``: an ``unknown key`` problem for each other key
        (the hash is returned with them: the caller reads the known ones)."""
        value = self.hash(path, value)
        if value is not None:
            self.problems.check_keys(path, value, known)
        return value

    def boolean(self, path, value):
        if isinstance(value, bool):
            return value
        self.problems.add(path, "expected true or false, got %s" % type_name(value))
        return None

    def integer(self, path, value, low=None, high=None):
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.add(path, "expected a whole number, got %s" % type_name(value))
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.problems.add(path, "%d is out of range (%s..%s)" % (
                value, "" if low is None else low, "" if high is None else high))
            return None
        return value

    def text(self, path, value, allow_newlines=False, empty=False):
        if not isinstance(value, str):
            self.problems.add(path, "expected a string, got %s" % type_name(value))
            return None
        if not empty and not value.strip():
            self.problems.add(path, "must not be empty")
            return None
        if "\0" in value or _CONTROL.search(value):
            self.problems.add(path, "control characters are not allowed")
            return None
        if not allow_newlines and "\n" in value:
            self.problems.add(path, "must be one line")
            return None
        return value

    def choice(self, path, value, choices):
        if value in choices and isinstance(value, str):
            return value
        self.problems.add(path, "expected one of %s, got %r" % (", ".join(choices), value))
        return None

    def word(self, path, value, what="a simple word"):
        """A value written unquoted into a canonical log/run (hostedlogger's simple words)."""
        value = self.text(path, value)
        if value is None:
            return None
        if not is_simple_word(value):
            self.problems.add(path, "%r must be %s: letters, digits and _ . / : @ %% + , = - "
                                    "only (it is written into log/run, whose canonical form "
                                    "takes no quoting)" % (value, what))
            return None
        return value

    def abspath(self, path, value, simple=True):
        value = self.word(path, value, "an absolute path") if simple else self.text(path, value)
        if value is None:
            return None
        if not value.startswith("/"):
            self.problems.add(path, "%r must be an absolute path" % value)
            return None
        if "/../" in value + "/" or "/./" in value + "/":
            self.problems.add(path, "%r must not contain . or .. components" % value)
            return None
        return value.rstrip("/") or "/"

    def account(self, path, value):
        value = self.text(path, value)
        if value is not None and not _ACCOUNT.match(value):
            self.problems.add(path, "%r is not a valid user or group name" % value)
            return None
        return value

    def name(self, path, value):
        """A service name: one safe path component (no /, .., leading dot, control chars)."""
        if isinstance(value, bool):
            self.problems.add(path, "a service name must be a string, not the boolean %s: YAML "
                                    "(1.1, as Puppet's hiera reads it) takes unquoted yes/no/"
                                    "on/off/true/false as booleans; quote the name"
                              % str(value).lower())
            return None
        if not isinstance(value, str) or not value:
            self.problems.add(path, "a service name must be a non-empty string")
            return None
        if value in (".", "..") or "/" in value or value.startswith("."):
            self.problems.add(path, "%r is not a single safe path component (no /, no leading "
                                    "dot)" % value)
            return None
        if not _NAME.match(value) or len(value.encode()) > 255:
            self.problems.add(path, "%r: a service name is letters, digits and _ . @ %% + , = : "
                                    "- (not first: . -), at most 255 bytes" % value)
            return None
        return value

    def script(self, path, value):
        value = self.text(path, value, allow_newlines=True)
        if value is None:
            return None
        if not value.startswith("#!"):
            value = "#!/bin/sh\n" + value
        return value if value.endswith("\n") else value + "\n"

    def argv(self, path, value):
        """``command``: a string split like sh splits words (no expansion), or a list."""
        if isinstance(value, str):
            if self.text(path, value) is None:
                return None
            shell = shell_syntax(value)
            if shell:
                self.problems.add(path, "%r is shell syntax, but a command is split into "
                                        "words without a shell: for shell write a run script, "
                                        "for a literal %r quote it or give the words as a list"
                                  % (shell, shell))
                return None
            import shlex  # only a command given as one string is split

            try:
                words = shlex.split(value, comments=False, posix=True)
            except ValueError as exc:
                self.problems.add(path, "cannot split into words: %s" % exc)
                return None
        elif isinstance(value, list):
            words = []
            for index, word in enumerate(value):
                word = self.text(path + (index,), word if not isinstance(word, (int, float))
                                 or isinstance(word, bool) else str(word), allow_newlines=True,
                                 empty=True)
                if word is None:
                    return None
                words.append(word)
        else:
            self.problems.add(path, "expected a string or a list of words, got %s"
                              % type_name(value))
            return None
        if not words:
            self.problems.add(path, "must name a program")
            return None
        if words[0].startswith("-"):
            self.problems.add(path, "the program %r must not start with '-'" % words[0])
            return None
        return words


def shell_syntax(text):
    """The first character sh would treat as an expansion or an operator, outside quotes
    (``$`` and backquote inside double quotes too), else ''. ``command`` is split into words
    without a shell, so such text would not do what it looks like."""
    quote = None
    escaped = False
    previous = " "
    for char in text:
        at_word_start, previous = previous in " \t", char
        if escaped:
            escaped = False
        elif quote == "'":
            quote = None if char == "'" else quote
        elif char == "\\":
            escaped = True
        elif quote == '"':
            if char == '"':
                quote = None
            elif char in "$`":
                return char
        elif char in "'\"":
            quote = char
        elif char in "$`|&;<>()" or (at_word_start and char in "#~"):
            return char
    return ""

