"""The watcher: the only code that polls, and the only writer of hand-offs.

OCI Generative AI emits no events, so :func:`~.ticker.tick` polls what the pipeline has
in flight, records each change in the dataset's status object and, when the next step
belongs to a stage, writes that stage's hand-off (:mod:`shared.handoff`).
:func:`~.reconciler.reconcile` finishes what lost events left undone and repairs lost or
quarantined status objects from the cloud's own tags; :func:`~.sweeper.sweep_clusters`
reports idle clusters and hands their release to the endpoint stage; :mod:`.entry` is
the watch function's work (tick, or reconcile when asked or due). The watcher creates
nothing and imports no other stage.
"""

from shared.stages.watch.entry import (
           RECONCILE_EVERY_SECONDS,
           handle,
           reconcile_due,
           wants_reconcile,
)
from shared.stages.watch.gone import record_deleted
from shared.stages.watch.reconciler import ReconcileReport, reconcile
from shared.stages.watch.sweeper import sweep_clusters
from shared.stages.watch.ticker import TickReport, tick

__all__ = ["RECONCILE_EVERY_SECONDS", "ReconcileReport", "TickReport", "handle", "reconcile",
           "reconcile_due", "record_deleted", "sweep_clusters", "tick", "wants_reconcile"]
