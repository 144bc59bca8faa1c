"""The job-spec flags of ``ocift upload`` and ``ocift plan`` (one per ``shared.jobspec`` key)."""

from __future__ import annotations

import argparse

from shared import jobspec
from shared.families import TrainingMethod

WHAT = {
    "base_model": "base model to fine-tune (default OCIFT_BASE_MODEL); today: {models}",
    "training_method": "fine-tuning method: " + ", ".join(m.value for m in TrainingMethod)
                       + " (auto: T-Few for command-r, LoRA for Llama; default "
                         "OCIFT_TRAINING_METHOD)",
    "epochs": "training epochs (default OCIFT_EPOCHS)",
    "learning_rate": "learning rate (default: OCI's per method)",
    "batch_size": "training batch size (default: OCI's per method)",
    "early_stopping_patience": "evaluations without improvement before stopping, 0 disables "
                               "(default OCIFT_EARLY_STOPPING_PATIENCE)",
    "early_stopping_threshold": "smallest loss improvement that counts (default: OCI's)",
    "lora_r": "LoRA rank, LoRA only (default: OCI's)",
    "lora_alpha": "LoRA scaling alpha, LoRA only (default: OCI's)",
    "lora_dropout": "LoRA dropout probability, LoRA only (default: OCI's)",
    "content_moderation": "content moderation on the endpoint: true or false "
                          "(default OCIFT_CONTENT_MODERATION)",
    "prompt_field": "record field (or CSV column) holding the prompt",
    "completion_field": "record field (or CSV column) holding the completion",
    "context_field": "optional record field (or CSV column) appended to the prompt as context",
    "eval_size": "examples held out for evaluation, an integer >= 0 (0 disables evaluation)",
}


def add_spec_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per job-spec key, each with its documented range in ``--help``."""
    from shared import families

    group = parser.add_argument_group(
        "job spec", "carried as opc-meta-ocift-* metadata on the uploaded object; a flag not "
                    "given falls back to the pipeline's configuration (OCIFT_*)")
    models = ", ".join(f.models[0] for f in families.fine_tunable())
    for field in jobspec.FIELDS:
        text = WHAT[field].format(models=models)
        ranges = jobspec.ranges_help(field)
        if ranges:
            text += f"; OCI's range: {ranges}"
        group.add_argument(jobspec.FLAGS[field], dest=f"spec_{field}", default=None,
                           metavar="VALUE", help=text.replace("%", "%%"))


def spec_from_args(args: argparse.Namespace) -> jobspec.JobSpec:
    """The job spec the flags give (JobSpecError naming the flag on a bad value)."""
    return jobspec.from_flags({f: getattr(args, f"spec_{f}", None) for f in jobspec.FIELDS})
