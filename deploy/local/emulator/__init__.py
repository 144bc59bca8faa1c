"""The local OCI emulator: one loopback HTTP server for every emulated service.

``build_emulator(state_dir)`` makes (once) a local API key and OCI config file,
opens the Object Storage state and the Generative AI service and returns an
:class:`Emulator`; ``.start()`` serves them on ``.endpoint``. Tests and tools
reach each service's knobs through :attr:`Emulator.objectstorage` and
:attr:`Emulator.genai`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.local.emulator.faults import Faults
from deploy.local.emulator.genai.service import GenAiService
from deploy.local.emulator.http import Service
from deploy.local.emulator.keys import COMPARTMENT_OCID, LocalIdentity, ensure_identity
from deploy.local.emulator.objectstorage import ObjectStorageBackend, ObjectStorageService
from deploy.local.emulator.server import EmulatorServer
from deploy.local.emulator.signing import Verifier

log = logging.getLogger("ocift.emulator")

NAMESPACE = "ociftlocal"

EventSink = Callable[[dict[str, Any]], None]


@dataclass
class Emulator:
    """A built emulator: its server, identity, Object Storage backend and GenAI service."""

    server: EmulatorServer
    identity: LocalIdentity
    objectstorage: ObjectStorageBackend
    genai: GenAiService
    namespace: str = NAMESPACE
    compartment_id: str = COMPARTMENT_OCID

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def config_file(self) -> Path:
        return self.identity.config_file

    @property
    def profile(self) -> str:
        return self.identity.profile

    @property
    def region(self) -> str:
        return self.identity.region

    @property
    def faults(self) -> Faults:
        return self.server.faults

    def sdk_config(self) -> dict[str, Any]:
        """The generated config file, loaded as the ``oci`` SDK loads it."""
        import oci

        config: dict[str, Any] = oci.config.from_file(str(self.config_file), self.profile)
        return config

    def start(self) -> Emulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_emulator(state_dir: Path | str, port: int = 0, on_event: EventSink | None = None,
                   faults: Faults | None = None, host: str = "127.0.0.1") -> Emulator:
    """Assemble keys, Object Storage and Generative AI on one server."""
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    identity = ensure_identity(state)
    backend = ObjectStorageBackend(state / "objectstorage", NAMESPACE, region=identity.region,
                                   on_event=on_event, created_by=identity.user)
    genai = GenAiService(state / "genai",
                         open_object=lambda ns, b, n: backend.open_object(ns, b, n)[1],
                         region=identity.region)
    services: list[Service] = [ObjectStorageService(backend), genai]
    verifier = Verifier({identity.key_id: identity.public_key()})
    server = EmulatorServer(state, services, host=host, port=port, faults=faults,
                            verifier=verifier)
    return Emulator(server=server, identity=identity, objectstorage=backend, genai=genai)


__all__ = ["NAMESPACE", "Emulator", "EmulatorServer", "Faults", "build_emulator"]
