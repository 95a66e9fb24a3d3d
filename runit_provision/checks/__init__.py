"""checks: testinfra verification — ``runit-provision verify``'s checks and a runit helper for
users' own tests. Imports nothing on its own (testinfra is the caller's, never imported here).

``hostprobe.py``/``hostprobe.sh`` read a host in one command; ``snapshot.py`` sends them and
parses what they print (``svstatus.py``: sv's status line, the sh probe's fallback);
``service.py``: ``RunitService``/``RunitTree``; ``plugin.py``: the opt-in pytest fixtures;
``expected.py``: data + rendered tree -> checks; ``verify.py``: the checks run on a host;
``report.py``: their outcomes as JUnit XML; ``exposure.py``: a service's security exposure,
scored from the data alone (``verify --security``).
"""
