"""Base-model families: the one table every stage reads, as OCI offers them today (2026-12).

Conversion (token limits), training (methods, fine-tuning cluster shape and units,
hyperparameter defaults and documented ranges), hosting (cluster shape, whether
versions stack on one cluster) and inference (the Chat request shape) all look a base
model up here, so the rules cannot disagree.

Rows name OCI models **exactly**: a name prefix would admit models OCI does not
fine-tune (``cohere.command-r-plus*`` is "Not available for fine-tuning" on the Model
Limitations page; ``meta.llama-4-*`` is not listed for fine-tuning). Retired base models
(``cohere.command``, ``cohere.command-light``, ``cohere.command-r-16k``,
``meta.llama-3.1-70b-instruct``: "Model Retirement Dates (Dedicated Mode)",
https://docs.oracle.com/iaas/Content/generative-ai/deprecating-dedicated.htm) are not
rows; whether a listed model is deprecated or retired *now* is read from the service's
own ``time_deprecated`` / ``time_dedicated_retired`` at run time (``shared.base_model_lifecycle``),
never from this table.

Sources (searched 2026-12-02):

* [LIMITS] "Model Limitations in Generative AI" (matching base models to clusters, unit
  counts, "Not available for fine-tuning", stack serving) -
  https://docs.oracle.com/iaas/Content/generative-ai/limitations.htm
* [HYPER] "Fine-Tuning Hyperparameters in Generative AI" -
  https://docs.oracle.com/iaas/Content/generative-ai/fine-tuning-parameters.htm
* [METHOD] "Selecting a Fine-Tuning Method in Generative AI" -
  https://docs.oracle.com/iaas/Content/generative-ai/choose-method.htm
* [DATA] "Training data requirements" and the model pages -
  https://docs.oracle.com/iaas/Content/generative-ai/training-data-requirements.htm ,
  https://docs.oracle.com/iaas/Content/generative-ai/cohere-command-r-08-2024.htm ,
  https://docs.oracle.com/iaas/Content/generative-ai/meta-llama-3-3-70b.htm
* [RETIRE] "Model Retirement Dates (Dedicated Mode)" (suggested replacements) -
  https://docs.oracle.com/iaas/Content/generative-ai/deprecating-dedicated.htm
* [CHAT] GenerateText / SummarizeText are unavailable from 2026-06-26; "Use the Chat API"
  ("Deprecated APIs in OCI Generative AI", release notes) -
  https://docs.oracle.com/iaas/releasenotes/generative-ai/deprecate-api-05292025.htm
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

import msgspec


class TrainingMethod(StrEnum):
    """Fine-tuning method; ``auto`` follows OCI's guidance by dataset size and base model.

    Defined here (``shared.settings`` re-exports it) so that reading the families, as
    conversion does, imports no pydantic."""

    AUTO = "auto"
    TFEW = "TFEW"
    VANILLA = "VANILLA"
    LORA = "LORA"


class ApiShape(StrEnum):
    """Which Chat request a model takes (the Chat API is the only inference API [CHAT])."""

    COHERE_CHAT = "cohere_chat"
    GENERIC_CHAT = "generic_chat"


class TokenLimits(msgspec.Struct, frozen=True):
    prompt: int = 4_096
    completion: int = 4_000
    example: int = 4_096  # prompt + completion


DEFAULT_LIMITS = TokenLimits()


class Range(msgspec.Struct, frozen=True):
    """A documented inclusive range; ``None`` for an unbounded side."""

    low: float | None
    high: float | None

    def admits(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def text(self) -> str:
        if self.high is None:
            return f">= {self.low:g}"
        return f"{self.low:g} to {self.high:g}"


class Hyper(msgspec.Struct, frozen=True):
    """One method's hyperparameters on one family: defaults and documented ranges [HYPER]."""

    learning_rate: float
    batch_size: int
    learning_rate_range: Range
    batch_size_range: Range
    epochs_range: Range
    patience_range: Range
    source: str  # where the ranges come from (or why they are carried over)
    threshold_range: Range = Range(0.0, None)  # early stopping threshold
    # LoRA only (empty for other methods): rank, alpha, dropout [HYPER].
    lora_r_range: Range | None = None
    lora_alpha_range: Range | None = None
    lora_dropout_range: Range | None = None


