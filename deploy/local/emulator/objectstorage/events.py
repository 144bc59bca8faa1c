"""Object Storage CloudEvents, shaped exactly as OCI Object Storage emits them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deploy.local.emulator.objectstorage.backend import BucketInfo

EVENT_PREFIX = "com.oraclecloud.objectstorage."


def object_event(kind: str, bucket: BucketInfo, name: str, etag: str,
                 compartment_name: str) -> dict[str, Any]:
    """``kind`` is ``createobject``, ``updateobject`` or ``deleteobject``."""
    return {
        "cloudEventsVersion": "0.1",
        "eventID": str(uuid.uuid4()),
        "eventType": EVENT_PREFIX + kind,
        "source": "objectstorage",
        "eventTypeVersion": "2.0",
        "eventTime": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "contentType": "application/json",
        "extensions": {"compartmentId": bucket.compartment_id},
        "data": {
            "compartmentId": bucket.compartment_id,
            "compartmentName": compartment_name,
            "resourceName": name,
            "resourceId": f"/n/{bucket.namespace}/b/{bucket.name}/o/{name}",
            "availabilityDomain": "all",
            "freeFormTags": dict(bucket.freeform_tags),
            "definedTags": dict(bucket.defined_tags),
            "additionalDetails": {
                "eTag": etag,
                "namespace": bucket.namespace,
                "archivalState": "Available",
                "bucketName": bucket.name,
                "bucketId": bucket.id,
            },
        },
    }
