"""``ocift status``: one row per dataset from the bucket's reports, JSONL and status objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, computed_field

from shared import metrics as model_metrics
from shared import naming
from shared.billing import Resource, format_unit_hours
from shared.cli.deadletters import DeadLetterRow, describe
from shared.jobspec import EffectiveSpec
from shared.plan import Plan
from shared.records import document_dataset, quarantined
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
    model_id: str | None = None
    work_request_id: str | None = None
    #: What a live look at Generative AI found that the status object does not say yet.
    live_note: str = ""
    dead_letters: list[DeadLetterRow] = Field(default_factory=list)
    duplicate_of: str | None = None  # the last upload was identical to this model (version)
    base_model_warning: str | None = None  # deprecated base model: when it retires
    idle_clusters: list[str] = Field(default_factory=list)  # reported by the watcher
    quarantined: list[str] = Field(default_factory=list)  # its documents that did not parse
    resources: list[Resource] = Field(default_factory=list)  # billable, found by tags
    skipped_examples: list[str] = Field(default_factory=list)  # the report's first skips
    unit_hours: float = 0.0
    spec: EffectiveSpec | None = None  # the job this version trains with (issue 24)
    plan: Plan | None = None  # what it creates and commits to (shown while it waits)
    evaluation: str | None = None  # the serving version against its base (issue 25)
    unserved: str | None = None  # MODEL_ACTIVE whose endpoint was deleted: why (shared/cli/live)
    raw_object: str | None = None  # the uploaded object, when it is in the bucket
    arrival: str | None = None  # no status yet: UPLOADED, CONVERTING, ... (shared/cli/arrivals)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unit_hours_text(self) -> str:
        """``unit_hours`` as every view prints it (``billing.format_unit_hours``)."""
        return format_unit_hours(self.unit_hours)

    @property
    def finished(self) -> bool:
        # AWAITING_APPROVAL waits for the user, not the pipeline: `--watch` stops there too.
        return self.state in ("ENDPOINT_ACTIVE", "ENDPOINT_FAILED", "MODEL_FAILED", "REJECTED",
                              "AWAITING_APPROVAL") or (
            self.valid is False) or bool(self.state == "MODEL_ACTIVE" and self.unserved) or (
            self.state is None and self.arrival in ("INVALID", "DEAD_LETTERED"))


def apply_report(row: DatasetRow, doc: Any) -> None:
    """Fill ``row`` from a ``reports/<dataset>.json`` document."""
    if not isinstance(doc, dict):
        return
    row.written, row.skipped = doc.get("records_written"), doc.get("records_skipped")
    row.valid = doc.get("valid")
    examples = doc.get("skipped_examples")
    if isinstance(examples, list):
        row.skipped_examples = [skipped_example(e) for e in examples[:SKIPPED_SHOWN]
                                if isinstance(e, dict)]
    fatal = doc.get("fatal")
    if isinstance(fatal, dict) and not row.reason:
        row.reason = located(fatal)


SKIPPED_SHOWN = 3


def skipped_example(issue: dict[str, Any]) -> str:
    """One skipped record as ``[reason] message [at record, line, byte]``."""
    return f"[{issue.get('code', '?')}] {located({**issue, 'hint': None})}"


def located(issue: dict[str, Any]) -> str:
    """A report issue's message with where it is (record, line, byte) when it has a place."""
    parts = []
    if isinstance(issue.get("record_index"), int):
        parts.append(f"record {issue['record_index'] + 1}")
    if isinstance(issue.get("line"), int):
        parts.append(f"line {issue['line']}")
    if isinstance(issue.get("byte_offset"), int) and parts:
        parts.append(f"byte {issue['byte_offset']}")
    text = str(issue.get("message", ""))
    if parts:
        text += f" [at {', '.join(parts)}]"
    if issue.get("hint"):
        text += f"; {issue['hint']}"
    return text


