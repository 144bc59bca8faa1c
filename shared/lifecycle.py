"""OCI lifecycle states the pipeline reads, as enums instead of bare strings.

Generative AI models, dedicated AI clusters and endpoints share one set of
``lifecycle_state`` values, and work requests have their own ``status``
(Generative AI API reference, ``Model``, ``DedicatedAiCluster``, ``Endpoint``
and ``WorkRequest``: https://docs.oracle.com/iaas/api/#/en/generative-ai/20231130/).
The SDK hands them back as plain strings; ``StrEnum`` members compare equal to them.
"""

from __future__ import annotations

from enum import StrEnum


class Lifecycle(StrEnum):
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    UPDATING = "UPDATING"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    DELETING = "DELETING"
    DELETED = "DELETED"
    FAILED = "FAILED"


class WorkRequestStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING = "WAITING"
    CANCELING = "CANCELING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


#: A resource in one of these states is on its way to usable (or is).
LIVE = frozenset({Lifecycle.ACTIVE, Lifecycle.CREATING, Lifecycle.UPDATING})
#: Deleted or being deleted: the pipeline treats the resource as gone.
REMOVED = frozenset({Lifecycle.DELETING, Lifecycle.DELETED})
#: Never becomes usable again.
GONE = REMOVED | {Lifecycle.FAILED}
#: Still being created or changed: wait, do not act.
NOT_READY = frozenset({Lifecycle.CREATING, Lifecycle.UPDATING})
#: A work request in one of these has finished.
WORK_REQUEST_DONE = frozenset({WorkRequestStatus.SUCCEEDED, WorkRequestStatus.FAILED,
                               WorkRequestStatus.CANCELED})
