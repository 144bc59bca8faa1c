"""``ocift demo``: the whole pipeline on this machine, from a raw upload to an answer.

Starts the local target with fast emulator paces, uploads the bundled
finance-alpaca-shaped sample, prints each stage as it completes, asks a
question taken from the sample, prints the fine-tuned stand-in's answer and
stops everything. Exit code 0 only if every stage finished and the answer came.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from shared import metrics as model_metrics
from shared.cli.ask import describe_error, post_infer
from shared.cli.connection import local_settings
from shared.cli.status_view import DatasetRow, collect

if TYPE_CHECKING:
    from deploy.local.target import LocalTarget

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "deploy" / "local" / "samples" / "finance_alpaca_sample.json"
DATASET = "finance-demo"
FAILED_STATES = ("REJECTED", "MODEL_FAILED", "ENDPOINT_FAILED")


class DemoFailed(RuntimeError):
    """A stage failed or the time ran out; the message says which."""


def fast_paces(target: LocalTarget) -> None:
    """Make the emulated clusters, endpoints and training epochs take well under a second."""
    config = target.emulator.genai.control.config
    config.provisioning_seconds = 0.3
    config.seconds_per_epoch = 0.3  # a few visible percent steps


def pick_question(sample: Path) -> tuple[str, str]:
    """A (question, expected answer) pair from the sample's first usable record."""
    records = json.loads(sample.read_text(encoding="utf-8"))
    for rec in records if isinstance(records, list) else []:
        if isinstance(rec, dict):
            question = str(rec.get("instruction") or rec.get("prompt") or "").strip()
            extra = str(rec.get("input") or "").strip()
            answer = str(rec.get("output") or rec.get("completion") or "").strip()
            if question and answer:
                return (f"{question}\n{extra}" if extra else question), answer
    raise DemoFailed(f"{sample} has no instruction/output record to ask about")


class Progress:
    """Prints each new stage of one dataset once."""

    def __init__(self, out: TextIO, started: float) -> None:
        self.out = out
        self.started = started
        self.seen: set[str] = set()
        self.last_percent: float | None = None

    def say(self, key: str, text: str) -> None:
        if key not in self.seen:
            self.seen.add(key)
            print(f"[{time.monotonic() - self.started:5.1f}s] {text}", file=self.out, flush=True)

    def update(self, r: DatasetRow) -> None:
        if r.valid is not None:
            verdict = "valid" if r.valid else "INVALID"
            self.say("report", f"converted: {r.written or 0} records written, "
                               f"{r.skipped or 0} skipped ({verdict})")
        if r.jsonl:
            self.say("jsonl", f"training data ready: training/{r.dataset}.jsonl")
        if r.state in ("PENDING_CLUSTER",):
            self.say("cluster", "waiting for the fine-tuning cluster")
        if r.state == "TRAINING":
            self.say("training", "training started")
            if r.percent is not None and r.percent != self.last_percent:
                self.last_percent = r.percent
                self.say(f"pct{r.percent:.0f}", f"training {r.percent:.0f}%")
        if r.model_state == "ACTIVE" or r.state in ("MODEL_ACTIVE", "PENDING_HOSTING_CLUSTER",
                                                    "ENDPOINT_CREATING", "ENDPOINT_ACTIVE"):
            self.say("model", f"model ACTIVE (version {r.model_version or '?'})"
                              + _metrics_in_words(r.metrics or {}))
        if r.state == "ENDPOINT_CREATING":
            self.say("endpoint-creating", "creating the endpoint")
        if r.state == "ENDPOINT_ACTIVE":
            self.say("endpoint", f"endpoint ACTIVE: {r.endpoint_id}")


def _metrics_in_words(metrics: dict[str, Any]) -> str:
    """The held-out metrics, and the random-answer baseline, in plain words ("" if absent)."""
    text = model_metrics.in_words(metrics)
    return f"; {text}" if text else ""


def _wait_for_endpoint(conn_store: Any, settings: Any, progress: Progress,
                       deadline: float) -> DatasetRow:
    while True:
        rows = {r.dataset: r for r in collect(conn_store, settings)}
        row = rows.get(DATASET)
        if row is not None:
            progress.update(row)
            if row.valid is False:
                raise DemoFailed(f"conversion rejected the sample: {row.reason or 'see report'}")
            if row.state in FAILED_STATES:
                raise DemoFailed(f"stage failed ({row.state}): {row.reason}")
            if row.state == "ENDPOINT_ACTIVE":
                return row
        if time.monotonic() > deadline:
            where = row.state if row is not None and row.state else "conversion"
            raise DemoFailed(f"timed out while the dataset was at {where}")
        time.sleep(0.2)


def run_demo(out: TextIO, sample: Path = SAMPLE, state_dir: Path | None = None,
             timeout: float = 90.0) -> int:
    """Run the demo; returns the exit code (messages go to ``out``)."""
    from deploy.local.target import LocalTarget
    from shared import clients
    from shared.storage import ObjectStore

    started = time.monotonic()
    temp = state_dir is None
    root = Path(tempfile.mkdtemp(prefix="ocift-demo-")) if state_dir is None else state_dir
    question, expected = pick_question(sample)
    progress = Progress(out, started)
    target = LocalTarget(root, watch_interval=0.3, backoff_base=0.05)
    try:
        target.start()
        fast_paces(target)
        assert target.info is not None
        info = target.info
        progress.say("up", f"local target up (state in {root}; emulator "
                           f"{info.emulator_endpoint}, gateway {info.gateway_url})")
        settings = local_settings(info)
        clients.reset_clients()
        store = ObjectStore(clients.object_storage(settings), info.namespace, info.bucket)
        target.upload(sample, f"{settings.raw_prefix}{DATASET}.json")
        progress.say("upload", f"uploaded {sample.name} as {settings.raw_prefix}{DATASET}.json")
        _wait_for_endpoint(store, settings, progress, started + timeout)
        status, body = post_infer(f"{info.gateway_url}/infer",
                                  {"prompt": question, "model": DATASET},
                                  timeout=max(5.0, started + timeout - time.monotonic()))
        if status != 200 or not body.get("text"):
            raise DemoFailed(f"the question was not answered: {describe_error(status, body)}")
        print(f"\nQ: {question}\nA: {body['text']}", file=out)
        model = body.get("model") or {}
        print(f"   (model {model.get('name')} v{model.get('version')}, "
              f"endpoint {body.get('endpoint_id')})", file=out)
        if body["text"].strip() != expected.strip():
            print("   note: the answer differs from the sample's own answer", file=out)
        print(f"\ndemo finished in {time.monotonic() - started:.1f}s", file=out, flush=True)
        return 0
    except DemoFailed as exc:
        print(f"demo failed: {exc}", file=out, flush=True)
        return 1
    finally:
        target.stop()
        clients.reset_clients()
        if temp:
            shutil.rmtree(root, ignore_errors=True)
