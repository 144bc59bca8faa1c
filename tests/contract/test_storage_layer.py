"""shared.storage driven through the real oci SDK against the local emulator."""

from __future__ import annotations

import pytest

from deploy.local.emulator import Emulator
from shared.storage import ObjectNotFound, ObjectStore, PreconditionFailed
from tests.support.store import head

pytestmark = pytest.mark.contract

BUCKET = "storage-layer"


@pytest.fixture
def store(emulator: Emulator) -> ObjectStore:
    import oci

    config = oci.config.from_file(str(emulator.config_file), "DEFAULT")
    client = oci.object_storage.ObjectStorageClient(config, service_endpoint=emulator.endpoint)
    emulator.objectstorage.ensure_bucket(emulator.namespace, BUCKET, emulator.compartment_id,
                                         object_events_enabled=False)
    return ObjectStore(client, emulator.namespace, BUCKET)


def _uploads(store: ObjectStore) -> list[str]:
    resp = store.client.list_multipart_uploads(store.namespace, store.bucket)
    return [u.object for u in resp.data]


def test_small_write_is_a_single_conditional_put(store: ObjectStore) -> None:
    w = store.writer("a.txt", part_size=1024, metadata={"source-etag": "e1"})
    w.write(b"hello")
    assert store.head("a.txt") is None  # nothing visible before commit
    etag = w.commit(if_none_match="*")
    info = store.head("a.txt")
    assert info is not None and info.etag == etag and info.size == 5
    assert info.metadata == {"source-etag": "e1"}
    assert _uploads(store) == []


def test_large_write_is_multipart_and_invisible_until_commit(store: ObjectStore) -> None:
    part = 1024 * 1024
    payload = bytes(range(256)) * (part * 3 // 256 + 7)
    w = store.writer("big.bin", part_size=part, content_type="application/x-ndjson")
    for i in range(0, len(payload), 100_000):
        w.write(payload[i:i + 100_000])
    assert store.head("big.bin") is None
    assert _uploads(store) == ["big.bin"]
    w.commit(if_none_match="*")
    info, stream = store.open("big.bin")
    with stream:
        assert stream.read() == payload
    assert info.size == len(payload)
    assert _uploads(store) == []


def test_abort_leaves_no_object_and_no_upload(store: ObjectStore) -> None:
    w = store.writer("gone.bin", part_size=1024 * 1024)
    w.write(b"x" * (1024 * 1024 + 10))
    assert _uploads(store) == ["gone.bin"]
    w.abort()
    w.abort()  # idempotent
    assert store.head("gone.bin") is None
    assert _uploads(store) == []


def test_create_only_loses_to_an_existing_object(store: ObjectStore) -> None:
    store.put_bytes("k", b"first")
    with pytest.raises(PreconditionFailed):
        store.put_bytes("k", b"second", if_none_match="*")
    _, stream = store.open("k")
    assert stream.read() == b"first"


def test_multipart_commit_is_conditional_too(store: ObjectStore) -> None:
    store.put_bytes("m", b"first")
    w = store.writer("m", part_size=1024 * 1024)
    w.write(b"y" * (1024 * 1024 + 1))
    with pytest.raises(PreconditionFailed):
        w.commit(if_none_match="*")
    _, stream = store.open("m")
    assert stream.read() == b"first"
    assert _uploads(store) == []  # the losing upload was aborted


def test_replace_only_the_version_read(store: ObjectStore) -> None:
    old = store.put_bytes("v", b"1")
    new = store.put_bytes("v", b"2", if_match=old)
    with pytest.raises(PreconditionFailed):
        store.put_bytes("v", b"3", if_match=old)
    assert head(store, "v").etag == new


def test_pinned_read_and_missing_objects(store: ObjectStore) -> None:
    etag = store.put_bytes("p", b"data")
    store.put_bytes("p", b"newer")
    with pytest.raises(PreconditionFailed):
        store.open("p", if_match=etag)
    with pytest.raises(ObjectNotFound):
        store.open("absent")
    assert store.head("absent") is None
    assert store.read_json("absent") is None


def test_json_round_trip_and_paged_listing(store: ObjectStore) -> None:
    store.put_json("s/a.json", {"x": "é"})
    got = store.read_json("s/a.json")
    assert got is not None
    doc, etag = got
    assert doc == {"x": "é"} and etag
    for i in range(7):
        store.put_bytes(f"l/{i}", b"")
    assert list(store.list_names("l/", limit=3)) == [f"l/{i}" for i in range(7)]
