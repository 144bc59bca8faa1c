"""Raw dataset -> OCI Generative AI fine-tuning JSONL, streamed, validated and reported.

Works on plain binary streams only (no Object Storage here): the convert stage
feeds it the object's body and an ``AtomicObjectWriter``::

    report = convert_stream(src, out, source="raw/x.json",
                            rules=DatasetRules.for_base_model("cohere.command-r-08-2024"))
    if not report.valid: discard out          # report.fatal says what, where, how to fix

Input: a JSON array or JSON Lines of Alpaca records (instruction/input/output[/text])
or of prompt/completion records; the record shape is taken from the first object.

Fatal codes (``report.fatal.code``, dataset rejected): empty_input, top_level_not_array,
truncated_json, malformed_json, invalid_utf8, nesting_too_deep, number_too_long,
record_too_large, no_usable_records, too_few_records.
Skip codes (``report.skipped_by_reason``, record dropped): not_an_object, missing_field,
non_string_field, empty_field, invalid_unicode, record_too_long, duplicate.

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

_HOMES = {
    "SEPARATOR": "core", "convert_plain": "core", "convert_stream": "core",
    "Limits": "limits", "estimate_tokens": "limits", "InputError": "reader",
    "ConversionReport": "report", "FieldStats": "report", "Issue": "report",
    "Summary": "report", "DatasetRules": "rules",
}

__all__ = [
    "SEPARATOR",
    "ConversionReport",
    "DatasetRules",
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
