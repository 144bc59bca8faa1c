"""What a dataset's training will create and commit to, before anything bills.

Shown by ``ocift plan`` (offline: the file is converted in memory, nothing uploaded) and
recorded in the status of a dataset waiting for approval (AWAITING_APPROVAL). The
cluster decisions are ``genai.find_cluster``'s, the lookup ``ensure_cluster`` makes in
the train and endpoint stages, so the plan says "reuse" exactly when the stage would.

Money: OCI bills dedicated AI clusters per unit-hour; the minimum commitments quoted are
``billing.MINIMUM_UNIT_HOURS`` ("Paying for Dedicated AI Clusters",
https://docs.oracle.com/iaas/Content/generative-ai/pay-dedicated.htm). A price appears
only for shapes the user priced in ``OCIFT_UNIT_PRICES``; none is assumed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.evaluation.plan import EvaluationPlan, evaluation_plan
from shared.families import Family, TrainingMethod

_RECORD = ConfigDict(extra="forbid", validate_assignment=True)

FINETUNING_MINIMUM = 1.0  # unit-hours per fine-tuning job per unit (billing.MINIMUM_UNIT_HOURS)
HOSTING_MINIMUM = 744.0  # unit-hours per hosting cluster (billing.MINIMUM_UNIT_HOURS)
PRICING_URL = "https://docs.oracle.com/iaas/Content/generative-ai/pay-dedicated.htm"


class ClusterPlan(BaseModel):
    """One cluster the training needs: reused (with its id) or created (shape x units)."""

    model_config = _RECORD

    kind: Literal["FINE_TUNING", "HOSTING"]
    action: Literal["reuse", "create", "not_checked"]
    cluster_id: str | None = None
    shape: str
    units: int
    minimum_unit_hours: float  # OCI's minimum commitment if created (0 when reused)
    price_per_unit_hour: float | None = None
    minimum_cost: float | None = None
    note: str = ""


class Plan(BaseModel):
    """The job, the data and what training and serving it will create."""

    model_config = _RECORD

    base_model: str
    training_method: str
    hyperparameters: dict[str, float | None]
    examples: int
    content_sha256: str | None = None
    spec_sha256: str
    finetuning_cluster: ClusterPlan
    hosting_cluster: ClusterPlan
    unit_hours: float  # minimum commitments of what would be created
    cost: float | None = None  # only when every created shape has a user-set price
    pricing: str = PRICING_URL
    evaluation: EvaluationPlan | None = None  # the Chat calls evaluating the version makes


def _cluster(kind: Literal["FINE_TUNING", "HOSTING"], found: Any | None, shape: str,
             units: int, minimum_per_unit: float, prices: dict[str, float],
             checked: bool, note: str = "") -> ClusterPlan:
    if found is not None:
        return ClusterPlan(kind=kind, action="reuse", cluster_id=found.id, shape=shape,
                           units=units, minimum_unit_hours=0.0, minimum_cost=0.0, note=note)
    minimum = units * minimum_per_unit
    price = prices.get(shape.upper())
    return ClusterPlan(kind=kind, action="create" if checked else "not_checked", shape=shape,
                       units=units, minimum_unit_hours=minimum, price_per_unit_hour=price,
                       minimum_cost=None if price is None else round(minimum * price, 2),
                       note=note)


def build(settings: Any, job: Any, family: Family, method: TrainingMethod, examples: int,
          content_sha256: str | None, client: Any | None, held_out: int = 0) -> Plan:
    """The plan of ``job`` (``jobspec.EffectiveSpec``) on ``family``; ``client`` (a GenAI
    client, or None when offline) answers whether a cluster is reused; ``held_out``
    examples make the evaluation's calls."""
    from shared import genai

    prices = settings.prices()
    ft_shape, ft_units = genai.cluster_shape(settings, genai.FINE_TUNING, family)
    host_shape, host_units = genai.cluster_shape(settings, genai.HOSTING, family)
    ft_found = host_found = None
    if client is not None:
        ft_found, _ = genai.find_cluster(client, settings, genai.FINE_TUNING, family)
    stacked = genai.shares_hosting(family, method.value)
    host_note = ("versions share it" if stacked else
                 "one per model version (OCI: no fine-tunable family of today stacks versions)")
    if client is not None and (stacked or settings.hosting_cluster_id):
        host_found, _ = genai.find_cluster(client, settings, genai.HOSTING, family)
    checked = client is not None
    ft = _cluster("FINE_TUNING", ft_found, ft_shape, ft_units, FINETUNING_MINIMUM, prices,
                  checked, "deleted once no training is queued or running on it")
    host = _cluster("HOSTING", host_found, host_shape, host_units, HOSTING_MINIMUM, prices,
                    checked or not (stacked or settings.hosting_cluster_id), host_note)
    costs = [c.minimum_cost for c in (ft, host)]
    hyper = {name: (None if value is None else float(value))
             for name, value in job.hyperparameters().items()}
    hyper["learning_rate"] = hyper["learning_rate"] or family.learning_rate[method]
    hyper["batch_size"] = hyper["batch_size"] or float(family.batch_size[method])
    if method is not TrainingMethod.LORA:
        for name in ("lora_r", "lora_alpha", "lora_dropout"):
            hyper.pop(name, None)
    return Plan(base_model=job.base_model, training_method=method.value, hyperparameters=hyper,
                examples=examples, content_sha256=content_sha256, spec_sha256=job.digest(),
                finetuning_cluster=ft, hosting_cluster=host,
                unit_hours=ft.minimum_unit_hours + host.minimum_unit_hours,
                cost=None if any(c is None for c in costs) else round(sum(
                    c for c in costs if c is not None), 2),
                evaluation=evaluation_plan(held_out, settings))


def render(plan: Plan) -> list[str]:
    """The plan as lines for a terminal."""
    hyper = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in plan.hyperparameters.items()
                      if v is not None)
    lines = [f"base model      {plan.base_model}",
             f"method          {plan.training_method}",
             f"hyperparameters {hyper}",
             f"examples        {plan.examples} after conversion"]
    if plan.evaluation is not None:
        lines.append(f"evaluation      {plan.evaluation.describe()}")
    for label, c in (("fine-tuning", plan.finetuning_cluster), ("hosting", plan.hosting_cluster)):
        if c.action == "reuse":
            what = f"reuse {c.cluster_id} ({c.units} x {c.shape})"
        else:
            what = (f"{'create' if c.action == 'create' else 'create unless one is found'} "
                    f"{c.units} x {c.shape}, minimum commitment {c.minimum_unit_hours:g} "
                    "unit-hours")
            if c.minimum_cost is not None:
                what += f" = {c.minimum_cost:,.2f} at {c.price_per_unit_hour:g}/unit-hour"
        lines.append(f"{label + ' cluster':<15} {what}" + (f" ({c.note})" if c.note else ""))
    total = f"unit-hours      at least {plan.unit_hours:g} committed"
    if plan.cost is not None:
        total += f"; at least {plan.cost:,.2f} at your OCIFT_UNIT_PRICES"
    else:
        total += "; set OCIFT_UNIT_PRICES (SHAPE=price per unit-hour) to see money"
    lines.append(total + f" ({plan.pricing})")
    return lines
