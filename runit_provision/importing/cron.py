"""importing: crontab files -> timer services (docs/import.md, "From crontab files"); pure.

A crontab's text in (``/etc/crontab`` and ``/etc/cron.d/*`` with the user field, a user's
``/var/spool/cron/crontabs/LOGIN`` without), a ``CronTable`` out: each job line with the
environment cron gives it at that line, the mail settings, and the lines refused, each at
its ``file:line`` with why. ``services_of`` turns the jobs into services' data, named from
their commands. The rules are Debian's cron's (crontab(5), cron 3.0pl1):

- blank lines and lines whose first non-blank is ``#`` are skipped;
- ``NAME = value`` (blanks around ``=`` optional; the value's blanks at its end dropped unless
  it is quoted, ``'…'`` or ``"…"``) sets a variable for the lines **after** it; so do cron's
  mail settings (``MAILTO``…), which are not carried but named beside each job they reach;
- a job is five time fields (or one ``@`` word), the user (system crontabs), and the command:
  the rest of the line, run by ``$SHELL -c`` (``/bin/sh`` unless ``SHELL=``) in the user's
  home, with ``SHELL``, ``PATH`` (``/usr/bin:/bin`` unless set), ``HOME``, ``LOGNAME`` and
  ``USER`` set as cron sets them;
- in the command, the first ``%`` not escaped (``\\%``) ends it: the rest is its standard
  input, each further ``%`` not escaped a newline; ``\\%`` is ``%``.
"""

import hashlib
import re

from ..schema.services import is_env_name

SHELL = "/bin/sh"
ENV = "/usr/bin/env"  # sets a variable env/ cannot carry, then runs the command
CRON_PATH = "/usr/bin:/bin"   # Debian's cron's PATH for a job when the crontab sets none
MAIL_SETTINGS = ("MAILTO", "MAILFROM", "CONTENT_TYPE", "CONTENT_TRANSFER_ENCODING")
_ENV_LINE = re.compile(r"[ \t]*([^ \t=]+)[ \t]*=[ \t]*(.*)\Z")
_GUARDS = {"test", "[", "[[", "cd", "true", ":"}  # a clause that names no job
_WRAPPERS = {"exec", "nice", "ionice", "chronic", "command", "nohup"}  # run the next word


class CronJob:
    """One job line: ``where`` (file:line), ``schedule`` (the five fields joined by a blank,
    or the ``@`` word; None for ``@reboot``), ``user`` (None in a user's crontab),
    ``command`` (the shell command, ``%`` rules applied), ``stdin`` (None, or the text after
    its first ``%``), ``env`` (the crontab's variables set before the line), ``line`` (the
    line as written), ``mail`` (the mail settings set before the line: [(NAME, value,
    where)])."""

    def __init__(self, where, schedule, user, command, stdin, env, line, mail=()):
        self.where, self.schedule, self.user = where, schedule, user
        self.command, self.stdin, self.env, self.line = command, stdin, env, line
        self.mail = list(mail)


class CronTable:
    """A crontab read: ``jobs`` [CronJob], ``mail`` [(NAME, value, where)] (cron's mail
    settings, not carried), ``refused`` [(file:line, why)]."""

    def __init__(self):
        self.jobs, self.mail, self.refused = [], [], []


