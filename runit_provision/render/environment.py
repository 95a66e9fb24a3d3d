"""render: the Jinja2 environment — template lookup, StrictUndefined, the quoting filters.

Templates come from a user directory (``--templates DIR``) first, then the packaged ones:
``runit_provision/_templates`` in a wheel (pyproject maps the top-level ``templates/`` there),
or ``templates/`` of a source checkout. Every value a template interpolates into shell goes
through ``sh`` (quote unless it is a simple word) or ``word`` (refuse anything but a simple
word: for a user's template where the output must stay in the canonical ``log/run`` form);
both ask ``protocol.canonical.is_simple_word``, the rule the schema and the runtime share.
"""

import os.path

import jinja2

from ..errors import RenderError
from ..protocol.canonical import is_simple_word


def shell_quote(value):
    """``value`` as one sh word: unchanged if simple, else single-quoted (a quote as '"'"').

    >>> print(shell_quote("/usr/bin/web"), shell_quote("$(touch x)"), shell_quote("it's"))
    /usr/bin/web '$(touch x)' 'it'"'"'s'
    """
    if isinstance(value, bool) or value is None:
        raise RenderError("refusing to quote %r" % (value,))
    value = str(value)
    if "\0" in value:
        raise RenderError("a NUL byte cannot be passed to a shell: %r" % value)
    if is_simple_word(value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def simple_word(value):
    """``value`` unchanged if it is a simple word; RenderError otherwise (never quoted)."""
    value = str(value)
    if not is_simple_word(value):
        raise RenderError("%r is not a simple word (letters, digits, _ . / : @ %% + , = -)"
                          % value)
    return value


def packaged_templates():
    """The directory of the bundled templates (a path string)."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    candidates = (os.path.join(package, "_templates"),
                  os.path.join(os.path.dirname(package), "templates"))
    for candidate in candidates:
        if os.path.isfile(os.path.join(candidate, "run.j2")):
            return candidate
    raise RenderError("the packaged templates are missing (looked in %s and %s)" % candidates)


class _Environment(jinja2.Environment):
    """Jinja2's Environment with templates' globals in a plain dict.

    Jinja2 gives each template a ``ChainMap`` of its globals over the environment's, so that a
    global set later reaches templates already loaded, and every render copies that ChainMap
    into the new context: most of the render of a small template such as log/run.j2 (three
    renders per service). Our globals are Jinja2's defaults and never change
    after ``make_environment``, so a dict of the same names and values renders the same."""

    def make_globals(self, d):
        return {**self.globals, **(d or {})}


def make_environment(user_templates=None):
    """The environment of one render. ``auto_reload=False``: templates do not change during a
    render, so a template once loaded is not stat'ed again on each use (three per service)."""
    search = [str(user_templates)] if user_templates else []
    search.append(str(packaged_templates()))
    env = _Environment(
        loader=jinja2.FileSystemLoader(search), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, autoescape=False, trim_blocks=True, lstrip_blocks=True,
        auto_reload=False)
    env.filters["sh"] = shell_quote
    env.filters["word"] = simple_word
    return env


def render_template(env, name, context):
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError("template %s: %s" % (name, exc)) from exc


def render_file_template(env, path, context):
    """A user template named by a service's ``template:`` key (a file path)."""
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
    except OSError as exc:
        raise RenderError("template %s: cannot read: %s" % (path, exc)) from exc
    try:
        return env.from_string(source).render(**context)
    except jinja2.TemplateError as exc:
        raise RenderError("template %s: %s" % (path, exc)) from exc
