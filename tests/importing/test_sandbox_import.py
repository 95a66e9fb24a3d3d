"""``import --systemd``: systemd's hardening settings carried into the service's ``sandbox``
(docs/import.md, docs/sandbox.md); what the data cannot say as systemd does refused, or
dropped with ``--drop-unsupported``, each at its ``file:line``."""

import pytest

from runit_provision.importing.sandbox_keys import capability_set
from runit_provision.importing.systemd import parse_unit, translate
from runit_provision.protocol.process.sandbox import CAPABILITIES

WHERE = "/etc/systemd/system/web.service"


def unit_of(lines, name="web.service"):
    return parse_unit(name, [("/etc/systemd/system/" + name,
                              "[Service]\nExecStart=/usr/bin/web\n" + lines)])


def sandbox_of(lines, name="web.service"):
    result = translate(unit_of(lines, name))
    assert result.refusals == [], result.refusals
    return result.data.get("sandbox")


@pytest.mark.parametrize("lines, sandbox", [
    ("NoNewPrivileges=yes\n", {"no_new_privileges": True}),
    ("PrivateTmp=true\n", {"private_tmp": True}),
    ("PrivateTmp=disconnected\n", {"private_tmp": True}),
    ("PrivateDevices=on\n", {"private_devices": True}),
    ("PrivateNetwork=1\n", {"private_network": True}),
    ("ProtectSystem=yes\n", {"protect_system": True}),
    ("ProtectSystem=full\n", {"protect_system": "full"}),
    ("ProtectSystem=strict\n", {"protect_system": "strict"}),
    ("ProtectHome=true\n", {"protect_home": True}),
    ("ProtectHome=read-only\n", {"protect_home": "read-only"}),
    ("ProtectHome=tmpfs\n", {"protect_home": "tmpfs"}),
    ("ReadWritePaths=/var/lib/web -/run/web\nReadWritePaths=/srv\n",
     {"read_write_paths": ["/var/lib/web", "-/run/web", "/srv"]}),
    ("ReadOnlyPaths=/etc/web/\n", {"read_only_paths": ["/etc/web"]}),
    ("InaccessiblePaths=-/var//secret/./x \"/srv/a b\"\n",
     {"inaccessible_paths": ["-/var/secret/x", "/srv/a b"]}),
    ("ProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectControlGroups=yes\n",
     {"protect_kernel": True}),
    ("CapabilityBoundingSet=CAP_NET_BIND_SERVICE cap_chown\n",
     {"capabilities": ["chown", "net_bind_service"]}),
    ("CapabilityBoundingSet=\n", {"capabilities": []}),
])
def test_each_setting_becomes_its_sandbox_key(lines, sandbox):
    assert sandbox_of(lines) == sandbox


def test_off_reset_or_unset_writes_nothing():
    """``no``, an empty assignment after ``yes``, ``ProtectSystem=no``, a ``~`` alone: each
    is systemd's default, and no ``sandbox`` key is written."""
    assert sandbox_of("NoNewPrivileges=no\nPrivateTmp=yes\nPrivateTmp=\nProtectSystem=no\n"
                      "ProtectHome=false\nReadWritePaths=/srv\nReadWritePaths=\n"
                      "CapabilityBoundingSet=~\nProtectClock=no\nSystemCallFilter=\n") is None


def test_the_path_lists_take_the_specifiers_and_the_plus_prefix_is_noted():
    result = translate(unit_of("ReadWritePaths=%S/%i +/var/cache/%p\n", "web@blue.service"))
    assert result.data["sandbox"] == {"read_write_paths": ["/var/lib/blue", "/var/cache/web"]}
    assert "%s:3: ReadWritePaths=+/var/cache/web: the + prefix (a path under " \
           "RootDirectory=) is the host's path here" % WHERE.replace("web.", "web@blue.") \
        in result.notes


