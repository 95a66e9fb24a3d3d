"""hiera lookups through a hiera.yaml v5: hierarchy expansion, interpolation, lookup_options,
errors with positions, origins, and the two spellings of the runit data."""

import textwrap

import pytest

from runit_provision.errors import DataError
from runit_provision.hiera import load
from runit_provision.hiera.facts import _release
from runit_provision.hiera.interpolation import split_key
from runit_provision.source import Origin

FACTS = {"fqdn": "web01.example.com", "hostname": "web01", "domain": "example.com",
         "clientcert": "web01.example.com", "role": "web",
         "os": {"family": "Debian", "name": "Debian", "release": {"major": "12", "full": "12.5"}}}

HIERA = """\
version: 5
defaults:
  datadir: data
  data_hash: yaml_data
hierarchy:
  - name: node
    path: "nodes/%{trusted.certname}.yaml"
  - name: os
    paths:
      - "os/%{facts.os.family}-%{facts.os.release.major}.yaml"
      - "os/%{::osfamily}.yaml"
  - name: roles
    glob: "roles/{%{facts.role},all}*.yaml"
  - name: site
    datadir: site
    path: site.yaml
  - name: common
    path: common.yaml
"""


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def tree(tmp_path):
    return write(tmp_path, {
        "hiera.yaml": HIERA,
        "data/nodes/web01.example.com.yaml": """\
            runit::services:
              web:
                env: {PORT: "9090"}
            where: node %{facts.hostname}
            """,
        "data/os/Debian-12.yaml": "where: bookworm\nlevel: os-12\n",
        "data/os/Debian.yaml": "level: os\nfamily_only: yes\n",
        "data/roles/web.yaml": "role_key: web\n",
        "data/roles/all-z.yaml": "role_key: all\nall_key: 1\n",
        "site/site.yaml": "site: here\n",
        "data/common.yaml": """\
            lookup_options:
              runit::services:
                merge: deep
              "^runit::(users|defaults)$":
                merge: hash
            runit::services:
              web:
                command: /usr/bin/web
                env: {PORT: "8080", LANG: C}
            runit::users: {alice: {home: /home/alice}}
            where: common
            level: common
            greeting: "hello %{lookup('site')} on %{facts.os.release.full}"
            copy: "%{alias('runit::users')}"
            literal: "100%{literal('%')}"
            """,
    })


def facts(**extra):
    merged = dict(FACTS, osfamily="Debian")
    merged.update(extra)
    return merged


def test_levels_paths_globs_and_datadirs_in_order(tree):
    hiera = load(hiera=tree / "hiera.yaml", facts=facts())
    assert [level.name for level in hiera.levels] == ["node", "os", "roles", "site", "common"]
    assert [loc.path for loc in hiera.levels[1].locations] == [
        str(tree / "data/os/Debian-12.yaml"), str(tree / "data/os/Debian.yaml")]
    assert [loc.path for loc in hiera.levels[2].locations] == [
        str(tree / "data/roles/web.yaml"), str(tree / "data/roles/all-z.yaml")]
    assert hiera.lookup("where").value == "node web01"
    assert hiera.lookup("level").value == "os-12"
    assert hiera.lookup("role_key").value == "web"
    assert hiera.lookup("site").value == "here"
    assert hiera.lookup("level", merge="unique").value == ["os-12", "os", "common"]


def test_missing_node_file_is_just_not_found(tree):
    hiera = load(hiera=tree / "hiera.yaml", facts=facts(clientcert="db01.example.com"))
    assert hiera.lookup("where").value == "bookworm"
    explain = "\n".join(hiera.lookup("where").explain)
    assert "nodes/db01.example.com.yaml" in explain and "Path not found" in explain


def test_lookup_options_exact_and_regexp(tree):
    hiera = load(hiera=tree / "hiera.yaml", facts=facts())
    services = hiera.lookup("runit::services")
    assert services.merge == "deep"
    assert services.value == {"web": {"command": "/usr/bin/web",
                                      "env": {"PORT": "9090", "LANG": "C"}}}
    assert hiera.lookup("runit::users").merge == "hash"
    assert hiera.lookup("runit::services", merge="first").value == {"web": {"env": {
        "PORT": "9090"}}}
    assert not hiera.lookup("lookup_options").found