def read_crontab(text, file_name, system=True):
    """The CronTable of a crontab's ``text``; ``system``: its lines have the user field."""
    from ..protocol.schedule import ScheduleError, parse_schedule
    table, env, mail = CronTable(), {}, {}
    for number, line in enumerate(text.split("\n"), 1):
        where = "%s:%d" % (file_name, number)
        stripped = line.strip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        setting = _ENV_LINE.match(line)
        if setting and not _looks_like_a_job(stripped):
            name, value = setting.group(1), _env_value(setting.group(2))
            if name in MAIL_SETTINGS:
                table.mail.append((name, value, where))
                mail = dict(mail, **{name: (name, value, where)})
            elif not is_env_name(name):
                table.refused.append((where, "%s=%s: not a variable name the data can "
                                             "carry (env keys are letters, digits and _)"
                                             % (name, value)))
            else:
                env = dict(env, **{name: value})
            continue
        count = 1 if stripped.startswith("@") else 5
        words = stripped.split(None, count + (1 if system else 0))
        if len(words) < count + (2 if system else 1):
            table.refused.append((where, "%s: not a job (%s%s and a command) nor a "
                                         "NAME=value line" % (
                                             stripped, "an @ word" if count == 1 else
                                             "five time fields", ", the user" if system
                                             else "")))
            continue
        schedule = " ".join(words[:count])
        user = words[count] if system else None
        command_text = words[-1]
        if schedule.lower() == "@reboot":
            schedule = None
        else:
            try:
                parse_schedule(schedule)
            except ScheduleError as exc:
                table.refused.append((where, "%s: %s" % (schedule, exc)))
                continue
        try:
            command, stdin = split_percent(command_text)
        except ValueError as exc:
            table.refused.append((where, "%s: %s" % (command_text, exc)))
            continue
        table.jobs.append(CronJob(where, schedule, user, command, stdin, env, stripped,
                                  mail.values()))
    return table


def mail_said(name, value, where):
    """What is said of a mail setting (stderr, and beside each job it reaches)."""
    return "%s: %s=%s: not carried: a job's output goes to its service's log (svlogd), not " \
        "by mail" % (where, name, value)


def _looks_like_a_job(stripped):
    """A NAME=value line cannot start with a time field: ``*/5=x`` is no variable."""
    return stripped[:1] in "*@" or stripped[:1].isdigit()


def _env_value(value):
    """cron's value: its blanks at the end dropped; quoted ('…' or "…"), the quotes removed
    and the blanks inside kept."""
    value = value.rstrip(" \t")
    if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
        return value[1:-1]
    return value


def split_percent(text):
    """cron's ``%`` rules: the command before the first ``%`` not escaped, and the standard
    input after it (None without one), each further ``%`` not escaped a newline; ``\\%`` is
    ``%``. A doubled backslash is refused (ValueError): cron's versions differ on whether
    ``\\\\`` stays two backslashes or becomes one, so the command cannot be carried exactly.

    >>> split_percent(r'mail -s "10pm" joe%Joe,%%Where are your kids?%')
    ('mail -s "10pm" joe', 'Joe,\\n\\nWhere are your kids?\\n')
    >>> split_percent(r"date +\\%F")
    ('date +%F', None)
    """
    if "\\\\" in text:
        raise ValueError("a doubled backslash (\\\\): cron's versions differ on what it "
                         "becomes before a % — write the command in a script and run that")
    command, stdin, index = [], None, 0
    while index < len(text):
        char = text[index]
        if char == "\\" and text[index + 1:index + 2] == "%":
            (command if stdin is None else stdin).append("%")
            index += 2
            continue
        if char == "%":
            if stdin is None:
                stdin = []
            else:
                stdin.append("\n")
        else:
            (command if stdin is None else stdin).append(char)
        index += 1
    return "".join(command), None if stdin is None else "".join(stdin)


