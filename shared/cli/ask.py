"""``ocift ask``: POST a question to the inference route (local gateway or API Gateway)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def post_infer(url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None,
               timeout: float = 60.0) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, JSON body)`` of one inference call; network errors raise ``OSError``."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the inference URL must be http(s): {url!r}")
    data = json.dumps(dict(body)).encode()
    request = urllib.request.Request(url, data=data, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json",
                                              **dict(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - user URL
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"error": {"code": "bad_response", "message": raw[:200].decode(errors="replace")}}
    return status, parsed if isinstance(parsed, dict) else {"value": parsed}


def describe_error(status: int, body: Mapping[str, Any]) -> str:
    err = body.get("error") if isinstance(body.get("error"), dict) else None
    if err:
        return f"{status} {err.get('code', '?')}: {err.get('message', '')}"
    return f"HTTP {status}"
