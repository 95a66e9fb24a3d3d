"""hiera: the facts a hierarchy is interpolated with — from this host, or from a facts file.

Host facts are the ones hiera hierarchies commonly use, gathered with the standard library
(no facter, no subprocess; bench/RESULTS.md row 71): ``hostname``, ``domain``, ``fqdn``,
``networking.{hostname,domain,fqdn,ip}``, ``os.{family,name,release.{major,minor,full},
distro.codename,architecture,hardware}``, ``kernel``, ``kernelrelease``, ``kernelversion``,
``kernelmajversion``, ``architecture``, ``hardwaremodel``, ``processors.count``, ``timezone``,
and Puppet 7's legacy flat names (``osfamily``, ``operatingsystem``,
``operatingsystemrelease``, ``operatingsystemmajrelease``, ``ipaddress``) for
``%{::osfamily}`` hierarchies.

A facts file (YAML or JSON, as ``puppet lookup --facts``) *replaces* the host's facts — unlike
``puppet lookup``, which lays it over the local node's facts — so a node's data resolves the
same on every machine. ``puppet facts`` output (``{name: …, values: {…}}``) is accepted too.
``trusted`` is taken from the file's ``trusted`` hash when present; ``trusted.certname`` is
otherwise the ``clientcert`` fact (Puppet's certname), else ``fqdn``.
"""

import os
import time

from ..errors import DataError
from ..source import load_yaml_with_origins

# /etc/os-release ID -> (facter's os.name, os.family)
_OS_NAMES = {
    "debian": ("Debian", "Debian"), "ubuntu": ("Ubuntu", "Debian"),
    "devuan": ("Devuan", "Debian"), "raspbian": ("Raspbian", "Debian"),
    "linuxmint": ("LinuxMint", "Debian"),
    "rhel": ("RedHat", "RedHat"), "centos": ("CentOS", "RedHat"),
    "fedora": ("Fedora", "RedHat"), "rocky": ("Rocky", "RedHat"),
    "almalinux": ("AlmaLinux", "RedHat"), "ol": ("OracleLinux", "RedHat"),
    "amzn": ("Amazon", "RedHat"), "sles": ("SLES", "Suse"),
    "opensuse-leap": ("OpenSuSE", "Suse"), "arch": ("Archlinux", "Archlinux"),
    "gentoo": ("Gentoo", "Gentoo"), "alpine": ("Alpine", "Alpine"), "void": ("Void", "Void"),
}
# Debian-family facter reports dpkg's architecture names.
_DPKG_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "i386", "armv7l": "armhf"}


def _os_release(path="/etc/os-release"):
    fields = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                name, sep, value = line.strip().partition("=")
                if sep:
                    fields[name] = value.strip().strip('"').strip("'")
    except OSError:
        pass
    return fields


