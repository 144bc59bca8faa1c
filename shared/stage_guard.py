"""The check every event stage makes first: is this object mine to handle?"""

from __future__ import annotations

from shared.events import ObjectEvent
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Settings, Stage


def foreign_object(event: ObjectEvent, settings: Settings, stage: Stage,
                   dataset: str | None, expected: str) -> Outcome | None:
    """A SKIPPED outcome when the event's object is not this stage's, else ``None``.

    ``dataset`` is the dataset name parsed from the object name (``None`` when the
    name does not fit the stage's layout) and ``expected`` describes that layout
    for the message. Events from another bucket are skipped too: a rule that
    matched them is misconfigured, and acting on them would cross pipelines.
    """
    if dataset is None:
        reason = f"not a {stage.value} object: expected {expected}"
    elif event.bucket != settings.bucket:
        reason = (f"event for bucket {event.bucket!r}, this pipeline watches "
                  f"{settings.bucket!r}")
    else:
        return None
    return Outcome(status=OutcomeStatus.SKIPPED, stage=stage.value, reason=reason,
                   object_name=event.object_name)
