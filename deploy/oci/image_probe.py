"""Cold-start probe of a function image's Python tree, one stage per process.

Imports the fdk entry module and the stage's module, then builds the OCI
clients the stage uses through ``shared.clients`` with a resource principal
(OCI Functions' own auth) whose token and key are made up on the spot, so no
network is touched. Prints one JSON line: how long that took and which
``oci`` sub-packages got loaded. Used by the trim test, by
``bench/image_size.py``, and runnable inside a built image:

    docker run --rm --entrypoint python3 <image> /function/deploy/oci/image_probe.py train
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import time

_START = time.perf_counter()

import importlib  # noqa: E402
import importlib.util  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

# Which OCI services each stage talks to (Notifications: the endpoint stage's optional ONS).
STAGE_SERVICES: dict[str, tuple[str, ...]] = {
    "convert": ("objectstorage",),
    "train": ("objectstorage", "generativeai"),
    "endpoint": ("objectstorage", "generativeai", "ons"),
    "watch": ("objectstorage", "generativeai"),
    "infer": ("generativeai", "generativeai_inference"),
    "evaluate": ("objectstorage", "generativeai_inference"),
}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def fake_resource_principal(workdir: str, region: str = "us-ashburn-1") -> dict[str, str]:
    """Environment of a v2.2 resource principal as OCI Functions sets it, with a made-up token."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem_path = os.path.join(workdir, "rp.pem")
    with open(pem_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    claims = {"exp": int(time.time()) + 3600, "res_type": "fnfunc",
              "res_tenant": "ocid1.tenancy.oc1..probe",
              "res_compartment": "ocid1.compartment.oc1..probe",
              "res_id": "ocid1.fnfunc.oc1.iad.probe"}
    token = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2ln"
    return {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2", "OCI_RESOURCE_PRINCIPAL_RPST": token,
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": pem_path, "OCI_RESOURCE_PRINCIPAL_REGION": region}


def probe(stage: str) -> dict[str, object]:
    """Import and build what ``stage`` needs; report time and loaded oci sub-packages."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as workdir:
        os.environ.update(fake_resource_principal(workdir))
        os.environ["OCIFT_STAGE"] = stage
        os.environ["OCIFT_AUTH"] = "resource_principal"
        t0 = time.perf_counter()
        # What the image's entrypoint does: /python/bin/fdk loads functions/handler.py by path.
        importlib.import_module("fdk.scripts.fdk")
        from fdk import customer_code

        t_fdk = time.perf_counter()

        entry = customer_code.Function(str(ROOT / "functions" / "handler.py"), entrypoint="handler")
        if not callable(entry.handler()):
            raise RuntimeError("functions/handler.py has no callable handler")
        importlib.import_module("functions.handler")
        t_entry = time.perf_counter()
        stage_module = f"functions.{stage}"
        has_module = importlib.util.find_spec(stage_module) is not None
        if has_module:
            importlib.import_module(stage_module)
        t_handler = time.perf_counter()

        from shared.clients import ClientKind, get_client
        from shared.settings import Settings

        settings = Settings.from_env()
        clients: dict[str, float] = {}
        for service in STAGE_SERVICES[stage]:
            t_client = time.perf_counter()
            if service == "ons":
                from oci.ons import NotificationDataPlaneClient

                from shared.auth import credentials

                creds = credentials(settings)
                NotificationDataPlaneClient(creds.config, **creds.client_kwargs())
            else:
                get_client(settings, ClientKind(service))
            clients[service] = round(time.perf_counter() - t_client, 4)
        t_clients = time.perf_counter()

    import oci

    loaded = sorted({name.split(".")[1] for name in sys.modules
                     if name.startswith("oci.") and name.count(".") >= 1})
    return {
        "stage": stage,
        "stage_module_present": has_module,
        "import_handler_s": round(t_handler - t0, 4),
        "import_and_clients_s": round(t_clients - t0, 4),
        "process_s": round(t_clients - _START, 4),
        # Where the time goes: fdk itself, the handler (runtime, pipeline modules, pydantic),
        # the stage's module, and each client (the first one also imports the SDK core and
        # builds the shared resource principal signer).
        "phases_s": {"fdk": round(t_fdk - t0, 4), "handler": round(t_entry - t_fdk, 4),
                     "stage_module": round(t_handler - t_entry, 4), "clients": clients},
        "oci_file": oci.__file__,
        "oci_subpackages": loaded,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in STAGE_SERVICES:
        print(f"usage: image_probe.py {{{','.join(STAGE_SERVICES)}}}", file=sys.stderr)
        return 2
    print(json.dumps(probe(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
