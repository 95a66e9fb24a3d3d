"""Shared by the render tests: data text -> Config -> Tree, and a fake bin dir."""

from runit_provision.model import model_from_data, runit_data_from_file
from runit_provision.render import render
from runit_provision.source import load_yaml_with_origins

PASSWD = {"alice": (1000, 1000, "/home/alice"), "www": (33, 33, "/var/www")}
GROUP = [("alice", 1000, []), ("www", 33, []), ("staff", 50, ["alice"]),
         ("adm", 4, ["alice", "www"])]
# A stand-in for chpst/sv/svlogd/curl/…: prints its name and arguments, NUL-separated.
ARGV_TOOL = "#!/bin/sh\nprintf '%s\\0' \"${0##*/}\" \"$@\"\n"


def config_from_text(text, path="data.yaml"):
    data, origins = load_yaml_with_origins(path, text=text)
    data, origins = runit_data_from_file(data, origins)
    return model_from_data(data, origins, passwd=PASSWD, group=GROUP)


def tree_from_text(text, **kwargs):
    return render(config_from_text(text), **kwargs)


def text_of(tree, path):
    return tree[path].content.decode("utf-8")


def make_argv_bin(directory, names=("chpst", "sv", "svlogd", "curl", "nc", "argv")):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        tool = directory / name
        tool.write_text(ARGV_TOOL)
        tool.chmod(0o755)
    return directory
