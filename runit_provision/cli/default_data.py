"""cli: the data a command reads when the command line names none — one rule for every command
that reads data (render, lookup, plan, apply, status, logs, metrics, verify, restart/start/stop,
install-runtime), applied by ``cli/main`` right after parsing.

The order, first found wins:

1. ``--data FILE`` or ``--hiera FILE`` (``logs``: or ``--dir``), as given;
2. ``$RUNIT_PROVISION_HIERA``, a hiera.yaml, as given (a relative path from the working
   directory, never under ``--root``);
3. ``/etc/runit-provision/hiera.yaml`` — what the Puppet module writes (``runit::config``,
   ``dir`` + ``/hiera.yaml``) — when it exists; with ``--root DIR``,
   ``DIR/etc/runit-provision/hiera.yaml`` (the module writes it there under its ``root``).

The variable comes before the file, as an environment variable comes before a default file
elsewhere (``KUBECONFIG`` over ``~/.kube/config``, ``GIT_CONFIG_GLOBAL`` over ``~/.gitconfig``):
it is set on purpose, for a shell or a job, while the file is there because Puppet manages the
node — were the file first, a Puppet node could never be pointed at other data without
typing ``--hiera`` each time. A variable that names a missing file is that file's error (exit
1), not a reason to fall back: an explicit choice is never silently replaced.

Nothing found: bad usage (exit 2), the message saying where it looked; ``install-runtime``,
whose data is optional, keeps its built-in defaults instead.
"""

import os

HIERA_VARIABLE = "RUNIT_PROVISION_HIERA"
# runit::config::dir's default (puppet/data/common.yaml) + the hiera.yaml it writes there
PUPPET_HIERA = "/etc/runit-provision/hiera.yaml"
# this host's; tests point it elsewhere: none of them reads the machine's own /etc
DEFAULT_HIERA = PUPPET_HIERA
HIERA_HELP = ("a hiera.yaml (v5); default: $%s, else %s (DIR/etc/… with --root DIR) when it "
              "exists" % (HIERA_VARIABLE, PUPPET_HIERA))


def reads_data(parser, needed=True):
    """Marks ``parser``'s command as one that reads data (its ``--data``/``--hiera`` optional
    on the command line): ``fill_in_data`` gives it the default. ``needed=False``: none at all
    is fine (install-runtime's built-in defaults)."""
    parser.set_defaults(data_needed=needed)


def fill_in_data(args, environ=None):
    """Sets ``args.hiera`` to the default data when the command reads data and the command line
    names none; returns None, or the usage message when the command needs data and none is
    found (it says where it looked)."""
    needed = getattr(args, "data_needed", None)
    if needed is None or args.data is not None or args.hiera is not None \
            or getattr(args, "dir", None):
        return None
    found, looked = default_hiera(getattr(args, "root", None),
                                  os.environ if environ is None else environ)
    if found is not None:
        args.hiera = found
        return None
    if not needed:
        return None
    options = ("--data FILE, --hiera FILE or --dir LOGDIR" if hasattr(args, "dir")
               else "--data FILE or --hiera FILE")
    return "no data: give %s (none by default: %s)" % (options, " and ".join(looked))


def default_hiera(root, environ):
    """``(path, [where it looked])``: the hiera.yaml of the rule above, or None.

    >>> default_hiera("/nonexistent", {"RUNIT_PROVISION_HIERA": "site/hiera.yaml"})
    ('site/hiera.yaml', [])
    >>> for where in default_hiera("/nonexistent", {})[1]: print(where)
    $RUNIT_PROVISION_HIERA is not set
    /nonexistent/etc/runit-provision/hiera.yaml does not exist
    """
    value = environ.get(HIERA_VARIABLE)
    if value:
        return value, []
    path = default_hiera_path(root)
    if os.path.exists(path):
        return path, []
    return None, ["$%s is %s" % (HIERA_VARIABLE, "empty" if value == "" else "not set"),
                  "%s does not exist" % path]


def default_hiera_path(root=None):
    """The Puppet module's hiera.yaml: under ``root`` when given, else this host's."""
    if root is None:
        return DEFAULT_HIERA
    return os.path.join(root, PUPPET_HIERA.lstrip("/"))
