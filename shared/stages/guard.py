"""The check every event stage makes first: is this object mine to handle?"""

from __future__ import annotations

from shared import naming
from shared.events import ObjectEvent
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Settings, Stage


def _layout(settings: Settings, stage: Stage, name: str) -> tuple[str | None, str]:
    """The dataset ``name`` belongs to for ``stage`` (or ``None``) and the expected layout."""
    if stage is Stage.CONVERT:
        return (naming.raw_dataset(settings, name),
                f"{settings.raw_prefix}*{{{','.join(settings.raw_suffixes)}}}")
    if stage is Stage.TRAIN:
        return naming.training_dataset(settings, name), f"{settings.training_prefix}*.jsonl"
    if stage is Stage.ENDPOINT:
        return naming.status_dataset(settings, name), f"{settings.status_prefix}*.json"
    raise ValueError(f"stage {stage.value} is not triggered by object events")


def claim_object(event: ObjectEvent, settings: Settings, stage: Stage) -> str | Outcome:
    """The dataset the event's object belongs to, or a SKIPPED outcome when it is not mine.

    Objects outside the stage's layout are skipped, and so are events from another
    bucket: a rule that matched them is misconfigured, and acting on them would
    cross pipelines.
    """
    dataset, expected = _layout(settings, stage, event.object_name)
    if dataset is None:
        reason = f"not a {stage.value} object: expected {expected}"
    elif event.bucket != settings.bucket:
        reason = (f"event for bucket {event.bucket!r}, this pipeline watches "
                  f"{settings.bucket!r}")
    else:
        return dataset
    return Outcome(status=OutcomeStatus.SKIPPED, stage=stage.value, reason=reason,
                   object_name=event.object_name)
