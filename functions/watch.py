"""Watch: a scheduled tick moves in-flight datasets on; reconcile when asked or due
(``shared.stages.watch``)."""

from __future__ import annotations

from typing import Any

from shared.runtime import invoke
from shared.settings import Stage
from shared.stages import watch


def handle(ctx: Any, data: Any = None) -> Any:
    return invoke(ctx, data, Stage.WATCH, watch.handle)
