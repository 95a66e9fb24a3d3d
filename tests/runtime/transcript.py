"""The transcript runner: a shell script run against one implementation, output normalised.

A transcript is ``transcripts/NAME.sh`` with the expected combined stdout+stderr in
``NAME.out`` (runit's own ``*.check`` / ``*.dist`` style). It runs under ``env -`` with PATH
starting at a directory of links to one implementation's tools, ``$ctmp`` a fresh scratch
directory, in its own PID namespace so that nothing it started survives it.
"""

import os
import re
import shutil
import signal
import subprocess

# Things that legitimately differ between runs: pids, elapsed seconds, and svlogd's stamps
# (TAI64N labels — also in rotated file names — and -tt/-ttt dates).
_NORMALISERS = (
    (re.compile(r"\(pid \d+\)"), "(pid N)"),
    (re.compile(r"(: |\) )\d+s\b"), r"\1Ns"),
    (re.compile(r"@4000[0-9a-f]{20}"), "@TAI64N"),
    (re.compile(r"\b\d{4}-\d\d-\d\d([_T])\d\d:\d\d:\d\d\.\d{5}\b"), r"DATE\1TIME"),
)


def normalise(text):
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return text


def _namespace_prefix():
    # A PID namespace whose init is the transcript's shell: when it exits, the kernel kills
    # every process left in it, so a failing transcript cannot leak a runsv.
    unshare = shutil.which("unshare")
    if unshare and os.geteuid() == 0:
        return [unshare, "--pid", "--fork", "--kill-child"]
    return []


def run_transcript(script, bin_dir, scratch, timeout=120):
    """Run one transcript; return its normalised combined output."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % bin_dir, "ctmp": str(scratch)}
    argv = _namespace_prefix() + ["/bin/sh", str(script)]
    proc = subprocess.Popen(argv, env=env, cwd=str(scratch), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return normalise(out.decode("utf-8", "replace"))
