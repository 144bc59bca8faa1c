"""Every served model version is evaluated against its base, without any user action.

Through the real event path and fdk runtime on the local target: the watcher's
ENDPOINT_ACTIVE write hands the version to the evaluate stage, which scores the held-out
split (never trained on) on the fine-tuned endpoint and on the base model served on
demand by the emulator's stand-in (which knows nothing of the data).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import caches
from tests.support.targets import RecordingTarget, set_paces, wait_endpoint_active
from tests.support.wait import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@contextlib.contextmanager
def _start(tmp_path: Path, **overrides: str) -> Iterator[RecordingTarget]:
    target = RecordingTarget(tmp_path / "state", backoff_base=0.05, watch_interval=0.3,
                             settings_overrides=overrides)
    with target:
        set_paces(target.emulator, provisioning_seconds=0.2, seconds_per_epoch=0.03)
        caches.reset_all()
        yield target
    caches.reset_all()


def _raw(path: Path, records: int, topic: str) -> Path:
    rows = [{"instruction": f"What does {topic} ratio number {i} measure?",
             "output": f"The {topic} ratio {i} compares liabilities to equity for firm {i}."}
            for i in range(records)]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _object(target: RecordingTarget, name: str) -> bytes | None:
    emulator = target.emulator
    try:
        _, stream = emulator.objectstorage.open_object(emulator.namespace, target.bucket, name)
    except Exception:
        return None
    with stream:
        return bytes(stream.read())


def _report(target: RecordingTarget, dataset: str, version: str,
            timeout: float = 120) -> dict[str, Any]:
    name = f"reports/{dataset}.v{version}.eval.json"

    def complete() -> dict[str, Any] | None:
        raw = _object(target, name)
        doc = json.loads(raw) if raw else None
        return doc if doc is not None and doc["complete"] else None

    found: dict[str, Any] = wait_until(complete, f"{name} complete", timeout=timeout,
                                       interval=0.2)
    return found


class _ChatLog:
    """Every Chat call the emulator answers: (serving type, prompt)."""

    def __init__(self, target: RecordingTarget) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        inference = target.emulator.genai.inference
        original = inference.chat

        def chat(body: Any) -> Any:
            with self._lock:
                self.calls[(body["servingMode"]["servingType"],
                            body["chatRequest"].get("message", ""))] += 1
            return original(body)

        inference.chat = chat


def _cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> str:
    from shared.cli.main import main

    capsys.readouterr()
    code = main([*args, "--local", "--state-dir", str(tmp_path / "state")])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_each_version_is_evaluated_and_beats_the_base(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _start(tmp_path) as target:
        log = _ChatLog(target)
        target.upload(_raw(tmp_path / "fin.json", 60, "finance"), "raw/fin.json")
        status = wait_endpoint_active(target, "fin")
        report = _report(target, "fin", status["model_version"])
        assert report["model_id"] == status["model_id"]
        assert report["base"]["kind"] == "on_demand"
        assert report["split_size"] == len(report["examples"]) == 20  # at least 20
        ft, base = report["fine_tuned_scores"], report["base_scores"]
        assert ft["token_f1"] > base["token_f1"]
        assert report["wins"] > report["losses"]
        assert all(e["done"] and not e["lost"] for e in report["examples"])

        # No evaluation prompt was trained on.
        training = _object(target, "training/fin.jsonl")
        assert training is not None
        trained = {json.loads(line)["prompt"] for line in training.decode().splitlines()}
        assert len(trained) == 40
        assert trained.isdisjoint(e["prompt"] for e in report["examples"])
        # Each prompt went once to the endpoint and once to the base, no more.
        for e in report["examples"]:
            assert log.calls[("DEDICATED", e["prompt"])] == 1
            assert log.calls[("ON_DEMAND", e["prompt"])] == 1
        assert report["prompts_sent"] == 40

        # What the user sees: `ocift eval --json` has the fields issue 25 lists.
        shown = json.loads(_cli(capsys, tmp_path, "eval", "fin", "--json"))
        assert shown["dataset"] == "fin" and shown["model_version"] == "1"
        assert shown["prompts"] == 20
        for side in ("fine_tuned", "base"):
            assert set(shown[side]) == {"exact_match", "token_f1", "rouge_l"}
        assert shown["fine_tuned"]["token_f1"] == pytest.approx(ft["token_f1"])
        assert (shown["wins"], shown["ties"], shown["losses"]) == (
            report["wins"], report["ties"], report["losses"])
        assert len(shown["examples"]) == 20
        assert {"prompt", "reference", "fine_tuned", "base"} <= set(shown["examples"][0])
        f1s = [e["fine_tuned_scores"]["token_f1"] for e in shown["examples"]]
        assert f1s == sorted(f1s)  # worst first
        table = _cli(capsys, tmp_path, "status")
        assert f"F1 {ft['token_f1']:.2f} vs base {base['token_f1']:.2f}" in table
        assert "fin.v1.eval" not in table  # an evaluation is no dataset of its own

        # A second version gets its own report; the first stays as it was.
        target.upload(_raw(tmp_path / "fin2.json", 80, "finance"), "raw/fin.json")
        wait_until(lambda: (doc := wait_endpoint_active(target, "fin")) is not None
                   and doc["model_version"] == "2", "version 2 serving", timeout=120)
        second = _report(target, "fin", "2")
        assert second["model_version"] == "2" and second["model_id"] != report["model_id"]
        assert second["fine_tuned_scores"]["token_f1"] > second["base_scores"]["token_f1"]
        first = json.loads(_object(target, "reports/fin.v1.eval.json") or b"{}")
        assert first["model_id"] == report["model_id"] and first["complete"]
        assert json.loads(_cli(capsys, tmp_path, "eval", "fin", "--json"))[
            "model_version"] == "2"
        assert "fin version 1:" in _cli(capsys, tmp_path, "eval", "fin", "--version", "1")


def test_a_split_larger_than_one_invocation_resumes_and_scores_each_prompt_once(
        tmp_path: Path) -> None:
    with _start(tmp_path, OCIFT_EVAL_PROMPTS_PER_INVOCATION="3",
                OCIFT_EVAL_CONCURRENCY="2") as target:
        log = _ChatLog(target)
        target.upload(_raw(tmp_path / "big.json", 1250, "budget"), "raw/big.json")
        status = wait_endpoint_active(target, "big")
        report = _report(target, "big", status["model_version"], timeout=180)
        examples = report["examples"]
        assert len(examples) == 25  # 2 % of 1250
        assert report["invocations"] >= 9  # 3 examples an invocation at most
        by_invocation = Counter(e["claimed_by"] for e in examples)
        assert len(by_invocation) >= 9 and max(by_invocation.values()) <= 3
        assert all(e["done"] and not e["lost"] for e in examples)
        assert sorted(e["index"] for e in examples) == list(range(25))
        for e in examples:
            assert log.calls[("DEDICATED", e["prompt"])] == 1
            assert log.calls[("ON_DEMAND", e["prompt"])] == 1
        assert report["prompts_sent"] == 50


def test_without_an_on_demand_base_the_fine_tuned_model_is_scored_alone(
        tmp_path: Path) -> None:
    with _start(tmp_path) as target:
        target.emulator.genai.control.config.on_demand = False  # a region without it
        target.upload(_raw(tmp_path / "solo.json", 60, "solo"), "raw/solo.json")
        status = wait_endpoint_active(target, "solo")
        report = _report(target, "solo", status["model_version"])
        assert report["base"]["kind"] == "none"
        assert "not available for on-demand" in report["base"]["reason"]
        assert "OCIFT_EVAL_BASE_ENDPOINT_ID" in report["base"]["reason"]
        assert report["base_scores"] is None and report["fine_tuned_scores"]["token_f1"] > 0
        assert report["wins"] == report["ties"] == report["losses"] == 0
