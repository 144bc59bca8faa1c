"""``ocift down``: find everything billable the pipeline created (by its tags) and delete it.

Order is dependency order: endpoints, then clusters (OCI refuses to delete a cluster
that still hosts endpoints or runs a fine-tuning job: 409), then -- only when asked --
custom models. Each delete is waited for (DELETING -> DELETED, or 404). Every resource
is read back and its tags checked again just before its delete, so nothing without this
pipeline's ``ocift-pipeline`` tag (and the right ``ocift-role``) is ever deleted, and a
second run finds nothing to do. The same code runs against the local target and a
tenancy: it only uses the Generative AI API (List/Get/Delete of endpoints, dedicated AI
clusters and models: https://docs.oracle.com/iaas/api/#/en/generative-ai/20231130/).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared import billing, tags
from shared.billing import Resource
from shared.errors import ErrorKind, classify, describe, incorrect_state
from shared.lifecycle import Lifecycle
from shared.settings import Settings

ORDER = (billing.ENDPOINT, billing.HOSTING_CLUSTER, billing.FINETUNING_CLUSTER, billing.MODEL)
_ROLE = {billing.ENDPOINT: (tags.ROLE_ENDPOINT,), billing.MODEL: (tags.ROLE_MODEL,),
         billing.HOSTING_CLUSTER: billing.CLUSTER_ROLES,
         billing.FINETUNING_CLUSTER: billing.CLUSTER_ROLES}


@dataclass
class Plan:
    """What ``ocift down`` would delete, in order, and what it leaves (with why)."""

    delete: list[Resource] = field(default_factory=list)
    kept: list[tuple[Resource, str]] = field(default_factory=list)

    @property
    def unit_hours(self) -> float:
        return billing.unit_hours(self.delete)


@dataclass
class Outcome:
    deleted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def plan(inv: billing.Inventory, dataset: str | None = None, models: bool = False,
         now: datetime | None = None) -> Plan:
    """The resources to delete (live ones, in dependency order) for ``dataset`` or all.

    For one dataset: its endpoints, the clusters only it holds (a cluster another
    dataset still uses is kept and named), and its models with ``models``.
    """
    found = [r for r in billing.resources(inv, now or datetime.now(UTC), include_models=models)
             if r.state not in ("DELETING", "DELETED")]
    out = Plan()
    for res in sorted(found, key=lambda r: (ORDER.index(r.kind), r.created or datetime.min)):
        if dataset is None:
            out.delete.append(res)
            continue
        if res.kind in (billing.ENDPOINT, billing.MODEL):
            if res.datasets == [dataset]:
                out.delete.append(res)
            continue
        users = set(res.datasets) or billing.last_users(inv, res.id)
        if users == {dataset}:
            out.delete.append(res)
        elif dataset in users:
            others = ", ".join(sorted(users - {dataset}))
            out.kept.append((res, f"also used by {others}"))
    return out


def _get(client: Any, kind: str) -> Callable[[str], Any]:
    if kind == billing.ENDPOINT:
        return client.get_endpoint  # type: ignore[no-any-return]
    if kind == billing.MODEL:
        return client.get_model  # type: ignore[no-any-return]
    return client.get_dedicated_ai_cluster  # type: ignore[no-any-return]


def _delete(client: Any, kind: str) -> Callable[[str], Any]:
    if kind == billing.ENDPOINT:
        return client.delete_endpoint  # type: ignore[no-any-return]
    if kind == billing.MODEL:
        return client.delete_model  # type: ignore[no-any-return]
    return client.delete_dedicated_ai_cluster  # type: ignore[no-any-return]


def _read(client: Any, kind: str, res_id: str, *, deleted_by_us: bool) -> Any | None:
    """The resource, or None once it is gone. A 404 means gone only for an id this run
    deleted (shared/errors.py): before that it may be a missing grant, and is raised."""
    try:
        return _get(client, kind)(res_id).data
    except Exception as exc:
        if classify(exc, confirmed_gone=deleted_by_us) is ErrorKind.GONE:
            return None
        raise


def delete_one(client: Any, settings: Settings, res: Resource, timeout: float,
               interval: float = 1.0) -> None:
    """Delete ``res`` after re-checking its tags; wait until it is DELETED (or 404)."""
    current = _read(client, res.kind, res.id, deleted_by_us=False)
    if current is None or current.lifecycle_state == Lifecycle.DELETED:
        return
    if not billing.ours(current, settings, *_ROLE[res.kind]):
        raise PermissionError(f"{res.id} is not tagged {tags.PIPELINE}={settings.pipeline_name}; "
                              "refusing to delete it")
    if current.lifecycle_state != Lifecycle.DELETING:
        try:
            _delete(client, res.kind)(res.id)
        except Exception as exc:
            if not incorrect_state(exc):  # IncorrectState: already deleting; wait for it
                raise
    deadline = time.monotonic() + timeout
    while True:
        current = _read(client, res.kind, res.id, deleted_by_us=True)
        if current is None or current.lifecycle_state == Lifecycle.DELETED:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{res.id} is still {current.lifecycle_state} after {timeout:g}s")
        time.sleep(interval)


def execute(client: Any, settings: Settings, todo: Plan, timeout: float = 1800.0,
            interval: float = 1.0,
            report: Callable[[str], None] = lambda _line: None) -> Outcome:
    """Delete ``todo.delete`` in order. A failed delete is reported and its dependants
    (clusters after a failed endpoint, models after a failed cluster) still tried."""
    out = Outcome()
    for res in todo.delete:
        report(f"deleting {res.kind} {res.id} ...")
        try:
            delete_one(client, settings, res, timeout, interval)
        except Exception as exc:
            reason = describe(exc)
            out.failed.append((res.id, reason))
            report(f"  FAILED: {reason}")
            continue
        out.deleted.append(res.id)
        report(f"  deleted {res.kind} {res.id}")
    return out


def render(todo: Plan, now: datetime | None = None) -> str:
    """The plan as a table: kind, shape x units, state, age, unit-hours, datasets."""
    if not todo.delete:
        lines = ["nothing to delete: no live resource carries this pipeline's tags"]
    else:
        rows = [("KIND", "ID", "SHAPE", "UNITS", "STATE", "AGE", "UNIT-HOURS", "DATASETS")]
        for r in todo.delete:
            rows.append((r.kind, r.id, r.shape or "-", str(r.units or "-"), r.state,
                         _age(r.hours), billing.format_unit_hours(r.unit_hours),
                         ",".join(r.datasets) or "-"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in rows]
        lines.append(f"total: {len(todo.delete)} resource(s), "
                     f"{billing.format_unit_hours(todo.unit_hours)} "
                     "cluster unit-hours so far")
    for res, why in todo.kept:
        lines.append(f"kept {res.kind} {res.id}: {why}")
    return "\n".join(lines)


def _age(hours: float | None) -> str:
    if hours is None:
        return "-"
    if hours < 1:
        return f"{hours * 60:.0f}m"
    return f"{hours:.1f}h" if hours < 48 else f"{hours / 24:.1f}d"
