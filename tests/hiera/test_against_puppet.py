"""Our ``lookup`` against the real ``puppet lookup``: same value for the same hiera.yaml, data,
facts, key and merge — on hiera-examples/ and on hierarchies built here for the corners
(knockouts, unique, hash, deep options, interpolation methods, globs, regexp lookup_options).

Puppet runs with a scratch --confdir/--codedir/--vardir/--logdir/--rundir per call, so the
host's /etc/puppet is neither read nor written; facts come only from the facts file (``--node``
with no cached facts). Puppet starts slowly (~1.5 s), so every call runs once, in parallel,
from a module-scoped fixture. Without puppet these tests skip, except under CI=true.
"""

import json
import os
import shutil
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runit_provision.errors import DataError
from runit_provision.hiera import load
from tests.conftest import IN_CI, ROOT

pytestmark = pytest.mark.puppet

PUPPET = shutil.which("puppet") or "/usr/bin/puppet"
EXAMPLES = ROOT / "hiera-examples"
NOT_FOUND = "<not found>"

FACTS = """\
hostname: n1
domain: example.com
fqdn: n1.example.com
clientcert: n1.example.com
osfamily: Debian
os: {family: Debian, name: Debian, release: {major: "12", full: "12.5"}}
role: web
"""

# Purpose-built hierarchies: {file: text}; the hiera.yaml is always "hiera.yaml".
CORNERS = {
    "knockouts": {
        "hiera.yaml": """\
            version: 5
            hierarchy:
              - {name: node, path: node.yaml}
              - {name: os, path: os.yaml}
              - {name: common, path: common.yaml}
            """,
        "data/common.yaml": """\
            lookup_options:
              svc: {merge: {strategy: deep, knockout_prefix: "--"}}
            svc:
              web: {command: a, env: {A: "1", B: "2"}, needs: [db, cache], groups: [g1, g2]}
              db: {command: d}
              far: {needs: [x, y]}
            """,
        "data/os.yaml": """\
            svc:
              web: {env: {C: "3"}, needs: [db, q], groups: [g3]}
              far: {command: f}
            """,
        "data/node.yaml": """\
            svc:
              web: {env: {B: "--", C: "--x"}, needs: ["--db", q, q], groups: ["--", g9]}
              "--db": {}
              far: {needs: ["--x"]}
              new: {needs: [z, z, "--y"], s: "--gone", n: ~}
            """,
    },
    "strategies": {
        "hiera.yaml": """\
            version: 5
            defaults: {datadir: d, data_hash: yaml_data}
            hierarchy:
              - name: node
                paths: ["%{trusted.certname}.yaml", "role-%{facts.role}.yaml"]
              - name: globbed
                glob: "g/{b,a}*.yaml"
              - name: other
                datadir: other
                path: "%{::osfamily}.yaml"
              - {name: common, path: common.yaml}
            """,
        "d/n1.example.com.yaml": """\
            list: [3, [1, 3]]
            scalar: one
            h: {b: {x: 1}, c: 3}
            deep: {arr: [{p: 1}]}
            sorted: {arr: [9, 1], words: [b]}
            bad_sort: [{p: 1}]
            """,
        "d/role-web.yaml": "list: 2\nscalar: two\nh: {d: 4}\nrx_a: {k: [1]}\n",
        "d/g/b1.yaml": "list: [5]\nh: {e: 5}\nrx_a: {k: [2]}\n",
        "d/g/a1.yaml": "list: [6, 2]\nglobbed: a\n",
        "other/Debian.yaml": "list: [7]\nh: {a: 0}\ndeep: {arr: [{q: 2}, {r: 3}]}\n"
                             "sorted: {arr: [5], words: [c, a]}\nbad_sort: [{q: 2}]\n",
        "d/common.yaml": """\
            lookup_options:
              deep: {merge: {strategy: deep, merge_hash_arrays: true}}
              sorted: {merge: {strategy: deep, sort_merged_arrays: true}}
              bad_sort: {merge: {strategy: deep, sort_merged_arrays: true}}
              "^rx_": {merge: deep}
            list: [1, 8]
            scalar: three
            h: {a: 1, b: {y: 2}}
            deep: {arr: [{s: 4}]}
            sorted: {arr: [4, 2]}
            rx_a: {k: [3], j: 1}
            """,
    },
    "interpolation": {
        "hiera.yaml": """\
            version: 5
            hierarchy:
              - {name: node, path: "nodes/%{facts.hostname}.yaml"}
              - {name: common, path: common.yaml}
            """,
        "data/nodes/n1.yaml": """\
            who: "%{trusted.certname} on %{::os.family} %{facts.os.release.major}"
            copy: "%{alias('base')}"
            text: "base is %{lookup('base.name')}, 100%{literal('%')}"
            keyed: {"k_%{facts.role}": "%{facts.role}"}
            """,
        "data/common.yaml": """\
            base: {name: common-base, list: [1, 2]}
            nested: {a: [{b: "%{hiera('base.name')}"}]}
            """,
    },
    # YAML 1.1 scalars, as Ruby's Psych reads them: unquoted yes/on/Off are booleans, a
    # leading 0 is octal (a file mode), 0x is hex; quoted they stay strings.
    "yaml11": {
        "hiera.yaml": """\
            version: 5
            hierarchy:
              - {name: common, path: common.yaml}
            """,
        "data/common.yaml": """\
            scalars: {flag: yes, other: Off, on_: on, mode: 0640, hex: 0x1F, none: ~,
                      decimal: 1.5, text: "yes", quoted_mode: "0640"}
            """,
    },
    # Anchors, aliases and merge keys, as Psych reads them: a key after "<<" wins over a
    # merged one, a merged one over a key before it, the first of a list of mappings over
    # the later ones (PyYAML 6.0.4 lets the later win; source._flatten_merges does not).
    "aliases": {
        "hiera.yaml": """\
            version: 5
            hierarchy:
              - {name: common, path: common.yaml}
            """,
        "data/common.yaml": """\
            base: &base {user: www-data, nice: 5, log: &log {size: 100, num: 3}}
            extra: &extra {user: other-user, cwd: /srv, nice: 9}
            services:
              web: {<<: *base, command: web}
              api: {nice: 1, <<: [*base, *extra], command: api}
              db: {<<: *extra, log: *log, listens: [*log, *log]}
              cron:
                <<: {command: cron-job, user: first}
                user: own
              nested: {<<: {<<: *extra, cwd: /inner}, user: outer}
            """,
    },
}

