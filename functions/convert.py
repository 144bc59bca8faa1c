"""Convert: a raw dataset object landed -> training JSONL + report (``shared.stages.convert``)."""

from __future__ import annotations

from typing import Any

from shared.runtime import invoke, object_event_work
from shared.settings import Stage
from shared.stages.convert import convert_dataset

_WORK = object_event_work(convert_dataset)


def handle(ctx: Any, data: Any = None) -> Any:
    return invoke(ctx, data, Stage.CONVERT, _WORK)
