"""Local function definitions: what ``func.yaml`` + function configuration are on OCI.

Every pipeline function runs the same entry point (``functions/handler.py``,
``handler``) and learns its stage from ``OCIFT_STAGE`` in its configuration.
``memory_mb`` is informational locally; ``timeout_seconds`` is enforced by the
runner per call, as Fn does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.settings import Settings, Stage

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER_PATH = REPO_ROOT / "functions" / "handler.py"

#: Default per-call timeouts (seconds) by stage; OCI allows up to 300 s. Mirrors
#: ``deploy/oci/functions.tf`` (``locals.stage_defaults``); tests/deploy checks the two agree.
DEFAULT_TIMEOUTS: Mapping[Stage, float] = {
    Stage.CONVERT: 300.0,
    Stage.TRAIN: 150.0,
    Stage.ENDPOINT: 150.0,
    Stage.WATCH: 150.0,
    Stage.INFER: 60.0,
    Stage.EVALUATE: 300.0,
}

#: The SDK retry budget (``OCIFT_RETRY_MAX_SECONDS``) each stage runs with, beside its
#: timeout in ``deploy/oci/functions.tf``: every timeout exceeds its budget by a margin,
#: so the platform never kills a function the SDK is still retrying for.
DEFAULT_RETRY_SECONDS: Mapping[Stage, int] = {
    Stage.CONVERT: 120,
    Stage.TRAIN: 120,
    Stage.ENDPOINT: 120,
    Stage.WATCH: 120,
    Stage.INFER: 30,
    Stage.EVALUATE: 60,
}

#: Memory (MB) as ``deploy/oci/functions.tf`` deploys it (``locals.stages``); not enforced
#: locally. tests/deploy checks the two agree.
DEFAULT_MEMORY: Mapping[Stage, int] = {
    Stage.CONVERT: 512,
    Stage.TRAIN: 256,
    Stage.ENDPOINT: 256,
    Stage.WATCH: 256,
    Stage.INFER: 256,
    Stage.EVALUATE: 256,
}

#: Warm processes per stage. Event stages keep one (their calls are few and long); the
#: HTTP-triggered infer function scales out under concurrent callers as Fn would.
DEFAULT_INSTANCES: Mapping[Stage, int] = {
    Stage.CONVERT: 1,
    Stage.TRAIN: 1,
    Stage.ENDPOINT: 1,
    Stage.WATCH: 1,
    Stage.INFER: 4,
    Stage.EVALUATE: 1,
}

#: Calls that may wait for a busy function before more are refused with 429.
DEFAULT_MAX_QUEUED = 256

#: Gateway path of the HTTP-triggered function (API Gateway route on OCI).
INFER_PATH = "/infer"


class FunctionDef(BaseModel):
    """One deployed function: its name, code entry point, limits and configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    stage: Stage | None = None
    handler_path: Path = HANDLER_PATH
    entrypoint: str = "handler"
    memory_mb: int = Field(default=256, ge=128)
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: Warm processes at most (each answers one call at a time, as an Fn hot container).
    max_instances: int = Field(default=1, ge=1, le=64)
    #: Calls that may wait for a free process; one more is refused at once (429).
    max_queued: int = Field(default=DEFAULT_MAX_QUEUED, ge=0, le=100_000)
    #: How long a call may wait for a free process (default: the function's timeout).
    queue_timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    config: dict[str, str] = Field(default_factory=dict)
    app_name: str = "ocift"

    def environment(self) -> dict[str, str]:
        """This function's configuration as environment (its own keys only)."""
        env = dict(self.config)
        if self.stage is not None:
            env["OCIFT_STAGE"] = self.stage.value
        return env


def pipeline_functions(
    settings: Settings,
    overrides: Mapping[str, str] | None = None,
    timeouts: Mapping[Stage, float] | None = None,
    instances: Mapping[Stage, int] | None = None,
    max_queued: int | None = None,
) -> dict[str, FunctionDef]:
    """The stage functions, named by stage (the rules' ``action.function``).

    ``settings`` carries the pipeline configuration shared by all functions
    (bucket, namespace, endpoints...); ``overrides`` are extra ``OCIFT_*`` keys;
    ``instances`` and ``max_queued`` set the concurrency limits (see ``FunctionDef``).
    Each function gets its own copy, with its own ``OCIFT_STAGE``.
    """
    base = {k: v for k, v in settings.env().items() if k != "OCIFT_STAGE"}
    base.update(overrides or {})
    chosen = {**DEFAULT_TIMEOUTS, **(timeouts or {})}
    scale = {**DEFAULT_INSTANCES, **(instances or {})}
    return {
        stage.value: FunctionDef(
            name=stage.value,
            stage=stage,
            memory_mb=DEFAULT_MEMORY[stage],
            timeout_seconds=chosen[stage],
            max_instances=scale[stage],
            config={**base, "OCIFT_RETRY_MAX_SECONDS": (overrides or {}).get(
                "OCIFT_RETRY_MAX_SECONDS", str(DEFAULT_RETRY_SECONDS[stage]))},
            max_queued=DEFAULT_MAX_QUEUED if max_queued is None else max_queued,
        )
        for stage in Stage
    }
