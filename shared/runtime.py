"""The one invocation wrapper every handler uses: settings, log context, timing, response.

Policy (what Fn and OCI Events see):

* 200 with an :class:`Outcome` body for done / duplicate / skipped / rejected /
  pending: the delivery succeeded; input that can never succeed is recorded
  (report or status object) and is never retried.
* An exception escapes only for transient failures (throttling, 5xx, network
  after the SDK's own retries): fdk answers 502 and the event is redelivered.
* A configuration error (bad or missing ``OCIFT_*``, or a missing IAM grant:
  :class:`~shared.errors.ConfigurationError`) answers 502 with the reason: the
  platform keeps the event, and fixing the configuration makes it succeed.
* A request OCI refuses for good (400 and the like) that escapes a stage is
  answered 200 ``rejected`` with the reason, never retried.
* The HTTP stage (infer) returns an :class:`HttpReply` with its own status.

Each invocation logs one line with the stage, the fdk call id as ``request_id``,
the outcome and the elapsed time; nothing of the body is logged.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared import logs
from shared.errors import ErrorKind, classify, describe
from shared.events import EventParseError, ObjectEvent, parse_object_event
from shared.handoff import parse_handoff
from shared.invocation import JSON_HEADERS, HttpReply, Invocation
from shared.outcome import Outcome, OutcomeStatus
from shared.records import MalformedRecord, quarantine
from shared.settings import Settings, SettingsError, Stage, get_settings
from shared.stages.context import StageContext, context_for
from shared.stages.guard import ObjectKind, claim_object

log = logs.get_logger("ocift.fn")

__all__ = ["JSON_HEADERS", "EventWork", "HttpReply", "Invocation", "Routes", "Work", "invoke",
           "object_event_work", "run"]

Work = Callable[[Invocation], Outcome | HttpReply]
EventWork = Callable[[StageContext, ObjectEvent, str], Outcome]
#: What an event stage does with each kind of object it is woken by.
Routes = Mapping[ObjectKind, EventWork]


def read_body(data: Any) -> bytes:
    """The request body as bytes, whatever fdk handed over."""
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, io.IOBase) or hasattr(data, "read"):
        raw = data.read()
        return raw.encode() if isinstance(raw, str) else bytes(raw)
    return str(data).encode()


def _deadline(ctx: Any) -> float | None:
    """The call's deadline from fdk (``Fn-Deadline``, RFC 3339), as epoch seconds."""
    from datetime import datetime

    try:
        text = str(ctx.Deadline() or "")
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None
    except (AttributeError, TypeError, ValueError):
        return None


