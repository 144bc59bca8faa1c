"""``python -m deploy.local.pdeathsig PARENT_PID -- COMMAND...``: run COMMAND, dying with PARENT.

Asks Linux to SIGKILL this process when its parent dies (``prctl(2)``,
``PR_SET_PDEATHSIG``), checks the parent is still alive (it may have died
before the signal was armed), then ``exec``s COMMAND in place: the setting
survives ``execve`` of an ordinary (not set-user-ID) program. This is an exec
wrapper rather than a ``preexec_fn`` because ``preexec_fn`` is not safe in a
threaded parent (see the ``subprocess`` docs). Standard library only, so the
wrapper adds a few milliseconds to a cold start. Elsewhere than Linux it
only execs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

#: prctl(2) option number (linux/prctl.h).
_PR_SET_PDEATHSIG = 1
#: Exit status when the parent was already gone (EX_SOFTWARE would mislead; this is 'orphaned').
ORPHANED_EXIT = 70


def wrap_command(command: Sequence[str], parent: int | None = None) -> list[str]:
    """``command`` run so that it dies with ``parent`` (default: this process)."""
    return [sys.executable, "-m", "deploy.local.pdeathsig",
            str(parent if parent is not None else os.getpid()), "--", *command]


def arm(parent: int) -> None:
    """Die by SIGKILL when the parent dies; exit now if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        raise SystemExit(ORPHANED_EXIT)


def main(argv: Sequence[str]) -> None:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        raise SystemExit("usage: python -m deploy.local.pdeathsig PARENT_PID -- COMMAND...")
    arm(int(argv[0]))
    command = list(argv[2:])
    os.execvp(command[0], command)  # noqa: S606 -- exec in place is the point: same pid, no shell


if __name__ == "__main__":
    main(sys.argv[1:])