def apply_status(row: DatasetRow, doc: Any) -> DatasetStatus | None:
    """Fill ``row`` from a ``status/<dataset>.json`` document; the parsed status or None."""
    try:
        st = DatasetStatus.model_validate(doc)
    except ValueError:
        return None
    row.state, row.model_state, row.model_version = st.state.value, st.model_state, st.model_version
    row.percent, row.metrics = st.percent_complete, st.model_metrics
    row.endpoint_state, row.endpoint_id = st.endpoint_state, st.endpoint_id
    row.model_id, row.work_request_id = st.model_id, st.work_request_id
    if not (row.valid is False and row.reason):  # the report's reason says where
        row.reason = st.reason or row.reason
    row.updated_at = st.updated_at
    row.base_model_warning = st.base_model_warning
    row.spec, row.plan = st.spec, st.plan
    row.unserved = st.unserved
    if st.duplicate_of is not None:
        row.duplicate_of = f"v{st.duplicate_of.model_version} ({st.duplicate_of.model_id})"
    row.idle_clusters = [f"{c.kind} {c.cluster_id} ({c.shape} x{c.units}, idle since "
                         f"{c.idle_since:%Y-%m-%d %H:%M} UTC)" for c in st.idle_clusters]
    return st


def _read_doc(store: Any, name: str) -> tuple[Any, str] | None:
    """A JSON document, or None when it is not JSON (it is listed as quarantined)."""
    try:
        found: tuple[Any, str] | None = store.read_json(name)
    except ValueError:
        return None
    return found


def collect(store: Any, settings: Settings, genai: Any = None,
            dead: list[Any] | None = None, with_resources: bool = True,
            pending: list[Any] | None = None) -> list[DatasetRow]:
    """Read every report, training object and status object of the bucket.

    With a Generative AI client (``genai``), in-flight rows are completed by one live
    call each (training progress, an endpoint that became ACTIVE) so the table is not
    behind the watcher's schedule. ``dead``: the local target's dead letters. With
    ``with_resources`` (and a compartment), each row also gets the billable resources
    the dataset holds, found by tags. Every raw object gets a row at once; one with no
    status yet says where it is (``arrival``; ``pending``: the local router's deliveries).
    """
    from shared.cli import arrivals

    rows: dict[str, DatasetRow] = {}

    def row(name: str) -> DatasetRow:
        return rows.setdefault(name, DatasetRow(dataset=name))

    for obj in store.list_names(settings.raw_prefix):
        dataset = naming.raw_dataset(settings, obj)
        if dataset and row(dataset).raw_object is None:
            row(dataset).raw_object = obj
    for obj in store.list_names(settings.reports_prefix):
        if naming.evaluation_report_dataset(settings, obj) is not None:
            continue  # a version's evaluation (below), not a dataset report
        dataset = naming.dataset_from_object(obj, settings.reports_prefix, (".json",))
        found = _read_doc(store, obj) if dataset else None
        if dataset and found is not None and isinstance(found[0], dict):
            apply_report(row(dataset), found[0])
    for obj in store.list_names(settings.training_prefix):
        dataset = naming.training_dataset(settings, obj)
        if dataset:
            row(dataset).jsonl = True
    for obj in store.list_names(settings.status_prefix):
        dataset = naming.status_dataset(settings, obj)
        found = _read_doc(store, obj) if dataset else None
        if not dataset or found is None:
            continue
        candidate = rows.get(dataset, DatasetRow(dataset=dataset))
        if apply_status(candidate, found[0]) is not None:
            rows[dataset] = candidate
    for r in rows.values():
        apply_evaluation(r, store, settings)
    for letter in dead or []:
        row(letter.dataset or letter.object or "?").dead_letters.append(letter)
    for bad in quarantined(store, settings):
        row(document_dataset(settings, bad.object) or bad.object).quarantined.append(
            f"{bad.object}: {bad.error}")
    for r in rows.values():
        r.arrival = arrivals.arrival_state(r, pending or [])
        if r.arrival == arrivals.CONVERTING and not r.live_note:
            r.live_note = arrivals.converting_note(r, pending or [])
    if genai is not None:
        for r in rows.values():
            refresh_live(r, genai)
    if with_resources and settings.compartment_id:
        attach_resources(list(rows.values()), settings)
    return [rows[k] for k in sorted(rows)]


