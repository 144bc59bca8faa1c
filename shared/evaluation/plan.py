"""How many Chat calls a version's evaluation will make, for the plan (issue 24's
``ocift plan`` and the status of a dataset waiting to train show it).

Fine-tuned calls go to the dataset's own endpoint (its hosting cluster is billed by the
hour whatever it serves); base calls on demand are billed per call, which is why
``OCIFT_EVAL_MAX_PROMPTS`` caps them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.settings import Settings


class BaseKind(StrEnum):
    """What the fine-tuned model is compared with."""

    ON_DEMAND = "on_demand"  # the base model on OCI's shared, pay-per-call serving
    ENDPOINT = "endpoint"  # an endpoint the user named (OCIFT_EVAL_BASE_ENDPOINT_ID)
    NONE = "none"  # nothing to compare with: ``reason`` says why


class EvaluationPlan(BaseModel):
    """The evaluation calls one model version costs."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    examples: int  # held-out examples that will be sent
    fine_tuned_calls: int
    base_calls: int
    base: BaseKind
    billed_per_call: int  # on-demand base calls

    def describe(self) -> str:
        if not self.examples:
            return "no evaluation (no held-out split)"
        text = f"evaluation: {self.examples} prompts, {self.fine_tuned_calls} to the endpoint"
        if self.base is BaseKind.NONE:
            return text + ", no base"
        where = "on demand, billed per call" if self.base is BaseKind.ON_DEMAND else "endpoint"
        return text + f" and {self.base_calls} to the base ({where})"


def evaluation_plan(held_out: int, settings: Settings) -> EvaluationPlan:
    """The calls evaluating a version with ``held_out`` examples makes under ``settings``."""
    examples = held_out if settings.eval_max_prompts is None else min(
        held_out, settings.eval_max_prompts)
    if settings.eval_base_endpoint_id:
        base = BaseKind.ENDPOINT
    elif settings.eval_on_demand_base:
        base = BaseKind.ON_DEMAND
    else:
        base = BaseKind.NONE
    base_calls = 0 if base is BaseKind.NONE else examples
    return EvaluationPlan(examples=examples, fine_tuned_calls=examples, base_calls=base_calls,
                          base=base,
                          billed_per_call=base_calls if base is BaseKind.ON_DEMAND else 0)