def test_origins_point_at_the_winning_file_line_and_column(tree):
    hiera = load(hiera=tree / "hiera.yaml", facts=facts())
    origins = hiera.lookup("runit::services").origins
    node = str(tree / "data/nodes/web01.example.com.yaml")
    common = str(tree / "data/common.yaml")
    assert origins[("web", "env", "PORT")] == Origin(node, 3, 11)
    assert origins[("web", "env", "LANG")] == Origin(common, 9, 25)
    assert origins[("web", "command")] == Origin(common, 8, 5)


def test_interpolation_methods_in_data(tree):
    hiera = load(hiera=tree / "hiera.yaml", facts=facts())
    assert hiera.lookup("greeting").value == "hello here on 12.5"
    assert hiera.lookup("copy").value == {"alice": {"home": "/home/alice"}}
    assert hiera.lookup("literal").value == "100%"


def test_dotted_keys_dig_after_merging(tree):
    hiera = load(hiera=tree / "hiera.yaml", facts=facts())
    found = hiera.lookup("runit::services.web.env")
    assert found.value == {"PORT": "9090", "LANG": "C"}
    node = tree / "data/nodes/web01.example.com.yaml"
    assert found.origins[("PORT",)] == Origin(node, 3, 11)  # the node's value won the merge
    assert found.origins[("LANG",)] == Origin(tree / "data/common.yaml", 9, 25)
    assert not hiera.lookup("runit::services.nope").found


def test_unknown_fact_in_hierarchy_is_an_error_with_position(tree):
    with pytest.raises(DataError) as error:
        load(hiera=tree / "hiera.yaml", facts={k: v for k, v in facts().items() if k != "os"})
    message = str(error.value)
    assert "%s:10:9" % (tree / "hiera.yaml") in message
    assert "hierarchy[1].paths[0]" in message and "'facts.os'" in message


def test_unknown_sub_fact_in_data_is_an_error_with_position(tmp_path):
    write(tmp_path, {"data.yaml": "runit:\n  services:\n    web:\n      cwd: /srv/%{facts.os.nope}\n"})
    hiera = load(data=tmp_path / "data.yaml", facts=facts())
    with pytest.raises(DataError) as error:
        hiera.lookup("runit")
    message = str(error.value)
    assert message.startswith("%s:4:7: runit.services.web.cwd:" % (tmp_path / "data.yaml"))
    assert "os.nope" in message


def test_lookup_of_a_missing_key_in_interpolation_is_an_error(tmp_path):
    write(tmp_path, {"data.yaml": "a: \"%{lookup('b')}\"\nc: \"%{lookup('c')}\"\n"})
    hiera = load(data=tmp_path / "data.yaml", facts=facts())
    with pytest.raises(DataError, match="no value for key 'b'"):
        hiera.lookup("a")
    with pytest.raises(DataError, match="recursive"):
        hiera.lookup("c")


def test_methods_are_not_allowed_in_hierarchy_paths(tmp_path):
    write(tmp_path, {"hiera.yaml": "version: 5\nhierarchy:\n  - name: x\n"
                                   "    path: \"%{lookup('a')}.yaml\"\n"})
    with pytest.raises(DataError, match="not allowed"):
        load(hiera=tmp_path / "hiera.yaml", facts=facts())