def test_capability_lines_merge_as_systemds():
    """Several lines OR together; ``~`` is all but those on the first line, AND NOT after;
    an empty line resets to the empty set, ``~`` alone to all, and the line after either
    replaces."""
    def caps(text):
        found, _where = capability_set(unit_of(text), "CapabilityBoundingSet", None)
        return found if found is None else sorted(found)
    assert caps("") is None
    assert caps("CapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=CAP_KILL\n") == \
        ["chown", "kill"]
    assert caps("CapabilityBoundingSet=~CAP_SYS_ADMIN CAP_SYS_MODULE\n") == sorted(
        set(CAPABILITIES) - {"sys_admin", "sys_module"})
    assert caps("CapabilityBoundingSet=CAP_CHOWN CAP_KILL\nCapabilityBoundingSet=~CAP_KILL\n") \
        == ["chown"]
    assert caps("CapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=\n") == []
    assert caps("CapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=\n"
                "CapabilityBoundingSet=CAP_KILL\n") == ["kill"]
    assert caps("CapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=~\n"
                "CapabilityBoundingSet=CAP_KILL\n") == ["kill"]
    assert sandbox_of("CapabilityBoundingSet=~CAP_SYS_ADMIN\n")["capabilities"] == [
        name for name in CAPABILITIES if name != "sys_admin"]


def test_a_user_holds_its_ambient_capabilities_and_root_its_bounding_set():
    """One list: for a service run as a user, the ambient set (its bounding set narrowed to
    it, noted unless no new privileges make that moot); for root, the bounding set."""
    lines = "User=www\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_RAW\n" \
            "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
    result = translate(unit_of(lines))
    assert result.data["sandbox"] == {"capabilities": ["net_bind_service"]}
    assert "%s:4: the bounding set of www is its ambient capabilities (net_bind_service): a " \
           "set-user-id program it runs gains no more, as under systemd it could" % WHERE \
        in result.notes
    quiet = translate(unit_of(lines + "NoNewPrivileges=yes\n"))
    assert quiet.data["sandbox"]["capabilities"] == ["net_bind_service"]
    assert not any("bounding set of" in note for note in quiet.notes)
    assert sandbox_of("User=www\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n") == {
        "capabilities": ["net_bind_service"]}
    assert sandbox_of("User=www\nCapabilityBoundingSet=CAP_NET_RAW\n") == {"capabilities": []}
    root = translate(unit_of("CapabilityBoundingSet=CAP_NET_RAW CAP_KILL\n"
                             "AmbientCapabilities=CAP_KILL\n"))
    assert root.data["sandbox"] == {"capabilities": ["kill", "net_raw"]}
    assert "%s:4: AmbientCapabilities= of a service run as root: it holds its bounding set " \
           "anyway" % WHERE in root.notes


@pytest.mark.parametrize("lines, reason", [
    ("User=www\nCapabilityBoundingSet=CAP_NET_RAW\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n",
     "%s:5: AmbientCapabilities=net_bind_service outside the bounding set (%s:4): the data "
     "has one list for both" % (WHERE, WHERE)),
    ("ProtectKernelModules=yes\nProtectControlGroups=yes\n",
     "%s:4: ProtectKernelModules=yes, ProtectControlGroups=yes without ProtectKernelTunables=: "
     "protect_kernel is one setting for the three, and would also make read-only or refuse "
     "what this service may need" % WHERE),
    ("User=www\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nEnvironmentFile=/etc/default/web\n",
     "%s:4: capabilities of a service run as www from a run script: the script switches "
     "user with chpst inside the sandbox, which that bounding set forbids, and keeps none"
     % WHERE),
    ("User=www\nCapabilityBoundingSet=CAP_KILL\nEnvironmentFile=/etc/default/web\n",
     "%s:4: capabilities of a service run as www from a run script" % WHERE),
    ("RuntimeDirectory=web\nProtectSystem=strict\n",
     "%s:4: ProtectSystem=strict with RuntimeDirectory=: the run script makes the directory "
     "inside the sandbox, where /run is read-only" % WHERE),
    ("SystemCallFilter=@system-service\n",
     "%s:3: SystemCallFilter=@system-service: a seccomp filter: not built (docs/design.md, "
     "\"Seccomp: not built\")" % WHERE),
    ("SystemCallArchitectures=native\n", "%s:3: SystemCallArchitectures=native: a seccomp" % WHERE),
    ("RestrictAddressFamilies=AF_UNIX\n", "%s:3: RestrictAddressFamilies=AF_UNIX: a seccomp"
     % WHERE),
    ("MemoryDenyWriteExecute=yes\n", "%s:3: MemoryDenyWriteExecute=yes: a seccomp" % WHERE),
    ("LockPersonality=yes\n", "%s:3: LockPersonality=yes: a seccomp" % WHERE),
    ("ProtectHostname=yes\n", "%s:3: ProtectHostname=yes: a hardening setting the sandbox has "
     "not (docs/sandbox.md lists what it has)" % WHERE),
    ("RestrictNamespaces=yes\n", "%s:3: RestrictNamespaces=yes: a hardening setting" % WHERE),
    ("DynamicUser=yes\n", "%s:3: DynamicUser=yes: a user made for each start" % WHERE),
])
def test_what_the_sandbox_cannot_say_is_refused_and_dropped_leniently(lines, reason):
    strict = translate(unit_of(lines))
    assert strict.data is None
    assert any(refusal.startswith(reason) for refusal in strict.refusals), strict.refusals
    lenient = translate(unit_of(lines), drop_unsupported=True)
    assert lenient.refusals == [] and lenient.data is not None
    assert any(dropped.startswith(reason) for dropped in lenient.dropped), lenient.dropped


