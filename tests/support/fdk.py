"""The fdk side of a function call, as OCI Functions drives it, in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fdk import fixtures
from fdk.context import InvokeContext


@dataclass(frozen=True)
class FdkReply:
    """What fdk answered: body text, status and response headers."""

    body: str
    status: int
    headers: Any


def call_fdk(handler: Callable[..., Any], body: bytes, method: str = "POST") -> FdkReply:
    """Run ``handler`` through fdk's own request handling (headers, context, response)."""

    async def run() -> tuple[Any, int, Any]:
        pending = await fixtures.setup_fn_call(handler, content=body, method=method)
        result: tuple[Any, int, Any] = await pending
        return result

    data, status, headers = asyncio.run(run())
    return FdkReply(data.decode() if isinstance(data, bytes) else str(data), status, headers)


def invoke_context(call_id: str = "01CALL", method: str = "POST",
                   fn_name: str = "ocift-test") -> InvokeContext:
    """A real fdk invoke context, as fdk builds one for each call."""
    return InvokeContext(app_id="app", app_name="ocift", fn_id="fn", fn_name=fn_name,
                         call_id=call_id, method=method)
