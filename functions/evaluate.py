"""The evaluate function (``OCIFT_STAGE=evaluate``); its work is in :mod:`shared.dispatch`."""

from __future__ import annotations

from typing import Any

from shared.runtime import run
from shared.settings import Stage


def handle(ctx: Any, data: Any = None) -> Any:
    return run(ctx, data, Stage.EVALUATE)
