"""What each function call of the local target came to, for a person watching ``ocift up``.

:class:`StageOutcome` is built from the event a delivery carried and the function's
answer (the stage's :class:`shared.outcome.Outcome` JSON, or the failure); the target
hands each one to its ``on_outcome`` callback. :func:`format_line` renders one readable
line: time, stage, dataset, outcome, elapsed, reason.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared import naming
from shared.settings import Settings

_REASON_CHARS = 240


class StageOutcome(BaseModel):
    """One function call's result, in terms a user reads."""

    stage: str
    object_name: str | None = None
    dataset: str | None = None
    outcome: str  # done, duplicate, skipped, rejected, pending, failed, dead-lettered
    reason: str = ""
    elapsed_s: float = 0.0
    attempt: int | None = None
    at: datetime

    @property
    def quiet(self) -> bool:
        """Not worth a line: the event was not for this stage, or a tick saw nothing new."""
        return self.outcome == "skipped" or (self.stage == "watch" and self.outcome == "done"
                                             and not self.reason)


def event_object(body: bytes) -> str | None:
    """The object name an Object Storage CloudEvent body is about (None for other bodies)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    data = doc.get("data") if isinstance(doc, dict) else None
    name = data.get("resourceName") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def dataset_of(settings: Settings, object_name: str | None) -> str | None:
    """The dataset an object of the pipeline's bucket belongs to (None when it is not one);
    a hand-off ``handoff/<stage>/<dataset>.json`` names its dataset too."""
    found = naming.dataset_of(settings, object_name)
    if found is None and object_name and object_name.startswith(settings.handoff_prefix):
        stage = object_name[len(settings.handoff_prefix):].split("/", 1)[0]
        found = naming.handoff_dataset(settings, stage, object_name)
    return found


def _watch_reason(details: dict[str, Any]) -> str:
    parts = [*details.get("changed", []), *(f"resumed {r}" for r in details.get("resumed", [])),
             *(f"error {e}" for e in details.get("errors", []))]
    actions = details.get("actions") or []
    return "; ".join([*parts, *actions])


def from_answer(stage: str, body: bytes) -> tuple[str, str]:
    """(outcome, reason) from a stage's JSON answer."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "done", ""
    if not isinstance(doc, dict):
        return "done", ""
    outcome = str(doc.get("status") or "done")
    reason = str(doc.get("reason") or "")
    if stage == "watch":
        found = doc.get("details")
        details: dict[str, Any] = found if isinstance(found, dict) else {}
        tick = details.get("tick")
        reason = _watch_reason({**details, **(tick if isinstance(tick, dict) else {})}) or reason
    return outcome, reason


def split_watch(outcome: StageOutcome) -> list[StageOutcome]:
    """One outcome per dataset a watch tick changed (``"<dataset>: <state>"`` entries), so
    each line names its dataset; other ticks stay as they are."""
    parts = [p.strip() for p in outcome.reason.split(";") if p.strip()]
    if outcome.stage != "watch" or not parts:
        return [outcome]
    out = []
    for part in parts:
        if part.startswith("resumed "):  # "resumed <dataset>: <stage>" -> that dataset's line
            dataset, sep, stage = part.removeprefix("resumed ").partition(": ")
            if sep and " " not in dataset.strip():
                out.append(outcome.model_copy(update={"dataset": dataset,
                                                      "reason": f"handed to {stage}"}))
                continue
        dataset, sep, what = part.partition(": ")
        if sep and " " not in dataset.strip():
            out.append(outcome.model_copy(update={"dataset": dataset, "reason": what}))
        else:
            out.append(outcome.model_copy(update={"reason": part}))
    return out


class Repeats:
    """Drops a line that says again what the last line of the same stage and dataset said.

    A stage called again while a cluster is still CREATING answers ``pending`` with the same
    reason, and the watcher records the same dataset state again when only a detail changed:
    printed, those read as duplicated work (issue 27). A change of outcome or reason is
    always printed; so is every failure.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[str, str]] = {}

    def fresh(self, o: StageOutcome) -> bool:
        """True when ``o`` is worth a line (and remember it)."""
        key = (o.stage, o.dataset or o.object_name or "-")
        said = (o.outcome, " ".join(o.reason.split()))
        if o.outcome in ("failed", "dead-lettered") or self._last.get(key) != said:
            self._last[key] = said
            return True
        return False


def format_line(o: StageOutcome) -> str:
    """``12:03:04  convert   finance-demo   done      0.42s  converted 36 records``."""
    what = o.dataset or o.object_name or "-"
    if len(what) > 20:
        what = what[:19] + "…"
    attempt = f" (attempt {o.attempt})" if o.attempt and o.attempt > 1 else ""
    reason = " ".join(o.reason.split())
    if len(reason) > _REASON_CHARS:
        reason = reason[:_REASON_CHARS - 1] + "…"
    return (f"{o.at.strftime('%H:%M:%S')}  {o.stage:<8}  {what:<20}  {o.outcome + attempt:<13}"
            f"  {o.elapsed_s:6.2f}s  {reason}").rstrip()
