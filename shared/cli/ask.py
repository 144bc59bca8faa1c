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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def describe_grounding(answer: Mapping[str, Any]) -> str:
    """One line on how close the match was and what answered ("" when the answer says nothing).

    Reads the ``grounding`` field of the inference function's answer
    (``shared.infer.models.Grounding``), which is absent unless the upstream
    carried documents or token log-likelihoods.
    """
    grounding = answer.get("grounding")
    if not isinstance(grounding, dict):
        return ""
    similarity, floor = _number(grounding.get("similarity")), _number(grounding.get("floor"))
    sources = [s for s in grounding.get("sources") or [] if isinstance(s, dict)]
    parts = []
    declined = bool(sources) and sources[0].get("id") == "none-close-enough"
    if similarity is not None and floor is not None and similarity < floor:
        parts.append(f"no training example close enough: best similarity {similarity:.2f} "
                     f"is below the floor {floor:.2f}")
    elif declined:  # similar enough, but the example lacks the question's own words
        parts.append("declined: no training example contains enough of the question's "
                     "informative words" + (f" (best similarity {similarity:.2f})"
                                            if similarity is not None else ""))
    elif sources:
        first = sources[0]
        text = f"answered from {first.get('id', '?')}"
        if similarity is not None:
            text += f" (similarity {similarity:.2f}" + (
                f", floor {floor:.2f})" if floor is not None else ")")
        prompt = first.get("prompt")
        if isinstance(prompt, str) and prompt:
            short = " ".join(prompt.split())
            text += f": {short[:117] + '...' if len(short) > 120 else short!r}"
        parts.append(text)
    probability = _number(grounding.get("token_probability"))
    if probability is not None:
        parts.append(f"token probability {probability:.2f} (exp of the mean token "
                     "log-likelihood; on the local stand-in, the match's similarity)")
    return "; ".join(parts)
