"""An upload is visible the moment it lands (issue 27): UPLOADED/CONVERTING while the
router retries, DEAD_LETTERED with the error once it gives up, before any report/status."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.local.target import LocalTarget
from tests.local.test_cli_lifecycle import _ocift
from tests.support.local import calls, make_fn
from tests.support.wait import wait_until


def _state_of(table: str, dataset: str) -> str:
    for line in table.splitlines():
        cells = line.split()
        if cells and cells[0] == dataset:
            return cells[3]  # DATASET REPORT JSONL STATE ...
    raise AssertionError(f"no row for {dataset}:\n{table}")


def test_a_failing_conversion_is_shown_while_retried_and_once_dead_lettered(
        tmp_path: Path) -> None:
    fn_dir = tmp_path / "calls"
    fn_dir.mkdir()
    failing = make_fn("convert", "always_fail", TESTFN_DIR=str(fn_dir))
    target = LocalTarget(tmp_path / ".ocift", watch_interval=0, max_attempts=3,
                         backoff_base=1.5, function_overrides={"convert": failing})
    with target:
        data = tmp_path / "loans.json"
        data.write_text(json.dumps([{"instruction": "q", "input": "", "output": "a"}]))
        assert _ocift("upload", str(data), cwd=tmp_path).returncode == 0
        wait_until(lambda: calls(fn_dir, "convert") >= 1, "the first attempt", timeout=60)
        retrying = _ocift("status", cwd=tmp_path)
        assert retrying.returncode == 0, retrying.stderr
        assert "no datasets yet" not in retrying.stdout
        assert _state_of(retrying.stdout, "loans") in ("UPLOADED", "CONVERTING"), retrying.stdout
        assert target.wait_idle(60)
        assert target.status().router.dead_lettered_count == 1
        done = _ocift("status", cwd=tmp_path)
        assert _state_of(done.stdout, "loans") == "DEAD_LETTERED", done.stdout
        assert "raw/loans.json gave up after 3 attempts" in done.stdout
        row = json.loads(_ocift("status", "--json", cwd=tmp_path).stdout)[0]
        assert (row["dataset"], row["arrival"], row["raw_object"]) == (
            "loans", "DEAD_LETTERED", "raw/loans.json")
