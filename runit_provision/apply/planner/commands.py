"""apply: the planner's commands — initsys's, each placed by what it follows or precedes.

A command runs: first of all (``prepare``: the host is looked at again after it, e.g. a
package installed); just before the first step that changes one of the paths it precedes
(``before``); once one of the paths it follows changed (``after``); or, following nothing,
always (initsys saw it is needed). Under ``--root`` none runs: each that would is a no-op
saying so (``STAGED_COMMAND``).
"""

from ..steps import PATH_ACTIONS, CommandStep, Phase

STAGED_COMMAND = "--root: no command is run"


class CommandsPlanner:
    def __init__(self, draft):
        self.draft = draft

    def plan(self):
        draft = self.draft
        for note in draft.desired.notes:
            draft.noop("runtime", note)
        for path, reason in draft.desired.caveats:
            draft.noop(path, reason)
        for command in draft.desired.commands:
            step = CommandStep(command.argv, command.reason)
            before, after = command.before or (), command.after or ()
            if command.prepare:
                where = draft.phases[Phase.PREPARE], None
            elif before:
                where = self.place_before(set(before))
                if where is None:
                    draft.noop(step.path, "nothing it precedes changes")
                    continue
            elif after and not any(path in draft.touched for path in after):
                draft.noop(step.path, "nothing it follows changed")
                continue
            else:
                where = draft.phases[Phase.COMMANDS], None
            if draft.is_staging:  # it would run: say so, and that it does not
                draft.noop(step.path, STAGED_COMMAND)
            elif where[1] is None:
                where[0].append(step)
            else:
                where[0].insert(where[1], step)

    def place_before(self, paths):
        """``(phase's steps, index)`` of the first step that changes one of ``paths``, or
        None."""
        for phase in Phase:
            steps = self.draft.phases[phase]
            for index, other in enumerate(steps):
                if other.action in PATH_ACTIONS and other.path in paths:
                    return steps, index
        return None
