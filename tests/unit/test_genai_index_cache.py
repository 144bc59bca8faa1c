"""The emulator's trained indexes stay under their memory bound however many models are
queried: least recently used out first, reloaded from the artifact when asked again."""

from __future__ import annotations

import shutil
from pathlib import Path

from deploy.local.emulator.genai.config import GenAiConfig
from deploy.local.emulator.genai.dataset import Pair
from deploy.local.emulator.genai.index_cache import IndexCache, index_bytes
from deploy.local.emulator.genai.pairs import PairFileWriter
from deploy.local.emulator.genai.retrieval import RetrievalIndex
from deploy.local.emulator.genai.store import ResourceStore
from deploy.local.emulator.genai.trainer import Trainer
from deploy.local.emulator.genai.workrequests import WorkRequests

PAIRS = [Pair(f"How is the coverage ratio of lender {i} computed?",
              f"Lender {i} divides operating income by interest expense.") for i in range(40)]


def _artifact(folder: Path) -> None:
    writer = PairFileWriter(folder)
    for pair in PAIRS:
        writer.add(pair)
    built = RetrievalIndex.from_pairs(PAIRS, floor=0.3)
    RetrievalIndex(writer.close(), built.postings, built.idf, built.completion_weight,
                   built.floor).save(folder)


def test_the_cache_is_lru_and_never_holds_more_than_its_bound() -> None:
    index = RetrievalIndex.from_pairs(PAIRS, floor=0.3)
    size = index_bytes(index)
    assert size >= index.idf.nbytes > 0
    cache = IndexCache(3 * size + size // 2)
    for i in range(10):
        cache.put(f"m{i}", RetrievalIndex.from_pairs(PAIRS, floor=0.3))
        assert cache.bytes <= cache.max_bytes
        if i == 5:
            assert cache.get("m4") is not None  # used: it stays over m3 and m5
    assert len(cache) == 3
    assert [cache.get(m) is not None for m in ("m7", "m8", "m9")] == [True] * 3
    tiny = IndexCache(size - 1)
    tiny.put("big", index)  # larger than the bound: served, never kept
    assert len(tiny) == 0 and tiny.bytes == 0


def test_querying_many_models_keeps_the_trainers_memory_bound(tmp_path: Path) -> None:
    store = ResourceStore(tmp_path / "genai")
    one = tmp_path / "one"
    _artifact(one)
    models = [f"ocid1.generativeaimodel.oc1..m{i:02d}" for i in range(24)]
    for model_id in models:
        shutil.copytree(one, store.artifact_path(model_id))
    size = index_bytes(RetrievalIndex.load(one))
    config = GenAiConfig(index_cache_bytes=4 * size)
    trainer = Trainer(store, WorkRequests(store, "us-chicago-1"),
                      lambda ns, b, n: (_ for _ in ()).throw(FileNotFoundError(n)), config)
    for _ in range(2):
        for model_id in models:
            index = trainer.index_for(model_id)
            assert index is not None
            [hit] = index.search(PAIRS[7].prompt, k=1)
            assert hit.index == 7  # an evicted index comes back whole from its artifact
            assert trainer.index_cache.bytes <= 4 * size
    assert len(trainer.index_cache) == 4
    assert trainer.index_for("ocid1.generativeaimodel.oc1..none") is None
