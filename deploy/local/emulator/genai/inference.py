"""Generative AI Inference (``/actions/chat``) on dedicated endpoints.

GenerateText is gone: "From 26th June 2026 onwards the deprecated APIs will be
unavailable. Use the Chat API" (https://docs.oracle.com/iaas/releasenotes/generative-ai/
deprecate-api-05292025.htm); ``rest.py`` answers it as a path with no operation.

Answers come from the endpoint model's retrieval index: the completion of the
training example most like the prompt. Sampling parameters act on the ranked
examples (temperature 0 = top-1; above 0 = seeded softmax sampling over the
top-k / top-p candidates). When no example reaches the model's similarity
floor, or none contains at least 60% of the question's informative words
(:data:`~.retrieval.MIN_COVERAGE`; short questions included), the answer is
:data:`NO_MATCH` instead of an unrelated completion.

How close the match was, and which example answered, travel in fields the
unmodified ``oci`` SDK response models carry:

* token likelihoods (``logProbs`` of generic chat) are NOT language-model
  probabilities: every answer token carries ``ln(similarity)`` of the example it came from;
* Cohere chat answers list the example in ``documents`` (``id``
  ``training-example-<n>``, ``similarity``, ``floor``, ``prompt``) and a
  ``citations`` entry tying the answer text to it; Cohere documents these as
  the documents an answer is grounded in:
  https://docs.oracle.com/en-us/iaas/tools/python/latest/api/generative_ai_inference/models/
  oci.generative_ai_inference.models.CohereChatResponse.html
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from deploy.local.emulator.genai.catalog import ApiFormat, BaseModelSpec
from deploy.local.emulator.genai.control import ControlPlane, Record
from deploy.local.emulator.genai.errors import GenAiError, incorrect_state, invalid_parameter
from deploy.local.emulator.genai.retrieval import MIN_COVERAGE, Hit, RetrievalIndex, approx_tokens
from deploy.local.emulator.genai.timefmt import rfc3339

NO_MATCH = ("No training example is close enough to this prompt to answer it "
            "(the local stand-in only answers from its training data).")
BASE_MODEL_ANSWER = (
    "The local emulator hosts no pretrained weights; only fine-tuned custom models answer "
    "(from their training data).")
#: What a pretrained model served on demand answers, whatever it is asked. It stands in for
#: a base model that knows nothing of the user's data: it never looks at any training file
#: and says so, so a fine-tuned stand-in scoring above it shows the pipeline working (the
#: right model answered, from what it was trained on), never language-model quality.
ON_DEMAND_ANSWER = (
    "I am the local emulator's stand-in for a pretrained model: I have no language model "
    "weights and have seen none of your data, so I cannot answer this question.")
COHERE_TEXT_DEFAULT_MAX_TOKENS = 20  # CohereLlmInferenceRequest.maxTokens default
_TOKEN_SPAN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Sampling:
    """Decoding knobs as the stand-in understands them."""

    temperature: float
    top_k: int
    top_p: float
    seed: int | None
    max_tokens: int | None
    stop: list[str]


@dataclass(frozen=True)
class Answer:
    """One generated answer."""

    text: str
    finish: str  # "complete" | "max_tokens" | "stop"
    score: float
    tokens: list[str]
    offsets: list[int]
    example: int | None = None  # row of the training example that answered
    prompt: str | None = None  # that example's prompt
    floor: float = 0.0

    def documents(self) -> list[Record]:
        """The Cohere ``documents`` entry naming the example (empty for base models)."""
        if self.example is None and self.score >= 1.0:
            return []
        doc: Record = {"id": _document_id(self.example), "similarity": round(self.score, 6),
                       "floor": self.floor}
        if self.prompt is not None:
            doc["prompt"] = self.prompt
        return [doc]

    @property
    def token_logprob(self) -> float:
        """Per-token log-likelihood: ln(retrieval similarity)."""
        return math.log(max(self.score, 1e-9))


class Inference:
    """Serve Chat for endpoints of a :class:`ControlPlane`."""

    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    # ---------------------------------------------------------------- resolve

    def _resolve(self, body: Any) -> tuple[Record, Record, BaseModelSpec]:
        if not isinstance(body, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        mode = body.get("servingMode") or {}
        if mode.get("servingType") == "ON_DEMAND":
            return self._on_demand(mode)
        if mode.get("servingType") != "DEDICATED":
            raise invalid_parameter(
                "servingMode.servingType must be ON_DEMAND (a pretrained model) or DEDICATED "
                "(an endpoint).")
        endpoint_id = mode.get("endpointId")
        if not isinstance(endpoint_id, str) or not endpoint_id:
            raise invalid_parameter("servingMode.endpointId is required.")
        endpoint = self.control.get_endpoint(endpoint_id)
        if endpoint["lifecycleState"] == "DELETED":
            raise GenAiError(404, "NotAuthorizedOrNotFound",
                             "Authorization failed or requested resource not found.")
        if endpoint["lifecycleState"] != "ACTIVE":
            raise incorrect_state(f"The endpoint is {endpoint['lifecycleState']}, not ACTIVE.")
        model = self.control.get_model(endpoint["modelId"])
        spec = self.control.spec_for(model["id"])
        return endpoint, model, spec

    def _on_demand(self, mode: Record) -> tuple[Record, Record, BaseModelSpec]:
        """A pretrained model on OCI's shared serving: ``OnDemandServingMode(model_id)``
        (https://docs.oracle.com/iaas/tools/python/latest/api/generative_ai_inference/models/
        oci.generative_ai_inference.models.OnDemandServingMode.html). A custom model is
        served only by its endpoint; a model retired on demand is "no longer available in
        the playground or inference API" ("About Model Retirement",
        https://docs.oracle.com/iaas/Content/generative-ai/about-retirement.htm)."""
        model_id = mode.get("modelId")
        if not isinstance(model_id, str) or not model_id:
            raise invalid_parameter("servingMode.modelId is required.")
        model = self.control.get_model(model_id)
        if model["type"] != "BASE":
            raise invalid_parameter(
                "A custom model is served by its endpoint (DEDICATED serving mode), not on "
                "demand.")
        spec = self.control.spec_for(model_id)
        retired = spec.time_on_demand_retired
        if (not self.control.config.on_demand or "CHAT" not in spec.capabilities
                or (retired and datetime.fromisoformat(retired.replace("Z", "+00:00"))
                    <= datetime.now(UTC))):
            raise invalid_parameter(
                f"The model {spec.name} is not available for on-demand serving in this "
                "region.")
        return {"id": "", "lifecycleState": "ACTIVE"}, model, spec

    def _index(self, model: Record) -> RetrievalIndex | None:
        return None if model["type"] == "BASE" else self.control.index_for(model["id"])

    @staticmethod
    def _check_size(spec: BaseModelSpec, texts: list[str]) -> int:
        count = sum(len(approx_tokens(t)) for t in texts)
        if count > spec.max_prompt_tokens:
            raise invalid_parameter(
                f"The input has about {count} tokens; models based on {spec.name} accept at "
                f"most {spec.max_prompt_tokens}.")
        return count

    # --------------------------------------------------------------- answering

    def _answers(self, index: RetrievalIndex | None, query: str, s: Sampling,
                 n: int = 1, on_demand: bool = False) -> list[Answer]:
        if index is None:
            return [_shape(ON_DEMAND_ANSWER if on_demand else BASE_MODEL_ANSWER, 1.0, s)]
        pool = max(n, s.top_k or 0, 5) if s.temperature > 0 else n
        hits = index.search(query, k=pool)
        close = close_hits(index, query, hits)
        if not close:
            best = hits[0].score if hits else 1e-9
            return [replace(_shape(NO_MATCH, best, s), floor=index.floor)]
        chosen = close[:n] if s.temperature <= 0 else _sample(close, s, n)
        pairs = index.pairs.take([h.index for h in chosen])
        return [replace(_shape(pair.completion, h.score, s), example=h.index,
                        prompt=pair.prompt, floor=index.floor)
                for h, pair in zip(chosen, pairs, strict=True)]

    # -------------------------------------------------------------------- chat

    def chat(self, body: Any) -> Record:
        """``Chat``: CohereChatRequest or GenericChatRequest depending on the model family."""
        endpoint, model, spec = self._resolve(body)
        on_demand = not endpoint["id"]
        request = body.get("chatRequest")
        if not isinstance(request, dict):
            raise invalid_parameter("chatRequest is required.")
        fmt = request.get("apiFormat")
        if spec.api_format is ApiFormat.LEGACY_TEXT:
            raise invalid_parameter(
                f"Models based on {spec.name} are text-generation models; Chat does not serve "
                "them, and GenerateText is unavailable from 2026-06-26.")
        if fmt != spec.api_format.value:
            raise invalid_parameter(
                f"Models based on {spec.name} take apiFormat {spec.api_format.value}; "
                f"got {fmt}.")
        if request.get("isStream"):
            raise invalid_parameter("Streaming is not supported by the local emulator.")
        index = self._index(model)
        if fmt == ApiFormat.COHERE_CHAT.value:
            response = self._cohere_chat(request, spec, index, on_demand)
        else:
            response = self._generic_chat(request, spec, index, on_demand)
        return {"modelId": model["id"], "modelVersion": model.get("version") or "1.0",
                "chatResponse": response}

    def _cohere_chat(self, req: Record, spec: BaseModelSpec,
                     index: RetrievalIndex | None, on_demand: bool = False) -> Record:
        message = req.get("message")
        if not isinstance(message, str) or not message.strip():
            raise invalid_parameter("chatRequest.message is required.")
        history = req.get("chatHistory") or []
        prompt_tokens = self._check_size(
            spec, [message, *(str(h.get("message", "")) for h in history)])
        answer = self._answers(index, message, _sampling(req, stop_key="stopSequences"),
                               on_demand=on_demand)[0]
        response: Record = {
            "apiFormat": "COHERE",
            "text": answer.text,
            "chatHistory": [*history, {"role": "USER", "message": message},
                            {"role": "CHATBOT", "message": answer.text}],
            "finishReason": {"max_tokens": "MAX_TOKENS"}.get(answer.finish, "COMPLETE"),
            "usage": _usage(prompt_tokens, len(answer.tokens)),
        }
        documents = answer.documents()
        if documents:
            response["documents"] = documents
        if answer.example is not None:
            response["citations"] = [{"start": 0, "end": len(answer.text), "text": answer.text,
                                      "documentIds": [_document_id(answer.example)]}]
        if req.get("isEcho"):
            response["prompt"] = message
        return response

    def _generic_chat(self, req: Record, spec: BaseModelSpec,
                      index: RetrievalIndex | None, on_demand: bool = False) -> Record:
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            raise invalid_parameter("chatRequest.messages is required.")
        texts = [_content_text(m) for m in messages if isinstance(m, dict)]
        users = [_content_text(m) for m in messages
                 if isinstance(m, dict) and m.get("role") == "USER"]
        if not users or not users[-1].strip():
            raise invalid_parameter("chatRequest.messages needs a USER message with text.")
        prompt_tokens = self._check_size(spec, texts)
        n = int(req.get("numGenerations") or 1)
        answers = self._answers(index, users[-1], _sampling(req, stop_key="stop"), n=n,
                                on_demand=on_demand)
        choices = []
        for i, answer in enumerate(answers):
            choice: Record = {
                "index": i,
                "message": {"role": "ASSISTANT",
                            "content": [{"type": "TEXT", "text": answer.text}]},
                "finishReason": "length" if answer.finish == "max_tokens" else "stop",
            }
            if req.get("logProbs"):
                lp = round(answer.token_logprob, 6)
                choice["logprobs"] = {
                    "textOffset": answer.offsets,
                    "tokenLogprobs": [lp] * len(answer.tokens),
                    "tokens": answer.tokens,
                    "topLogprobs": [{tok: lp} for tok in answer.tokens],
                }
            choices.append(choice)
        completion = sum(len(a.tokens) for a in answers)
        return {"apiFormat": "GENERIC", "timeCreated": rfc3339(), "choices": choices,
                "usage": _usage(prompt_tokens, completion)}