# -- the services ------------------------------------------------------------------------------
def services_of(jobs, home_of, tree_user=None):
    """[(name, data, notes, file:line)] of ``jobs`` [(CronJob, file name)]: one timer service each (a
    one-shot for ``@reboot``), named by ``names_of``; ``home_of(login)`` -> the home, or None
    when the accounts do not know the login; ``tree_user``: the login whose own tree the jobs
    go to (a user's crontab: no ``user`` key)."""
    from ..render.environment import shell_quote
    out = []
    for (job, _file), name in zip(jobs, names_of(jobs)):
        login = job.user or tree_user
        notes = []
        shell = job.env.get("SHELL", SHELL)
        env = {"SHELL": shell, "PATH": CRON_PATH}
        home = home_of(login) if login else None
        if home is not None:
            env["HOME"] = home
        elif login:
            notes.append("HOME not set: %s is not in the accounts (cron sets it from "
                         "passwd)" % login)
        env.update((key, value) for key, value in job.env.items())
        if login:  # cron forces LOGNAME (and USER) to the crontab's owner
            env["LOGNAME"] = env["USER"] = login
        data = {}
        if job.stdin is None:
            data["command"] = [shell, "-c", job.command]
        else:
            data["command"] = [SHELL, "-c", "printf %%s %s | %s -c %s" % (
                shell_quote(job.stdin), shell_quote(shell), shell_quote(job.command))]
            notes.append("its standard input (after the first %%): %r, given by printf"
                         % job.stdin)
        kept = {key: value for key, value in env.items() if value != value.rstrip(" \t")}
        if kept:  # an env/ file cannot end in blanks (chpst -e cuts them): env(1) sets them
            for key in kept:
                del env[key]
            data["command"] = [ENV] + ["%s=%s" % item for item in kept.items()] + \
                data["command"]
            notes.append("%s: %s value ends in blanks, which an env/ file cannot keep (chpst "
                         "-e cuts them): set by %s before the command" % (
                             ", ".join(kept), "its" if len(kept) == 1 else "each",
                             ENV))
        notes += [mail_said(*item) for item in job.mail]
        if job.user and job.user != "root" and tree_user is None:
            data["user"] = job.user
        if env.get("HOME"):
            data["cwd"] = env["HOME"]  # cron runs a job in its HOME
        data["env"] = env
        if job.schedule is None:
            data["oneshot"] = True
            notes.append("@reboot: a one-shot (oneshot: true), run once when the tree starts")
        else:
            data["schedule"] = job.schedule
        if "run-parts" in job.command.split():
            notes.append("runs run-parts: carried as is (the scripts in its directory run in "
                         "turn, as cron runs them)%s" % (
                             "; it does nothing when anacron is installed (test -x "
                             "/usr/sbin/anacron): anacron's own job then runs that directory"
                             if "/usr/sbin/anacron" in job.command else ""))
        notes.insert(0, "from %s: %s" % (job.where, job.line.replace("\t", " ")))
        out.append((name, data, notes, job.where))
    return out


def names_of(jobs):
    """A service name for each of ``jobs`` [(CronJob, file name)], from its command
    (``slug_of``); where two would have one name, each of them gets a short hash of its file
    and line (``backup-1a2b3c``), so a name does not change when other lines do."""
    slugs = [slug_of(job.command) for job, _file in jobs]
    names = []
    for (job, file_name), slug in zip(jobs, slugs):
        if slugs.count(slug) == 1:
            names.append(slug)
            continue
        digest = hashlib.sha256(("%s\n%s" % (file_name, job.line)).encode()).hexdigest()
        name = "%s-%s" % (slug, digest[:6])
        while name in names:  # the same line twice in one file
            name += "-2"
        names.append(name)
    return names


def slug_of(command):
    """A service name from a command: the directory ``run-parts`` runs (``cron-daily``),
    else the program of its first clause that is not a guard (``test``, ``cd``…)."""
    import shlex
    try:
        words = shlex.split(command, comments=False, posix=True)
    except ValueError:
        words = command.split()
    if "run-parts" in words:
        paths = [word for word in words[words.index("run-parts") + 1:]
                 if not word.startswith("-")]
        if paths:
            return _slug(paths[0].rstrip(";}").rstrip("/").rsplit("/", 1)[-1])
    clause = []
    for word in words + [";"]:
        if word in ("&&", "||", ";", "|", "{", "}", "(", ")") or word.endswith(";"):
            program = [part for part in clause if not re.match(r"[A-Za-z_]\w*=", part)]
            while program and program[0] in _WRAPPERS:  # nice -n 19 updatedb: updatedb
                program = program[1:]
                while program and (program[0].startswith("-") or program[0].isdigit()):
                    program = program[1:]
            if program and program[0].rsplit("/", 1)[-1] not in _GUARDS:
                return _slug(program[0].rsplit("/", 1)[-1])
            clause = []
        else:
            clause.append(word)
    return "cron"


def _slug(text):
    slug = re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")
    return slug[:40].strip("-") or "cron"
