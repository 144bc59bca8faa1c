"""Glue between the fdk runtime and the stages: context, settings, outcome, status code.

Policy (what Fn and OCI Events see):

* 200 with an :class:`Outcome` body for done / duplicate / skipped / rejected /
  pending: the delivery succeeded; input that can never succeed is recorded
  (report or status object) and is never retried.
* An exception escapes only for transient failures (throttling, 5xx, network
  after the SDK's own retries): fdk answers 502 and the event is redelivered.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from shared import logs
from shared.events import EventParseError, ObjectEvent, parse_object_event
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Settings, SettingsError, Stage, get_settings

log = logs.get_logger("ocift.fn")

EventWork = Callable[[ObjectEvent, Settings], Outcome]


def read_body(data: Any) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, io.IOBase) or hasattr(data, "read"):
        raw = data.read()
        return raw.encode() if isinstance(raw, str) else bytes(raw)
    return str(data).encode()


def _call_id(ctx: Any) -> str | None:
    try:
        value = ctx.CallID()
    except Exception:  # a bare context in unit tests
        return None
    return str(value) if value else None


def _fn_name(ctx: Any) -> str | None:
    try:
        value = ctx.FnName()
    except Exception:
        return None
    return str(value) if value else None


def respond(ctx: Any, body: str, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    from fdk import response

    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return response.Response(ctx, response_data=body, headers=all_headers, status_code=status)


def run_event_stage(ctx: Any, data: Any, stage: Stage, work: EventWork) -> Any:
    """Parse the CloudEvent, run ``work`` and turn the result into an fdk response."""
    settings = get_settings()
    logs.configure(settings.log_level)
    logs.clear()
    logs.bind(function=_fn_name(ctx), stage=stage.value, request_id=_call_id(ctx))
    started = time.perf_counter()
    try:
        event = parse_object_event(read_body(data))
    except EventParseError as exc:
        outcome = Outcome(status=OutcomeStatus.REJECTED, stage=stage.value, reason=str(exc))
    else:
        logs.bind(object=event.object_name, bucket=event.bucket, etag=event.etag,
                  event_id=event.event_id)
        outcome = work(event, settings)
    log.info(
        "stage finished",
        extra={"outcome": outcome.status.value, "reason": outcome.reason,
               "elapsed_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return respond(ctx, outcome.to_json())


def check_stage(expected: Stage) -> Settings:
    """Settings of this process, insisting they were deployed for ``expected``."""
    settings = get_settings()
    if settings.stage is not expected:
        raise SettingsError(
            f"this function is configured as stage {settings.stage!s} but was asked to run "
            f"{expected.value}; set OCIFT_STAGE"
        )
    return settings
