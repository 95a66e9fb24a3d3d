"""The Debian 13 tier's driver (tests/debian13.py): the mirror it takes from the machine's apt
sources and the cache key of its root. The tier itself runs by ``make test-debian13``
(docs/testing.md#debian-13)."""

from tests import debian13

DEB822 = """\
Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security

Types: deb
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
"""


def test_the_mirror_is_the_first_debian_source_of_any_format(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    assert debian13.mirror(tmp_path) == "http://deb.debian.org/debian"  # none: the default
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian13.mirror(tmp_path) == "http://mirror.example.org/debian"
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example.org/debian bookworm main\n"
        "deb [arch=amd64] https://packages.example.com/apt stable main\n"
        "deb [signed-by=/k.gpg] http://opts.example.net/debian/ trixie main\n"
        "deb http://ftp.example.net/debian bookworm main\n")
    assert debian13.mirror(tmp_path) == "http://opts.example.net/debian"


def test_the_roots_key_changes_with_the_mirror_and_the_packages(monkeypatch):
    key = debian13.root_key("http://deb.debian.org/debian")
    assert key == debian13.root_key("http://deb.debian.org/debian") and len(key) == 16
    assert key != debian13.root_key("http://mirror.example.org/debian")
    monkeypatch.setattr(debian13, "PACKAGES", debian13.PACKAGES + ("strace",))
    assert key != debian13.root_key("http://deb.debian.org/debian")
