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
from deploy.local.emulator.http import Service, ServiceError
from deploy.local.emulator.iam import (
    Authorizer,
    PrincipalRegistry,
    admin_principal,
    function_ocid,
    function_principal,
)
from deploy.local.emulator.keys import (
    COMPARTMENT_OCID,
    TENANCY_OCID,
    LocalIdentity,
    ensure_identity,
    ensure_principal_identity,
)
from deploy.local.emulator.objectstorage import ObjectStorageBackend, ObjectStorageService
from deploy.local.emulator.server import EmulatorServer
from deploy.local.emulator.signing import Verifier

log = logging.getLogger("ocift.emulator")

NAMESPACE = "ociftlocal"
COMPARTMENT_NAME = "ocift-local"

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
    tenancy_id: str = TENANCY_OCID

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

    @property
    def authorizer(self) -> Authorizer | None:
        """IAM enforcement, or ``None`` when the emulator was built with ``enforce=False``."""
        return self.server.authorizer

    def set_policy(self, statements: list[str]) -> None:
        """Enforce the administrator's statement plus ``statements`` (parsed first).

        Raises :class:`~deploy.local.emulator.iam.PolicyParseError` for a statement
        CreatePolicy would refuse; the policy in force is then unchanged.
        """
        if self.server.authorizer is None:
            raise RuntimeError("this emulator was built without IAM enforcement")
        self.server.authorizer.set_statements(statements)

    def add_function_principal(self, name: str, dynamic_groups: list[str]) -> LocalIdentity:
        """A key pair + config for function ``name``, signing as an ``fnfunc`` resource
        that belongs to ``dynamic_groups`` (its resource principal on OCI)."""
        ocid = function_ocid(name, self.region)
        identity = ensure_principal_identity(self.server.state_dir, name, ocid, self.region)
        self.server.verifier.add_key(identity.key_id, identity.public_key())
        self.server.principals.add(identity.key_id,
                                   function_principal(ocid, frozenset(dynamic_groups)))
        return identity

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
                   faults: Faults | None = None, host: str = "127.0.0.1",
                   enforce: bool = True) -> Emulator:
    """Assemble keys, Object Storage and Generative AI on one server.

    With ``enforce`` (the default) every request is authorized by IAM: the generated
    administrator key may do anything; other principals only what
    :meth:`Emulator.set_policy` grants them.
    """
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
    principals = PrincipalRegistry()
    principals.add(identity.key_id, admin_principal(identity.user))
    authorizer = Authorizer(
        TENANCY_OCID, {COMPARTMENT_OCID: COMPARTMENT_NAME},
        bucket_compartment=lambda ns, b: _bucket_compartment(backend, ns, b),
        object_exists=lambda ns, b, n: _object_exists(backend, ns, b, n),
        genai_compartment=_genai_compartment(genai)) if enforce else None
    server = EmulatorServer(state, services, host=host, port=port, faults=faults,
                            verifier=verifier, principals=principals, authorizer=authorizer)
    return Emulator(server=server, identity=identity, objectstorage=backend, genai=genai)


def _bucket_compartment(backend: ObjectStorageBackend, namespace: str, bucket: str) -> str | None:
    try:
        return backend.get_bucket(namespace, bucket).compartment_id
    except ServiceError:
        return None


def _object_exists(backend: ObjectStorageBackend, namespace: str, bucket: str,
                   name: str) -> bool:
    try:
        backend.head_object(namespace, bucket, name)
    except ServiceError:
        return False
    return True


def _genai_compartment(genai: GenAiService) -> Callable[[str], str | None]:
    """Reads a Generative AI resource through the service's own GET route."""
    from deploy.local.emulator.genai.rest import Call

    def lookup(path: str) -> str | None:
        reply = genai.dispatch(Call("GET", path, {}, {}))
        payload = reply.payload if reply.status == 200 else None
        value = payload.get("compartmentId") if isinstance(payload, dict) else None
        return value if isinstance(value, str) else None

    return lookup


__all__ = ["NAMESPACE", "Emulator", "EmulatorServer", "Faults", "build_emulator"]
