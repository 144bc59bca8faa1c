"""The ``ocift`` command as a user runs it: demo, upload, status, ask (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.local.target import LocalTarget
from shared import caches
from tests.support.targets import set_paces
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
OCIFT = [sys.executable, "-m", "shared.cli.main"]


def _records(n: int = 36) -> list[dict[str, str]]:
    return [{"instruction": f"How is the coverage ratio of lender {i} computed?", "input": "",
             "output": f"Lender {i} divides operating income by interest expense."}
            for i in range(n)]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCIFT_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def _run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OCIFT, *args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_demo_runs_end_to_end_on_a_small_sample(tmp_path: Path) -> None:
    sample = tmp_path / "small.json"
    sample.write_text(json.dumps(_records()), encoding="utf-8")
    done = _run("demo", "--sample", str(sample), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for step in ("uploaded small.json", "converted: 36 records written, 0 skipped (valid)",
                 "training", "model ACTIVE (version 1)", "endpoint ACTIVE: ocid1."):
        assert step in out
    assert out.index("converted") < out.index("model ACTIVE") < out.index("endpoint ACTIVE")
    assert f"Q: {_records()[0]['instruction']}" in out
    assert f"A: {_records()[0]['output']}" in out
    assert not list(tmp_path.glob(".ocift-demo"))  # temp state, removed


def test_demo_fails_clearly_on_a_rejected_dataset(tmp_path: Path) -> None:
    sample = tmp_path / "tiny.json"
    sample.write_text(json.dumps(_records(3)), encoding="utf-8")  # OCI needs >= 32 examples
    done = _run("demo", "--sample", str(sample), "--timeout", "60", cwd=tmp_path)
    assert done.returncode == 1
    assert "demo failed: conversion rejected the sample" in done.stdout
    assert "at least 32" in done.stdout


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalTarget, Path]]:
    root = tmp_path_factory.mktemp("cli")
    target = LocalTarget(root / ".ocift", watch_interval=0.2, backoff_base=0.05)
    with target:
        set_paces(target.emulator, provisioning_seconds=0.2, seconds_per_epoch=0.02)
        caches.reset_all()
        yield target, root
    caches.reset_all()


def _status_rows(root: Path) -> list[dict[str, Any]]:
    done = _run("status", "--json", cwd=root)  # finds ./.ocift/target.json by itself
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def test_upload_status_and_ask(running: tuple[LocalTarget, Path]) -> None:
    _, root = running
    data = root / "lending.json"
    data.write_text(json.dumps(_records()), encoding="utf-8")
    done = _run("upload", str(data), "--local", cwd=root)
    assert done.returncode == 0 and "raw/lending.json" in done.stdout, done.stderr
    seen: list[dict[str, Any]] = []

    def endpoint_active() -> list[dict[str, Any]] | None:
        seen[:] = _status_rows(root)
        return seen if seen and seen[0].get("state") == "ENDPOINT_ACTIVE" else None

    rows = wait_until(endpoint_active, lambda: f"ENDPOINT_ACTIVE in `ocift status` ({seen})",
                      interval=0.3)
    assert rows[0]["dataset"] == "lending", rows
    row = rows[0]
    assert (row["written"], row["skipped"], row["valid"], row["jsonl"]) == (36, 0, True, True)
    assert row["state"] == "ENDPOINT_ACTIVE" and row["model_version"] == "1"
    table = _run("status", "--local", "--state-dir", str(root / ".ocift"), cwd=REPO)
    assert table.returncode == 0
    header, line = table.stdout.splitlines()[:2]
    assert header.split()[:4] == ["DATASET", "REPORT", "JSONL", "STATE"]
    assert line.startswith("lending") and "36 ok/0 skipped" in line and "ENDPOINT_ACTIVE" in line
    answer = _run("ask", _records()[4]["instruction"], "--model", "lending", cwd=root)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == _records()[4]["output"]
    missing = _run("ask", "anything", "--model", "nope", cwd=root)
    assert missing.returncode == 1 and "404 unknown_model" in missing.stderr
    settled = _run("reconcile", cwd=root)  # nothing was lost: reconcile finds nothing to redo
    assert settled.returncode == 0, settled.stderr
    assert "train" not in settled.stdout


def test_status_places_a_skipped_csv_row_by_line_and_byte(
        running: tuple[LocalTarget, Path]) -> None:
    _, root = running
    rows = ["question,answer"] + [f'"Define ratio {i}, briefly",Ratio {i} explained.'
                                  for i in range(40)]
    rows[7] = "a question with no answer column"
    data = ("\r\n".join(rows) + "\r\n").encode()
    path = root / "ratios.csv"
    path.write_bytes(data)
    done = _run("upload", str(path), "--local", cwd=root)
    assert done.returncode == 0, done.stderr

    def reported() -> list[dict[str, Any]] | None:
        found = [r for r in _status_rows(root) if r["dataset"] == "ratios"]
        return found if found and found[0].get("written") else None

    row = wait_until(reported, "the ratios report in `ocift status`", interval=0.3)[0]
    assert (row["written"], row["skipped"]) == (39, 1), row
    table = _run("status", "--local", "--state-dir", str(root / ".ocift"), cwd=REPO).stdout
    byte = data.index(b"a question with no answer")
    assert f"ratios: [missing_field] record has no answer [at record 7, line 8, byte {byte}]" \
        in table, table


def test_convert_offline(tmp_path: Path) -> None:
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(_records()), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = _run("convert", str(raw), str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 36 and lines[0]["completion"] == _records()[0]["output"]


def test_commands_without_a_target_say_how_to_start_one(tmp_path: Path) -> None:
    done = _run("status", "--local", cwd=tmp_path)
    assert done.returncode == 2
    assert "ocift up" in done.stderr
