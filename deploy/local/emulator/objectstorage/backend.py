"""Emulated Object Storage state on disk: buckets, objects, multipart uploads, events.

Layout under ``root``::

    n/<namespace>/b/<bucket>/bucket.json
    n/<namespace>/b/<bucket>/objects/<sha256(name)>.json   object metadata (the commit point)
    n/<namespace>/b/<bucket>/data/<etag>                   object bytes
    n/<namespace>/b/<bucket>/uploads/<uploadId>/...        multipart uploads and parts
    tmp/                                                    files being written

Bytes are streamed to a temp file, fsynced and renamed into ``data/``; then the
metadata file is replaced atomically under the bucket lock (conditions are
checked there), so readers see the old object or the new one, never a partial
one. A reader opens the data file while holding the lock, so a concurrent
overwrite (which unlinks the old file after the swap) cannot pull it away.
Events are emitted after the swap, outside every lock.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from deploy.local.emulator.http import ServiceError
from deploy.local.emulator.objectstorage.events import object_event
from deploy.local.emulator.objectstorage.timefmt import now

log = logging.getLogger("ocift.emulator.objectstorage")

COPY_CHUNK = 1024 * 1024
MAX_PARTS = 10_000
EventSink = Callable[[dict[str, Any]], None]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ObjectMeta:
    """Everything stored about one object version."""

    name: str
    size: int
    etag: str
    time_created: float
    time_modified: float
    md5: str | None = None               # base64 MD5 of a single-part object
    multipart_md5: str | None = None     # "<base64 md5 of part md5s>-<parts>"
    content_type: str = "application/octet-stream"
    content_encoding: str | None = None
    content_language: str | None = None
    content_disposition: str | None = None
    cache_control: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    storage_tier: str = "Standard"


@dataclass(frozen=True)
class BucketInfo:
    """A bucket's properties as stored."""

    namespace: str
    name: str
    compartment_id: str
    id: str
    etag: str
    time_created: float
    object_events_enabled: bool = False
    created_by: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    freeform_tags: dict[str, str] = field(default_factory=dict)
    defined_tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    storage_tier: str = "Standard"
    public_access_type: str = "NoPublicAccess"


@dataclass(frozen=True)
class PartMeta:
    part_number: int
    etag: str
    md5: str
    size: int


@dataclass(frozen=True)
class UploadMeta:
    upload_id: str
    object: str
    time_created: float
    content_type: str = "application/octet-stream"
    content_encoding: str | None = None
    content_language: str | None = None
    content_disposition: str | None = None
    cache_control: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    storage_tier: str = "Standard"


@dataclass
class _Bucket:
    info: BucketInfo
    path: Path
    lock: threading.RLock = field(default_factory=threading.RLock)
    objects: dict[str, ObjectMeta] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def store(self, meta: ObjectMeta) -> None:
        if meta.name not in self.objects:
            bisect.insort(self.names, meta.name)
        self.objects[meta.name] = meta

    def forget(self, name: str) -> None:
        if self.objects.pop(name, None) is not None:
            self.names.pop(bisect.bisect_left(self.names, name))


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def bucket_not_found(namespace: str, bucket: str) -> ServiceError:
    return ServiceError(404, "BucketNotFound",
                        f"Either the bucket named '{bucket}' does not exist in the namespace "
                        f"'{namespace}' or you are not authorized to access it")


def object_not_found(bucket: str, name: str) -> ServiceError:
    return ServiceError(404, "ObjectNotFound",
                        f"The object '{name}' was not found in the bucket '{bucket}'")


def check_conditions(current_etag: str | None, if_match: str | None,
                     if_none_match: str | None) -> None:
    """OCI write preconditions: 412 ``NoEtagMatch`` / 409 ``IfNoneMatchFailed``."""
    if if_match is not None and if_match.strip() != "*" and if_match.strip() != current_etag:
        raise ServiceError(412, "NoEtagMatch",
                           "The entity tag (ETag) in the If-Match header does not match "
                           "the current entity tag of the resource")
    if if_match is not None and if_match.strip() == "*" and current_etag is None:
        raise ServiceError(412, "NoEtagMatch", "The resource does not exist (If-Match: *)")
    if if_none_match is not None:
        value = if_none_match.strip()
        if value != "*":
            raise ServiceError(400, "InvalidParameter", "If-None-Match only supports '*'")
        if current_etag is not None:
            raise ServiceError(409, "IfNoneMatchFailed",
                               "The If-None-Match header is '*' but there is an existing entity")