def test_a_user_run_script_with_no_new_privileges_needs_no_bounding_set():
    """A run script switches user with chpst inside the sandbox; a user that holds no
    capability and gains none there needs no bounding set: none is written, and said."""
    result = translate(unit_of("User=www\nEnvironmentFile=/etc/default/web\n"
                               "AmbientCapabilities=\nCapabilityBoundingSet=\n"
                               "NoNewPrivileges=yes\n"))
    assert result.data["sandbox"] == {"no_new_privileges": True}
    assert "%s:6: no capabilities written for www, run from a run script (whose chpst needs " \
           "setuid and setgid): with no new privileges it holds none and gains none" % WHERE \
        in result.notes


def test_what_is_dropped_is_not_in_the_sandbox():
    """Leniently, a dropped setting is gone from the data, the rest of the sandbox kept."""
    result = translate(unit_of("RuntimeDirectory=web\nProtectSystem=strict\nPrivateTmp=yes\n"
                               "User=www\nCapabilityBoundingSet=CAP_KILL\n"
                               "AmbientCapabilities=CAP_NET_RAW\nProtectKernelModules=yes\n"),
                       drop_unsupported=True)
    assert result.data["sandbox"] == {"private_tmp": True}
    assert len(result.dropped) == 3, result.dropped


def test_a_path_private_tmp_hides_is_not_carried_and_said():
    """systemd fails the start on a required path under /tmp or /var/tmp beside
    ``PrivateTmp=`` and skips an optional one; the schema refuses both. The required one is
    unsupported (refused, or dropped leniently), the optional one left out with a note: the
    data written is data the schema takes."""
    lines = "PrivateTmp=yes\nReadWritePaths=/srv/web -/tmp/cache\nReadOnlyPaths=/var/tmp/in\n"
    strict = translate(unit_of(lines))
    assert strict.data is None and strict.refusals == [
        "%s:5: ReadOnlyPaths=/var/tmp/in with PrivateTmp=: private_tmp replaces /var/tmp with "
        "an empty one of the service's own (as systemd's PrivateTmp= hides /tmp and /var/tmp): "
        "the host's /var/tmp/in is not there when the service starts; keep private_tmp or the "
        "path, not both, and systemd fails the start on it" % WHERE]
    lenient = translate(unit_of(lines), drop_unsupported=True)
    assert lenient.data["sandbox"] == {"private_tmp": True, "read_write_paths": ["/srv/web"]}
    assert lenient.dropped == strict.refusals
    assert any(note.startswith("%s:4: ReadWritePaths=-/tmp/cache left out: private_tmp "
                               "replaces /tmp" % WHERE) and note.endswith("systemd skips it too")
               for note in lenient.notes), lenient.notes
    assert sandbox_of("ReadWritePaths=/tmp/cache\n") == {"read_write_paths": ["/tmp/cache"]}


