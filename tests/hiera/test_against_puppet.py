"""Our ``lookup`` against the real ``puppet lookup``: same value for the same hiera.yaml, data,
facts, key and merge — on hiera-examples/ and on hierarchies built here for the corners
(knockouts, unique, hash, deep options, interpolation methods, globs, regexp lookup_options).

Each case is ``puppet lookup --hiera_config H --facts F --node N --render-as json [--merge M
[--knock-out-prefix P]] KEY``, every one of them run by Puppet's own lookup application in one
Ruby process (puppet_lookups.rb: Puppet loaded and its settings initialized once, as the
``puppet`` command does, then the application run per case on that case's arguments, its
output and exit code kept apart; test_the_one_process_answers_as_the_puppet_command holds it
to the command's own answers): a ``puppet`` command per case loaded Puppet and Facter afresh,
3–5 s of CPU each and over a minute for the cases, where one process takes a few seconds.
That process runs with a scratch --confdir/--codedir/--vardir/--logdir/--rundir/--ssldir/
--publicdir and HOME, so the host's /etc/puppet is neither read nor written; facts come only
from the facts file (``--node`` with no cached facts). It runs once, from a session-scoped
fixture. Without puppet these tests skip, except under CI=true.
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
from tests.conftest import ROOT
from tests.skips import missing

pytestmark = pytest.mark.puppet

PUPPET = shutil.which("puppet") or "/usr/bin/puppet"
EXAMPLES = ROOT / "hiera-examples"
NOT_FOUND = "<not found>"
LOOKUPS_RB = Path(__file__).with_name("puppet_lookups.rb")

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


def lookup_argv(hiera_yaml, facts, node, key, merge):
    """The arguments after ``puppet lookup`` of one case."""
    argv = ["--hiera_config", str(hiera_yaml), "--facts", str(facts), "--node", node,
            "--render-as", "json"]
    if isinstance(merge, dict):
        argv += ["--merge", merge["strategy"]]
        if merge.get("knockout_prefix"):
            argv.append("--knock-out-prefix=" + merge["knockout_prefix"])
    elif merge:
        argv += ["--merge", merge]
    return argv + [key]


def ruby_of(script):
    """The Ruby that runs ``script`` (its ``#!`` line): Puppet's own, wherever it is installed."""
    with open(script) as text:
        first = text.readline()
    return first[2:].split() if first.startswith("#!") else ["ruby"]


def puppet_dirs(scratch):
    """Puppet's directories under ``scratch``, as its global arguments (--confdir DIR …)."""
    # Debian's puppet keeps ssldir and publicdir in fixed places whatever --vardir says:
    # without them here, the lookups would write the machine's (and lock its ssl.lock).
    settings = []
    for name in ("conf", "code", "var", "log", "run", "ssl", "public"):
        (scratch / name).mkdir(parents=True)
        settings += ["--%sdir" % name, str(scratch / name)]
    return settings


def puppet_lookups(scratch, cases):
    """``{case id: {"code", "stdout", "stderr"}}`` of ``puppet lookup`` for each case, every
    lookup a run of Puppet's lookup application in one Ruby process (puppet_lookups.rb)."""
    request = scratch / "request.json"
    settings = puppet_dirs(scratch)
    request.write_text(json.dumps({
        "settings": settings, "answers": str(scratch / "answers.json"), "scratch": str(scratch),
        "lookups": [{"id": case_id, "argv": lookup_argv(*rest)} for case_id, *rest in cases]}))
    done = subprocess.run(ruby_of(PUPPET) + [str(LOOKUPS_RB), str(request)],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, HOME=str(scratch)))
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((scratch / "answers.json").read_text())


def puppet_lookup_command(scratch, hiera_yaml, facts, node, key, merge):
    """``{"code", "stdout", "stderr"}`` of one ``puppet lookup`` command, a process of its own."""
    done = subprocess.run([PUPPET, "lookup", *puppet_dirs(scratch),
                           *lookup_argv(hiera_yaml, facts, node, key, merge)],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, HOME=str(scratch)))
    return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def answer_of(code, stdout, stderr):
    """One ``puppet lookup``'s answer from its exit code and output: the value, NOT_FOUND when
    it finds none, PuppetError when it fails."""
    if code == 1 and not stdout.strip():
        if "Error" in stderr:
            return PuppetError(stderr.strip())
        return NOT_FOUND
    assert code == 0, stderr
    return json.loads(stdout)


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
        missing("puppet", "apt-get install puppet-agent")
    tmp = tmp_path_factory.mktemp("hiera-corners")
    cases = all_cases(tmp)
    runs = puppet_lookups(tmp / "puppet", cases)
    return {case[0]: (case, runs[case[0]]) for case in cases}


@pytest.mark.parametrize("case_id", [case[0] for case in EXAMPLE_CASES + CORNER_CASES])
def test_lookup_equals_puppet_lookup(puppet_answers, case_id):
    (_, hiera_yaml, facts, _, key, merge), run = puppet_answers[case_id]
    expected = answer_of(**run)
    if isinstance(expected, PuppetError):
        with pytest.raises(DataError):
            ours(hiera_yaml, facts, key, merge)
    else:
        assert expected != NOT_FOUND, "every case is meant to find a value"
        assert ours(hiera_yaml, facts, key, merge) == expected


# Late in the one process's list, so a run it kept something of would show: merge options on
# the command line (a knockout prefix), and a lookup that fails.
COMMAND_CASES = ["knockouts-cli-prefix", "strategies-sort-hashes-fails"]


def test_the_one_process_answers_as_the_puppet_command(puppet_answers, tmp_path):
    """puppet_lookups.rb's runs are `puppet lookup`'s: the same exit code, output and error as
    the command with the same arguments, each in a process of its own."""
    with ThreadPoolExecutor(max_workers=len(COMMAND_CASES)) as pool:
        commands = {case_id: pool.submit(puppet_lookup_command, tmp_path / case_id,
                                         *puppet_answers[case_id][0][1:])
                    for case_id in COMMAND_CASES}
    for case_id, command in commands.items():
        assert puppet_answers[case_id][1] == command.result(), case_id


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
