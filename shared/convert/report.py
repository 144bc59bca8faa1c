"""The conversion report written to ``reports/<name>.json``."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from shared.convert.findings import SCHEMA_VERSION, Findings, InputFormat, RecordSchema
from shared.convert.rules import DatasetRules

__all__ = ["SCHEMA_VERSION", "ConversionReport", "FieldStats", "InputFormat", "Issue",
           "RecordSchema", "Summary", "from_findings"]


#: Report parts refuse unknown keys: a report is read back as exactly this schema.
STRICT = ConfigDict(extra="forbid")


class Issue(BaseModel):
    """One problem: a stable ``code``, what happened, where, and how to fix it."""

    model_config = STRICT

    code: str
    message: str
    record_index: int | None = Field(default=None, description="0-based record number")
    line: int | None = Field(default=None, description="1-based line of the input")
    byte_offset: int | None = Field(default=None, description="0-based byte in the input")
    hint: str | None = None


class Summary(BaseModel):
    """Distribution of one measure over the written records."""

    model_config = STRICT

    min: int = 0
    max: int = 0
    mean: float = 0.0
    p50: int = 0
    p95: int = 0


class FieldStats(BaseModel):
    """Length statistics of one output field (prompt or completion)."""

    model_config = STRICT

    chars: Summary = Summary()
    est_tokens: Summary = Summary()


class ConversionReport(BaseModel):
    """The result of one conversion; ``valid`` False means the output must be discarded."""

    model_config = STRICT

    schema_version: int = SCHEMA_VERSION
    source: str
    valid: bool = False
    fatal: Issue | None = None
    input_format: InputFormat | None = None
    record_schema: RecordSchema | None = None
    format: str | None = Field(default=None, description="the detected shape, in words")
    utf8_bom: bool = False
    mapping: dict[str, str] = Field(default_factory=dict)
    separator: str = ""
    rules: DatasetRules
    bytes_read: int = 0
    bytes_written: int = 0
    records_read: int = 0
    records_written: int = 0
    records_skipped: int = 0
    records_with_extra_keys: int = Field(
        default=0, description="prompt/completion input records with other keys too")
    eval_records: int = Field(
        default=0, description="usable examples held out for evaluation (eval/<name>.jsonl); "
                               "never in the training JSONL, not counted in records_written")
    eval_bytes_written: int = 0
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    skipped_examples: list[Issue] = Field(default_factory=list)
    duplicate_keys: int = Field(
        default=0, description="records with a key given twice (the last value is used)")
    duplicate_key_first: Issue | None = Field(default=None,
                                              description="where the first one is")
    prompt: FieldStats = FieldStats()
    completion: FieldStats = FieldStats()
    notes: list[str] = Field(default_factory=list)


def from_findings(findings: Findings) -> ConversionReport:
    """The validated report of a conversion's plain ``Findings`` (same fields)."""
    return ConversionReport.model_validate(msgspec.to_builtins(findings))