def _number(req: Record, key: str, default: float, low: float, high: float) -> float:
    value = req.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise invalid_parameter(f"{key} must be a number between {low:g} and {high:g}.")
    return float(value)


def _sampling(req: Record, *, stop_key: str, default_max: int | None = None) -> Sampling:
    stop = req.get(stop_key) or []
    if isinstance(stop, str):
        stop = [stop]
    max_tokens = req.get("maxTokens", default_max)
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise invalid_parameter("maxTokens must be a positive integer.")
    seed = req.get("seed")
    return Sampling(
        temperature=_number(req, "temperature", 0.0, 0.0, 5.0),
        top_k=int(_number(req, "topK", 0, -1, 500)),
        top_p=_number(req, "topP", 1.0, 0.0, 1.0),
        seed=seed if isinstance(seed, int) else None,
        max_tokens=max_tokens,
        stop=[s for s in stop if isinstance(s, str) and s],
    )


def _sample(hits: list[Hit], s: Sampling, n: int) -> list[Hit]:
    pool = hits[: s.top_k] if s.top_k and s.top_k > 0 else hits
    top = max(h.score for h in pool)
    weights = [math.exp((h.score - top) / s.temperature) for h in pool]
    total = sum(weights)
    probs = [w / total for w in weights]
    if s.top_p < 1.0:
        kept, cumulative = [], 0.0
        for hit, p in zip(pool, probs, strict=True):
            kept.append((hit, p))
            cumulative += p
            if cumulative >= s.top_p:
                break
        pool, probs = [h for h, _ in kept], [p for _, p in kept]
    rng = random.Random(s.seed)  # noqa: S311 - sampling, not security
    chosen: list[Hit] = []
    candidates = list(zip(pool, probs, strict=True))
    while candidates and len(chosen) < n:
        pick = rng.choices(range(len(candidates)), weights=[p for _, p in candidates])[0]
        chosen.append(candidates.pop(pick)[0])
    return chosen