# (case id, hiera.yaml, facts file, node, key, merge options for both sides)
EXAMPLE_CASES = [
    ("web01-services", "web01", "runit::services", None),
    ("web01-users", "web01", "runit::users", None),
    ("web01-defaults", "web01", "runit::defaults", None),
    ("web01-service-dir", "web01", "runit::service_dir", None),
    ("web01-services-first", "web01", "runit::services", "first"),
    ("app01-services", "app01", "runit::services", None),
    ("app01-users", "app01", "runit::users", None),
    ("legacy01-runit", "legacy01", "runit", None),
    ("legacy01-runtime", "legacy01", "runit::runtime", None),
    ("legacy01-web", "legacy01", "runit::services.web", None),
]
CORNER_CASES = [
    ("knockouts-deep", "knockouts", "svc", None),
    ("knockouts-cli-deep", "knockouts", "svc", "deep"),
    ("knockouts-cli-prefix", "knockouts", "svc", {"strategy": "deep", "knockout_prefix": "--"}),
    ("strategies-unique", "strategies", "list", "unique"),
    ("strategies-unique-scalar", "strategies", "scalar", "unique"),
    ("strategies-hash", "strategies", "h", "hash"),
    ("strategies-merge-hash-arrays", "strategies", "deep", None),
    ("strategies-sort-merged-arrays", "strategies", "sorted", None),
    ("strategies-sort-hashes-fails", "strategies", "bad_sort", None),
    ("strategies-regexp", "strategies", "rx_a", None),
    ("strategies-glob", "strategies", "globbed", None),
    ("interpolation-who", "interpolation", "who", None),
    ("interpolation-alias", "interpolation", "copy", None),
    ("interpolation-text", "interpolation", "text", None),
    ("interpolation-keys", "interpolation", "keyed", None),
    ("interpolation-nested", "interpolation", "nested", None),
    ("yaml11-scalars", "yaml11", "scalars", None),
    ("aliases-merge-keys", "aliases", "services", None),
]


