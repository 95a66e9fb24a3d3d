"""The view over log directories written by hand (helpers.LogDir): order, merging, selection,
and what cannot be read — through the ``logs`` verb, in-process. No process is started."""

import gzip
import json
import os

import pytest

from runit_provision.cli.main import main
from runit_provision.logs.stamps import key_from_ns
from runit_provision.logs.view import Source, merged
from runit_provision.shown import shown_line

from .helpers import BASE, LogDir, stamp


def logs(capsysbinary, *args):
    code = main(["logs"] + [str(arg) for arg in args])
    captured = capsysbinary.readouterr()
    return code, captured.out.decode(), captured.err.decode()


def texts(output):
    return output.splitlines()


def test_files_oldest_first_then_current_every_line_once(tmp_path, capsysbinary):
    web = LogDir(tmp_path / "web")
    for index in range(30):
        web.add("line %d" % index, BASE + index)
        if index % 7 == 6:
            web.rotate(BASE + index + 0.5)
    code, out, err = logs(capsysbinary, "--dir", web.path, "-o", "cat")
    assert (code, err) == (0, "")
    assert texts(out) == ["line %d" % index for index in range(30)]


def test_services_interleave_by_time_and_equal_times_keep_the_services_order(
        tmp_path, capsysbinary):
    first, second = LogDir(tmp_path / "a", "tai64n"), LogDir(tmp_path / "b", "human")
    for index in range(10):
        first.add("a%d" % index, BASE + index)
        second.add("b%d" % index, BASE + index)  # the same time: a before b, always
        second.add("b%d.5" % index, BASE + index + 0.5)
    code, out, _ = logs(capsysbinary, "--dir", first.path, second.path, "-o", "cat")
    expected = []
    for index in range(10):
        expected += ["a%d" % index, "b%d" % index, "b%d.5" % index]
    assert code == 0 and texts(out) == expected
    _, out, _ = logs(capsysbinary, "--dir", second.path, first.path, "-o", "cat")
    assert texts(out)[:2] == ["b0", "a0"]


def test_a_clock_stepped_back_drops_no_line_and_keeps_the_files_order(tmp_path, capsysbinary):
    stepped, steady = LogDir(tmp_path / "stepped"), LogDir(tmp_path / "steady")
    for index, at in enumerate([10, 20, 30, 5, 15, 25]):
        stepped.add("s%d" % index, BASE + at)
    for at in (12, 22, 32):
        steady.add("t%d" % at, BASE + at)
    _, out, _ = logs(capsysbinary, "--dir", stepped.path, steady.path, "-o", "cat")
    got = texts(out)
    assert sorted(got) == sorted(["s%d" % index for index in range(6)] + ["t12", "t22", "t32"])
    assert [item for item in got if item[0] == "s"] == ["s%d" % index for index in range(6)]
    # --since by each line's own stamp: the step's lines before 12 are out, the rest in
    since = stamp("tai64n", BASE + 12)
    _, out, _ = logs(capsysbinary, "--dir", stepped.path, "--since", since, "-o", "cat")
    assert texts(out) == ["s1", "s2", "s4", "s5"]


def test_since_exactly_on_a_file_boundary_and_until(tmp_path, capsysbinary):
    web = LogDir(tmp_path / "web")
    for index in range(100):
        web.add("line %d" % index, BASE + index)
        if index in (39, 69):
            web.rotate(BASE + index + 1)  # the name says: every line before BASE+index+1
    boundary = stamp("tai64n", BASE + 40)
    _, out, _ = logs(capsysbinary, "--dir", web.path, "--since", boundary, "-o", "cat")
    assert texts(out) == ["line %d" % index for index in range(40, 100)]
    until = stamp("tai64n", BASE + 70)
    _, out, _ = logs(capsysbinary, "--dir", web.path, "--since", boundary, "--until", until,
                     "-o", "cat")
    assert texts(out) == ["line %d" % index for index in range(40, 71)]


