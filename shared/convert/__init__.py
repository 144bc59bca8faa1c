"""Raw dataset -> OCI Generative AI fine-tuning JSONL, streamed, validated and reported.

Works on plain binary streams only (no Object Storage here): the convert stage
feeds it the object's body and an ``AtomicObjectWriter``.
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