@pytest.mark.parametrize("lines, reason", [
    ("NoNewPrivileges=maybe\n", "%s:3: NoNewPrivileges=maybe: not a boolean" % WHERE),
    ("ProtectSystem=everything\n", "%s:3: ProtectSystem=everything: unknown" % WHERE),
    ("ReadWritePaths=var/lib/web\n", "%s:3: ReadWritePaths=var/lib/web: not an absolute" % WHERE),
    ("ReadWritePaths=/srv/../etc\n", "%s:3: ReadWritePaths=/srv/../etc: not an absolute, "
     "normalised path" % WHERE),
    ("ReadOnlyPaths=/etc/%z\n", "%s:3: ReadOnlyPaths=/etc/%%z: the specifier %%z" % WHERE),
    ("CapabilityBoundingSet=CAP_FLYING\n", "%s:3: CapabilityBoundingSet=CAP_FLYING: unknown "
     "capability: CAP_FLYING" % WHERE),
])
def test_a_value_that_cannot_be_read_is_refused_even_leniently(lines, reason):
    for lenient in (False, True):
        result = translate(unit_of(lines), drop_unsupported=lenient)
        assert result.data is None
        assert any(refusal.startswith(reason) for refusal in result.refusals), result.refusals


def test_a_hardened_unit_keeps_what_the_sandbox_has_and_drops_seccomp_by_name():
    """A unit as the corpus's are: the sandbox carried, in the protocol's order, with the
    seccomp and other settings named as dropped at their lines."""
    result = translate(unit_of(
        "User=www\nNoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\n"
        "PrivateTmp=yes\nReadWritePaths=/var/lib/web\nProtectKernelTunables=yes\n"
        "ProtectKernelModules=yes\nProtectControlGroups=yes\nCapabilityBoundingSet=\n"
        "SystemCallFilter=@system-service\nSystemCallArchitectures=native\n"
        "RestrictRealtime=yes\n"), drop_unsupported=True)
    assert result.data["sandbox"] == {
        "no_new_privileges": True, "capabilities": [], "private_tmp": True,
        "protect_system": "strict", "protect_home": True,
        "read_write_paths": ["/var/lib/web"], "protect_kernel": True}
    assert list(result.data["sandbox"])[:2] == ["no_new_privileges", "capabilities"]
    assert [line.split(": ")[1] for line in result.dropped] == [
        "SystemCallFilter=@system-service", "SystemCallArchitectures=native",
        "RestrictRealtime=yes"]
    assert [line.split(": ")[0] for line in result.dropped] == [
        "%s:%d" % (WHERE, number) for number in (13, 14, 15)]


HARDENED = """[Service]
ExecStart=/usr/bin/web --port 80
User=www
NoNewPrivileges=yes
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
ReadWritePaths=-/var/lib/web
"""


def test_the_imported_sandbox_validates_and_renders_its_file_and_run(tmp_path):
    """The round trip: the YAML import writes is data the schema reads, and render writes
    the service's sandbox file and a ./run that execs sandbox-run, which switches the user."""
    from runit_provision.cli.main import main
    unit = tmp_path / "web.service"
    unit.write_text(HARDENED)
    out = tmp_path / "services.yaml"
    assert main(["import", "--systemd", str(unit), "--out", str(out)]) == 0
    assert main(["render", "--data", str(out), "--out", str(tmp_path / "rendered")]) == 0
    service = next((tmp_path / "rendered").rglob("web/sandbox")).parent
    assert (service / "sandbox").read_bytes() == (
        b"sandbox 1 no_new_privileges capabilities=net_bind_service private_tmp "
        b"protect_system=strict protect_home=read-only read_write_paths=-/var/lib/web\n")
    run = (service / "run").read_text()
    assert "exec sandbox-run ./sandbox -u www /usr/bin/web --port 80\n" in run, run