class ObjectStorageBackend:
    """Thread-safe Object Storage state for one namespace, persisted under ``root``."""

    def __init__(self, root: Path, namespace: str, region: str = "us-chicago-1",
                 on_event: EventSink | None = None, compartment_name: str = "ocift-local",
                 created_by: str = "") -> None:
        self.root = Path(root)
        self.namespace = namespace
        self.region = region
        self.on_event = on_event
        self.compartment_name = compartment_name
        self.created_by = created_by
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        for stale in self._tmp.iterdir():
            stale.unlink(missing_ok=True)
        self._load()

    # -- persistence --------------------------------------------------------------------------

    def _bucket_dir(self, name: str) -> Path:
        # Named by a hash, never by the bucket name: no name can leave this directory.
        return self._buckets_root() / f"h-{_key(name)}"

    def _buckets_root(self) -> Path:
        return self.root / "n" / self.namespace / "b"

    def _load(self) -> None:
        base = self.root / "n" / self.namespace / "b"
        if not base.is_dir():
            return
        for bucket_dir in sorted(base.iterdir()):
            doc_path = bucket_dir / "bucket.json"
            if not doc_path.is_file():
                continue
            info = BucketInfo(**json.loads(doc_path.read_text("utf-8")))
            bucket = _Bucket(info=info, path=bucket_dir)
            live: set[str] = set()
            for meta_file in (bucket_dir / "objects").glob("*.json"):
                meta = ObjectMeta(**json.loads(meta_file.read_text("utf-8")))
                bucket.store(meta)
                live.add(meta.etag)
            for data_file in (bucket_dir / "data").iterdir():  # orphans of a crash mid-swap
                if data_file.name not in live:
                    data_file.unlink(missing_ok=True)
            self._buckets[info.name] = bucket

    # -- buckets ------------------------------------------------------------------------------

    def check_namespace(self, namespace: str) -> None:
        if namespace != self.namespace:
            raise ServiceError(404, "NamespaceNotFound",
                               f"You do not have authorization to perform this request, or the "
                               f"namespace '{namespace}' could not be found")

    def _bucket(self, namespace: str, name: str) -> _Bucket:
        self.check_namespace(namespace)
        with self._lock:
            bucket = self._buckets.get(name)
        if bucket is None:
            raise bucket_not_found(namespace, name)
        return bucket

    def create_bucket(self, namespace: str, name: str, compartment_id: str, *,
                      object_events_enabled: bool = False,
                      metadata: Mapping[str, str] | None = None,
                      freeform_tags: Mapping[str, str] | None = None,
                      defined_tags: Mapping[str, dict[str, Any]] | None = None,
                      storage_tier: str = "Standard",
                      public_access_type: str = "NoPublicAccess") -> BucketInfo:
        """Create a bucket; 409 ``BucketAlreadyExists`` if the name is taken."""
        self.check_namespace(namespace)
        _validate_bucket_name(name)
        with self._lock:
            if name in self._buckets:
                raise ServiceError(409, "BucketAlreadyExists",
                                   "Either the bucket already exists or you are not authorized "
                                   "to create it")
            info = BucketInfo(
                namespace=namespace, name=name, compartment_id=compartment_id,
                id=f"ocid1.bucket.oc1.{self.region}.aaaaaaaa{uuid.uuid4().hex}",
                etag=str(uuid.uuid4()), time_created=now(),
                object_events_enabled=object_events_enabled, created_by=self.created_by,
                metadata=dict(metadata or {}), freeform_tags=dict(freeform_tags or {}),
                defined_tags=dict(defined_tags or {}), storage_tier=storage_tier,
                public_access_type=public_access_type)
            path = self._bucket_dir(name)
            for sub in ("objects", "data", "uploads"):
                (path / sub).mkdir(parents=True, exist_ok=True)
            _write_json(path / "bucket.json", asdict(info))
            self._buckets[name] = _Bucket(info=info, path=path)
            return info

    def ensure_bucket(self, namespace: str, name: str, compartment_id: str,
                      object_events_enabled: bool = True) -> BucketInfo:
        """The bucket ``name``, created if missing (existing settings are kept)."""
        try:
            return self.create_bucket(namespace, name, compartment_id,
                                      object_events_enabled=object_events_enabled)
        except ServiceError as exc:
            if exc.status != 409:
                raise
            return self.get_bucket(namespace, name)

    def get_bucket(self, namespace: str, name: str) -> BucketInfo:
        return self._bucket(namespace, name).info

    def list_buckets(self, namespace: str, compartment_id: str | None = None) -> list[BucketInfo]:
        self.check_namespace(namespace)
        with self._lock:
            infos = [b.info for b in self._buckets.values()]
        return sorted((i for i in infos if compartment_id in (None, i.compartment_id)),
                      key=lambda i: i.name)

    def update_bucket(self, namespace: str, name: str, if_match: str | None = None,
                      **changes: Any) -> BucketInfo:
        """Change bucket properties (``object_events_enabled``, tags, metadata, ...)."""
        bucket = self._bucket(namespace, name)
        allowed = {"object_events_enabled", "metadata", "freeform_tags", "defined_tags",
                   "public_access_type", "compartment_id"}
        unknown = set(changes) - allowed
        if unknown:
            raise ServiceError(400, "InvalidParameter", f"cannot update {sorted(unknown)}")
        with bucket.lock:
            check_conditions(bucket.info.etag, if_match, None)
            values = {k: v for k, v in changes.items() if v is not None}
            bucket.info = replace(bucket.info, etag=str(uuid.uuid4()), **values)
            _write_json(bucket.path / "bucket.json", asdict(bucket.info))
            return bucket.info

    def delete_bucket(self, namespace: str, name: str, if_match: str | None = None) -> None:
        """Delete an empty bucket; 409 ``BucketNotEmpty`` otherwise."""
        bucket = self._bucket(namespace, name)
        with self._lock, bucket.lock:
            check_conditions(bucket.info.etag, if_match, None)
            if bucket.objects or any((bucket.path / "uploads").iterdir()):
                raise ServiceError(409, "BucketNotEmpty",
                                   f"Bucket named '{name}' is not empty. Delete all objects "
                                   f"and multipart uploads first.")
            del self._buckets[name]
            # Only a directory this backend made or loaded, directly under the buckets root.
            if bucket.path.parent.resolve() == self._buckets_root().resolve() and \
                    (bucket.path / "bucket.json").is_file():
                shutil.rmtree(bucket.path, ignore_errors=True)

    # -- objects: reads -----------------------------------------------------------------------

    def head_object(self, namespace: str, bucket_name: str, name: str) -> ObjectMeta:
        """Metadata of ``name``; 404 ``ObjectNotFound``."""
        bucket = self._bucket(namespace, bucket_name)
        with bucket.lock:
            meta = bucket.objects.get(name)
        if meta is None:
            raise object_not_found(bucket_name, name)
        return meta

    def open_object(self, namespace: str, bucket_name: str,
                    name: str) -> tuple[ObjectMeta, BinaryIO]:
        """Metadata and an open binary stream of the current version (caller closes it)."""
        bucket = self._bucket(namespace, bucket_name)
        with bucket.lock:
            meta = bucket.objects.get(name)
            if meta is None:
                raise object_not_found(bucket_name, name)
            stream = open(bucket.path / "data" / meta.etag, "rb")  # noqa: SIM115 - caller closes
        return meta, stream

    def list_objects(self, namespace: str, bucket_name: str, *, prefix: str = "",
                     start: str | None = None, end: str | None = None, limit: int = 1000,
                     delimiter: str | None = None, start_after: str | None = None,
                     ) -> tuple[list[ObjectMeta], list[str], str | None]:
        """``(objects, prefixes, next_start_with)`` in name order, as ListObjects pages."""
        bucket = self._bucket(namespace, bucket_name)
        with bucket.lock:
            names = bucket.names
            lower = max(prefix, start or "")
            index = bisect.bisect_left(names, lower)
            if start_after is not None:
                index = max(index, bisect.bisect_right(names, start_after))
            objects: list[ObjectMeta] = []
            prefixes: list[str] = []
            while index < len(names):
                name = names[index]
                if not name.startswith(prefix) or (end is not None and name >= end):
                    return objects, prefixes, None
                if len(objects) + len(prefixes) >= limit:
                    return objects, prefixes, name
                rest = name[len(prefix):]
                cut = rest.find(delimiter) if delimiter else -1
                if cut >= 0:
                    common = prefix + rest[:cut + len(delimiter or "")]
                    prefixes.append(common)
                    # skip every name under this common prefix
                    index = bisect.bisect_left(names, common + "\U0010ffff")
                    continue
                objects.append(bucket.objects[name])
                index += 1
            return objects, prefixes, None

    # -- objects: writes ----------------------------------------------------------------------

    def _spool(self, source: Readable | bytes) -> tuple[Path, int, bytes]:
        """Copy ``source`` to a temp file, fsynced; returns ``(path, size, md5 digest)``."""
        tmp = self._tmp / uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with open(tmp, "wb") as handle:
                if isinstance(source, (bytes, bytearray)):
                    handle.write(source)
                    digest.update(source)
                    size = len(source)
                else:
                    for chunk in iter(lambda: source.read(COPY_CHUNK), b""):
                        handle.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, size, digest.digest()

    def put_object(self, namespace: str, bucket_name: str, name: str,
                   source: Readable | bytes, *, content_type: str | None = None,
                   metadata: Mapping[str, str] | None = None, content_md5: str | None = None,
                   if_match: str | None = None, if_none_match: str | None = None,
                   content_encoding: str | None = None, content_language: str | None = None,
                   content_disposition: str | None = None, cache_control: str | None = None,
                   storage_tier: str | None = None) -> ObjectMeta:
        """Create or overwrite ``name`` from bytes or a stream; emits the object event."""
        bucket = self._bucket(namespace, bucket_name)
        _validate_object_name(name)
        tmp, size, digest = self._spool(source)
        md5 = _b64(digest)
        if content_md5 is not None and content_md5.strip() != md5:
            tmp.unlink(missing_ok=True)
            raise ServiceError(400, "UnmatchedContentMD5",
                               f"The computed MD5 of the request body ({md5}) does not match "
                               f"the Content-MD5 header ({content_md5.strip()})")
        stamp = now()
        meta = ObjectMeta(
            name=name, size=size, etag=str(uuid.uuid4()), time_created=stamp,
            time_modified=stamp, md5=md5, content_type=content_type or "application/octet-stream",
            content_encoding=content_encoding, content_language=content_language,
            content_disposition=content_disposition, cache_control=cache_control,
            metadata=dict(metadata or {}), storage_tier=storage_tier or "Standard")
        return self._commit(bucket, meta, tmp, if_match, if_none_match)

    def _commit(self, bucket: _Bucket, meta: ObjectMeta, tmp: Path, if_match: str | None,
                if_none_match: str | None) -> ObjectMeta:
        data = bucket.path / "data" / meta.etag
        os.replace(tmp, data)
        try:
            with bucket.lock:
                old = bucket.objects.get(meta.name)
                check_conditions(old.etag if old else None, if_match, if_none_match)
                if old is not None:
                    meta = replace(meta, time_created=old.time_created)
                _write_json(bucket.path / "objects" / f"{_key(meta.name)}.json", asdict(meta))
                bucket.store(meta)
                events = bucket.info.object_events_enabled
                info = bucket.info
        except BaseException:
            data.unlink(missing_ok=True)
            raise
        if old is not None:
            (bucket.path / "data" / old.etag).unlink(missing_ok=True)
        if events:
            kind = "updateobject" if old is not None else "createobject"
            self._emit(object_event(kind, info, meta.name, meta.etag, self.compartment_name))
        return meta

    def delete_object(self, namespace: str, bucket_name: str, name: str,
                      if_match: str | None = None) -> None:
        """Delete ``name``; 404 if absent, 412 if ``if_match`` is stale."""
        bucket = self._bucket(namespace, bucket_name)
        with bucket.lock:
            old = bucket.objects.get(name)
            if old is None:
                raise object_not_found(bucket_name, name)
            check_conditions(old.etag, if_match, None)
            (bucket.path / "objects" / f"{_key(name)}.json").unlink(missing_ok=True)
            bucket.forget(name)
            events = bucket.info.object_events_enabled
            info = bucket.info
        (bucket.path / "data" / old.etag).unlink(missing_ok=True)
        if events:
            self._emit(object_event("deleteobject", info, name, old.etag, self.compartment_name))

    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            log.exception("object event callback failed", extra={"event_type": event["eventType"]})

    # -- multipart uploads --------------------------------------------------------------------

    def _upload_dir(self, bucket: _Bucket, upload_id: str) -> Path:
        if not upload_id or "/" in upload_id or upload_id.startswith("."):
            raise ServiceError(400, "InvalidParameter", "invalid uploadId")
        return bucket.path / "uploads" / upload_id

    def _upload(self, bucket: _Bucket, upload_id: str, name: str) -> tuple[UploadMeta, Path]:
        path = self._upload_dir(bucket, upload_id)
        try:
            meta = UploadMeta(**json.loads((path / "upload.json").read_text("utf-8")))
        except FileNotFoundError:
            raise ServiceError(404, "NoSuchUpload",
                               f"The upload '{upload_id}' does not exist") from None
        if meta.object != name:
            raise ServiceError(404, "NoSuchUpload",
                               f"The upload '{upload_id}' is not for object '{name}'")
        return meta, path

    def create_upload(self, namespace: str, bucket_name: str, name: str, *,
                      content_type: str | None = None, metadata: Mapping[str, str] | None = None,
                      content_encoding: str | None = None, content_language: str | None = None,
                      content_disposition: str | None = None, cache_control: str | None = None,
                      storage_tier: str | None = None, if_match: str | None = None,
                      if_none_match: str | None = None) -> UploadMeta:
        """Start a multipart upload of ``name``."""
        bucket = self._bucket(namespace, bucket_name)
        _validate_object_name(name)
        with bucket.lock:
            current = bucket.objects.get(name)
            check_conditions(current.etag if current else None, if_match, if_none_match)
        upload = UploadMeta(
            upload_id=str(uuid.uuid4()), object=name, time_created=now(),
            content_type=content_type or "application/octet-stream",
            content_encoding=content_encoding, content_language=content_language,
            content_disposition=content_disposition, cache_control=cache_control,
            metadata=dict(metadata or {}), storage_tier=storage_tier or "Standard")
        path = self._upload_dir(bucket, upload.upload_id)
        path.mkdir(parents=True)
        _write_json(path / "upload.json", asdict(upload))
        return upload

    def upload_part(self, namespace: str, bucket_name: str, name: str, upload_id: str,
                    part_number: int, source: Readable | bytes,
                    content_md5: str | None = None) -> PartMeta:
        """Store (or replace) one part; returns its ETag and MD5."""
        bucket = self._bucket(namespace, bucket_name)
        if not 1 <= part_number <= MAX_PARTS:
            raise ServiceError(400, "InvalidParameter",
                               f"uploadPartNum must be between 1 and {MAX_PARTS}")
        _, path = self._upload(bucket, upload_id, name)
        tmp, size, digest = self._spool(source)
        md5 = _b64(digest)
        if content_md5 is not None and content_md5.strip() != md5:
            tmp.unlink(missing_ok=True)
            raise ServiceError(400, "UnmatchedContentMD5",
                               f"The computed MD5 of the request body ({md5}) does not match "
                               f"the Content-MD5 header ({content_md5.strip()})")
        part = PartMeta(part_number=part_number, etag=str(uuid.uuid4()), md5=md5, size=size)
        with bucket.lock:
            if not (path / "upload.json").exists():
                tmp.unlink(missing_ok=True)
                raise ServiceError(404, "NoSuchUpload", f"The upload '{upload_id}' does not exist")
            os.replace(tmp, path / f"part-{part_number:05d}")
            _write_json(path / f"part-{part_number:05d}.json", asdict(part))
        return part

    def list_parts(self, namespace: str, bucket_name: str, name: str,
                   upload_id: str) -> list[PartMeta]:
        bucket = self._bucket(namespace, bucket_name)
        _, path = self._upload(bucket, upload_id, name)
        with bucket.lock:
            return [PartMeta(**json.loads(p.read_text("utf-8")))
                    for p in sorted(path.glob("part-*.json"))]

    def list_uploads(self, namespace: str, bucket_name: str) -> list[UploadMeta]:
        bucket = self._bucket(namespace, bucket_name)
        uploads = []
        with bucket.lock:
            for doc in (bucket.path / "uploads").glob("*/upload.json"):
                uploads.append(UploadMeta(**json.loads(doc.read_text("utf-8"))))
        return sorted(uploads, key=lambda u: (u.object, u.time_created))

    def abort_upload(self, namespace: str, bucket_name: str, name: str, upload_id: str) -> None:
        bucket = self._bucket(namespace, bucket_name)
        _, path = self._upload(bucket, upload_id, name)
        with bucket.lock:
            shutil.rmtree(path, ignore_errors=True)

    def abort_uploads_created_before(self, namespace: str, bucket_name: str,
                                     cutoff: float) -> list[UploadMeta]:
        """Abort every uncommitted upload of the bucket created before ``cutoff`` (epoch s).

        What a lifecycle rule with action ``ABORT`` and target ``multipart-uploads``
        does once an upload is older than the rule's age: the upload and its parts
        are deleted ("Rules using 'ABORT' abort the uncommitted multipart-uploads and
        permanently delete their parts", ObjectLifecycleRule,
        https://docs.oracle.com/en-us/iaas/api/#/en/objectstorage/20160918/datatypes/ObjectLifecycleRule;
        https://docs.oracle.com/en-us/iaas/Content/Object/Tasks/usinglifecyclepolicies.htm).
        Such rules take no name prefix or pattern, so every upload of the bucket counts.
        """
        bucket = self._bucket(namespace, bucket_name)
        aborted = []
        with bucket.lock:
            for upload in self.list_uploads(namespace, bucket_name):
                if upload.time_created < cutoff:
                    shutil.rmtree(self._upload_dir(bucket, upload.upload_id), ignore_errors=True)
                    aborted.append(upload)
        return aborted

    def commit_upload(self, namespace: str, bucket_name: str, name: str, upload_id: str,
                      parts: Iterable[tuple[int, str]], *, exclude: Iterable[int] = (),
                      if_match: str | None = None,
                      if_none_match: str | None = None) -> ObjectMeta:
        """Assemble the listed ``(partNum, etag)`` parts into the object; emits the event."""
        bucket = self._bucket(namespace, bucket_name)
        upload, path = self._upload(bucket, upload_id, name)
        wanted = sorted(parts)
        if not wanted:
            raise ServiceError(400, "InvalidParameter", "partsToCommit must not be empty")
        excluded = set(exclude)
        with bucket.lock:
            stored = {p.part_number: p for p in self.list_parts(namespace, bucket_name, name,
                                                                upload_id)}
        md5s = []
        tmp = self._tmp / uuid.uuid4().hex
        size = 0
        try:
            with open(tmp, "wb") as out:
                for number, etag in wanted:
                    part = stored.get(number)
                    if number in excluded:
                        continue
                    if part is None or part.etag != etag.strip('"'):
                        raise ServiceError(400, "InvalidUploadPart",
                                           f"Part {number} with etag {etag} was not found")
                    with open(path / f"part-{number:05d}", "rb") as src:
                        shutil.copyfileobj(src, out, COPY_CHUNK)
                    md5s.append(base64.b64decode(part.md5))
                    size += part.size
                out.flush()
                os.fsync(out.fileno())
            multipart_md5 = f"{_b64(hashlib.md5(b''.join(md5s), usedforsecurity=False).digest())}" \
                            f"-{len(md5s)}"
            stamp = now()
            meta = ObjectMeta(
                name=name, size=size, etag=str(uuid.uuid4()), time_created=stamp,
                time_modified=stamp, multipart_md5=multipart_md5,
                content_type=upload.content_type, content_encoding=upload.content_encoding,
                content_language=upload.content_language,
                content_disposition=upload.content_disposition,
                cache_control=upload.cache_control, metadata=upload.metadata,
                storage_tier=upload.storage_tier)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        meta = self._commit(bucket, meta, tmp, if_match, if_none_match)
        with bucket.lock:
            shutil.rmtree(path, ignore_errors=True)
        return meta


