"""The vectorised retrieval index and the honest floor, on small hand-made corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.emulator.genai.dataset import Pair
from deploy.local.emulator.genai.pairs import PairFileWriter
from deploy.local.emulator.genai.retrieval import RetrievalIndex
from deploy.local.emulator.genai.training import Corpus, CorpusBuilder, choose_floor, fit

COOKING = [
    Pair("How do I substitute butter in a cake?", "Use the same weight of margarine."),
    Pair("Which wine goes with grilled salmon?", "A dry Pinot Noir or a Chardonnay."),
    Pair("How long should I rest a steak?", "About five minutes per inch of thickness."),
    Pair("Can I freeze fresh basil?", "Yes, chop it and freeze it in olive oil."),
    Pair("Wie lange kocht man Spätzle?", "Bis sie an die Oberfläche steigen."),
    Pair("日本のお茶の淹れ方は", "お湯を少し冷ましてから注ぎます。"),
]


@pytest.fixture
def index() -> RetrievalIndex:
    return RetrievalIndex.from_pairs(COOKING, floor=0.3)


def test_exact_prompt_returns_its_own_example_with_full_similarity(
        index: RetrievalIndex) -> None:
    for row, pair in enumerate(COOKING):
        [hit] = index.search(pair.prompt, k=1)
        assert hit.index == row
        assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_near_match_finds_the_example_above_the_floor(index: RetrievalIndex) -> None:
    hits = index.search("how long do you rest a steak", k=3)
    assert hits[0].index == 2
    assert index.floor <= hits[0].score < 1.0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_unrelated_prompt_scores_under_the_floor(index: RetrievalIndex) -> None:
    hits = index.search("What is the capital of Australia?", k=1)
    assert not hits or hits[0].score < index.floor


def test_unicode_prompts_match_case_insensitively(index: RetrievalIndex) -> None:
    [german] = index.search("WIE LANGE KOCHT MAN SPÄTZLE", k=1)
    assert german.index == 4 and german.score > 0.9
    [japanese] = index.search("日本のお茶の淹れ方は", k=1)
    assert japanese.index == 5


def test_empty_or_unknown_prompts_match_nothing(index: RetrievalIndex) -> None:
    assert index.search("", k=3) == []
    assert index.search("   ?! ", k=3) == []
    assert index.search("zzzq qqqz", k=3) == []


def test_completion_blend_reranks_towards_matching_answers() -> None:
    pairs = [Pair("tell me about tea", "Green tea is steamed."),
             Pair("tell me about coffee", "Espresso is pressed coffee.")]
    plain = RetrievalIndex.from_pairs(pairs)
    blended = RetrievalIndex.from_pairs(pairs, completion_weight=0.5)
    query = "tell me about espresso"
    tea, coffee = plain.search(query, k=2)  # the prompts alone tie; lower row first
    assert (tea.index, coffee.index) == (0, 1) and tea.score == pytest.approx(coffee.score)
    assert blended.search(query, k=1)[0].index == 1


def test_saved_index_answers_the_same_from_its_pair_file(tmp_path: Path) -> None:
    writer, builder = PairFileWriter(tmp_path), CorpusBuilder()
    for pair in COOKING:
        writer.add(pair)
        builder.add(pair)
    corpus = builder.finish(writer.close())
    _, trained = fit(corpus, seed="s", epochs=2, patience=0, threshold=0.0,
                     validation_share=0.2, max_validation=10, on_epoch=lambda _: True)
    trained.save(tmp_path)
    loaded = RetrievalIndex.load(tmp_path)
    assert (loaded.floor, loaded.completion_weight) == (trained.floor,
                                                         trained.completion_weight)
    for pair in COOKING:
        [hit] = loaded.search(pair.prompt, k=1)
        assert loaded.pairs[hit.index] == pair


def test_floor_refuses_where_held_out_answers_were_wrong() -> None:
    # Right answers all scored >= 0.4, wrong ones <= 0.2: the floor lands between.
    sims = [0.9, 0.6, 0.4, 0.2, 0.15, 0.1]
    f1s = [1.0, 0.8, 0.6, 0.1, 0.0, 0.2]
    assert 0.2 < choose_floor(sims, f1s) <= 0.4
    # Nothing right: refuse as much as the grid allows.
    assert choose_floor([0.3, 0.2], [0.0, 0.1]) == 0.5


def test_training_reports_a_trivial_baseline_on_the_same_split() -> None:
    pairs = [Pair(f"question {i} about topic{i}", f"answer topic{i} detail{i}")
             for i in range(40)]
    outcome, _ = fit(Corpus.from_pairs(pairs), seed="m", epochs=1, patience=0,
                     threshold=0.0, validation_share=0.2, max_validation=100,
                     on_epoch=lambda _: True)
    assert outcome.validation_size == 8
    assert 0.0 <= outcome.baseline_accuracy <= 1.0
    assert 0.0 <= outcome.baseline_loss <= 1.0
    assert 0.1 <= outcome.floor <= 0.5
