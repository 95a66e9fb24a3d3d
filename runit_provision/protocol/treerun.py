"""protocol: the canonical ``run`` of a user's tree — the one form our runsvdir forks in-process.

::

    #!/bin/sh
    exec 2>&1
    exec env -i PATH="$PATH" chpst -u USER[:GROUP...] -e ENVDIR -L LOCK runsvdir DIR

— the generator's ``runsvdir-LOGIN/run`` (``templates/user/run.j2``): the user's tree as the
user with all of the user's groups, an environment of ``PATH`` and ``ENVDIR`` alone, and a lock
against a second tree. Blank and ``#`` lines aside, nothing else, every value a simple word
(``logrun.is_simple_word``), ``env``, ``chpst`` and ``runsvdir`` by name or by path. A runsvdir
tree run by root does what this script does in a process forked from a small clean parent
instead of exec'ing three programs and an interpreter (docs/runsvdir.md "Users' trees"); any
other ``run`` is exec'd as before. Stdlib only, no ``re``: the runtime reads it.
"""

from .logrun import basename, is_simple_word, sh_commands

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
