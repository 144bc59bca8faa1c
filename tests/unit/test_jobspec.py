"""The job spec a dataset carries (issue 24): parsing, precedence, refusals, identity, plan,
approval gate in the train stage (against the in-memory fakes)."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest

from shared import approval, genai, identity, jobspec, naming, tags
from shared import plan as plans
from shared.cli.spec_flags import add_spec_flags, spec_from_args
from shared.families import TrainingMethod
from shared.jobspec import JobSpec, JobSpecError
from shared.settings import ApprovalMode, Settings, SettingsError
from shared.stages.context import read_status
from shared.stages.train import train_dataset
from shared.status import DatasetState
from tests.support.fakes import FakeGenAi, drop_jsonl, make_ctx, make_settings

COMMAND_R = genai.family_of("cohere.command-r-08-2024")
LLAMA = genai.family_of("meta.llama-3.3-70b-instruct")

# -- parsing -----------------------------------------------------------------------------------


def test_metadata_keys_with_or_without_the_opc_meta_prefix_and_other_keys_ignored() -> None:
    spec = jobspec.from_metadata({
        "ocift-base-model": "Meta.Llama-3.3-70B-Instruct", "opc-meta-ocift-training-method":
        "lora", "OCIFT-EPOCHS": "2", "ocift-learning-rate": "1e-4",
        "ocift-content-moderation": "false", "ocift-prompt-field": "question",
        "ocift-eval-size": "0", "source-etag": "e1", "source-object": "raw/x.json"})
    assert spec == JobSpec(base_model="meta.llama-3.3-70b-instruct",
                           training_method=TrainingMethod.LORA, epochs=2, learning_rate=0.0001,
                           content_moderation=False, prompt_field="question", eval_size=0)


def test_an_unknown_ocift_key_names_every_known_key() -> None:
    with pytest.raises(JobSpecError) as caught:
        jobspec.from_metadata({"ocift-epoch": "2", "ocift-epochs": "3"})
    message = str(caught.value)
    assert "unknown job spec key(s) opc-meta-ocift-epoch;" in message
    for field in jobspec.FIELDS:
        assert jobspec.header_key(field) in message


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("ocift-epochs", "2.5", "opc-meta-ocift-epochs='2.5' is not a whole number"),
    ("ocift-epochs", "two", "opc-meta-ocift-epochs='two' is not a whole number"),
    ("ocift-batch-size", "1e3", "opc-meta-ocift-batch-size='1e3' is not a whole number"),
    ("ocift-learning-rate", "fast", "opc-meta-ocift-learning-rate='fast' is not a number"),
    ("ocift-lora-dropout", "nan", "opc-meta-ocift-lora-dropout='nan' is not a finite number"),
    ("ocift-training-method", "QLORA",
     "opc-meta-ocift-training-method='QLORA' is not one of auto, TFEW, VANILLA, LORA"),
    ("ocift-content-moderation", "maybe",
     "opc-meta-ocift-content-moderation='maybe' is not true or false"),
    ("ocift-eval-size", "-1", "opc-meta-ocift-eval-size=-1 must be 0 (no evaluation) to 1000"),
    ("ocift-eval-size", "1001",
     "opc-meta-ocift-eval-size=1001 must be 0 (no evaluation) to 1000"),
])
def test_a_value_of_the_wrong_type_is_refused_naming_key_and_value(key: str, value: str,
                                                                    expected: str) -> None:
    with pytest.raises(JobSpecError, match="bad job spec") as caught:
        jobspec.from_metadata({key: value})
    assert expected in str(caught.value)


def test_empty_values_are_unset_and_metadata_round_trips() -> None:
    assert jobspec.from_metadata({"ocift-epochs": " "}) == JobSpec()
    spec = JobSpec(training_method=TrainingMethod.TFEW, epochs=3, lora_dropout=0.05,
                   content_moderation=True, context_field="ctx")
    meta = jobspec.to_metadata(spec)
    assert meta == {"ocift-training-method": "TFEW", "ocift-epochs": "3",
                    "ocift-lora-dropout": "0.05", "ocift-content-moderation": "true",
                    "ocift-context-field": "ctx"}
    assert jobspec.from_metadata(meta) == spec


def _flags(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_spec_flags(parser)
    return parser.parse_args(list(argv))


def test_cli_flags_give_the_spec_and_errors_name_the_flag() -> None:
    args = _flags("--base-model", "meta.llama-3.3-70b-instruct", "--method", "LORA",
                  "--epochs", "3", "--lora-r", "16", "--eval-size", "50",
                  "--prompt-field", "q", "--completion-field", "a")
    assert spec_from_args(args) == JobSpec(
        base_model="meta.llama-3.3-70b-instruct", training_method=TrainingMethod.LORA,
        epochs=3, lora_r=16, eval_size=50, prompt_field="q", completion_field="a")
    with pytest.raises(JobSpecError, match="--epochs='x' is not a whole number"):
        spec_from_args(_flags("--epochs", "x"))


def test_every_hyperparameter_flag_shows_its_range_in_help() -> None:
    parser = argparse.ArgumentParser()
    add_spec_flags(parser)
    text = " ".join(parser.format_help().split())
    assert "cohere.command-r-08-2024 TFEW: 1 to 10" in text  # --epochs
    assert "meta.llama-3.3-70b-instruct LORA: 8 to 16" in text  # --batch-size
    assert "1 to 64" in text  # --lora-r


# -- precedence and identity -------------------------------------------------------------------


def test_dataset_keys_override_settings_which_fill_the_rest() -> None:
    settings = make_settings(epochs=7, training_method=TrainingMethod.LORA)
    job = jobspec.effective(JobSpec(epochs=2, lora_alpha=16), settings)
    assert (job.epochs, job.training_method, job.lora_alpha) == (2, TrainingMethod.LORA, 16)
    assert job.base_model == settings.base_model and job.content_moderation is True
    assert job.learning_rate is None  # OCI's per-method default applies
    assert job.key("epochs") == "opc-meta-ocift-epochs"
    assert job.key("training_method") == "OCIFT_TRAINING_METHOD"
    # Flags given to `ocift upload` replace the same key of a file's metadata.
    both = jobspec.merged(JobSpec(epochs=2, lora_r=4), JobSpec(epochs=3))
    assert (both.epochs, both.lora_r) == (3, 4)


def test_the_digest_is_the_values_not_where_they_came_from() -> None:
    settings = make_settings(epochs=3)
    from_config = jobspec.effective(JobSpec(), settings)
    from_dataset = jobspec.effective(JobSpec(epochs=3), settings)
    assert from_config.digest() == from_dataset.digest()
    assert len(from_config.digest()) == 64
    other = jobspec.effective(JobSpec(epochs=4), settings)
    assert other.digest() != from_config.digest()
    assert jobspec.effective(JobSpec(eval_size=0), settings).digest() != from_config.digest()


def test_same_content_is_a_duplicate_only_with_the_same_spec() -> None:
    model_tags = {tags.CONTENT_SHA256: "c1", tags.SPEC_SHA256: "s1"}
    assert identity.same_job(model_tags, "c1", "s1")
    assert not identity.same_job(model_tags, "c1", "s2")  # a new model version
    assert not identity.same_job(model_tags, "c2", "s1")
    assert not identity.same_job({tags.CONTENT_SHA256: "c1"}, "c1", "s1")  # tagged before specs


# -- validation by the family table ------------------------------------------------------------


def _job(**given: object) -> jobspec.EffectiveSpec:
    return jobspec.effective(JobSpec.model_validate(given), make_settings())


@pytest.mark.parametrize(("family", "method", "given", "expected"), [
    (COMMAND_R, TrainingMethod.TFEW, {"epochs": 0}, "opc-meta-ocift-epochs=0 is outside 1 to 10"),
    (COMMAND_R, TrainingMethod.TFEW, {"learning_rate": 0.5},
     "opc-meta-ocift-learning-rate=0.5 is outside 5e-06 to 0.1"),
    (LLAMA, TrainingMethod.LORA, {"batch_size": 32},
     "opc-meta-ocift-batch-size=32 is outside 8 to 16"),
    (LLAMA, TrainingMethod.LORA, {"epochs": 0}, "opc-meta-ocift-epochs=0 must be >= 1"),
    (LLAMA, TrainingMethod.LORA, {"lora_r": 65}, "opc-meta-ocift-lora-r=65 is outside 1 to 64"),
    (LLAMA, TrainingMethod.LORA, {"early_stopping_threshold": -0.1},
     "opc-meta-ocift-early-stopping-threshold=-0.1 must be >= 0"),
    (COMMAND_R, TrainingMethod.TFEW, {"lora_r": 8},
     "opc-meta-ocift-lora-r=8 is not a TFEW hyperparameter"),
    (COMMAND_R, TrainingMethod.TFEW, {"early_stopping_threshold": 0.5},
     "opc-meta-ocift-early-stopping-threshold=0.5 is outside 0.001 to 0.1"),
])
def test_out_of_range_values_are_refused_with_range_and_docs_page(
        family: object, method: TrainingMethod, given: dict[str, object], expected: str) -> None:
    with pytest.raises(genai.PermanentError) as caught:
        genai.check_hyperparameters(_job(**given), family, method)  # type: ignore[arg-type]
    assert expected in str(caught.value)
    assert "fine-tuning-parameters.htm" in str(caught.value)


def test_a_method_or_base_model_the_family_table_lacks_is_refused_naming_the_key() -> None:
    job = _job(training_method="VANILLA")
    with pytest.raises(genai.PermanentError,
                       match=r"opc-meta-ocift-training-method=VANILLA: .* supported: TFEW, LORA"):
        genai.choose_method(job, COMMAND_R, 10, 100_000)
    retired = _job(base_model="cohere.command-r-16k")
    with pytest.raises(genai.PermanentError,
                       match=r"opc-meta-ocift-base-model=cohere\.command-r-16k"):
        genai.family_of(retired.base_model, retired.key("base_model"))


def test_the_training_config_carries_every_key_the_job_sets() -> None:
    lora = genai.training_config(_job(epochs=2, early_stopping_threshold=0.01, lora_r=16,
                                      lora_alpha=32, lora_dropout=0.05), LLAMA,
                                 TrainingMethod.LORA)
    assert (lora.total_training_epochs, lora.early_stopping_threshold, lora.lora_r,
            lora.lora_alpha, lora.lora_dropout) == (2, 0.01, 16, 32, 0.05)
    assert (lora.learning_rate, lora.training_batch_size) == (0.0002, 8)  # OCI's defaults


# -- plan --------------------------------------------------------------------------------------


def test_the_plan_reuses_the_cluster_the_stage_would_reuse_and_prices_only_what_is_set() -> None:
    settings = make_settings(unit_prices="small_cohere_v2=2.5")
    ai = FakeGenAi()
    job = _job()
    fresh = plans.build(settings, job, COMMAND_R, TrainingMethod.TFEW, 40, "c", ai)
    assert fresh.finetuning_cluster.action == "create"
    assert (fresh.finetuning_cluster.shape, fresh.finetuning_cluster.units) == (
        "SMALL_COHERE_V2", 8)
    assert fresh.unit_hours == 8 + 744 and fresh.cost == round(752 * 2.5, 2)
    made = genai.ensure_cluster(ai, settings, genai.FINE_TUNING, COMMAND_R)
    ai.activate_clusters()
    again = plans.build(settings, job, COMMAND_R, TrainingMethod.TFEW, 40, "c", ai)
    assert again.finetuning_cluster.action == "reuse"
    assert again.finetuning_cluster.cluster_id == made.id
    assert again.unit_hours == 744  # only the hosting cluster is new
    llama = plans.build(settings, _job(), LLAMA, TrainingMethod.LORA, 40, "c", None)
    assert llama.cost is None  # LARGE_GENERIC has no price set: no money shown
    assert llama.finetuning_cluster.action == "not_checked"


def test_unit_prices_are_checked_when_settings_load() -> None:
    assert Settings.from_env({"OCIFT_UNIT_PRICES": "A=1,B=0.5"}).prices() == {"A": 1.0, "B": 0.5}
    with pytest.raises(SettingsError, match="OCIFT_UNIT_PRICES"):
        Settings.from_env({"OCIFT_UNIT_PRICES": "SMALL_COHERE_V2"})


# -- the train stage ---------------------------------------------------------------------------


def test_a_spec_out_of_range_is_rejected_before_any_cluster() -> None:
    ctx, _, ai = make_ctx()
    etag = drop_jsonl(ctx, "d", metadata={"ocift-epochs": "0"})
    outcome = train_dataset(ctx, "d", etag)
    assert outcome.status.value == "rejected"
    got = read_status(ctx, "d")
    assert got is not None and got[0].state is DatasetState.REJECTED
    assert "opc-meta-ocift-epochs=0 is outside 1 to 10" in got[0].reason
    assert got[0].spec is not None and got[0].spec.epochs == 0  # the refused job is shown
    assert ai.clusters == {} and ai.creates == []


def test_an_unknown_key_on_the_jsonl_is_rejected_naming_the_known_ones() -> None:
    ctx, _, ai = make_ctx()
    train_dataset(ctx, "d", drop_jsonl(ctx, "d", metadata={"ocift-epoks": "2"}))
    got = read_status(ctx, "d")
    assert got is not None and got[0].state is DatasetState.REJECTED
    assert "opc-meta-ocift-epoks" in got[0].reason and "opc-meta-ocift-epochs" in got[0].reason
    assert ai.clusters == {}


def test_with_approval_required_a_dataset_waits_and_only_a_bound_approval_moves_it() -> None:
    ctx, _, ai = make_ctx(approval=ApprovalMode.REQUIRED)
    etag = drop_jsonl(ctx, "d", metadata={"ocift-epochs": "2"})
    assert train_dataset(ctx, "d", etag).status.value == "pending"
    got = read_status(ctx, "d")
    assert got is not None and got[0].state is DatasetState.AWAITING_APPROVAL
    status = got[0]
    assert status.plan is not None and status.spec is not None and status.spec.epochs == 2
    assert status.plan.examples == 40 and ai.clusters == {}
    # A redelivery writes nothing new.
    assert train_dataset(ctx, "d", etag).status.value == "pending"
    assert read_status(ctx, "d") == got
    # An approval of other content (another version) does not move it.
    forged = approval.Approval(dataset="d", decision=approval.Decision.APPROVE,
                               content_sha256="other", spec_sha256=status.plan.spec_sha256,
                               source_etag="old")
    ctx.store.put_json(naming.approval_object(ctx.settings, "d"),
                       forged.model_dump(mode="json"))
    train_dataset(ctx, "d", None)
    assert ai.clusters == {}
    approval.decide(ctx.store, ctx.settings, status, approval.Decision.APPROVE)
    assert train_dataset(ctx, "d", None).status.value == "pending"  # cluster CREATING
    after = read_status(ctx, "d")
    assert after is not None and after[0].state is DatasetState.PENDING_CLUSTER
    assert len(ai.clusters) == 1 and after[0].spec == status.spec


def test_a_rejection_ends_the_dataset_and_cannot_be_given_twice() -> None:
    ctx, _, ai = make_ctx(approval=ApprovalMode.REQUIRED)
    train_dataset(ctx, "d", drop_jsonl(ctx, "d"))
    got = read_status(ctx, "d")
    assert got is not None
    approval.decide(ctx.store, ctx.settings, got[0], approval.Decision.REJECT)
    assert train_dataset(ctx, "d", None).status.value == "rejected"
    ended = read_status(ctx, "d")
    assert ended is not None and ended[0].state is DatasetState.REJECTED
    assert ended[0].reason == approval.REJECTED_BY_USER and ai.clusters == {}
    with pytest.raises(approval.NotAwaiting, match="not waiting for approval"):
        approval.decide(ctx.store, ctx.settings, ended[0], approval.Decision.APPROVE)


def test_content_moderation_comes_from_the_job() -> None:
    job = _job(content_moderation=False)
    ai = FakeGenAi()
    model = SimpleNamespace(id="m1", freeform_tags={})
    genai.create_endpoint(ai, make_settings(), dataset="d", model=model, cluster_id="c1",
                          content_moderation=job.content_moderation)
    [endpoint] = ai.endpoints.values()
    assert endpoint.details.content_moderation_config.is_enabled is False
    # A status rebuilt from tags has no spec: the model's own tag still says it.
    tagged = SimpleNamespace(id="m2", freeform_tags={tags.CONTENT_MODERATION: "false"})
    genai.create_endpoint(ai, make_settings(), dataset="d", model=tagged, cluster_id="c1")
    second = next(e for e in ai.endpoints.values() if e.details.model_id == "m2")
    assert second.details.content_moderation_config.is_enabled is False


def test_reconcile_hands_a_decided_dataset_whose_approval_event_was_lost_to_train() -> None:
    import json
    from unittest import mock

    from shared.stages import watch as watcher
    from shared.stages.train import train_handed_over

    ctx, store, ai = make_ctx(approval=ApprovalMode.REQUIRED)
    train_dataset(ctx, "d", drop_jsonl(ctx, "d"))
    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        undecided = watcher.reconcile(ctx.settings)
    assert not any("handed back" in a for a in undecided.actions)  # nothing to do yet
    assert "handoff/train/d.json" not in store.objects
    got = read_status(ctx, "d")
    assert got is not None
    approval.decide(ctx.store, ctx.settings, got[0], approval.Decision.APPROVE)
    with mock.patch("shared.stages.watch.reconciler.context_for", return_value=ctx):
        report = watcher.reconcile(ctx.settings)
    assert "d: AWAITING_APPROVAL handed back to train" in report.actions
    handed = json.loads(store.objects["handoff/train/d.json"][0])
    assert handed["state"] == "AWAITING_APPROVAL"
    train_handed_over(ctx, "d")
    after = read_status(ctx, "d")
    assert after is not None and after[0].state is DatasetState.PENDING_CLUSTER
    assert len(ai.clusters) == 1
