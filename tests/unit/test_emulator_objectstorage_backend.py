"""Object Storage backend rules that the REST tests cannot reach directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.emulator.http import ServiceError
from deploy.local.emulator.objectstorage import ObjectStorageBackend

NS, BUCKET, COMPARTMENT = "ns", "bk", "ocid1.compartment.oc1..test"


@pytest.fixture
def backend(tmp_path: Path) -> ObjectStorageBackend:
    store = ObjectStorageBackend(tmp_path / "os", NS)
    store.ensure_bucket(NS, BUCKET, COMPARTMENT, object_events_enabled=False)
    return store


def _names(backend: ObjectStorageBackend, **kwargs: object) -> tuple[list[str], list[str],
                                                                     str | None]:
    objects, prefixes, nxt = backend.list_objects(NS, BUCKET, **kwargs)  # type: ignore[arg-type]
    return [o.name for o in objects], prefixes, nxt


def test_crash_leftovers_are_cleaned_when_the_state_is_reopened(
        backend: ObjectStorageBackend, tmp_path: Path) -> None:
    meta = backend.put_object(NS, BUCKET, "kept", b"data")
    (bucket_dir,) = (tmp_path / "os" / "n" / NS / "b").iterdir()  # named by a hash of BUCKET
    data_dir = bucket_dir / "data"
    (data_dir / "orphan-from-a-crash").write_bytes(b"half")
    (tmp_path / "os" / "tmp" / "partial-upload").write_bytes(b"half")
    reopened = ObjectStorageBackend(tmp_path / "os", NS)
    assert sorted(p.name for p in data_dir.iterdir()) == [meta.etag]
    assert list((tmp_path / "os" / "tmp").iterdir()) == []
    head, stream = reopened.open_object(NS, BUCKET, "kept")
    with stream:
        assert (head.etag, stream.read()) == (meta.etag, b"data")


def test_limit_counts_prefixes_and_paging_resumes_after_a_collapsed_prefix(
        backend: ObjectStorageBackend) -> None:
    for name in ["a/1", "a/2", "b", "c/1", "d"]:
        backend.put_object(NS, BUCKET, name, b"x")
    assert _names(backend, delimiter="/", limit=2) == (["b"], ["a/"], "c/1")
    assert _names(backend, delimiter="/", limit=2, start="c/1") == (["d"], ["c/"], None)
    assert _names(backend, start_after="b") == (["c/1", "d"], [], None)
    assert _names(backend, prefix="a/", end="a/2") == (["a/1"], [], None)


def test_an_open_stream_keeps_its_version_across_an_overwrite(
        backend: ObjectStorageBackend) -> None:
    backend.put_object(NS, BUCKET, "o", b"old" * 1000)
    _, stream = backend.open_object(NS, BUCKET, "o")
    with stream:
        first = stream.read(3)
        backend.put_object(NS, BUCKET, "o", b"new")
        assert first + stream.read() == b"old" * 1000
    _, fresh = backend.open_object(NS, BUCKET, "o")
    with fresh:
        assert fresh.read() == b"new"


def test_overwrite_keeps_time_created_and_names_are_validated(
        backend: ObjectStorageBackend) -> None:
    first = backend.put_object(NS, BUCKET, "o", b"1")
    second = backend.put_object(NS, BUCKET, "o", b"2")
    assert second.time_created == first.time_created
    assert second.time_modified >= first.time_modified and second.etag != first.etag
    for bad_bucket in ("", "has space", "slash/name"):
        with pytest.raises(ServiceError) as err:
            backend.create_bucket(NS, bad_bucket, COMPARTMENT)
        assert err.value.status == 400
    with pytest.raises(ServiceError):
        backend.put_object(NS, BUCKET, "", b"x")
    with pytest.raises(ServiceError) as wrong_ns:
        backend.head_object("other", BUCKET, "o")
    assert wrong_ns.value.code == "NamespaceNotFound"


def test_multipart_commit_checks_parts_and_conditions(backend: ObjectStorageBackend) -> None:
    upload = backend.create_upload(NS, BUCKET, "m")
    p1 = backend.upload_part(NS, BUCKET, "m", upload.upload_id, 1, b"aa")
    p2 = backend.upload_part(NS, BUCKET, "m", upload.upload_id, 2, b"bb")
    p2 = backend.upload_part(NS, BUCKET, "m", upload.upload_id, 2, b"BB")  # re-upload wins
    with pytest.raises(ServiceError) as wrong_object:
        backend.upload_part(NS, BUCKET, "other", upload.upload_id, 3, b"x")
    assert wrong_object.value.status == 404
    with pytest.raises(ServiceError) as bad_number:
        backend.upload_part(NS, BUCKET, "m", upload.upload_id, 0, b"x")
    assert bad_number.value.status == 400
    backend.put_object(NS, BUCKET, "m", b"exists")
    with pytest.raises(ServiceError) as exists:
        backend.commit_upload(NS, BUCKET, "m", upload.upload_id,
                              [(1, p1.etag), (2, p2.etag)], if_none_match="*")
    assert exists.value.status == 409
    meta = backend.commit_upload(NS, BUCKET, "m", upload.upload_id,
                                 [(2, p2.etag), (1, p1.etag)])
    _, stream = backend.open_object(NS, BUCKET, "m")
    with stream:
        assert stream.read() == b"aaBB"
    assert meta.multipart_md5 is not None and meta.multipart_md5.endswith("-2")
    assert backend.list_uploads(NS, BUCKET) == []
