"""What the user sees is true after ``ocift down`` (issue 27, item 1).

A serving dataset whose endpoint ``ocift down --yes`` deleted reads MODEL_ACTIVE with no
endpoint in ``ocift status``, ``--json`` and the recorded status; ``status`` says how to
serve it again; reconcile does not undo the teardown; ``ocift serve`` does, on purpose.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from shared.cli.main import main as ocift
from tests.e2e.test_pipeline_e2e import _genai, _settings, _start, _wait_state
from tests.support.targets import status_doc

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _run(target: Any, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ocift([*args, "--state-dir", str(target.state_dir)])
    return code, out.getvalue(), err.getvalue()


def _live_endpoints(target: Any) -> list[Any]:
    cid = _settings(target).compartment_id
    return [e for e in _genai(target).list_endpoints(cid).data.items
            if e.lifecycle_state not in ("DELETING", "DELETED")]


def test_after_down_status_says_what_remains_and_how_to_serve_again(tmp_path: Path) -> None:
    rows = [{"instruction": f"What does the filing rule number {i} require?", "input": "",
             "output": f"Filing rule {i} requires records kept for {i} years."}
            for i in range(40)]
    raw = tmp_path / "fin.json"
    raw.write_text(json.dumps(rows), encoding="utf-8")
    with _start(tmp_path) as target:
        target.upload(raw, "raw/fin.json")
        _wait_state(target, "fin", "ENDPOINT_ACTIVE")
        code, out, _ = _run(target, "down", "--yes", "--interval", "0.1")
        assert code == 0, out
        assert _live_endpoints(target) == []

        # The recorded status says what remains (written by down), not what was.
        doc = status_doc(target, "fin") or {}
        assert doc["state"] == "MODEL_ACTIVE", doc["state"]
        assert doc.get("endpoint_id") is None and doc.get("unserved")
        _, out, _ = _run(target, "status", "--json")
        row = json.loads(out)[0]
        assert row["state"] == "MODEL_ACTIVE" and row.get("endpoint_state") != "ACTIVE", row
        code, table, _ = _run(target, "status")
        assert "ENDPOINT_ACTIVE" not in table and "ocift serve fin" in table, table

        # The ask error and the status agree: nothing serves it.
        code, _, err = _run(target, "ask", "What does the filing rule number 3 require?",
                            "--model", "fin")
        assert code == 1 and "unknown_model" in err

        # Reconcile does not undo the teardown (no endpoint, no hosting cluster).
        code, out, _ = _run(target, "reconcile")
        assert code == 0
        target.wait_idle(30)
        assert _live_endpoints(target) == []
        assert (status_doc(target, "fin") or {})["state"] == "MODEL_ACTIVE"

        # `ocift serve` hosts the kept model again.
        code, out, err = _run(target, "serve", "fin")
        assert code == 0, err
        _wait_state(target, "fin", "ENDPOINT_ACTIVE")
        assert len(_live_endpoints(target)) == 1


def test_a_deleted_endpoint_shows_in_status_before_anything_records_it(tmp_path: Path) -> None:
    """Deleted outside the pipeline (the Console): status reads the cloud at once."""
    rows = [{"instruction": f"How is the coverage of lender {i} computed?", "input": "",
             "output": f"Lender {i} divides income by interest."} for i in range(40)]
    raw = tmp_path / "cov.json"
    raw.write_text(json.dumps(rows), encoding="utf-8")
    with _start(tmp_path, watch_interval=0) as target:
        target.upload(raw, "raw/cov.json")
        for _ in range(200):  # no watcher: tick by hand until it serves
            from shared.stages import watch

            watch.tick(_settings(target))
            target.wait_idle(10)
            if (status_doc(target, "cov") or {}).get("state") == "ENDPOINT_ACTIVE":
                break
        doc = status_doc(target, "cov") or {}
        assert doc.get("state") == "ENDPOINT_ACTIVE"
        _genai(target).delete_endpoint(doc["endpoint_id"])
        _, out, _ = _run(target, "status", "--json")
        row = json.loads(out)[0]
        assert row["state"] == "MODEL_ACTIVE" and row["endpoint_state"] in ("DELETING",
                                                                            "DELETED"), row
        assert "ocift serve cov" in row["live_note"]
        assert (status_doc(target, "cov") or {})["state"] == "ENDPOINT_ACTIVE"  # not yet recorded
        # `ocift reconcile` (and the watch function's own reconcile) records it.
        code, out, _ = _run(target, "reconcile")
        assert code == 0 and "cov: MODEL_ACTIVE" in out, out
        doc = status_doc(target, "cov") or {}
        assert doc["state"] == "MODEL_ACTIVE" and doc.get("unserved"), doc
