"""Reading back what a test expects to be in the bucket (``shared.storage.ObjectStore``)."""

from __future__ import annotations

from typing import Any

from shared.storage import ObjectInfo, ObjectStore


def head(store: ObjectStore, name: str) -> ObjectInfo:
    """Metadata of ``name``, which must exist."""
    info = store.head(name)
    assert info is not None, f"{name} does not exist"
    return info


def json_doc(store: ObjectStore, name: str) -> Any:
    """The JSON document ``name``, which must exist."""
    got = store.read_json(name)
    assert got is not None, f"{name} does not exist"
    return got[0]
