"""runtime: ``runsv DIR`` — supervise one service directory (and its log), as runit's runsv.

Exit codes: 0 after ``x`` or SIGTERM, 1 on usage, 111 on a startup error such as another
runsv holding the lock.
"""

import gc
import os
import signal
import sys

from ..errors import FatalError
from .unix.diag import fatal
from .unix.procname import show_program
from .supervision.engine.loop import EventLoop
from .supervision.engine.supervisor import Supervisor
from .supervision.engine.spawn import Spawner


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "runsv")
    if len(argv) != 2:
        os.write(2, b"usage: runsv dir\n\n")
        return 1
    directory = argv[1]
    label = "runsv " + directory
    # runsv dies of SIGINT like any C program; Python would raise KeyboardInterrupt instead.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        os.chdir(directory)  # children and /proc/PID/cwd see the service dir, as with runit
    except OSError as exc:
        # Not later: Supervisor(".") would open the caller's directory and supervise that.
        fatal(label, "unable to change to directory", exc)
        return 111
    loop = EventLoop()
    service = Supervisor(loop, ".", Spawner(), label=label, on_exit=lambda _: loop.stop())
    try:
        service.open()
    except FatalError as exc:
        fatal(label, str(exc))
        return 111
    loop.add_signal_handler(signal.SIGTERM, service.terminate)
    service.start()
    # Everything start-up made (modules, the supervisor) lives as long as runsv: frozen, the
    # collector never walks it again, so no restart waits on a full collection of it
    # (bench/RESULTS.md, row 63).
    gc.freeze()
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
