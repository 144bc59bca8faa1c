"""Function processes die with the target; the next start cleans what a crash left (issue 12.3)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.local.orphans import InstanceRecord, InstanceRegistry, clean_stale, process_start_time
from deploy.local.pdeathsig import ORPHANED_EXIT, wrap_command
from deploy.local.target import LocalTarget
from tests.support.local import children as _children
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    return process_start_time(pid) is not None  # None for a gone process or a zombie


def test_no_function_process_survives_kill_9_of_the_target(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCIFT_")}
    up = subprocess.Popen(
        [sys.executable, "-m", "deploy.local", "up", "--state-dir", str(state), "--quiet",
         "--watch-interval", "0", "--warm"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: (state / "target.json").exists() or up.poll() is not None,
                   "target.json (or `up` to exit)", timeout=120)
        assert up.poll() is None
        records = InstanceRegistry(state).records()
        children = sorted(r.pid for _, r in records if r.pid is not None)
        assert len(children) >= 4 and set(children) <= set(_children(up.pid))
        socket_dirs = [Path(r.socket_dir) for _, r in records]
        assert all(d.is_dir() for d in socket_dirs)
    finally:
        up.kill()  # SIGKILL: no handler, no cleanup in the target
        up.wait()
    wait_until(lambda: not any(_alive(pid) for pid in children),
               lambda: f"the killed target's children to exit: "
                       f"{[pid for pid in children if _alive(pid)]}", timeout=30)
    # The crash left socket dirs and records; the next start removes them.
    assert any(d.exists() for d in socket_dirs)
    with LocalTarget(state, watch_interval=0) as again:
        assert again.cleaned["records"] == len(records)
        assert again.cleaned["socket_dirs"] == len(socket_dirs)
    assert not any(d.exists() for d in socket_dirs)
    assert InstanceRegistry(state).records() == []


def _record(registry: InstanceRegistry, owner: int, owner_started: int | None, pid: int | None,
            started: int | None, socket_dir: Path) -> None:
    registry.record(InstanceRecord(function="f", owner_pid=owner, owner_started=owner_started,
                                   socket_dir=str(socket_dir), pid=pid, started=started))


def test_clean_stale_kills_only_what_a_dead_runner_left(tmp_path: Path) -> None:
    registry = InstanceRegistry(tmp_path)
    dead_owner = subprocess.Popen(["true"])
    dead_owner.wait()
    left = subprocess.Popen(["sleep", "60"], start_new_session=True)
    reused = subprocess.Popen(["sleep", "60"], start_new_session=True)
    mine = subprocess.Popen(["sleep", "60"], start_new_session=True)
    left_dir = Path(tempfile.mkdtemp(prefix="ocift-fn-"))
    reused_dir = Path(tempfile.mkdtemp(prefix="ocift-fn-"))
    mine_dir = Path(tempfile.mkdtemp(prefix="ocift-fn-"))
    try:
        foreign_dir = tmp_path / "ocift-fn-not-in-tempdir"
        foreign_dir.mkdir()
        _record(registry, dead_owner.pid, 1, left.pid, process_start_time(left.pid), left_dir)
        # Same pid but another start time: the pid was reused, never touch it.
        _record(registry, dead_owner.pid, 1, reused.pid, 1, reused_dir)
        # Owned by a live runner (this process): not stale at all.
        _record(registry, os.getpid(), process_start_time(os.getpid()), mine.pid,
                process_start_time(mine.pid), mine_dir)
        _record(registry, dead_owner.pid, 1, None, None, foreign_dir)

        counts = clean_stale(tmp_path)

        assert counts == {"killed": 1, "socket_dirs": 2, "records": 3}
        assert left.wait(timeout=10) == -signal.SIGKILL
        assert reused.poll() is None and mine.poll() is None
        assert not left_dir.exists() and not reused_dir.exists()
        assert mine_dir.exists() and foreign_dir.exists()  # only our own temp dirs go
        assert [r.pid for _, r in registry.records()] == [mine.pid]
    finally:
        for proc in (left, reused, mine):
            proc.kill()
            proc.wait()
        shutil.rmtree(mine_dir, ignore_errors=True)


def test_wrapper_refuses_to_run_an_orphan() -> None:
    # The parent it was told about (pid 1) is not its parent: it must not exec.
    done = subprocess.run(wrap_command(["/bin/echo", "ran"], parent=1), cwd=REPO,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == ORPHANED_EXIT and "ran" not in done.stdout
    ok = subprocess.run(wrap_command(["/bin/echo", "ran"]), cwd=REPO, capture_output=True,
                        text=True, timeout=30)
    assert ok.returncode == 0 and ok.stdout == "ran\n"


def test_child_started_through_the_wrapper_dies_with_its_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent_code = (
        "import subprocess, sys, time\n"
        "from deploy.local.pdeathsig import wrap_command\n"
        "child = subprocess.Popen(wrap_command(['sleep', '60']))\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text() != "",
                   "the child's pid file", timeout=30)
        child = int(pid_file.read_text())
        wait_until(lambda: (Path(f"/proc/{child}/cmdline").read_bytes()
                            .startswith(b"sleep")) if _alive(child) else False,
                   "the child to exec sleep", timeout=30)
    finally:
        parent.kill()
        parent.wait()
    wait_until(lambda: not _alive(child), "the orphaned child to exit", timeout=30)
