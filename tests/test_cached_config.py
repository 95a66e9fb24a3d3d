"""cached_config.py: the validated Config kept between runs — the same Config as built,
rebuilt whenever anything that went into it changed, and neither read nor written where
someone other than root could have written it."""

import json
import os
import subprocess
import sys
import time

import pytest

from runit_provision import inputs as pipeline
from runit_provision.startup import cached_config
from runit_provision.accounts import host
from runit_provision.cli import inputs
from runit_provision.startup.quickparse import Arguments
from runit_provision.errors import DataError

from .test_boundaries import PACKAGE, import_graph, imports_of, modules, reached

DATA = """\
runit:
  users:
    alice:
      services:
        notes: {command: notes --serve}
  services:
    web:
      command: /usr/bin/web --port 8080
      env: {PORT: 8080}
      restart: {give_up_after: 10, within: 60}
      conf: "PORT=8080\\n"
      files: {README: "how web is run\\n", tools/rotate: {content: "#!/bin/sh\\n", mode: "0755"}}
      links: {tools/current: /srv/web/current}
      ready: notify
      ready_timeout: 90
      limits: {nofile: 4096}
      log: {timestamps: human, size: 1000000}
    db:
      command: [postgres, -D, /srv/db]
      needs: [web]
      ready: {fd: 3}
    cache: {command: redis-server, check: {tcp: 6379}}
"""
PASSWD = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"
GROUP = "root:x:0:\nalice:x:1000:\nadm:x:4:alice\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache directory of the test's own; files the test writes count as old enough."""
    place = tmp_path / "cache"
    monkeypatch.setenv(cached_config.CACHE_VARIABLE, str(place))
    monkeypatch.setattr(cached_config, "RACY_NS", 0)
    return place


@pytest.fixture
def built(monkeypatch):
    """How many times the inputs were read (not answered from the cache)."""
    count = []
    real = pipeline.read

    def counted(*given, **named):
        count.append(named)
        return real(*given, **named)
    monkeypatch.setattr(pipeline, "read", counted)
    return count


def arguments(**given):
    values = {"data": None, "hiera": None, "facts": None, "root": None, "passwd": None,
              "group": None}
    values.update({name: str(value) for name, value in given.items()})
    return Arguments(**values)


def data_files(tmp_path):
    (tmp_path / "data.yaml").write_text(DATA)
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP)
    return arguments(data=tmp_path / "data.yaml", passwd=tmp_path / "passwd",
                     group=tmp_path / "group")


def rewrite(path, text):
    """Writes ``text`` over ``path`` until the file's times show it (the clock behind them
    ticks coarsely): a change of the same size is seen by its ctime alone."""
    before = os.stat(path).st_ctime_ns
    deadline = time.monotonic() + 10
    while True:
        path.write_text(text)
        if os.stat(path).st_ctime_ns != before or time.monotonic() > deadline:
            return


def test_a_kept_config_is_the_one_built(tmp_path, cache, built):
    args = data_files(tmp_path)
    first = cached_config.kept_config(args)
    assert [path.name for path in cache.iterdir()] == [cached_config._name(
        cached_config._key(args))]
    again = cached_config.kept_config(args)
    assert len(built) == 1  # the second came from the cache
    assert again == first == inputs.config_from_args(args) and again is not first
    web = again.services["web"]
    assert (web.restart, web.conf[0], web.ready.kind, web.ready.timeout) == (
        (10, 60), "PORT=8080\n", "notify", 90)
    assert again.services["db"].ready.fd == 3
    assert again.users["alice"].home == "/home/alice"


def test_only_what_holds_a_record_is_tagged_and_walked(tmp_path):
    import marshal

    config = inputs.config_from_args(data_files(tmp_path))
    fields = {}
    kept = cached_config._encoded(config, fields)
    assert kept[:2] == (cached_config._RECORD, "Config")
    services = kept[3][config._fields.index("services")]
    assert services[0] == cached_config._DICT and set(services[1]) == set(config.services)
    web = config.services["web"]
    kept_web = services[2]["web"][3]
    assert kept_web[web._fields.index("env")] is web.env  # plain: kept as it is
    assert kept_web[web._fields.index("restart")] is web.restart
    assert kept_web[web._fields.index("ready")][0] == cached_config._READY
    assert cached_config._decoded(marshal.loads(marshal.dumps(kept)), fields) == config
    short = kept[:3] + (kept[3][:-1],)  # a damaged entry: not trusted, built again
    with pytest.raises(ValueError):
        cached_config._decoded(short, fields)


