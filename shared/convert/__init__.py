"""Raw dataset -> OCI Generative AI fine-tuning JSONL, streamed, validated and reported.

Works on plain binary streams only (no Object Storage here): the convert stage
feeds it the object's body and an ``AtomicObjectWriter``::

    report = convert_stream(src, out, source="raw/x.json",
                            rules=DatasetRules.for_base_model("cohere.command-r-08-2024"))
    if not report.valid: discard out          # report.fatal says what, where, how to fix

Input: a JSON array or JSON Lines of Alpaca, prompt/completion, OpenAI chat, ShareGPT
or field-mapped records, or CSV/TSV with a header row; the shape is taken from the first
record (``shapes.detect``; a ``FieldMapping`` names the fields) and named in
``report.format``.

Fatal codes (``report.fatal.code``, dataset rejected): empty_input, top_level_not_array,
truncated_json, malformed_json, malformed_csv, invalid_utf8, number_too_long,
record_too_large, unsupported_shape, no_usable_records, too_few_records.
Skip codes (``report.skipped_by_reason``, record dropped): not_an_object, missing_field,
non_string_field, empty_field, invalid_unicode, record_too_long, nesting_too_deep,
duplicate, and for conversations no_assistant_turn, no_user_turn, tool_call,
non_text_content, unknown_role. ``report.duplicate_keys`` counts records giving a key
twice (the last value is used).

The names are imported on first use, so ``import shared.convert`` (and the converter's
own hot path, ``core.convert_plain`` with ``limits.Limits``) does not import pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.convert.core import SEPARATOR, convert_plain, convert_stream
    from shared.convert.limits import Limits, estimate_tokens
    from shared.convert.reader import InputError
    from shared.convert.report import ConversionReport, FieldStats, Issue, Summary
    from shared.convert.rules import DatasetRules
    from shared.convert.shapes import FieldMapping

_HOMES = {
    "SEPARATOR": "core", "convert_plain": "core", "convert_stream": "core",
    "Limits": "limits", "estimate_tokens": "limits", "InputError": "reader",
    "ConversionReport": "report", "FieldStats": "report", "Issue": "report",
    "Summary": "report", "DatasetRules": "rules", "FieldMapping": "shapes",
}

__all__ = [
    "SEPARATOR",
    "ConversionReport",
    "DatasetRules",
    "FieldMapping",
    "FieldStats",
    "InputError",
    "Issue",
    "Limits",
    "Summary",
    "convert_plain",
    "convert_stream",
    "estimate_tokens",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"shared.convert.{home}"), name)