def close_hits(index: RetrievalIndex, query: str, hits: list[Hit],
               min_coverage: float = MIN_COVERAGE) -> list[Hit]:
    """The hits close enough to answer ``query`` from: at or above the similarity floor,
    and covering at least ``min_coverage`` of its informative words
    (:meth:`RetrievalIndex.coverage`; 0 checks the floor alone, the rule before issue 27)."""
    close = [h for h in hits if h.score >= index.floor]
    if min_coverage <= 0 or not close:
        return close
    pairs = index.pairs.take([h.index for h in close])
    return [h for h, pair in zip(close, pairs, strict=True)
            if index.coverage(query, pair) >= min_coverage]


def _shape(text: str, score: float, s: Sampling) -> Answer:
    finish = "complete"
    cut = len(text)
    for stop in s.stop:
        at = text.find(stop)
        if at != -1 and at < cut:
            cut, finish = at, "stop"
    text = text[:cut]
    spans = list(_TOKEN_SPAN.finditer(text))
    if s.max_tokens is not None and len(spans) > s.max_tokens:
        text = text[: spans[s.max_tokens - 1].end()]
        spans = spans[: s.max_tokens]
        finish = "max_tokens"
    return Answer(text=text, finish=finish, score=score,
                  tokens=[m.group() for m in spans], offsets=[m.start() for m in spans])


def _document_id(example: int | None) -> str:
    """``training-example-<n>`` (1-based, in training-file order), or ``none-close-enough``."""
    return "none-close-enough" if example is None else f"training-example-{example + 1}"


def _content_text(message: Record) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content
                        if isinstance(part, dict) and part.get("type") == "TEXT")
    return ""


def _usage(prompt: int, completion: int) -> Record:
    return {"promptTokens": prompt, "completionTokens": completion,
            "totalTokens": prompt + completion}
