"""``ocift status``: one row per dataset from the bucket's reports, JSONL and status objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared import metrics as model_metrics
from shared import naming
from shared.settings import Settings
from shared.status import DatasetStatus


class DatasetRow(BaseModel):
    dataset: str
    written: int | None = None
    skipped: int | None = None
    valid: bool | None = None
    jsonl: bool = False
    state: str | None = None
    model_state: str | None = None
    model_version: str | None = None
    percent: float | None = None
    metrics: dict[str, Any] | None = None
    endpoint_state: str | None = None
    endpoint_id: str | None = None
    reason: str = ""
    updated_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("ENDPOINT_ACTIVE", "ENDPOINT_FAILED", "MODEL_FAILED", "REJECTED") or (
            self.valid is False)


def apply_report(row: DatasetRow, doc: Any) -> None:
    """Fill ``row`` from a ``reports/<dataset>.json`` document."""
    if not isinstance(doc, dict):
        return
    row.written, row.skipped = doc.get("records_written"), doc.get("records_skipped")
    row.valid = doc.get("valid")
    if doc.get("fatal") and not row.reason:
        row.reason = str((doc["fatal"] or {}).get("message", ""))


def apply_status(row: DatasetRow, doc: Any) -> DatasetStatus | None:
    """Fill ``row`` from a ``status/<dataset>.json`` document; the parsed status or None."""
    try:
        st = DatasetStatus.model_validate(doc)
    except ValueError:
        return None
    row.state, row.model_state, row.model_version = st.state.value, st.model_state, st.model_version
    row.percent, row.metrics = st.percent_complete, st.model_metrics
    row.endpoint_state, row.endpoint_id = st.endpoint_state, st.endpoint_id
    row.reason = st.reason or row.reason
    row.updated_at = st.updated_at
    return st


def collect(store: Any, settings: Settings) -> list[DatasetRow]:
    """Read every report, training object and status object of the bucket."""
    rows: dict[str, DatasetRow] = {}

    def row(name: str) -> DatasetRow:
        return rows.setdefault(name, DatasetRow(dataset=name))

    for obj in store.list_names(settings.reports_prefix):
        dataset = naming.dataset_from_object(obj, settings.reports_prefix, (".json",))
        found = store.read_json(obj) if dataset else None
        if dataset and found is not None and isinstance(found[0], dict):
            apply_report(row(dataset), found[0])
    for obj in store.list_names(settings.training_prefix):
        dataset = naming.training_dataset(settings, obj)
        if dataset:
            row(dataset).jsonl = True
    for obj in store.list_names(settings.status_prefix):
        dataset = naming.status_dataset(settings, obj)
        found = store.read_json(obj) if dataset else None
        if not dataset or found is None:
            continue
        candidate = rows.get(dataset, DatasetRow(dataset=dataset))
        if apply_status(candidate, found[0]) is not None:
            rows[dataset] = candidate
    return [rows[k] for k in sorted(rows)]


def _metrics_text(metrics: dict[str, Any] | None) -> str:
    return model_metrics.short(metrics)


def _model_text(r: DatasetRow) -> str:
    if r.state is None:
        return "-"
    text = r.model_state or r.state
    if r.state == "TRAINING" and r.percent is not None:
        text = f"TRAINING {r.percent:.0f}%"
    if r.model_version:
        text += f" v{r.model_version}"
    return text


def render(rows: list[DatasetRow]) -> str:
    """A plain-text table (stdlib only)."""
    if not rows:
        return "no datasets yet: upload one with 'ocift upload FILE'"
    header = ("DATASET", "REPORT", "JSONL", "STATE", "MODEL", "METRICS", "ENDPOINT")
    table = [header]
    for r in rows:
        if r.valid is None:
            report = "-"
        else:
            report = f"{r.written or 0} ok/{r.skipped or 0} skipped"
            report += "" if r.valid else " INVALID"
        table.append((r.dataset, report, "yes" if r.jsonl else "no", r.state or "-",
                      _model_text(r), _metrics_text(r.metrics), r.endpoint_state or "-"))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in table]
    notes = [f"  {r.dataset}: {r.reason}" for r in rows if r.reason]
    meanings = [f"  {r.dataset}: {text}" for r in rows
                if (text := model_metrics.in_words(r.metrics))]
    return "\n".join(lines + (["", "metrics:", *meanings] if meanings else [])
                     + (["", "reasons:", *notes] if notes else []))
