"""The check every event stage makes first: is this object mine to handle?"""

from __future__ import annotations

from shared import naming
from shared.events import ObjectEvent
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Settings, Stage


def _layout(settings: Settings, stage: Stage, name: str) -> tuple[str | None, str]:
    """The dataset ``name`` belongs to for ``stage`` (or ``None``) and the expected layout.

    Every event stage also reads status objects: a status write is how the watcher
    (which creates nothing) hands work back to the stage that owns the next step.
    """
    status = f"{settings.status_prefix}*.json"
    if stage is Stage.CONVERT:
        own = (naming.raw_dataset(settings, name),
               f"{settings.raw_prefix}*{{{','.join(settings.raw_suffixes)}}}")
    elif stage is Stage.TRAIN:
        own = naming.training_dataset(settings, name), f"{settings.training_prefix}*.jsonl"
    elif stage is Stage.ENDPOINT:
        return naming.status_dataset(settings, name), status
    else:
        raise ValueError(f"stage {stage.value} is not triggered by object events")
    dataset = own[0] or naming.status_dataset(settings, name)
    return dataset, f"{own[1]} or {status}"


def claim_object(event: ObjectEvent, settings: Settings, stage: Stage) -> str | Outcome:
    """The dataset the event's object belongs to, or a SKIPPED outcome when it is not mine.

    Objects outside the stage's layout are skipped, and so are events from another
    bucket or namespace: a rule that matched them is misconfigured, and acting on them
    would cross pipelines. The namespace is the configured one only (checked once it is
    known: ``settings.namespace`` unset means "ask Object Storage", and the caller claims
    again with the resolved settings).
    """
    dataset, expected = _layout(settings, stage, event.object_name)
    if dataset is None:
        reason = f"not a {stage.value} object: expected {expected}"
    elif event.bucket != settings.bucket:
        reason = (f"event for bucket {event.bucket!r}, this pipeline watches "
                  f"{settings.bucket!r}")
    elif settings.namespace and event.namespace != settings.namespace:
        reason = (f"event for namespace {event.namespace!r}, this pipeline's bucket is in "
                  f"{settings.namespace!r}")
    else:
        return dataset
    return Outcome(status=OutcomeStatus.SKIPPED, stage=stage.value, reason=reason,
                   object_name=event.object_name)


def is_status_object(settings: Settings, name: str) -> bool:
    """True for ``status/<dataset>.json``: the event is a hand-over, not new input."""
    return naming.status_dataset(settings, name) is not None
