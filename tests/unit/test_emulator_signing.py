"""Signature verification reconstructs exactly what the oci SDK signs."""

from __future__ import annotations

import base64
import email.utils
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from oci._vendor import requests
from oci.signer import Signer

from deploy.local.emulator.http import Headers
from deploy.local.emulator.keys import ensure_identity, fingerprint_of, new_private_key
from deploy.local.emulator.signing import (
    SignatureError,
    Verifier,
    content_sha256,
    parse_authorization,
    signing_string,
)

KEY_ID = "ocid1.tenancy.oc1..aaaa/ocid1.user.oc1..bbbb/00:11"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return new_private_key()


def _signer(key: rsa.RSAPrivateKey) -> Signer:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    tenancy, user, fingerprint = KEY_ID.split("/")
    return Signer(tenancy, user, fingerprint, None, private_key_content=pem)


def _signed(key: rsa.RSAPrivateKey, method: str, url: str, body: bytes | None = None,
            content_headers: bool = True) -> requests.PreparedRequest:
    prepared = requests.Request(method, url, data=body).prepare()
    signer = _signer(key)
    prepared = signer(prepared) if content_headers else signer.without_content_headers(prepared)
    return prepared


def _verify(verifier: Verifier, req: requests.PreparedRequest,
            body_signed: bool = True) -> set[str]:
    params = verifier.verify(req.method or "", req.path_url, Headers(req.headers.items()),
                             body_signed)
    return set(params.headers)


def test_sdk_get_signature_verifies_with_path_and_query(private_key: rsa.RSAPrivateKey) -> None:
    verifier = Verifier({KEY_ID: private_key.public_key()})
    req = _signed(private_key, "GET", "http://127.0.0.1:8080/n/ns/b/bk/o?prefix=a%2Fb&limit=5")
    assert _verify(verifier, req) == {"date", "(request-target)", "host"}


def test_signing_string_matches_the_sdk_layout(private_key: rsa.RSAPrivateKey) -> None:
    body = b'{"name":"b"}'
    req = _signed(private_key, "POST", "http://127.0.0.1:9/n/ns/b?x=1", body)
    params = parse_authorization(req.headers["authorization"])
    assert params.headers == ("date", "(request-target)", "host", "content-length",
                              "content-type", "x-content-sha256")
    text = signing_string(params.headers, "POST", "/n/ns/b?x=1", Headers(req.headers.items()))
    lines = text.decode().split("\n")
    assert lines[1] == "(request-target): post /n/ns/b?x=1"
    assert lines[2] == "host: 127.0.0.1:9"
    assert lines[5] == f"x-content-sha256: {content_sha256(body)}"
    private_key.public_key().verify(params.signature, text, padding.PKCS1v15(), hashes.SHA256())


def test_body_operations_must_sign_body_headers_unless_exempt(
        private_key: rsa.RSAPrivateKey) -> None:
    verifier = Verifier({KEY_ID: private_key.public_key()})
    req = _signed(private_key, "PUT", "http://h/n/ns/b/bk/o/x", b"data", content_headers=False)
    with pytest.raises(SignatureError, match="not signed"):
        _verify(verifier, req)
    assert "x-content-sha256" not in _verify(verifier, req, body_signed=False)


def test_changed_target_or_header_breaks_the_signature(private_key: rsa.RSAPrivateKey) -> None:
    verifier = Verifier({KEY_ID: private_key.public_key()})
    req = _signed(private_key, "GET", "http://h/n/ns/b/one")
    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify("GET", "/n/ns/b/two", Headers(req.headers.items()))
    headers = dict(req.headers)
    headers["host"] = "evil:1"
    with pytest.raises(SignatureError, match="does not match"):
        verifier.verify("GET", req.path_url, Headers(headers.items()))


def test_other_key_unknown_key_and_stale_date_are_rejected(
        private_key: rsa.RSAPrivateKey) -> None:
    other = new_private_key()
    verifier = Verifier({KEY_ID: other.public_key()})
    req = _signed(private_key, "GET", "http://h/n/")
    with pytest.raises(SignatureError, match="does not match"):
        _verify(verifier, req)
    with pytest.raises(SignatureError, match="unknown keyId"):
        _verify(Verifier({}), req)
    old = requests.Request("GET", "http://h/n/").prepare()
    old.headers["date"] = email.utils.formatdate(time.time() - 3600, usegmt=True)
    old = _signer(private_key)(old)
    with pytest.raises(SignatureError, match="clock skew"):
        _verify(Verifier({KEY_ID: private_key.public_key()}), old)


def test_malformed_authorization_headers() -> None:
    for bad in ("Bearer abc", "Signature", 'Signature keyId="k"',
                'Signature keyId="k",signature="***"'):
        with pytest.raises(SignatureError):
            parse_authorization(bad)
    ok = parse_authorization(
        'Signature version="1",keyId="a/b/c",algorithm="rsa-sha256",headers="date host",'
        f'signature="{base64.b64encode(b"sig").decode()}"')
    assert (ok.key_id, ok.headers, ok.signature, ok.version) == ("a/b/c", ("date", "host"),
                                                                 b"sig", "1")


def test_identity_is_made_once_with_a_private_key_file(tmp_path: Path) -> None:
    first = ensure_identity(tmp_path)
    second = ensure_identity(tmp_path)
    assert first == second
    assert first.key_file.stat().st_mode & 0o777 == 0o600
    assert first.fingerprint == fingerprint_of(first.public_key())
    import oci

    config = oci.config.from_file(str(first.config_file), "DEFAULT")
    oci.config.validate_config(config)
    assert Signer.from_config(config).api_key == first.key_id
