"""The recorded OCI Object Storage events in ``tests/fixtures/events`` and variants of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
CREATE = "createobject.json"
UPDATE = "updateobject.json"
EVENT_TYPE_PREFIX = "com.oraclecloud.objectstorage."


def fixture_bytes(name: str = CREATE) -> bytes:
    """A recorded event exactly as OCI delivered it."""
    return (FIXTURES / name).read_bytes()


def fixture_event(name: str = CREATE) -> dict[str, Any]:
    """A recorded event as a fresh dict (safe to change)."""
    doc: dict[str, Any] = json.loads(fixture_bytes(name))
    return doc


def object_event(resource_name: str, *, bucket: str | None = None,
                 namespace: str | None = None, etag: str | None = None,
                 kind: str | None = None) -> dict[str, Any]:
    """The recorded create event, about ``resource_name`` (and whatever else is given)."""
    doc = fixture_event(CREATE)
    doc["data"]["resourceName"] = resource_name
    details = doc["data"]["additionalDetails"]
    if kind is not None:
        doc["eventType"] = f"{EVENT_TYPE_PREFIX}{kind}"
    if bucket is not None:
        details["bucketName"] = bucket
    if namespace is not None:
        details["namespace"] = namespace
    if etag is not None:
        details["eTag"] = etag
    return doc
