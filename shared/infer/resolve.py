"""Which endpoint answers: a model (dataset) name or an endpoint OCID -> a :class:`Target`.

A name resolves through the pipeline's freeform tags: ACTIVE endpoints of the
compartment tagged with this pipeline and dataset; the newest model version
wins (then the newest endpoint). Results are cached in-process for
``settings.endpoint_cache_seconds`` so a warm function makes no control-plane
call per request; failures are never cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import tags
from shared.errors import not_found
from shared.families import ApiShape
from shared.infer.errors import (
    ENDPOINT_NOT_READY,
    UNKNOWN_ENDPOINT,
    UNKNOWN_MODEL,
    InferError,
    from_upstream,
)
from shared.infer.shapes import shape_for
from shared.lifecycle import NOT_READY, Lifecycle
from shared.settings import Settings


@dataclass(frozen=True)
class Target:
    """A resolved, ACTIVE endpoint and what it serves."""

    endpoint_id: str
    model_id: str
    model_name: str | None
    model_version: str | None
    base_model: str
    shape: ApiShape


def _version_key(version: str | None) -> tuple[int, str]:
    try:
        return int(str(version)), ""
    except (TypeError, ValueError):
        return 0, str(version or "")


class EndpointResolver:
    """Resolve and cache targets using a Generative AI (control plane) client."""

    def __init__(self, client: Any, settings: Settings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._targets: dict[str, tuple[float, Target]] = {}
        self._models: dict[str, Any] = {}

    # -- cache -----------------------------------------------------------------------

    def _cached(self, key: str) -> Target | None:
        with self._lock:
            hit = self._targets.get(key)
            if hit is None:
                return None
            if hit[0] <= self.clock():
                del self._targets[key]
                return None
            return hit[1]

    def _remember(self, key: str, target: Target) -> Target:
        ttl = self.settings.endpoint_cache_seconds
        if ttl > 0:
            with self._lock:
                self._targets[key] = (self.clock() + ttl, target)
        return target

    def forget(self, endpoint_id: str) -> None:
        """Drop every cached entry pointing at ``endpoint_id`` (it failed upstream)."""
        with self._lock:
            for key in [k for k, (_, t) in self._targets.items() if t.endpoint_id == endpoint_id]:
                del self._targets[key]

    # -- resolution ------------------------------------------------------------------

    def by_endpoint(self, endpoint_id: str) -> Target:
        key = f"endpoint:{endpoint_id}"
        cached = self._cached(key)
        if cached is not None:
            return cached
        try:
            endpoint = self.client.get_endpoint(endpoint_id).data
        except Exception as exc:
            if not_found(exc):
                raise InferError(404, UNKNOWN_ENDPOINT,
                                 f"endpoint {endpoint_id} was not found (or is not visible "
                                 "to this function)") from None
            raise from_upstream(exc, "the Generative AI service") from None
        if endpoint.lifecycle_state in NOT_READY:
            raise InferError(409, ENDPOINT_NOT_READY, f"endpoint {endpoint_id} is "
                             f"{endpoint.lifecycle_state}; try again when it is ACTIVE")
        if endpoint.lifecycle_state != Lifecycle.ACTIVE:
            raise InferError(404, UNKNOWN_ENDPOINT, f"endpoint {endpoint_id} is "
                             f"{endpoint.lifecycle_state} and cannot serve")
        return self._remember(key, self._target(endpoint))

    def by_model(self, name: str) -> Target:
        key = f"model:{name}"
        cached = self._cached(key)
        if cached is not None:
            return cached
        active = self._tagged_endpoints(name, Lifecycle.ACTIVE)
        if not active:
            pending = [e for e in self._tagged_endpoints(name, None)
                       if e.lifecycle_state in NOT_READY]
            if pending:
                raise InferError(409, ENDPOINT_NOT_READY, f"model {name!r} has no ACTIVE "
                                 f"endpoint yet ({len(pending)} being created); try again soon")
            raise InferError(404, UNKNOWN_MODEL, f"no ACTIVE endpoint serves a model named "
                             f"{name!r}; see 'ocift status' for the datasets this pipeline has")
        best = max(active, key=lambda e: (_version_key(self._model(e.model_id).version),
                                          str(getattr(e, "time_created", "") or "")))
        return self._remember(key, self._target(best, name))

    # -- helpers ---------------------------------------------------------------------

    def _tagged_endpoints(self, name: str, state: str | None) -> list[Any]:
        kwargs: dict[str, Any] = {"compartment_id": self.settings.compartment_id}
        if state is not None:
            kwargs["lifecycle_state"] = state
        items: list[Any] = []
        try:
            while True:
                resp = self.client.list_endpoints(**kwargs)
                items.extend(resp.data.items or [])
                if not resp.next_page:
                    break
                kwargs["page"] = resp.next_page
        except Exception as exc:
            raise from_upstream(exc, "the Generative AI service") from None
        return [e for e in items
                if tags.matches(e.freeform_tags, pipeline=self.settings.pipeline_name,
                                role=tags.ROLE_ENDPOINT, dataset=name)]

    def _model(self, model_id: str) -> Any:
        with self._lock:
            found = self._models.get(model_id)
        if found is None:
            try:
                found = self.client.get_model(model_id).data
            except Exception as exc:
                raise from_upstream(exc, "the Generative AI service") from None
            with self._lock:
                self._models[model_id] = found
        return found

    def _base_model_name(self, endpoint: Any, model: Any) -> str:
        for source in (endpoint.freeform_tags, model.freeform_tags):
            name = (source or {}).get(tags.BASE_MODEL)
            if name:
                return str(name)
        if str(getattr(model, "type", "")).upper() == "BASE" or not model.base_model_id:
            return str(model.display_name or "")
        return str(self._model(model.base_model_id).display_name or "")

    def _target(self, endpoint: Any, name: str | None = None) -> Target:
        model = self._model(endpoint.model_id)
        base = self._base_model_name(endpoint, model)
        dataset = name or (endpoint.freeform_tags or {}).get(tags.DATASET) or model.display_name
        return Target(endpoint_id=endpoint.id, model_id=model.id, model_name=dataset,
                      model_version=model.version, base_model=base, shape=shape_for(base))