def apply_evaluation(row: DatasetRow, store: Any, settings: Settings) -> None:
    """The serving version's evaluation headline ("F1 0.61 vs base 0.22"), if there is one."""
    from shared.evaluation.read import evaluation
    from shared.records import MalformedRecord

    if row.state != "ENDPOINT_ACTIVE" or not row.model_version:
        return
    try:
        report = evaluation(store, settings, row.dataset, row.model_version)
    except (MalformedRecord, ValueError):
        return  # listed as quarantined
    row.evaluation = report.headline() if report is not None else "evaluating"


def refresh_live(row: DatasetRow, genai: Any) -> None:
    """One Generative AI call for a row in flight; errors leave the recorded view as is."""
    try:
        if row.state == "TRAINING" and row.work_request_id:
            wr = genai.get_work_request(row.work_request_id).data
            pct = float(wr.percent_complete or 0.0)
            if row.percent is None or pct > row.percent:
                row.percent = pct
                row.live_note = "training progress read live from the work request"
        elif row.state == "ENDPOINT_CREATING" and row.endpoint_id:
            endpoint = genai.get_endpoint(row.endpoint_id).data
            if endpoint.lifecycle_state and endpoint.lifecycle_state != row.endpoint_state:
                row.endpoint_state = endpoint.lifecycle_state
                row.live_note = (f"the endpoint is {endpoint.lifecycle_state} (read live); "
                                 "the watcher records it on its next tick")
                if endpoint.lifecycle_state == "ACTIVE":
                    row.state = "ENDPOINT_ACTIVE"
    except Exception:  # noqa: S110 - a live look is a bonus; the recorded state stands
        pass


def attach_resources(rows: list[DatasetRow], settings: Settings) -> None:
    """Fill each row's billable resources and unit-hours (one listing of each kind)."""
    from shared import billing, clients
    from shared.cli import live

    try:
        inv = billing.read_inventory(clients.generative_ai(settings), settings)
    except Exception as exc:  # status still shows the bucket's view
        for r in rows:
            r.reason = r.reason or f"billable resources unavailable: {type(exc).__name__}"
        return
    live.reflect(rows, inv)  # a deleted endpoint or model shows as such (issue 27)
    held = billing.by_dataset(billing.live(billing.resources(inv)))
    for r in rows:
        r.resources = held.get(r.dataset, [])
        r.unit_hours = billing.unit_hours(r.resources)


def _metrics_text(metrics: dict[str, Any] | None) -> str:
    return model_metrics.short(metrics)


_NO_MODEL_YET = ("QUEUED", "REJECTED", "PENDING_CLUSTER", "AWAITING_APPROVAL")


def _model_text(r: DatasetRow) -> str:
    """The model's own state (never the dataset's state again), progress and version."""
    if r.state is None or (r.state in _NO_MODEL_YET and not r.model_id):
        return "-"
    if r.state == "TRAINING":
        text = f"training {r.percent or 0:.0f}%"
    elif r.model_state:
        text = r.model_state
    elif r.model_id:
        text = "ACTIVE" if r.state.startswith(("MODEL_ACTIVE", "ENDPOINT", "PENDING_HOSTING")) \
            else "?"
    else:
        return "-"
    if r.model_version:
        text += f" v{r.model_version}"
    return text


def _report_text(r: DatasetRow) -> str:
    if r.valid is None:
        return "-"
    if not r.valid:
        return "INVALID"  # nothing was written; the reason is below the table
    return f"{r.written or 0} ok/{r.skipped or 0} skipped"


