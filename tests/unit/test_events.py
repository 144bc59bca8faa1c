import json

import pytest

from shared.events import EventParseError, parse_object_event
from tests.support.events import fixture_bytes, fixture_event


@pytest.mark.parametrize("name", ["createobject.json", "updateobject.json"])
def test_real_payloads_parse(name: str) -> None:
    raw = fixture_bytes(name)
    event = parse_object_event(raw)
    doc = json.loads(raw)
    assert event.object_name == doc["data"]["resourceName"]
    assert event.bucket == doc["data"]["additionalDetails"]["bucketName"]
    assert event.etag == doc["data"]["additionalDetails"]["eTag"]
    assert event.namespace == doc["data"]["additionalDetails"]["namespace"]
    assert event.event_type == doc["eventType"]


def test_dict_and_bytes_give_the_same_model() -> None:
    doc = fixture_event("createobject.json")
    assert parse_object_event(doc) == parse_object_event(json.dumps(doc).encode())


def test_bucket_event_is_not_an_object_event() -> None:
    # deletebucket has no bucketName in additionalDetails: the model says exactly what is missing
    with pytest.raises(EventParseError, match="bucketName"):
        parse_object_event(fixture_event("deletebucket.json"))


def test_delete_object_event_type_is_refused() -> None:
    doc = fixture_event("createobject.json")
    doc["eventType"] = "com.oraclecloud.objectstorage.deleteobject"
    with pytest.raises(EventParseError, match="deleteobject"):
        parse_object_event(doc)


@pytest.mark.parametrize("path", [("data", "resourceName"), ("data", "additionalDetails", "eTag"),
                                  ("eventType",), ("data", "additionalDetails", "namespace")])
def test_missing_field_is_named(path: tuple[str, ...]) -> None:
    doc = fixture_event("createobject.json")
    target = doc
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(EventParseError) as err:
        parse_object_event(doc)
    assert path[-1] in str(err.value)


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"prompt": "hi"}'])
def test_garbage_is_refused_with_a_clear_error(body: bytes) -> None:
    with pytest.raises(EventParseError):
        parse_object_event(body)
