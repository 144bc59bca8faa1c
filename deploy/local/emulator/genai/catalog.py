"""The base-model catalogue the emulator serves, with OCI's cluster and method rules.

Values follow the OCI Generative AI documentation pages for each model
("Dedicated AI Cluster for the Model" tables, "Fine-Tuning Hyperparameters",
"Retiring the Models"). They are data: correct them here when OCI changes.

Sources (searched 2026-12-02):

* clusters and units: "Model Limitations in Generative AI",
  https://docs.oracle.com/iaas/Content/generative-ai/limitations.htm
* dedicated retirement dates: "Model Retirement Dates (Dedicated Mode)",
  https://docs.oracle.com/iaas/Content/generative-ai/deprecating-dedicated.htm
  (cohere.command, cohere.command-light, cohere.command-r-16k, cohere.command-r-plus:
  2025-08-07); on-demand dates: "Model Retirement Dates (On-Demand Mode)",
  https://docs.oracle.com/iaas/Content/generative-ai/deprecating-on-demand.htm
* meta.llama-3.1-70b-instruct is titled "Meta Llama 3.1 (70B) (Retired)"
  (https://docs.oracle.com/iaas/Content/generative-ai/meta-llama-3-1-70b.htm); no
  retirement date was found, so it is not served at all (a stricter stand-in, never a
  more lenient one).
* the dates are what ListModels/GetModel return as ``timeDeprecated`` /
  ``timeOnDemandRetired`` / ``timeDedicatedRetired`` ("Get notified about model retirement
  dates", https://docs.oracle.com/iaas/releasenotes/generative-ai/retire-announcements.htm).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Method(StrEnum):
    """Fine-tuning methods, named by their ``trainingConfigType`` wire value."""

    TFEW = "TFEW_TRAINING_CONFIG"
    VANILLA = "VANILLA_TRAINING_CONFIG"
    LORA = "LORA_TRAINING_CONFIG"


class ApiFormat(StrEnum):
    """Which inference request/response shape a model family speaks."""

    COHERE_CHAT = "COHERE"  # CohereChatRequest / CohereChatResponse
    GENERIC_CHAT = "GENERIC"  # GenericChatRequest / GenericChatResponse (messages/choices)
    LEGACY_TEXT = "COHERE_LLM"  # the removed GenerateText API only: not served by Chat
    NONE = "NONE"  # embeddings: not served by Chat


@dataclass(frozen=True)
class Units:
    """A dedicated AI cluster shape and the unit count a model needs on it."""

    shape: str
    count: int


@dataclass(frozen=True)
class BaseModelSpec:
    """One pretrained base model as listed by ``ListModels``."""

    name: str
    vendor: str
    version: str
    capabilities: tuple[str, ...]
    methods: tuple[Method, ...]
    api_format: ApiFormat
    hosting: Units
    fine_tuning: Units | None
    max_prompt_tokens: int
    time_created: str
    time_deprecated: str | None = None
    time_on_demand_retired: str | None = None
    time_dedicated_retired: str | None = None

    @property
    def custom_capabilities(self) -> list[str]:
        """Capabilities a custom model fine-tuned from this base inherits."""
        return [c for c in self.capabilities if c != "FINE_TUNE"]


CATALOGUE: tuple[BaseModelSpec, ...] = (
    BaseModelSpec(
        name="cohere.command-r-08-2024",
        vendor="cohere",
        version="1.7",
        capabilities=("CHAT", "FINE_TUNE"),
        methods=(Method.TFEW, Method.LORA),
        api_format=ApiFormat.COHERE_CHAT,
        hosting=Units("SMALL_COHERE_V2", 1),
        fine_tuning=Units("SMALL_COHERE_V2", 8),
        max_prompt_tokens=16_000,  # a fine-tuned command-r-08-2024 takes up to 16k prompt tokens
        time_created="2024-09-17T00:00:00Z",
    ),
    BaseModelSpec(
        name="cohere.command-r-16k",
        vendor="cohere",
        version="1.2",
        capabilities=("CHAT", "FINE_TUNE"),
        methods=(Method.TFEW, Method.LORA),
        api_format=ApiFormat.COHERE_CHAT,
        hosting=Units("SMALL_COHERE_V2", 1),
        fine_tuning=Units("SMALL_COHERE_V2", 8),
        max_prompt_tokens=16_000,
        time_created="2024-06-04T00:00:00Z",
        time_deprecated="2024-09-17T00:00:00Z",
        time_on_demand_retired="2025-01-16T00:00:00Z",
        time_dedicated_retired="2025-08-07T00:00:00Z",
    ),
    BaseModelSpec(
        name="meta.llama-3.3-70b-instruct",
        vendor="meta",
        version="1.0.0",
        capabilities=("CHAT", "FINE_TUNE"),
        methods=(Method.LORA,),
        api_format=ApiFormat.GENERIC_CHAT,
        hosting=Units("LARGE_GENERIC", 1),
        fine_tuning=Units("LARGE_GENERIC", 2),
        max_prompt_tokens=128_000,
        time_created="2025-02-07T00:00:00Z",
    ),
    BaseModelSpec(
        name="cohere.command",
        vendor="cohere",
        version="15.6",
        capabilities=("TEXT_GENERATION", "TEXT_SUMMARIZATION", "FINE_TUNE"),
        methods=(Method.TFEW, Method.VANILLA),
        api_format=ApiFormat.LEGACY_TEXT,
        hosting=Units("LARGE_COHERE", 1),
        fine_tuning=Units("LARGE_COHERE", 2),
        max_prompt_tokens=4_096,
        time_created="2024-02-07T00:00:00Z",
        time_deprecated="2024-06-04T00:00:00Z",
        time_on_demand_retired="2024-10-02T00:00:00Z",
        time_dedicated_retired="2025-08-07T00:00:00Z",
    ),
    BaseModelSpec(
        name="cohere.command-light",
        vendor="cohere",
        version="15.6",
        capabilities=("TEXT_GENERATION", "TEXT_SUMMARIZATION", "FINE_TUNE"),
        methods=(Method.TFEW, Method.VANILLA),
        api_format=ApiFormat.LEGACY_TEXT,
        hosting=Units("SMALL_COHERE", 1),
        fine_tuning=Units("SMALL_COHERE", 2),
        max_prompt_tokens=4_096,
        time_created="2024-02-07T00:00:00Z",
        time_deprecated="2024-06-04T00:00:00Z",
        time_on_demand_retired="2024-10-02T00:00:00Z",
        time_dedicated_retired="2025-08-07T00:00:00Z",
    ),
    BaseModelSpec(
        name="cohere.embed-english-v3.0",
        vendor="cohere",
        version="3.0",
        capabilities=("TEXT_EMBEDDINGS",),
        methods=(),
        api_format=ApiFormat.NONE,
        hosting=Units("EMBED_COHERE", 1),
        fine_tuning=None,
        max_prompt_tokens=512,
        time_created="2024-02-07T00:00:00Z",
    ),
)

BY_NAME: dict[str, BaseModelSpec] = {spec.name: spec for spec in CATALOGUE}


def dedicated_retirement(spec: BaseModelSpec, now: float) -> str | None:
    """The day ``spec`` retired for dedicated mode, if that is at or before ``now``.

    "When a model is retired in the dedicated mode, you can no longer create a dedicated
    AI cluster for the retired model" ("About Model Retirement",
    https://docs.oracle.com/iaas/Content/generative-ai/about-retirement.htm).
    """
    if not spec.time_dedicated_retired:
        return None
    when = datetime.fromisoformat(spec.time_dedicated_retired.replace("Z", "+00:00"))
    return spec.time_dedicated_retired[:10] if when.timestamp() <= now else None

# OCI: a hosting dedicated AI cluster holds up to 50 endpoints (per unit).
ENDPOINTS_PER_HOSTING_UNIT = 50