def test_since_in_a_large_file_is_found_by_bisection(tmp_path, capsysbinary):
    web = LogDir(tmp_path / "web", "human")
    with open(str(web.current), "w") as handle:
        for index in range(50000):
            handle.write("%s line %d\n" % (stamp("human", BASE + index), index))
    since = stamp("tai64n", BASE + 49990)
    _, out, _ = logs(capsysbinary, "--dir", web.path, "--since", since, "-o", "cat")
    assert texts(out) == ["line %d" % index for index in range(49990, 50000)]


@pytest.mark.parametrize("kind", ["tai64n", "human", "iso"])
@pytest.mark.parametrize("late", [0, 700])
@pytest.mark.parametrize("unstamped", [None, "zz no stamp", "@ no stamp either"])
def test_since_in_a_large_file_finds_an_earlier_line_stamped_after_it(
        tmp_path, capsysbinary, kind, late, unstamped):
    """A clock stepped back inside ``current``: the bisection lands after the step, yet an
    earlier line — the first of the file, or one in its middle — is stamped after --since;
    the view then reads the file from its start, each line by its own stamp. An earlier
    line without a stamp that sorts after every stamp changes nothing (it takes the time of
    the line before it)."""
    web = LogDir(tmp_path / "web", kind)

    def write(lines):
        with open(str(web.current), "w") as handle:
            for index, at in enumerate(lines):
                handle.write("%s line %d\n" % (stamp(kind, at), index))
                if index == 300 and unstamped:
                    handle.write(unstamped + "\n")
    write([BASE + 1990 if index == late else BASE + index for index in range(2000)])
    since = stamp(kind, BASE + 1980)
    _, out, _ = logs(capsysbinary, "--dir", web.path, "--since", since, "-o", "cat")
    assert texts(out) == ["line %d" % late] + ["line %d" % index for index in range(1980, 2000)]
    write([BASE + index for index in range(2000)])  # the same, steady: from the bisection on
    _, out, _ = logs(capsysbinary, "--dir", web.path, "--since", since, "-o", "cat")
    assert texts(out) == ["line %d" % index for index in range(1980, 2000)]


def test_last_lines_reverse_and_grep(tmp_path, capsysbinary):
    web, db = LogDir(tmp_path / "web"), LogDir(tmp_path / "db")
    for index in range(50):
        (web if index % 2 else db).add("n%d" % index, BASE + index)
        if index % 9 == 8:
            web.rotate(BASE + index + 0.5)
    _, out, _ = logs(capsysbinary, "--dir", web.path, db.path, "-n", "5", "-o", "cat")
    assert texts(out) == ["n45", "n46", "n47", "n48", "n49"]
    _, out, _ = logs(capsysbinary, "--dir", web.path, db.path, "-n", "3", "-r", "-o", "cat")
    assert texts(out) == ["n49", "n48", "n47"]
    _, out, _ = logs(capsysbinary, "--dir", web.path, db.path, "-r", "-o", "cat")
    assert texts(out) == ["n%d" % index for index in reversed(range(50))]
    _, out, _ = logs(capsysbinary, "--dir", web.path, db.path, "--grep", "^n1[0-3]$",
                     "-o", "cat")
    assert texts(out) == ["n10", "n11", "n12", "n13"]


def test_short_and_json(tmp_path, capsysbinary):
    web = LogDir(tmp_path / "web")
    web.add("hello", BASE + 0.25)
    _, out, _ = logs(capsysbinary, "--dir", web.path, "--utc")
    # named by its service, not by the whole path (issue 44, item 17): the directory's name
    assert out == "Nov 14 22:13:20.250000 web: hello\n"
    _, out, _ = logs(capsysbinary, "--dir", web.path, "--utc", "-o", "json")
    record = json.loads(out)
    assert record == {"time": "2023-11-14T22:13:20.250000+00:00", "exact": True,
                      "stamp": stamp("tai64n", BASE + 0.25), "service": "web",
                      "tree": None, "line": "hello", "file": str(web.path / "current")}


