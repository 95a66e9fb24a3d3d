"""schema: the checks across services — names unique per tree, ``needs`` within one tree and
without cycles, and one svlogd per log directory."""

from ..model import USER_TREE_PREFIX, log_directory, tree_log_directory
from ..source import key_path_text


def check_names(problems, services, logins):
    """A name is used once per tree; ``runsvdir-<login>`` is taken in the system tree."""
    seen = {(None, USER_TREE_PREFIX + login): ("users",) for login in logins}
    for tree, name, path, _ in services:
        if (tree, name) in seen:
            problems.add(path, "%s is defined twice in %s (also at %s)" % (
                name, _tree_text(tree), key_path_text(seen[(tree, name)])))
        else:
            seen[(tree, name)] = path


def check_needs(problems, services, unread=()):
    """needs: known, in the same tree, present and enabled; no cycles (the cycle is named).
    ``unread``: the ``(tree, name)`` of services declared that could not be read (their own
    problem is said): a need of one is not "unknown"."""
    by_tree = {}
    for tree, name, path, values in services:
        by_tree.setdefault(tree, {})[name] = (path, values)
    for tree, members in by_tree.items():
        graph = {}
        for name, (path, values) in members.items():
            graph[name] = [dep for index, dep in enumerate(values.get("needs") or [])
                           if (tree, dep) not in unread
                           and _is_usable_need(problems, path + ("needs", index), name, dep,
                                               tree, members, by_tree)]
        for cycle in _cycles(graph):
            first = cycle[0]
            problems.add(members[first][0] + ("needs",),
                         "needs cycle: %s" % " -> ".join(cycle + [first]))


def check_log_dirs(problems, config, services):
    """One svlogd per directory (it locks it): no two loggers may share one. A logger in a
    user's tree runs as that user."""
    paths = {(tree, name): path for tree, name, path, _ in services}
    seen = {tree_log_directory(config, login): "the log of runsvdir-%s" % login
            for login in sorted(config.users)}
    links = {user.log_dir: login for login, user in sorted(config.users.items())}
    trees = [(None, config.services, config.log_dir)] + [
        (login, user.services, user.log_dir.rsplit("/", 1)[0] or "/")
        for login, user in sorted(config.users.items())]
    for tree, members, parent in trees:
        for name in sorted(members):
            service = members[name]
            directory = log_directory(service, parent)
            if directory is None:
                continue
            path = paths[(tree, name)]
            if tree is not None and service.log.user not in (None, tree) \
                    and service.log.user.split(":")[0] != tree:
                problems.add(path + ("log", "user"), "a logger in %s's tree runs as %s"
                             % (tree, tree))
            if directory in links:
                problems.add(path + ("log",), "logs to %s, where users.%s.log_dir links to "
                                              "its tree's log" % (directory, links[directory]))
            elif directory in seen:
                problems.add(path + ("log",), "logs to %s, as %s does (svlogd locks its "
                                              "directory)" % (directory, seen[directory]))
            else:
                seen[directory] = "service %s" % name


def _tree_text(tree):
    return "the system tree" if tree is None else "%s's tree" % tree


def _is_usable_need(problems, at, name, dep, tree, members, by_tree):
    if dep not in members:
        elsewhere = any(dep in others for others in by_tree.values())
        problems.add(at, "needs %r, which is not a service of %s%s" % (
            dep, _tree_text(tree), " (needs stay within one tree: its sv cannot start another "
                                   "tree's services)" if elsewhere else ""))
        return False
    other = members[dep][1]
    if other.get("ensure") == "absent" or other.get("enabled") is False:
        problems.add(at, "needs %r, which is %s" % (
            dep, "ensure: absent" if other.get("ensure") == "absent"
            else "enabled: false (never started)"))
        return False
    if dep == name:
        problems.add(at, "%s needs itself" % name)
        return False
    if other.get("schedule") is not None:
        problems.add(at, "needs %r, which is a timer (it runs at its schedule's elapses: "
                         "nothing stays up or done to wait for)" % dep)
        return False
    return True


def _cycles(graph):
    """Each elementary cycle found by a depth-first search, once, starting at its least name."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):]
                low = cycle.index(min(cycle))
                cycle = cycle[low:] + cycle[:low]
                if cycle not in found:
                    found.append(cycle)
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


SHELL_FD_MAX = 9  # a POSIX shell's redirections name descriptors 0 to 9 (dash: no more)


def check_ready_runtime(problems, config, services):
    """``ready: {fd: N}`` under the C runsv: ``./run``'s shell opens descriptor N itself
    (notify-relay's FIFO, docs/readiness.md), so N is one a POSIX shell can name, 3 to 9; our
    runsv hands ./run any descriptor up to 1023."""
    if config.runtime != "system":
        return
    for _tree, _name, path, values in services:
        ready = values.get("ready") or {}
        if ready.get("kind") == "fd" and ready.get("fd", 0) > SHELL_FD_MAX:
            problems.add(path + ("ready", "fd"),
                         "ready: {fd: %d} with runtime: system: the C runsv gives ./run no "
                         "descriptor, so its shell opens it, and a POSIX shell names 3 to %d "
                         "only (runtime: python takes any up to 1023)"
                         % (ready["fd"], SHELL_FD_MAX))