def write_tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def puppet_lookup(scratch, hiera_yaml, facts, node, key, merge):
    """The value ``puppet lookup`` gives (NOT_FOUND when it finds none, PuppetError when it
    fails)."""
    # Debian's puppet keeps ssldir and publicdir in fixed places whatever --vardir says:
    # without them here, parallel lookups wrote the machine's and raced on its ssl.lock.
    dirs = []
    for name in ("conf", "code", "var", "log", "run", "ssl", "public"):
        (scratch / name).mkdir(parents=True)
        dirs += ["--%sdir" % name, str(scratch / name)]
    command = [PUPPET, "lookup", *dirs, "--hiera_config", str(hiera_yaml), "--facts",
               str(facts), "--node", node, "--render-as", "json"]
    if isinstance(merge, dict):
        command += ["--merge", merge["strategy"]]
        if merge.get("knockout_prefix"):
            command.append("--knock-out-prefix=" + merge["knockout_prefix"])
    elif merge:
        command += ["--merge", merge]
    command.append(key)
    env = dict(os.environ, HOME=str(scratch))
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    if done.returncode == 1 and not done.stdout.strip():
        if "Error" in done.stderr:
            return PuppetError(done.stderr.strip())
        return NOT_FOUND
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class PuppetError(str):
    """puppet lookup's error message: ours must fail too (with a DataError)."""


def ours(hiera_yaml, facts, key, merge):
    found = load(hiera=hiera_yaml, facts=facts).lookup(key, merge=merge)
    return found.value if found.found else NOT_FOUND


def all_cases(tmp):
    """Every case as (id, hiera.yaml, facts file, node, key, merge)."""
    cases = []
    for case_id, node, key, merge in EXAMPLE_CASES:
        cases.append((case_id, EXAMPLES / "hiera.yaml", EXAMPLES / "facts" / ("%s.yaml" % node),
                      "%s.example.com" % node, key, merge))
    facts = tmp / "facts.yaml"
    facts.write_text(FACTS)
    for name, files in CORNERS.items():
        write_tree(tmp / name, files)
    for case_id, tree, key, merge in CORNER_CASES:
        cases.append((case_id, tmp / tree / "hiera.yaml", facts, "n1.example.com", key, merge))
    return cases


@pytest.fixture(scope="session")  # once, even when a parallel run's worker interleaves modules
def puppet_answers(tmp_path_factory):
    if not os.access(PUPPET, os.X_OK):
        if IN_CI:
            pytest.fail("CI=true but puppet is not installed (apt-get install puppet)")
        pytest.skip("puppet is not installed (apt-get install puppet)")
    tmp = tmp_path_factory.mktemp("hiera-corners")
    cases = all_cases(tmp)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2) * 2) as pool:
        futures = [(case, pool.submit(puppet_lookup, tmp / ("puppet-" + case[0]), *case[1:]))
                   for case in cases]
        return {case[0]: (case, future.result()) for case, future in futures}


@pytest.mark.parametrize("case_id", [case[0] for case in EXAMPLE_CASES + CORNER_CASES])
def test_lookup_equals_puppet_lookup(puppet_answers, case_id):
    (_, hiera_yaml, facts, _, key, merge), expected = puppet_answers[case_id]
    if isinstance(expected, PuppetError):
        with pytest.raises(DataError):
            ours(hiera_yaml, facts, key, merge)
    else:
        assert expected != NOT_FOUND, "every case is meant to find a value"
        assert ours(hiera_yaml, facts, key, merge) == expected


@pytest.mark.parametrize("node", ["web01", "app01", "legacy01"])
def test_every_example_node_is_valid_data(node):
    """hiera-examples/ is meant to be copied: each node's data passes the schema."""
    from runit_provision.accounts import NO_ACCOUNTS
    from runit_provision.schema import config_from_data

    facts = EXAMPLES / "facts" / ("%s.yaml" % node)
    data, origins = load(hiera=EXAMPLES / "hiera.yaml", facts=facts).runit_data()
    assert data["services"] and all(Path(origin.file).exists()
                                    for origin in origins.values())
    config_from_data(data, origins, NO_ACCOUNTS)
