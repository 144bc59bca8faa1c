"""Client factory: Object Storage, Generative AI and Generative AI Inference.

Clients are built once per process (keyed by kind and endpoint) and reused
across invocations of a warm function. Each has the SDK's exponential-backoff
retry strategy (429, 5xx, timeouts, 409 IncorrectState) bounded so that a
function does not burn its whole timeout, and an optional service endpoint
override that points it at the local target.

The serving client (:func:`serving_inference`, the ``POST /infer`` function's) answers
a caller who waits: it retries once, only a fast 5xx or connection failure, never a 429
(the caller gets it with ``Retry-After``) and never after :data:`SERVING_RETRY_SECONDS`;
its (connect, read) timeout is :data:`SERVING_TIMEOUT`.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared import caches
from shared.auth import credentials
from shared.settings import Settings

if TYPE_CHECKING:  # pragma: no cover - typing only
    from oci.generative_ai import GenerativeAiClient
    from oci.generative_ai_inference import GenerativeAiInferenceClient
    from oci.object_storage import ObjectStorageClient


class ClientKind(StrEnum):
    OBJECT_STORAGE = "objectstorage"
    GENERATIVE_AI = "generativeai"
    GENERATIVE_AI_INFERENCE = "generativeai_inference"
    GENERATIVE_AI_SERVING = "generativeai_serving"


#: (connect, read) seconds for a serving call; well inside the infer function's timeout.
SERVING_TIMEOUT = (5.0, 50.0)
#: A serving call is retried (once) only while this little time has passed since it began.
SERVING_RETRY_SECONDS = 5.0
#: What a serving call retries: 5xx but 501 (and, in the SDK, connection errors); no 429.
_SERVING_RETRY_STATUSES: dict[int, list[str]] = {500: [], 502: [], 503: [], 504: []}


_lock = threading.Lock()
_cache: dict[tuple[str, str | None, str, str], Any] = {}


def retry_strategy(settings: Settings) -> Any:
    """The SDK's own retry strategy, bounded by the settings."""
    from oci import retry

    return (
        retry.RetryStrategyBuilder()
        .add_max_attempts(max_attempts=settings.retry_max_attempts)
        .add_total_elapsed_time(total_elapsed_time_seconds=settings.retry_max_seconds)
        .add_service_error_check(
            service_error_retry_config=retry.retry_checkers.RETRYABLE_STATUSES_AND_CODES,
            service_error_retry_on_any_5xx=True,
        )
        .get_retry_strategy()
    )


def serving_retry_strategy() -> Any:
    """One more attempt for a fast transient failure of a serving call, nothing else."""
    from oci import retry

    return (
        retry.RetryStrategyBuilder()
        .add_max_attempts(max_attempts=2)
        .add_total_elapsed_time(total_elapsed_time_seconds=SERVING_RETRY_SECONDS)
        .add_service_error_check(service_error_retry_config=_SERVING_RETRY_STATUSES,
                                 service_error_retry_on_any_5xx=False)
        .get_retry_strategy()
    )


def _endpoint(settings: Settings, kind: ClientKind) -> str | None:
    return {
        ClientKind.OBJECT_STORAGE: settings.objectstorage_endpoint,
        ClientKind.GENERATIVE_AI: settings.genai_endpoint,
        ClientKind.GENERATIVE_AI_INFERENCE: settings.genai_inference_endpoint,
        ClientKind.GENERATIVE_AI_SERVING: settings.genai_inference_endpoint,
    }[kind]


def _build(settings: Settings, kind: ClientKind) -> Any:
    creds = credentials(settings)
    kwargs: dict[str, Any] = creds.client_kwargs()
    if kind is ClientKind.GENERATIVE_AI_SERVING:
        kwargs["retry_strategy"] = serving_retry_strategy()
        kwargs["timeout"] = SERVING_TIMEOUT
    else:
        kwargs["retry_strategy"] = retry_strategy(settings)
    endpoint = _endpoint(settings, kind)
    if endpoint:
        kwargs["service_endpoint"] = endpoint
    if kind is ClientKind.OBJECT_STORAGE:
        from oci.object_storage import ObjectStorageClient

        return ObjectStorageClient(creds.config, **kwargs)
    if kind is ClientKind.GENERATIVE_AI:
        from oci.generative_ai import GenerativeAiClient

        return GenerativeAiClient(creds.config, **kwargs)
    from oci.generative_ai_inference import GenerativeAiInferenceClient

    return GenerativeAiInferenceClient(creds.config, **kwargs)


def get_client(settings: Settings, kind: ClientKind) -> Any:
    """Return the process-wide client of ``kind`` for these settings."""
    key = (
        kind.value,
        _endpoint(settings, kind),
        settings.oci_config_file or "",
        f"{settings.auth.value}:{settings.oci_profile}:{settings.region or ''}",
    )
    client = _cache.get(key)
    if client is None:
        with _lock:
            client = _cache.get(key)
            if client is None:
                client = _build(settings, kind)
                _cache[key] = client
    return client


def object_storage(settings: Settings) -> ObjectStorageClient:
    return get_client(settings, ClientKind.OBJECT_STORAGE)


def generative_ai(settings: Settings) -> GenerativeAiClient:
    return get_client(settings, ClientKind.GENERATIVE_AI)


def generative_ai_inference(settings: Settings) -> GenerativeAiInferenceClient:
    return get_client(settings, ClientKind.GENERATIVE_AI_INFERENCE)


def serving_inference(settings: Settings) -> GenerativeAiInferenceClient:
    """The inference client of ``POST /infer`` (see the module docstring)."""
    return get_client(settings, ClientKind.GENERATIVE_AI_SERVING)


def reset_clients() -> None:
    """Forget cached clients (tests, or after the config file changed)."""
    with _lock:
        _cache.clear()


caches.register("clients", reset_clients)
