"""Unit tests: the metrics the watcher records (OCI's, plus the local stand-in's baseline read
from its lifecycle details) and how ``ocift status`` / the demo say them in plain words."""

from __future__ import annotations

from types import SimpleNamespace

from oci.generative_ai.models import ChatModelMetrics

from deploy.local.emulator.genai.trainer import _summary
from deploy.local.emulator.genai.training import TrainingOutcome
from shared import metrics
from shared.cli.demo import _metrics_in_words
from shared.cli.status_view import DatasetRow, render

OUTCOME = TrainingOutcome(
    completion_weight=0.1, final_accuracy=0.38, final_loss=0.55, epochs_run=5,
    stopped_early=False, train_size=800, validation_size=200, floor=0.3,
    baseline_accuracy=0.02, baseline_loss=0.93)


def _model(details: str | None) -> SimpleNamespace:
    return SimpleNamespace(
        model_metrics=ChatModelMetrics(final_accuracy=0.38, final_loss=0.55),
        lifecycle_details=details)


def test_stand_in_baseline_and_floor_are_read_from_its_lifecycle_details() -> None:
    got = metrics.recorded(_model(_summary(OUTCOME)))
    assert got == {"model_metrics_type": "CHAT_MODEL_METRICS", "final_accuracy": 0.38,
                   "final_loss": 0.55, "baseline_accuracy": 0.02, "baseline_loss": 0.93,
                   "similarity_floor": 0.3}


def test_real_model_records_oci_metrics_only() -> None:
    got = metrics.recorded(_model("Fine-tuning completed successfully."))
    assert got == {"model_metrics_type": "CHAT_MODEL_METRICS", "final_accuracy": 0.38,
                   "final_loss": 0.55}
    assert metrics.recorded(SimpleNamespace(model_metrics=None)) is None
    assert metrics.recorded(SimpleNamespace(model_metrics={"finalAccuracy": 1.0})) == {
        "finalAccuracy": 1.0}


def test_stand_in_metrics_in_words() -> None:
    recorded = metrics.recorded(_model(_summary(OUTCOME)))
    assert metrics.short(recorded) == "accuracy 38% (random 2%), loss 0.55 (random 0.93)"
    words = metrics.in_words(recorded)
    assert words.startswith("accuracy 38%: of the questions kept out of training (20%), the "
                            "share whose answer shares at least half its words with the true "
                            "answer; loss 0.55 = 1 - the average word overlap.")
    assert "A random training answer scores 2% (loss 0.93) on the same questions." in words
    assert "Retrieval helps on this data." in words
    assert "above similarity 0.30 are declined" in words
    worse = {**recorded, "final_accuracy": 0.0} if recorded else {}
    assert "does no better than a random answer" in metrics.in_words(worse)


def test_oci_metrics_in_words_and_absent_metrics() -> None:
    oci = {"final_accuracy": 0.92, "final_loss": 0.12}
    assert metrics.short(oci) == "accuracy 92%, loss 0.12"
    assert metrics.in_words(oci).startswith("accuracy 92%: OCI's share of predicted tokens")
    assert "random" not in metrics.in_words(oci)
    for nothing in (None, {}, {"model_metrics_type": "CHAT_MODEL_METRICS"}, "x"):
        assert metrics.short(nothing) == "-" and metrics.in_words(nothing) == ""
    assert metrics.short({"finalAccuracy": 0.5, "finalLoss": "nan"}) == "accuracy 50%, loss ?"


def test_status_table_says_what_the_metrics_mean() -> None:
    recorded = metrics.recorded(_model(_summary(OUTCOME)))
    rows = [DatasetRow(dataset="fin", valid=True, written=1000, skipped=0, jsonl=True,
                       state="ENDPOINT_ACTIVE", model_state="ACTIVE", model_version="1",
                       metrics=recorded, endpoint_state="ACTIVE"),
            DatasetRow(dataset="new", valid=True, written=40, skipped=0, jsonl=True,
                       state="TRAINING", percent=40.0)]
    text = render(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["DATASET", "REPORT", "JSONL", "STATE", "MODEL", "METRICS",
                                "ENDPOINT", "EVAL"]
    assert "accuracy 38% (random 2%), loss 0.55 (random 0.93)" in lines[1]
    assert lines[2].startswith("new") and "training 40%" in lines[2]  # MODEL: progress
    meaning = lines[lines.index("metrics:") + 1]
    assert meaning.startswith("  fin: accuracy 38%: of the questions kept out of training")
    assert not any(line.startswith("  new:") for line in lines)


def test_demo_headline_reads_as_words() -> None:
    recorded = metrics.recorded(_model(_summary(OUTCOME)))
    assert _metrics_in_words(recorded or {}).startswith("; accuracy 38%: of the questions")
    assert _metrics_in_words({}) == ""
