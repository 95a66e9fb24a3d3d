"""svlogd's pure pieces: options, rotation decisions, names, pruning, chunk → stamped lines."""

import doctest
import os

import pytest

from runit_provision.errors import UsageError
from runit_provision.runtime import svlogd
from runit_provision.runtime.svlog import logdir
from runit_provision.runtime.svlog import engine as logstream, options as svlog_options
from runit_provision.runtime.svlog.config import parse_config
from runit_provision.runtime.svlog.writeplan import plan_write
from runit_provision.runtime.svlog.rotated import full_disk_victim, prune_plan, rotated_name
from runit_provision.runtime.svlog.engine import (Stamper, render_plain, render_selected,
                                               replace_block, replacement_table)
from runit_provision.runtime.svlog.options import USAGE, VERSION, parse_args
from runit_provision.runtime.svlog.peek import (RECHECK_DELAYS, LineTaker, is_available,
                                             scratch_pipe)
from runit_provision.runtime.supervision.engine.loop import Timer


@pytest.mark.parametrize("module", [logdir, logstream, svlog_options, svlogd])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# -- options ----------------------------------------------------------------------------------
def test_options_default_to_runits():
    options, names = parse_args(["main", "other"])
    assert names == ["main", "other"]
    assert (options.timestamp, options.replace_char, options.replace_set, options.line_max,
            options.buf_len, options.verbose) == (0, None, b"", 1000, 1024, False)


@pytest.mark.parametrize("args, field, value", [
    (["-t"], "timestamp", 1),
    (["-tt"], "timestamp", 2),
    (["-t", "-t", "-t"], "timestamp", 3),
    (["-tttt"], "timestamp", 3),
    (["-r", "#"], "replace_char", b"#"),
    (["-R", "ab"], "replace_char", b"_"),       # -R alone replaces with _
    (["-r", "#", "-R", "ab"], "replace_char", b"#"),
    (["-R", "ab", "-r", "#"], "replace_char", b"#"),
    (["-R", "ab"], "replace_set", b"ab"),
    (["-l", "0"], "line_max", 1000),
    (["-l", "abc"], "line_max", 1000),
    (["-l50"], "line_max", 50),
    (["-b", "0"], "buf_len", 1024),
    (["-b", "4096"], "buf_len", 4096),
    (["-l", "18446744073709552616", "-b", "2000"], "line_max", 1000),  # wraps, as C's
    (["-v"], "verbose", True),
])
def test_options(args, field, value):
    options, names = parse_args(args + ["d"])
    assert getattr(options, field) == value
    assert names == ["d"]


@pytest.mark.parametrize("args, text", [
    ([], USAGE),
    (["-t"], USAGE),
    (["-r", "ab", "d"], USAGE),
    (["-r", "", "d"], USAGE),
    (["-l", "1024", "d"], USAGE),          # buflen must exceed len
    (["-b", "1000", "d"], USAGE),
    (["-x", "d"], b"svlogd: illegal option -- x\n" + USAGE),
    (["-r"], b"svlogd: option requires an argument -- r\n" + USAGE),
    (["-V", "d"], VERSION + USAGE),
    (["-l", "9" * 5000, "d"], USAGE),      # any number of digits (int() stops at 4300)
])
def test_usage_errors(args, text):
    with pytest.raises(UsageError) as info:
        parse_args(args)
    assert info.value.text == text


def test_option_parsing_stops_at_the_first_directory_and_after_double_dash():
    assert parse_args(["d", "-t"])[1] == ["d", "-t"]
    options, names = parse_args(["-t", "--", "-d"])
    assert (options.timestamp, names) == (1, ["-d"])


# -- rotation decisions ---------------------------------------------------------------------------
def lines(*words):
    return b"".join(w + b"\n" for w in words)


def test_no_size_limit_writes_everything():
    assert plan_write(b"x" * 5000, 10 ** 9, 0, 1000, True) == (5000, False)


def test_runits_rotation_point_is_a_line_end_past_size_max_minus_line_max():
    data = lines(b"a" * 9, b"b" * 9, b"c" * 9)       # 10-byte lines
    assert plan_write(data, 0, 100, 85, True) == (20, True)   # 20 >= 15 after the 2nd line
    assert plan_write(data, 0, 100, 90, True) == (10, True)
    assert plan_write(data, 0, 100, 50, True) == (30, False)


