"""protocol: runit's layout names — the doctests, and the paths clients use built from them."""

import doctest

from runit_provision.protocol import layout


def test_doctests():
    assert doctest.testmod(layout).failed == 0


def test_client_paths_are_under_supervise():
    assert (layout.OK_FIFO, layout.CONTROL_FIFO, layout.STATUS_FILE) == (
        "supervise/ok", "supervise/control", "supervise/status")
    assert all(layout.is_runtime_owned(layout.SUPERVISE_DIR + "/" + name)
               for name in layout.SUPERVISE_FILES)


def test_chpst_e_acts_on_every_name_of_env_and_the_env_directory_counts():
    """A service whose ./run reads ``env/`` (chpst -e): ``env`` is one of its names, and
    every entry below it counts, as every entry of ``control/`` does; without a logger, no
    ``log/`` scope."""
    scopes = layout.acted_on("/etc/sv/web", has_log=False, has_env=True)
    assert set(scopes) == {"/etc/sv/web", "/etc/sv/web/control", "/etc/sv/web/env"}
    assert layout.ENV_DIR in scopes["/etc/sv/web"]
    assert scopes["/etc/sv/web/env"] is None and scopes["/etc/sv/web/control"] is None
    assert layout.ENV_DIR not in layout.acted_on("/etc/sv/web", False, False)["/etc/sv/web"]


def test_a_directory_ending_in_any_letter_keeps_it():
    """Only a trailing "/" is taken off before a name is added."""
    assert layout.path_in("/home/X", "sv") == "/home/X/sv"
    assert layout.path_in("/srv/XX//", layout.LOG_DIR) == "/srv/XX/log"


def test_runits_flag_files_are_debians_unless_the_environment_names_others():
    assert layout.runit_flag_paths({}) == ("/run/runit.stopit", "/run/runit.reboot")
    assert layout.runit_flag_paths({"RUNIT_STOPIT": "/tmp/s", "RUNIT_REBOOT": "/tmp/r"}) == (
        "/tmp/s", "/tmp/r")
    assert layout.runit_flag_paths({"RUNIT_REBOOT": "/tmp/r"}) == ("/run/runit.stopit",
                                                                   "/tmp/r")


def test_only_supervise_and_a_timers_stamp_are_runsvs():
    """A name is runsv's by its exact first part: one padded, or with letters around it, is
    the service's own."""
    assert layout.is_runtime_owned("/supervise/pid/") and layout.is_runtime_owned("log/supervise")
    assert not any(layout.is_runtime_owned(name) for name in (
        " supervise/pid", "Xsupervise/pid", "log/Xsupervise"))


HEX = "400000005f5e10002a3b4c5d"


def test_a_rotated_log_is_at_a_tai64n_stamp_of_24_hex_digits_and_s_or_u():
    assert layout.is_svlogd_owned("@" + HEX + ".s") and layout.is_svlogd_owned(
        "@" + HEX.upper() + ".u")
    assert not any(layout.is_svlogd_owned(name) for name in (
        "abc", "x", "@" + HEX[1:] + ".s", "x" + HEX + ".s", "@" + HEX + ".x",
        "@g" + HEX[1:] + ".s", "@" + HEX[:1] + "g" * 23 + ".s", "@" + HEX[:23] + "g.s",
        "@" + "X" * 24 + ".s"))


def test_a_host_without_procs_boot_id_says_unknown_and_reads_it_once(monkeypatch):
    """What a needs guard that could not read it writes too (templates/needs-done.j2): a
    reader never takes ``unknown`` for this boot's."""
    opened = []

    def no_proc(path, *args):
        opened.append(path)
        raise FileNotFoundError(2, "No such file or directory", path)

    monkeypatch.setattr(layout, "_boot_id", None)
    monkeypatch.setattr(layout, "open", no_proc, raising=False)
    assert (layout.boot_id(), layout.boot_id()) == ("unknown", "unknown")
    assert opened == ["/proc/sys/kernel/random/boot_id"]
