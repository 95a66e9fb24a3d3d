"""Shared by the render tests: data text -> Config -> Tree (``tests/pipeline.py``), a fake
bin dir."""

from ..pipeline import ACCOUNTS, config_from_file, config_from_text, tree_from_text  # noqa: F401

# A stand-in for chpst/sv/svlogd/curl/…: prints its name and arguments, NUL-separated.
ARGV_TOOL = "#!/bin/sh\nprintf '%s\\0' \"${0##*/}\" \"$@\"\n"


def text_of(tree, path):
    return tree[path].content.decode("utf-8")


def make_argv_bin(directory, names=("chpst", "sv", "svlogd", "curl", "nc", "argv")):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        tool = directory / name
        tool.write_text(ARGV_TOOL)
        tool.chmod(0o755)
    return directory
