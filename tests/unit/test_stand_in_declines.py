"""The local stand-in declines what no training example answers, short questions too
(issue 27): similarity alone let one shared finance word answer an unrelated question."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploy.local.emulator.genai.control import ControlPlane
from deploy.local.emulator.genai.dataset import Pair
from deploy.local.emulator.genai.inference import NO_MATCH, Inference
from deploy.local.emulator.genai.samples import to_jsonl
from tests.unit.test_genai_control import C, Objects, _cluster, _model_body, _plane, _trained

SAMPLE = Path(__file__).resolve().parents[2] / "deploy/local/samples/finance_alpaca_sample.json"
#: Unrelated short questions whose best training match scores at or above the floor: each
#: shares one word with a finance prompt ("What is inflation?", "What is a personal loan?").
ONE_WORD_OVERLAP = ("What is inflation in a balloon?", "What is a loan shark?",
                    "What is a bond between atoms?", "What is an emergency room?")


def _pairs() -> list[Pair]:
    return [Pair(prompt=r["instruction"] + (f"\n\nContext:\n{r['input']}" if r["input"] else ""),
                 completion=r["output"]) for r in json.loads(SAMPLE.read_text(encoding="utf-8"))]


@pytest.fixture
def served(tmp_path: Path) -> Any:
    objects = Objects()
    objects[("ns", "b", "sample.jsonl")] = to_jsonl(_pairs())
    plane = _plane(tmp_path, objects)
    try:
        model = _trained(plane, _model_body(plane, "sample.jsonl"))
        endpoint, _ = plane.create_endpoint(
            {"compartmentId": C, "modelId": model["id"],
             "dedicatedAiClusterId": _cluster(plane, "HOSTING", "SMALL_COHERE_V2", 1)}, None)
        yield plane, model, {"servingType": "DEDICATED", "endpointId": endpoint["id"]}
    finally:
        plane.stop()


def _ask(plane: ControlPlane, mode: dict[str, str], question: str) -> str:
    result = Inference(plane).chat({"servingMode": mode, "chatRequest": {
        "apiFormat": "COHERE", "message": question, "temperature": 0}})
    return str(result["chatResponse"]["text"])


def test_a_short_question_sharing_one_word_is_declined(served: Any) -> None:
    plane, model, mode = served
    index = plane.index_for(model["id"])
    for question in ONE_WORD_OVERLAP:
        [best] = index.search(question, k=1)
        assert best.score >= index.floor, question  # similarity alone would have answered
        assert _ask(plane, mode, question) == NO_MATCH, question


def test_every_training_question_is_still_answered_with_its_own_completion(served: Any) -> None:
    plane, _, mode = served
    for pair in _pairs():
        assert _ask(plane, mode, pair.prompt) == pair.completion


def test_ask_says_why_a_similar_question_was_declined() -> None:
    from shared.cli.ask import describe_grounding

    line = describe_grounding({"grounding": {"similarity": 0.71, "floor": 0.5, "sources": [
        {"id": "none-close-enough", "similarity": 0.71, "floor": 0.5}]}})
    assert line.startswith("declined: no training example contains enough of the question's")
    assert "answered from" not in line


def test_a_number_picks_an_instance_so_a_held_out_template_question_is_answered() -> None:
    """A held-out evaluation question differs from the training ones by its number only
    ("ratio number 7" beside "ratio number 8"): it is close to them, so the stand-in
    answers, as a fine-tuned model would; a number beside an unseen word is still declined."""
    from deploy.local.emulator.genai.inference import close_hits
    from deploy.local.emulator.genai.retrieval import RetrievalIndex

    def question(i: int) -> str:
        return f"What does finance ratio number {i} measure?"

    pairs = [Pair(prompt=question(i), completion=f"The finance ratio {i} compares "
                       f"liabilities to equity for firm {i}.") for i in range(60) if i % 3]
    index = RetrievalIndex.from_pairs(pairs, floor=0.5)
    for held_out in (0, 3, 57):
        query = question(held_out)
        assert close_hits(index, query, index.search(query)), query
    for unrelated in ("What is 2 plus 2?", "What does finance ratio number 7 weigh in grams?"):
        assert not close_hits(index, unrelated, index.search(unrelated)), unrelated
