"""Is a base model still usable for dedicated mode? Read from the service, decided here.

OCI publishes each model's deprecation and retirement dates on the model itself:
``Model.time_deprecated``, ``time_on_demand_retired`` and ``time_dedicated_retired``
("Get notified about model retirement dates in OCI Generative AI", release notes
2025-07-10, https://docs.oracle.com/iaas/releasenotes/generative-ai/retire-announcements.htm:
"To retrieve detailed information about a model's deprecation and retirement dates, use
the GetModel API"). The pipeline fine-tunes and hosts on dedicated AI clusters, so the
dedicated date is the one that counts: "When a model is retired in the dedicated mode, you
can no longer create a dedicated AI cluster for the retired model" ("About Model
Retirement", https://docs.oracle.com/iaas/Content/generative-ai/about-retirement.htm).

* retired (``time_dedicated_retired`` at or before now, or the model no longer ACTIVE):
  :class:`Verdict` ``retired`` -- the stage records REJECTED before anything billable,
  naming the date and the current replacement from ``shared.families``;
* deprecated (``time_deprecated`` at or before now): proceed, with a warning naming the
  retirement date (or that OCI has not set one yet);
* otherwise current.

No date lives in code: every date comes from the SDK model passed in. The clock is a
parameter so tests fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.families import replacement_for
from shared.lifecycle import Lifecycle

Clock = Callable[[], datetime]
RETIREMENT_PAGE = "https://docs.oracle.com/iaas/Content/generative-ai/deprecating-dedicated.htm"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Age(StrEnum):
    CURRENT = "current"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


@dataclass(frozen=True)
class Verdict:
    """What the stage does with a base model: go on, go on with ``warning``, or refuse."""

    age: Age
    name: str
    retires: datetime | None  # time_dedicated_retired, when OCI set one
    message: str = ""

    @property
    def retired(self) -> bool:
        return self.age is Age.RETIRED

    @property
    def warning(self) -> str | None:
        return self.message if self.age is Age.DEPRECATED else None


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d")


def judge(model: Any, clock: Clock = utcnow) -> Verdict:
    """The verdict on ``model`` (an SDK ``Model`` or ``ModelSummary`` of a base model).

    ``model.display_name`` names it; the dates and ``lifecycle_state`` are the service's.
    """
    name = str(getattr(model, "display_name", "") or getattr(model, "id", "") or "?")
    now = clock()
    retires = _aware(getattr(model, "time_dedicated_retired", None))
    deprecated = _aware(getattr(model, "time_deprecated", None))
    state = getattr(model, "lifecycle_state", None)
    instead = replacement_for(name)
    if instead == name.lower():
        instead = f"the replacement OCI names on {RETIREMENT_PAGE}"
    if retires is not None and retires <= now:
        return Verdict(Age.RETIRED, name, retires,
                       f"base model {name} was retired for dedicated AI clusters on "
                       f"{_day(retires)}: OCI no longer creates clusters for it; use "
                       f"{instead} (set OCIFT_BASE_MODEL)")
    if state is not None and state != Lifecycle.ACTIVE:
        return Verdict(Age.RETIRED, name, retires,
                       f"base model {name} is {state} at OCI, not ACTIVE; use {instead} "
                       "(set OCIFT_BASE_MODEL)")
    if deprecated is not None and deprecated <= now:
        when = (f"retires for dedicated AI clusters on {_day(retires)}" if retires
                else "OCI has not set its dedicated retirement date yet")
        return Verdict(Age.DEPRECATED, name, retires,
                       f"base model {name} is deprecated since {_day(deprecated)} and {when}; "
                       f"plan a move to {instead}")
    return Verdict(Age.CURRENT, name, retires)
