"""The base-model catalogue the emulator serves, with OCI's cluster and method rules.

Values follow the OCI Generative AI documentation pages for each model
("Dedicated AI Cluster for the Model" tables, "Fine-Tuning Hyperparameters",
"Retiring the Models"). They are data: correct them here when OCI changes.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    COHERE_TEXT = "COHERE_LLM"  # generateText with CohereLlmInferenceRequest
    NONE = "NONE"  # embeddings: not served by chat/generateText


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
        name="meta.llama-3.1-70b-instruct",
        vendor="meta",
        version="1.0.0",
        capabilities=("CHAT", "FINE_TUNE"),
        methods=(Method.LORA,),
        api_format=ApiFormat.GENERIC_CHAT,
        hosting=Units("LARGE_GENERIC", 1),
        fine_tuning=Units("LARGE_GENERIC", 2),
        max_prompt_tokens=128_000,
        time_created="2024-07-23T00:00:00Z",
        time_deprecated="2025-02-07T00:00:00Z",
    ),
    BaseModelSpec(
        name="cohere.command",
        vendor="cohere",
        version="15.6",
        capabilities=("TEXT_GENERATION", "TEXT_SUMMARIZATION", "FINE_TUNE"),
        methods=(Method.TFEW, Method.VANILLA),
        api_format=ApiFormat.COHERE_TEXT,
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
        api_format=ApiFormat.COHERE_TEXT,
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

# OCI: a hosting dedicated AI cluster holds up to 50 endpoints (per unit).
ENDPOINTS_PER_HOSTING_UNIT = 50
