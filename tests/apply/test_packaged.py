"""A service directory a package installed (Debian's runit-helper marks it with ``.meta/``) is
never overwritten, purged or removed unless the data says ``adopt: true``: plan says what it
leaves alone and which package owns it; only the link (enabled or not) is apply's."""

import os

import pytest

from runit_provision.cli.main import main

from .helpers import staged_root

PACKAGED_RUN = "#!/usr/bin/env /lib/runit/invoke-run\nexec cron -f\n"


@pytest.fixture
def root(tmp_path):
    root = staged_root(tmp_path)
    service = root / "etc" / "sv" / "cron"
    (service / ".meta").mkdir(parents=True)
    (service / ".meta" / "pkg").write_text("runit-services")
    (service / "run").write_text(PACKAGED_RUN)
    (service / "finish").write_text("#!/bin/sh\nsleep 1\n")
    for name in ("run", "finish"):
        (service / name).chmod(0o755)
    return root


def converge(root, tmp_path, service, verb="apply"):
    data = tmp_path / "data.yaml"
    data.write_text("runit:\n  init: none\n  runtime: system\n  services:\n    cron: %s\n"
                    % service)
    return main([verb, "--data", str(data), "--root", str(root), "--profile-d", "none"])


def test_a_packages_directory_is_left_alone_and_said(root, tmp_path, capsys):
    assert converge(root, tmp_path, "{command: /usr/sbin/cron -f, log: false}", "plan") == 2
    out = capsys.readouterr().out  # 2: the link is apply's to make
    assert ("/etc/sv/cron/run: left alone (content): owned by package runit-services; "
            "adopt: true manages it anyway") in out
    assert converge(root, tmp_path, "{command: /usr/sbin/cron -f, log: false}") == 0
    service = root / "etc" / "sv" / "cron"
    assert (service / "run").read_text() == PACKAGED_RUN  # not overwritten
    assert (service / "finish").exists()  # not purged
    assert os.readlink(str(root / "etc" / "service" / "cron")) == "/etc/sv/cron"  # linked


def test_adopt_true_manages_it(root, tmp_path, capsys):
    assert converge(root, tmp_path, "{command: /usr/sbin/cron -f, log: false, adopt: true}") \
        == 0
    service = root / "etc" / "sv" / "cron"
    assert (service / "run").read_text().endswith("exec /usr/sbin/cron -f\n")
    assert not (service / "finish").exists()
    assert (service / ".meta" / "pkg").exists()  # not a name runsv reads: never touched


def test_ensure_absent_unlinks_but_keeps_a_packages_directory(root, tmp_path, capsys):
    os.makedirs(str(root / "etc" / "service"))
    os.symlink("/etc/sv/cron", str(root / "etc" / "service" / "cron"))
    assert converge(root, tmp_path, "{command: /usr/sbin/cron -f, ensure: absent}") == 0
    assert not os.path.lexists(str(root / "etc" / "service" / "cron"))
    assert (root / "etc" / "sv" / "cron" / "run").read_text() == PACKAGED_RUN


def test_an_imported_packages_service_plans_nothing(root, tmp_path, capsys):
    (root / "etc" / "service").mkdir()  # the tree's own directory: apply would make it
    imported = tmp_path / "imported.yaml"
    assert main(["import", "--root", str(root), "/etc/sv", "--out", str(imported)]) == 0
    text = imported.read_text().replace("runit:\n", "runit:\n  init: none\n  runtime: system\n",
                                        1)
    imported.write_text(text)
    capsys.readouterr()
    assert main(["plan", "--data", str(imported), "--root", str(root), "--profile-d",
                 "none"]) == 0
    assert "left alone" not in capsys.readouterr().out
