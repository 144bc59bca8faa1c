"""The one fdk entry point of the image: ``fdk functions/handler.py handler``.

Each deployed function runs this same image and is told its stage by the
``OCIFT_STAGE`` configuration key; the stage module does the work. A function
never runs another stage's code, whatever it is sent.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# fdk loads this file by path; make the repository root (``/function`` in the
# image) importable so ``shared`` and ``functions`` resolve the same way everywhere.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from shared.runtime import configuration_error  # noqa: E402
from shared.settings import SettingsError, Stage, get_settings  # noqa: E402

STAGE_MODULES: dict[Stage, str] = {
    Stage.CONVERT: "functions.convert",
    Stage.TRAIN: "functions.train",
    Stage.ENDPOINT: "functions.endpoint",
    Stage.WATCH: "functions.watch",
    Stage.INFER: "functions.infer",
}


def handler(ctx: Any, data: Any = None) -> Any:
    try:
        settings = get_settings()
    except SettingsError as exc:
        return configuration_error(ctx, str(exc))
    if settings.stage is None:
        return configuration_error(ctx, "OCIFT_STAGE is not set; set it to one of "
                                   + ", ".join(s.value for s in Stage))
    module = importlib.import_module(STAGE_MODULES[settings.stage])
    return module.handle(ctx, data)
