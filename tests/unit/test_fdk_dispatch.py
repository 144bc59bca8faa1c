"""The single fdk entry point, driven through fdk's own request handling (in-process)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from functions import handler as entry
from shared import caches
from tests.support.events import UPDATE, fixture_bytes
from tests.support.fdk import call_fdk


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("OCIFT_"):
            monkeypatch.delenv(key)
    caches.reset_all()
    yield
    caches.reset_all()


def _outcome(body: bytes, **config: str) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of one call with ``OCIFT_<KEY>`` configuration ``config``."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in config.items():
            env.setenv(f"OCIFT_{key.upper()}", value)
        reply = call_fdk(entry.handler, body)
    return reply.status, json.loads(reply.body)


def test_unset_stage_is_a_configuration_error() -> None:
    status, outcome = _outcome(b"{}")
    assert status == 502
    assert "OCIFT_STAGE" in outcome["reason"]


def test_bad_configuration_is_reported_by_key() -> None:
    status, outcome = _outcome(b"{}", stage="convert", epochs="zero")
    assert status == 502
    assert "OCIFT_EPOCHS" in outcome["reason"]


def test_garbage_body_is_rejected_not_retried() -> None:
    status, outcome = _outcome(b"this is not an event", stage="convert")
    assert status == 200
    assert outcome["status"] == "rejected"
    assert outcome["stage"] == "convert"


def test_event_for_another_stage_is_skipped() -> None:
    status, outcome = _outcome(fixture_bytes(UPDATE), stage="convert")  # a training/*.jsonl
    assert status == 200
    assert outcome["status"] == "skipped"
    assert outcome["object_name"] == "training/Cleaned_date.jsonl"


def test_event_for_another_bucket_is_skipped() -> None:
    status, outcome = _outcome(fixture_bytes(), stage="convert", bucket="someone-elses-bucket")
    assert status == 200
    assert outcome["status"] == "skipped"
    assert "someone-elses-bucket" in outcome["reason"]
