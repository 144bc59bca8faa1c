"""One running target per state directory, and a cheap "is it running?" for every command.

A running target holds an exclusive ``flock`` on ``<state>/target.lock`` and writes its
pid and start time into it. The kernel drops the lock when the process ends however it
ends (Ctrl-C, SIGTERM, ``kill -9``), so a lock that can be taken means nothing runs,
whatever ``target.json`` a previous run left behind. Checking costs one ``open`` and one
non-blocking ``flock``: no network call, no SDK retry.

A check takes a *shared* lock for an instant; a target starting at that very moment
retries its exclusive lock for :data:`ACQUIRE_GRACE` seconds before it gives up, so a
concurrent ``ocift status`` never stops an ``ocift up``.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = "target.lock"
ACQUIRE_GRACE = 1.0  # seconds a starting target waits out a concurrent check


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock: read from the lock file."""

    pid: int | None
    started_at: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "another process"
        return f"pid {self.pid}" + (f", started {self.started_at}" if self.started_at else "")


class TargetAlreadyRunning(RuntimeError):
    """Another target runs on this state directory; the message names it."""

    def __init__(self, state_dir: Path, holder: Holder) -> None:
        self.state_dir = state_dir
        self.holder = holder
        super().__init__(
            f"a local target is already running on {state_dir} ({holder.describe()}): "
            "use it (ocift status / upload / ask), or stop it first (Ctrl-C in its terminal"
            + (f", or kill {holder.pid}" if holder.pid else "")
            + "), or start another one with --state-dir DIR")


def _read_holder(fd: int) -> Holder:
    try:
        raw = os.pread(fd, 4096, 0)
        doc = json.loads(raw) if raw.strip() else {}
    except (OSError, ValueError):
        doc = {}
    pid = doc.get("pid") if isinstance(doc, dict) else None
    started = doc.get("started_at") if isinstance(doc, dict) else None
    return Holder(pid if isinstance(pid, int) else None,
                  started if isinstance(started, str) else None)


class TargetLock:
    """The exclusive lock a running target holds on its state directory."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, grace: float = ACQUIRE_GRACE) -> None:
        """Take the lock or raise :class:`TargetAlreadyRunning` naming the holder."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + grace
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise TargetAlreadyRunning(self.state_dir, holder) from None
                time.sleep(0.05)
        doc = {"pid": os.getpid(),
               "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(doc).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing drops the flock


def running_holder(state_dir: str | Path) -> Holder | None:
    """The holder of ``state_dir``'s lock if a target runs there now, else None.

    Never blocks and never talks to the network.
    """
    path = Path(state_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
