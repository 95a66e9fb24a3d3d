"""hiera: data in — a data file or a ``hiera.yaml`` v5 hierarchy, resolved like Puppet's hiera 5.

This room reads YAML with PyYAML (its C composer gives positions, and YAML 1.1 types as
Puppet's Psych reads them: unquoted ``yes``/``off`` are booleans, ``0640`` is octal); it never
validates what the runit settings mean — that is ``schema/``'s job — and the runtime never
imports it.

Public API (``cli/`` calls exactly this)::

    hiera = load(hiera="hiera-examples/hiera.yaml",      # or data="one-file.yaml"
                 facts="hiera-examples/facts/web01.yaml") # None: this host's; a dict: those
    found = hiera.lookup("runit::services", merge=None)   # None: lookup_options; "first",
                                                          # "unique", "hash", "deep" or a dict
    found.found, found.value, found.origins, found.explain, found.merge
    data, origins = hiera.runit_data()                    # both spellings as one dict
    schema.config_from_data(data, origins, accounts)      # -> model.Config

``origins`` maps a key path (``("services", "web", "command")``) to its file, line and column.
``runit_data`` is the only reader of the data's two spellings (``runit: {…}`` and
``runit::<param>``); a key given in both is an error naming both places. Every problem is a
``DataError`` naming file:line:column (and the key path): malformed YAML, a file past
``source.py``'s bounds, a bad hiera.yaml, an unknown fact interpolated, a bad merge option.
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
