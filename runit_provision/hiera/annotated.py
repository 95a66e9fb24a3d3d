"""hiera: values that travel with their origins — ``(value, origins)`` pairs.

``origins`` maps key paths relative to ``value`` to ``source.Origin``; ``()`` is the position
of the value's own key or list item. Merging and interpolation take such pairs apart by first
key and put them back together with these helpers.
"""


def children_of(origins):
    """``{key: {rest: Origin}}`` from origins relative to a hash or list."""
    children = {}
    for path, origin in origins.items():
        if path:
            children.setdefault(path[0], {})[path[1:]] = origin
    return children


def joined(origin, children):
    """The inverse of ``children_of``, with ``origin`` as the value's own position."""
    origins = {(): origin} if origin is not None else {}
    for key, sub in children.items():
        for rest, where in sub.items():
            origins[(key,) + rest] = where
    return origins


def items_of(found):
    """An annotated list -> ``[(item, item_origins), …]``."""
    value, origins = found
    children = children_of(origins)
    return [(item, children.get(index, {})) for index, item in enumerate(value)]


def joined_list(origin, items):
    """``[(item, item_origins), …]`` -> an annotated list."""
    return [value for value, _ in items], joined(
        origin, {index: sub for index, (_, sub) in enumerate(items)})


def under(found, path):
    """The annotated value at ``path`` inside ``found``, or None if it is not there."""
    value, origins = found
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return None
    size = len(path)
    return value, {key[size:]: origin for key, origin in origins.items()
                   if key[:size] == tuple(path)}
