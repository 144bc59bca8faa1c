"""What a conversion found, as plain msgspec Structs (no pydantic on the hot path).

Field for field the same as ``report.ConversionReport`` and its parts, which are
built from these (``report.from_findings``) when a validated report is wanted.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import field

from shared.convert.limits import Limits

InputFormat = Literal["json_array", "jsonl", "csv", "tsv"]
RecordSchema = Literal["alpaca", "prompt_completion", "openai_chat", "sharegpt", "fields"]
SCHEMA_VERSION = 1


class Problem(msgspec.Struct):
    """One problem: a stable ``code``, what happened, where, and how to fix it
    (``report.Issue``)."""

    code: str
    message: str
    record_index: int | None = None
    line: int | None = None
    byte_offset: int | None = None
    hint: str | None = None


class Spread(msgspec.Struct):
    """Distribution of one measure over the written records (``report.Summary``)."""

    min: int = 0
    max: int = 0
    mean: float = 0.0
    p50: int = 0
    p95: int = 0


class Lengths(msgspec.Struct):
    """Length statistics of one output field (``report.FieldStats``)."""

    chars: Spread = field(default_factory=Spread)
    est_tokens: Spread = field(default_factory=Spread)


class Findings(msgspec.Struct):
    """``report.ConversionReport`` as plain data; ``valid`` False: discard the output."""

    source: str
    rules: Limits
    schema_version: int = SCHEMA_VERSION
    valid: bool = False
    fatal: Problem | None = None
    input_format: InputFormat | None = None
    record_schema: RecordSchema | None = None
    format: str | None = None
    utf8_bom: bool = False
    mapping: dict[str, str] = field(default_factory=dict)
    separator: str = ""
    bytes_read: int = 0
    bytes_written: int = 0
    records_read: int = 0
    records_written: int = 0
    records_skipped: int = 0
    records_with_extra_keys: int = 0
    eval_records: int = 0
    eval_bytes_written: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_examples: list[Problem] = field(default_factory=list)
    duplicate_keys: int = 0
    duplicate_key_first: Problem | None = None
    prompt: Lengths = field(default_factory=Lengths)
    completion: Lengths = field(default_factory=Lengths)
    notes: list[str] = field(default_factory=list)
