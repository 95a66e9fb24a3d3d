"""protocol: the canonical scripts our runsvdir runs inside the tree instead of exec'ing them —
``log/run`` and a user's tree's ``run``.

The canonical ``log/run``::

    #!/bin/sh
    exec [chpst -u USER[:GROUP...]] svlogd ARGS...

Blank lines and ``#`` comments aside, nothing else, and every word a *simple word*: letters,
digits and ``_ . / : @ % + , = -``. Such a line means the same to ``/bin/sh`` and to a reader
that does not run a shell (no quotes, variables, globs or redirections), so a runsvdir tree can
run the logger on its own loop instead of exec'ing it, with the same effect
(docs/runsvdir.md "Loggers inside the tree").

The generator writes it (``log_run_text``), the schema asks ``is_simple_word`` of every value
that ends up there, the runtime's ``hostedlogger`` reads it back (``log_run_from_bytes``).

The canonical ``run`` of a user's tree::

    #!/bin/sh
    exec 2>&1
    exec env -i PATH="$PATH" chpst -u USER[:GROUP...] -e ENVDIR -L LOCK runsvdir DIR

— the generator's ``runsvdir-LOGIN/run`` (``templates/user/run.j2``): the user's tree as the
user with all of the user's groups, an environment of ``PATH`` and ``ENVDIR`` alone, and a lock
against a second tree. Blank and ``#`` lines aside, nothing else, every value a simple word
(``is_simple_word``), ``env``, ``chpst`` and ``runsvdir`` by name or by path: root's tree
forks it in-process (docs/runsvdir.md "Users' trees"). Stdlib only, no ``re``.
"""

SIMPLE_CHARS = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                "_./:@%+,=-")
_SIMPLE_BYTES = SIMPLE_CHARS.encode("ascii")


def is_simple_word(word):
    """True if ``word`` (str or bytes) is non-empty and made of simple characters only.

    >>> [is_simple_word(w) for w in ("/var/log/web", "www-data:adm", b"-tt", "", "a b", "$X")]
    [True, True, True, False, False, False]
    """
    chars = _SIMPLE_BYTES if isinstance(word, bytes) else SIMPLE_CHARS
    return bool(word) and not word.strip(chars)


class LogRun:
    """A canonical ``log/run``: ``chpst`` (as written, or None), ``user`` (chpst -u's
    argument, or None) and svlogd's arguments (``args``, a list of str)."""

    __slots__ = ("chpst", "user", "args")

    def __init__(self, chpst, user, args):
        self.chpst, self.user, self.args = chpst, user, list(args)

    def __eq__(self, other):
        if not isinstance(other, LogRun):
            return NotImplemented
        return (self.chpst, self.user, self.args) == (other.chpst, other.user, other.args)

    def __repr__(self):
        return "LogRun(%r, %r, %r)" % (self.chpst, self.user, self.args)


def log_run_text(args, user=None, chpst="chpst", svlogd="svlogd"):
    """The canonical ``log/run`` for svlogd ``args`` (as ``user`` through ``chpst -u``).

    ValueError names the first word that is not simple: quoting it would leave the form.

    >>> print(log_run_text(["-tt", "/var/log/web"], user="log:adm"), end="")
    #!/bin/sh
    exec chpst -u log:adm svlogd -tt /var/log/web
    >>> log_run_text(["/var/log/my web"])
    Traceback (most recent call last):
    ValueError: '/var/log/my web' is not a simple word (letters, digits, _ . / : @ % + , = -)
    """
    words = ["exec"]
    if user is not None:
        words += [chpst, "-u", user]
    words += [svlogd] + list(args)
    for word in words:
        if not is_simple_word(word):
            raise ValueError("%r is not a simple word (letters, digits, _ . / : @ %% + , = -)"
                             % (word,))
    return "#!/bin/sh\n" + " ".join(words) + "\n"


def log_run_from_bytes(text):
    """The ``LogRun`` of a ``log/run``'s bytes, or None when it is any other script.

    >>> log_run_from_bytes(b"#!/bin/sh\\nexec chpst -u www:adm svlogd -tt ./main\\n")
    LogRun('chpst', 'www:adm', ['-tt', './main'])
    >>> log_run_from_bytes(b"#!/bin/sh\\nexec svlogd -tt \\"$LOGDIR\\"\\n") is None
    True
    """
    commands = sh_commands(text)
    if commands is None or len(commands) != 1:
        return None
    words = commands[0].split()
    if words[:1] != [b"exec"] or not all(is_simple_word(word) for word in words):
        return None
    words = [word.decode("ascii") for word in words[1:]]
    chpst = user = None
    if words and basename(words[0]) == "chpst":
        chpst, words = words[0], words[1:]
        if words[:1] == ["-u"] and len(words) > 1:
            user, words = words[1], words[2:]
        elif words and words[0].startswith("-u") and len(words[0]) > 2:
            user, words = words[0][2:], words[1:]
        else:
            return None
    if not words or basename(words[0]) != "svlogd":
        return None
    return LogRun(chpst, user, words[1:])


