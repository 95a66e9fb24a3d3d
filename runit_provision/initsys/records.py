"""initsys: the records the room hands out — the options it takes, the commands it asks for,
and the whole answer (``Runtime``) that the applier converges.

Entries are ``model.tree`` entries with their final absolute paths; the applier writes them
(under ``--root`` when given) in the order given — directories, files, then links, ``current``
last — and runs the commands, never under ``--root``.
"""

from collections import namedtuple

DEFAULT_PREFIX = "/usr/local/lib/runit-provision"
DEFAULT_BIN_DIR = "/usr/local/bin"
DEFAULT_SBIN_DIR = "/usr/local/sbin"
# Puppet's core runit provider runs /usr/bin/sv: a link there too, where no package owns it.
DEFAULT_SV_LINKS = ("/usr/bin/sv",)


class Command(namedtuple("Command", "argv reason after before prepare")):
    """A command for the applier, with why (``reason``) and when:

    * ``prepare``: before anything else; when one ran, the host offers something new (a
      package was installed): observe again and ask ``desired_runtime`` again.
    * ``before`` (paths): just before the converge changes (or removes) any of these paths —
      ``systemctl stop`` before the unit file goes. Not run when none of them changes.
    * ``after`` (paths): once the converge changed any of these paths — ``systemctl
      daemon-reload`` after the unit changed, ``telinit q`` after ``/etc/inittab`` did.
    * neither: always; the observed host says it is needed (the unit is not running).

    A ``before`` command lists its paths in ``after`` too, so that an applier that knows only
    ``after`` still runs it once, after the change — later than best, never skipped (stopping
    a unit whose file is gone works until the daemon-reload that follows it).
    """

    __slots__ = ()


def command(argv, reason, after=(), before=(), prepare=False):
    return Command(tuple(argv), reason, tuple(after) or tuple(before), tuple(before), prepare)


class Runtime(namedtuple("Runtime", "entries commands notes runtime init version prefix "
                                    "linked")):
    """What ``desired_runtime`` answers.

    ``entries``: the tree entries, in converge order; ``commands``: ``Command``s in the order
    to run them (within their phase); ``notes``: sentences for the user about what was left
    alone and why (a package-owned ``/usr/bin/sv``); ``runtime``: ``python`` or ``system``;
    ``init``: the init system linked (``systemd``, ``sysvinit``, ``upstart``, ``runit``,
    ``none``), after ``auto`` was resolved; ``version``: the runtime version installed (None
    for ``runtime: system``); ``prefix``: where it is installed; ``linked``: the paths of
    ``entries`` that link ``runsvdir`` into init (the others install the runtime).
    """

    __slots__ = ()


class Options(namedtuple("Options", "prefix python init runtime uninstall bin_dir sbin_dir "
                                    "sv_links source")):
    """Choices beyond the data (``install-runtime``'s options); None = the data's or default.

    ``prefix``: where versions are installed; ``python``: the launchers' interpreter (None:
    detected, see ``interpreter``); ``init``/``runtime``: override the data's ``init`` and
    ``runtime``; ``uninstall``: remove what the room installed instead; ``bin_dir`` and
    ``sbin_dir``: where the tools' links go; ``sv_links``: more links to ``sv``
    (``/usr/bin/sv``), each only where no package owns the path; ``source``: a directory holding the package or a
    wheel to install the runtime from (None: the data's ``package_file`` when it is a wheel,
    else this running package).
    """

    __slots__ = ()


def options(prefix=DEFAULT_PREFIX, python=None, init=None, runtime=None, uninstall=False,
            bin_dir=DEFAULT_BIN_DIR, sbin_dir=DEFAULT_SBIN_DIR, sv_links=DEFAULT_SV_LINKS,
            source=None):
    return Options(prefix.rstrip("/") or "/", python, init, runtime, uninstall,
                   bin_dir.rstrip("/"), sbin_dir.rstrip("/"), tuple(sv_links), source)
