"""hiera: data in — a data file or a ``hiera.yaml`` v5 hierarchy, resolved like Puppet's hiera 5.

This room reads YAML with PyYAML (its C composer gives positions, and YAML 1.1 types as
Puppet's Psych reads them: unquoted ``yes``/``off`` are booleans, ``0640`` is octal); it never
validates what the runit settings mean — that is ``schema/``'s job — and the runtime never
imports it.

Public API (stable; ``cli/`` calls exactly this, and hands ``runit_data()`` to the schema)::

    from runit_provision.hiera import load

    hiera = load(hiera="hiera-examples/hiera.yaml",          # or data="one-file.yaml"
                 facts="hiera-examples/facts/web01.yaml")     # None: this host's facts;
                                                              # a dict: those facts
    found = hiera.lookup("runit::services", merge=None)       # merge: None (lookup_options),
                                                              # "first" | "unique" | "hash" |
                                                              # "deep", or {"strategy": "deep",
                                                              # "knockout_prefix": "--", …}
    found.found        # bool
    found.value        # plain data (dict, list, str, int, float, bool, None)
    found.origins      # {key path relative to value: source.Origin(file, line, column)};
                       # () is the key that gave the value, ("web", "command") a key inside
    found.explain      # [str]: each level, path, found / not found, merge used
    found.merge        # the merge behaviour used, as text

    data, origins = hiera.runit_data()
    # both spellings of the data format (``runit: {…}`` and ``runit::<param>``) as ONE dict of top-level
    # keys (runtime, package_file, sv_dir, service_dir, log_dir, sv_timeout, init, users,
    # services, defaults, and any other ``runit::x`` found); origins keyed from that dict,
    # e.g. origins[("services", "web", "command")]. A key given in both spellings is a
    # DataError naming both places. This is the project's only reader of the two spellings:
    # a single data file goes through ``load(data=FILE)`` too.
    schema.config_from_data(data, origins, accounts)   # -> model.Config (cli/ does this)

Every problem is a ``runit_provision.errors.DataError`` whose message names
file:line:column (and the key path where there is one): malformed YAML, a file past the bounds
of ``source.py`` (2 MiB, 200 000 values copied by aliases), a bad hiera.yaml, an interpolation
of an unknown fact (never an empty string), a bad merge option.

Modules: ``facts`` (host facts, facts files), ``config`` (hiera.yaml -> levels), ``interpolation``
(``%{…}``), ``merge`` (first/unique/hash/deep with origins), ``lookup`` (``Hiera``, ``Lookup``),
``spellings`` (the two spellings), ``annotated`` (value + origins helpers).
"""

import os

from ..errors import DataError
from .config import read_levels, single_file_levels
from .facts import TopScope, load_facts_file
from .interpolation import Interpolator
from .lookup import Hiera, Lookup

__all__ = ["load", "Hiera", "Lookup"]


def load(hiera=None, data=None, facts=None):
    """A ``Hiera`` for a hiera.yaml (``hiera``) or a single data file (``data``).

    ``facts``: None for this host's facts, a path to a YAML/JSON facts file, or a dict of
    facts (a ``trusted`` key in the file or dict gives ``$trusted``).
    """
    if (hiera is None) == (data is None):
        raise DataError("give either a hiera.yaml (--hiera FILE) or a data file (--data FILE)")
    if facts is None:
        scope, source = TopScope(), "facts of this host"  # gathered if asked for
    elif isinstance(facts, dict):
        facts_dict = dict(facts)
        scope = TopScope(facts_dict, facts_dict.pop("trusted", None))
        source = "facts given"
    else:
        scope = TopScope(*load_facts_file(facts))
        source = "facts from %s" % os.path.abspath(str(facts))
    interpolator = Interpolator(scope, facts_source=source)
    if hiera is not None:
        levels = read_levels(hiera, interpolator)
        description = "hiera %s" % os.path.abspath(str(hiera))
    else:
        levels = single_file_levels(data)
        description = "data %s" % os.path.abspath(str(data))
    return Hiera(levels, interpolator, description)
