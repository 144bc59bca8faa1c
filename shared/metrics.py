"""A trained model's metrics as the watcher records them, and said in plain words.

OCI's ``ChatModelMetrics`` / ``TextGenerationModelMetrics`` carry ``final_accuracy``
and ``final_loss`` only. The local stand-in (``deploy/local/emulator/genai``) also
measures a trivial baseline (a random training answer) on the same held-out split
and its similarity floor; it can only hand them over in ``lifecycleDetails``, so
:func:`recorded` reads them back from that sentence when it is there and records
``baseline_accuracy``, ``baseline_loss`` and ``similarity_floor`` beside OCI's two.
A real model's details never match, so its record is OCI's metrics unchanged.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

#: The stand-in's ``lifecycleDetails`` (``trainer._summary``), e.g. "... a random
#: training answer scores 3% (loss 0.93). Prompts matching no training example
#: above similarity 0.30 are declined."
_BASELINE = re.compile(r"a random training answer scores (\d+(?:\.\d+)?)% "
                       r"\(loss (\d+(?:\.\d+)?)\)")
_FLOOR = re.compile(r"above similarity (\d+(?:\.\d+)?) are declined")


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


Number = Annotated[float | None, BeforeValidator(_finite)]


class MetricsView(BaseModel):
    """The metrics fields a status object may hold (snake_case or OCI's camelCase)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    final_accuracy: Number = Field(
        default=None, validation_alias=AliasChoices("final_accuracy", "finalAccuracy"))
    final_loss: Number = Field(
        default=None, validation_alias=AliasChoices("final_loss", "finalLoss"))
    baseline_accuracy: Number = None
    baseline_loss: Number = None
    similarity_floor: Number = None

    @property
    def local_stand_in(self) -> bool:
        """True when the model measured the random-answer baseline (the local stand-in)."""
        return self.baseline_accuracy is not None


def recorded(model: Any) -> dict[str, Any] | None:
    """What the watcher records as ``model_metrics`` for a trained model (None if none)."""
    metrics = getattr(model, "model_metrics", None)
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        result = dict(metrics)
    elif hasattr(metrics, "swagger_types"):
        from oci.util import to_dict

        result = dict(to_dict(metrics))
    else:
        result = dict(vars(metrics))
    result.update(stand_in_extras(getattr(model, "lifecycle_details", None)))
    return result


def stand_in_extras(details: Any) -> dict[str, float]:
    """Baseline and floor from the local stand-in's ``lifecycleDetails`` ({} otherwise)."""
    if not isinstance(details, str):
        return {}
    extras: dict[str, float] = {}
    baseline = _BASELINE.search(details)
    if baseline:
        extras["baseline_accuracy"] = float(baseline.group(1)) / 100
        extras["baseline_loss"] = float(baseline.group(2))
    floor = _FLOOR.search(details)
    if floor:
        extras["similarity_floor"] = float(floor.group(1))
    return extras


def view(metrics: Any) -> MetricsView | None:
    """The readable part of a recorded metrics object, or None if it has none."""
    if not isinstance(metrics, dict):
        return None
    found = MetricsView.model_validate(metrics)
    return None if found.final_accuracy is None and found.final_loss is None else found


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _loss(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def short(metrics: Any) -> str:
    """A table cell: ``accuracy 38% (random 3%), loss 0.55 (random 0.93)`` or ``-``."""
    found = view(metrics)
    if found is None:
        return "-"
    if not found.local_stand_in:
        return f"accuracy {_percent(found.final_accuracy)}, loss {_loss(found.final_loss)}"
    return (f"accuracy {_percent(found.final_accuracy)} (random "
            f"{_percent(found.baseline_accuracy)}), loss {_loss(found.final_loss)} "
            f"(random {_loss(found.baseline_loss)})")


def in_words(metrics: Any) -> str:
    """What the numbers mean, in a sentence or two ("" when there are none)."""
    found = view(metrics)
    if found is None:
        return ""
    if not found.local_stand_in:
        return (f"accuracy {_percent(found.final_accuracy)}: OCI's share of predicted tokens "
                "that matched the validation data (higher is better); loss "
                f"{_loss(found.final_loss)}: how far the predictions were from the validation "
                "data (lower is better)")
    accuracy = found.final_accuracy
    baseline = found.baseline_accuracy
    verdict = ""
    if accuracy is not None and baseline is not None:
        verdict = (" Retrieval helps on this data." if accuracy > baseline
                   else " Retrieval does no better than a random answer on this data.")
    floor = ("" if found.similarity_floor is None else
             f" Questions matching no training example above similarity "
             f"{found.similarity_floor:.2f} are declined.")
    return (f"accuracy {_percent(accuracy)}: of the questions kept out of training (20%), "
            "the share whose answer shares at least half its words with the true answer; "
            f"loss {_loss(found.final_loss)} = 1 - the average word overlap. A random "
            f"training answer scores {_percent(baseline)} (loss {_loss(found.baseline_loss)}) "
            "on the same questions." + verdict + " The local stand-in only answers from its "
            "training examples, so on datasets of distinct questions both are expected to "
            "be low; they are not language-model accuracy or loss." + floor)