@pytest.mark.parametrize("change", ["edit", "same size", "passwd", "group", "facts"])
def test_any_input_changed_is_read_again(tmp_path, cache, built, change):
    args = data_files(tmp_path)
    (tmp_path / "facts.yaml").write_text("hostname: web01\n")
    args.facts = str(tmp_path / "facts.yaml")
    cached_config.kept_config(args)
    if change == "edit":
        (tmp_path / "data.yaml").write_text(DATA.replace("8080", "9090"))
    elif change == "same size":
        rewrite(tmp_path / "data.yaml", DATA.replace("8080", "9090"))
    elif change == "passwd":
        (tmp_path / "passwd").write_text(PASSWD.replace("/home/alice", "/srv/alice"))
    elif change == "group":
        (tmp_path / "group").write_text(GROUP + "staff:x:50:alice\n")
    else:
        (tmp_path / "facts.yaml").write_text("hostname: web02\n")
    found = cached_config.kept_config(args)
    assert len(built) == 2
    assert found == inputs.config_from_args(args)
    if change in ("edit", "same size"):
        assert found.services["web"].env == {"PORT": "9090"}
    if change == "passwd":
        assert found.users["alice"].home == "/srv/alice"
    if change == "group":
        assert "staff" in found.users["alice"].groups


def hierarchy(tmp_path):
    (tmp_path / "hiera.yaml").write_text(
        "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n"
        "  - {name: nodes, path: 'node.yaml'}\n  - {name: parts, glob: 'service-*.yaml'}\n"
        "  - {name: common, path: common.yaml}\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "common.yaml").write_text("lookup_options:\n  runit::services: {merge: hash}\n"
                                      "runit::services:\n  web: {command: web}\n")
    (data / "service-a.yaml").write_text("runit::services:\n  a: {command: a}\n")
    return arguments(hiera=tmp_path / "hiera.yaml"), data


@pytest.mark.parametrize("change", ["level appears", "glob grows", "glob entry edited",
                                    "glob entry removed", "hiera.yaml"])
def test_a_hierarchy_s_files_and_globs_count(tmp_path, cache, built, change):
    args, data = hierarchy(tmp_path)
    assert sorted(cached_config.kept_config(args).services) == ["a", "web"]
    assert len(list(cache.iterdir())) == 1  # kept
    if change == "level appears":
        (data / "node.yaml").write_text("runit::services:\n  n: {command: n}\n")
        wanted = ["a", "n", "web"]
    elif change == "glob grows":
        (data / "service-b.yaml").write_text("runit::services:\n  b: {command: b}\n")
        wanted = ["a", "b", "web"]
    elif change == "glob entry edited":
        (data / "service-a.yaml").write_text("runit::services:\n  c: {command: c}\n")
        wanted = ["c", "web"]
    elif change == "glob entry removed":
        (data / "service-a.yaml").unlink()
        wanted = ["web"]
    else:
        text = (tmp_path / "hiera.yaml").read_text()
        (tmp_path / "hiera.yaml").write_text(text.replace("  - {name: parts, glob: "
                                                          "'service-*.yaml'}\n", ""))
        wanted = ["web"]
    assert sorted(cached_config.kept_config(args).services) == wanted
    assert len(built) == 2


def test_unchanged_inputs_are_not_read_again(tmp_path, cache, built):
    args, _ = hierarchy(tmp_path)
    for _ in range(3):
        cached_config.kept_config(args)
    assert len(built) == 1


def test_the_host_s_accounts_are_asked_again(tmp_path, cache, built, monkeypatch):
    (tmp_path / "data.yaml").write_text(DATA)
    args = arguments(data=tmp_path / "data.yaml")  # no --passwd: this host's (NSS)
    homes = {"alice": "/home/alice"}
    monkeypatch.setattr(host, "login", lambda name: host.Login(
        name, 1000, 1000, homes[name], "/bin/sh") if name in homes else None)
    monkeypatch.setattr(host, "groups_of", lambda logins: ())
    assert cached_config.kept_config(args).users["alice"].home == "/home/alice"
    assert cached_config.kept_config(args).users["alice"].home == "/home/alice"
    assert len(built) == 1
    homes["alice"] = "/srv/alice"
    assert cached_config.kept_config(args).users["alice"].home == "/srv/alice"
    assert len(built) == 2


