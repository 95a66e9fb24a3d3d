"""runtime/unix: ``/proc/PID/stat`` as the kernel writes it (proc(5)).

Field 2, the command name in parentheses, may itself hold spaces and parentheses (a service
can name its process anything), so the fields are split after the line's *last* ``)``.
"""


def stat_fields(pid="self"):
    """The fields of ``/proc/PID/stat`` from field 3 (the state) on: proc(5)'s field N is
    ``stat_fields(pid)[N - 3]``. OSError when ``pid`` is gone, ValueError when the text is
    not a stat line.

    >>> fields = stat_fields()
    >>> fields[0] in (b"R", b"S"), int(fields[1]) > 0   # this process: running; a parent
    (True, True)
    """
    with open("/proc/%s/stat" % pid, "rb") as handle:
        text = handle.read()
    _, paren, rest = text.rpartition(b")")
    if not paren:
        raise ValueError("not a /proc/PID/stat line: %r" % text[:40])
    return rest.split()
