"""The path users take, for the schema, render and CLI tests: a data file -> ``hiera.load``
-> ``runit_data()`` (both spellings) -> ``schema.config_from_data`` with accounts -> Config.

Facts are an empty dict (never this host's) and the accounts are the small passwd and group
below, so every test gives the same Config on every machine.
"""

import tempfile
from pathlib import Path

from runit_provision.accounts import accounts_from_text
from runit_provision.hiera import load
from runit_provision.render import render
from runit_provision.schema import config_from_data

PASSWD = ("alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
          "www:x:33:33:www-data:/var/www:/usr/sbin/nologin\n")
GROUP = "alice:x:1000:\nwww:x:33:\nstaff:x:50:alice\nadm:x:4:alice,www\n"
ACCOUNTS = accounts_from_text(PASSWD, GROUP)


def config_from_file(path, accounts=ACCOUNTS, facts=None, hiera=None):
    """The Config of a data file (or of a hiera.yaml, ``hiera=``), as ``render`` builds it."""
    found = load(hiera=hiera, data=None if hiera else path,
                 facts={} if facts is None else facts)
    data, origins = found.runit_data()
    return config_from_data(data, origins, accounts)


def config_from_text(text, path=None, accounts=ACCOUNTS):
    """The Config of data ``text``, written to ``path`` (default: a temporary data.yaml)."""
    if path is not None:
        Path(path).write_text(text)
        return config_from_file(path, accounts)
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory) / "data.yaml"
        data.write_text(text)
        return config_from_file(data, accounts)


def tree_from_text(text, **kwargs):
    return render(config_from_text(text), **kwargs)
