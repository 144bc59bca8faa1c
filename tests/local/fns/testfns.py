"""Tiny fdk functions the router/runner/gateway tests serve through the real fdk runtime.

Each is an fdk entry point (``fdk tests/local/fns/testfns.py <name>``). Counters
live in files under ``$TESTFN_DIR`` so the test process can read them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from fdk import response


def _body(data: Any) -> bytes:
    if data is None:
        return b""
    raw = data.read() if hasattr(data, "read") else data
    return raw if isinstance(raw, bytes) else str(raw).encode()


def _record(data: bytes) -> int:
    """Append the call to calls.jsonl; return how many calls came before it."""
    path = Path(os.environ["TESTFN_DIR"]) / f"{os.environ['FN_FN_NAME']}.calls"
    with open(path, "ab") as sink:
        sink.write(data.replace(b"\n", b" ") + b"\n")
    return len(path.read_bytes().splitlines()) - 1


def echo(ctx: Any, data: Any = None) -> Any:
    """Answer with what the function saw: headers, body, config and env."""
    body = _body(data)
    _record(body)
    seen = {
        "headers": {k: v for k, v in ctx.Headers().items()},
        "http_headers": {k: v for k, v in ctx.HTTPHeaders().items()},
        "method": ctx.Method(),
        "url": ctx.RequestURL(),
        "call_id": ctx.CallID(),
        "fn_name": ctx.FnName(),
        "app_name": ctx.AppName(),
        "body": body.decode(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OCIFT_", "TESTFN_"))},
        "pid": os.getpid(),
    }
    return response.Response(ctx, json.dumps(seen), headers={"Content-Type": "application/json"})


def flaky(ctx: Any, data: Any = None) -> Any:
    """Raise (fdk answers 502) for the first ``TESTFN_FAILURES`` calls, then succeed."""
    before = _record(_body(data))
    if before < int(os.environ.get("TESTFN_FAILURES", "2")):
        raise RuntimeError(f"planned failure {before + 1}")
    return response.Response(ctx, json.dumps({"ok": True, "call": before + 1}))


def always_fail(ctx: Any, data: Any = None) -> Any:
    _record(_body(data))
    raise RuntimeError("this function always fails")


def slow(ctx: Any, data: Any = None) -> Any:
    _record(_body(data))
    time.sleep(float(os.environ.get("TESTFN_SLEEP", "30")))
    return response.Response(ctx, "late")


def crash(ctx: Any, data: Any = None) -> Any:
    """Die mid-call the first time (no answer at all), then succeed."""
    before = _record(_body(data))
    if before == 0:
        os._exit(3)
    return response.Response(ctx, json.dumps({"ok": True}))


def crash_second(ctx: Any, data: Any = None) -> Any:
    """Answer the first call, die mid-call on the second (no answer at all), then answer."""
    before = _record(_body(data))
    if before == 1:
        os._exit(3)
    return response.Response(ctx, json.dumps({"ok": True, "pid": os.getpid()}))


def http_status(ctx: Any, data: Any = None) -> Any:
    """HTTP-style answer: status and a header chosen by the request body."""
    asked = json.loads(_body(data) or b"{}")
    _record(b"x")
    return response.Response(
        ctx, json.dumps({"echo": asked}), status_code=int(asked.get("status", 200)),
        headers={"Content-Type": "application/json", "X-Test": asked.get("header", "none")})


def nap(ctx: Any, data: Any = None) -> Any:
    """Sleep ``TESTFN_SLEEP`` seconds (0.02 by default), answer with this process's pid."""
    time.sleep(float(os.environ.get("TESTFN_SLEEP", "0.02")))
    return response.Response(ctx, json.dumps({"pid": os.getpid()}))
