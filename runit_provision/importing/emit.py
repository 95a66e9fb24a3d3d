"""importing: the imported data as YAML, with what the operator needs to know as comments.

Either spelling (docs/data-format.md): ``runit: {services: …}`` or the class parameters
``runit::services``. Scripts are literal blocks (``|``) where YAML allows one. Hiera
interpolates ``%{…}`` in every string it reads, so a literal ``%{`` is written
``%{literal('%')}{`` — the data reads back as exactly what was found. A comment is one line
that cannot act on a terminal (``shown.shown_line``, and YAML's own line breaks U+2028 and
U+2029 escaped): a name from the host — a file a user put in their ``env/`` — can neither
end it and write data after it, nor act on a terminal; what needs no escape (a crontab's
``\\%``, a tab) is shown as written. Pure.
"""

import yaml

from ..shown import shown_line

SPELLINGS = ("runit", "params")
INTERPOLATION = "%{"
ESCAPED = "%{literal('%')}{"


def escaped(value):
    """``value`` with every string's ``%{`` escaped for hiera, recursively.

    >>> escaped({"run": "echo %{x}", "env": {"A": None}})
    {'run': "echo %{literal('%')}{x}", 'env': {'A': None}}
    """
    if isinstance(value, str):
        return value.replace(INTERPOLATION, ESCAPED)
    if isinstance(value, dict):
        return {key: escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escaped(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks; keys in the order they were given."""

    def analyze_scalar(self, scalar):
        """PyYAML's analysis, a tab counted as the blank it is: YAML keeps a tab inside a
        literal block as written (only indentation must be spaces), and shell scripts are
        full of them — without this, every such script would be one double-quoted line.
        A single line keeps PyYAML's own analysis: a tab in a plain scalar is one PyYAML's
        pure loader refuses, so such a line is quoted."""
        if "\n" not in scalar:
            return super().analyze_scalar(scalar)
        analysis = super().analyze_scalar(scalar.replace("\t", " "))
        analysis.scalar = scalar
        return analysis


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(value, indent):
    """``value`` as YAML, every line indented by ``indent`` spaces."""
    text = yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


# YAML 1.1's line breaks that shown_line keeps (NEL is a C1 control: escaped already)
_YAML_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029"})


def comment(lines, indent):
    r"""Each line a comment, escaped.

    >>> print(comment(["env/nl\nfake: line would be removed", "date +\\%F\u2028x: 1"], 2),
    ...       end="")
      # env/nl\nfake: line would be removed
      # date +\%F\u2028x: 1
    """
    pad = " " * indent
    return "".join("%s# %s\n" % (pad, shown_line(line).translate(_YAML_BREAKS))
                   for line in lines)



def service_comment(name, notes):
    """What was recognised, kept verbatim (and why), and what plan would still change."""
    lines = []
    lines.append("%s: recognised %s" % (name, ", ".join(notes.recognised) or "nothing"))
    if notes.scripts:
        lines.append("  scripts, kept as written: %s" % ", ".join(notes.scripts))
    if notes.carried:
        lines.append("  carried as they are: %s" % ", ".join(notes.carried))
    for key, why in notes.verbatim.items():
        lines.append("  %s kept as written: %s" % ("log/run" if key == "log" else key, why))
    for change in notes.changes:
        lines.append("  plan would change: %s" % change)
    lines += ["  %s" % line for line in notes.said]
    lines += ["  not carried (apply leaves it as it is): %s" % line
              for line in notes.not_carried]
    return lines


def document(settings_data, services, spelling, header=(), users=()):
    """The YAML text: ``settings_data`` (top-level keys), ``services`` [(name, data, notes)],
    ``users`` [(login, entry keys, notes, services)]."""
    if spelling not in SPELLINGS:
        raise ValueError("spelling: runit or params, not %r" % spelling)
    out = [comment(header, 0)] if header else []
    if spelling == "runit":
        out.append("runit:\n")
        if settings_data:
            out.append(dump(escaped(settings_data), 2))
        if users:
            out.append("  users:\n")
            out += _users(users, 4)
        out.append("  services:\n")
        indent = 4
    else:
        for key, value in settings_data.items():
            out.append(dump({"runit::" + key: escaped(value)}, 0))
        if users:
            out.append("runit::users:\n")
            out += _users(users, 2)
        out.append("runit::services:\n")
        indent = 2
    if not services:
        out[-1] = out[-1].rstrip("\n") + " {}\n"
    out += _services(services, indent)
    return "".join(out)


def _services(services, indent):
    out = []
    for name, data, notes in services:
        out.append(comment(service_comment(name, notes), indent))
        out.append(dump({name: escaped(data)}, indent))
    return out


def _users(users, indent):
    out = []
    for login, entry, notes, services in users:
        lines = ["%s: a user's tree (runsvdir-%s), %d services" % (login, login,
                                                                 len(services))]
        lines += ["  plan would change: %s" % change for change in notes.changes]
        out.append(comment(lines, indent))
        out.append(dump({login: escaped(entry)}, indent).rstrip("\n") + "\n")
        out.append(" " * (indent + 2) + "services:%s\n" % ("" if services else " {}"))
        out += _services(services, indent + 4)
    return out
