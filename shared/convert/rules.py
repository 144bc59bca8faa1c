"""OCI Generative AI fine-tuning dataset rules, as data.

Sources (checked 2026-11):

* Training data requirements -
  https://docs.oracle.com/iaas/Content/generative-ai/training-data-requirements.htm :
  one JSONL file, UTF-8, each line one JSON object with the two properties
  ``prompt`` and ``completion``; **at least 32** prompt/completion examples;
  **no maximum** number of examples (large sets only train longer); the set is
  split 80:20 into training and validation.
* cohere.command-r-08-2024 -
  https://docs.oracle.com/iaas/Content/generative-ai/cohere-command-r-08-2024.htm :
  a fine-tuned model takes user prompts of up to 16,000 tokens and answers
  with up to 4,000 tokens.
* meta.llama-3.3-70b-instruct -
  https://docs.oracle.com/iaas/Content/generative-ai/meta-llama-3-3-70b.htm :
  prompt + response of up to 128,000 tokens a run.
* Any other name (retired models included, which ``shared.families`` no longer lists)
  gets the conservative defaults: 4,096 tokens.

Token counts are *estimates*: ``ceil(utf8_bytes / 3)``. English averages about
4 characters a token and CJK about 1 character (3 UTF-8 bytes) a token, so the
estimate errs on the high (safe) side; a record near a limit may be rejected
although OCI's tokenizer would have accepted it.
"""

from __future__ import annotations

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from shared.convert.limits import (
    BYTES_PER_TOKEN,
    MAX_RECORD_CHARS,
    TRAINING_DATA_DOC,
    Limits,
    estimate_tokens,
)

__all__ = ["BYTES_PER_TOKEN", "TRAINING_DATA_DOC", "DatasetRules", "estimate_tokens"]


class DatasetRules(BaseModel):
    """Limits a converted dataset must meet for one base-model family."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str | None = None
    family: str = "default"
    min_examples: int = Field(default=32, ge=1)
    max_examples: int | None = Field(default=None, description="OCI documents no maximum")
    max_prompt_tokens: int = Field(default=4_096, gt=0)
    max_completion_tokens: int = Field(default=4_000, gt=0)
    max_example_tokens: int = Field(default=4_096, gt=0, description="prompt + completion")
    bytes_per_token: int = BYTES_PER_TOKEN
    max_record_chars: int = Field(
        default=MAX_RECORD_CHARS, gt=0,
        description="raw JSON text of one record; a longer record is skipped as "
                    "record_too_long without being held in memory (a valid example is "
                    "at most ~0.4 MB even for 128k-token models)")
    drop_duplicates: bool = True
    source_url: str = TRAINING_DATA_DOC

    @classmethod
    def for_base_model(cls, name: str | None) -> DatasetRules:
        """Rules for ``name``'s family (``shared.families``); unknown names get conservative
        defaults."""
        return cls.from_limits(Limits.for_base_model(name))

    @classmethod
    def from_limits(cls, limits: Limits) -> DatasetRules:
        """The validated form of plain ``limits``."""
        return cls.model_validate(msgspec.structs.asdict(limits))

    def limits(self) -> Limits:
        """The plain form the converter reads while it runs."""
        return Limits(**self.model_dump())
