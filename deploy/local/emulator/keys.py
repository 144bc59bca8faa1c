"""The local API identity: one RSA key pair and an OCI config file, made once per state dir.

The OCIDs are fake but well formed (the SDK and CLI validate their shape); the
fingerprint is the real MD5 fingerprint of the public key, as OCI computes it.
Key material is never logged.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TENANCY_OCID = "ocid1.tenancy.oc1..aaaaaaaaocifto1ocalemu1atortenancy0000000000000000000000"
USER_OCID = "ocid1.user.oc1..aaaaaaaaocifto1ocalemu1atoruser00000000000000000000000000000"
COMPARTMENT_OCID = "ocid1.compartment.oc1..aaaaaaaaocifto1ocalemu1atorcompartment000000000000000000"
REGION = "us-chicago-1"
PROFILE = "DEFAULT"
KEY_LABEL = b"OCI_API_KEY\n"  # the label `oci setup keys` appends (the CLI warns without it)


@dataclass(frozen=True)
class LocalIdentity:
    """Where the key and config live, and the values the config names."""

    key_file: Path
    config_file: Path
    tenancy: str
    user: str
    fingerprint: str
    region: str
    profile: str = PROFILE

    @property
    def key_id(self) -> str:
        """The ``keyId`` the SDK puts in its signature."""
        return f"{self.tenancy}/{self.user}/{self.fingerprint}"

    def public_key(self) -> rsa.RSAPublicKey:
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{self.key_file} is not an RSA private key")
        return key.public_key()


def fingerprint_of(public_key: rsa.RSAPublicKey) -> str:
    """OCI's API-key fingerprint: MD5 of the DER SubjectPublicKeyInfo, colon-separated."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def config_text(identity: LocalIdentity) -> str:
    return (
        f"[{identity.profile}]\n"
        f"user={identity.user}\n"
        f"fingerprint={identity.fingerprint}\n"
        f"tenancy={identity.tenancy}\n"
        f"region={identity.region}\n"
        f"key_file={identity.key_file}\n"
    )


def ensure_identity(state_dir: Path, region: str = REGION) -> LocalIdentity:
    """Create (first time) or load the key pair and config under ``state_dir/auth``."""
    return _ensure_key(Path(state_dir) / "auth", USER_OCID, region)


def ensure_principal_identity(state_dir: Path, name: str, principal_ocid: str,
                              region: str = REGION) -> LocalIdentity:
    """The key pair and config of principal ``name`` under ``state_dir/auth/principals``.

    ``name`` must be a plain identifier (it names a directory).
    """
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"principal name {name!r} must be letters, digits, '-' or '_'")
    return _ensure_key(Path(state_dir) / "auth" / "principals" / name, principal_ocid, region)


def _ensure_key(auth_dir: Path, user: str, region: str) -> LocalIdentity:
    auth_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(auth_dir, 0o700)
    key_file = auth_dir / "oci_api_key.pem"
    if not key_file.exists():
        pem = new_private_key().private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
        _write_private(key_file, pem + KEY_LABEL)
    identity = LocalIdentity(key_file=key_file.resolve(),
                             config_file=(auth_dir / "config").resolve(),
                             tenancy=TENANCY_OCID, user=user, fingerprint="", region=region)
    identity = replace(identity, fingerprint=fingerprint_of(identity.public_key()))
    text = config_text(identity)
    if not identity.config_file.exists() or identity.config_file.read_text() != text:
        _write_private(identity.config_file, text.encode())
    return identity
