"""What the page shows, read through the same ``shared`` code the CLI uses.

:class:`PipelineView` turns a :class:`shared.cli.connection.Connection` (local
target or tenancy) into the page's JSON bodies: the datasets overview, one
dataset's detail, dead letters and redrive (local target), the playground and
upload. It never returns credentials or file paths of the OCI config.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from shared import clients, jobspec, naming
from shared.cli.ask import post_infer
from shared.cli.connection import Connection
from shared.cli.sniff import HEAD_BYTES, NotADataset, check_dataset_head
from shared.cli.status_view import apply_report, apply_status, collect
from shared.cli.upload import BadUpload, object_name
from shared.families import fine_tunable as families_fine_tunable
from shared.reports import DatasetReport
from shared.status import DatasetState
from shared.storage import encode_metadata
from shared.ui import billing, match
from shared.ui.errors import UiError, from_oci
from shared.ui.models import (
    AskResult,
    DatasetDetail,
    DatasetSummary,
    DeadLetter,
    DecisionResult,
    JobDefaults,
    ModelVersion,
    Overview,
    RedriveResult,
    Resource,
    SpecField,
    UploadResult,
)

T = TypeVar("T")

TRAINING_STATES = {DatasetState.PENDING_CLUSTER, DatasetState.TRAINING}
MODEL_STATES = {DatasetState.MODEL_ACTIVE, DatasetState.PENDING_HOSTING_CLUSTER,
                DatasetState.ENDPOINT_CREATING}
FAILED_AT = {DatasetState.REJECTED: "training", DatasetState.MODEL_FAILED: "training",
             DatasetState.ENDPOINT_FAILED: "endpoint"}
SPOOL_CHUNK = 1024 * 1024

LOCAL_METRIC_NOTES = {
    "final_accuracy": "share of held-out prompts (20% split) whose retrieved completion has "
                      "token-F1 >= 0.5 against the reference; the local stand-in's measure, not "
                      "language-model accuracy",
    "final_loss": "1 - mean token-F1 on the held-out prompts (local stand-in); not "
                  "cross-entropy loss",
}
OCI_METRIC_NOTES = {
    "final_accuracy": "OCI: how many predicted tokens matched the validation data's tokens "
                      "(higher is better)",
    "final_loss": "OCI: how far predictions are from the validation data (lower is better)",
}


def stage_of(row: DatasetSummary) -> tuple[str, str | None]:
    """``(stage reached, stage that failed or None)`` for the page's timeline."""
    state = DatasetState(row.state) if row.state else None
    if row.valid is False:
        return "uploaded", "converted"
    if state in FAILED_AT:
        assert state is not None
        reached = "converted" if FAILED_AT[state] == "training" else "model"
        return reached, FAILED_AT[state]
    if state is DatasetState.ENDPOINT_ACTIVE:
        return "endpoint", None
    if state in MODEL_STATES:
        return "model", None
    if state in TRAINING_STATES:
        return "training", None
    if row.valid or row.jsonl:
        return "converted", None
    return "uploaded", None


class _Cache:
    """One value kept for ``ttl`` seconds (polls from several tabs share one listing)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: Any = None
        self._at = 0.0

    def get(self, make: Callable[[], T]) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > self.ttl:
                self._value = make()
                self._at = time.monotonic()
            value: T = self._value
            return value


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class _SingleFlight:
    """Callers that arrive while a computation runs share its result (or its error), so
    any number of tabs or polls cost one bucket listing at a time, not one each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: _Flight | None = None

    def run(self, make: Callable[[], T]) -> T:
        with self._lock:
            flight = self._running
            leader = flight is None
            if flight is None:
                flight = self._running = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            shared: T = flight.value
            return shared
        try:
            result = make()
            flight.value = result
            return result
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._running = None
            flight.done.set()


