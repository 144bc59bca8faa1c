"""What ``ocift status`` shows is true now (issue 27): every raw object at once, dead
letters under their dataset, deleted endpoints as deleted."""

from __future__ import annotations

import json
from types import SimpleNamespace

from shared.billing import Inventory
from shared.cli import live
from shared.cli.arrivals import PendingDelivery
from shared.cli.deadletters import DeadLetterRow
from shared.cli.status_view import DatasetRow, collect, render
from shared.settings import Settings
from shared.status import DatasetState, DatasetStatus
from tests.unit.test_cli import FakeStore


def _letter(obj: str, error: str) -> DeadLetterRow:
    return DeadLetterRow(delivery_id="d-1", function="convert", object=obj, dataset="fin",
                         attempts=5, last_error=error, finished_at="2026-12-02T10:00:00Z")


def test_a_raw_object_is_listed_the_moment_it_lands() -> None:
    rows = collect(FakeStore({"raw/fin.json": None}), Settings())
    assert [(r.dataset, r.arrival, r.raw_object) for r in rows] == [
        ("fin", "UPLOADED", "raw/fin.json")]
    text = render(rows)
    assert "no datasets yet" not in text and "UPLOADED" in text
    assert not rows[0].finished  # status --watch keeps following it


def test_a_raw_object_being_delivered_reads_converting_with_its_retries() -> None:
    pending = [PendingDelivery(function="convert", object="raw/fin.json", attempts=2,
                               last_error="502 function crashed")]
    rows = collect(FakeStore({"raw/fin.json": None}), Settings(), pending=pending)
    assert rows[0].arrival == "CONVERTING"
    assert "attempt 2 failed (502 function crashed); retrying" in render(rows)


def test_a_dead_lettered_upload_shows_under_its_dataset_with_no_report_or_status() -> None:
    dead = [_letter("raw/fin.json", "fdk: function timed out")]
    rows = collect(FakeStore({"raw/fin.json": None}), Settings(), dead=dead)
    assert [(r.dataset, r.arrival) for r in rows] == [("fin", "DEAD_LETTERED")]
    assert rows[0].finished
    text = render(rows)
    assert "DEAD_LETTERED" in text and "fdk: function timed out" in text
    assert "ocift redrive" in text


def test_a_report_without_status_reads_converted_or_invalid() -> None:
    rows = {r.dataset: r for r in collect(FakeStore({
        "raw/a.json": None, "reports/a.json": {"valid": True, "records_written": 40},
        "raw/b.json": None, "reports/b.json": {"valid": False, "fatal": {"message": "x"}},
    }), Settings())}
    assert (rows["a"].arrival, rows["b"].arrival) == ("CONVERTED", "INVALID")


def _serving_row() -> DatasetRow:
    st = DatasetStatus(dataset="fin", state=DatasetState.ENDPOINT_ACTIVE, model_id="m1",
                       endpoint_id="e1", endpoint_state="ACTIVE", model_version="1")
    rows = collect(FakeStore({"status/fin.json": json.loads(st.model_dump_json())}),
                   Settings())
    return rows[0]


def test_a_deleted_endpoint_reads_model_active_and_says_how_to_serve_again() -> None:
    row = _serving_row()
    inventory = Inventory(models=[SimpleNamespace(id="m1", lifecycle_state="ACTIVE")],
                          endpoints=[SimpleNamespace(id="e1", lifecycle_state="DELETED")])
    live.reflect([row], inventory)
    assert (row.state, row.endpoint_state, row.model_state) == ("MODEL_ACTIVE", "DELETED",
                                                                "ACTIVE")
    assert "ocift serve fin" in render([row]) and row.finished


def test_an_endpoint_missing_from_the_listing_is_deleted_and_a_live_one_stays() -> None:
    gone, kept = _serving_row(), _serving_row()
    live.reflect([gone], Inventory(models=[SimpleNamespace(id="m1", lifecycle_state="ACTIVE")]))
    assert gone.state == "MODEL_ACTIVE"
    live.reflect([kept], Inventory(models=[SimpleNamespace(id="m1", lifecycle_state="ACTIVE")],
                                   endpoints=[SimpleNamespace(id="e1", lifecycle_state="ACTIVE")]))
    assert (kept.state, kept.endpoint_state, kept.live_note) == ("ENDPOINT_ACTIVE", "ACTIVE", "")


def test_endpoint_and_model_deleted_reads_failed_with_how_to_retrain() -> None:
    row = _serving_row()
    live.reflect([row], Inventory())
    assert row.state == "ENDPOINT_FAILED" and "upload the dataset again" in row.live_note
