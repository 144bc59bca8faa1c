"""The check every event stage makes first: is this object mine to handle, and as what?

Each event stage takes the objects of its own layout and nothing else: convert the raw
objects and its hand-offs, train the training JSONL and its hand-offs, endpoint only its
hand-offs. A status object is the record and wakes nobody.
"""

from __future__ import annotations

from enum import StrEnum

from shared import naming
from shared.events import ObjectEvent
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Settings, Stage


class ObjectKind(StrEnum):
    RAW = "raw"  # raw/<dataset>.json|.jsonl: a dataset to convert
    TRAINING = "training"  # training/<dataset>.jsonl: a JSONL to train
    HANDOFF = "handoff"  # handoff/<stage>/<dataset>.json: the watcher hands the next step over
    APPROVAL = "approval"  # approvals/<dataset>.json: the user's decision (train only)


#: What each event stage is woken by (one place; the runtime routes by it).
STAGE_INPUTS: dict[Stage, tuple[ObjectKind, ...]] = {
    Stage.CONVERT: (ObjectKind.RAW, ObjectKind.HANDOFF),
    Stage.TRAIN: (ObjectKind.TRAINING, ObjectKind.HANDOFF, ObjectKind.APPROVAL),
    Stage.ENDPOINT: (ObjectKind.HANDOFF,),
    Stage.EVALUATE: (ObjectKind.HANDOFF,),
}


def _dataset(settings: Settings, stage: Stage, kind: ObjectKind, name: str) -> str | None:
    if kind is ObjectKind.RAW:
        return naming.raw_dataset(settings, name)
    if kind is ObjectKind.TRAINING:
        return naming.training_dataset(settings, name)
    if kind is ObjectKind.APPROVAL:
        return naming.approval_dataset(settings, name)
    return naming.handoff_dataset(settings, stage.value, name)


def _layout(settings: Settings, stage: Stage, kind: ObjectKind) -> str:
    if kind is ObjectKind.RAW:
        return f"{settings.raw_prefix}*{{{','.join(settings.raw_suffixes)}}}"
    if kind is ObjectKind.TRAINING:
        return f"{settings.training_prefix}*.jsonl"
    if kind is ObjectKind.APPROVAL:
        return naming.approval_object(settings, "*")
    return naming.handoff_object(settings, stage.value, "*")


def claim_object(event: ObjectEvent, settings: Settings,
                 stage: Stage) -> tuple[ObjectKind, str] | Outcome:
    """``(kind, dataset)`` of the event's object, or a SKIPPED outcome when it is not mine.

    Objects outside the stage's layout are skipped, and so are events from another
    bucket or namespace: a rule that matched them is misconfigured, and acting on them
    would cross pipelines.
    """
    kinds = STAGE_INPUTS.get(stage)
    if kinds is None:
        raise ValueError(f"stage {stage.value} is not triggered by object events")
    claim = next(((kind, ds) for kind in kinds
                  if (ds := _dataset(settings, stage, kind, event.object_name)) is not None),
                 None)
    if claim is None:
        expected = " or ".join(_layout(settings, stage, kind) for kind in kinds)
        reason = f"not a {stage.value} object: expected {expected}"
    elif event.bucket != settings.bucket:
        reason = (f"event for bucket {event.bucket!r}, this pipeline watches "
                  f"{settings.bucket!r}")
    elif settings.namespace and event.namespace and event.namespace != settings.namespace:
        reason = (f"event for namespace {event.namespace!r}, this pipeline's bucket is in "
                  f"{settings.namespace!r}")
    else:
        return claim
    return Outcome(status=OutcomeStatus.SKIPPED, stage=stage.value, reason=reason,
                   object_name=event.object_name)