@pytest.mark.parametrize("text, expected", [
    ("version: 3\n", "1:1: version: only hiera.yaml version 5 is supported (got 3)"),
    ("version: 5\nhierarchy:\n  - path: a.yaml\n",
     "3:5: hierarchy[0]: every hierarchy entry needs a name"),
    ("version: 5\nhierarchy:\n  - {name: a, path: a.yaml}\n  - {name: a, path: b.yaml}\n",
     "4:6: hierarchy[1].name: hierarchy name 'a' is also used at HIERA:3:6"),
    ("version: 5\nhierarchy:\n  - {name: a, path: a.yaml, glob: '*.yaml'}\n",
     "3:5: hierarchy[0]: hierarchy entry 'a' needs exactly one of path, paths, glob, globs"),
    ("version: 5\nhierarchy:\n  - {name: a, path: a.json, data_hash: json_data}\n",
     "3:29: hierarchy[0].data_hash: only data_hash: yaml_data is supported (got 'json_data')"),
    ("version: 5\ndefaults: {datadir: d}\nhierarchy:\n  - {name: a, path: a.yaml}\n",
     "4:5: hierarchy[0]: hierarchy entry 'a' has no data provider: set data_hash: yaml_data "
     "here or under defaults"),
])
def test_bad_hiera_yaml_is_a_data_error_with_position(tmp_path, text, expected):
    write(tmp_path, {"hiera.yaml": text})
    with pytest.raises(DataError) as error:
        load(hiera=tmp_path / "hiera.yaml", facts=facts())
    hiera = str(tmp_path / "hiera.yaml")
    assert str(error.value) == hiera + ":" + expected.replace("HIERA", hiera)


def test_split_key_like_puppet():
    assert split_key("facts.os.family") == ["facts", "os", "family"]
    assert split_key("a.'b.c'.0") == ["a", "b.c", 0]
    assert split_key("runit::users") == ["runit::users"]
    with pytest.raises(ValueError):
        split_key("a..b")


def test_facts_file_and_trusted(tmp_path):
    write(tmp_path, {
        "facts.yaml": "fqdn: n1.example.com\nclientcert: n1.example.com\nos: {family: RedHat}\n",
        "data.yaml": "who: \"%{trusted.certname} %{::os.family} %{facts.fqdn}\"\n"})
    hiera = load(data=tmp_path / "data.yaml", facts=tmp_path / "facts.yaml")
    assert hiera.lookup("who").value == "n1.example.com RedHat n1.example.com"


def test_host_facts_have_what_hierarchies_use(tmp_path):
    write(tmp_path, {"data.yaml": "x: \"%{facts.os.family}|%{::fqdn}|%{trusted.certname}|"
                                  "%{facts.os.release.major}|%{facts.networking.hostname}\"\n"})
    value = load(data=tmp_path / "data.yaml").lookup("x").value
    family, fqdn, certname, major, hostname = value.split("|")  # Debian testing: forky/sid
    assert family and major and fqdn == certname and fqdn.startswith(hostname)


@pytest.mark.parametrize("debian_version, fields, release", [
    ("12.8", {"VERSION_ID": "12"}, {"full": "12.8", "major": "12", "minor": "8"}),
    ("trixie/sid", {"VERSION_ID": "13"}, {"full": "13", "major": "13"}),
    ("forky/sid", {}, {"full": "forky/sid", "major": "forky/sid"}),  # testing: facter's too
])
def test_a_debian_release_is_facters(tmp_path, debian_version, fields, release):
    (tmp_path / "debian_version").write_text(debian_version + "\n")
    assert _release("debian", fields, str(tmp_path / "debian_version")) == release
    assert _release("rocky", {"VERSION_ID": "9.4"}, str(tmp_path / "debian_version")) == {
        "full": "9.4", "major": "9", "minor": "4"}


def test_runit_data_from_both_spellings(tmp_path):
    write(tmp_path, {"data.yaml": """\
        runit:
          package_file: runit-2.1.1-6.el6.x86_64.rpm
          users: [apprun1, apprun2]
        runit::services:
          web:
            command: /usr/bin/web
        runit::sv_timeout: 9
        """})
    data, origins = load(data=tmp_path / "data.yaml", facts=facts()).runit_data()
    assert data == {"package_file": "runit-2.1.1-6.el6.x86_64.rpm",
                    "users": ["apprun1", "apprun2"],
                    "services": {"web": {"command": "/usr/bin/web"}}, "sv_timeout": 9}
    file = str(tmp_path / "data.yaml")
    assert origins[("users", 1)] == Origin(file, 3, 20)
    assert origins[("services", "web", "command")] == Origin(file, 6, 5)
    assert origins[("services",)] == Origin(file, 4, 1)


