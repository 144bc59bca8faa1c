"""Infer function (HTTP through API Gateway / the local gateway): prompt in, answer out."""

from __future__ import annotations

from typing import Any

from shared import logs
from shared.fnruntime import read_body, respond
from shared.infer.service import handle_http
from shared.settings import get_settings


def _method(ctx: Any) -> str | None:
    try:
        value = ctx.Method()
    except Exception:  # a context without HTTP intent
        return None
    return str(value) if value else None


def handle(ctx: Any, data: Any = None) -> Any:
    settings = get_settings()
    logs.configure(settings.log_level)
    logs.clear()
    reply = handle_http(_method(ctx), read_body(data), settings)
    return respond(ctx, reply.body, reply.status, reply.headers)
