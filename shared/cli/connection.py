"""Where the CLI talks to: the running local target (``--local``) or a real tenancy.

Local: ``<state-dir>/target.json`` written by the running target gives the
emulator endpoint, API key config, namespace, compartment and gateway URL.
Tenancy: ``OCIFT_*`` environment plus ``--profile/--config-file`` and the
optional endpoint flags; ``--url`` (or none) for the API Gateway route.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.settings import AuthMode, Settings

DEFAULT_STATE_DIR = Path(".ocift")


class TargetNotFound(RuntimeError):
    """The CLI cannot tell where to connect; the message says how to fix it."""


@dataclass(frozen=True)
class Connection:
    settings: Settings
    infer_url: str | None
    local: bool

    def store(self) -> Any:
        """An :class:`shared.storage.ObjectStore` on the pipeline bucket."""
        from shared import clients
        from shared.storage import ObjectStore, namespace_of

        client = clients.object_storage(self.settings)
        namespace = namespace_of(client, self.settings.namespace)
        return ObjectStore(client, namespace, self.settings.bucket)

    def genai(self) -> Any:
        """The Generative AI control-plane client (live state of models and endpoints)."""
        from shared import clients

        return clients.generative_ai(self.settings)


def add_connection_flags(parser: argparse.ArgumentParser, tenancy: bool = True,
                         inference: bool = False) -> None:
    """The flags that choose where a command talks to.

    ``tenancy=False`` keeps only what a command that calls the inference route needs
    (``ask``): the local target or an explicit ``--url``. ``--url`` (the inference route)
    is offered only with ``inference=True``: to the commands that call it (``ask``, ``ui``).
    """
    group = parser.add_argument_group("where to connect")
    group.add_argument("--local", action="store_true",
                       help="use the running local target (default when ./.ocift/target.json "
                            "exists)")
    group.add_argument("--state-dir", type=Path, default=None,
                       help=f"state directory of the local target (default {DEFAULT_STATE_DIR})")
    if tenancy:
        group.add_argument("--profile", default=None,
                           help="real tenancy: profile of the OCI config file (OCIFT_OCI_PROFILE)")
        group.add_argument("--config-file", default=None,
                           help="real tenancy: OCI config file (default ~/.oci/config)")
        group.add_argument("--bucket", default=None, help="pipeline bucket (OCIFT_BUCKET)")
        group.add_argument("--compartment-id", default=None,
                           help="compartment of the pipeline (OCIFT_COMPARTMENT_ID)")
        group.add_argument("--region", default=None, help="region, e.g. us-chicago-1")
        group.add_argument("--objectstorage-endpoint", default=None, help=argparse.SUPPRESS)
        group.add_argument("--genai-endpoint", default=None, help=argparse.SUPPRESS)
        group.add_argument("--genai-inference-endpoint", default=None, help=argparse.SUPPRESS)
    if inference or not tenancy:
        group.add_argument("--url", default=None,
                           help="inference route URL (API Gateway deployment's .../infer)")


def local_settings(info: Any) -> Settings:
    """Pipeline settings for a running local target's :class:`TargetInfo`."""
    return Settings(bucket=info.bucket, namespace=info.namespace,
                    compartment_id=info.compartment_id, region=info.region,
                    auth=AuthMode.CONFIG_FILE, oci_config_file=info.config_file,
                    oci_profile=info.profile, objectstorage_endpoint=info.emulator_endpoint,
                    genai_endpoint=info.emulator_endpoint,
                    genai_inference_endpoint=info.emulator_endpoint)


#: Environment that says "a real tenancy" as clearly as --profile does.
_TENANCY_ENV = ("OCIFT_OCI_PROFILE", "OCIFT_OCI_CONFIG_FILE", "OCIFT_AUTH",
                "OCIFT_COMPARTMENT_ID")
_TENANCY_FLAGS = ("profile", "config_file", "compartment_id", "region", "url",
                  "objectstorage_endpoint", "genai_endpoint", "genai_inference_endpoint")


def no_target_message(state_dir: Path, why: str | None = None) -> str:
    """What to do when no local target runs: start one first, or point at a tenancy."""
    first = why or f"no local target is running in {state_dir}"
    return (f"{first}: start it with `ocift up` (in another terminal, from this directory; "
            "or pass --state-dir DIR of a running one). For a real tenancy instead, pass "
            "--profile NAME (a profile of ~/.oci/config, made by `oci setup config`) and "
            "--compartment-id, or set OCIFT_OCI_PROFILE / OCIFT_COMPARTMENT_ID")


def _wants_local(args: argparse.Namespace) -> bool:
    if args.local or args.state_dir is not None:
        return True
    if any(getattr(args, flag, None) for flag in _TENANCY_FLAGS):
        return False
    # Neither said: the local target (which may not be running), unless the environment
    # names a tenancy.
    return not any(os.environ.get(name) for name in _TENANCY_ENV)


def connect(args: argparse.Namespace) -> Connection:
    """Build the :class:`Connection` the flags ask for.

    A local target that is not running is found out at once (its lock is free), before
    any connection is tried: :class:`TargetNotFound` says how to start one.
    """
    if _wants_local(args):
        from deploy.local.info import TargetNotRunning, running_info

        state_dir = args.state_dir or DEFAULT_STATE_DIR
        try:
            info = running_info(state_dir)
        except TargetNotRunning as exc:
            raise TargetNotFound(no_target_message(state_dir, exc.what)) from None
        except ValueError as exc:
            raise TargetNotFound(no_target_message(
                state_dir, f"{state_dir / 'target.json'} cannot be read ({exc})")) from None
        url = getattr(args, "url", None) or f"{info.gateway_url.rstrip('/')}/infer"
        settings = local_settings(info)
        if getattr(args, "bucket", None):
            settings = settings.model_copy(update={"bucket": args.bucket})
        return Connection(settings, url, local=True)
    base = Settings.from_env()
    update: dict[str, Any] = {}
    if getattr(args, "config_file", None) or getattr(args, "profile", None):
        update["auth"] = AuthMode.CONFIG_FILE
    for flag, field in (("config_file", "oci_config_file"), ("profile", "oci_profile"),
                        ("bucket", "bucket"), ("compartment_id", "compartment_id"),
                        ("region", "region"),
                        ("objectstorage_endpoint", "objectstorage_endpoint"),
                        ("genai_endpoint", "genai_endpoint"),
                        ("genai_inference_endpoint", "genai_inference_endpoint")):
        value = getattr(args, flag, None)
        if value:
            update[field] = value
    settings = Settings.model_validate({**base.model_dump(), **update})
    return Connection(settings, getattr(args, "url", None), local=False)
