"""model: the one idiom for a frozen record — slotted, built whole, compared by its fields.

The data's records (``model.Config``, ``Service``…) and the tree's entries (``model.tree``)
are both ``Frozen``: assigning a field after construction raises, so a record handed from
room to room is the record that was built. (Small value records that are tuples by nature —
a passwd entry, an origin, an observed path — are ``collections.namedtuple`` subclasses.)
"""

# How a constructor fills a frozen record's slots (its own __setattr__ refuses). A rendering
# makes ten entries per service, so constructors call it directly.
fill = object.__setattr__


class Frozen:
    """A frozen slotted record: ``_fields`` (the slots, in order) give equality, hash and
    repr; assigning a field after construction raises ``AttributeError``."""

    __slots__ = ()
    _fields = ()

    def __setattr__(self, name, value):
        raise AttributeError("%s is frozen: build a new one instead of setting %s"
                             % (type(self).__name__, name))

    def __delattr__(self, name):
        self.__setattr__(name, None)

    def _values(self):
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other):
        return type(self) is type(other) and self._values() == other._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in self._fields))


class Record(Frozen):
    """A Frozen record built by keyword: a missing field is None, an unknown one a
    TypeError. Its fields are its ``__slots__``."""

    __slots__ = ()
    __hash__ = None  # fields hold lists and dicts

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._fields = cls.__slots__

    def __init__(self, **values):
        take = values.pop
        for name in self._fields:
            fill(self, name, take(name, None))
        if values:
            raise TypeError("unknown fields: %s" % ", ".join(sorted(values)))
