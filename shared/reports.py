"""The dataset report ``reports/<dataset>.json``: one typed record, read back typed.

Written by the convert stage (the conversion's :class:`~shared.convert.report.ConversionReport`
plus what the stage knows: source version, output, hash), by the train stage when it
validates a JSONL dropped directly, and for refusals (a name too long, a collision, OCI
refusing the output), which carry only ``fatal``. Every reader goes through
:class:`DatasetReport` and asks it :meth:`DatasetReport.reason`; nobody digs in a dict.
"""

from __future__ import annotations

from typing import Any

from shared.convert.report import ConversionReport, Issue
from shared.convert.rules import DatasetRules
from shared.status import RECORD


class DatasetReport(ConversionReport):
    """A conversion report with the stage's facts; a refusal has ``fatal`` and little else."""

    model_config = RECORD

    source: str = ""
    rules: DatasetRules | None = None  # type: ignore[assignment]  # refusals carry none
    dataset: str
    source_object: str
    source_etag: str
    source_size: int | None = None
    output_object: str | None = None
    output_sha256: str | None = None
    eval_object: str | None = None  # eval/<dataset>.jsonl when a split was held out
    base_model: str | None = None
    validated_by: str | None = None
    collision: bool = False
    owner: str | None = None

    def reason(self) -> str:
        """Why the dataset cannot train (the fatal problem's message), or "" when valid."""
        if self.valid:
            return ""
        if self.fatal is not None:
            return self.fatal.message or self.fatal.code
        return "dataset is invalid (see its report)"

    @classmethod
    def of_conversion(cls, conversion: ConversionReport, **facts: Any) -> DatasetReport:
        """The stage's report of ``conversion`` with ``facts`` (dataset, source, output…)."""
        return cls.model_validate({**conversion.model_dump(), **facts})

    @classmethod
    def refusal(cls, dataset: str, source_object: str, source_etag: str, code: str,
                message: str, **facts: Any) -> DatasetReport:
        """A report saying the dataset was refused before (or instead of) converting."""
        return cls(valid=False, dataset=dataset, source=source_object,
                   source_object=source_object, source_etag=source_etag,
                   fatal=Issue(code=code, message=message), **facts)
