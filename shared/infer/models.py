"""Request and response bodies of ``POST /infer`` (pydantic; unknown fields are refused)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_STOP_SEQUENCES = 5


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class Likelihoods(StrEnum):
    """OCI's ``returnLikelihoods``: none, the generated tokens, or all tokens."""

    NONE = "NONE"
    GENERATION = "GENERATION"
    ALL = "ALL"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: Annotated[str, Field(min_length=1, max_length=200_000)]


class InferRequest(BaseModel):
    """One question: a ``prompt`` or chat ``messages``, playground parameters, a target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Annotated[str | None, Field(min_length=1, max_length=200_000)] = None
    messages: Annotated[list[ChatMessage] | None, Field(min_length=1, max_length=100)] = None
    model: Annotated[str | None, Field(min_length=1, max_length=255)] = None
    endpoint_id: Annotated[str | None, Field(pattern=r"^ocid1\.[a-z0-9.]+\.[^\s]+$",
                                             max_length=255)] = None
    max_tokens: Annotated[int | None, Field(ge=1, le=4000)] = None
    temperature: Annotated[float | None, Field(ge=0, le=5)] = None
    top_p: Annotated[float | None, Field(ge=0, le=1)] = None
    top_k: Annotated[int | None, Field(ge=0, le=500)] = None
    frequency_penalty: Annotated[float | None, Field(ge=-2, le=2)] = None
    presence_penalty: Annotated[float | None, Field(ge=-2, le=2)] = None
    stop_sequences: Annotated[list[Annotated[str, Field(min_length=1)]] | None,
                              Field(max_length=MAX_STOP_SEQUENCES)] = None
    return_likelihoods: Likelihoods = Likelihoods.NONE

    @model_validator(mode="after")
    def _one_input_one_target(self) -> InferRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        if self.messages is not None and self.messages[-1].role is not Role.USER:
            raise ValueError("the last of 'messages' must have role 'user'")
        if self.model is not None and self.endpoint_id is not None:
            raise ValueError("give at most one of 'model' or 'endpoint_id'")
        return self

    @property
    def question(self) -> str:
        """The user's latest text (the prompt, or the last user message)."""
        if self.prompt is not None:
            return self.prompt
        assert self.messages is not None
        return self.messages[-1].content

    @property
    def wants_likelihoods(self) -> bool:
        return self.return_likelihoods is not Likelihoods.NONE


class Usage(BaseModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class TokenLikelihood(BaseModel):
    token: str
    likelihood: float


class LikelihoodInfo(BaseModel):
    likelihood: float | None = None  # whole generation (log-likelihood)
    tokens: list[TokenLikelihood] = Field(default_factory=list)


class ModelRef(BaseModel):
    name: str | None = None  # the dataset / custom model name
    id: str
    version: str | None = None


class Source(BaseModel):
    """A document the upstream says the answer is grounded in (Cohere chat ``documents``).

    On the local stand-in: the training example that answered (``id``
    ``training-example-<n>``, counted from 1 in the training file, or
    ``none-close-enough`` when it declined), its similarity score (0..1, the
    blend of prompt and completion cosine similarity the model was trained to
    use), the model's similarity floor, and the example's prompt.
    """

    id: str
    similarity: float | None = None
    floor: float | None = None
    prompt: str | None = None


class Grounding(BaseModel):
    """How close the match was and what answered, as far as the upstream response says.

    Absent from :class:`InferResponse` when the upstream carries neither documents
    nor token log-likelihoods (a real OCI endpoint asked without documents or
    ``return_likelihoods``). See ``shared/infer/grounding.py``.
    """

    similarity: float | None = None  # best similarity among the cited documents
    floor: float | None = None  # below it the local stand-in declines to answer
    token_probability: float | None = None  # exp(mean token log-likelihood)
    sources: list[Source] = Field(default_factory=list)


class InferResponse(BaseModel):
    text: str
    finish_reason: str | None = None
    likelihoods: LikelihoodInfo | None = None
    grounding: Grounding | None = None
    usage: Usage = Field(default_factory=Usage)
    model: ModelRef
    endpoint_id: str


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
