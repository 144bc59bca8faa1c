"""``ocift status``: one row per dataset from the bucket's reports, JSONL and status objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared import metrics as model_metrics
from shared import naming
from shared.billing import Resource
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
    duplicate_of: str | None = None  # the last upload was identical to this model (version)
    idle_clusters: list[str] = Field(default_factory=list)  # reported by the watcher
    resources: list[Resource] = Field(default_factory=list)  # billable, found by tags
    unit_hours: float = 0.0

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
    if st.duplicate_of is not None:
        row.duplicate_of = f"v{st.duplicate_of.model_version} ({st.duplicate_of.model_id})"
    row.idle_clusters = [f"{c.kind} {c.cluster_id} ({c.shape} x{c.units}, idle since "
                         f"{c.idle_since:%Y-%m-%d %H:%M} UTC)" for c in st.idle_clusters]
    return st


def collect(store: Any, settings: Settings, with_resources: bool = True) -> list[DatasetRow]:
    """Read every report, training object and status object of the bucket, and (when a
    compartment is configured) the billable resources each dataset holds."""
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
    if with_resources and settings.compartment_id:
        attach_resources(list(rows.values()), settings)
    return [rows[k] for k in sorted(rows)]


def attach_resources(rows: list[DatasetRow], settings: Settings) -> None:
    """Fill each row's billable resources and unit-hours (one listing of each kind)."""
    from shared import billing, clients

    try:
        inv = billing.read_inventory(clients.generative_ai(settings), settings)
    except Exception as exc:  # status still shows the bucket's view
        for r in rows:
            r.reason = r.reason or f"billable resources unavailable: {type(exc).__name__}"
        return
    held = billing.by_dataset([r for r in billing.resources(inv)
                               if r.state not in ("DELETING", "DELETED")])
    for r in rows:
        r.resources = held.get(r.dataset, [])
        r.unit_hours = billing.unit_hours(r.resources)


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
    notes += [f"  {r.dataset}: last upload identical to model {r.duplicate_of}; not retrained"
              for r in rows if r.duplicate_of]
    meanings = [f"  {r.dataset}: {text}" for r in rows
                if (text := model_metrics.in_words(r.metrics))]
    held = [f"  {r.dataset}: {_holding(r)}" for r in rows if r.resources]
    idle = [f"  {r.dataset}: {c}" for r in rows for c in r.idle_clusters]
    return "\n".join(lines + (["", "metrics:", *meanings] if meanings else [])
                     + (["", "reasons:", *notes] if notes else [])
                     + (["", "billable (unit-hours so far):", *held] if held else [])
                     + (["", "idle clusters (ocift down, or OCIFT_DELETE_IDLE_CLUSTERS=true):",
                         *idle] if idle else []))


def _holding(r: DatasetRow) -> str:
    parts = []
    for res in r.resources:
        if res.unit_hours is not None:
            parts.append(f"{res.kind} {res.shape} x{res.units} {res.unit_hours:.2f}")
        else:
            parts.append(res.kind)
    return f"{r.unit_hours:.2f} unit-hours: " + ", ".join(parts)
