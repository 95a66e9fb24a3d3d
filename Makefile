# Everything runs from a project-local virtualenv that `make` creates on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test test-fast test-mutants test-pythons test-debian13 test-debian14 test-vm demo bench clean

# The tests start the CLI and the runtime's tools as processes, thousands of times: each
# imports its modules from their cached bytecode, as on a host, whatever the caller's
# environment says (PYTHONDONTWRITEBYTECODE would make every start compile them again).
unexport PYTHONDONTWRITEBYTECODE

# Five workers on two cores: most tests wait on real processes (measured: a load of 3–6 with
# five), and the tests that share something of the machine run in one worker, one after
# another (docs/testing.md#parallel). WORKERS=0: serial.
WORKERS ?= 5

test: $(STAMP)
	$(BIN)/python -m pytest -q -rs --durations=25 -n $(WORKERS)

# Every pure test: no real processes, no C runit, no Puppet (the cost markers in pyproject.toml).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not interop and not puppet"

# The mutation tier: mutmut mutates the pure rooms (its config in pyproject.toml) and runs the
# fast tests that reach each mutant; every mutant that lives is listed at the end. Long: not in
# `make test` nor .ci/run (docs/testing.md#mutation-tier). MUTANTS: name patterns, e.g.
# MUTANTS='runit_provision.protocol.backoff.*'; none: every mutant of the pure rooms.
MUTANTS ?=
test-mutants: $(VENV)/.mutation
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results | grep -v ': not checked$$' || true

$(VENV)/.mutation: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,mutation]'
	touch $@

# The pure tier under every other supported CPython here, the runtime's tier under the oldest
# and the newest, each in a .venv-X.Y of its own
# (tests/other_pythons.py; docs/testing.md#pythons). .ci/run runs it after `make test`.
test-pythons: $(STAMP)
	$(BIN)/python tests/other_pythons.py

# The runtime (against runit 2.2.0), a user's tree, the demo and the Puppet module's apply tier
# (Puppet 8) in a Debian 13 root under its own python3, made by debootstrap and cached
# (tests/debian.py; docs/testing.md#debian-13). .ci/run runs it after test-pythons.
test-debian13: $(STAMP)
	$(BIN)/python tests/debian.py --release 13

# The same in a Debian 14 root: CPython 3.14, runit 2.3.1, OpenVox 9 (docs/testing.md#debian-14).
test-debian14: $(STAMP)
	$(BIN)/python tests/debian.py --release 14

# tests/vm/ in a VM whose PID 1 is systemd and whose one cgroup hierarchy is v2 (qemu, TCG),
# booted from a Debian 13 image made once and cached (tests/vm_tier.py;
# docs/testing.md#the-vm-tier). .ci/run runs it after test-pythons.
test-vm: $(STAMP)
	$(BIN)/python tests/vm_tier.py

demo: $(STAMP)
	$(BIN)/python -m runit_provision.cli.main demo

bench: $(STAMP)
	$(BIN)/python bench/run.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .venv-*/ .pytest_cache mutants
