"""The stand-in "fine-tuned model": TF-IDF retrieval over the training pairs.

It is honest about what it is: given a prompt it finds the training prompts
most alike (cosine similarity of sublinear TF-IDF vectors) and answers with
that example's completion. It does not generate new text. Below a similarity
floor (chosen on the held-out split, see :mod:`.training`) it says that no
training example is close enough instead of answering.

Vectorised with scikit-learn's ``HashingVectorizer`` (terms hashed into 2**20
columns: no vocabulary to hold, chunks vectorised independently) and scipy
sparse products: the index is the transposed TF-IDF matrix, an inverted index
whose product with a batch of query vectors scores every training prompt at
once. The completion blend re-ranks the best ``RERANK`` prompt matches by a
weighted similarity to their completions. Only the local target installs these
libraries (the ``local`` extra), never the function image.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from deploy.local.emulator.genai.dataset import Pair
from deploy.local.emulator.genai.pairs import PairFile, PairList, PairSource

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)

#: A word in more than this share of the training pairs says little about what a question
#: asks ("what", "is", "the" in a finance dataset); rarer words and words never seen do.
COMMON_SHARE = 0.05
#: The answering example must contain at least this share of the question's informative
#: words (IDF-weighted; a word never seen in training weighs the most). A question that
#: shares one common word with a training prompt is declined however short it is, while a
#: training prompt always covers itself (issue 27).
MIN_COVERAGE = 0.6

_WORD = re.compile(r"(?u)\w+")  # the tokens of _HASHER's token_pattern
N_FEATURES = 1 << 20
RERANK = 32  # prompt matches re-scored with the completion blend
BATCH_BUDGET = 4_000_000  # candidate scores computed at once by a batched search
_HASHER = HashingVectorizer(n_features=N_FEATURES, alternate_sign=False, norm=None,
                            token_pattern=r"(?u)\w+", dtype=np.float32)  # noqa: S106

Matrix: TypeAlias = sparse.csr_matrix
Floats = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]


def words(text: str) -> list[str]:
    """Lower-cased word terms used for matching and for token-F1."""
    return [w.lower() for w in _WORD.findall(text)]


def approx_tokens(text: str) -> list[str]:
    """Approximate tokens (words and punctuation marks) for counts and truncation."""
    return _TOKEN.findall(text)


def token_f1(candidate: str, reference: str) -> float:
    """Token-level F1 of word multisets (1.0 for an exact match, 0 if disjoint)."""
    cand, ref = Counter(words(candidate)), Counter(words(reference))
    if not cand and not ref:
        return 1.0
    overlap = sum((cand & ref).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(cand.values())
    recall = overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def token_f1_rows(candidates: Matrix, references: Matrix) -> npt.NDArray[np.float64]:
    """:func:`token_f1` of each row pair of two term-count matrices (hashed terms)."""
    overlap = np.asarray(candidates.minimum(references).sum(axis=1), dtype=np.float64).ravel()
    total = (np.asarray(candidates.sum(axis=1), dtype=np.float64).ravel()
             + np.asarray(references.sum(axis=1), dtype=np.float64).ravel())
    f1 = np.divide(2 * overlap, total, out=np.ones_like(overlap), where=total > 0)
    return f1


def term_counts(texts: Iterable[str]) -> Matrix:
    """Term counts of ``texts``, one row each (hashed columns, float32)."""
    batch = list(texts)
    if not batch:
        return sparse.csr_matrix((0, N_FEATURES), dtype=np.float32)
    counts: Matrix = _HASHER.transform(batch)
    return counts


def documents_per_term(rows: Matrix) -> npt.NDArray[np.int64]:
    """How many rows contain each term."""
    return np.bincount(rows.indices, minlength=N_FEATURES).astype(np.int64)


def idf_of(term_docs: npt.NDArray[np.int64], n_docs: int) -> Floats:
    """Smoothed IDF; terms no document contains weigh 0 (a query term never seen is ignored)."""
    idf = (np.log((n_docs + 1) / (term_docs + 1)) + 1.0).astype(np.float32)
    idf[term_docs == 0] = 0.0
    return idf


def tfidf(counts: Matrix, idf: Floats) -> Matrix:
    """Unit-length sublinear TF-IDF rows of ``counts``."""
    weights = counts.astype(np.float32, copy=True)
    weights.data = (1.0 + np.log(weights.data)) * idf[weights.indices]
    weights.eliminate_zeros()
    if not weights.shape[0]:
        return weights
    normalised: Matrix = normalize(weights, copy=False)
    return normalised


@dataclass(frozen=True)
class Hit:
    """A retrieved training example and its similarity score in [0, 1]."""

    index: int
    score: float


@dataclass(frozen=True)
class Candidates:
    """The best prompt matches of one query: training rows and their prompt similarity."""

    rows: Ids
    prompt_scores: Floats


class RetrievalIndex:
    """An inverted TF-IDF index over the prompts of the training pairs."""

    def __init__(self, pairs: PairSource, postings: Matrix, idf: Floats,
                 completion_weight: float = 0.0, floor: float = 0.0) -> None:
        self.pairs = pairs
        self.postings = postings  # terms x pairs
        self.idf = idf
        self.completion_weight = completion_weight
        self.floor = floor

    @classmethod
    def from_prompts(cls, pairs: PairSource, prompt_counts: Matrix, idf: Floats,
                     completion_weight: float = 0.0, floor: float = 0.0) -> RetrievalIndex:
        """Index ``pairs`` whose prompt term counts are ``prompt_counts``."""
        postings = tfidf(prompt_counts, idf).T.tocsr()
        return cls(pairs, postings, idf, completion_weight, floor)

    @classmethod
    def from_pairs(cls, pairs: Sequence[Pair], completion_weight: float = 0.0,
                   floor: float = 0.0) -> RetrievalIndex:
        """Index pairs held in memory (IDF over their prompts and completions)."""
        prompts = term_counts(p.prompt for p in pairs)
        both = prompts + term_counts(p.completion for p in pairs)
        idf = idf_of(documents_per_term(both), len(pairs))
        return cls.from_prompts(PairList(pairs), prompts, idf, completion_weight, floor)

    # ---------------------------------------------------------------- searching

    def vectors(self, texts: Iterable[str]) -> Matrix:
        """Query vectors of ``texts`` in this index's TF-IDF space."""
        return tfidf(term_counts(texts), self.idf)

    def candidates(self, queries: Matrix, k: int) -> Iterator[Candidates]:
        """The ``k`` best prompt matches of each query row, best first, batched by work."""
        lengths = np.diff(self.postings.indptr)
        total = np.concatenate(([0], np.cumsum(lengths[queries.indices], dtype=np.int64)))
        work = total[queries.indptr[1:]] - total[queries.indptr[:-1]]
        start = 0
        while start < queries.shape[0]:
            stop, budget = start + 1, int(work[start])
            while stop < queries.shape[0] and budget + int(work[stop]) <= BATCH_BUDGET:
                budget += int(work[stop])
                stop += 1
            scores: Matrix = (queries[start:stop] @ self.postings).tocsr()
            for row in range(stop - start):
                lo, hi = scores.indptr[row], scores.indptr[row + 1]
                yield _top(scores.indices[lo:hi].astype(np.int64), scores.data[lo:hi], k)
            start = stop

    def completion_scores(self, query: Matrix, rows: Ids) -> Floats:
        """Similarity of one query vector to the completions of ``rows``."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        completions = self.vectors(p.completion for p in self.pairs.take(rows))
        scores: Floats = np.asarray((completions @ query.T).todense()).ravel()
        return scores.astype(np.float32)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best examples for ``query``, best first (empty if nothing matches)."""
        vector = self.vectors([query])
        if not vector.nnz:
            return []
        found = next(self.candidates(vector, max(k, RERANK)))
        scores = found.prompt_scores
        blend = self.completion_weight
        if blend > 0:
            scores = (1 - blend) * scores + blend * self.completion_scores(vector, found.rows)
        ranked = _top(found.rows, scores, k)
        return [Hit(int(row), min(1.0, float(score)))
                for row, score in zip(ranked.rows, ranked.prompt_scores, strict=True)
                if score > 0]

    def coverage(self, query: str, pair: Pair) -> float:
        """The IDF-weighted share of ``query``'s informative words that ``pair`` contains.

        Informative: seen in at most :data:`COMMON_SHARE` of the pairs, or never seen (those
        weigh what a word of one pair would, and the pair cannot contain them); a number is
        never informative (it picks an instance of what is asked). A query with no
        informative word (only common words) is fully covered: the floor decides alone.
        """
        columns = np.unique(term_counts([query]).indices)
        if not len(columns):
            return 0.0
        numbers = [word for word in _WORD.findall(query) if word.isdigit()]
        if numbers:  # which instance a question asks about, not what it asks: never
            # informative ("ratio number 7" is the template of "ratio number 8")
            columns = np.setdiff1d(columns, term_counts([" ".join(numbers)]).indices)
            if not len(columns):
                return 1.0
        n = max(len(self.pairs), 1)
        unseen = float(np.log((n + 1) / 2) + 1.0)
        common = float(np.log((n + 1) / (COMMON_SHARE * n + 1)) + 1.0)
        idf = self.idf[columns].astype(np.float64)
        informative = (idf == 0) | (idf >= common)
        if not informative.any():
            return 1.0
        weights = np.where(idf == 0, unseen, idf)[informative]
        present = np.unique(term_counts([f"{pair.prompt}\n{pair.completion}"]).indices)
        covered = np.isin(columns[informative], present)
        return float(weights[covered].sum() / weights.sum())

    # --------------------------------------------------------------- persisting

    def save(self, folder: Path) -> None:
        """Write the index next to its :class:`PairFile` in ``folder``."""
        np.savez(folder / "index.npz", data=self.postings.data, indices=self.postings.indices,
                 indptr=self.postings.indptr, shape=np.asarray(self.postings.shape),
                 idf=self.idf)
        meta = {"kind": "tfidf-retrieval", "version": 2,
                "completionWeight": self.completion_weight, "floor": self.floor}
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> RetrievalIndex:
        """Read an index written by :meth:`save`."""
        meta: dict[str, Any] = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        with np.load(folder / "index.npz") as arrays:
            postings = sparse.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]),
                shape=tuple(int(n) for n in arrays["shape"]))
            idf = arrays["idf"]
        return cls(PairFile(folder), postings, idf, float(meta["completionWeight"]),
                   float(meta["floor"]))


def _top(rows: Ids, scores: Floats, k: int) -> Candidates:
    """The ``k`` highest ``scores`` (ties: lower row first), best first."""
    if len(scores) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return Candidates(rows[order], scores[order].astype(np.float32))


def similarity_floor_grid() -> list[float]:
    """The floors training may choose from: 0.10, 0.15, ... 0.50."""
    return [round(0.10 + 0.05 * i, 2) for i in range(9)]


def log_similarity(score: float) -> float:
    """ln(similarity), the per-token log-likelihood the stand-in reports."""
    return math.log(max(score, 1e-9))
