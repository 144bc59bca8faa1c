"""The single fdk entry point, driven through fdk's own request handling (in-process)."""

import asyncio
import json
from pathlib import Path

import pytest
from fdk import fixtures

from functions import handler as entry
from shared.settings import get_settings

FIXTURES = Path(__file__).parent.parent / "fixtures" / "events"


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("OCIFT_"):
            monkeypatch.delenv(key)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def call(body: bytes):
    async def run():
        coro = await fixtures.setup_fn_call(entry.handler, content=body)
        return await coro
    data, status, headers = asyncio.run(run())
    return (data.decode() if isinstance(data, bytes) else data), status, headers


def test_unset_stage_is_a_configuration_error(monkeypatch):
    body, status, _ = call(b"{}")
    assert status == 502
    assert "OCIFT_STAGE" in json.loads(body)["reason"]


def test_bad_configuration_is_reported_by_key(monkeypatch):
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    monkeypatch.setenv("OCIFT_EPOCHS", "zero")
    body, status, _ = call(b"{}")
    assert status == 502
    assert "OCIFT_EPOCHS" in json.loads(body)["reason"]


def test_garbage_body_is_rejected_not_retried(monkeypatch):
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    body, status, _ = call(b"this is not an event")
    assert status == 200
    outcome = json.loads(body)
    assert outcome["status"] == "rejected"
    assert outcome["stage"] == "convert"


def test_event_for_another_stage_is_skipped(monkeypatch):
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    body, status, _ = call((FIXTURES / "updateobject.json").read_bytes())  # a training/*.jsonl
    assert status == 200
    outcome = json.loads(body)
    assert outcome["status"] == "skipped"
    assert outcome["object_name"] == "training/Cleaned_date.jsonl"


def test_event_for_another_bucket_is_skipped(monkeypatch):
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    monkeypatch.setenv("OCIFT_BUCKET", "someone-elses-bucket")
    body, status, _ = call((FIXTURES / "createobject.json").read_bytes())
    assert status == 200
    assert json.loads(body)["status"] == "skipped"
    assert "someone-elses-bucket" in json.loads(body)["reason"]
