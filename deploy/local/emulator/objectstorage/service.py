"""The Object Storage REST subset (``/n/...``) bound to :class:`ObjectStorageBackend`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from deploy.local.emulator.http import Request, Response, Route, ServiceError
from deploy.local.emulator.objectstorage.backend import (
    BucketInfo,
    ObjectMeta,
    ObjectStorageBackend,
    PartMeta,
    UploadMeta,
)
from deploy.local.emulator.objectstorage.models import (
    CommitMultipartUploadDetails,
    CreateBucketDetails,
    CreateMultipartUploadDetails,
    UpdateBucketDetails,
)
from deploy.local.emulator.objectstorage.ranges import parse_range
from deploy.local.emulator.objectstorage.timefmt import http_date, rfc3339

META_PREFIX = "opc-meta-"


def location(req: Request, name: str) -> str:
    """The ``Location`` of a created bucket or upload: the request path plus the name, the
    name percent-encoded as the SDK sends it in a request path (``/o/<objectName>``;
    Object Storage API, https://docs.oracle.com/iaas/api/#/en/objectstorage/20160918/).

    HTTP field values are ASCII in practice (RFC 9110 section 5.5: other octets are
    "obs-text"), and ``http.server`` refuses anything outside Latin-1, so a raw object name
    in CJK or emoji broke the multipart response (issue 23).
    """
    return f"{req.raw_path}/{quote(name, safe='')}"
STREAM_CHUNK = 256 * 1024
OBJECT_FIELDS = ("name", "size", "etag", "md5", "timeCreated", "timeModified", "storageTier",
                 "archivalState")
M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], req: Request) -> M:
    try:
        return model.model_validate(req.json())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ServiceError(400, "InvalidParameter", f"{where}: {first['msg']}") from None


def _int_param(req: Request, name: str, default: int, low: int, high: int) -> int:
    raw = req.param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServiceError(400, "InvalidParameter", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ServiceError(400, "InvalidParameter", f"{name} must be between {low} and {high}")
    return value


def _strip_meta(values: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for key, value in (values or {}).items():
        key = key.lower()
        out[key[len(META_PREFIX):] if key.startswith(META_PREFIX) else key] = value
    return out


def bucket_json(info: BucketInfo) -> dict[str, Any]:
    return {
        "namespace": info.namespace, "name": info.name, "compartmentId": info.compartment_id,
        "metadata": info.metadata, "createdBy": info.created_by,
        "timeCreated": rfc3339(info.time_created), "etag": info.etag,
        "publicAccessType": info.public_access_type, "storageTier": info.storage_tier,
        "objectEventsEnabled": info.object_events_enabled, "freeformTags": info.freeform_tags,
        "definedTags": info.defined_tags, "id": info.id, "versioning": "Disabled",
        "autoTiering": "Disabled", "replicationEnabled": False, "isReadOnly": False,
    }


def _summary_json(info: BucketInfo) -> dict[str, Any]:
    return {
        "namespace": info.namespace, "name": info.name, "compartmentId": info.compartment_id,
        "createdBy": info.created_by, "timeCreated": rfc3339(info.time_created),
        "etag": info.etag, "freeformTags": info.freeform_tags, "definedTags": info.defined_tags,
    }


def _object_json(meta: ObjectMeta, fields: set[str]) -> dict[str, Any]:
    full: dict[str, Any] = {
        "name": meta.name, "size": meta.size, "etag": meta.etag,
        "md5": meta.md5 or meta.multipart_md5, "timeCreated": rfc3339(meta.time_created),
        "timeModified": rfc3339(meta.time_modified), "storageTier": meta.storage_tier,
        "archivalState": None,
    }
    return {k: v for k, v in full.items() if k == "name" or (k in fields and v is not None)}


def _upload_json(namespace: str, bucket: str, upload: UploadMeta) -> dict[str, Any]:
    return {"namespace": namespace, "bucket": bucket, "object": upload.object,
            "uploadId": upload.upload_id, "timeCreated": rfc3339(upload.time_created),
            "storageTier": upload.storage_tier}


def _part_json(part: PartMeta) -> dict[str, Any]:
    return {"partNumber": part.part_number, "etag": part.etag, "md5": part.md5,
            "size": part.size}


def _object_headers(meta: ObjectMeta) -> dict[str, str]:
    headers = {
        "ETag": meta.etag, "Content-Type": meta.content_type,
        "Last-Modified": http_date(meta.time_modified), "Accept-Ranges": "bytes",
        "storage-tier": meta.storage_tier,
    }
    if meta.md5:
        headers["opc-content-md5"] = meta.md5
    if meta.multipart_md5:
        headers["opc-multipart-md5"] = meta.multipart_md5
    optional = {"Content-Encoding": meta.content_encoding,
                "Content-Language": meta.content_language,
                "Content-Disposition": meta.content_disposition,
                "Cache-Control": meta.cache_control}
    headers.update({k: v for k, v in optional.items() if v})
    headers.update({META_PREFIX + k: v for k, v in meta.metadata.items()})
    return headers


def _stream(handle: BinaryIO, first: int, count: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        while count > 0:
            chunk = handle.read(min(STREAM_CHUNK, count))
            if not chunk:
                break
            count -= len(chunk)
            yield chunk
    finally:
        handle.close()


class ObjectStorageService:
    """Routes of the Object Storage API answered by the emulator."""

    name = "objectstorage"

    def __init__(self, backend: ObjectStorageBackend) -> None:
        self.backend = backend

    def routes(self) -> list[Route]:
        b = "/n/{namespaceName}/b"
        bucket = b + "/{bucketName}"
        obj = bucket + "/o/{objectName+}"
        upl = bucket + "/u/{objectName+}"
        return [
            Route("GET", "/n/", self.get_namespace),
            Route("GET", "/n", self.get_namespace),
            Route("POST", b, self.create_bucket),
            Route("GET", b, self.list_buckets),
            Route("GET", bucket, self.get_bucket),
            Route("HEAD", bucket, self.head_bucket),
            Route("POST", bucket, self.update_bucket),
            Route("DELETE", bucket, self.delete_bucket),
            Route("GET", bucket + "/o", self.list_objects),
            Route("PUT", obj, self.put_object, body_signed=False),
            Route("GET", obj, self.get_object),
            Route("HEAD", obj, self.head_object),
            Route("DELETE", obj, self.delete_object),
            Route("POST", bucket + "/u", self.create_upload),
            Route("GET", bucket + "/u", self.list_uploads),
            Route("PUT", upl, self.upload_part, body_signed=False),
            Route("POST", upl, self.commit_upload),
            Route("GET", upl, self.list_parts),
            Route("DELETE", upl, self.abort_upload),
        ]

    # -- namespace and buckets ----------------------------------------------------------------

    def get_namespace(self, req: Request, params: dict[str, str]) -> Response:
        return Response.json(self.backend.namespace)

    def create_bucket(self, req: Request, params: dict[str, str]) -> Response:
        details = _parse(CreateBucketDetails, req)
        info = self.backend.create_bucket(
            params["namespaceName"], details.name, details.compartment_id,
            object_events_enabled=details.object_events_enabled, metadata=details.metadata,
            freeform_tags=details.freeform_tags, defined_tags=details.defined_tags,
            storage_tier=details.storage_tier, public_access_type=details.public_access_type)
        return Response.json(bucket_json(info), headers={
            "ETag": info.etag, "Location": location(req, info.name)})

    def list_buckets(self, req: Request, params: dict[str, str]) -> Response:
        compartment = req.param("compartmentId")
        if not compartment:
            raise ServiceError(400, "MissingParameter", "compartmentId is required")
        limit = _int_param(req, "limit", 1000, 1, 1000)
        infos = self.backend.list_buckets(params["namespaceName"], compartment)
        page = req.param("page")
        if page:
            infos = [i for i in infos if i.name > page]
        headers = {}
        if len(infos) > limit:
            infos = infos[:limit]
            headers["opc-next-page"] = infos[-1].name
        return Response.json([_summary_json(i) for i in infos], headers=headers)

    def get_bucket(self, req: Request, params: dict[str, str]) -> Response:
        info = self.backend.get_bucket(params["namespaceName"], params["bucketName"])
        _check_read(req, info.etag)
        return Response.json(bucket_json(info), headers={"ETag": info.etag})

    def head_bucket(self, req: Request, params: dict[str, str]) -> Response:
        info = self.backend.get_bucket(params["namespaceName"], params["bucketName"])
        _check_read(req, info.etag)
        return Response(status=200, headers={"ETag": info.etag})

    def update_bucket(self, req: Request, params: dict[str, str]) -> Response:
        details = _parse(UpdateBucketDetails, req)
        info = self.backend.update_bucket(params["namespaceName"], params["bucketName"],
                                          if_match=req.headers.get("if-match"),
                                          **details.model_dump(exclude_none=True))
        return Response.json(bucket_json(info), headers={"ETag": info.etag})

    def delete_bucket(self, req: Request, params: dict[str, str]) -> Response:
        self.backend.delete_bucket(params["namespaceName"], params["bucketName"],
                                   if_match=req.headers.get("if-match"))
        return Response(status=204)

    # -- objects ------------------------------------------------------------------------------

    def list_objects(self, req: Request, params: dict[str, str]) -> Response:
        delimiter = req.param("delimiter")
        if delimiter not in (None, "/"):
            raise ServiceError(400, "InvalidParameter", "delimiter must be '/'")
        objects, prefixes, next_start = self.backend.list_objects(
            params["namespaceName"], params["bucketName"], prefix=req.param("prefix") or "",
            start=req.param("start"), end=req.param("end"),
            limit=_int_param(req, "limit", 1000, 1, 1000), delimiter=delimiter,
            start_after=req.param("startAfter"))
        fields = {f.strip() for f in (req.param("fields") or "name").split(",")}
        unknown = fields - set(OBJECT_FIELDS)
        if unknown:
            raise ServiceError(400, "InvalidParameter", f"unknown fields {sorted(unknown)}")
        body: dict[str, Any] = {"objects": [_object_json(o, fields) for o in objects],
                                "prefixes": prefixes}
        if next_start is not None:
            body["nextStartWith"] = next_start
        return Response.json(body)

    def put_object(self, req: Request, params: dict[str, str]) -> Response:
        h = req.headers
        metadata = {k.lower()[len(META_PREFIX):]: v for k, v in h.items()
                    if k.lower().startswith(META_PREFIX)}
        meta = self.backend.put_object(
            params["namespaceName"], params["bucketName"], params["objectName"], req.body,
            content_type=h.get("content-type"), metadata=metadata,
            content_md5=h.get("content-md5"), if_match=h.get("if-match"),
            if_none_match=h.get("if-none-match"), content_encoding=h.get("content-encoding"),
            content_language=h.get("content-language"),
            content_disposition=h.get("content-disposition"),
            cache_control=h.get("cache-control"), storage_tier=h.get("storage-tier"))
        return Response(status=200, headers={
            "ETag": meta.etag, "opc-content-md5": meta.md5 or "",
            "Last-Modified": http_date(meta.time_modified)})

    def _read(self, req: Request, params: dict[str, str], with_body: bool) -> Response:
        meta, handle = self.backend.open_object(params["namespaceName"], params["bucketName"],
                                                params["objectName"])
        try:
            not_modified = _check_read(req, meta.etag)
            headers = _object_headers(meta)
            if not_modified:
                handle.close()
                return Response(status=304, headers={"ETag": meta.etag})
            span = parse_range(req.headers.get("range"), meta.size)
        except BaseException:
            handle.close()
            raise
        status, first, count = 200, 0, meta.size
        if span is not None:
            status, first, count = 206, span[0], span[1] - span[0] + 1
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{meta.size}"
        headers["Content-Length"] = str(count)
        if not with_body:
            handle.close()
            return Response(status=status, headers=headers, body=None)
        return Response(status=status, headers=headers, body=_stream(handle, first, count))

    def get_object(self, req: Request, params: dict[str, str]) -> Response:
        return self._read(req, params, with_body=True)

    def head_object(self, req: Request, params: dict[str, str]) -> Response:
        return self._read(req, params, with_body=False)

    def delete_object(self, req: Request, params: dict[str, str]) -> Response:
        self.backend.delete_object(params["namespaceName"], params["bucketName"],
                                   params["objectName"], if_match=req.headers.get("if-match"))
        return Response(status=204)

    # -- multipart ----------------------------------------------------------------------------

    def create_upload(self, req: Request, params: dict[str, str]) -> Response:
        details = _parse(CreateMultipartUploadDetails, req)
        ns, bucket = params["namespaceName"], params["bucketName"]
        upload = self.backend.create_upload(
            ns, bucket, details.object, content_type=details.content_type,
            metadata=_strip_meta(details.metadata), content_encoding=details.content_encoding,
            content_language=details.content_language,
            content_disposition=details.content_disposition, cache_control=details.cache_control,
            storage_tier=details.storage_tier, if_match=req.headers.get("if-match"),
            if_none_match=req.headers.get("if-none-match"))
        return Response.json(_upload_json(ns, bucket, upload), headers={
            "Location": location(req, upload.object)})

    def list_uploads(self, req: Request, params: dict[str, str]) -> Response:
        ns, bucket = params["namespaceName"], params["bucketName"]
        limit = _int_param(req, "limit", 1000, 1, 1000)
        start = _int_param(req, "page", 0, 0, 1 << 31)
        uploads = self.backend.list_uploads(ns, bucket)
        chunk = uploads[start:start + limit]
        headers = {}
        if start + limit < len(uploads):
            headers["opc-next-page"] = str(start + limit)
        return Response.json([_upload_json(ns, bucket, u) for u in chunk], headers=headers)

    def _upload_id(self, req: Request) -> str:
        upload_id = req.param("uploadId")
        if not upload_id:
            raise ServiceError(400, "MissingParameter", "uploadId is required")
        return upload_id

    def upload_part(self, req: Request, params: dict[str, str]) -> Response:
        number = req.param("uploadPartNum")
        if number is None or not number.isdigit():
            raise ServiceError(400, "MissingParameter", "uploadPartNum is required")
        part = self.backend.upload_part(
            params["namespaceName"], params["bucketName"], params["objectName"],
            self._upload_id(req), int(number), req.body,
            content_md5=req.headers.get("content-md5"))
        return Response(status=200, headers={"ETag": part.etag, "opc-content-md5": part.md5})

    def commit_upload(self, req: Request, params: dict[str, str]) -> Response:
        details = _parse(CommitMultipartUploadDetails, req)
        meta = self.backend.commit_upload(
            params["namespaceName"], params["bucketName"], params["objectName"],
            self._upload_id(req), [(p.part_num, p.etag) for p in details.parts_to_commit],
            exclude=details.parts_to_exclude or (), if_match=req.headers.get("if-match"),
            if_none_match=req.headers.get("if-none-match"))
        return Response(status=200, headers={
            "ETag": meta.etag, "opc-multipart-md5": meta.multipart_md5 or "",
            "Last-Modified": http_date(meta.time_modified)})

    def list_parts(self, req: Request, params: dict[str, str]) -> Response:
        limit = _int_param(req, "limit", 1000, 1, 1000)
        after = _int_param(req, "page", 0, 0, 1 << 31)
        parts = [p for p in self.backend.list_parts(params["namespaceName"], params["bucketName"],
                                                    params["objectName"], self._upload_id(req))
                 if p.part_number > after]
        headers = {}
        if len(parts) > limit:
            parts = parts[:limit]
            headers["opc-next-page"] = str(parts[-1].part_number)
        return Response.json([_part_json(p) for p in parts], headers=headers)

    def abort_upload(self, req: Request, params: dict[str, str]) -> Response:
        self.backend.abort_upload(params["namespaceName"], params["bucketName"],
                                  params["objectName"], self._upload_id(req))
        return Response(status=204)


def _check_read(req: Request, etag: str) -> bool:
    """GET/HEAD conditions: 412 on a stale If-Match; True if If-None-Match says 304."""
    if_match = req.headers.get("if-match")
    if if_match is not None and if_match.strip() not in ("*", etag):
        raise ServiceError(412, "NoEtagMatch",
                           "The entity tag (ETag) in the If-Match header does not match "
                           "the current entity tag of the resource")
    if_none_match = req.headers.get("if-none-match")
    return if_none_match is not None and if_none_match.strip() in ("*", etag)