def test_a_line_that_does_not_fit_starts_the_next_file():
    # line_max >= size_max: runit rotates only when the file is full, cutting a line.
    data = lines(b"a" * 9, b"b" * 9)
    assert plan_write(data, 0, 15, 1000, True) == (10, True)
    assert plan_write(data[10:], 0, 15, 1000, True) == (10, False)
    assert plan_write(data, 10, 15, 1000, True) == (0, True)


def test_only_a_line_longer_than_size_max_is_cut():
    data = lines(b"x" * 25)
    assert plan_write(data, 0, 10, 1000, True) == (10, True)
    assert plan_write(data[10:], 0, 10, 1000, False) == (10, True)
    assert plan_write(data[20:], 0, 10, 1000, False) == (6, False)


def test_the_rest_of_a_begun_line_fills_the_file_before_rotating():
    assert plan_write(b"tail of a line\n", 5, 10, 1000, False) == (5, True)


def test_an_oversized_current_rotates_before_the_next_write():
    assert plan_write(lines(b"a"), 500, 100, 10, True) == (0, True)


def test_simulated_stream_never_splits_short_lines_and_files_stay_within_size():
    size_max, line_max = 100, 30
    stream = b"".join(lines(b"%d" % i * (i % 7 + 1)) for i in range(400))
    files, current, pending, start = [], b"", stream, True
    while pending:
        count, rotate = plan_write(pending, len(current), size_max, line_max, start)
        current += pending[:count]
        start = current.endswith(b"\n") if count else start
        pending = pending[count:]
        if rotate:
            files.append(current)
            current = b""
    files.append(current)
    assert b"".join(files) == stream
    for content in files:
        assert len(content) <= size_max
        assert content.endswith(b"\n") or content is files[-1]


# -- names and pruning -----------------------------------------------------------------------------
def test_rotated_names_are_runits_microsecond_tai64n():
    # seconds 1_700_000_000 + 2**62 + 10; nanoseconds usec * 1000 + 500 = 123_456_500
    assert rotated_name(1_700_000_000_123_456_789, "s") == "@400000006553f10a075bcbf4.s"
    assert "%016x%08x" % (1_700_000_000 + 2 ** 62 + 10, 123_456_500) == "400000006553f10a075bcbf4"


def old(label, suffix="s"):
    return "@4000" + label.rjust(20, "0") + "." + suffix


def test_prune_deletes_one_oldest_beyond_n_and_processor_leftovers():
    names = [old("3"), old("1"), old("2"), old("9", "t"), "current", "lock", "state", "@short.s"]
    assert prune_plan(names, 2) == ([old("9", "t")], old("1"))
    assert prune_plan(names, 3) == ([old("9", "t")], None)
    assert prune_plan(names, 0) == ([old("9", "t")], None)   # n0: never delete


def test_prune_counts_unprocessed_files_but_spares_the_ones_due():
    names = [old("1", "u"), old("2"), old("3")]
    assert prune_plan(names, 2) == ([], old("1", "u"))
    assert prune_plan(names, 2, protected={old("1", "u")}) == ([], old("2"))
    assert prune_plan([old("5", "t")], 2, protected={old("5", "t")}) == ([], None)


def test_full_disk_deletes_the_oldest_while_more_than_n_min_remain():
    names = [old("2"), old("1"), old("3", "u")]
    assert full_disk_victim(names, 2) == old("1")
    assert full_disk_victim(names, 3) is None
    assert full_disk_victim(names, 0, protected={old("1"), old("2")}) == old("3", "u")


# -- chunks to lines ---------------------------------------------------------------------------------
def test_stamps():
    t = 1_700_000_000_987_654_321
    assert Stamper(1)(t) == b"@400000006553f10a3ade6964 "
    assert Stamper(2)(t) == b"2023-11-14_22:13:20.98765 "
    assert Stamper(3)(t) == b"2023-11-14T22:13:20.98765 "


def test_the_date_cache_follows_the_second():
    stamp = Stamper(2)
    assert stamp(0) == b"1970-01-01_00:00:00.00000 "
    assert stamp(999_999_999) == b"1970-01-01_00:00:00.99999 "
    assert stamp(1_000_000_000) == b"1970-01-01_00:00:01.00000 "


def test_render_plain():
    assert b"".join(render_plain(b"a\nb\n", b"")) == b"a\nb\n"
    assert b"".join(render_plain(b"a\n\nb\n", b"S ")) == b"S a\nS \nS b\n"
    assert b"".join(render_plain(b"unfinished", b"S ", complete=False)) == b"S unfinished"


def test_replacement_covers_only_the_first_line_max_bytes():
    table = replacement_table(b"_", b"a")
    assert replace_block(b"a\x00b\tc\n\xffz\n", table, 1000) == b"__b_c\n_z\n"
    assert replace_block(b"\x01\x01\x01\n\x01\n", table, 2) == b"__\x01\n_\n"


