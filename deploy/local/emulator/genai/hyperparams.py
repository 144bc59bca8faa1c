"""Fine-tuning hyperparameters: OCI's defaults and valid ranges, per method and family.

Ranges follow OCI's "Fine-Tuning Hyperparameters" page
(https://docs.oracle.com/iaas/Content/generative-ai/fine-tuning-parameters.htm; the
meta.llama-3.3-70b-instruct table re-checked 2026-12-02, the command-r table carried from
2026-11, see ``shared/families.py``). The retired ``cohere.command(-light)`` tables are
gone: CreateModel refuses those base models before their hyperparameters matter. A value outside its
range is a 400 InvalidParameter, as the service answers. Missing values take
the documented default, and the model echoes the completed configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from deploy.local.emulator.genai.catalog import BaseModelSpec, Method
from deploy.local.emulator.genai.errors import invalid_parameter


@dataclass(frozen=True)
class Param:
    """One hyperparameter: wire name, default, inclusive bounds and whether it is an int."""

    name: str
    default: float
    low: float
    high: float
    integer: bool = True
    preset: bool = False  # OCI fixes the value; a different one is rejected


def _common(
    epochs: tuple[int, int, int],
    lr: tuple[float, float, float],
    batch: tuple[int, int, int],
    patience: tuple[int, int, int],
    threshold: tuple[float, float, float],
    log_interval: int,
) -> list[Param]:
    return [
        Param("totalTrainingEpochs", *epochs),
        Param("learningRate", *lr, integer=False),
        Param("trainingBatchSize", *batch),
        Param("earlyStoppingPatience", *patience),
        Param("earlyStoppingThreshold", *threshold, integer=False),
        Param("logModelMetricsIntervalInSteps", log_interval, log_interval, log_interval,
              preset=True),
    ]


_LORA_EXTRA = [
    Param("loraR", 8, 1, 64),
    Param("loraAlpha", 8, 1, 128),
    Param("loraDropout", 0.1, 0.0, 0.999, integer=False),
]

_UNBOUNDED = 1_000_000.0

# (family prefix, method) -> parameters. Longest matching prefix wins.
_TABLE: dict[tuple[str, Method], list[Param]] = {
    ("cohere.command-r", Method.TFEW): _common(
        (1, 1, 10), (0.01, 0.000005, 0.1), (16, 8, 32), (10, 0, 16), (0.001, 0.001, 0.1), 1),
    ("cohere.command-r", Method.LORA): [
        *_common((1, 1, 10), (0.0002, 0.000005, 0.1), (8, 8, 16), (15, 0, 16),
                 (0.0001, 0.0001, 0.1), 1),
        *_LORA_EXTRA,
    ],
    ("meta.llama", Method.LORA): [
        *_common((3, 1, int(_UNBOUNDED)), (0.0002, 0.0, 1.0), (8, 8, 16),
                 (15, 0, int(_UNBOUNDED)), (0.0001, 0.0, _UNBOUNDED), 10),
        *_LORA_EXTRA,
    ],
}


def params_for(spec: BaseModelSpec, method: Method) -> list[Param]:
    """The parameter table for ``method`` on ``spec``'s family."""
    matches = [(fam, m) for (fam, m) in _TABLE if m is method and spec.name.startswith(fam)]
    if not matches:
        raise invalid_parameter(
            f"Training method {method.value} is not supported for base model {spec.name}.")
    return _TABLE[max(matches, key=lambda key: len(key[0]))]


def complete_config(spec: BaseModelSpec, config: dict[str, Any] | None) -> dict[str, Any]:
    """Validate ``config`` (wire dict or None) for ``spec`` and fill in the defaults."""
    if spec.fine_tuning is None or not spec.methods:
        raise invalid_parameter(f"Base model {spec.name} does not support fine-tuning.")
    raw = dict(config or {})
    type_name = raw.get("trainingConfigType") or spec.methods[0].value
    try:
        method = Method(type_name)
    except ValueError:
        raise invalid_parameter(f"Unknown trainingConfigType {type_name!r}.") from None
    if method not in spec.methods:
        allowed = ", ".join(m.value for m in spec.methods)
        raise invalid_parameter(
            f"Training method {method.value} is not supported for base model {spec.name}; "
            f"supported: {allowed}.")
    done: dict[str, Any] = {"trainingConfigType": method.value}
    for param in params_for(spec, method):
        value = raw.get(param.name)
        done[param.name] = _check(param, value)
    return done


def _check(param: Param, value: Any) -> int | float:
    if value is None:
        return int(param.default) if param.integer else float(param.default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid_parameter(f"{param.name} must be a number.")
    if param.integer and float(value) != int(value):
        raise invalid_parameter(f"{param.name} must be an integer.")
    if param.preset and value != param.default:
        raise invalid_parameter(f"{param.name} is preset to {param.default:g} for this model.")
    if not param.low <= value <= param.high:
        raise invalid_parameter(
            f"{param.name} must be between {param.low:g} and {param.high:g}; got {value:g}.")
    return int(value) if param.integer else float(value)
