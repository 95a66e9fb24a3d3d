"""The canonical ``log/run`` (protocol/canonical.py): which scripts a tree hosts itself — the
svlogd form in simple words, nothing else — and the text the generator writes."""

import doctest

import pytest

from runit_provision.protocol import canonical as logrun
from runit_provision.protocol.canonical import LogRun, is_simple_word, log_run_from_bytes, log_run_text


@pytest.mark.parametrize("text, expected", [
    (b"#!/bin/sh\nexec svlogd -tt ./main\n", LogRun(None, None, ["-tt", "./main"])),
    (b"#!/bin/sh\nexec svlogd main\n", LogRun(None, None, ["main"])),
    (b"#!/bin/sh\nexec /usr/bin/svlogd -t /var/log/web\n",
     LogRun(None, None, ["-t", "/var/log/web"])),
    (b"#!/bin/sh\nexec chpst -u www svlogd -tt ./main\n",
     LogRun("chpst", "www", ["-tt", "./main"])),
    (b"#!/bin/sh\nexec chpst -uwww:adm:log svlogd ./main\n",
     LogRun("chpst", "www:adm:log", ["./main"])),
    (b"#!/bin/sh\nexec /usr/bin/chpst -u :1000:1000 /usr/bin/svlogd ./a ./b\n",
     LogRun("/usr/bin/chpst", ":1000:1000", ["./a", "./b"])),
    # comments, blank lines and surrounding blanks are not shell
    (b"#!/bin/sh\n# written by runit-provision\n\n  exec svlogd -tt ./main  \n\n",
     LogRun(None, None, ["-tt", "./main"])),
    (b"#! /bin/sh\nexec svlogd ./main", LogRun(None, None, ["./main"])),
    (b"#!/bin/sh\nexec svlogd\n", LogRun(None, None, [])),  # svlogd's usage error is svlogd's
])
def test_canonical_forms(text, expected):
    assert log_run_from_bytes(text) == expected


@pytest.mark.parametrize("text", [
    b"",
    b"exec svlogd ./main\n",                               # no shebang
    b"#!/bin/bash\nexec svlogd ./main\n",                  # another shell
    b"#!/bin/sh -e\nexec svlogd ./main\n",                 # shell options
    b"#!/bin/sh\r\nexec svlogd ./main\r\n",                # CRLF: no /bin/sh\r to exec
    b"#!/bin/sh\nsvlogd ./main\n",                         # not exec'd
    b"#!/bin/sh\nexec 2>&1\nexec svlogd ./main\n",         # two commands
    b"#!/bin/sh\nexec svlogd ./main 2>/dev/null\n",        # a redirection
    b"#!/bin/sh\nexec svlogd \"./main\"\n",                # quotes
    b"#!/bin/sh\nexec svlogd $LOGDIR\n",                   # a variable
    b"#!/bin/sh\nexec svlogd ./main*\n",                   # a glob
    b"#!/bin/sh\nexec svlogd ~/logs\n",                    # tilde expansion
    b"#!/bin/sh\nexec svlogd ./main; echo bye\n",          # a second command
    b"#!/bin/sh\nexec svlogd ./main # comment\n",          # an inline comment
    b"#!/bin/sh\nexec svlogd `pwd`\n",                     # command substitution
    b"#!/bin/sh\nexec env A=1 svlogd ./main\n",            # another program in front
    b"#!/bin/sh\nexec chpst -e ./env svlogd ./main\n",     # other chpst options
    b"#!/bin/sh\nexec chpst -u www -e ./env svlogd ./m\n",
    b"#!/bin/sh\nexec chpst svlogd ./main\n",              # chpst without -u
    b"#!/bin/sh\nexec chpst -u\n",
    b"#!/bin/sh\nexec cat >/dev/null\n",                   # not svlogd at all
    b"#!/bin/sh\nexec multilog t ./main\n",
    b"#!/bin/sh\nexec svlogd-wrapper ./main\n",
    "#!/bin/sh\nexec svlogd ./journal-é\n".encode(),       # not a simple word
])
def test_anything_else_runs_as_a_process(text):
    assert log_run_from_bytes(text) is None


def test_doctests():
    assert doctest.testmod(logrun).failed == 0


@pytest.mark.parametrize("user, args", [
    (None, ["-tt", "/var/log/web"]),
    ("www-data:adm", ["-t", "-l", "2000", "/var/log/x"]),
    (":1000:1000", ["./main", "./other"]),
])
def test_the_builder_writes_what_the_parser_reads_back(user, args):
    parsed = log_run_from_bytes(log_run_text(args, user=user).encode())
    assert parsed == LogRun("chpst" if user else None, user, args)


@pytest.mark.parametrize("word", ["/var/log/my web", "$LOGDIR", "it's", "a\nb", "-t;x", ""])
def test_the_builder_refuses_what_would_need_quoting(word):
    assert not is_simple_word(word)
    with pytest.raises(ValueError):
        log_run_text([word])