def test_what_cannot_be_told_is_not_kept(tmp_path, cache, built, monkeypatch):
    args, data = hierarchy(tmp_path)
    # the host's facts, asked by an interpolation: no file says when they change
    (tmp_path / "hiera.yaml").write_text((tmp_path / "hiera.yaml").read_text().replace(
        "node.yaml", "nodes/%{facts.hostname}.yaml"))
    monkeypatch.setattr("runit_provision.hiera.facts.host_facts", lambda: {"hostname": "h"})
    cached_config.kept_config(args)
    cached_config.kept_config(args)
    assert len(built) == 2 and not list(cache.iterdir())
    # a glob with a wildcard above its last component
    (tmp_path / "hiera.yaml").write_text((tmp_path / "hiera.yaml").read_text().replace(
        "nodes/%{facts.hostname}.yaml", "node.yaml").replace("service-*", "*/service-*"))
    cached_config.kept_config(args)
    assert len(built) == 3 and not list(cache.iterdir())


def test_inputs_changed_just_before_are_not_kept(tmp_path, cache, built, monkeypatch):
    monkeypatch.setattr(cached_config, "RACY_NS", 3600 * 10 ** 9)
    args = data_files(tmp_path)
    cached_config.kept_config(args)
    cached_config.kept_config(args)
    assert len(built) == 2 and not list(cache.iterdir())


def test_bad_data_is_an_error_each_time(tmp_path, cache):
    (tmp_path / "data.yaml").write_text("runit::services:\n  web: {comand: web}\n")
    for _ in range(2):
        with pytest.raises(DataError, match="comand"):
            cached_config.kept_config(arguments(data=tmp_path / "data.yaml"))
    assert not list(cache.iterdir())


def kept_entry(tmp_path, cache):
    args = data_files(tmp_path)
    cached_config.kept_config(args)
    (entry,) = cache.iterdir()
    return args, entry


@pytest.mark.parametrize("harm", ["group-writable", "not root's", "a link", "two links",
                                  "damaged", "another key"])
def test_an_entry_not_root_s_alone_or_not_sound_is_not_trusted(tmp_path, cache, built,
                                                                   harm):
    args, entry = kept_entry(tmp_path, cache)
    if harm == "group-writable":
        entry.chmod(0o620)
    elif harm == "not root's":
        os.chown(entry, 1000, 1000)
    elif harm == "a link":
        target = tmp_path / "elsewhere"
        entry.rename(target)
        entry.symlink_to(target)
    elif harm == "two links":
        os.link(entry, tmp_path / "second")
    elif harm == "damaged":
        entry.write_bytes(entry.read_bytes()[:-40])
    else:
        other = arguments(data=tmp_path / "other.yaml")
        entry.write_bytes(entry.read_bytes().replace(
            os.fsencode(args.data), os.fsencode(other.data)))
    found = cached_config.kept_config(args)
    assert len(built) == 2
    assert found == inputs.config_from_args(args)


@pytest.mark.parametrize("harm", ["group-writable dir", "a parent others may write",
                                  "not root's dir"])
def test_a_directory_others_can_write_is_not_used(tmp_path, cache, built, harm):
    args, _ = kept_entry(tmp_path, cache)
    if harm == "group-writable dir":
        cache.chmod(0o770)
    elif harm == "a parent others may write":
        tmp_path.chmod(0o777)  # not sticky: another account could move the cache away
    else:
        os.chown(cache, 1000, 1000)
    try:
        assert cached_config.cache_directory(os.environ) is None
        cached_config.kept_config(args)
        assert len(built) == 2
    finally:
        tmp_path.chmod(0o700)


def test_not_root_no_cache(tmp_path, cache, built, monkeypatch):
    args, _ = kept_entry(tmp_path, cache)
    monkeypatch.setattr(cached_config.posix, "geteuid", lambda: 1000)
    cached_config.kept_config(args)
    assert len(built) == 2


