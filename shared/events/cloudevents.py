"""OCI Events CloudEvents (``cloudEventsVersion`` 0.1), as OCI Events delivers them.

Modelled on Oracle's documented payloads ("Matching Events with Filters" and the
Object Storage event reference); real samples live in ``tests/fixtures/events``.
Field names keep OCI's camelCase through aliases; the Python side is snake_case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

CREATE_OBJECT = "com.oraclecloud.objectstorage.createobject"
UPDATE_OBJECT = "com.oraclecloud.objectstorage.updateobject"
DELETE_OBJECT = "com.oraclecloud.objectstorage.deleteobject"
OBJECT_EVENT_TYPES = frozenset({CREATE_OBJECT, UPDATE_OBJECT})


class EventParseError(ValueError):
    """The request body is not the event this function expects (never worth a retry)."""


class _OciModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)


class CloudEvent(_OciModel):
    """The envelope every OCI event shares."""

    cloud_events_version: str = Field(alias="cloudEventsVersion")
    event_id: str = Field(alias="eventID")
    event_type: str = Field(alias="eventType")
    source: str
    event_type_version: str | None = Field(default=None, alias="eventTypeVersion")
    event_time: datetime = Field(alias="eventTime")
    content_type: str | None = Field(default="application/json", alias="contentType")
    extensions: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)


class ObjectEventDetails(_OciModel):
    """``data.additionalDetails`` of an Object Storage object event."""

    namespace: str
    bucket_name: str = Field(alias="bucketName")
    e_tag: str = Field(alias="eTag")
    bucket_id: str | None = Field(default=None, alias="bucketId")
    archival_state: str | None = Field(default=None, alias="archivalState")


class ObjectEventData(_OciModel):
    """``data`` of an Object Storage object event; ``resourceName`` is the object name."""

    resource_name: str = Field(alias="resourceName", min_length=1)
    compartment_id: str | None = Field(default=None, alias="compartmentId")
    compartment_name: str | None = Field(default=None, alias="compartmentName")
    resource_id: str | None = Field(default=None, alias="resourceId")
    availability_domain: str | None = Field(default=None, alias="availabilityDomain")
    freeform_tags: dict[str, str] | None = Field(
        default=None, validation_alias=AliasChoices("freeFormTags", "freeformTags")
    )
    defined_tags: dict[str, Any] | None = Field(default=None, alias="definedTags")
    additional_details: ObjectEventDetails = Field(alias="additionalDetails")


class ObjectEvent(CloudEvent):
    """An Object Storage ``createobject`` / ``updateobject`` event."""

    data: ObjectEventData  # type: ignore[assignment]

    @property
    def object_name(self) -> str:
        return self.data.resource_name

    @property
    def bucket(self) -> str:
        return self.data.additional_details.bucket_name

    @property
    def namespace(self) -> str:
        return self.data.additional_details.namespace

    @property
    def etag(self) -> str:
        return self.data.additional_details.e_tag


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_object_event(body: bytes | str | dict[str, Any]) -> ObjectEvent:
    """Parse and check an Object Storage object event; raise :class:`EventParseError`."""
    try:
        if isinstance(body, dict):
            event = ObjectEvent.model_validate(body)
        else:
            if not body:
                raise EventParseError("empty request body: expected an OCI CloudEvent")
            event = ObjectEvent.model_validate_json(body)
    except ValidationError as exc:
        raise EventParseError(f"not an Object Storage object event: {_describe(exc)}") from None
    if event.event_type not in OBJECT_EVENT_TYPES:
        raise EventParseError(
            f"event type {event.event_type!r} is not handled; expected one of "
            f"{', '.join(sorted(OBJECT_EVENT_TYPES))}"
        )
    return event
