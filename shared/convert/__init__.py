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
"""

from shared.convert.core import SEPARATOR, convert_stream
from shared.convert.reader import InputError
from shared.convert.report import ConversionReport, FieldStats, Issue, Summary
from shared.convert.rules import DatasetRules, estimate_tokens

__all__ = [
    "SEPARATOR",
    "ConversionReport",
    "DatasetRules",
    "FieldStats",
    "InputError",
    "Issue",
    "Summary",
    "convert_stream",
    "estimate_tokens",
]