def render(rows: list[DatasetRow]) -> str:
    """A plain-text table (stdlib only)."""
    if not rows:
        return "no datasets yet: upload one with 'ocift upload FILE'"
    header = ("DATASET", "REPORT", "JSONL", "STATE", "MODEL", "METRICS", "ENDPOINT", "EVAL")
    table = [header]
    for r in rows:
        table.append((r.dataset, _report_text(r), "yes" if r.jsonl else "no",
                      r.state or r.arrival or "-",
                      _model_text(r), _metrics_text(r.metrics), r.endpoint_state or "-",
                      r.evaluation or "-"))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in table]
    notes = [f"  {r.dataset}: {r.reason}" for r in rows if r.reason]
    notes += [f"  {r.dataset}: {r.live_note}" for r in rows if r.live_note]
    notes += [f"  {r.dataset}: warning: {r.base_model_warning}" for r in rows
              if r.base_model_warning]
    notes += [f"  {r.dataset}: last upload identical to model {r.duplicate_of}; not retrained"
              for r in rows if r.duplicate_of]
    meanings = [f"  {r.dataset}: {text}" for r in rows
                if (text := model_metrics.in_words(r.metrics))]
    dead = [f"  {r.dataset}: {describe(d)}" for r in rows for d in r.dead_letters]
    held = [f"  {r.dataset}: {_holding(r)}" for r in rows if r.resources]
    idle = [f"  {r.dataset}: {c}" for r in rows for c in r.idle_clusters]
    out = (lines + (["", "metrics:", *meanings] if meanings else [])
           + (["", "reasons:", *notes] if notes else [])
           + (["", "billable (unit-hours so far):", *held] if held else [])
           + (["", "idle clusters (ocift down, or OCIFT_DELETE_IDLE_CLUSTERS=true):", *idle]
              if idle else []))
    skips = [f"  {r.dataset}: {e}" for r in rows for e in r.skipped_examples]
    if skips:
        out += ["", f"first skipped records (up to {SKIPPED_SHOWN} a dataset; all counts and "
                "examples in reports/<dataset>.json):", *skips]
    jobs = [f"  {r.dataset}: {spec_text(r.spec)}" for r in rows if r.spec is not None]
    if jobs:
        out += ["", "job (opc-meta-ocift-* of the upload over OCIFT_*; * = set by the dataset):",
                *jobs]
    for r in rows:
        if r.plan is not None and r.state == "AWAITING_APPROVAL":
            from shared.plan import render as render_plan

            out += ["", f"plan of {r.dataset} (awaiting approval: `ocift approve {r.dataset}` "
                        f"or `ocift reject {r.dataset}`):",
                    *(f"  {line}" for line in render_plan(r.plan))]
    bad = [f"  {r.dataset}: {q}" for r in rows for q in r.quarantined]
    if bad:
        out += ["", "quarantined documents (they do not parse; never retried: fix or delete "
                "the object, or let reconcile rebuild a status from the cloud):", *bad]
    if dead:
        out += ["", "dead-lettered deliveries (the router gave up; fix the cause, then "
                "`ocift redrive` retries them all, or `ocift redrive ID`):", *dead]
    return "\n".join(out)


def spec_text(spec: EffectiveSpec) -> str:
    """The job in one line: every key with a value, those the dataset set marked ``*``."""
    parts = []
    for field, value in spec.model_dump(mode="json", exclude={"from_dataset"}).items():
        if value is None:
            continue
        mark = "*" if field in spec.from_dataset else ""
        parts.append(f"{field.replace('_', '-')}{mark}={value}")
    return ", ".join(parts)


def _holding(r: DatasetRow) -> str:
    parts = []
    for res in r.resources:
        if res.unit_hours is not None:
            parts.append(f"{res.kind} {res.shape} x{res.units} {res.unit_hours_text}")
        else:
            parts.append(res.kind)
    return f"{r.unit_hours_text} unit-hours: " + ", ".join(parts)
