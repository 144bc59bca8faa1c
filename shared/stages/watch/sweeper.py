"""Clusters: which fine-tuning cluster to release after training, which clusters sit idle.

The watcher deletes nothing: it records a release in a dataset's status and hands the
dataset to the endpoint stage, which deletes the cluster once nothing uses it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared import genai, naming
from shared.stages.context import StageContext
from shared.stages.watch.common import TickReport, listed, save, statuses
from shared.status import ClusterRelease, DatasetState, DatasetStatus, IdleCluster

#: States in which a dataset still needs a fine-tuning cluster.
NEEDS_FINETUNING = (DatasetState.QUEUED, DatasetState.PENDING_CLUSTER, DatasetState.TRAINING)


class Busy:
    """Which datasets still need a fine-tuning cluster (queued, waiting or training)."""

    def __init__(self, training: set[str]) -> None:
        self.training = training

    @classmethod
    def of(cls, watched: list[tuple[str, DatasetStatus, str]]) -> Busy:
        return cls({d for d, st, _ in watched if st.state in NEEDS_FINETUNING})


def finetuning_release(ctx: StageContext, status: DatasetStatus,
                       busy: Busy) -> list[ClusterRelease]:
    """The fine-tuning cluster ``status`` trained on, to delete now that its training ended,
    unless the user configured it or other training is queued, waiting or running."""
    cluster_id = status.finetuning_cluster_id
    if (not cluster_id or cluster_id == ctx.settings.finetuning_cluster_id
            or busy.training - {status.dataset} or unconverted_work(ctx)
            or any(r.cluster_id == cluster_id for r in status.releases)):
        return list(status.releases)
    return [*status.releases, ClusterRelease(
        cluster_id=cluster_id, ready=True,
        reason="fine-tuning cluster: no training queued or running on it")]


def unconverted_work(ctx: StageContext) -> bool:
    """True when a raw object has no report yet or a JSONL no status: training may follow."""
    s = ctx.settings
    reports = {n for n, _ in listed(ctx, s.reports_prefix)}
    for name, _ in listed(ctx, s.raw_prefix):
        dataset = naming.raw_dataset(s, name)
        if dataset and naming.report_object(s, dataset) not in reports:
            return True
    known = {n for n, _ in listed(ctx, s.status_prefix)}
    for name, _ in listed(ctx, s.training_prefix):
        dataset = naming.training_dataset(s, name)
        if dataset and naming.status_object(s, dataset) not in known:
            return True
    return False


def sweep_clusters(ctx: StageContext, now: datetime | None = None,
                   report: TickReport | None = None) -> list[str]:
    """Record idle pipeline clusters in the statuses of the datasets that used them.

    A cluster with no live endpoint and no training for ``OCIFT_IDLE_CLUSTER_HOURS`` is
    listed in those statuses (``idle_clusters``; ``ocift status`` shows it) and, with
    ``OCIFT_DELETE_IDLE_CLUSTERS=true``, handed to the endpoint stage as a ready release.
    A fine-tuning cluster the pipeline made is handed over as soon as no training is
    queued, waiting or running (whatever the idle setting). Clusters the user configured
    are never touched. The watcher itself deletes nothing.
    """
    from shared import billing, retire
    from shared.lifecycle import Lifecycle

    s = ctx.settings
    now = now or datetime.now(UTC)
    report = report or TickReport()
    inv = billing.read_inventory(ctx.genai, s)
    known = statuses(ctx, report.quarantined)
    training = any(st.state in NEEDS_FINETUNING for st, _ in known.values())
    queued = training or unconverted_work(ctx)
    idle: dict[str, list[IdleCluster]] = {}
    release: dict[str, list[ClusterRelease]] = {}
    for cluster in inv.clusters:
        if (cluster.lifecycle_state != Lifecycle.ACTIVE
                or cluster.id in retire.user_clusters(s)):
            continue
        since = billing.idle_since(inv, cluster)
        users = sorted(billing.last_users(inv, cluster.id) & set(known))
        if since is None or not users:
            continue
        owner = users[-1]
        finetuning = cluster.type == genai.FINE_TUNING
        if finetuning and not queued:
            release.setdefault(owner, []).append(ClusterRelease(
                cluster_id=cluster.id, ready=True,
                reason="fine-tuning cluster: no training queued or running on it"))
            continue
        if (now - since).total_seconds() < s.idle_cluster_hours * 3600:
            continue
        note = IdleCluster(cluster_id=cluster.id, kind=billing.kind_of(cluster),
                           shape=cluster.unit_shape, units=cluster.unit_count, idle_since=since)
        for dataset in users:
            idle.setdefault(dataset, []).append(note)
        if s.delete_idle_clusters and not finetuning:
            release.setdefault(owner, []).append(ClusterRelease(
                cluster_id=cluster.id, ready=True,
                reason=f"idle since {since:%Y-%m-%d %H:%M} UTC (OCIFT_DELETE_IDLE_CLUSTERS)"))
    actions = []
    for dataset, (status, etag) in sorted(known.items()):
        wanted = idle.get(dataset, [])
        have = {r.cluster_id for r in status.releases}
        new_releases = [r for r in release.get(dataset, []) if r.cluster_id not in have]
        if ({c.cluster_id for c in wanted} == {c.cluster_id for c in status.idle_clusters}
                and not new_releases):
            continue
        detail = "; ".join([f"idle cluster {c.cluster_id}" for c in wanted]
                           + [f"release {r.cluster_id}: {r.reason}" for r in new_releases])
        moved = status.moved_to(status.state, detail or "no idle cluster", idle_clusters=wanted,
                                releases=[*status.releases, *new_releases])
        if save(ctx, moved, etag, report, hand_over=bool(new_releases)):
            actions.append(f"{dataset}: {detail or 'idle clusters cleared'}")
    return actions
