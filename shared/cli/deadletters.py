"""Deliveries the local target's router gave up on, by dataset, and ``ocift redrive``.

OCI Events keeps no dead-letter journal, so these exist on the local target only.
Reading them never needs the target to run (the journal is a file in its state
directory); a running router picks redriven deliveries up within a second, a stopped
one on its next start.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from shared.settings import Settings


class DeadLetterRow(BaseModel):
    delivery_id: str
    function: str
    object: str | None = None
    dataset: str | None = None
    attempts: int
    last_error: str | None = None
    finished_at: str


def dead_letters(state_dir: Path, settings: Settings) -> list[DeadLetterRow]:
    """Every dead-lettered delivery of the target in ``state_dir``, oldest first."""
    from deploy.local.outcomes import dataset_of
    from deploy.local.router import Router

    if not (state_dir / "router").is_dir():
        return []
    router = Router(state_dir.resolve(), [], lambda function, body: None)
    return [DeadLetterRow(delivery_id=r.delivery_id, function=r.function,
                          object=r.resource_name, dataset=dataset_of(settings, r.resource_name),
                          attempts=r.attempts, last_error=r.last_error,
                          finished_at=r.finished_at)
            for r in router.status(recent=0).dead_lettered]


def redrive(state_dir: Path, delivery_ids: list[str] | None) -> tuple[list[str], list[str]]:
    """Queue dead letters again (all, or these ids): ``(requeued, unknown ids)``."""
    from deploy.local.router import Router

    router = Router(state_dir.resolve(), [], lambda function, body: None)
    known = {r.delivery_id for r in router.status(recent=0).dead_lettered}
    unknown = [d for d in delivery_ids or [] if d not in known]
    wanted = None if not delivery_ids else [d for d in delivery_ids if d in known]
    requeued = router.redrive(wanted) if wanted is None or wanted else []
    return requeued, unknown


def describe(row: DeadLetterRow) -> str:
    """One line: what was not delivered, how often it was tried, the last error."""
    error = " ".join((row.last_error or "no error recorded").split())
    if len(error) > 300:
        error = error[:299] + "…"
    return (f"{row.function} of {row.object or '?'} gave up after {row.attempts} attempts "
            f"({row.finished_at}; delivery {row.delivery_id}): {error}")
