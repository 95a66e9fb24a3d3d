"""schema: where the data writes a service's keys, as written (before ``defaults`` are merged)
— the places a question of the host names its problems at (``resources.check_controllers``,
``sandbox.check_user_namespaces``, ``sandbox.check_writable_paths``)."""


def places(data):
    """``[(key path, raw hash, login)]`` of each hash that may write a service's keys, in the
    data's order: ``defaults`` (login None), each of root's ``services`` (the login its
    ``owner`` names, None without one), each of ``users`` and each user's service (its
    login). What is not a hash is left out: its reader says so.

    >>> [(path, login) for path, _, login in places({"defaults": {}, "services": {
    ...     "a": {"owner": "bob"}, "b": None}, "users": {"bob": {"services": {"c": {}}}}})]
    [(('defaults',), None), (('services', 'a'), 'bob'), (('users', 'bob'), 'bob'), (('users', 'bob', 'services', 'c'), 'bob')]
    """
    found = [(("defaults",), data.get("defaults"), None)]
    found += [(("services", name), raw, _owner(raw))
              for name, raw in _items(data.get("services"))]
    for login, user in _items(data.get("users")):
        found.append((("users", login), user, login))
        if isinstance(user, dict):
            found += [(("users", login, "services", name), raw, login)
                      for name, raw in _items(user.get("services"))]
    return [(path, raw, login) for path, raw, login in found if isinstance(raw, dict)]


def _items(value):
    return value.items() if isinstance(value, dict) else ()


def _owner(raw):
    owner = raw.get("owner") if isinstance(raw, dict) else None
    return owner if isinstance(owner, str) else None