def logged_to(args):
    """The directories svlogd ``args`` (a LogRun's) log to, read as runit's svlogd reads its
    options (sgetopt ``R:r:l:b:tvV``: ``-t``… ``-v`` flags, ``-r``/``-R``/``-l``/``-b`` with a
    value, attached or next); None when they are not svlogd's (another option, none).

    >>> logged_to(["-tt", "./main"]), logged_to(["-ttv", "-l", "20", "-b21", "/var/log/a", "b"])
    (['./main'], ['/var/log/a', 'b'])
    >>> logged_to(["-V", "main"]), logged_to(["-tt"])
    (None, None)
    """
    index = 0
    while index < len(args) and args[index][:1] == "-" and args[index] != "-":
        word, index = args[index], index + 1
        if word == "--":
            break
        for at, letter in enumerate(word[1:], 1):
            if letter in "Rrlb":
                if at == len(word) - 1:  # its value is the next word
                    if index == len(args):
                        return None
                    index += 1
                break
            if letter not in "tv":
                return None
    return list(args[index:]) or None


def sh_commands(text):
    """The command lines of a ``#!/bin/sh`` script's bytes (blank and ``#`` lines dropped,
    each stripped), or None when it is not one.

    >>> sh_commands(b"#!/bin/sh\\n# a comment\\n\\n  exec x  \\n"), sh_commands(b"exec x\\n")
    ([b'exec x'], None)
    """
    lines = text.split(b"\n")
    if not _is_sh_shebang(lines[0]):
        return None
    commands = [line.strip() for line in lines[1:]]
    return [line for line in commands if line and not line.startswith(b"#")]


def basename(word):
    return word.rsplit("/", 1)[-1]


def _is_sh_shebang(line):
    """``#!/bin/sh``, with blanks allowed after ``#!`` and at the end (as the kernel reads it)."""
    if not line.startswith(b"#!"):
        return False
    return line[2:].lstrip(b" \t").rstrip(b" \t") == b"/bin/sh"


# -- a user's tree's run ----------------------------------------------------------------------
TREE_LOCK = ".runsvdir.lock"  # in the tree's directory: chpst -L's, against a second tree
REDIRECT = b"exec 2>&1"
PATH_ARGUMENT = b'PATH="$PATH"'


class TreeRun:
    """A canonical user tree's ``run``: chpst's ``-u`` ``user``, ``-e`` ``env_dir``, ``-L``
    ``lock``, and runsvdir's ``directory`` (each a str)."""

    __slots__ = ("user", "env_dir", "lock", "directory")

    def __init__(self, user, env_dir, lock, directory):
        self.user, self.env_dir, self.lock, self.directory = user, env_dir, lock, directory

    def __eq__(self, other):
        if not isinstance(other, TreeRun):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        return "TreeRun(%r, %r, %r, %r)" % (self.user, self.env_dir, self.lock, self.directory)


def tree_run_from_bytes(text):
    """The ``TreeRun`` of a ``run``'s bytes, or None when it is any other script.

    >>> tree_run_from_bytes(b'#!/bin/sh\\nexec 2>&1\\nexec env -i PATH="$PATH" chpst -u '
    ...                     b'al:al:adm -e ./env -L /home/al/service/.lock runsvdir /home/al/service\\n')
    TreeRun('al:al:adm', './env', '/home/al/service/.lock', '/home/al/service')
    >>> tree_run_from_bytes(b'#!/bin/sh\\nexec env -i PATH="$PATH" chpst -u al -e ./env -L l '
    ...                     b'runsvdir d\\n') is None   # its stderr would not be the log's
    True
    """
    commands = sh_commands(text)
    if commands is None or len(commands) != 2 or commands[0] != REDIRECT:
        return None
    words = commands[1].split()
    if len(words) != 13 or words[3] != PATH_ARGUMENT:
        return None
    words = words[:3] + words[4:]
    if not all(is_simple_word(word) for word in words):
        return None
    words = [word.decode("ascii") for word in words]
    (exec_, env, clean, chpst, user_flag, user, env_flag, env_dir, lock_flag, lock, runsvdir,
     directory) = words
    if (exec_, clean, user_flag, env_flag, lock_flag) != ("exec", "-i", "-u", "-e", "-L"):
        return None
    if (basename(env), basename(chpst), basename(runsvdir)) != ("env", "chpst", "runsvdir"):
        return None
    if directory.startswith("-") or user.startswith("-"):
        return None  # an option to runsvdir (-P) or chpst: not the generator's form
    return TreeRun(user, env_dir, lock, directory)
