"""The Debian tiers' driver (tests/debian.py): the mirror it takes from the machine's apt
sources and the cache key of a release's root. The tiers themselves run by ``make
test-debian13`` and ``make test-debian14`` (docs/testing.md#debian-13)."""

from tests import debian

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
    assert debian.mirror(tmp_path) == "http://deb.debian.org/debian"  # none: the default
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian.mirror(tmp_path) == "http://mirror.example.org/debian"
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example.org/debian bookworm main\n"
        "deb [arch=amd64] https://packages.example.com/apt stable main\n"
        "deb [signed-by=/k.gpg] http://opts.example.net/debian/ trixie main\n"
        "deb http://ftp.example.net/debian bookworm main\n")
    assert debian.mirror(tmp_path) == "http://opts.example.net/debian"


def test_the_roots_key_changes_with_the_release_the_mirror_and_the_packages():
    trixie, forky = debian.RELEASES["13"], debian.RELEASES["14"]
    key = debian.root_key(trixie, "http://deb.debian.org/debian")
    assert key == debian.root_key(trixie, "http://deb.debian.org/debian") and len(key) == 16
    assert key != debian.root_key(trixie, "http://mirror.example.org/debian")
    assert key != debian.root_key(forky, "http://deb.debian.org/debian")
    more = trixie._replace(packages=trixie.packages + ("strace",))
    assert key != debian.root_key(more, "http://deb.debian.org/debian")


def test_each_release_runs_known_steps_and_the_pure_tier_only_where_its_python_is_new():
    for release in debian.RELEASES.values():
        assert release.steps[0] == "install" and set(release.steps) <= set(debian.STEPS)
        assert set(debian.PACKAGES) <= set(release.packages)
    assert "pure" in debian.RELEASES["14"].steps and "module" in debian.RELEASES["14"].steps
    assert "pure" not in debian.RELEASES["13"].steps  # 3.13's pure tier: make test-pythons
    named = [word.split("::")[0] for step in debian.STEPS.values() for word in step or ()
             if word.startswith("tests/")]
    assert named and all((debian.ROOT / path).exists() for path in named), named