class Family(msgspec.Struct, frozen=True):
    """Everything the pipeline knows about one base-model family."""

    key: str  # tags, cluster names and reports use this
    models: tuple[str, ...]  # exact lower-case OCI model names of this row
    api_shape: ApiShape
    limits: TokenLimits = DEFAULT_LIMITS
    hyper: dict[TrainingMethod, Hyper] = msgspec.field(default_factory=dict)  # empty: not tunable
    finetuning_shape: str = ""
    finetuning_units: int = 0
    hosting_shape: str = ""
    stackable_tfew: bool = False  # T-Few versions may share one hosting cluster
    vendor_prefix: str = ""  # names starting with it that are *not* rows: shape only, no tuning
    replacement: str = ""  # the current fine-tunable model suggested for a retired one
    source: str = ""

    @property
    def methods(self) -> tuple[TrainingMethod, ...]:
        return tuple(self.hyper)

    @property
    def fine_tunable(self) -> bool:
        return bool(self.hyper)

    @property
    def learning_rate(self) -> dict[TrainingMethod, float]:
        return {m: h.learning_rate for m, h in self.hyper.items()}

    @property
    def batch_size(self) -> dict[TrainingMethod, int]:
        return {m: h.batch_size for m, h in self.hyper.items()}


_TFEW, _LORA = TrainingMethod.TFEW, TrainingMethod.LORA
_LIMITS_URL = "https://docs.oracle.com/iaas/Content/generative-ai/limitations.htm"
_HYPER_URL = "https://docs.oracle.com/iaas/Content/generative-ai/fine-tuning-parameters.htm"
METHOD_URL = "https://docs.oracle.com/iaas/Content/generative-ai/choose-method.htm"

# cohere.command-r-08-2024 [LIMITS]: fine-tuning "Small Cohere V2, Required Units: 8",
# hosting "Small Cohere V2, Required Units: 1" (limit dedicated-unit-small-cohere-count).
# Methods T-Few and LoRA [METHOD]. Prompt up to 16,000 tokens, response 4,000 when
# fine-tuned [DATA: cohere-command-r-08-2024.htm, "Key Features"].
# Hyperparameter ranges: NOT FOUND in today's search of [HYPER] (the search returned only
# the Llama 3.3 table); the figures below are the ones this project carried from that page
# in 2026-11 (and the emulator enforces the same) - re-check them against [HYPER]. The early
# stopping threshold and LoRA r/alpha/dropout ranges are the emulator's 2026-11 figures too.
_COMMAND_R_UNVERIFIED = f"{_HYPER_URL} (command-r table not re-found 2026-12-02; 2026-11 figures)"
COMMAND_R_08_2024 = Family(
    "cohere.command-r", ("cohere.command-r-08-2024",), ApiShape.COHERE_CHAT,
    TokenLimits(16_000, 4_000, 20_000),
    hyper={
        _TFEW: Hyper(0.01, 16, Range(0.000005, 0.1), Range(8, 32), Range(1, 10), Range(0, 16),
                     _COMMAND_R_UNVERIFIED, threshold_range=Range(0.001, 0.1)),
        _LORA: Hyper(0.0002, 8, Range(0.000005, 0.1), Range(8, 16), Range(1, 10), Range(0, 16),
                     _COMMAND_R_UNVERIFIED, threshold_range=Range(0.0001, 0.1),
                     lora_r_range=Range(1, 64), lora_alpha_range=Range(1, 128),
                     lora_dropout_range=Range(0.0, 0.999)),
    },
    finetuning_shape="SMALL_COHERE_V2", finetuning_units=8, hosting_shape="SMALL_COHERE_V2",
    vendor_prefix="cohere.", replacement="cohere.command-r-08-2024", source=_LIMITS_URL)

# meta.llama-3.3-70b-instruct: "available for on-demand inferencing, dedicated hosting, and
# fine-tuning" [DATA: meta-llama-3-3-70b.htm]; LoRA only [METHOD]. [HYPER] table for
# meta.llama-3.3-70b-instruct (LoRA): epochs "integer >= 1" (default 3), learning rate
# "0 to 1.0" (default 0.0002), training batch size "integer from 8 to 16" (default 8),
# early stopping patience "0 to disable, integer >= 1" (default 15), early stopping threshold
# "0 or a positive number" (default 0.0001), LoRA r "integer from 1 to 64" (default 8).
# LoRA alpha and LoRA dropout: the rows were cut from today's search excerpt; 1 to 128 and
# 0 to 0.999 are the figures the emulator carried from that page (re-check them). Cluster shape: the
# [LIMITS] rows found for Meta Llama 3 / 3.1 70B read fine-tuning "Large Generic, Required
# Units: 2", hosting "Large Generic, Required Units: 1"; the 3.3 row itself was not in the
# search excerpt (same 70B size and shape family).
LLAMA_3_3_70B = Family(
    "meta.llama", ("meta.llama-3.3-70b-instruct",), ApiShape.GENERIC_CHAT,
    TokenLimits(128_000, 128_000, 128_000),
    hyper={_LORA: Hyper(0.0002, 8, Range(0.0, 1.0), Range(8, 16), Range(1, None),
                        Range(0, None), f"{_HYPER_URL} (meta.llama-3.3-70b-instruct table)",
                        threshold_range=Range(0.0, None), lora_r_range=Range(1, 64),
                        lora_alpha_range=Range(1, 128), lora_dropout_range=Range(0.0, 0.999))},
    finetuning_shape="LARGE_GENERIC", finetuning_units=2, hosting_shape="LARGE_GENERIC",
    vendor_prefix="meta.", replacement="meta.llama-3.3-70b-instruct", source=_LIMITS_URL)

