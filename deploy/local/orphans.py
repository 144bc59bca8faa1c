"""Function processes never outlive the target, and a crash leaves nothing behind for long.

Two mechanisms:

* **Parent-death signal.** Every fdk process is started through
  :mod:`deploy.local.pdeathsig`, so Linux SIGKILLs it when its parent dies.
  Linux sends that signal when the *thread* that forked the child ends, so the
  runner forks from one long-lived thread (:class:`Spawner`), never from a
  short-lived request thread.
* **Instance records.** Before a process starts, the runner writes
  ``<state>/runner/instances/<socket dir name>.json`` (:class:`InstanceRecord`):
  the runner's pid and start time, the socket directory, then the child's pid
  and start time. A clean stop deletes it. :func:`clean_stale` (called when a
  target starts) kills what a dead runner left running (only when pid *and*
  start time still match, so a reused pid is never touched) and removes the
  socket directories it created (only ``ocift-fn-*`` directories in the temp
  dir, never anything else).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from deploy.local.pdeathsig import wrap_command

log = logging.getLogger("ocift.local.orphans")

SOCKET_DIR_PREFIX = "ocift-fn-"
RECORDS_DIR = Path("runner") / "instances"


class InstanceRecord(BaseModel):
    """One function process as its runner recorded it."""

    function: str
    owner_pid: int
    owner_started: int | None
    socket_dir: str
    pid: int | None = None
    started: int | None = None


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22).

    None when the process does not exist, is a zombie, or ``/proc`` is absent.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19])


def _same_process(pid: int | None, started: int | None) -> bool:
    return pid is not None and started is not None and process_start_time(pid) == started


class Spawner:
    """Starts child processes from one thread that lives until :meth:`close`.

    PR_SET_PDEATHSIG fires when the forking *thread* exits; a gateway or router
    thread may end at any time, this one only when the runner stops (after its
    processes). A closed spawner starts a new thread on the next :meth:`popen`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def popen(self, command: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fn-spawner")
            pool = self._pool
        wrapped = wrap_command(command)

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(wrapped, **kwargs)

        return pool.submit(spawn).result()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class InstanceRegistry:
    """The instance records of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / RECORDS_DIR
        self._lock = threading.Lock()

    def _path(self, socket_dir: Path) -> Path:
        return self.dir / f"{socket_dir.name}.json"

    def record(self, rec: InstanceRecord) -> None:
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self._path(Path(rec.socket_dir))
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as sink:
                sink.write(rec.model_dump_json())
            os.replace(tmp, path)

    def forget(self, socket_dir: Path) -> None:
        with self._lock:
            self._path(socket_dir).unlink(missing_ok=True)

    def records(self) -> list[tuple[Path, InstanceRecord]]:
        out = []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                out.append((path, InstanceRecord.model_validate_json(path.read_bytes())))
            except (OSError, ValueError):
                log.warning("unreadable instance record ignored", extra={"path": str(path)})
        return out


def new_record(function: str, socket_dir: Path) -> InstanceRecord:
    me = os.getpid()
    return InstanceRecord(function=function, owner_pid=me, owner_started=process_start_time(me),
                          socket_dir=str(socket_dir))


def _our_socket_dir(path: Path) -> bool:
    """Only a directory this module could have created: ``<tempdir>/ocift-fn-*``."""
    return (path.name.startswith(SOCKET_DIR_PREFIX) and path.is_dir() and not path.is_symlink()
            and path.parent.resolve() == Path(tempfile.gettempdir()).resolve())


def clean_stale(state_dir: Path) -> dict[str, int]:
    """Kill processes and remove socket dirs a dead runner of ``state_dir`` left behind.

    Records of a live runner (this process or another) are left alone.
    Returns counts: ``{"killed": n, "socket_dirs": n, "records": n}``.
    """
    registry = InstanceRegistry(state_dir)
    counts = {"killed": 0, "socket_dirs": 0, "records": 0}
    for path, rec in registry.records():
        if _same_process(rec.owner_pid, rec.owner_started):
            continue
        if _same_process(rec.pid, rec.started):
            assert rec.pid is not None
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(rec.pid, signal.SIGKILL)  # it leads its own session and group
                counts["killed"] += 1
        socket_dir = Path(rec.socket_dir)
        if _our_socket_dir(socket_dir):
            shutil.rmtree(socket_dir, ignore_errors=True)
            counts["socket_dirs"] += 1
        path.unlink(missing_ok=True)
        counts["records"] += 1
    if counts["records"]:
        log.info("cleaned up after a previous run", extra=counts)
    return counts
