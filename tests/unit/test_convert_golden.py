"""Today's converter gives exactly the reference converter's outputs and reports.

``tests/fixtures/convert_golden.json.gz`` froze, for every input the convert tests
feed ``convert_stream`` plus large hazard inputs (``convert_golden_make.py``), the
SHA-256 of the JSONL and the whole report of the reference implementation (the
commit it names). Every case is replayed here at the chunk size it was recorded
with, from a source the reader reads into and from one it can only ``read``: same
lines, same counts, same skip and fatal codes, same locations.

Two fields of a *rejected* input's report are left out, as they were never fixed
by the input alone: ``bytes_read`` says how far the input had been read when the
error stopped the conversion (read-ahead differs), and after ``invalid_utf8`` the
counts and statistics cover the records read before the bad byte's chunk was
decoded (the reference's own tests allow chunking to change them).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shared.convert import DatasetRules, convert_stream
from shared.convert.shapes import FieldMapping
from tests.unit.convert_golden_make import NEWER_THAN_REFERENCE, hazard_cases

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "convert_golden.json.gz"


def _load() -> list[dict[str, Any]]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        cases: list[dict[str, Any]] = json.load(f)["cases"]
    return cases


CASES = _load()
_READ_BEFORE_BAD_UTF8 = ("records_read", "records_written", "records_skipped", "prompt",
                         "completion", "skipped_by_reason", "record_schema", "mapping")


@cache
def _hazards() -> dict[str, bytes]:
    return hazard_cases()


def test_corpus_covers_captured_and_hazard_inputs() -> None:
    hazards = {c["hazard"] for c in CASES if "hazard" in c}
    assert len(CASES) - sum("hazard" in c for c in CASES) > 300
    assert hazards == set(_hazards())
    codes = {c["report"]["fatal"]["code"] for c in CASES if c["report"]["fatal"]}
    assert {"malformed_json", "truncated_json", "invalid_utf8", "number_too_long",
            "top_level_not_array", "too_few_records", "unsupported_shape"} <= codes
    skips = set().union(*(c["report"]["skipped_by_reason"] for c in CASES))
    shapes = {c["report"]["record_schema"] for c in CASES} | {
        c["report"]["input_format"] for c in CASES}
    assert {"openai_chat", "sharegpt", "fields", "csv", "tsv", "jsonl", "json_array"} <= shapes
    assert {"tool_call", "non_text_content", "no_assistant_turn", "no_user_turn",
            "unknown_role"} <= skips
    assert {"duplicate", "missing_field", "non_string_field", "empty_field",
            "invalid_unicode", "record_too_long", "not_an_object", "nesting_too_deep"} <= skips


class _ReadOnly:
    """A source with ``read`` alone (an HTTP body may lack ``readinto``): the reader then
    copies each chunk into its buffer instead of reading straight into it."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._src.read(n)


@pytest.mark.parametrize("source", ["readinto", "read"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_output_and_report_match_the_reference(case: dict[str, Any], source: str) -> None:
    data = _hazards()[case["hazard"]] if "hazard" in case else base64.b64decode(case["input"])
    sink = io.BytesIO()
    src = io.BytesIO(data) if source == "readinto" else _ReadOnly(data)
    report = convert_stream(src, sink if case["has_out"] else None,
                            source=case["source"], rules=DatasetRules.model_validate(case["rules"]),
                            chunk_size=case["chunk_size"],
                            mapping=FieldMapping(**case["mapping"]) if "mapping" in case else None)
    out = sink.getvalue()
    got, expected = report.model_dump(mode="json"), dict(case["report"])
    for key in NEWER_THAN_REFERENCE:  # no evaluation split asked for: nothing held out
        assert got.pop(key) == 0
    if not expected["valid"]:
        got.pop("bytes_read"), expected.pop("bytes_read")
        if expected["fatal"]["code"] == "invalid_utf8":
            for key in _READ_BEFORE_BAD_UTF8:
                got.pop(key), expected.pop(key)
    assert got == expected
    assert out.count(b"\n") == case["output_lines"]
    assert hashlib.sha256(out).hexdigest() == case["output_sha256"]