def test_lines_without_stamps_are_placed_by_their_files_time_and_say_so(tmp_path,
                                                                        capsysbinary):
    plain, stamped = LogDir(tmp_path / "plain", kind=None), LogDir(tmp_path / "stamped")
    plain.add("old", 0)
    plain.rotate(BASE + 5)
    stamped.add("first", BASE + 1)
    stamped.add("after the rotation", BASE + 6)
    _, out, _ = logs(capsysbinary, "--dir", plain.path, stamped.path, "--utc")
    assert texts(out) == [
        "Nov 14 22:13:21.000000 stamped: first",
        "\u2264Nov 14 22:13:25.000000 plain: old",
        "Nov 14 22:13:26.000000 stamped: after the rotation"]
    # a line without a stamp in a stamped file takes the time of the line before it
    with open(str(stamped.current), "a") as handle:
        handle.write("no stamp here\n")
    _, out, _ = logs(capsysbinary, "--dir", stamped.path, "--utc")
    assert texts(out)[-1] == "\u2264Nov 14 22:13:26.000000 stamped: no stamp here"


def test_compressed_files_are_read_by_content_and_a_broken_one_is_skipped(tmp_path,
                                                                          capsysbinary):
    web = LogDir(tmp_path / "web")
    web.add("one", BASE + 1)
    web.rotate(BASE + 1.5, gzip_it=True)
    web.add("two", BASE + 2)
    broken = web.rotate(BASE + 2.5, gzip_it=True)
    broken.write_bytes(broken.read_bytes()[:-12])  # truncated
    web.add("three", BASE + 3)
    code, out, err = logs(capsysbinary, "--dir", web.path, "-o", "cat")
    assert code == 1
    assert texts(out)[0] == "one" and texts(out)[-1] == "three"
    assert err.count("\n") == 1 and broken.name in err


def test_a_long_line_and_binary_garbage_pass_through(tmp_path, capsysbinary):
    """Whole, one line each — a line of 60 KiB too, under the line bound (a longer one is
    cut: test_bounds.py): escaped by default (nothing acts on the terminal), the bytes as
    written with --raw."""
    web = LogDir(tmp_path / "web")
    huge = "x" * (60 << 10)
    web.add(huge, BASE + 1)
    garbage = bytes(range(256)).replace(b"\n", b"")
    with open(str(web.current), "ab") as handle:
        handle.write(stamp("tai64n", BASE + 2).encode() + b" " + garbage + b"\n")
    assert main(["logs", "--dir", str(web.path), "-o", "cat", "--raw"]) == 0
    out = capsysbinary.readouterr().out
    assert out == huge.encode() + b"\n" + garbage + b"\n"
    assert main(["logs", "--dir", str(web.path), "-o", "cat"]) == 0
    out = capsysbinary.readouterr().out
    assert out == (huge + "\n" + shown_line(os.fsdecode(garbage)) + "\n").encode()
    assert out.decode("ascii").split("\n")[1].startswith(r"\x00\x01") and out.count(b"\n") == 2
    assert main(["logs", "--dir", str(web.path), "-o", "json"]) == 0
    records = [json.loads(item) for item in capsysbinary.readouterr().out.splitlines()]
    assert records[0]["line"] == huge and len(records[1]["line"]) == 255


def test_an_unreadable_directory_is_one_line_and_exit_1_the_rest_shown(tmp_path, capsysbinary):
    web = LogDir(tmp_path / "web")
    web.add("readable", BASE)

    def refuse(path):
        raise PermissionError(13, "Permission denied", path)
    sources = [Source("secret", "/nowhere", opener=refuse), Source("web", str(web.path))]
    from runit_provision.logs.view import ReadProblem
    with pytest.raises(ReadProblem, match="/nowhere: permission denied"):
        list(sources[0].batches())
    chunks = list(merged([(sources[1], sources[1].batches())]))
    assert chunks[0].lines[0].endswith(b" readable")


def test_keys_bound_a_file_without_stamps_by_its_name(tmp_path):
    plain = LogDir(tmp_path / "plain", kind=None)
    plain.add("x", 0)
    plain.rotate(BASE + 5)
    source = Source("plain", str(plain.path))
    [batch] = [batch for batch in source.batches() if batch.lines]
    assert batch.keys == [key_from_ns((BASE + 5) * 10**9)] and batch.stamped == [False]


def test_gzip_helper_is_real_gzip(tmp_path):
    web = LogDir(tmp_path / "web")
    web.add("x", BASE)
    rotated = web.rotate(BASE + 1, gzip_it=True)
    assert gzip.decompress(rotated.read_bytes()).endswith(b" x\n") and os.path.exists(
        str(web.current))


