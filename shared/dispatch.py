"""The one table that says which code runs for each stage, and for which object.

``functions/handler.py`` (the image's single fdk entry) and the per-stage modules in
``functions/`` all go through :func:`shared.runtime.run`, which looks the stage up here.
Each entry imports its stage module on first use, so a function loads only its own stage.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.runtime import Work, object_event_work
from shared.settings import Stage
from shared.stages.guard import ObjectKind


def _convert() -> Work:
    from shared.stages import convert

    return object_event_work({ObjectKind.RAW: convert.on_raw,
                              ObjectKind.HANDOFF: convert.on_handoff})


def _train() -> Work:
    from shared.stages import train

    return object_event_work({ObjectKind.TRAINING: train.on_training,
                              ObjectKind.HANDOFF: train.on_handoff,
                              ObjectKind.APPROVAL: train.on_approval})


def _endpoint() -> Work:
    from shared.stages import endpoint

    return object_event_work({ObjectKind.HANDOFF: endpoint.on_handoff})


def _evaluate() -> Work:
    from shared.stages import evaluate

    return evaluate.work


def _watch() -> Work:
    from shared.stages.watch import entry

    return entry.handle


def _infer() -> Work:
    from shared.stages import infer

    return infer.handle


#: Stage -> how to build its work (called once per process).
STAGES: dict[Stage, Callable[[], Work]] = {
    Stage.CONVERT: _convert,
    Stage.TRAIN: _train,
    Stage.ENDPOINT: _endpoint,
    Stage.WATCH: _watch,
    Stage.INFER: _infer,
    Stage.EVALUATE: _evaluate,
}

_built: dict[Stage, Work] = {}


def work_for(stage: Stage) -> Work:
    """The work of ``stage`` (built on first use, then kept for the warm process)."""
    work = _built.get(stage)
    if work is None:
        work = _built[stage] = STAGES[stage]()
    return work
