"""OCI's request limits that the emulator's services do not check themselves.

Checked by the server after authorization, before the handler, at the dispatch
level (by route), answering as the real service does:

* ``CreateMultipartUploadDetails.metadata`` keys must start with ``opc-meta-``
  (API reference, CreateMultipartUploadDetails: "The metadata key must start with
  opc-meta-"; https://docs.oracle.com/iaas/api/#/en/objectstorage/20160918/datatypes/CreateMultipartUploadDetails)
  -> 400 ``InvalidParameter``.
* Freeform tags on Generative AI creates: at most 64 tags per resource, keys at most
  100 characters, values at most 256 characters ("Tagging
  Limits", https://docs.oracle.com/iaas/Content/Tagging/Concepts/taggingoverview.htm)
  -> 400 ``InvalidParameter``.

Bucket and object names are checked by the Object Storage backend itself.
"""

from __future__ import annotations

import json
from typing import Any

from deploy.local.emulator.http import Request, Route, ServiceError

META_PREFIX = "opc-meta-"
MAX_TAGS = 64
MAX_TAG_KEY = 100
MAX_TAG_VALUE = 256
_GENAI_CREATES = {"/20231130/models", "/20231130/dedicatedAiClusters", "/20231130/endpoints"}
_CREATE_UPLOAD = "/n/{namespaceName}/b/{bucketName}/u"


def check_request(route: Route, req: Request) -> None:
    """Raise OCI's 400 for a request body outside the documented limits."""
    if route.method != "POST":
        return
    if route.pattern == _CREATE_UPLOAD:
        _check_upload_metadata(_json(req))
    elif route.pattern in _GENAI_CREATES:
        _check_freeform_tags(_json(req).get("freeformTags"))


def _json(req: Request) -> dict[str, Any]:
    from deploy.local.emulator.iam.enforcer import _peek_json

    return _peek_json(req)


def _check_upload_metadata(body: dict[str, Any]) -> None:
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        return
    for key in metadata:
        if not str(key).lower().startswith(META_PREFIX):
            raise ServiceError(400, "InvalidParameter",
                               f"metadata key {str(key)!r} must start with {META_PREFIX!r} "
                               f"(e.g. {META_PREFIX}{key})")


def _check_freeform_tags(tags: Any) -> None:
    if not isinstance(tags, dict):
        return
    if len(tags) > MAX_TAGS:
        raise ServiceError(400, "InvalidParameter",
                           f"freeformTags has {len(tags)} tags; at most {MAX_TAGS} are allowed")
    for key, value in tags.items():
        key = str(key)
        if not key or len(key) > MAX_TAG_KEY:
            raise ServiceError(400, "InvalidParameter",
                               f"freeformTags key {json.dumps(key)[:120]} must be 1 to "
                               f"{MAX_TAG_KEY} characters")
        if len(str(value)) > MAX_TAG_VALUE:
            raise ServiceError(400, "InvalidParameter",
                               f"freeformTags value of {key!r} is longer than "
                               f"{MAX_TAG_VALUE} characters")
