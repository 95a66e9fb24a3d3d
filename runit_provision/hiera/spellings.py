"""hiera: the runit configuration from either spelling of the data format, as one dict with origins.

The project's one normaliser of the two spellings. The original puppet-runit module's single
hash (``runit: {package_file: …, users: […]}``) and Puppet's automatic-parameter-lookup keys
(``runit::users``, ``runit::services``, …) are both read, each through a normal lookup (so
``lookup_options`` merges apply to ``runit`` and to each ``runit::<param>`` alike), and
normalised to one dict of top-level keys (``runtime``, ``package_file``, ``sv_dir``,
``service_dir``, ``log_dir``, ``sv_timeout``, ``init``, ``users``, ``services``,
``defaults``). Every ``runit::<name>`` key present in any data file is read, known or not, so
the schema sees (and can reject) a misspelt one. Other keys (other classes' data,
``lookup_options``) are not ours and are left out — among them ``runit::<class>::<param>``,
the parameters of the Puppet module's other classes (``runit::install::venv_dir``,
``runit::config::root``, puppet/REFERENCE.md), so one hierarchy serves the module and the CLI.

One setting given in both spellings is a DataError naming both places: neither silently wins,
since a hierarchy that mixes them (``runit.users`` in common.yaml, ``runit::users`` in a node
file) would otherwise merge in a way no Puppet lookup does. Every such setting is named at once.
"""

from ..errors import DataError
from ..source import Origin, type_name

PREFIX = "runit::"


def runit_data(hiera):
    """``(data, origins)``: origins keyed from ``data`` (``("services", "web", "command")``)."""
    data, origins, spelled, problems = {}, {}, {}, []
    legacy = hiera.lookup("runit", explain=False)
    if legacy.found and legacy.value is not None:
        if not isinstance(legacy.value, dict):
            raise DataError("%s: runit: expected a hash of settings, got %s"
                            % (legacy.origins.get(()), type_name(legacy.value)))
        for path, origin in legacy.origins.items():
            if path:
                origins[path] = origin
        for name, value in legacy.value.items():
            data[name] = value
            spelled[name] = ("runit.%s" % name, legacy.origins.get((name,)))
    for key in hiera.keys():
        if not (isinstance(key, str) and key.startswith(PREFIX)):
            continue
        name = key[len(PREFIX):]
        if "::" in name:
            continue  # runit::<class>::<param>: a parameter of the Puppet module's classes
        found = hiera.lookup(key, explain=False)
        if not found.found:
            continue
        where = found.origins.get(())
        if name in data:
            first, first_where = spelled[name]
            problems.append("%s: %s: also given as %s at %s; use one spelling"
                            % (where, key, first, first_where))
            continue
        data[name] = found.value
        spelled[name] = (key, where)
        for path, origin in found.origins.items():
            origins[(name,) + path] = origin
    if problems:
        raise DataError("\n".join(problems))
    if legacy.found and () in legacy.origins:
        origins[()] = legacy.origins[()]
    elif origins:
        origins[()] = Origin(*min(origins.values()))
    return data, origins
