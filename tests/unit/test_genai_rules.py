"""Dataset rules, hyperparameter rules and the retrieval stand-in of the GenAI emulator."""

from __future__ import annotations

import json

import pytest

from deploy.local.emulator.genai.catalog import BY_NAME, Method
from deploy.local.emulator.genai.dataset import DatasetRejected, Pair, parse_training_jsonl
from deploy.local.emulator.genai.errors import GenAiError
from deploy.local.emulator.genai.hyperparams import complete_config
from deploy.local.emulator.genai.retrieval import RetrievalIndex, token_f1
from deploy.local.emulator.genai.samples import finance_pairs, to_jsonl
from deploy.local.emulator.genai.training import Corpus, EpochResult, fit, split


def _parse(data: bytes, minimum: int = 32) -> list[Pair]:
    return parse_training_jsonl(data.splitlines(keepends=True), min_examples=minimum,
                                max_bytes=1 << 20)


def test_valid_file_yields_every_pair_and_skips_blank_lines() -> None:
    data = to_jsonl(finance_pairs(33)) + b"\n"
    pairs = _parse(data)
    assert len(pairs) == 33
    assert pairs[0] == finance_pairs(1)[0]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (to_jsonl(finance_pairs(31)), "at least 32"),
        (to_jsonl(finance_pairs(32)) + b"{not json}\n", "Line 33 is not valid JSON"),
        (b'{"prompt": "a", "completion": "b", "extra": 1}\n', "exactly the properties"),
        (b'{"prompt": "a"}\n', "exactly the properties"),
        (b'["prompt", "completion"]\n', "not a JSON object"),
        (b'{"prompt": 1, "completion": "b"}\n', "must be strings"),
        (b'{"prompt": " ", "completion": "b"}\n', "must not be empty"),
        (b'{"prompt": "\xff", "completion": "b"}\n', "not valid UTF-8"),
    ],
)
def test_files_oci_would_reject_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(DatasetRejected, match=reason):
        _parse(data)


def test_size_limit_is_enforced() -> None:
    data = to_jsonl(finance_pairs(40))
    with pytest.raises(DatasetRejected, match="larger than"):
        parse_training_jsonl(data.splitlines(keepends=True), min_examples=1, max_bytes=100)


def test_defaults_are_filled_per_family_and_method() -> None:
    tfew = complete_config(BY_NAME["cohere.command-r-08-2024"], None)
    assert tfew["trainingConfigType"] == Method.TFEW.value
    assert tfew["totalTrainingEpochs"] == 1 and tfew["trainingBatchSize"] == 16
    lora = complete_config(BY_NAME["meta.llama-3.3-70b-instruct"],
                           {"trainingConfigType": "LORA_TRAINING_CONFIG", "loraR": 16})
    assert lora["loraR"] == 16 and lora["loraAlpha"] == 8 and lora["totalTrainingEpochs"] == 3


@pytest.mark.parametrize(
    ("model", "config", "message"),
    [
        ("meta.llama-3.3-70b-instruct", {"trainingConfigType": "TFEW_TRAINING_CONFIG"},
         "not supported"),
        ("cohere.command-r-08-2024", {"trainingConfigType": "VANILLA_TRAINING_CONFIG"},
         "not supported"),
        ("cohere.command-r-08-2024", {"trainingConfigType": "TFEW_TRAINING_CONFIG",
                                      "totalTrainingEpochs": 11}, "between 1 and 10"),
        ("meta.llama-3.3-70b-instruct", {"trainingConfigType": "LORA_TRAINING_CONFIG",
                                         "loraR": 65}, "loraR"),
        ("meta.llama-3.3-70b-instruct", {"trainingConfigType": "LORA_TRAINING_CONFIG",
                                         "trainingBatchSize": 17}, "between 8 and 16"),
        ("cohere.command-r-08-2024", {"trainingConfigType": "TFEW_TRAINING_CONFIG",
                                      "totalTrainingEpochs": 1.5}, "integer"),
        ("cohere.embed-english-v3.0", None, "does not support fine-tuning"),
    ],
)
def test_bad_configs_are_400_invalid_parameter(model: str, config: dict[str, object] | None,
                                              message: str) -> None:
    with pytest.raises(GenAiError) as info:
        complete_config(BY_NAME[model], config)
    assert info.value.status == 400 and info.value.code == "InvalidParameter"
    assert message in info.value.message


def test_token_f1() -> None:
    assert token_f1("The cat sat", "the cat sat") == 1.0
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("a b", "a c") == pytest.approx(0.5)


def test_index_returns_the_stored_completion_for_a_training_prompt() -> None:
    pairs = finance_pairs(40)
    index = RetrievalIndex.from_pairs(pairs)
    for pair in pairs:
        hits = index.search(pair.prompt, k=1)
        assert index.pairs[hits[0].index].completion == pair.completion
    near = index.search("how does a margin call work", k=1)
    assert "margin call" in index.pairs[near[0].index].completion
    assert index.search("zzz qqq", k=3) == []


def test_split_is_deterministic_and_holds_out_a_fifth() -> None:
    pairs = finance_pairs(50)
    train, val = split(pairs, "seed-a", 0.2)
    assert len(val) == 10 and len(train) == 40
    assert (train, val) == split(pairs, "seed-a", 0.2)
    assert set(map(json.dumps, [p.prompt for p in train + val])) == set(
        map(json.dumps, [p.prompt for p in pairs]))


def test_fit_reports_held_out_metrics_and_honours_early_stopping() -> None:
    pairs = finance_pairs(40)
    seen: list[int] = []

    def record(result: EpochResult) -> bool:
        seen.append(result.epoch)
        return True

    outcome, index = fit(Corpus.from_pairs(pairs), seed="m1", epochs=10, patience=1, threshold=0.5,
                         validation_share=0.2, max_validation=100,
                         on_epoch=record)
    assert outcome.stopped_early and outcome.epochs_run == 2 and seen == [1, 2]
    assert outcome.validation_size == 8 and outcome.train_size == 32
    assert 0.0 <= outcome.final_accuracy <= 1.0
    assert 0.0 <= outcome.final_loss <= 1.0
    # The shipped index covers every pair, held-out ones included.
    assert len(index.pairs) == 40