class PipelineView:
    """The page's data, for one connection (see the module docstring)."""

    def __init__(self, conn: Connection, state_dir: Path | None = None,
                 poll_seconds: float | None = None, max_upload_bytes: int = 2 * 1024 ** 3,
                 label: str | None = None) -> None:
        self.conn = conn
        self.settings = conn.settings
        self.local = conn.local
        self.state_dir = state_dir
        self.poll_seconds = poll_seconds or (2.0 if conn.local else 10.0)
        self.max_upload_bytes = max_upload_bytes
        self.label = label or ("local target" if conn.local else
                               f"tenancy (profile {self.settings.oci_profile})")
        self._store: Any = None
        self._inventory = _Cache(min(self.poll_seconds, 5.0) / 2)
        self._overviews = _SingleFlight()

    # -- readers -------------------------------------------------------------------------

    def store(self) -> Any:
        if self._store is None:
            try:
                self._store = self.conn.store()
            except Exception as exc:
                raise from_oci(exc, "opening the pipeline bucket") from exc
        return self._store

    def _inventory_now(self) -> billing.Inventory:
        return billing.read_inventory(clients.generative_ai(self.settings), self.settings)

    def inventory(self) -> billing.Inventory:
        return self._inventory.get(self._inventory_now)

    def _summary(self, row: Any, raw: bool, held: list[Resource]) -> DatasetSummary:
        summary = DatasetSummary.model_validate({**row.model_dump(), "raw": raw})
        summary.stage, summary.failed_at = stage_of(summary)
        summary.resources = held
        summary.unit_hours = billing.unit_hours(held)
        return summary

    def _resources(self) -> tuple[list[Resource], str | None]:
        try:
            return billing.resources(self.inventory()), None
        except Exception as exc:
            return [], from_oci(exc, "listing Generative AI resources").message

    def overview(self) -> Overview:
        """Every dataset of the bucket, its stage and what it holds (requests that arrive
        while one is computed share it)."""
        return self._overviews.run(self._overview_now)

    def _overview_now(self) -> Overview:
        store = self.store()
        try:
            dead, pending = self._deliveries()
            rows = {r.dataset: r for r in collect(store, self.settings, with_resources=False,
                                                  dead=dead, pending=pending)}
            raws = {d for d in (naming.raw_dataset(self.settings, n)
                                for n in store.list_names(self.settings.raw_prefix)) if d}
        except Exception as exc:
            raise from_oci(exc, "reading the pipeline bucket") from exc
        everything, error = self._resources()
        found = billing.live(everything)  # billable now; deleted ones are history
        held = billing.by_dataset(found)
        if error is None:
            self._reflect(rows.values())
        names = sorted(set(rows) | raws)
        datasets = [self._summary(rows.get(n) or DatasetSummary(dataset=n), n in raws,
                                  held.get(n, [])) for n in names]
        dead_count = None if dead is None else len(dead)
        return Overview(target=self.label, local=self.local, poll_seconds=self.poll_seconds,
                        datasets=datasets, resources=found, history=billing.ended(everything),
                        unit_hours=billing.unit_hours(found), dead_letters=dead_count,
                        resources_error=error,
                        quarantined=[q for n in names if n in rows for q in rows[n].quarantined])

    def _deliveries(self) -> tuple[list[Any] | None, list[Any] | None]:
        """The local router's dead letters and pending deliveries (None on a tenancy)."""
        if not (self.local and self.state_dir):
            return None, None
        from shared.cli.arrivals import pending_deliveries
        from shared.cli.deadletters import dead_letters

        return (dead_letters(self.state_dir, self.settings),
                pending_deliveries(self.state_dir, self.settings))

    def _reflect(self, rows: Any) -> None:
        """Correct the recorded states with what the cloud says now (shared/cli/live)."""
        from shared.cli import live

        with contextlib.suppress(Exception):  # the listing failed: resources_error says so
            live.reflect(rows, self.inventory())

    def _read(self, name: str) -> Any | None:
        try:
            found = self.store().read_json(name)
        except ValueError:
            return None  # not JSON: the overview lists it as quarantined
        return None if found is None else found[0]

    def dataset(self, name: str) -> DatasetDetail:
        """One dataset's report, status, model versions, endpoint and dead letters."""
        s = self.settings
        try:
            report_doc = self._read(naming.report_object(s, name))
            status_doc = self._read(naming.status_object(s, name))
            jsonl = self.store().head(naming.training_object(s, name)) is not None
            raw = any(naming.raw_dataset(s, n) == name
                      for n in self.store().list_names(f"{s.raw_prefix}{name}"))
        except Exception as exc:
            raise from_oci(exc, f"reading dataset {name!r}") from exc
        try:
            inv = self.inventory()
            found: list[Resource] = billing.resources(inv)
            models = inv.dataset_models(name)
        except Exception:
            inv, found, models = None, [], []
        if not (report_doc or status_doc or jsonl or raw or models):
            raise UiError(404, "unknown_dataset", f"no dataset {name!r} in bucket {s.bucket}: "
                          "upload it first (ocift upload FILE, or drop it on the page)")
        row = DatasetSummary(dataset=name, jsonl=jsonl)
        apply_report(row, report_doc)
        status = apply_status(row, status_doc) if status_doc is not None else None
        if inv is not None:
            self._reflect([row])
        held = billing.by_dataset(billing.live(found)).get(name, [])
        detail = DatasetDetail(summary=self._summary(row, raw, held), local=self.local,
                               status=status,
                               metric_notes=LOCAL_METRIC_NOTES if self.local else OCI_METRIC_NOTES)
        if report_doc is not None:
            try:
                detail.report = DatasetReport.model_validate(report_doc)
            except ValidationError as exc:
                detail.report_error = f"the report does not match this version's schema " \
                                      f"({exc.error_count()} problems)"
        detail.models = sorted((self._version(m) for m in models),
                               key=lambda v: (v.created is None, v.created), reverse=True)
        detail.endpoints = [r for r in found if r.kind == billing.ENDPOINT
                            and name in r.datasets]
        if self.local and self.state_dir:
            detail.dead_letters = [d for d in self.dead_letters() if d.dataset == name]
        try:
            from shared.evaluation.read import evaluations

            detail.evaluations = evaluations(self.store(), s, name)
        except Exception:  # noqa: S110 - the rest of the view stands without it
            pass
        return detail

    @staticmethod
    def _version(model: Any) -> ModelVersion:
        from oci.util import to_dict

        ft = getattr(model, "fine_tune_details", None)
        config = getattr(ft, "training_config", None)
        training: dict[str, Any] = to_dict(config) if config is not None else {}
        metrics = getattr(model, "model_metrics", None)
        return ModelVersion(
            id=model.id, version=model.version, state=model.lifecycle_state or "",
            details=model.lifecycle_details or "", created=model.time_created,
            metrics=to_dict(metrics) if metrics is not None else None,
            training={k: v for k, v in training.items() if v is not None})

    # -- dead letters (local target) -------------------------------------------------------

    def _router(self) -> Any:
        if not self.local or self.state_dir is None:
            raise UiError(404, "not_local", "dead letters and redrive exist on the local target "
                          "only (OCI Events keeps no dead-letter journal)")
        from deploy.local.router import Router

        return Router(self.state_dir, [], lambda function, body: None)

    def _dead_records(self) -> list[Any]:
        return list(self._router().status(recent=0).dead_lettered)

    def dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter(delivery_id=r.delivery_id, function=r.function, rule=r.rule,
                           object=r.resource_name,
                           dataset=naming.dataset_of(self.settings, r.resource_name),
                           attempts=r.attempts, last_error=r.last_error,
                           finished_at=r.finished_at)
                for r in self._dead_records()]

    def redrive(self, delivery_ids: list[str]) -> RedriveResult:
        router = self._router()
        known = {r.delivery_id for r in router.status(recent=0).dead_lettered}
        missing = [d for d in delivery_ids if d not in known]
        if len(missing) == len(delivery_ids):
            raise UiError(404, "unknown_delivery", f"no dead letter with id {missing[0]!r}: "
                          "it may have been redriven already; reload the list")
        return RedriveResult(requeued=router.redrive([d for d in delivery_ids if d in known]),
                             missing=missing)

    # -- playground ------------------------------------------------------------------------

    def ask(self, body: bytes) -> AskResult:
        """Ask an endpoint with the inference function's body; the answer and the match."""
        from shared.infer.errors import InferError
        from shared.stages import infer as service

        try:
            req = service.parse_request(body, self.settings)
        except InferError as exc:
            raise UiError(exc.status, exc.code, exc.message) from None
        if self.conn.infer_url:
            try:
                status, answer = post_infer(self.conn.infer_url, json.loads(body))
            except OSError as exc:
                raise UiError(502, "inference_unreachable", "the inference route "
                              f"{self.conn.infer_url} did not answer "
                              f"({type(exc).__name__})") from None
        else:
            try:
                response, _ = service.answer(req, self.settings, service.backend(self.settings))
                status, answer = 200, response.model_dump(mode="json", exclude_none=True)
            except InferError as exc:
                status, answer = exc.status, {"error": {"code": exc.code,
                                                        "message": exc.message}}
        result = AskResult(status=status, answer=answer)
        if status == 200 and self.local:
            result.match = self._match(req.question, req.model, answer)
        return result

    def _match(self, question: str, model: str | None, answer: dict[str, Any]) -> Any:
        name = (answer.get("model") or {}).get("name") or model
        text = answer.get("text")
        if not name or not isinstance(text, str):
            return None
        try:
            _, stream = self.store().open(naming.training_object(self.settings, name))
        except Exception:
            return None
        try:
            found = match.closest_prompt(stream, question, text)
        finally:
            stream.close()
        found.similarity = match.similarity(answer)
        return found

    # -- upload ----------------------------------------------------------------------------

    def job_defaults(self) -> JobDefaults:
        """The upload form's job-spec fields, pre-filled with the pipeline's configuration."""
        from shared.cli.spec_flags import WHAT
        from shared.families import TrainingMethod

        job = jobspec.effective(jobspec.JobSpec(), self.settings)
        out = []
        for field in jobspec.FIELDS:
            value = getattr(job, field)
            shown = ("" if value is None else "true" if value is True else "false"
                     if value is False else getattr(value, "value", str(value)))
            choices = ([m.value for m in TrainingMethod] if field == "training_method" else
                       ["true", "false"] if field == "content_moderation" else None)
            ranges = jobspec.ranges_help(field)
            out.append(SpecField(field=field, flag=jobspec.FLAGS[field],
                                 key=jobspec.header_key(field), default=shown, choices=choices,
                                 help=WHAT[field].format(models=", ".join(
                                     f.models[0] for f in families_fine_tunable()))
                                 + (f"; OCI's range: {ranges}" if ranges else "")))
        return JobDefaults(fields=out)

    def decide(self, dataset: str, decision: str) -> DecisionResult:
        """Write the user's approval or rejection of ``dataset``'s waiting plan."""
        from shared import approval
        from shared.records import read_record
        from shared.status import DatasetStatus

        store = self.store()
        try:
            got = read_record(store, naming.status_object(self.settings, dataset),
                              DatasetStatus)
        except Exception as exc:
            raise from_oci(exc, f"reading dataset {dataset!r}") from exc
        if got is None:
            raise UiError(404, "unknown_dataset", f"no dataset {dataset!r} has a status")
        try:
            record = approval.decide(store, self.settings, got[0], approval.Decision(decision))
        except approval.NotAwaiting as exc:
            raise UiError(409, "not_awaiting", str(exc)) from None
        except Exception as exc:
            raise from_oci(exc, f"writing the approval of {dataset!r}") from exc
        return DecisionResult(dataset=dataset, decision=record.decision.value,
                              content_sha256=record.content_sha256,
                              spec_sha256=record.spec_sha256)

    def upload(self, filename: str, name: str | None, training: bool, body: io.BufferedIOBase,
               length: int, spec: dict[str, str] | None = None) -> UploadResult:
        """Put an uploaded file into the bucket under the name ``ocift upload`` would use,
        with the form's job spec (``spec``: field -> text) as its metadata."""
        try:
            target = object_name(self.settings, filename, name or None, training)
        except BadUpload as exc:
            raise UiError(400, "bad_upload", str(exc)) from None
        unknown = sorted(set(spec or {}) - set(jobspec.FIELDS))
        if unknown:
            raise UiError(400, "bad_job_spec", f"unknown job spec field(s) {', '.join(unknown)};"
                          f" known: {', '.join(jobspec.FIELDS)}")
        try:
            meta = jobspec.to_metadata(jobspec.parse(spec or {}, key=jobspec.FLAGS.__getitem__))
        except jobspec.JobSpecError as exc:
            raise UiError(400, "bad_job_spec", str(exc)) from None
        if length <= 0:
            raise UiError(400, "empty_upload", f"{filename!r} is empty: choose a dataset file")
        if length > self.max_upload_bytes:
            raise UiError(413, "upload_too_large", f"{filename!r} has {length} bytes; the page "
                          f"takes at most {self.max_upload_bytes}: use 'ocift upload' instead")
        store = self.store()
        with tempfile.SpooledTemporaryFile(max_size=8 * SPOOL_CHUNK) as spool:
            left = length
            while left > 0:
                chunk = body.read(min(SPOOL_CHUNK, left))
                if not chunk:
                    raise UiError(400, "truncated_upload", f"the upload of {filename!r} ended "
                                  f"{left} bytes early; try again")
                spool.write(chunk)
                left -= len(chunk)
            spool.seek(0)
            try:  # the same refusal `ocift upload` gives, before anything is stored
                check_dataset_head(spool.read(HEAD_BYTES), filename, training)
            except NotADataset as exc:
                raise UiError(400, "not_a_dataset", str(exc)) from None
            spool.seek(0)
            try:
                extra: dict[str, Any] = {"opc_meta": encode_metadata(meta)} if meta else {}
                resp = store.client.put_object(store.namespace, store.bucket, target, spool,
                                               content_length=length, **extra)
            except Exception as exc:
                raise from_oci(exc, f"uploading {target!r}") from exc
        dataset = (naming.training_dataset(self.settings, target) if training
                   else naming.raw_dataset(self.settings, target)) or target
        return UploadResult(object=target, etag=str(resp.headers.get("etag", "")),
                            dataset=dataset)

