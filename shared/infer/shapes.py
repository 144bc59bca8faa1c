"""Request shape per base model family, and the answer read back from each shape.

Which shape a base model takes is in the family table (``shared.families``):

* ``CohereChatRequest`` via ``chat`` (``cohere.command-r*``, ``cohere.command-a*``);
* ``GenericChatRequest`` via ``chat`` (``meta.llama*`` and unknown models).

Chat is the only inference call: GenerateText and SummarizeText are unavailable from
2026-06-26 ("Deprecated APIs in OCI Generative AI",
https://docs.oracle.com/iaas/releasenotes/generative-ai/deprecate-api-05292025.htm).

Family-specific parameter ranges (OCI's playground limits) are checked here so
the caller learns which field is wrong before any upstream call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.families import ApiShape, api_shape
from shared.infer import grounding
from shared.infer.errors import INVALID_REQUEST, InferError
from shared.infer.models import (
    Grounding,
    InferRequest,
    LikelihoodInfo,
    Role,
    TokenLikelihood,
    Usage,
)


@dataclass(frozen=True)
class Limits:
    temperature: float
    penalty_low: float
    penalty_high: float
    likelihoods: bool


LIMITS: dict[ApiShape, Limits] = {
    ApiShape.COHERE_CHAT: Limits(1.0, 0.0, 1.0, likelihoods=False),
    ApiShape.GENERIC_CHAT: Limits(2.0, -2.0, 2.0, likelihoods=True),
}


def shape_for(base_model: str) -> ApiShape:
    """The request shape that fits ``base_model`` (read from ``shared.families``)."""
    return api_shape(base_model)


def check_limits(req: InferRequest, shape: ApiShape, base_model: str) -> None:
    """400 naming the field when a parameter is outside what ``base_model`` accepts."""
    lim = LIMITS[shape]
    problems = []
    if req.temperature is not None and req.temperature > lim.temperature:
        problems.append(f"temperature: at most {lim.temperature:g} for {base_model}")
    for field in ("frequency_penalty", "presence_penalty"):
        value = getattr(req, field)
        if value is not None and not lim.penalty_low <= value <= lim.penalty_high:
            problems.append(f"{field}: between {lim.penalty_low:g} and {lim.penalty_high:g} "
                            f"for {base_model}")
    if req.wants_likelihoods and not lim.likelihoods:
        problems.append(f"return_likelihoods: not available for {base_model} (chat models of "
                        "this family return no token likelihoods)")
    if problems:
        raise InferError(400, INVALID_REQUEST, "invalid request body: " + "; ".join(problems))


def _common(req: InferRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in ("max_tokens", "temperature", "top_p", "top_k", "frequency_penalty",
                  "presence_penalty"):
        value = getattr(req, field)
        if value is not None:
            out[field] = value
    return out


def build_details(req: InferRequest, shape: ApiShape, endpoint_id: str,
                  compartment_id: str) -> Any:
    """``ChatDetails`` for the dedicated endpoint."""
    from oci.generative_ai_inference import models as m

    serving = m.DedicatedServingMode(endpoint_id=endpoint_id)
    params = _common(req)
    if shape is ApiShape.COHERE_CHAT:
        history = None
        preamble = None
        if req.messages is not None:
            history = []
            for msg in req.messages[:-1]:
                if msg.role is Role.SYSTEM:
                    preamble = msg.content if preamble is None else f"{preamble}\n{msg.content}"
                elif msg.role is Role.USER:
                    history.append(m.CohereUserMessage(message=msg.content))
                else:
                    history.append(m.CohereChatBotMessage(message=msg.content))
        chat: Any = m.CohereChatRequest(
            message=req.question, chat_history=history or None, preamble_override=preamble,
            is_stream=False, stop_sequences=req.stop_sequences, **params)
    else:
        messages = [_generic_message(m, role, text) for role, text in _turns(req)]
        chat = m.GenericChatRequest(
            messages=messages, is_stream=False, num_generations=1, stop=req.stop_sequences,
            log_probs=1 if req.wants_likelihoods else None, **params)
    return m.ChatDetails(compartment_id=compartment_id, serving_mode=serving, chat_request=chat)


def _turns(req: InferRequest) -> list[tuple[Role, str]]:
    if req.messages is None:
        return [(Role.USER, req.question)]
    return [(msg.role, msg.content) for msg in req.messages]


def _generic_message(m: Any, role: Role, text: str) -> Any:
    content = [m.TextContent(text=text)]
    if role is Role.SYSTEM:
        return m.SystemMessage(content=content)
    if role is Role.ASSISTANT:
        return m.AssistantMessage(content=content)
    return m.UserMessage(content=content)


@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: str | None
    usage: Usage
    likelihoods: LikelihoodInfo | None
    model_id: str | None
    model_version: str | None
    grounding: Grounding | None = None


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    return Usage(prompt_tokens=raw.prompt_tokens, completion_tokens=raw.completion_tokens,
                 total_tokens=raw.total_tokens)


def read_answer(shape: ApiShape, result: Any, req: InferRequest) -> Answer:
    """The text, finish reason, usage, (when asked) likelihoods and grounding of a result.

    ``grounding`` comes only from fields the upstream filled (Cohere ``documents`` /
    ``citations``, token log-likelihoods); it is None when there are none.
    """
    model_id = getattr(result, "model_id", None)
    model_version = getattr(result, "model_version", None)
    resp = result.chat_response
    if shape is ApiShape.COHERE_CHAT:
        grounded = grounding.from_response(getattr(resp, "documents", None),
                                           getattr(resp, "citations", None))
        return Answer(resp.text or "", resp.finish_reason, _usage(resp.usage), None, model_id,
                      model_version, grounded)
    choice = (resp.choices or [None])[0]
    if choice is None:
        return Answer("", None, _usage(resp.usage), None, model_id, model_version)
    parts = getattr(choice.message, "content", None) or []
    text = "".join(getattr(p, "text", "") or "" for p in parts)
    likelihoods = None
    if req.wants_likelihoods and choice.logprobs is not None:
        lp = choice.logprobs
        pairs = list(zip(lp.tokens or [], lp.token_logprobs or [], strict=False))
        likelihoods = LikelihoodInfo(
            likelihood=sum(v for _, v in pairs) if pairs else None,
            tokens=[TokenLikelihood(token=t, likelihood=v) for t, v in pairs])
    lp = choice.logprobs
    grounded = grounding.from_response(
        log_likelihoods=None if lp is None else lp.token_logprobs)
    return Answer(text, choice.finish_reason, _usage(resp.usage), likelihoods, model_id,
                  model_version, grounded)
