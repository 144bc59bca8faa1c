"""Today's OCI on the local target (issue 23), through the real event path and fdk runtime.

* a pipeline configured with a base model retired for dedicated mode records REJECTED with
  the retirement date and the replacement, and creates no cluster and no model;
* a dataset named outside Latin-1 and large enough for a multipart JSONL reaches
  ENDPOINT_ACTIVE (the emulator's Location header used to tear that response).
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from shared.cli.main import main as ocift
from tests.e2e.test_pipeline_e2e import _clusters, _os, _pipeline_models, _start, _wait_state

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PART = 1024 * 1024  # the smallest OCIFT_MULTIPART_PART_SIZE


def _rows(n: int, pad: int = 0) -> list[dict[str, str]]:
    filler = " ".join(["ledger"] * pad)
    return [{"instruction": f"What does audit rule {i} require?", "input": "",
             "output": f"Audit rule {i} requires records kept for {i % 9 + 1} years. {filler}"}
            for i in range(n)]


def test_a_retired_base_model_is_rejected_with_its_date_and_no_cluster(tmp_path: Path) -> None:
    overrides = {"OCIFT_BASE_MODEL": "cohere.command-r-16k"}  # retired for dedicated 2025-08-07
    with _start(tmp_path, settings_overrides=overrides) as target:
        raw = tmp_path / "old.json"
        raw.write_text(json.dumps(_rows(40)), encoding="utf-8")
        target.upload(raw, "raw/old.json")
        doc = _wait_state(target, "old", "REJECTED", "PENDING_CLUSTER", "TRAINING")
        assert doc["state"] == "REJECTED", doc
        assert "retired for dedicated AI clusters on 2025-08-07" in doc["reason"]
        assert "cohere.command-r-08-2024" in doc["reason"]  # the replacement, from the table
        assert target.wait_idle(30)
        assert _clusters(target, "FINE_TUNING") == [] and _clusters(target, "HOSTING") == []
        assert _pipeline_models(target) == []
        assert target.router.status().dead_lettered_count == 0  # recorded, never retried


def test_a_non_latin1_name_large_enough_for_multipart_reaches_an_endpoint(
        tmp_path: Path) -> None:
    dataset = "監査 記録 📒 large"
    overrides = {"OCIFT_MULTIPART_PART_SIZE": str(PART)}
    with _start(tmp_path, settings_overrides=overrides) as target:
        assert target.info is not None
        raw = tmp_path / "big.json"
        raw.write_text(json.dumps(_rows(1500, pad=120)), encoding="utf-8")
        target.upload(raw, f"raw/{dataset}.json")
        doc = _wait_state(target, dataset, "ENDPOINT_ACTIVE", "REJECTED", "ENDPOINT_FAILED")
        assert doc["state"] == "ENDPOINT_ACTIVE", doc.get("reason")
        head = _os(target).head_object(target.info.namespace, target.info.bucket,
                                       f"training/{dataset}.jsonl")
        assert int(head.headers["content-length"]) > PART  # written in more than one part
        shown = io.StringIO()
        with redirect_stdout(shown):
            assert ocift(["status", "--state-dir", str(target.state_dir)]) == 0
        assert dataset in shown.getvalue()
        assert target.router.status().dead_lettered_count == 0
