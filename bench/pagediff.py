#!/usr/bin/env python3
"""bench: which pages of a forked Python process are its own, and why — a child (a user's tree)
against the process it was forked from (the fork server), page by page (issue 29).

A page is the child's own when ``/proc/CHILD/pagemap`` says it is mapped by this process alone
(bit 56). For each such page the parent also has at the same address, both copies are read
(``/proc/PID/mem``) and compared:

* **new**: the parent has no page there (the child's own allocations, its stack);
* **copied, unchanged**: written and written back as it was — reference counts counted up and
  down again (CPython 3.11 writes one into every object it touches);
* **copied, changed**: what is left changed — counts kept (an object stored somewhere new), the
  interpreter's counters in code it runs, objects of the child's own in memory the parent had
  freed.

Then, for the pages in the allocators' memory (anonymous mappings, the heap), the type of the
objects most numerous on each (a scan for object headers — a reference count and a pointer to
a type whose ``tp_name`` reads as a name); for the interpreter's data (libpython's writable
mapping, or the executable's when it is linked in), the symbols on each page (``nm``; a
stripped binary has none); and the entries of the interpreter's type attribute cache the child
replaced (a lookup that missed it: the entry's page, and the reference counts of the name put
there and of the name it replaced, each on a page of its own).

Usage: ``.venv/bin/python bench/pagediff.py PARENT CHILD [--pages]`` (root: the frame numbers
in pagemap, and the memory of a process that is not dumpable). ``--census PID [--save FILE]
[--against FILE --per N]``: the objects of one process counted by type with the same header
scan, or the difference from a census saved before (root's tree at 10 users and at 40: what
each user added, ``--per 30``). ``bench/user_trees.py --hold
FILE`` keeps a measured host running for it. The parent must not run between the fork and the
diff: every page it writes meanwhile counts as the child's (the fork server only waits).
"""

import argparse
import bisect
import collections
import json
import os
import re
import struct
import subprocess
import sys

PAGE = 4096
_PRESENT, _EXCLUSIVE = 1 << 63, 1 << 56
_NAME = re.compile(rb"[A-Za-z_][\w.]{0,60}\Z")


def mappings(pid):
    """``(start, end, permissions, name)`` of each mapping."""
    found = []
    with open("/proc/%d/maps" % pid) as handle:
        for line in handle:
            fields = line.split(None, 5)
            start, end = (int(part, 16) for part in fields[0].split("-"))
            found.append((start, end, fields[1], fields[5].strip() if len(fields) > 5 else ""))
    return found


