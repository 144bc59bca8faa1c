"""Where the CLI talks to: the running local target (``--local``) or a real tenancy.

Local: ``<state-dir>/target.json`` written by the running target gives the
emulator endpoint, API key config, namespace, compartment and gateway URL.
Tenancy: ``OCIFT_*`` environment plus ``--profile/--config-file`` and the
optional endpoint flags; ``--url`` (or none) for the API Gateway route.
"""

from __future__ import annotations

import argparse
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


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--local", action="store_true",
                       help="use the running local target (default when .ocift/target.json exists)")
    group.add_argument("--state-dir", type=Path, default=None,
                       help=f"local target state directory (default {DEFAULT_STATE_DIR})")
    group.add_argument("--profile", default=None, help="OCI config profile (real tenancy)")
    group.add_argument("--config-file", default=None, help="OCI config file (real tenancy)")
    group.add_argument("--bucket", default=None, help="pipeline bucket (OCIFT_BUCKET)")
    group.add_argument("--compartment-id", default=None, help="compartment (OCIFT_COMPARTMENT_ID)")
    group.add_argument("--region", default=None)
    group.add_argument("--objectstorage-endpoint", default=None)
    group.add_argument("--genai-endpoint", default=None)
    group.add_argument("--genai-inference-endpoint", default=None)
    group.add_argument("--url", default=None,
                       help="inference route URL (API Gateway deployment .../infer)")


def local_settings(info: Any) -> Settings:
    """Pipeline settings for a running local target's :class:`TargetInfo`."""
    return Settings(bucket=info.bucket, namespace=info.namespace,
                    compartment_id=info.compartment_id, region=info.region,
                    auth=AuthMode.CONFIG_FILE, oci_config_file=info.config_file,
                    oci_profile=info.profile, objectstorage_endpoint=info.emulator_endpoint,
                    genai_endpoint=info.emulator_endpoint,
                    genai_inference_endpoint=info.emulator_endpoint)


def _wants_local(args: argparse.Namespace) -> bool:
    if args.local or args.state_dir is not None:
        return True
    if args.profile or args.config_file:
        return False
    return (DEFAULT_STATE_DIR / "target.json").exists()


def connect(args: argparse.Namespace) -> Connection:
    """Build the :class:`Connection` the flags ask for."""
    if _wants_local(args):
        from deploy.local.target import read_info

        state_dir = args.state_dir or DEFAULT_STATE_DIR
        try:
            info = read_info(state_dir)
        except FileNotFoundError:
            raise TargetNotFound(
                f"no running local target in {state_dir}: start one with 'ocift up' "
                "(or pass --profile/--config-file for a real tenancy)") from None
        url = args.url or f"{info.gateway_url.rstrip('/')}/infer"
        settings = local_settings(info)
        if args.bucket:
            settings = settings.model_copy(update={"bucket": args.bucket})
        return Connection(settings, url, local=True)
    base = Settings.from_env()
    update: dict[str, Any] = {}
    if args.config_file or args.profile:
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
    return Connection(settings, args.url, local=False)
