"""runtime/control: sv's command table as data — word → the bytes sent to runsv, the letters
waited for, when to wait, and whether a timeout kills.

Only the first letter of a word counts, as in runit's ``sv.c``, except for the whole words of
``COMMANDS`` (LSB's ``start``, ``force-stop``, …); docs/runit-protocol.md §3.
"""

# When a command waits for its letters.
NEVER, VERBOSE, ALWAYS = 0, 1, 2


class Command:
    """One row of the command table."""

    __slots__ = ("acts", "sends", "waits", "kills")

    def __init__(self, acts, sends=True, waits=VERBOSE, kills=False):
        self.acts = acts  # the control bytes sent, and also the wait letters
        self.sends = sends  # False for status and check: nothing is written to runsv
        self.waits = waits
        self.kills = kills  # force-*: on timeout print ``kill:`` and send ``k``

    def __eq__(self, other):
        return isinstance(other, Command) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return (self.acts, self.sends, self.waits, self.kills)

    def __repr__(self):
        return "Command(%r, sends=%r, waits=%r, kills=%r)" % self._key()


STATUS = Command("s", sends=False, waits=NEVER)

# Whole words first (sv.c compares these exactly) …
COMMANDS = {
    "status": STATUS,
    "try-restart": Command("tc", waits=ALWAYS),
    "check": Command("C", sends=False, waits=ALWAYS),
    "shutdown": Command("x", waits=ALWAYS),
    "start": Command("u", waits=ALWAYS),
    "stop": Command("d", waits=ALWAYS),
    "restart": Command("tcu", waits=ALWAYS),
    "reload": Command("h", waits=ALWAYS),
    "force-reload": Command("tc", waits=ALWAYS, kills=True),
    "force-restart": Command("tcu", waits=ALWAYS, kills=True),
    "force-shutdown": Command("x", waits=ALWAYS, kills=True),
    "force-stop": Command("d", waits=ALWAYS, kills=True),
}
# … then the first letter: up, down, once, pause, cont, hup, alarm, interrupt, kill, quit, 1,
# 2, term, exit, and the undocumented kill-on-timeout capitals.
COMMANDS_BY_LETTER = dict(
    [(letter, Command(letter)) for letter in "udophaikq12tc"]
    + [("x", Command("x")), ("e", Command("x")),
       ("X", Command("x", waits=ALWAYS, kills=True)),
       ("E", Command("x", waits=ALWAYS, kills=True)),
       ("D", Command("d", waits=ALWAYS, kills=True)),
       ("T", Command("tc", waits=ALWAYS, kills=True))])


def command_for(word, lsb=False):
    """The command a word names, or None for a usage error.

    Only the first letter counts (``sv dingdong svc`` is ``down``), except for the whole words
    above; other words starting with ``r`` or ``f`` are usage errors; any other ``s…`` word is
    ``status``, but in LSB mode only ``status`` itself is.
    """
    command = COMMANDS.get(word)
    if command is None:
        command = COMMANDS_BY_LETTER.get(word[:1])
    if command is None and word[:1] == "s" and not lsb:
        command = STATUS
    return command