def respond(ctx: Any, body: str, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    from fdk import response

    return response.Response(ctx, response_data=body, headers={**JSON_HEADERS, **(headers or {})},
                             status_code=status)


def configuration_error(ctx: Any, message: str) -> Any:
    """502 naming the bad setting: the platform keeps the event until the config is fixed."""
    body = json.dumps({"status": "error", "code": "BadConfiguration", "reason": message})
    return respond(ctx, body, 502)


def invoke(ctx: Any, data: Any, stage: Stage, work: Work) -> Any:
    """Run ``work`` for one fdk call of ``stage`` and turn its result into the response."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        return configuration_error(ctx, str(exc))
    if settings.stage is not stage:
        return configuration_error(
            ctx, f"this function runs stage {stage.value} but OCIFT_STAGE is "
                 f"{settings.stage.value if settings.stage else 'unset'}")
    logs.configure(settings.log_level)
    logs.clear()
    request_id = str(ctx.CallID() or "") or None
    logs.bind(function=str(ctx.FnName() or "") or None, stage=stage.value, request_id=request_id)
    method = str(ctx.Method() or "") or None
    started = time.perf_counter()
    try:
        result = work(Invocation(stage, settings, read_body(data), method, request_id,
                                 _deadline(ctx)))
    except Exception as exc:
        kind = classify(exc)
        if kind is ErrorKind.MISCONFIGURED:  # a grant or setting: kept until an operator acts
            log.error("stage misconfigured", extra={"reason": describe(exc)})
            return configuration_error(ctx, describe(exc))
        if kind is not ErrorKind.PERMANENT:
            raise  # transient: fdk answers 502 and the event is redelivered
        # OCI refused the request itself: no retry can change that, so answer (and log)
        # the reason instead of failing into a redelivery loop.
        result = Outcome.of(stage.value, OutcomeStatus.REJECTED, describe(exc), None)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if isinstance(result, HttpReply):
        log.info("request answered", extra={**result.log_fields, "status": result.status,
                                            "elapsed_ms": elapsed_ms})
        return respond(ctx, result.body, result.status, result.headers)
    log.info("stage finished", extra={"outcome": result.status.value, "reason": result.reason,
                                      "elapsed_ms": elapsed_ms})
    return respond(ctx, result.to_json())


def handle_object_event(stage: Stage, routes: Routes, event: ObjectEvent,
                        settings: Settings) -> Outcome:
    """Claim ``event``'s object for ``stage`` (or skip it), build the clients, run its route.

    A hand-off is read and checked first. A document that does not parse (the hand-off,
    or a status or report the route reads) is quarantined and the delivery answered:
    it can never succeed, so it is never retried and never stops another dataset.
    """
    claim = claim_object(event, settings, stage)
    if isinstance(claim, Outcome):
        return claim
    ctx = context_for(settings)
    if not settings.namespace:  # now resolved: an event for another namespace is not ours
        claim = claim_object(event, ctx.settings, stage)
        if isinstance(claim, Outcome):
            return claim
    kind, dataset = claim
    try:
        if kind is ObjectKind.HANDOFF:
            got = ctx.store.read_bytes(event.object_name)
            if got is None:
                return Outcome.of(stage.value, OutcomeStatus.SKIPPED,
                                  "the hand-off no longer exists", event.object_name)
            handed = parse_handoff(event.object_name, got[1], got[0])
            if handed.dataset != dataset or handed.stage != stage.value:
                raise MalformedRecord(event.object_name, got[1],
                                      f"names dataset {handed.dataset!r} for stage "
                                      f"{handed.stage!r}, but lies at {event.object_name}",
                                      got[0])
        return routes[kind](ctx, event, dataset)
    except MalformedRecord as bad:
        quarantine(ctx.store, ctx.settings, bad, stage.value)
        return Outcome.of(stage.value, OutcomeStatus.SKIPPED,
                          f"quarantined {bad.name}: {bad.error}", event.object_name,
                          quarantined=bad.name)


def object_event_work(routes: Routes) -> Work:
    """An event stage's work: parse the CloudEvent, then :func:`handle_object_event`."""

    def work(inv: Invocation) -> Outcome:
        try:
            event = parse_object_event(inv.body)
        except EventParseError as exc:
            return Outcome.of(inv.stage.value, OutcomeStatus.REJECTED, str(exc), None)
        logs.bind(object=event.object_name, bucket=event.bucket, etag=event.etag,
                  event_id=event.event_id)
        return handle_object_event(inv.stage, routes, event, inv.settings)

    return work


def run(ctx: Any, data: Any, expect: Stage | None = None) -> Any:
    """The fdk entry of every function: the stage ``OCIFT_STAGE`` names, from the one table
    (:data:`shared.dispatch.STAGES`); ``expect`` pins it for a per-stage module."""
    from shared.dispatch import work_for

    try:
        settings = get_settings()
    except SettingsError as exc:
        return configuration_error(ctx, str(exc))
    stage = expect or settings.stage
    if stage is None:
        return configuration_error(ctx, "OCIFT_STAGE is not set; set it to one of "
                                   + ", ".join(s.value for s in Stage))
    return invoke(ctx, data, stage, work_for(stage))