def test_runit_data_one_setting_in_both_spellings_is_an_error(tmp_path):
    write(tmp_path, {"data.yaml": "runit:\n  users: [a]\nrunit::users: [b]\n"})
    with pytest.raises(DataError) as error:
        load(data=tmp_path / "data.yaml", facts=facts()).runit_data()
    assert "data.yaml:3:1: runit::users: also given as runit.users at" in str(error.value)
    assert "data.yaml:2:3" in str(error.value)


def test_runit_data_leaves_the_puppet_modules_other_classes_alone(tmp_path):
    # runit::<class>::<param> keys are the Puppet module's (puppet/REFERENCE.md): one hierarchy
    # serves the module and the CLI; a misspelt runit::<key> is still read (and refused).
    write(tmp_path, {"data.yaml": """\
        runit::services: {web: {command: /usr/bin/web}}
        runit::config::root: /srv/image
        runit::install::pip_options: [--no-index]
        runit::sevices: {}
        """})
    data, _ = load(data=tmp_path / "data.yaml", facts=facts()).runit_data()
    assert data == {"services": {"web": {"command": "/usr/bin/web"}}, "sevices": {}}


def test_runit_data_across_a_hierarchy(tree):
    data, origins = load(hiera=tree / "hiera.yaml", facts=facts()).runit_data()
    assert data["services"]["web"]["env"] == {"PORT": "9090", "LANG": "C"}
    assert origins[("services", "web", "env", "PORT")] == Origin(
        tree / "data/nodes/web01.example.com.yaml", 3, 11)
    assert origins[("services", "web", "command")] == Origin(tree / "data/common.yaml", 8, 5)
    assert data["users"] == {"alice": {"home": "/home/alice"}}


def test_load_needs_exactly_one_source(tmp_path):
    with pytest.raises(DataError):
        load(facts=facts())
    with pytest.raises(DataError, match="no such data file"):
        load(data=tmp_path / "missing.yaml", facts=facts())


def test_hiera_examples_legacy_node_mixes_the_spellings_across_keys():
    from tests.conftest import ROOT
    examples = ROOT / "hiera-examples"
    data, origins = load(hiera=examples / "hiera.yaml",
                         facts=examples / "facts/legacy01.yaml").runit_data()
    assert data["package_file"] == "runit-2.1.1-6.el6.x86_64.rpm"
    assert data["users"] == ["apprun1", "apprun2"]
    assert data["runtime"] == "system" and data["services"]["web"]["user"] == "apache"
    assert origins[("users", 0)].file.endswith("nodes/legacy01.example.com.yaml")
    assert origins[("runtime",)].file.endswith("os/RedHat.yaml")


def test_bad_merge_in_lookup_options_names_its_position(tmp_path):
    write(tmp_path, {"data.yaml": "lookup_options:\n  a:\n    merge: deeper\na: 1\n"})
    with pytest.raises(DataError) as error:
        load(data=tmp_path / "data.yaml", facts=facts()).lookup("a")
    assert "data.yaml:3:5: lookup_options.a.merge" in str(error.value)
    assert "deeper" in str(error.value)


def test_a_hash_merge_of_a_list_names_where_the_list_is(tmp_path):
    write(tmp_path, {"hiera.yaml": "version: 5\nhierarchy:\n  - {name: a, path: a.yaml}\n"
                                   "  - {name: b, path: b.yaml}\n",
                     "data/a.yaml": "x: {k: 1}\n", "data/b.yaml": "\nx: [1]\n"})
    with pytest.raises(DataError, match=r"b\.yaml:2:1: a 'hash' merge needs hashes, got list"):
        load(hiera=tmp_path / "hiera.yaml", facts=facts()).lookup("x", merge="hash")
