"""protocol: ``named_tuple`` — a tuple class with named fields, as ``collections.namedtuple``
makes, for the small value records the daily views read (a ready file, an owed restart, a
verdict…), without importing ``collections``.

Importing ``collections`` (with the ``_collections_abc``, ``operator``, ``keyword`` and
``reprlib`` it loads) costs 10.9 M instructions, 0.39x a bare interpreter's start (27.7 M; ~4
ms on the bench's floor) — the budget of ``status NAME`` is half of one (docs/design.md,
*Start-up*). What the project's records use
of a named tuple is kept: fields by name and by position, unpacking, tuple equality, order and
hashing, JSON as a list, ``_fields``, ``_field_defaults``, ``_make``, ``_replace``,
``_asdict``, the ``Name(field=value, …)`` repr, pickling and copying; a subclass adds
``__slots__ = ()`` and its methods as it would to a named tuple.

A record with methods of its own is one class, ``class Owed(FieldTuple, fields="action
target")``, rather than a subclass of ``named_tuple(…)``'s: making a class costs ~0.1 M
instructions, and the daily views' start makes every record class they import
(docs/design.md). The methods every record shares are ``FieldTuple``'s, made once.

>>> Point = named_tuple("Point", "x y", defaults=(0,))
>>> Point(1), Point(1, 2) == (1, 2), Point(y=3, x=1)._replace(x=4)
(Point(x=1, y=0), True, Point(x=4, y=3))
>>> Point(1, 2, 3)
Traceback (most recent call last):
...
TypeError: Point takes 2 fields, got 3
>>> Point(z=1)
Traceback (most recent call last):
...
TypeError: Point has no field 'z'
"""

from operator import itemgetter

_MISSING = object()


class FieldTuple(tuple):
    """The base of the records: a subclass names its ``fields`` (names separated by spaces)
    and the ``defaults`` of the last ones in its class line; its own subclasses inherit them.
    """

    __slots__ = ()
    _fields = ()
    _field_defaults = {}

    def __init_subclass__(cls, fields=None, defaults=(), **kwargs):
        super().__init_subclass__(**kwargs)
        if fields is None:
            return  # a subclass of a record: its fields are its base's
        names = tuple(fields.split())
        cls._fields = cls.__match_args__ = names
        cls._field_defaults = dict(zip(names[len(names) - len(defaults):], defaults))
        for index, name in enumerate(names):
            setattr(cls, name, property(itemgetter(index), doc="field %d" % index))

    def __new__(cls, *values, **named):
        fields = cls._fields
        if not named and len(values) == len(fields):
            return tuple.__new__(cls, values)  # the usual call: every field, in order
        name, given = cls.__name__, cls._field_defaults
        if len(values) > len(fields):
            raise TypeError("%s takes %d fields, got %d" % (name, len(fields), len(values)))
        filled = dict(zip(fields, values))
        for field, value in named.items():
            if field not in given and field not in fields:
                raise TypeError("%s has no field %r" % (name, field))
            if field in filled:
                raise TypeError("%s got %r twice" % (name, field))
            filled[field] = value
        found = tuple(filled.get(field, given.get(field, _MISSING)) for field in fields)
        if _MISSING in found:
            raise TypeError("%s misses %s" % (name, ", ".join(
                field for field, value in zip(fields, found) if value is _MISSING)))
        return tuple.__new__(cls, found)

    @classmethod
    def _make(cls, iterable):
        values = tuple(iterable)
        if len(values) != len(cls._fields):
            raise TypeError("%s takes %d fields, got %d" % (
                cls.__name__, len(cls._fields), len(values)))
        return tuple.__new__(cls, values)

    def _replace(self, **changes):
        return type(self)(**dict(zip(self._fields, self), **changes))

    def _asdict(self):
        return dict(zip(self._fields, self))

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % pair for pair in zip(self._fields, self)))

    def __getnewargs__(self):
        return tuple(self)


def named_tuple(name, fields, defaults=(), module=__name__):
    """A tuple class called ``name`` with ``fields`` (names separated by spaces), the last
    ``len(defaults)`` of them defaulting to ``defaults`` (a FieldTuple). ``module`` is the
    caller's ``__name__``, where pickle finds the class, as ``namedtuple``'s ``module``."""
    return type(name, (FieldTuple,), {"__slots__": (), "__module__": module},
                fields=fields, defaults=defaults)
