"""Where a running local target listens, and whether one runs: cheap to import.

The CLI reads this for every command, so it imports neither the emulator nor the
runner (``deploy.local.target`` re-exports everything here).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from deploy.local.lock import running_holder

INFO_FILE = "target.json"
DEFAULT_STATE_DIR = Path(".ocift")


class TargetInfo(BaseModel):
    """Where a running local target listens (``<state_dir>/target.json``)."""

    state_dir: str
    emulator_endpoint: str
    gateway_url: str
    config_file: str
    profile: str = "DEFAULT"
    namespace: str
    compartment_id: str
    bucket: str
    region: str | None = None
    pid: int
    started_at: str


class TargetNotRunning(FileNotFoundError):
    """No local target runs on the state directory; the message says how to start one."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: start it with `ocift up`")
        self.what = what


class TargetStarting(TargetNotRunning):
    """A target holds the state directory's lock but has not written its ``target.json`` yet:
    the file still describes the previous run, whose ports are dead (issue 27)."""

    def __init__(self, state_dir: str | Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"the local target in {state_dir} is starting ({who}); try again "
                         "in a moment")


def read_info(state_dir: str | Path = DEFAULT_STATE_DIR) -> TargetInfo:
    """The :class:`TargetInfo` a running (or last) target wrote in ``state_dir``."""
    path = Path(state_dir) / INFO_FILE
    if not path.exists():
        raise TargetNotRunning(f"no local target is running in {state_dir} (no {INFO_FILE})")
    return TargetInfo.model_validate_json(path.read_text(encoding="utf-8"))


def running_info(state_dir: str | Path = DEFAULT_STATE_DIR) -> TargetInfo:
    """The :class:`TargetInfo` of the target running on ``state_dir`` now.

    Raises :class:`TargetNotRunning` at once when none runs, even if a stopped or
    killed one left its ``target.json`` (its lock is free), and :class:`TargetStarting`
    while a new one holds the lock but ``target.json`` is still the previous run's (its
    ports are dead): no connection is tried.
    """
    info = read_info(state_dir)
    holder = running_holder(state_dir)
    if holder is None:
        raise TargetNotRunning(
            f"no local target is running in {state_dir} (the last one, pid {info.pid}, "
            f"started {info.started_at}, has stopped)")
    if (holder.pid is not None and holder.pid != info.pid) or (
            holder.started_at is not None and info.started_at < holder.started_at):
        raise TargetStarting(state_dir, holder.pid)  # target.json is the previous run's
    return info


