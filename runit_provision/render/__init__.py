"""render: the pure generator — a validated ``model.Config`` -> an in-memory ``Tree``.

No writes, no clock, no environment, no subprocess: the same Config (and templates) always
gives the same Tree, byte for byte. Only the applier (and ``render --out``) writes it.

The entries of the tree are ``model.tree``'s, shared by every room. The generator (and with it
Jinja2) is imported when ``render()`` is first called.
"""

from ..model.tree import Absent, Directory, File, Symlink, Tree

__all__ = ["render", "Tree", "File", "Directory", "Symlink", "Absent"]


def render(config, templates=None, only=None, environment=None):
    """The Tree of ``config``; ``templates``: a user template directory overriding ours;
    ``only``: the labels of the services to render (``model.units.labels_named``'s: ``web``,
    ``runsvdir-alice``, ``alice/app``; None: all); ``environment``: one of
    ``environment.make_environment`` to render with in place of a new one (``templates``
    unused): a caller rendering many configs in one run compiles each template once."""
    from .environment import make_environment
    from .servicedir import Place, service_entries
    from .users import user_entries

    env = environment if environment is not None else make_environment(templates)
    only = set(only) if only else None
    tree = Tree()
    tree.add(Directory(config.sv_dir))
    tree.add(Directory(config.service_dir))
    place = Place(config.sv_dir, config.service_dir, config.log_dir)
    for name in sorted(config.services):
        if only is None or name in only:
            for entry in service_entries(config.services[name], place, config, env):
                tree.add(entry)
    for login in sorted(config.users):
        for entry in user_entries(config.users[login], config, env, only):
            tree.add(entry)
    return tree