def test_none_wanted(tmp_path, cache, built, monkeypatch):
    monkeypatch.setenv(cached_config.CACHE_VARIABLE, "")
    args = data_files(tmp_path)
    cached_config.kept_config(args)
    cached_config.kept_config(args)
    assert len(built) == 2 and not cache.exists()


def test_the_code_that_made_it_counts(tmp_path, cache):
    args, entry = kept_entry(tmp_path, cache)
    import marshal
    files = [path for path, _ in marshal.loads(entry.read_bytes())[2]]
    for module in ("schema/services.py", "hiera/lookup.py", "model/__init__.py",
                   "inputs.py", "startup/cached_config.py"):
        assert any(path.endswith("/runit_provision/" + module) for path in files), module
    assert any("/yaml/" in path for path in files)


# -- MAKERS: what the pipeline imports, from the code -----------------------------------------
def stdlib_names():
    """The standard library's top-level module names: sys.stdlib_module_names from 3.10;
    before, the built-in ones and those in the interpreter's own library directories."""
    if hasattr(sys, "stdlib_module_names"):
        return frozenset(sys.stdlib_module_names)
    import pkgutil
    import sysconfig
    library = sysconfig.get_paths()["stdlib"]
    found = {info.name for info in pkgutil.iter_modules(
        [library, os.path.join(library, "lib-dynload")])}
    return frozenset(found | set(sys.builtin_module_names))


STDLIB = stdlib_names()


def pipeline_imports():
    """What the pipeline (runit_provision/inputs.py) imports, directly or through others, a
    lazy import in a function too: (its modules in the package, the packages outside the
    standard library)."""
    graph = import_graph()
    inside = {pipeline.__name__} | reached(graph, pipeline.__name__)
    outside = {target.split(".")[0] for module, path in modules() if module in inside
               for target, _ in imports_of(module, path)
               if target.split(".")[0] not in STDLIB | {PACKAGE}}
    return inside, outside


def loaded_by_a_run(tmp_path):
    """The modules a fresh interpreter loads to read ``data_files``' inputs, each with a file,
    outside the standard library: what a kept Config's entry can stat."""
    args = data_files(tmp_path)
    code = ("import json, sys; before = set(sys.modules); from runit_provision import inputs; "
            "inputs.read(hiera=None, data=%r, facts=None, passwd=%r, group=%r, root=None); "
            "print(json.dumps(sorted(name for name, module in list(sys.modules.items()) "
            "if name not in before and getattr(module, '__file__', None))))"
            % (args.data, args.passwd, args.group))
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True,
                                       capture_output=True, text=True).stdout)
    return {name for name in loaded if name.split(".")[0] not in STDLIB}


def test_every_module_the_pipeline_imports_is_a_maker(tmp_path):
    """A module the pipeline comes to import, in the code or in a run, is in MAKERS: an edit
    of it (an upgrade) makes every kept Config stale. The package's __init__ holds its version
    alone (test_boundaries' room "version")."""
    inside, outside = pipeline_imports()
    loaded = loaded_by_a_run(tmp_path) - {PACKAGE}
    assert "yaml" in outside and pipeline.__name__ in loaded  # what is checked is there
    assert sorted(name for name in inside | outside | loaded
                  if not name.startswith(cached_config.MAKERS)) == []


def test_every_maker_is_imported_by_the_pipeline(tmp_path):
    """And MAKERS names nothing else: each of its prefixes but the cache's own code (how a
    Config is kept and read back) is a module the pipeline imports."""
    inside, outside = pipeline_imports()
    imported = inside | outside | loaded_by_a_run(tmp_path)
    assert [maker for maker in cached_config.MAKERS if maker != cached_config.__name__
            and not any(name.startswith(maker) for name in imported)] == []


def test_at_most_so_many_entries(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(cached_config, "MAX_ENTRIES", 3)
    (tmp_path / "data.yaml").write_text(DATA)
    for number in range(5):
        (tmp_path / ("facts%d.yaml" % number)).write_text("a: %d\n" % number)
        cached_config.kept_config(arguments(data=tmp_path / "data.yaml",
                                          facts=tmp_path / ("facts%d.yaml" % number)))
    assert len(list(cache.iterdir())) == 3
