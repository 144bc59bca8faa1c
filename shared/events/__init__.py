"""Pydantic models of the events the pipeline's functions receive."""

from shared.events.cloudevents import (
    OBJECT_EVENT_TYPES,
    CloudEvent,
    EventParseError,
    ObjectEvent,
    ObjectEventData,
    ObjectEventDetails,
    parse_object_event,
)

__all__ = [
    "OBJECT_EVENT_TYPES",
    "CloudEvent",
    "EventParseError",
    "ObjectEvent",
    "ObjectEventData",
    "ObjectEventDetails",
    "parse_object_event",
]