def page_entries(pid, start, end):
    """pagemap's entry of each page in ``[start, end)`` (0 where it cannot be read)."""
    count = (end - start) // PAGE
    try:
        with open("/proc/%d/pagemap" % pid, "rb") as handle:
            handle.seek(start // PAGE * 8)
            data = handle.read(count * 8)
    except OSError:
        data = b""
    entries = list(struct.unpack("%dQ" % (len(data) // 8), data))
    return entries + [0] * (count - len(entries))


class Memory:
    """A process's memory, read where it is mapped (b"" where it is not)."""

    def __init__(self, pid):
        self.handle = open("/proc/%d/mem" % pid, "rb", buffering=0)
        self.names = {}

    def read(self, address, size):
        try:
            self.handle.seek(address)
            return self.handle.read(size)
        except (OSError, ValueError, OverflowError):
            return b""

    def word(self, address):
        data = self.read(address, 8)
        return struct.unpack("Q", data)[0] if len(data) == 8 else 0

    def type_name(self, address):
        """The ``tp_name`` of the type at ``address``, or None when it is not one."""
        if address not in self.names:
            self.names[address] = None
            name = self._name_at(self.word(address + 24))
            metatype = self.word(address + 8)
            if name and metatype and self._name_at(self.word(metatype + 24)):
                self.names[address] = name
        return self.names[address]

    def _name_at(self, address):
        if address < PAGE:
            return None
        text = self.read(address, 64).split(b"\0")[0]
        return text.decode() if _NAME.match(text) else None

    def text(self, address):
        """The text of the compact ASCII ``str`` at ``address``, or None."""
        header = self.read(address, 48)
        if len(header) < 48 or self.type_name(struct.unpack_from("Q", header, 8)[0]) != "str":
            return None
        length, state = struct.unpack_from("Q", header, 16)[0], header[32]
        if not (state >> 5 & 1 and state >> 6 & 1):  # compact, ascii
            return "<str>"
        return self.read(address + 48, min(length, 40)).decode("ascii", "replace")


def most_numerous_type(memory, page):
    """The type with the most object headers on ``page`` (the parent's copy), or "-"."""
    counts = collections.Counter()
    for offset in range(0, PAGE - 16, 8):
        references, kind = struct.unpack_from("QQ", page, offset)
        if 0 < references < 10 ** 7 and kind > PAGE:
            name = memory.type_name(kind)
            if name:
                counts[name] += 1
    return counts.most_common(1)[0][0] if counts else "-"


def data_symbols(path):
    """``(starts, [(start, size, name)])`` of the data symbols of ``path`` (nm)."""
    try:
        listing = subprocess.run(["nm", "-S", path], capture_output=True, text=True).stdout
    except OSError:
        listing = ""
    symbols = sorted((int(fields[0], 16), int(fields[1], 16), fields[3])
                     for fields in (line.split() for line in listing.splitlines())
                     if len(fields) == 4 and fields[2] in "dDbB")
    return [symbol[0] for symbol in symbols], symbols


def symbols_on(symbols, base, address, offsets):
    """The symbols at ``offsets`` of the page at ``address``, most often first."""
    starts, table = symbols
    counts = collections.Counter()
    for offset in offsets:
        at = address + offset - base
        index = bisect.bisect_right(starts, at) - 1
        hit = index >= 0 and table[index][0] <= at < table[index][0] + max(table[index][1], 1)
        counts[table[index][2] if hit else "?"] += 1
    return ", ".join("%s:%d" % pair for pair in counts.most_common(4))


def interpreter_file(pid):
    """The file the interpreter's data is in: libpython, else the executable."""
    names = {name for _, _, _, name in mappings(pid)}
    found = [name for name in names if "libpython" in name]
    return found[0] if found else os.readlink("/proc/%d/exe" % pid)


def compare(parent_pid, child_pid, show_pages=False):
    parent, child = Memory(parent_pid), Memory(child_pid)
    interpreter = interpreter_file(child_pid)
    child_maps = mappings(child_pid)
    base = min((start for start, _, _, name in child_maps if name == interpreter), default=0)
    symbols = data_symbols(interpreter)
    per_mapping, kinds = collections.Counter(), collections.Counter()
    by_type = {"unchanged": collections.Counter(), "changed": collections.Counter()}
    cache_misses, interpreter_pages = [], []
    for start, end, permissions, name in child_maps:
        if name == "[vsyscall]":
            continue
        theirs = page_entries(parent_pid, start, end)
        for index, entry in enumerate(page_entries(child_pid, start, end)):
            if not (entry & _PRESENT and entry & _EXCLUSIVE):
                continue
            address = start + index * PAGE
            per_mapping[name or "[anonymous]"] += 1
            if not theirs[index] & _PRESENT:
                kinds["new"] += 1
                continue
            before, after = parent.read(address, PAGE), child.read(address, PAGE)
            if len(before) != PAGE or len(after) != PAGE:
                kinds["unreadable"] += 1
                continue
            how = "unchanged" if before == after else "changed"
            kinds["copied, " + how] += 1
            changed = [offset for offset in range(0, PAGE, 8)
                       if before[offset:offset + 8] != after[offset:offset + 8]]
            if name in ("", "[heap]"):
                by_type[how]["%s %s" % (name or "anonymous", most_numerous_type(parent, before))] += 1
            elif name == interpreter and "w" in permissions:
                interpreter_pages.append("%x %-9s %s" % (
                    address, "%d words" % len(changed) if changed else "unchanged",
                    symbols_on(symbols, base, address, changed or range(0, PAGE, 64))))
                for offset in changed:  # a type cache entry: a name replaced by a name
                    old = parent.text(struct.unpack_from("Q", before, offset)[0])
                    new = child.text(struct.unpack_from("Q", after, offset)[0])
                    if old is not None and new is not None:
                        cache_misses.append((address, old, new))
    total = sum(per_mapping.values())
    print("pages of the child's own: %d (%d kB)" % (total, total * PAGE // 1024))
    for name, count in per_mapping.most_common():
        print("  %5d  %s" % (count, name))
    for kind, count in kinds.most_common():
        print("  %5d  %s" % (count, kind))
    for how, counts in by_type.items():
        print("copied %s, by the type most numerous on the page (%d):"
              % (how, sum(counts.values())))
        for name, count in counts.most_common(12):
            print("  %5d  %s" % (count, name))
    print("the interpreter's data: %d pages" % len(interpreter_pages))
    for line in interpreter_pages if show_pages else ():
        print("  " + line)
    print("type cache entries replaced: %d, on %d pages" % (
        len(cache_misses), len({address for address, _, _ in cache_misses})))
    for _, old, new in cache_misses if show_pages else ():
        print("  %s -> %s" % (old, new))


def census(pid):
    """Objects by type in the anonymous memory and heap of ``pid`` (the same header scan;
    freed blocks mostly fail it: their first word is the allocator's pointer, not a count)."""
    memory, counts = Memory(pid), collections.Counter()
    for start, end, permissions, name in mappings(pid):
        if name not in ("", "[heap]") or "w" not in permissions:
            continue
        for chunk in range(start, end, 1 << 16):
            data = memory.read(chunk, min(1 << 16, end - chunk))
            for offset in range(0, len(data) - 16, 8):
                references, kind = struct.unpack_from("QQ", data, offset)
                if 0 < references < 10 ** 6 and kind > PAGE:
                    name_of = memory.type_name(kind)
                    if name_of:
                        counts[name_of] += 1
    return counts


def show_census(counts, against_path=None, per=1):
    """The census, or its difference from the one saved at ``against_path`` (each / ``per``)."""
    if against_path:
        with open(against_path) as handle:
            before = json.load(handle)
        counts = collections.Counter({name: counts.get(name, 0) - before.get(name, 0)
                                      for name in set(counts) | set(before)})
    print("objects: %d" % sum(counts.values()))
    for name, count in counts.most_common(30):
        print("  %8.1f  %s" % (count / per, name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pids", type=int, nargs="+", help="PARENT CHILD, or the PID of --census")
    parser.add_argument("--pages", action="store_true",
                        help="each page of the interpreter's data, each type cache entry")
    parser.add_argument("--census", action="store_true",
                        help="count the objects of one process by type instead")
    parser.add_argument("--save", metavar="FILE", help="--census: write the counts to FILE")
    parser.add_argument("--against", metavar="FILE",
                        help="--census: the difference from the counts saved in FILE")
    parser.add_argument("--per", type=float, default=1,
                        help="--census --against: divided by this (users added)")
    args = parser.parse_args(argv)
    if args.census:
        counts = census(args.pids[0])
        if args.save:
            with open(args.save, "w") as handle:
                json.dump(counts, handle)
        show_census(counts, args.against, args.per)
    elif len(args.pids) == 2:
        compare(args.pids[0], args.pids[1], args.pages)
    else:
        parser.error("PARENT CHILD, or --census PID")
    return 0


if __name__ == "__main__":
    sys.exit(main())