def _validate_bucket_name(name: str) -> None:
    """OCI: letters, numbers, dashes, underscores and periods, 1-256 characters ("Managing
    Buckets", https://docs.oracle.com/iaas/Content/Object/Tasks/managingbuckets.htm). A name
    of periods only (``.``, ``..``) is not documented either way; it is refused (stricter)."""
    ok = 1 <= len(name) <= 256 and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)
    if not ok or not name.strip("."):
        raise ServiceError(400, "InvalidBucketName",
                           "Bucket names may contain only letters, numbers, dashes, underscores "
                           "and periods, and be 1 to 256 characters long")


def _validate_object_name(name: str) -> None:
    """OCI: 1-1024 bytes of UTF-8; no NUL, line feed or carriage return ("Object Names",
    https://docs.oracle.com/iaas/Content/Object/Tasks/managingobjects.htm)."""
    if not name or len(name.encode("utf-8", "surrogatepass")) > 1024:
        raise ServiceError(400, "InvalidParameter",
                           f"Object names must be 1 to 1024 bytes of UTF-8; this one has "
                           f"{len(name.encode('utf-8', 'surrogatepass'))}")
    bad = sorted({repr(c) for c in name if c in "\x00\n\r"})
    if bad:
        raise ServiceError(400, "InvalidParameter",
                           f"Object names may not contain {', '.join(bad)}")
