"""runtime/unix: the C types and the C library handle the runtime calls through — ctypes'
pieces without the weight of ctypes' package.

``import ctypes`` costs a process 0.15–0.4 MB of pages of its own (a tree 0.17 MB, a
``timer-run`` 0.15) and ~4 ms of its start (3.11 and 3.13: the package makes some forty types,
their byte-order twins, its function-type caches, and imports ``types``), where the runtime
needs a dozen: a tree, a timer's waiter and ``sv -w`` paid it all for inotify and prctl.
Here the same classes are made from ``_ctypes`` — ctypes' C half, which its package is a thin
layer over — as ``ctypes/__init__.py`` makes them (its ``CDLL``, simple types and function
pointers are the same from 3.9 to 3.13). ``_ctypes`` is CPython's internal module: it is used
where ``cpython.leans_on_internals()`` says (a measured CPython, not turned off with
``RUNIT_PROVISION_CPYTHON_INTERNALS=no``); anywhere else, or when a piece is missing, every
name here is ctypes' own — heavier, never different.

    >>> size_t_width = sizeof(c_size_t)
    >>> size_t_width == sizeof(c_void_p) and sizeof(c_uint32) == 4
    True
    >>> buffer = create_string_buffer(8)
    >>> buffer.value = b"runit"
    >>> string_at(addressof(buffer), 6)
    b'runit\\x00'
"""

from .cpython import leans_on_internals


def _lean_pieces():
    """The pieces made from ``_ctypes`` as ctypes makes them; raises when one is missing."""
    import _ctypes

    def simple(name, code):
        return type(name, (_ctypes._SimpleCData,), {"_type_": code, "__module__": __name__})

    c_int, c_uint, c_short = simple("c_int", "i"), simple("c_uint", "I"), simple("c_short", "h")
    c_long, c_ulong = simple("c_long", "l"), simple("c_ulong", "L")
    c_void_p = simple("c_void_p", "P")
    if (_ctypes.sizeof(c_int), _ctypes.sizeof(c_uint)) != (4, 4) \
            or _ctypes.sizeof(c_ulong) != _ctypes.sizeof(c_void_p):
        raise ValueError("a C data model ctypes' package would choose other types for")

    class Function(_ctypes.CFuncPtr):
        """A function of the C library: cdecl, its errno kept for ``get_errno``, an int back
        unless ``restype`` says otherwise (ctypes' ``CDLL(None, use_errno=True)``'s)."""
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = c_int

    return {
        "c_int": c_int, "c_uint": c_uint, "c_uint32": c_uint, "c_short": c_short,
        "c_long": c_long, "c_size_t": c_ulong, "c_ssize_t": c_long, "c_void_p": c_void_p,
        "c_char": simple("c_char", "c"), "c_char_p": simple("c_char_p", "z"),
        "POINTER": _ctypes.POINTER, "Structure": _ctypes.Structure, "byref": _ctypes.byref,
        "addressof": _ctypes.addressof, "sizeof": _ctypes.sizeof,
        "get_errno": _ctypes.get_errno,
        # dlopen(NULL): the program and what it loaded, as ctypes' CDLL(None) opens it
        "c_library": lambda: _Library(Function, _ctypes.dlopen(None, _ctypes.RTLD_LOCAL)),
        "KIND": "_ctypes",
    }


def _ctypes_pieces():
    import ctypes

    pieces = {name: getattr(ctypes, name) for name in (
        "c_int", "c_uint", "c_uint32", "c_short", "c_long", "c_size_t", "c_ssize_t",
        "c_void_p", "c_char", "c_char_p", "POINTER", "Structure", "byref", "addressof",
        "sizeof", "get_errno")}
    pieces.update(c_library=lambda: ctypes.CDLL(None, use_errno=True), KIND="ctypes")
    return pieces


class _Library:
    """What the runtime uses of a ``CDLL``: ``library[name]``, a new function object (with
    ``argtypes`` of its own), and ``library.name``, one kept on the handle for every caller;
    a name the library lacks is an AttributeError, as in ctypes."""

    def __init__(self, function_type, handle):
        self._FuncPtr = function_type
        self._handle = handle  # read by the function type's constructor, as from a CDLL

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        function = self[name]
        setattr(self, name, function)
        return function

    def __getitem__(self, name):
        function = self._FuncPtr((name, self))
        function.__name__ = name
        return function


def _pieces():
    if leans_on_internals():
        try:
            return _lean_pieces()
        except (ImportError, AttributeError, TypeError, ValueError):
            pass  # a piece this CPython lacks or changed: ctypes' package has them all
    return _ctypes_pieces()


_made = _pieces()
c_int, c_uint, c_uint32, c_short = (_made[name] for name in (
    "c_int", "c_uint", "c_uint32", "c_short"))
c_long, c_size_t, c_ssize_t = _made["c_long"], _made["c_size_t"], _made["c_ssize_t"]
c_void_p, c_char, c_char_p = _made["c_void_p"], _made["c_char"], _made["c_char_p"]
POINTER, Structure, byref = _made["POINTER"], _made["Structure"], _made["byref"]
addressof, sizeof, get_errno = _made["addressof"], _made["sizeof"], _made["get_errno"]
c_library = _made["c_library"]
KIND = _made["KIND"]  # where the pieces came from: "_ctypes" or "ctypes"
del _made


def create_string_buffer(size):
    """``size`` zeroed bytes of C memory (ctypes' ``create_string_buffer(size)``)."""
    return (c_char * size)()


def string_at(address, size):
    """The ``size`` bytes at ``address`` (ctypes' ``string_at``)."""
    return (c_char * size).from_address(address).raw
