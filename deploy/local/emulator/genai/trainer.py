"""Fine-tuning jobs: one background thread per CREATING custom model.

A job reads the training dataset from the emulated Object Storage, applies
OCI's dataset rules, trains the retrieval stand-in (:mod:`.training`) at the
configured pace, writes the trained artifact and moves the model to ACTIVE
(or FAILED, with the reason in ``lifecycleDetails`` and the work request's
errors). Jobs restart from scratch for models still CREATING after a restart.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from deploy.local.emulator.genai.config import FAIL_TRAINING_TAG, GenAiConfig
from deploy.local.emulator.genai.dataset import DatasetRejected, Pair, iter_training_pairs
from deploy.local.emulator.genai.index_cache import IndexCache
from deploy.local.emulator.genai.pairs import PairFileWriter
from deploy.local.emulator.genai.records import CustomModel
from deploy.local.emulator.genai.retrieval import RetrievalIndex
from deploy.local.emulator.genai.store import ResourceStore
from deploy.local.emulator.genai.timefmt import rfc3339
from deploy.local.emulator.genai.training import (
    Corpus,
    CorpusBuilder,
    EpochResult,
    TrainingCancelled,
    TrainingOutcome,
    fit,
)
from deploy.local.emulator.genai.workrequests import WorkRequests

ObjectOpener = Callable[[str, str, str], BinaryIO]
"""Opens ``(namespace, bucket, object)`` from the emulated Object Storage; raises if absent."""


class Trainer:
    """Starts, paces, stops and resumes the fine-tuning jobs of a :class:`ResourceStore`."""

    def __init__(self, store: ResourceStore, workrequests: WorkRequests,
                 open_object: ObjectOpener, config: GenAiConfig) -> None:
        self.store = store
        self.workrequests = workrequests
        self.config = config
        self._open_object = open_object
        self._stopping = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._indexes = IndexCache(config.index_cache_bytes)

    # ----------------------------------------------------------------- lifecycle

    def resume(self) -> None:
        """Restart (from scratch) every job left CREATING by a previous run."""
        self._stopping.clear()
        with self.store.lock:
            pending = [m.id for m in self.store.models.all() if m.lifecycle_state == "CREATING"]
        for model_id in pending:
            self.launch(model_id)

    def launch(self, model_id: str) -> None:
        """Start the job of a CREATING model in a background thread."""
        thread = threading.Thread(
            target=self._run, args=(model_id,), name=f"genai-train-{model_id[-8:]}",
            daemon=True)
        self._threads[model_id] = thread
        thread.start()

    def stop(self) -> None:
        """Stop the jobs (their models stay CREATING and resume on restart)."""
        self._stopping.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=10)
        self._threads.clear()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for running jobs to end (test helper); True if all ended."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads.values())

    @property
    def index_cache(self) -> IndexCache:
        """The trained indexes held in memory (bounded by ``index_cache_bytes``)."""
        return self._indexes

    def index_for(self, model_id: str) -> RetrievalIndex | None:
        """The trained retrieval index of a custom model (cached, LRU by bytes), or None."""
        return self._indexes.get_or_load(model_id, lambda: self._load_index(model_id))

    def _load_index(self, model_id: str) -> RetrievalIndex | None:
        folder = self.store.artifact_path(model_id)
        legacy = folder.with_suffix(".json")  # artifacts of emulators before the vector index
        if folder.is_dir():
            index = RetrievalIndex.load(folder)
        elif legacy.exists():
            artifact = json.loads(legacy.read_text(encoding="utf-8"))
            index = RetrievalIndex.from_pairs([Pair(p, c) for p, c in artifact["pairs"]],
                                              float(artifact["completionWeight"]))
        else:
            return None
        return index

    # ------------------------------------------------------------- model updates

    def _advance(self, model_id: str, *, log: str, details: str | None = None,
                 percent: float | None = None, started: bool = False,
                 state: str | None = None, metrics: dict[str, Any] | None = None) -> bool:
        """Record progress of a job whose model is still CREATING; False if it is not."""
        with self.store.lock:
            model = self.store.models.get(model_id)
            if model is None or model.lifecycle_state != "CREATING":
                return False
            wr = self.store.workrequests.get(model.emu.wr)
            assert wr is not None
            if started:
                wr.status, wr.time_started = "IN_PROGRESS", rfc3339()
            if percent is not None:
                wr.percent_complete = percent
            self.workrequests.log(wr, log)
            if details is not None:
                model.lifecycle_details = details
            if state is not None:
                model.lifecycle_state = state
            if metrics is not None:
                model.model_metrics = metrics
            model.time_updated = rfc3339()
            self.store.models.put(model)
            self.store.workrequests.put(wr)
            return True

    def _fail(self, model: CustomModel, reason: str, code: str) -> None:
        if self._advance(model.id, log=reason, details=reason, state="FAILED"):
            self.workrequests.finish(model.emu.wr, ok=False, action="FAILED", error=reason,
                                     code=code)

    # ---------------------------------------------------------------------- job

    def _run(self, model_id: str) -> None:
        model = self.store.models.get(model_id)
        if model is None:
            return
        step = "Validating the training dataset."
        if not self._advance(model_id, log=step, details=step, percent=0.0, started=True):
            return
        work = self.store.artifact_path(model_id).with_name(f".{model_id[-12:]}.partial")
        shutil.rmtree(work, ignore_errors=True)  # a run cut off by a restart starts over
        try:
            corpus = self._read_dataset(model, work)
            if corpus is None:
                return
            epochs = int(model.fine_tune_details["trainingConfig"]["totalTrainingEpochs"])
            if not self._advance(model_id, percent=10.0, details="Fine-tuning in progress.",
                                 log=f"Dataset valid: {len(corpus)} examples. Training for up "
                                     f"to {epochs} epoch(s)."):
                return
            if model.emu.fail_training:
                if not self._stopping.wait(self.config.seconds_per_epoch):
                    self._fail(model, "Fine-tuning failed: fault injected (freeform tag "
                                      f"{FAIL_TRAINING_TAG} or the emulator's fail_training "
                                      "switch).", "TrainingFailed")
                return
            self._fit(model, corpus, epochs, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _read_dataset(self, model: CustomModel, work: Path) -> Corpus | None:
        """Validate and vectorise the dataset into ``work``, or fail the model and say why."""
        dataset = model.fine_tune_details["trainingDataset"]
        where = f"{dataset['namespaceName']}/{dataset['bucketName']}/{dataset['objectName']}"
        try:
            stream = self._open_object(
                dataset["namespaceName"], dataset["bucketName"], dataset["objectName"])
            try:
                writer, builder = PairFileWriter(work), CorpusBuilder()
                for pair in iter_training_pairs(
                        _lines(stream), min_examples=self.config.min_examples,
                        max_bytes=self.config.max_dataset_bytes):
                    writer.add(pair)
                    builder.add(pair)
                return builder.finish(writer.close())
            finally:
                stream.close()
        except DatasetRejected as exc:
            self._fail(model, f"Training dataset {where} is invalid: {exc}",
                       "InvalidTrainingData")
        except Exception:  # any read failure means the object is unusable
            self._fail(model, f"Training dataset {where} was not found or cannot be read.",
                       "TrainingDatasetNotFound")
        return None

    def _fit(self, model: CustomModel, corpus: Corpus, epochs: int, work: Path) -> None:
        config = model.fine_tune_details["trainingConfig"]

        def on_epoch(result: EpochResult) -> bool:
            if self._stopping.wait(self.config.seconds_per_epoch):
                return False
            return self._advance(
                model.id, percent=round(10.0 + 85.0 * result.epoch / epochs, 1),
                log=f"Epoch {result.epoch}/{epochs}: validation accuracy "
                    f"{result.accuracy:.4f}, loss {result.loss:.4f}.")

        try:
            outcome, index = fit(
                corpus, seed=model.id, epochs=epochs,
                patience=int(config["earlyStoppingPatience"]),
                threshold=float(config["earlyStoppingThreshold"]),
                validation_share=self.config.validation_share,
                max_validation=self.config.max_validation_queries, on_epoch=on_epoch)
        except TrainingCancelled:
            return
        del corpus
        index.save(work)
        folder = self.store.artifact_path(model.id)
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)  # the artifact appears whole or not at all
        self._indexes.put(model.id, RetrievalIndex.load(folder))  # warm: no load on first chat
        metrics_type = ("CHAT_MODEL_METRICS" if "CHAT" in model.capabilities
                        else "TEXT_GENERATION_MODEL_METRICS")
        details = _summary(outcome)
        metrics = {"modelMetricsType": metrics_type,
                   "finalAccuracy": round(outcome.final_accuracy, 6),
                   "finalLoss": round(outcome.final_loss, 6)}
        if self._advance(model.id, log=details, details=details, state="ACTIVE",
                         metrics=metrics):
            self.workrequests.finish(model.emu.wr, ok=True, action="CREATED")


def _summary(outcome: TrainingOutcome) -> str:
    """``lifecycleDetails`` of a trained model: what its metrics mean, next to a baseline."""
    return (f"Fine-tuning completed after {outcome.epochs_run} epoch(s)"
            + (" (early stopping)" if outcome.stopped_early else "")
            + f"; {outcome.train_size} training / {outcome.validation_size} validation "
            "examples. Local stand-in (retrieval): accuracy "
            f"{outcome.final_accuracy:.0%} of held-out prompts got an answer sharing at least "
            f"half its words with the reference (loss {outcome.final_loss:.2f} = 1 - mean "
            f"word overlap); a random training answer scores {outcome.baseline_accuracy:.0%} "
            f"(loss {outcome.baseline_loss:.2f}). Prompts matching no training example above "
            f"similarity {outcome.floor:.2f} are declined.")


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    yield from stream
