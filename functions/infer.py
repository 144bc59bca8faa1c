"""Infer (HTTP through API Gateway / the local gateway): prompt in, answer out
(``shared.stages.infer``)."""

from __future__ import annotations

from typing import Any

from shared.runtime import invoke
from shared.settings import Stage
from shared.stages import infer


def handle(ctx: Any, data: Any = None) -> Any:
    return invoke(ctx, data, Stage.INFER, infer.handle)