@pytest.mark.parametrize("kind", ["tai64n", "human", "iso"])
def test_one_service_shown_without_times_is_the_merged_view_of_it(tmp_path, capsysbinary, kind):
    # one directory with -o cat reads no keys (files.py order is the view's order); the same
    # directory beside an empty one goes through the merge: the two must agree line for line
    web = LogDir(tmp_path / "web", kind=kind)
    for index in range(3000):
        web.add("line %d" % index, BASE + index * 0.5 - (50 if index == 1500 else 0))
        if index == 1000:
            web.rotate(BASE + index * 0.5 + 0.1)
    with open(str(web.current), "ab") as handle:
        handle.write(b"no stamp here\n2023-13-14_22:13:20.98765 a month 13\nshort\n\n")
        handle.write(stamp(kind, BASE + 9000).encode() + b" after them\n")
    _, alone, _ = logs(capsysbinary, "--dir", web.path, "-o", "cat")
    _, beside, _ = logs(capsysbinary, "--dir", web.path, tmp_path / "empty", "-o", "cat")
    assert alone == beside
    shown = texts(alone)
    assert shown[:3] == ["line 0", "line 1", "line 2"] and shown[1500] == "line 1500"
    assert shown[-5:] == ["no stamp here", "2023-13-14_22:13:20.98765 a month 13", "short", "",
                          "after them"]
    assert len(shown) == 3005


def test_equal_times_across_a_file_boundary_keep_the_services_order_then_the_files(
        tmp_path, capsysbinary):
    """A file's last line and the next file's first stamped alike, another service's line at
    that time too: the first service's two lines, then the other's — as within one file
    (the merge's bound falls between two batches there)."""
    first, second = LogDir(tmp_path / "a", "tai64n"), LogDir(tmp_path / "b", "human")
    first.add("a1", BASE + 1)
    first.add("a2", BASE + 2)
    first.rotate(BASE + 2.5)
    first.add("a2 again, the next file", BASE + 2)
    first.add("a3", BASE + 3)
    second.add("b2", BASE + 2)
    second.add("b3", BASE + 3)
    code, out, _ = logs(capsysbinary, "--dir", first.path, second.path, "-o", "cat")
    assert code == 0 and texts(out) == ["a1", "a2", "a2 again, the next file", "b2", "a3",
                                        "b3"]
    _, out, _ = logs(capsysbinary, "--dir", second.path, first.path, "-o", "cat")
    assert texts(out) == ["a1", "b2", "a2", "a2 again, the next file", "b3", "a3"]
    _, out, _ = logs(capsysbinary, "--dir", first.path, second.path, "-o", "cat", "-r")
    assert texts(out) == ["a3", "b3", "a2 again, the next file", "a2", "b2", "a1"]


def test_runs_across_files_and_blocks_interleave_with_an_unfinished_last_line(
        tmp_path, capsysbinary):
    """Runs of one service's lines (bursts) between the other's, across its rotated files and
    the reader's blocks (64 KiB), and a ``current`` whose last line has no newline yet: every
    line once, in time order, the unfinished one last."""
    burst, steady = LogDir(tmp_path / "burst", "human"), LogDir(tmp_path / "steady")
    expected = []
    for second in range(200):
        steady.add("steady %d" % second, BASE + second)
        expected.append((BASE + second, 1, "steady %d" % second))
        if second % 10 == 5:
            for index in range(300):  # ~15 kB a burst: blocks end inside bursts
                at = BASE + second + 0.1 + index * 1e-4
                burst.add("burst %d.%d %s" % (second, index, "x" * 20), at)
                expected.append((at, 0, "burst %d.%d %s" % (second, index, "x" * 20)))
        if second in (60, 140):
            burst.rotate(BASE + second + 0.5)
    with open(str(steady.current), "a") as handle:
        handle.write(stamp("tai64n", BASE + 500) + " unfinished")
    expected.append((BASE + 500, 1, "unfinished"))
    code, out, _ = logs(capsysbinary, "--dir", burst.path, steady.path, "-o", "cat")
    assert code == 0 and texts(out) == [text for _, _, text in sorted(expected)]