def test_render_selected_patterns_prefix_alerts_and_ellipsis():
    config = parse_config(b"-*\n+keep*\ne*!*\npP: \n")
    alerts = []
    block = lines(b"keep 1", b"drop", b"keep 2!", b"x!" + b"y" * 12, b"z" * 12 + b"!")
    data, _ = render_selected(block, b"T P: ", config, 10, True, None, alerts)
    assert data == b"T P: keep 1\nT P: keep 2!\n"
    # only the first line_max bytes are matched: the last line's ! is not seen
    assert alerts == [(2, b"T P: keep 2!\n"), (3, b"T P: x!yyyyyyyy...\n")]


def test_render_selected_udp_only_and_send_failures():
    config = parse_config(b"U127.0.0.1\n")
    sent = []

    def send(payload, shown):
        sent.append(payload)
        return b"warning: failure sending through udp: " + payload if b"2" in payload else None

    data, selected = render_selected(lines(b"l1", b"l2"), b"", config, 1000, True, send, [])
    assert sent == [b"l1\n", b"l2\n"]
    assert data == b"warning: failure sending through udp: l2\n"
    assert not selected


def test_picking_whole_lists_equals_the_line_by_line_path():
    import random
    rng = random.Random(5)
    for _ in range(300):
        config = parse_config(b"".join(
            rng.choice([b"+", b"-", b"e", b"E"]) + bytes(rng.choice(b"ab*") for _ in range(3))
            + b"\n" for _ in range(rng.randint(1, 4))))
        block = b"".join(bytes(rng.choice(b"ab") for _ in range(rng.randint(0, 4))) + b"\n"
                         for _ in range(20))
        slow_alerts, fast_alerts = [], []
        slow = render_selected(block, b"H ", config, 10, True, None, slow_alerts, True)
        fast = render_selected(block, b"H ", config, 10, True, None, fast_alerts, False)
        assert fast[0] == slow[0]
        assert [text for _, text in fast_alerts] == [text for _, text in slow_alerts]


# -- reading a pipe by copy (svlog/peek.py) ----------------------------------------------------
class Timers:
    """call_later's stand-in: the delays asked for, each fired by hand."""

    def __init__(self):
        self.pending, self.asked = [], []

    def call_later(self, delay, callback):
        timer = Timer(delay, callback)
        self.pending.append(timer)
        self.asked.append(delay)
        return timer

    def fire(self):
        timer = self.pending.pop(0)
        if not timer.cancelled:
            timer.callback()


@pytest.fixture
def pipe_taker():
    if not is_available():
        pytest.skip("no tee(2) in this C library")
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK)
    scratch = scratch_pipe()
    timers, fed, wakes = Timers(), [], []
    taker = LineTaker(read_fd, scratch, timers.call_later, lambda: wakes.append(1))
    yield taker, write_fd, timers, fed, wakes
    for fd in (read_fd, write_fd) + scratch:
        os.close(fd)


def test_an_unfinished_line_is_rechecked_then_taken_as_it_is(pipe_taker):
    taker, write_fd, timers, fed, wakes = pipe_taker
    os.write(write_fd, b"one\ntwo\nthr")
    assert taker.take(4096, fed.append) == "fed" and fed == [b"one\ntwo\n"]
    for _ in RECHECK_DELAYS:
        assert taker.take(4096, fed.append) == "empty"
        assert taker.take(4096, fed.append) == "empty"  # an edge meanwhile asks nothing more
        timers.fire()
    assert timers.asked == list(RECHECK_DELAYS) and len(wakes) == len(RECHECK_DELAYS)
    assert taker.take(4096, fed.append) == "fed" and fed[-1] == b"thr"  # the pipe is empty
    assert taker.take(4096, fed.append) == "empty" and not timers.pending


def test_the_rest_of_the_line_arriving_ends_the_rechecks(pipe_taker):
    taker, write_fd, timers, fed, wakes = pipe_taker
    os.write(write_fd, b"half")
    assert taker.take(4096, fed.append) == "empty"
    timers.fire()
    assert taker.take(4096, fed.append) == "empty"
    os.write(write_fd, b" a line\nnext")
    assert taker.take(4096, fed.append) == "fed" and fed == [b"half a line\n"]
    assert all(timer.cancelled for timer in timers.pending)
    assert taker.take(4096, fed.append) == "empty"  # "next": its rechecks start from the first
    assert timers.asked[-1] == timers.asked[0]
