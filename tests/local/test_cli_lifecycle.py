"""Issue 15, through the real ``ocift`` command: one target per state directory, dead
letters shown per dataset and redriven, and one readable line per stage outcome in the
foreground of ``ocift up`` with the function logs written once."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.lock import TargetAlreadyRunning, running_holder
from deploy.local.target import LocalTarget, read_info
from tests.support.local import calls, make_fn
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
OCIFT = [sys.executable, "-m", "shared.cli.main"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCIFT_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def _ocift(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OCIFT, *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def failing_target(tmp_path: Path) -> Iterator[tuple[LocalTarget, Path]]:
    """A running target whose convert function always fails (2 attempts, fast backoff)."""
    fn_dir = tmp_path / "calls"
    fn_dir.mkdir()
    failing = make_fn("convert", "always_fail", TESTFN_DIR=str(fn_dir))
    target = LocalTarget(tmp_path / ".ocift", watch_interval=0, max_attempts=2,
                         backoff_base=0.05, function_overrides={"convert": failing})
    with target:
        yield target, fn_dir


def test_a_second_up_on_the_same_state_is_refused_naming_the_first(
        failing_target: tuple[LocalTarget, Path], tmp_path: Path) -> None:
    target, _ = failing_target
    before = read_info(target.state_dir)
    done = _ocift("up", "--state-dir", str(target.state_dir), "--watch-interval", "0",
                  cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "a local target is already running on" in done.stderr
    assert f"pid {os.getpid()}" in done.stderr and "Traceback" not in done.stderr
    assert read_info(target.state_dir) == before  # target.json was not overwritten
    with pytest.raises(TargetAlreadyRunning):  # in-process too
        LocalTarget(target.state_dir, watch_interval=0).start()
    assert running_holder(target.state_dir) is not None  # the first still holds it


def test_dead_letters_are_shown_per_dataset_and_redriven(
        failing_target: tuple[LocalTarget, Path], tmp_path: Path) -> None:
    target, fn_dir = failing_target
    data = tmp_path / "loans.json"
    data.write_text(json.dumps([{"instruction": "q", "input": "", "output": "a"}]))
    done = _ocift("upload", str(data), cwd=tmp_path)  # ./.ocift is the running target
    assert done.returncode == 0, done.stderr
    assert target.wait_idle(60)
    assert target.status().router.dead_lettered_count == 1
    assert calls(fn_dir, "convert") == 2

    status = _ocift("status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "dead-lettered deliveries" in status.stdout
    [line] = [x for x in status.stdout.splitlines() if x.startswith("  loans: convert of")]
    assert "raw/loans.json gave up after 2 attempts" in line
    assert "this function always fails" in line or "answered 502" in line
    assert "ocift redrive" in status.stdout
    as_json = json.loads(_ocift("status", "--json", cwd=tmp_path).stdout)
    [row] = [r for r in as_json if r["dataset"] == "loans"]
    assert row["dead_letters"][0]["object"] == "raw/loans.json"

    redriven = _ocift("redrive", "--dataset", "loans", cwd=tmp_path)
    assert redriven.returncode == 0, redriven.stderr
    assert redriven.stdout.startswith("requeued 1 delivery")
    assert "the running target delivers them" in redriven.stdout
    # The running router's rescan picks the redriven delivery up and (the function still
    # failing) tries it twice more, then dead-letters it again.
    wait_until(lambda: calls(fn_dir, "convert") == 4
               and target.status().router.dead_lettered_count == 1
               and target.status().router.pending_count == 0,
               "the redriven delivery to be tried twice more and dead-lettered again")

    unknown = _ocift("redrive", "no-such-id", cwd=tmp_path)
    assert unknown.returncode == 1 and "no dead letter with id 'no-such-id'" in unknown.stderr


def _reader(stream: object) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_line(lines: queue.Queue[str], *words: str, timeout: float = 90) -> str:
    seen: list[str] = []
    while True:
        line = lines.get(timeout=timeout)
        if not line:
            raise AssertionError("ocift up ended:\n" + "".join(seen))
        seen.append(line)
        if all(w in line for w in words):
            return line


def test_up_prints_one_line_per_stage_outcome_and_logs_once(tmp_path: Path) -> None:
    state = tmp_path / ".ocift"
    up = subprocess.Popen([*OCIFT, "up", "--state-dir", str(state), "--fast"], cwd=tmp_path,
                          env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    try:
        lines = _reader(up.stdout)
        _wait_line(lines, "ocift local target is up")
        data = tmp_path / "tiny.json"  # 3 records: OCI needs 32, convert rejects it
        data.write_text(json.dumps([{"instruction": f"q{i}", "input": "", "output": "a"}
                                    for i in range(3)]))
        assert _ocift("upload", str(data), cwd=tmp_path).returncode == 0
        line = _wait_line(lines, "convert", "tiny", "rejected")
        assert "only 3 usable examples" in line and "OCI requires at least 32" in line
        assert line.split()[0].count(":") == 2  # starts with the time of day
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
    assert up.returncode == 0, out
    assert "Traceback" not in out
    log = (state / "logs" / "convert.log").read_text(encoding="utf-8").splitlines()
    records = [json.loads(x) for x in log if x.strip()]  # every line is one JSON record
    finished = [r for r in records
                if r.get("msg") == "stage finished" and r.get("object") == "raw/tiny.json"]
    assert len(finished) == 1 and finished[0]["outcome"] == "rejected"
