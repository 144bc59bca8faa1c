"""Names OCI can carry, and failures told apart: never-succeeds, misconfigured, try again."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from fdk.context import InvokeContext
from oci.exceptions import ServiceError

from shared import caches, naming, tags
from shared.errors import ConfigurationError
from shared.outcome import Outcome, OutcomeStatus
from shared.runtime import Invocation, invoke
from shared.settings import Settings, Stage
from shared.stages.context import StageContext
from shared.stages.convert import _source_missing
from shared.storage import decode_metadata, encode_metadata

NAMES = ["raw/財務 データ 📈.json", "raw/tab\there.json", "raw/new\nline.json",
         "raw/100% sure.json", "raw/plain-name_1.json", " raw/ leading space.json"]


@pytest.mark.parametrize("name", NAMES)
def test_metadata_values_fit_in_a_header_and_decode_back(name: str) -> None:
    encoded = encode_metadata({"source-object": name})["source-object"]
    encoded.encode("ascii")  # an HTTP header can carry it
    assert all(0x21 <= ord(c) < 0x7F for c in encoded)
    assert decode_metadata({"source-object": encoded})["source-object"] == name


def test_plain_metadata_written_before_encoding_reads_unchanged() -> None:
    assert decode_metadata({"source-etag": "abc-123"}) == {"source-etag": "abc-123"}


def test_tag_values_are_bounded_and_still_distinguish_long_names() -> None:
    short = "team/fin"
    assert tags.tag_value(short) == short and not tags.is_shortened(short)
    a, b = "d" * 600 + "a", "d" * 600 + "b"
    assert len(tags.tag_value(a)) == tags.MAX_VALUE_CHARS
    assert tags.tag_value(a) != tags.tag_value(b)
    assert tags.is_shortened(tags.tag_value(a))
    made = tags.pipeline_tags("ocift", tags.ROLE_MODEL, dataset=a)
    assert all(len(v) <= tags.MAX_VALUE_CHARS for v in made.values())
    assert tags.matches(made, dataset=a) and not tags.matches(made, dataset=b)


def test_derived_names_over_1024_bytes_are_explained() -> None:
    settings = Settings(bucket="b")
    assert naming.derived_name_problem(settings, "x" * 1000) is None
    problem = naming.derived_name_problem(settings, "x" * 1010)
    assert problem is not None and "1025 bytes" in problem and "at most 1024" in problem
    # Multi-byte characters count in bytes, as OCI counts them.
    assert naming.derived_name_problem(settings, "財" * 337) is not None


def _ctx(listed: Any) -> StageContext:
    def listed_etag(name: str) -> str | None:
        if isinstance(listed, BaseException):
            raise listed
        etag: str | None = listed
        return etag

    store = SimpleNamespace(bucket="b", listed_etag=listed_etag)
    return StageContext(settings=Settings(bucket="b"), store=store)  # type: ignore[arg-type]


def test_a_404_on_a_listed_object_is_a_missing_read_grant_not_a_deletion() -> None:
    with pytest.raises(ConfigurationError, match="read objects"):
        _source_missing(_ctx("etag-1"), "raw/a.json")
    with pytest.raises(ConfigurationError, match="inspect objects"):
        _source_missing(_ctx(ServiceError(404, "BucketNotFound", {}, "no")), "raw/a.json")
    outcome = _source_missing(_ctx(None), "raw/a.json")
    assert outcome.status is OutcomeStatus.REJECTED and "no longer exists" in outcome.reason


@pytest.fixture
def _convert_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in [k for k in __import__("os").environ if k.startswith("OCIFT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    caches.reset_all()
    yield
    caches.reset_all()


def _call(work: Any) -> Any:
    ctx = InvokeContext(app_id="a", app_name="ocift", fn_id="f", fn_name="ocift-convert",
                        call_id="01CALL")
    return invoke(ctx, b"{}", Stage.CONVERT, work)


def test_a_request_oci_refuses_for_good_is_answered_rejected_not_retried(
        _convert_env: Any) -> None:
    def work(inv: Invocation) -> Outcome:
        raise ServiceError(400, "InvalidParameter", {}, "name too long")

    resp = _call(work)
    assert resp.status() == 200
    body = json.loads(resp.body())
    assert body["status"] == "rejected" and "400 InvalidParameter" in body["reason"]


def test_a_missing_grant_keeps_the_event_with_the_reason(_convert_env: Any) -> None:
    def work(inv: Invocation) -> Outcome:
        raise ConfigurationError("grant 'read objects' on raw/")

    resp = _call(work)
    assert resp.status() == 502
    assert "read objects" in json.loads(resp.body())["reason"]


def test_a_transient_failure_escapes_for_redelivery(_convert_env: Any) -> None:
    def work(inv: Invocation) -> Outcome:
        raise ServiceError(503, "ServiceUnavailable", {}, "later")

    with pytest.raises(ServiceError):
        _call(work)
