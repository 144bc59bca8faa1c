"""The dataset rules as plain data: what conversion reads while it runs.

``rules.DatasetRules`` is the validated (pydantic) form the report carries; this is the
same set of fields in a frozen msgspec Struct, so converting imports nothing heavy before the
first byte is read (the pydantic model is built, if at all, once the report is).
"""

from __future__ import annotations

import msgspec

from shared.families import token_limits

TRAINING_DATA_DOC = "https://docs.oracle.com/iaas/Content/generative-ai/training-data-requirements.htm"
BYTES_PER_TOKEN = 3
MAX_RECORD_CHARS = 8 * 1024 * 1024


def estimate_tokens(utf8_bytes: int) -> int:
    """Conservative token estimate for a text of ``utf8_bytes`` UTF-8 bytes."""
    return -(-utf8_bytes // BYTES_PER_TOKEN)


class Limits(msgspec.Struct, frozen=True):
    """The fields of ``DatasetRules`` (same names, defaults and meaning), unvalidated."""

    base_model: str | None = None
    family: str = "default"
    min_examples: int = 32
    max_examples: int | None = None
    max_prompt_tokens: int = 4_096
    max_completion_tokens: int = 4_000
    max_example_tokens: int = 4_096
    bytes_per_token: int = BYTES_PER_TOKEN
    max_record_chars: int = MAX_RECORD_CHARS
    drop_duplicates: bool = True
    source_url: str = TRAINING_DATA_DOC

    @classmethod
    def for_base_model(cls, name: str | None) -> Limits:
        """Limits for ``name``'s family (``shared.families``); unknown names get
        conservative defaults."""
        family, limits = token_limits(name)
        return cls(base_model=name, family=family, max_prompt_tokens=limits.prompt,
                   max_completion_tokens=limits.completion,
                   max_example_tokens=limits.example)