FAMILIES: tuple[Family, ...] = (COMMAND_R_08_2024, LLAMA_3_3_70B)


def lookup(base_model: str | None) -> Family | None:
    """The row naming ``base_model`` exactly (or by its family key), if any."""
    name = (base_model or "").strip().lower()
    if not name:
        return None
    for family in FAMILIES:
        if name in family.models or name == family.key:
            return family
    return None


def vendor_of(base_model: str | None) -> Family | None:
    """The row of ``base_model``'s vendor (``cohere.``, ``meta.``) even when it is not a row.

    Used for the Chat request shape and the suggested replacement only: a model found
    this way is never fine-tuned.
    """
    name = (base_model or "").strip().lower()
    return lookup(name) or next((f for f in FAMILIES if f.vendor_prefix
                                 and name.startswith(f.vendor_prefix)), None)


def fine_tunable() -> tuple[Family, ...]:
    """Families the pipeline can fine-tune."""
    return tuple(f for f in FAMILIES if f.fine_tunable)


def replacement_for(base_model: str | None) -> str:
    """The current fine-tunable model to suggest instead of ``base_model``.

    [RETIRE] suggests cohere.command-r-08-2024 for cohere.command-r-16k (and, on the
    on-demand page, for cohere.command-light); Meta's retired 70B models are succeeded by
    meta.llama-3.3-70b-instruct, the one Meta model offered for fine-tuning today.
    """
    family = vendor_of(base_model)
    if family is not None:
        return family.replacement
    return ", ".join(f.models[0] for f in FAMILIES)


def api_shape(base_model: str) -> ApiShape:
    """The Chat request shape for ``base_model`` (generic chat for unknown vendors)."""
    family = vendor_of(base_model)
    return family.api_shape if family else ApiShape.GENERIC_CHAT


def token_limits(base_model: str | None) -> tuple[str, TokenLimits]:
    """``(family key, limits)`` for conversion; unknown models get conservative defaults."""
    family = lookup(base_model)
    if family is None or not family.fine_tunable:
        return "default", DEFAULT_LIMITS
    return family.key, family.limits


#: Hyperparameters a job may set (``shared.jobspec``), in the order reports list them.
HYPERPARAMETERS = ("epochs", "learning_rate", "batch_size", "early_stopping_patience",
                   "early_stopping_threshold", "lora_r", "lora_alpha", "lora_dropout")


def env_key(name: str) -> str:
    """The pipeline configuration key of hyperparameter ``name`` (``OCIFT_EPOCHS``)."""
    return f"OCIFT_{name.upper()}"


def ranges(family: Family, method: TrainingMethod) -> dict[str, Range]:
    """OCI's documented range of every hyperparameter ``method`` takes on ``family``."""
    hyper = family.hyper[method]
    out = {"epochs": hyper.epochs_range, "learning_rate": hyper.learning_rate_range,
           "batch_size": hyper.batch_size_range, "early_stopping_patience": hyper.patience_range,
           "early_stopping_threshold": hyper.threshold_range}
    lora = {"lora_r": hyper.lora_r_range, "lora_alpha": hyper.lora_alpha_range,
            "lora_dropout": hyper.lora_dropout_range}
    out.update({name: rng for name, rng in lora.items() if rng is not None})
    return out


def check_hyperparameters(family: Family, method: TrainingMethod,
                          values: Mapping[str, float | None],
                          key: Callable[[str], str] = env_key) -> None:
    """Raise ``ValueError`` naming each key (``key(name)``), its value and OCI's documented
    range for ``method`` on ``family`` when a value is out of range or not taken by it."""
    hyper = family.hyper[method]
    allowed = ranges(family, method)
    bad = []
    for name, value in values.items():
        if value is None:
            continue
        rng = allowed.get(name)
        if rng is None:
            bad.append(f"{key(name)}={value:g} is not a {method.value} hyperparameter "
                       "(LoRA only)")
        elif not rng.admits(value):
            bad.append(f"{key(name)}={value:g} is outside {rng.text()}" if rng.high is not None
                       else f"{key(name)}={value:g} must be {rng.text()}")
    if bad:
        raise ValueError(f"{'; '.join(bad)} (OCI's range for {method.value} on "
                         f"{family.models[0]}: {hyper.source})")
