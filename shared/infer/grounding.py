"""How well an answer is grounded, read only from what the upstream response carries.

Two sources, both fields of OCI Generative AI Inference's documented responses:

* Cohere chat (``CohereChatResponse.documents`` / ``.citations``): the documents
  the answer is grounded in, and which spans of the text cite which document.
  The local stand-in lists the training example that answered
  (``{"id": "training-example-<n>", "similarity", "floor", "prompt"}``); a
  real endpoint lists documents only when they were part of the request
  (this function sends none), so there the field is usually absent.
* Token log-likelihoods (``GenericChatResponse`` choice ``logprobs``,
  ``GeneratedText.token_likelihoods``), present when the request asked for them:
  ``token_probability`` = exp(mean token log-likelihood), the geometric-mean
  probability of the generated tokens. The local stand-in gives every token
  ln(similarity), so there it equals the match's similarity.

When the upstream gives neither, :func:`from_response` returns None and the
inference response has no ``grounding`` field. Nothing here is logged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from shared.infer.models import Grounding, Source

MAX_SOURCES = 20
MAX_SOURCE_TEXT = 4000


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value[:MAX_SOURCE_TEXT]


def _cited_ids(citations: Iterable[Any] | None) -> set[str]:
    ids: set[str] = set()
    for citation in citations or ():
        raw = (citation.get("documentIds") if isinstance(citation, dict)
               else getattr(citation, "document_ids", None))
        ids.update(i for i in raw or () if isinstance(i, str))
    return ids


def sources_of(documents: Sequence[Any] | None, citations: Iterable[Any] | None) -> list[Source]:
    """The documents an answer cites (all documents when no citation names one of them)."""
    found = []
    for n, doc in enumerate(documents or (), start=1):
        if not isinstance(doc, dict):
            continue
        doc_id = doc.get("id")
        found.append(Source(
            id=doc_id if isinstance(doc_id, str) and doc_id else f"document-{n}",
            similarity=_number(doc.get("similarity")),
            floor=_number(doc.get("floor")),
            prompt=_text(doc.get("prompt"))))
    cited = _cited_ids(citations)
    if cited & {s.id for s in found}:
        found = [s for s in found if s.id in cited]
    return found[:MAX_SOURCES]


def token_probability(log_likelihoods: Iterable[Any] | None) -> float | None:
    """exp(mean of the finite token log-likelihoods), or None when there are none."""
    values = [v for v in (_number(x) for x in log_likelihoods or ()) if v is not None]
    if not values:
        return None
    return min(1.0, math.exp(sum(values) / len(values)))


def from_response(documents: Sequence[Any] | None = None, citations: Iterable[Any] | None = None,
                  log_likelihoods: Iterable[Any] | None = None) -> Grounding | None:
    """The :class:`Grounding` of an answer, or None when the upstream carried nothing."""
    sources = sources_of(documents, citations)
    probability = token_probability(log_likelihoods)
    if not sources and probability is None:
        return None
    similarities = [s.similarity for s in sources if s.similarity is not None]
    floors = [s.floor for s in sources if s.floor is not None]
    return Grounding(
        similarity=max(similarities) if similarities else None,
        floor=floors[0] if floors else None,
        token_probability=None if probability is None else round(probability, 6),
        sources=sources)
