"""Unit tests: the inference answer's optional ``grounding`` (how close the match was, what
answered), read from the real SDK response models; present only when the upstream carries it,
never in the function's log fields; and how ``ocift ask`` prints it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from oci.generative_ai_inference import models as m

from shared.cli.ask import describe_grounding
from shared.cli.main import main
from shared.families import ApiShape
from shared.infer import grounding
from shared.infer.models import InferRequest
from shared.infer.shapes import read_answer
from shared.stages.infer import handle_http
from tests.support.fakes import INFER_SETTINGS, infer_backend
from tests.support.http import reply_json, serving

DOC: dict[str, Any] = {"id": "training-example-12", "similarity": 0.83, "floor": 0.3,
       "prompt": "What is an exchange-traded fund?"}


def _cohere(documents: list[dict[str, Any]] | None = None,
            citations: list[Any] | None = None) -> Any:
    return m.ChatResult(model_id="m1", model_version="1", chat_response=m.CohereChatResponse(
        text="An ETF is a fund.", finish_reason="COMPLETE", documents=documents,
        citations=citations))


def test_cohere_documents_and_citations_give_the_source_and_similarity() -> None:
    other = {"id": "unrelated", "similarity": 0.99, "prompt": "not cited"}
    cite = m.Citation(start=0, end=17, text="An ETF is a fund.",
                      document_ids=["training-example-12"])
    got = read_answer(ApiShape.COHERE_CHAT, _cohere([DOC, other], [cite]),
                      InferRequest(prompt="q"))
    assert got.grounding is not None
    assert (got.grounding.similarity, got.grounding.floor) == (0.83, 0.3)
    assert [s.id for s in got.grounding.sources] == ["training-example-12"]  # only the cited one
    assert got.grounding.sources[0].prompt == DOC["prompt"]
    assert got.grounding.token_probability is None


def test_cohere_documents_without_citations_are_all_sources() -> None:
    got = grounding.from_response([DOC, {"title": "no id", "similarity": "high"}], None)
    assert got is not None
    assert [s.id for s in got.sources] == ["training-example-12", "document-2"]
    assert got.sources[1].similarity is None  # a non-number is not a similarity


@pytest.mark.parametrize("documents", [None, []])
def test_cohere_without_documents_has_no_grounding(documents: list[Any] | None) -> None:
    got = read_answer(ApiShape.COHERE_CHAT, _cohere(documents), InferRequest(prompt="q"))
    assert got.grounding is None


def test_generic_logprobs_give_token_probability() -> None:
    sim = 0.64
    response = m.GenericChatResponse(choices=[m.ChatChoice(
        index=0, finish_reason="stop",
        message=m.AssistantMessage(content=[m.TextContent(text="a b")]),
        logprobs=m.Logprobs(tokens=["a", "b"], token_logprobs=[math.log(sim)] * 2))])
    req = InferRequest(prompt="q", return_likelihoods="GENERATION")  # type: ignore[arg-type]
    got = read_answer(ApiShape.GENERIC_CHAT, m.ChatResult(chat_response=response), req)
    assert got.grounding is not None and got.grounding.token_probability == pytest.approx(sim)
    assert got.grounding.sources == [] and got.grounding.similarity is None


def test_generic_without_logprobs_has_no_grounding() -> None:
    response = m.GenericChatResponse(choices=[m.ChatChoice(
        index=0, finish_reason="stop",
        message=m.AssistantMessage(content=[m.TextContent(text="a")]))])
    got = read_answer(ApiShape.GENERIC_CHAT, m.ChatResult(chat_response=response),
                      InferRequest(prompt="q"))
    assert got.grounding is None


def test_generic_chat_logprobs_give_token_probability() -> None:
    response = m.GenericChatResponse(choices=[m.ChatChoice(
        index=0, finish_reason="stop", message=m.AssistantMessage(
            content=[m.TextContent(text="x y")]),
        logprobs=m.Logprobs(tokens=["x", "y"], token_logprobs=[-0.5, -1.5]))])
    got = read_answer(ApiShape.GENERIC_CHAT, m.ChatResult(chat_response=response),
                      InferRequest(prompt="q"))
    assert got.grounding is not None
    assert got.grounding.token_probability == pytest.approx(math.exp(-1.0), abs=1e-6)


def test_token_probability_ignores_non_finite_values() -> None:
    assert grounding.token_probability([float("nan"), None, "x"]) is None
    assert grounding.token_probability([0.0]) == 1.0


def _infer_with(documents: list[dict[str, Any]] | None) -> tuple[dict[str, Any], Any]:
    be, _, _ = infer_backend()
    be.inference = SimpleNamespace(chat=lambda details: SimpleNamespace(
        data=_cohere(documents, None)))
    reply = handle_http("POST", json.dumps({"prompt": "What is an ETF?", "model": "fin"})
                        .encode(), INFER_SETTINGS, be)
    assert reply.status == 200
    return json.loads(reply.body), reply


def test_function_answer_carries_grounding_but_its_log_fields_do_not() -> None:
    body, reply = _infer_with([DOC])
    assert body["grounding"] == {"similarity": 0.83, "floor": 0.3, "sources": [DOC]}
    logged = json.dumps(reply.log_fields, default=str)
    assert str(DOC["prompt"]) not in logged and "training-example" not in logged
    assert "What is an ETF?" not in logged


def test_function_answer_has_no_grounding_when_upstream_gives_none() -> None:
    body, _ = _infer_with(None)
    assert "grounding" not in body


def test_ask_prints_the_source_and_similarity() -> None:
    line = describe_grounding({"text": "An ETF is a fund.", "grounding": {
        "similarity": 0.83, "floor": 0.3, "sources": [DOC]}})
    assert line == ("answered from training-example-12 (similarity 0.83, floor 0.30): "
                    "'What is an exchange-traded fund?'")


def test_ask_says_when_nothing_was_close_enough() -> None:
    line = describe_grounding({"grounding": {"similarity": 0.12, "floor": 0.3, "sources": [
        {"id": "none-close-enough", "similarity": 0.12, "floor": 0.3}]}})
    assert line == ("no training example close enough: best similarity 0.12 is below the "
                    "floor 0.30")


def test_ask_prints_token_probability_and_nothing_without_grounding() -> None:
    line = describe_grounding({"grounding": {"token_probability": 0.5, "sources": []}})
    assert line.startswith("token probability 0.50 (exp of the mean token log-likelihood")
    assert describe_grounding({"text": "x"}) == ""
    assert describe_grounding({"grounding": "garbage"}) == ""


class _Grounded(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Grounded.seen.append(body)
        reply_json(self, 200, {"text": "An ETF is a fund.", "finish_reason": "COMPLETE",
                               "grounding": {"similarity": 0.83, "floor": 0.3,
                                             "sources": [DOC]},
                               "model": {"id": "m1"}, "endpoint_id": "e1"})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def grounded_url() -> Iterator[str]:
    with serving(_Grounded) as url:
        yield url


def test_ask_command_prints_answer_on_stdout_and_grounding_on_stderr(
        grounded_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "What is an ETF?", "--model", "fin", "--url", grounded_url,
                 "--likelihoods"]) == 0
    out, err = capsys.readouterr()
    assert out == "An ETF is a fund.\n"  # stdout stays the answer alone
    assert "answered from training-example-12 (similarity 0.83, floor 0.30)" in err
    assert _Grounded.seen[-1]["return_likelihoods"] == "GENERATION"
    assert main(["ask", "What is an ETF?", "--model", "fin", "--url", grounded_url,
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["grounding"]["sources"] == [DOC] and err == ""
    assert "return_likelihoods" not in _Grounded.seen[-1]
