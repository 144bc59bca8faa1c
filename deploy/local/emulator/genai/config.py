"""Knobs of the Generative AI emulation (pace, limits, fault switches)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "OCIFT_EMULATOR_GENAI_"

# Freeform tag on CreateModel that makes that model's training fail (fault injection).
FAIL_TRAINING_TAG = "emulator.fail-training"


class GenAiConfig(BaseModel):
    """Pace and limits. Every field can be set by ``OCIFT_EMULATOR_GENAI_<FIELD>``."""

    model_config = ConfigDict(validate_assignment=True)

    provisioning_seconds: float = Field(
        default=2.0, ge=0,
        description="CREATING->ACTIVE (and DELETING->DELETED) delay for clusters, endpoints.")
    seconds_per_epoch: float = Field(
        default=1.0, ge=0, description="Wall time one training epoch takes.")
    min_examples: int = Field(
        default=32, ge=1, description="OCI: at least 32 prompt/completion pairs.")
    max_dataset_bytes: int = Field(
        default=1 << 30, ge=1, description="Emulator limit on a training file.")
    validation_share: float = Field(
        default=0.2, gt=0, lt=1, description="Held-out share (OCI splits 80:20).")
    max_validation_queries: int = Field(
        default=500, ge=1, description="Cap on held-out prompts scored per epoch.")
    index_cache_bytes: int = Field(
        default=128 << 20, ge=1,
        description="Memory for trained retrieval indexes (LRU by bytes; 8 MiB+ a model).")
    fail_training: bool = Field(default=False, description="Make every new training fail.")
    on_demand: bool = Field(
        default=True,
        description="Serve pretrained chat models on demand (OnDemandServingMode). OCI offers "
                    "on-demand serving only in some regions per model (https://docs.oracle."
                    "com/iaas/Content/generative-ai/model-endpoint-regions.htm); false stands "
                    "in for a region that offers it for none.")
    retry_token_ttl_seconds: float = Field(default=24 * 3600, gt=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GenAiConfig:
        """Read overrides from the environment."""
        env = os.environ if environ is None else environ
        values = {
            name: env[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if ENV_PREFIX + name.upper() in env
        }
        return cls.model_validate(values)
