"""render: a user's tree — the system service ``runsvdir-<login>`` and the user's own services.

``runsvdir-<login>`` (in the system ``sv_dir``) runs ``runsvdir`` on ``~/service`` as the user
with all of the user's groups (``chpst -u login:g1:g2…``; chpst sets no groups of its own,
docs/chpst.md), HOME/USER/LOGNAME/PATH/SVDIR from ``env/``, a ``chpst -L`` lock in
``~/service`` against a second tree; its output is logged by root into root's directory
``LOG_DIR/runsvdir-<login>`` (the user alone may read it, by an ACL), to which the link
``~/logs/runsvdir`` (``users.LOGIN.log_dir``) leads — root reads the tree's output as bytes and
writes nothing the user can replace (docs/security.md); and
``control/t`` turns ``sv down``'s TERM into a HUP, on which the C runsvdir too stops its whole
tree (tests/runtime/test_runsvdir_nested.py). The user's services live in ``~/sv`` and are
linked into ``~/service``, everything owned by the user.
"""

import posixpath

from ..model import USER_TREE_PREFIX, Log, tree_log_directory, user_environment
from ..protocol.canonical import TREE_LOCK
from ..protocol.layout import CONTROL_DIR, ENV_DIR, RUN, path_in
from ..protocol.process.envfile import file_from_value
from .environment import render_template
from .servicedir import (Place, cgroup_entries, in_cgroup_under_c_runsv, log_entries,
                         service_entries)
from ..model.tree import Directory, File, Symlink
from ..model.units import label_of


def user_place(user):
    return Place(user.sv_dir, user.service_dir, posixpath.dirname(user.log_dir),
                 owner=user.login, group=user.primary_group, dir_mode=0o750,
                 tree_user=user.login)


def runsvdir_service_entries(user, config, env):
    name = USER_TREE_PREFIX + user.login
    base = posixpath.join(config.sv_dir, name)
    userspec = ":".join([user.login] + list(user.groups))
    lock = posixpath.join(user.service_dir, TREE_LOCK)
    environment = user_environment(user)
    entries = [
        Directory(base),
        File(path_in(base, RUN), render_template(env, "user/run.j2", {
            "user": user, "userspec": userspec, "lock": lock,
            "service_dir": user.service_dir}), 0o755),
        Directory(path_in(base, CONTROL_DIR)),
        File(path_in(base, CONTROL_DIR, "t"),
             render_template(env, "user/control-t.j2", {"user": user}), 0o755),
        Directory(path_in(base, ENV_DIR)),
    ]
    for key in sorted(environment):
        entries.append(File(path_in(base, ENV_DIR, key), file_from_value(environment[key]),
                            0o640))
    # the tree's own output, logged by root's svlogd into root's directory, which the user
    # alone besides root may read — an ACL, as journald gives each user their journal file,
    # for a group of the user's may hold others; ~/logs/runsvdir leads there (root writes
    # nothing a user can replace). No default ACL: svlogd gives every file it makes its mode
    # (0644, 0744; lock 0600), so the directory is the one gate.
    log_place = Place(config.sv_dir, config.service_dir, config.log_dir)
    directory = tree_log_directory(config, user.login)
    entries += log_entries(Log(timestamps="human"), directory, base, log_place, env,
                           directory_mode=0o750, readers=(user.login,))
    # the user's whole tree bounded (users.LOGIN.resources); its end ends all of it
    own = dict(owner="root", group="root")
    if config.runtime == "system":
        asked = any(service.resources or service.stop == "group"
                    for service in user.services.values())
        entries = in_cgroup_under_c_runsv(entries, base, user.resources, None, own, name,
                                          owner=user.login, delegated=asked)
    else:
        entries += cgroup_entries(user.resources, "group", base, own)
    entries.append(Symlink(posixpath.join(config.service_dir, name), base))
    return entries


def user_entries(user, config, env, only=None):
    place = user_place(user)
    own = dict(owner=user.login, group=user.primary_group)
    entries = [Directory(user.sv_dir, 0o750, **own), Directory(user.service_dir, 0o750, **own),
               Directory(posixpath.dirname(user.log_dir), 0o750, **own)]
    if only is None or USER_TREE_PREFIX + user.login in only:
        entries += runsvdir_service_entries(user, config, env)
        entries.append(Symlink(user.log_dir, tree_log_directory(config, user.login),
                               yields=True, **own))
    for name in sorted(user.services):
        if only is None or label_of(user.login, name) in only:
            entries += service_entries(user.services[name], place, config, env)
    return entries
