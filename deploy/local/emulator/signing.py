"""Verification of OCI request signatures (HTTP Signatures, draft-cavage, rsa-sha256).

The SDK signs ``date (request-target) host`` on every request and adds
``content-length content-type x-content-sha256`` for PUT/POST/PATCH bodies,
except for operations that stream arbitrary data (Object Storage PutObject,
UploadPart), which are signed without body headers. The signing string is one
``name: value`` line per signed header, joined by ``\\n``, where
``(request-target)`` is ``<lower-case method> <path?query as sent>``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.request import parse_http_list

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from deploy.local.emulator.http import ServiceError

BASE_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
MAX_CLOCK_SKEW_S = 300.0


class SignatureError(Exception):
    """Why a request's signature was rejected (never contains key material)."""


@dataclass(frozen=True)
class SignatureParams:
    """The parsed ``Authorization: Signature ...`` header."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    version: str | None


def parse_authorization(value: str) -> SignatureParams:
    """Parse ``Signature k="v",...``; raise :class:`SignatureError` if malformed."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature" or not rest:
        raise SignatureError("authorization scheme is not Signature")
    fields: dict[str, str] = {}
    for item in parse_http_list(rest):
        key, sep, val = item.partition("=")
        if not sep:
            raise SignatureError("malformed signature parameter")
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        fields[key.strip().lower()] = val
    for required in ("keyid", "signature"):
        if required not in fields:
            raise SignatureError(f"signature parameter {required!r} is missing")
    try:
        signature = base64.b64decode(fields["signature"], validate=True)
    except ValueError:
        raise SignatureError("signature is not base64") from None
    headers = tuple(h.lower() for h in fields.get("headers", "date").split())
    return SignatureParams(key_id=fields["keyid"], algorithm=fields.get("algorithm", ""),
                           headers=headers, signature=signature, version=fields.get("version"))


def signing_string(signed: tuple[str, ...], method: str, target: str,
                   headers: Mapping[str, str]) -> bytes:
    """The exact bytes the client signed; ``headers`` must be case-insensitive."""
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in headers:
            lines.append(f"{name}: {headers[name]}")
        else:
            raise SignatureError(f"signed header {name!r} is missing from the request")
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError:
        raise SignatureError("signed headers are not ASCII") from None


def content_sha256(data: bytes) -> str:
    """``x-content-sha256`` of ``data`` as the SDK computes it."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class Verifier:
    """Checks signatures against the registered API keys (``keyId`` -> public key)."""

    def __init__(self, keys: Mapping[str, rsa.RSAPublicKey] | None = None,
                 max_skew_s: float = MAX_CLOCK_SKEW_S) -> None:
        self.keys: dict[str, rsa.RSAPublicKey] = dict(keys or {})
        self.max_skew_s = max_skew_s

    def add_key(self, key_id: str, public_key: rsa.RSAPublicKey) -> None:
        self.keys[key_id] = public_key

    def verify(self, method: str, target: str, headers: Mapping[str, str],
               body_signed: bool = True) -> SignatureParams:
        """Verify one request's signature; raise :class:`SignatureError` on any fault.

        ``x-content-sha256`` is *not* compared here (the body is not read yet): the
        caller checks it against the body when ``"x-content-sha256"`` is signed.
        """
        if "authorization" not in headers:
            raise SignatureError("the request is not signed")
        params = parse_authorization(headers["authorization"])
        if params.algorithm and params.algorithm.lower() != "rsa-sha256":
            raise SignatureError(f"unsupported algorithm {params.algorithm!r}")
        missing = [h for h in BASE_HEADERS if h not in params.headers]
        if body_signed and method.upper() in ("PUT", "POST", "PATCH"):
            missing += [h for h in BODY_HEADERS if h not in params.headers]
        if missing:
            raise SignatureError(f"required headers are not signed: {' '.join(missing)}")
        self._check_date(headers)
        key = self.keys.get(params.key_id)
        if key is None:
            raise SignatureError("unknown keyId")
        message = signing_string(params.headers, method, target, headers)
        try:
            key.verify(params.signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise SignatureError("signature does not match") from None
        return params

    def _check_date(self, headers: Mapping[str, str]) -> None:
        raw = headers.get("date") or headers.get("x-date")
        if not raw:
            raise SignatureError("date header is missing")
        try:
            when = email.utils.parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError):
            raise SignatureError("date header is not an HTTP date") from None
        if abs(time.time() - when) > self.max_skew_s:
            raise SignatureError("date header is outside the allowed clock skew")


def not_authenticated(reason: str) -> ServiceError:
    """The 401 OCI answers for any authentication failure."""
    return ServiceError(401, "NotAuthenticated",
                        f"The required information to complete authentication was not "
                        f"provided or was incorrect ({reason}).")
