"""Base-model families: the one table every stage reads.

Conversion (token limits), training (methods, fine-tuning cluster shape and
units, default hyperparameters), hosting (cluster shape, whether T-Few versions
stack on one cluster) and inference (request API shape) all look a base model
up here, so the rules cannot disagree.

Sources (checked 2026-11):

* Matching base models to clusters and the cluster unit counts -
  https://docs.oracle.com/iaas/Content/generative-ai/ai-cluster.htm
* Fine-tuning methods and hyperparameter defaults -
  https://docs.oracle.com/iaas/Content/generative-ai/fine-tuning-parameters.htm
* Training data requirements (prompt/completion token limits per model) -
  https://docs.oracle.com/iaas/Content/generative-ai/training-data-requirements.htm ,
  https://docs.oracle.com/iaas/Content/generative-ai/cohere-command-r-08-2024.htm ,
  https://docs.oracle.com/iaas/Content/generative-ai/meta-llama-3-3-70b.htm
* Inference request shapes (``CohereChatRequest``, ``GenericChatRequest``,
  ``CohereLlmInferenceRequest``) - the Generative AI Inference API reference,
  https://docs.oracle.com/iaas/api/#/en/generative-ai-inference/20231130/
"""

from __future__ import annotations

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
    """Which inference request a model takes."""

    COHERE_CHAT = "cohere_chat"
    GENERIC_CHAT = "generic_chat"
    COHERE_TEXT = "cohere_text"


class TokenLimits(msgspec.Struct, frozen=True):
    prompt: int = 4_096
    completion: int = 4_000
    example: int = 4_096  # prompt + completion


DEFAULT_LIMITS = TokenLimits()


class Family(msgspec.Struct, frozen=True):
    """Everything the pipeline knows about one base-model family."""

    key: str  # tags, cluster names and reports use this
    patterns: tuple[str, ...]  # lower-case name prefixes; the longest match wins
    api_shape: ApiShape
    limits: TokenLimits = DEFAULT_LIMITS
    methods: tuple[TrainingMethod, ...] = ()  # empty: not fine-tunable
    finetuning_shape: str = ""
    finetuning_units: int = 0
    hosting_shape: str = ""
    learning_rate: dict[TrainingMethod, float] = msgspec.field(default_factory=dict)
    batch_size: dict[TrainingMethod, int] = msgspec.field(default_factory=dict)
    stackable_tfew: bool = False  # T-Few versions may share one hosting cluster

    @property
    def fine_tunable(self) -> bool:
        return bool(self.methods)


_TFEW, _VANILLA, _LORA = TrainingMethod.TFEW, TrainingMethod.VANILLA, TrainingMethod.LORA


def _command_r(pattern: str, limits: TokenLimits) -> Family:
    return Family("cohere.command-r", (pattern,), ApiShape.COHERE_CHAT, limits,
                  methods=(_TFEW, _LORA), finetuning_shape="SMALL_COHERE_V2",
                  finetuning_units=8, hosting_shape="SMALL_COHERE_V2",
                  learning_rate={_TFEW: 0.01, _LORA: 0.0002}, batch_size={_TFEW: 16, _LORA: 8})


def _command_legacy(key: str, shape: str) -> Family:
    return Family(key, (key,), ApiShape.COHERE_TEXT, TokenLimits(4_096, 4_000, 4_096),
                  methods=(_TFEW, _VANILLA), finetuning_shape=shape, finetuning_units=2,
                  hosting_shape=shape, learning_rate={_TFEW: 0.01, _VANILLA: 0.00006},
                  batch_size={_TFEW: 8, _VANILLA: 8}, stackable_tfew=True)


FAMILIES: tuple[Family, ...] = (
    _command_r("cohere.command-r", TokenLimits(16_000, 4_000, 20_000)),
    _command_r("cohere.command-r-16k", TokenLimits(16_000, 4_000, 16_000)),
    Family("cohere.command-a", ("cohere.command-a",), ApiShape.COHERE_CHAT),  # not fine-tunable
    _command_legacy("cohere.command-light", "SMALL_COHERE"),
    _command_legacy("cohere.command", "LARGE_COHERE"),
    Family("cohere", ("cohere.",), ApiShape.COHERE_CHAT),  # embed, rerank...: chat shape if asked
    Family("meta.llama", ("meta.llama-",), ApiShape.GENERIC_CHAT,
           TokenLimits(128_000, 128_000, 128_000), methods=(_LORA,),
           finetuning_shape="LARGE_GENERIC", finetuning_units=2, hosting_shape="LARGE_GENERIC",
           learning_rate={_LORA: 0.0002}, batch_size={_LORA: 8}),
)


def lookup(base_model: str | None) -> Family | None:
    """The family of ``base_model`` (longest matching name prefix, or its key), if any."""
    name = (base_model or "").strip().lower()
    if not name:
        return None
    best: tuple[int, Family] | None = None
    for family in FAMILIES:
        for pattern in (*family.patterns, family.key):
            matched = name == pattern or (pattern in family.patterns and name.startswith(pattern))
            if matched and (best is None or len(pattern) > best[0]):
                best = (len(pattern), family)
    return best[1] if best else None


def fine_tunable() -> tuple[Family, ...]:
    """Families the pipeline can fine-tune, one entry per key."""
    seen: dict[str, Family] = {}
    for family in FAMILIES:
        if family.fine_tunable:
            seen.setdefault(family.key, family)
    return tuple(seen.values())


def api_shape(base_model: str) -> ApiShape:
    """The inference request shape for ``base_model`` (generic chat for unknown models)."""
    family = lookup(base_model)
    return family.api_shape if family else ApiShape.GENERIC_CHAT


def token_limits(base_model: str | None) -> tuple[str, TokenLimits]:
    """``(family key, limits)`` for conversion; unknown models get conservative defaults."""
    family = lookup(base_model)
    if family is None or not family.fine_tunable:
        return "default", DEFAULT_LIMITS
    return family.key, family.limits
