"""Each emulated API operation and the permission(s) Oracle documents for it.

Keyed by the route (method + pattern) the emulator serves, so enforcement hooks
into request dispatch without touching the services. Sources:

* Object Storage "Permissions Required for Each API Operation",
  https://docs.oracle.com/iaas/Content/Identity/Reference/objectstoragepolicyreference.htm
  (PutObject and the multipart writes need OBJECT_CREATE for a new name and
  OBJECT_OVERWRITE for an existing one: ``CREATE_OR_OVERWRITE``; GetNamespace needs
  none).
* Generative AI per-resource "API-Level Permissions" pages and "Permissions for
  Managing Models", https://docs.oracle.com/iaas/Content/generative-ai/model-permissions.htm
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Placeholder permission: OBJECT_CREATE when the object is new, OBJECT_OVERWRITE otherwise.
CREATE_OR_OVERWRITE = "OBJECT_CREATE|OBJECT_OVERWRITE"

#: Where the target (and its compartment) of an operation comes from.
Target = Literal["none", "namespace", "bucket", "object", "upload-body", "genai-list",
                 "genai-create", "genai-resource", "genai-inference"]


@dataclass(frozen=True)
class Operation:
    name: str
    resource_type: str
    permissions: tuple[str, ...]
    target: Target


def _os(name: str, rtype: str, perm: str, target: Target) -> Operation:
    return Operation(name, rtype, (perm,) if perm else (), target)


_B = "/n/{namespaceName}/b"
_BUCKET = _B + "/{bucketName}"
_OBJ = _BUCKET + "/o/{objectName+}"
_UPL = _BUCKET + "/u/{objectName+}"

OBJECT_STORAGE: dict[tuple[str, str], Operation] = {
    ("GET", "/n/"): _os("GetNamespace", "objectstorage-namespaces", "", "none"),
    ("GET", "/n"): _os("GetNamespace", "objectstorage-namespaces", "", "none"),
    ("POST", _B): _os("CreateBucket", "buckets", "BUCKET_CREATE", "namespace"),
    ("GET", _B): _os("ListBuckets", "buckets", "BUCKET_INSPECT", "namespace"),
    ("GET", _BUCKET): _os("GetBucket", "buckets", "BUCKET_READ", "bucket"),
    ("HEAD", _BUCKET): _os("HeadBucket", "buckets", "BUCKET_READ", "bucket"),
    ("POST", _BUCKET): _os("UpdateBucket", "buckets", "BUCKET_UPDATE", "bucket"),
    ("DELETE", _BUCKET): _os("DeleteBucket", "buckets", "BUCKET_DELETE", "bucket"),
    ("GET", _BUCKET + "/o"): _os("ListObjects", "objects", "OBJECT_INSPECT", "bucket"),
    ("PUT", _OBJ): _os("PutObject", "objects", CREATE_OR_OVERWRITE, "object"),
    ("GET", _OBJ): _os("GetObject", "objects", "OBJECT_READ", "object"),
    # HeadObject: the reference lists it with OBJECT_READ; the stricter reading is kept.
    ("HEAD", _OBJ): _os("HeadObject", "objects", "OBJECT_READ", "object"),
    ("DELETE", _OBJ): _os("DeleteObject", "objects", "OBJECT_DELETE", "object"),
    ("POST", _BUCKET + "/u"): _os("CreateMultipartUpload", "objects", CREATE_OR_OVERWRITE,
                                  "upload-body"),
    ("GET", _BUCKET + "/u"): _os("ListMultipartUploads", "objects", "OBJECT_INSPECT", "bucket"),
    ("PUT", _UPL): _os("UploadPart", "objects", CREATE_OR_OVERWRITE, "object"),
    ("POST", _UPL): _os("CommitMultipartUpload", "objects", CREATE_OR_OVERWRITE, "object"),
    ("GET", _UPL): _os("ListMultipartUploadParts", "objects", "OBJECT_READ", "object"),
    ("DELETE", _UPL): _os("AbortMultipartUpload", "objects", "OBJECT_DELETE", "object"),
}


def _genai_crud(path: str, resource: str, rtype: str, prefix: str,
                id_param: str) -> dict[tuple[str, str], Operation]:
    api = "/20231130"
    return {
        ("GET", f"{api}/{path}"): Operation(f"List{resource}s", rtype, (f"{prefix}_INSPECT",),
                                            "genai-list"),
        ("POST", f"{api}/{path}"): Operation(f"Create{resource}", rtype, (f"{prefix}_CREATE",),
                                             "genai-create"),
        ("GET", f"{api}/{path}/{{{id_param}}}"): Operation(f"Get{resource}", rtype,
                                                           (f"{prefix}_READ",), "genai-resource"),
        ("DELETE", f"{api}/{path}/{{{id_param}}}"): Operation(
            f"Delete{resource}", rtype, (f"{prefix}_DELETE",), "genai-resource"),
    }


GENERATIVE_AI: dict[tuple[str, str], Operation] = {
    **_genai_crud("models", "Model", "generative-ai-model", "GENERATIVE_AI_MODEL", "modelId"),
    **_genai_crud("dedicatedAiClusters", "DedicatedAiCluster",
                  "generative-ai-dedicated-ai-cluster", "GENERATIVE_AI_DEDICATED_AI_CLUSTER",
                  "dedicatedAiClusterId"),
    **_genai_crud("endpoints", "Endpoint", "generative-ai-endpoint", "GENERATIVE_AI_ENDPOINT",
                  "endpointId"),
    ("GET", "/20231130/workRequests"): Operation(
        "ListWorkRequests", "generative-ai-work-request",
        ("GENERATIVE_AI_WORK_REQUEST_INSPECT",), "genai-list"),
    ("GET", "/20231130/workRequests/{workRequestId}"): Operation(
        "GetWorkRequest", "generative-ai-work-request", ("GENERATIVE_AI_WORK_REQUEST_READ",),
        "genai-resource"),
    ("GET", "/20231130/workRequests/{workRequestId}/errors"): Operation(
        "ListWorkRequestErrors", "generative-ai-work-request",
        ("GENERATIVE_AI_WORK_REQUEST_READ",), "genai-resource"),
    ("GET", "/20231130/workRequests/{workRequestId}/logs"): Operation(
        "ListWorkRequestLogs", "generative-ai-work-request",
        ("GENERATIVE_AI_WORK_REQUEST_READ",), "genai-resource"),
    ("POST", "/20231130/actions/chat"): Operation(
        "Chat", "generative-ai-chat", ("GENERATIVE_AI_CHAT",), "genai-inference"),
}

OPERATIONS: dict[tuple[str, str], Operation] = {**OBJECT_STORAGE, **GENERATIVE_AI}


def operation_for(method: str, pattern: str) -> Operation | None:
    """The operation a matched route serves (``None``: not an IAM-checked route)."""
    return OPERATIONS.get((method, pattern))
