"""``POST /infer``: validate, resolve the endpoint, call Generative AI Inference, answer JSON.

:func:`handle_http` is transport-free (method, body, settings in; an
:class:`~shared.runtime.HttpReply` out) so it is unit-testable; :func:`handle`
is what ``functions/infer.py`` gives the invocation wrapper. Clients
and the endpoint cache are module-level: they live across warm invocations.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared import caches, logs
from shared.infer import errors
from shared.infer.errors import InferError
from shared.infer.models import InferRequest, InferResponse, ModelRef
from shared.infer.resolve import EndpointResolver, Target
from shared.infer.shapes import build_details, check_limits, read_answer
from shared.invocation import JSON_HEADERS, HttpReply, Invocation
from shared.settings import Settings

log = logs.get_logger("ocift.infer")

_CLOUDEVENT_KEYS = frozenset({"eventType", "cloudEventsVersion", "specversion", "eventID"})
_REQUEST_KEYS = frozenset({"prompt", "messages"})


@dataclass
class Backend:
    """What one warm function keeps: the inference client and the resolver."""

    inference: Any
    resolver: EndpointResolver


_lock = threading.Lock()
_backends: dict[int, Backend] = {}


def _build_backend(settings: Settings) -> Backend:
    from shared import clients

    # The serving client: a 429 goes back to the caller with Retry-After, and a slow
    # upstream never eats the function's whole timeout (shared/clients.py).
    return Backend(clients.serving_inference(settings),
                   EndpointResolver(clients.generative_ai(settings), settings))


def backend(settings: Settings) -> Backend:
    """The process-wide :class:`Backend` for these settings."""
    key = hash(settings)
    found = _backends.get(key)
    if found is None:
        with _lock:
            found = _backends.get(key)
            if found is None:
                found = _build_backend(settings)
                _backends[key] = found
    return found


def _forget_backends() -> None:
    with _lock:
        _backends.clear()


caches.register("infer.backends", _forget_backends)


def parse_request(body: bytes, settings: Settings) -> InferRequest:
    """The validated request, or an :class:`InferError` saying what is wrong."""
    if len(body) > settings.max_request_bytes:
        raise InferError(413, errors.BODY_TOO_LARGE, f"the body has {len(body)} bytes; at most "
                         f"{settings.max_request_bytes} are accepted")
    if not body.strip():
        raise InferError(400, errors.INVALID_JSON, "the body is empty; send a JSON object such "
                         'as {"prompt": "..."}')
    try:
        raw = json.loads(body)
    except RecursionError:
        # The decoder recurses once per nesting level; a body nested deeper than the
        # interpreter's limit is the caller's mistake, not a crash of this function.
        raise InferError(400, errors.INVALID_JSON, "the body nests arrays or objects too "
                         "deeply; send a flat JSON object such as {\"prompt\": \"...\"}"
                         ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise InferError(400, errors.INVALID_JSON, f"the body is not valid JSON{where}") from None
    if not isinstance(raw, dict) or raw.keys() & _CLOUDEVENT_KEYS or not raw.keys() & _REQUEST_KEYS:
        raise InferError(400, errors.NOT_AN_INFERENCE_REQUEST,
                         "this route only answers inference requests: a JSON object with "
                         "'prompt' or 'messages' (events are not accepted here)")
    try:
        return InferRequest.model_validate(raw)
    except ValidationError as exc:
        raise errors.from_validation(exc) from None
    except RecursionError:
        raise InferError(400, errors.INVALID_REQUEST, "the body nests values too deeply") from None


def resolve(req: InferRequest, settings: Settings, resolver: EndpointResolver) -> Target:
    if req.endpoint_id:
        return resolver.by_endpoint(req.endpoint_id)
    name = req.model or settings.default_model
    if not name:
        raise InferError(400, errors.NO_MODEL, "say which model to ask: give 'model' (a "
                         "dataset name) or 'endpoint_id', or set OCIFT_DEFAULT_MODEL")
    if name.startswith("ocid1."):
        return resolver.by_endpoint(name)
    return resolver.by_model(name)


def answer(req: InferRequest, settings: Settings, be: Backend) -> tuple[InferResponse, Target]:
    """Resolve, shape, call and read the answer."""
    for attempt in (1, 2):
        target = resolve(req, settings, be.resolver)
        check_limits(req, target.shape, target.base_model)
        details = build_details(req, target.shape, target.endpoint_id,
                                str(settings.compartment_id))
        try:
            result = be.inference.chat(details).data  # the only inference API (shapes.py)
            break
        except Exception as exc:
            mapped = errors.from_upstream(exc)
            if mapped.status not in (404, 409):
                raise mapped from None
            be.resolver.forget(target.endpoint_id)
            # A cached endpoint a newer version retired (or one not ACTIVE any more): the
            # dataset is resolved afresh once, so a version switch never fails a request.
            if attempt == 2 or req.endpoint_id:
                raise mapped from None
    got = read_answer(target.shape, result, req)
    response = InferResponse(
        text=got.text, finish_reason=got.finish_reason, likelihoods=got.likelihoods,
        grounding=got.grounding, usage=got.usage,
        model=ModelRef(name=target.model_name, id=got.model_id or target.model_id,
                       version=got.model_version or target.model_version),
        endpoint_id=target.endpoint_id)
    return response, target


def handle(inv: Invocation) -> HttpReply:
    """The infer stage's work for :func:`shared.runtime.invoke`."""
    return handle_http(inv.method, inv.body, inv.settings)


def handle_http(method: str | None, body: bytes, settings: Settings,
                be: Backend | None = None) -> HttpReply:
    """Answer one HTTP call; never raises, never leaks internals.

    What the invocation's log line should say (never the prompt, unless
    ``OCIFT_LOG_PROMPTS`` asks for it) travels in :attr:`HttpReply.log_fields`.
    """
    extra: dict[str, Any] = {}
    try:
        if method and method.upper() != "POST":
            raise InferError(405, errors.METHOD_NOT_ALLOWED,
                             f"{method.upper()} is not allowed; POST a JSON body",
                             {"Allow": "POST"})
        req = parse_request(body, settings)
        if settings.log_prompts:
            extra["prompt"] = logs.Disclosed(req.question)
        response, target = answer(req, settings, be or backend(settings))
        extra.update(endpoint_id=target.endpoint_id, model=target.model_name,
                     model_version=target.model_version,
                     completion_tokens=response.usage.completion_tokens)
        return HttpReply(200, response.model_dump_json(exclude_none=True), log_fields=extra)
    except InferError as exc:
        extra["code"] = exc.code
        return HttpReply(exc.status, exc.body(), {**JSON_HEADERS, **exc.headers},
                         log_fields=extra)
    except Exception as exc:  # never a stack trace to the caller
        log.exception("inference failed unexpectedly")
        extra.update(code=errors.INTERNAL, error_type=type(exc).__name__)
        return HttpReply(500, InferError(500, errors.INTERNAL, "the inference function failed; "
                                         "see its logs").body(), log_fields=extra)
