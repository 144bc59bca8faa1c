"""Unit tests: request shape per family, endpoint resolution + cache, handle_http end to end
with fake clients (the real SDK request/response classes, no network)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from oci.exceptions import ServiceError
from oci.generative_ai_inference import models as m

from shared.families import ApiShape
from shared.infer import errors
from shared.infer.errors import InferError
from shared.infer.models import InferRequest
from shared.infer.resolve import EndpointResolver
from shared.infer.shapes import build_details, check_limits, read_answer, shape_for
from shared.settings import Settings
from shared.stages.infer import Backend, handle_http
from tests.support.fakes import (
    COMPARTMENT,
    INFER_SETTINGS,
    FakeInference,
    FakeServingGenAi,
    endpoint_summary,
    infer_backend,
)

SETTINGS = INFER_SETTINGS


@pytest.mark.parametrize(("base", "shape"), [
    ("cohere.command-r-08-2024", ApiShape.COHERE_CHAT),
    ("cohere.command-r-plus", ApiShape.COHERE_CHAT),
    ("cohere.command-a-03-2025", ApiShape.COHERE_CHAT),
    ("meta.llama-3.3-70b-instruct", ApiShape.GENERIC_CHAT),
    ("meta.llama-3.1-70b-instruct", ApiShape.GENERIC_CHAT),  # a retired base still chats
    # Chat is the only inference API (GenerateText unavailable from 2026-06-26): the retired
    # text-generation models map to Cohere chat, which their endpoints refuse with a reason.
    ("cohere.command", ApiShape.COHERE_CHAT),
    ("cohere.command-light", ApiShape.COHERE_CHAT),
    ("unknown.vendor-model", ApiShape.GENERIC_CHAT),
])
def test_shape_per_family(base: str, shape: ApiShape) -> None:
    assert shape_for(base) is shape


def test_cohere_chat_details() -> None:
    req = InferRequest.model_validate({
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "a"},
                     {"role": "assistant", "content": "b"}, {"role": "user", "content": "q"}],
        "max_tokens": 50, "temperature": 0.2, "stop_sequences": ["END"]})
    d = build_details(req, ApiShape.COHERE_CHAT, "ocid1.ep", COMPARTMENT)
    assert isinstance(d, m.ChatDetails) and isinstance(d.serving_mode, m.DedicatedServingMode)
    assert d.serving_mode.endpoint_id == "ocid1.ep" and d.compartment_id == COMPARTMENT
    chat = d.chat_request
    assert isinstance(chat, m.CohereChatRequest)
    assert (chat.message, chat.max_tokens, chat.temperature, chat.stop_sequences) == (
        "q", 50, 0.2, ["END"])
    assert chat.preamble_override == "sys"
    assert [type(h).__name__ for h in chat.chat_history] == ["CohereUserMessage",
                                                            "CohereChatBotMessage"]
    assert chat.top_p is None  # unset parameters are left to the service defaults


def test_generic_chat_details_with_likelihoods() -> None:
    req = InferRequest(prompt="q", top_k=5, return_likelihoods="GENERATION",  # type: ignore[arg-type]
                       stop_sequences=["x"])
    d = build_details(req, ApiShape.GENERIC_CHAT, "ocid1.ep", COMPARTMENT)
    chat = d.chat_request
    assert isinstance(chat, m.GenericChatRequest)
    assert chat.log_probs == 1 and chat.top_k == 5 and chat.stop == ["x"]
    assert isinstance(chat.messages[0], m.UserMessage)
    assert chat.messages[0].content[0].text == "q"


def test_no_shape_builds_generate_text() -> None:
    req = InferRequest(prompt="q", max_tokens=30)
    for shape in ApiShape:
        assert isinstance(build_details(req, shape, "ocid1.ep", COMPARTMENT), m.ChatDetails)


@pytest.mark.parametrize(("body", "shape", "field"), [
    ({"prompt": "q", "temperature": 1.5}, ApiShape.COHERE_CHAT, "temperature"),
    ({"prompt": "q", "temperature": 2.5}, ApiShape.GENERIC_CHAT, "temperature"),
    ({"prompt": "q", "frequency_penalty": -1}, ApiShape.COHERE_CHAT, "frequency_penalty"),
    ({"prompt": "q", "return_likelihoods": "ALL"}, ApiShape.COHERE_CHAT, "return_likelihoods"),
])
def test_family_limits(body: dict[str, Any], shape: ApiShape, field: str) -> None:
    with pytest.raises(InferError) as info:
        check_limits(InferRequest.model_validate(body), shape, "base")
    assert info.value.status == 400 and field in info.value.message


def test_family_limits_allow_in_range() -> None:
    check_limits(InferRequest(prompt="q", temperature=1), ApiShape.COHERE_CHAT, "cohere.command-r")
    check_limits(InferRequest(prompt="q", frequency_penalty=-1.5), ApiShape.GENERIC_CHAT, "m")


def test_read_generic_answer_with_logprobs() -> None:
    response = m.GenericChatResponse(
        choices=[m.ChatChoice(index=0, finish_reason="stop",
                              message=m.AssistantMessage(content=[m.TextContent(text="hi there")]),
                              logprobs=m.Logprobs(tokens=["hi", "there"],
                                                  token_logprobs=[-0.5, -0.25]))],
        usage=m.Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5))
    result = m.ChatResult(model_id="ocid1.model", model_version="2", chat_response=response)
    req = InferRequest(prompt="q", return_likelihoods="GENERATION")  # type: ignore[arg-type]
    got = read_answer(ApiShape.GENERIC_CHAT, result, req)
    assert (got.text, got.finish_reason, got.usage.total_tokens) == ("hi there", "stop", 5)
    assert got.likelihoods is not None and got.likelihoods.likelihood == -0.75
    assert [t.token for t in got.likelihoods.tokens] == ["hi", "there"]


# -- resolver --------------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_newest_version_of_the_dataset_wins_and_other_pipelines_ignored() -> None:
    fake = FakeServingGenAi()
    fake.add(endpoint_summary("ep1", "m1", "fin"), "1")
    fake.add(endpoint_summary("ep3", "m3", "fin"), "3")
    fake.add(endpoint_summary("ep2", "m2", "fin"), "2")
    fake.add(endpoint_summary("ep9", "m9", "fin", pipeline="other"), "9")
    fake.add(endpoint_summary("ep8", "m8", "other-dataset"), "8")
    fake.add(endpoint_summary("ep7", "m7", "fin", state="CREATING"), "7")
    target = EndpointResolver(fake, SETTINGS).by_model("fin")
    assert (target.endpoint_id, target.model_version, target.model_name) == ("ep3", "3", "fin")
    assert target.base_model == "cohere.command-r-08-2024"  # from the base model record
    assert target.shape is ApiShape.COHERE_CHAT


def test_base_model_from_tags_picks_shape() -> None:
    fake = FakeServingGenAi()
    fake.add(endpoint_summary("ep1", "m1", "fin"), "1", base="meta.llama-3.1-70b-instruct")
    assert EndpointResolver(fake, SETTINGS).by_model("fin").shape is ApiShape.GENERIC_CHAT


def test_cache_follows_new_version_after_ttl() -> None:
    fake, clock = FakeServingGenAi(), Clock()
    fake.add(endpoint_summary("ep1", "m1", "fin"), "1")
    resolver = EndpointResolver(fake, SETTINGS, clock=clock)
    assert resolver.by_model("fin").endpoint_id == "ep1"
    fake.add(endpoint_summary("ep2", "m2", "fin"), "2")
    calls = len(fake.calls)
    clock.now += 29
    assert resolver.by_model("fin").endpoint_id == "ep1"  # cached: no control-plane call
    assert len(fake.calls) == calls
    clock.now += 2
    assert resolver.by_model("fin").endpoint_id == "ep2"


def test_unknown_and_not_ready_models() -> None:
    fake = FakeServingGenAi()
    fake.add(endpoint_summary("ep1", "m1", "slow", state="CREATING"), "1")
    resolver = EndpointResolver(fake, SETTINGS)
    with pytest.raises(InferError) as info:
        resolver.by_model("nope")
    assert (info.value.status, info.value.code) == (404, errors.UNKNOWN_MODEL)
    with pytest.raises(InferError) as info:
        resolver.by_model("slow")
    assert (info.value.status, info.value.code) == (409, errors.ENDPOINT_NOT_READY)


def test_by_endpoint_states() -> None:
    fake = FakeServingGenAi()
    fake.add(endpoint_summary("ep1", "m1", "a", state="CREATING"), "1")
    fake.add(endpoint_summary("ep2", "m2", "a", state="DELETED"), "1")
    resolver = EndpointResolver(fake, SETTINGS)
    for ep, status in (("ep1", 409), ("ep2", 404), ("ocid1.missing", 404)):
        with pytest.raises(InferError) as info:
            resolver.by_endpoint(ep)
        assert info.value.status == status


def test_failures_are_not_cached() -> None:
    fake = FakeServingGenAi()
    resolver = EndpointResolver(fake, SETTINGS)
    with pytest.raises(InferError):
        resolver.by_model("fin")
    fake.add(endpoint_summary("ep1", "m1", "fin"), "1")
    assert resolver.by_model("fin").endpoint_id == "ep1"


# -- handle_http with fakes -----------------------------------------------------------------


def _call(body: object, be: Backend, method: str = "POST",
          settings: Settings = SETTINGS) -> tuple[int, dict[str, Any], dict[str, str]]:
    reply = handle_http(method, json.dumps(body).encode(), settings, be)
    return reply.status, json.loads(reply.body), reply.headers


def test_answer_body() -> None:
    be, _, inference = infer_backend()
    status, body, headers = _call({"prompt": "What is an ETF?", "model": "fin"}, be)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == {"text": "An ETF is a fund.", "finish_reason": "COMPLETE",
                    "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9},
                    "model": {"name": "fin", "id": "m1", "version": "1"},
                    "endpoint_id": "ocid1.generativeaiendpoint.oc1.ep1"}
    assert inference.seen[0].chat_request.message == "What is an ETF?"


def test_default_model_and_missing_model() -> None:
    be, _, _ = infer_backend()
    assert _call({"prompt": "q"}, be, settings=SETTINGS.model_copy(
        update={"default_model": "fin"}))[0] == 200
    status, body, _ = _call({"prompt": "q"}, be)
    assert (status, body["error"]["code"]) == (400, errors.NO_MODEL)


def test_wrong_method() -> None:
    be, _, _ = infer_backend()
    status, body, headers = _call({"prompt": "q"}, be, method="GET")
    assert (status, body["error"]["code"], headers["Allow"]) == (405, "method_not_allowed", "POST")


def test_upstream_404_forgets_cached_endpoint() -> None:
    be, fake, _ = infer_backend(ServiceError(404, "NotAuthorizedOrNotFound", {}, "gone"))
    status, body, _ = _call({"prompt": "q", "model": "fin"}, be)
    assert (status, body["error"]["code"]) == (404, errors.UNKNOWN_ENDPOINT)
    calls = fake.calls.count("list_endpoints")
    _call({"prompt": "q", "model": "fin"}, be)
    # Nothing cached: resolved, 404, forgotten, resolved afresh once more (issue 13: a
    # retired endpoint never fails a request while a newer one serves).
    assert fake.calls.count("list_endpoints") == calls + 2


def test_unexpected_upstream_failure_is_502_without_detail() -> None:
    be, _, _ = infer_backend()
    be.inference = SimpleNamespace(chat=lambda d: _raise(AttributeError("secret-internal")))
    status, body, _ = _call({"prompt": "q", "model": "fin"}, be)
    assert status == 502 and "secret" not in json.dumps(body)


def test_bug_in_function_is_500_without_detail() -> None:
    be, _, _ = infer_backend()
    be.resolver = SimpleNamespace(by_model=lambda n: _raise(KeyError("secret-internal")))  # type: ignore[assignment]
    status, body, _ = _call({"prompt": "q", "model": "fin"}, be)
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert "secret" not in json.dumps(body)


def _raise(exc: BaseException) -> Any:
    raise exc


def test_a_cached_endpoint_retired_by_a_new_version_is_re_resolved_once() -> None:
    be, fake, inference = infer_backend()
    assert _call({"prompt": "q", "model": "fin"}, be)[0] == 200  # ep1 cached
    old = "ocid1.generativeaiendpoint.oc1.ep1"
    fake.add(endpoint_summary("ocid1.generativeaiendpoint.oc1.ep2", "m2", "fin"), "2")
    del fake.endpoints[old]  # v1's endpoint retired while the cache still names it
    gone = ServiceError(404, "NotAuthorizedOrNotFound", {}, "gone")

    def chat(details: Any) -> Any:
        if details.serving_mode.endpoint_id == old:
            raise gone
        return FakeInference().chat(details)

    inference.chat = chat  # type: ignore[method-assign]
    status, body, _ = _call({"prompt": "q", "model": "fin"}, be)
    assert status == 200 and body["endpoint_id"] == "ocid1.generativeaiendpoint.oc1.ep2"
