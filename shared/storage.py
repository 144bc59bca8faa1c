"""Object Storage operations the pipeline needs, with its safety rules built in.

* Reads stream (``raw.stream``), so memory is bounded by the chunk size.
* :class:`AtomicObjectWriter` uploads by multipart and commits once at the end:
  a reader never sees a partial object, and an aborted write leaves nothing.
* Every write can be conditional (``If-None-Match: *`` to create only,
  ``If-Match: <etag>`` to replace exactly the version we read), so two
  deliveries of the same event cannot both win.
* A 404 on the pipeline's own objects reads as "absent" (``ObjectNotFound`` / None):
  each stage holds the grants on its prefixes; where a 404 may be a missing grant
  (convert's source object), the caller confirms with a listing (shared/errors.py).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from shared import logs
from shared.errors import describe, not_found, precondition_failed

log = logs.get_logger("ocift.storage")

READ_CHUNK = 1024 * 1024


class PreconditionFailed(Exception):
    """A conditional write or read lost: the object changed (412) or exists (409)."""


class ObjectNotFound(Exception):
    """The object (or bucket) does not exist (404)."""


def _translate(exc: Exception, what: str) -> Exception:
    if not_found(exc):
        return ObjectNotFound(f"{what} not found")
    if precondition_failed(exc):
        return PreconditionFailed(f"{what}: precondition failed ({describe(exc)})")
    return exc


#: Printable ASCII but ``%`` and space: what an HTTP header value carries unchanged.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def encode_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """Metadata values percent-encoded (UTF-8) so any object name fits in a header.

    ``opc-meta-*`` values travel as HTTP headers, which carry Latin-1 at best: an
    object name with CJK, emoji, a tab or a newline cannot be sent as is (OCI object
    names are any UTF-8 but NUL, up to 1024 bytes:
    https://docs.oracle.com/iaas/Content/Object/Tasks/managingobjects.htm#namerequirements).
    """
    return {key: quote(value, safe=_HEADER_SAFE) for key, value in metadata.items()}


def decode_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The values :func:`encode_metadata` wrote (plain values pass through unchanged)."""
    return {key: unquote(value) for key, value in metadata.items()}


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD tells us about an object."""

    name: str
    etag: str
    size: int
    metadata: dict[str, str] = field(default_factory=dict)


def _info(name: str, raw_headers: Any) -> ObjectInfo:
    headers = {k.lower(): v for k, v in raw_headers.items()}
    meta = decode_metadata({k[len("opc-meta-"):]: v for k, v in headers.items()
                            if k.startswith("opc-meta-")})
    return ObjectInfo(name=name, etag=headers.get("etag", ""),
                      size=int(headers.get("content-length", 0)), metadata=meta)


@dataclass
class ObjectStore:
    """One bucket, seen through an ``oci`` ObjectStorageClient."""

    client: Any
    namespace: str
    bucket: str

    # -- reads -------------------------------------------------------------------------------

    def head(self, name: str) -> ObjectInfo | None:
        """Metadata of ``name``, or ``None`` if it does not exist."""
        try:
            resp = self.client.head_object(self.namespace, self.bucket, name)
        except Exception as exc:
            if not_found(exc):
                return None
            raise
        return _info(name, resp.headers)

    def open(self, name: str, if_match: str | None = None) -> tuple[ObjectInfo, io.RawIOBase]:
        """Open ``name`` for streaming reads; ``if_match`` pins the version (412 if changed)."""
        kwargs: dict[str, Any] = {}
        if if_match:
            kwargs["if_match"] = if_match
        try:
            resp = self.client.get_object(self.namespace, self.bucket, name, **kwargs)
        except Exception as exc:
            raise _translate(exc, f"object {name!r}") from exc
        return _info(name, resp.headers), _StreamReader(resp.data)

    def read_bytes(self, name: str) -> tuple[bytes, str] | None:
        """A small object's bytes and its ETag, or ``None`` if absent."""
        try:
            resp = self.client.get_object(self.namespace, self.bucket, name)
        except Exception as exc:
            if not_found(exc):
                return None
            raise
        etag = {k.lower(): v for k, v in resp.headers.items()}.get("etag", "")
        return bytes(resp.data.content), etag

    def read_json(self, name: str) -> tuple[Any, str] | None:
        """Small JSON object and its ETag, or ``None`` if absent."""
        got = self.read_bytes(name)
        if got is None:
            return None
        return json.loads(got[0]), got[1]

    def listed_etag(self, name: str) -> str | None:
        """The ETag ListObjects shows for ``name`` (None: not listed).

        Tells a deleted object from one the caller may not read: OCI answers 404 to
        GetObject for both. ListObjects needs only ``inspect objects`` on the bucket.
        """
        resp = self.client.list_objects(self.namespace, self.bucket, prefix=name, start=name,
                                        limit=1, fields="name,etag")
        for obj in resp.data.objects:
            if obj.name == name:
                return str(getattr(obj, "etag", "") or "")
        return None

    def list_names(self, prefix: str, limit: int = 1000) -> Iterator[str]:
        """Every object name under ``prefix`` (paged)."""
        start: str | None = None
        while True:
            kwargs: dict[str, Any] = {"prefix": prefix, "limit": limit}
            if start:
                kwargs["start"] = start
            resp = self.client.list_objects(self.namespace, self.bucket, **kwargs)
            for obj in resp.data.objects:
                yield obj.name
            start = resp.data.next_start_with
            if not start:
                return

    # -- writes ------------------------------------------------------------------------------

    def put_bytes(
        self,
        name: str,
        body: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> str:
        """Write a small object in one request; returns the new ETag."""
        kwargs: dict[str, Any] = {"content_type": content_type, "content_length": len(body)}
        if metadata:
            kwargs["opc_meta"] = encode_metadata(metadata)
        if if_match:
            kwargs["if_match"] = if_match
        if if_none_match:
            kwargs["if_none_match"] = if_none_match
        try:
            resp = self.client.put_object(self.namespace, self.bucket, name, body, **kwargs)
        except Exception as exc:
            raise _translate(exc, f"write of {name!r}") from exc
        return str(resp.headers.get("etag", ""))

    def put_json(self, name: str, doc: Any, **kwargs: Any) -> str:
        body = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        return self.put_bytes(name, body, content_type="application/json", **kwargs)

    def writer(
        self,
        name: str,
        *,
        part_size: int = 8 * 1024 * 1024,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> AtomicObjectWriter:
        return AtomicObjectWriter(self, name, part_size=part_size, content_type=content_type,
                                  metadata=metadata or {})


class _StreamReader(io.RawIOBase):
    """A readable file over the SDK's streamed response (``raw`` urllib3 stream)."""

    def __init__(self, data: Any) -> None:
        self._raw = data.raw
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._raw.read(len(buffer))
        if not chunk:
            return 0
        n = len(chunk)
        buffer[:n] = chunk
        return n

    def close(self) -> None:
        try:
            self._data.close()
        finally:
            super().close()


class AtomicObjectWriter(io.RawIOBase):
    """Write an object by multipart upload; it becomes visible only at :meth:`commit`.

    Small outputs (one part) are written with a single conditional PUT instead.
    Anything not committed is aborted, so an error or crash leaves no object.
    """

    def __init__(self, store: ObjectStore, name: str, *, part_size: int, content_type: str,
                 metadata: dict[str, str]) -> None:
        super().__init__()
        self.store = store
        self.name = name
        self.part_size = part_size
        self.content_type = content_type
        self.metadata = metadata
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[tuple[int, str]] = []
        self._written = 0
        self._finished = False

    # io.RawIOBase protocol ------------------------------------------------------------------
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._finished:
            raise ValueError("write after commit/abort")
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) >= self.part_size:
            part = bytes(self._buffer[: self.part_size])
            del self._buffer[: self.part_size]
            self._upload_part(part)
        return len(data)

    @property
    def bytes_written(self) -> int:
        return self._written

    # multipart --------------------------------------------------------------------------------
    def _ensure_upload(self) -> str:
        if self._upload_id is None:
            from oci.object_storage.models import CreateMultipartUploadDetails

            # CreateMultipartUploadDetails.metadata keys must carry the opc-meta- prefix
            # (PutObject's SDK argument adds it; this model does not).
            metadata = {f"opc-meta-{k}": v
                        for k, v in encode_metadata(self.metadata or {}).items()}
            details = CreateMultipartUploadDetails(
                object=self.name, content_type=self.content_type, metadata=metadata or None
            )
            resp = self.store.client.create_multipart_upload(
                self.store.namespace, self.store.bucket, details
            )
            self._upload_id = str(resp.data.upload_id)
        return self._upload_id

    def _upload_part(self, part: bytes) -> None:
        upload_id = self._ensure_upload()
        number = len(self._parts) + 1
        resp = self.store.client.upload_part(
            self.store.namespace, self.store.bucket, self.name, upload_id, number, part,
            content_length=len(part),
        )
        self._parts.append((number, str(resp.headers.get("etag", ""))))

    def commit(self, *, if_match: str | None = None, if_none_match: str | None = None) -> str:
        """Make the object visible (conditionally); returns its ETag."""
        if self._finished:
            raise ValueError("writer already finished")
        try:
            if not self._parts:
                etag = self.store.put_bytes(
                    self.name, bytes(self._buffer), content_type=self.content_type,
                    metadata=self.metadata, if_match=if_match, if_none_match=if_none_match,
                )
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                    self._buffer.clear()
                etag = self._commit_multipart(if_match, if_none_match)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        return etag

    def _commit_multipart(self, if_match: str | None, if_none_match: str | None) -> str:
        from oci.object_storage.models import (
            CommitMultipartUploadDetails,
            CommitMultipartUploadPartDetails,
        )

        details = CommitMultipartUploadDetails(
            parts_to_commit=[CommitMultipartUploadPartDetails(part_num=n, etag=e)
                             for n, e in self._parts]
        )
        kwargs: dict[str, Any] = {}
        if if_match:
            kwargs["if_match"] = if_match
        if if_none_match:
            kwargs["if_none_match"] = if_none_match
        try:
            resp = self.store.client.commit_multipart_upload(
                self.store.namespace, self.store.bucket, self.name, self._ensure_upload(),
                details, **kwargs,
            )
        except Exception as exc:
            raise _translate(exc, f"commit of {self.name!r}") from exc
        return str(resp.headers.get("etag", ""))

    def abort(self) -> None:
        """Drop everything written so far; safe to call more than once."""
        if self._finished:
            return
        self._finished = True
        self._buffer.clear()
        if self._upload_id is not None:
            try:
                self.store.client.abort_multipart_upload(
                    self.store.namespace, self.store.bucket, self.name, self._upload_id
                )
            except Exception as exc:  # the upload expires on its own; never mask the cause
                log.warning("abort of multipart upload failed", extra={"error": type(exc).__name__})

    def close(self) -> None:
        if not self._finished:
            self.abort()
        super().close()


def namespace_of(client: Any, configured: str | None) -> str:
    """The configured namespace, or the tenancy's as Object Storage reports it."""
    if configured:
        return configured
    return str(client.get_namespace().data)