def _read_first_line(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def _resolved(hostname):
    """``(fqdn, ipv4 or "")`` of this host as the resolver (``/etc/hosts`` first) gives them."""
    import socket

    fqdn, address = hostname, ""
    try:
        infos = socket.getaddrinfo(hostname, None, 0, socket.SOCK_DGRAM, 0,
                                   socket.AI_CANONNAME)
    except OSError:
        return fqdn, _routed_address()
    for family, _, _, canonical, sockaddr in infos:
        if canonical and "." in canonical and fqdn == hostname:
            fqdn = canonical
        if family == socket.AF_INET and not address and not sockaddr[0].startswith("127."):
            address = sockaddr[0]
    return fqdn, address or _routed_address()


def _routed_address():
    """The IPv4 address the default route leaves from (a UDP connect sends no packet)."""
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never contacted
        return probe.getsockname()[0]
    except OSError:
        return ""
    finally:
        probe.close()


def _release(os_id, fields, debian_version="/etc/debian_version"):
    """os.release as facter gives it: Debian's point release from ``debian_version``; else
    os-release's VERSION_ID; a Debian testing root has neither number, and facter then gives
    its ``debian_version`` text (``forky/sid``) as full and major alike."""
    debian = _read_first_line(debian_version) if os_id == "debian" else ""
    full = debian if debian[:1].isdigit() else fields.get("VERSION_ID") or debian
    parts = full.split(".")
    release = {"full": full, "major": parts[0]}
    if len(parts) > 1:
        release["minor"] = parts[1]
    return release


def host_facts():
    """Facts of the machine this runs on (see the module docstring for the list)."""
    import platform
    import socket

    uname = platform.uname()
    hostname_full = socket.gethostname()
    fqdn, address = _resolved(hostname_full)
    if "." in hostname_full:
        fqdn = hostname_full
    hostname, _, domain = fqdn.partition(".")
    fields = _os_release()
    os_id = fields.get("ID", uname.system.lower())
    name, family = _OS_NAMES.get(os_id, (fields.get("NAME", uname.system), uname.system))
    hardware = uname.machine
    architecture = _DPKG_ARCH.get(hardware, hardware) if family == "Debian" else hardware
    release = _release(os_id, fields)
    os_fact = {"name": name, "family": family, "release": release,
               "architecture": architecture, "hardware": hardware}
    if fields.get("VERSION_CODENAME"):
        os_fact["distro"] = {"codename": fields["VERSION_CODENAME"]}
    kernelversion = uname.release.split("-")[0]
    return {
        "hostname": hostname, "domain": domain, "fqdn": fqdn, "clientcert": fqdn,
        "networking": {"hostname": hostname, "domain": domain, "fqdn": fqdn, "ip": address},
        "ipaddress": address,
        "os": os_fact,
        "kernel": uname.system, "kernelrelease": uname.release,
        "kernelversion": kernelversion,
        "kernelmajversion": ".".join(kernelversion.split(".")[:2]),
        "architecture": architecture, "hardwaremodel": hardware,
        "processors": {"count": os.cpu_count() or 1},
        "timezone": time.tzname[0],
        "osfamily": family, "operatingsystem": name,
        "operatingsystemrelease": release["full"],
        "operatingsystemmajrelease": release["major"],
    }


def load_facts_file(path):
    """``(facts, trusted_or_None)`` from a YAML/JSON facts file; DataError if unusable.

    Read as data files are, with their bounds (size, aliases: ``source``)."""
    data, _ = load_yaml_with_origins(path)
    if data is None:
        data = {}
    if (isinstance(data, dict) and isinstance(data.get("values"), dict)
            and "name" in data):
        data = data["values"]  # `puppet facts` output
    if not isinstance(data, dict):
        raise DataError("%s: a facts file must be a hash of fact names to values" % path)
    facts = dict(data)
    trusted = facts.pop("trusted", None)
    if trusted is not None and not isinstance(trusted, dict):
        raise DataError("%s: 'trusted' must be a hash" % path)
    return facts, trusted


def trusted_of(facts, given=None):
    """Puppet's ``$trusted`` for these facts: certname = clientcert, else fqdn."""
    certname = facts.get("clientcert") or facts.get("fqdn") or facts.get("hostname") or ""
    hostname, _, domain = str(certname).partition(".")
    trusted = {"authenticated": "local", "certname": certname, "domain": domain,
               "extensions": {}, "hostname": hostname}
    trusted.update(given or {})
    return trusted


class TopScope:
    """Puppet's top scope as ``%{…}`` sees it: every fact by its name, ``facts`` (all of them)
    and ``trusted`` (``trusted_of`` the facts and ``given_trusted``).

    ``facts`` None: this host's, gathered when an interpolation first asks for a variable —
    ``host_facts`` asks the resolver and loads ``platform`` and ``socket``, which
    a data file with nothing to interpolate never needs.
    """

    def __init__(self, facts=None, given_trusted=None):
        self._facts, self._given_trusted = facts, given_trusted
        self._variables = None

    def variables(self):
        """``{name: value}`` of every variable (the facts gathered now if they were not)."""
        if self._variables is None:
            if self._facts is None:
                self._facts = host_facts()
            variables = dict(self._facts)
            variables["facts"] = self._facts
            variables["trusted"] = trusted_of(self._facts, self._given_trusted)
            self._variables = variables
        return self._variables

    @property
    def facts(self):
        return self.variables()["facts"]

    @property
    def trusted(self):
        return self.variables()["trusted"]

    def __contains__(self, name):
        return name in self.variables()

    def __getitem__(self, name):
        return self.variables()[name]
