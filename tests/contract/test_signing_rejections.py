"""Every emulator request is authenticated as OCI does it; faults are injectable."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from oci._vendor import requests
from oci.signer import Signer

from deploy.local.emulator import Emulator
from deploy.local.emulator.keys import new_private_key

pytestmark = pytest.mark.contract


def _send(emu: Emulator, prepared: requests.PreparedRequest,
          body: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    """Send exactly these headers and ``body`` (default: the prepared body)."""
    url = urlsplit(prepared.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        payload = prepared.body if body is None else body
        if isinstance(payload, str):
            payload = payload.encode()
        conn.request(prepared.method or "GET", prepared.path_url, body=payload,
                     headers=dict(prepared.headers))
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
            json.loads(raw) if raw else {}
    finally:
        conn.close()


def _signed(emu: Emulator, method: str, path: str, body: bytes | None = None,
            key_pem: str | None = None) -> requests.PreparedRequest:
    config = emu.sdk_config()
    signer = Signer(config["tenancy"], config["user"], config["fingerprint"],
                    config["key_file"], private_key_content=key_pem)
    prepared = requests.Request(method, emu.endpoint + path, data=body).prepare()
    return signer(prepared)


def _assert_not_authenticated(status: int, headers: dict[str, str], doc: Any) -> None:
    assert status == 401
    assert doc["code"] == "NotAuthenticated" and doc["message"]
    assert headers["opc-request-id"]


def test_unsigned_request_is_401(emulator: Emulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(emulator.endpoint + "/n/", timeout=30)
    assert info.value.code == 401
    _assert_not_authenticated(401, {k.lower(): v for k, v in info.value.headers.items()},
                              json.loads(info.value.read()))


def test_correctly_signed_raw_request_passes(emulator: Emulator) -> None:
    status, _, doc = _send(emulator, _signed(emulator, "GET", "/n/"))
    assert (status, doc) == (200, emulator.namespace)


def test_request_signed_with_another_key_is_401(emulator: Emulator) -> None:
    other = new_private_key().private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    _assert_not_authenticated(*_send(emulator, _signed(emulator, "GET", "/n/", key_pem=other)))
    config = dict(emulator.sdk_config(), key_content=other)
    config.pop("key_file")
    client = oci.object_storage.ObjectStorageClient(
        config, service_endpoint=emulator.endpoint, retry_strategy=oci.retry.NoneRetryStrategy())
    with pytest.raises(oci.exceptions.ServiceError) as info:
        client.get_namespace()
    assert (info.value.status, info.value.code) == (401, "NotAuthenticated")


def test_tampered_body_fails_the_content_hash(emulator: Emulator) -> None:
    details = {"name": "good", "compartmentId": emulator.compartment_id}
    body = json.dumps(details).encode()
    prepared = _signed(emulator, "POST", f"/n/{emulator.namespace}/b", body)
    tampered = body.replace(b"good", b"evil")
    _assert_not_authenticated(*_send(emulator, prepared, tampered))
    assert emulator.objectstorage.list_buckets(emulator.namespace) == []
    status, _, doc = _send(emulator, prepared)
    assert (status, doc["name"]) == (200, "good")


def test_body_operation_without_signed_body_headers_is_401(emulator: Emulator) -> None:
    config = emulator.sdk_config()
    signer = Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    body = json.dumps({"name": "b", "compartmentId": emulator.compartment_id}).encode()
    prepared = requests.Request("POST", f"{emulator.endpoint}/n/{emulator.namespace}/b",
                                data=body).prepare()
    _assert_not_authenticated(*_send(emulator, signer.without_content_headers(prepared)))


def test_unknown_path_is_authenticated_first_then_404(emulator: Emulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(emulator.endpoint + "/nothing/here", timeout=30)
    assert info.value.code == 401
    status, _, doc = _send(emulator, _signed(emulator, "GET", "/nothing/here"))
    assert (status, doc["code"]) == (404, "NotFound")


def test_faults_admin_route_injects_429_and_500(emulator: Emulator) -> None:
    def admin(settings: dict[str, Any]) -> dict[str, Any]:
        status, _, doc = _send(emulator, _signed(emulator, "POST", "/_emulator/faults",
                                                 json.dumps(settings).encode()))
        assert status == 200, doc
        return dict(doc)

    client = oci.object_storage.ObjectStorageClient(
        emulator.sdk_config(), service_endpoint=emulator.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy())
    assert admin({"rate_429": 1.0, "retry_after_s": 7})["rate_429"] == 1.0
    with pytest.raises(oci.exceptions.ServiceError) as throttled:
        client.get_namespace()
    assert (throttled.value.status, throttled.value.code) == (429, "TooManyRequests")
    assert throttled.value.headers["retry-after"] == "7"
    admin({"rate_429": 0.0, "rate_500": 1.0})
    with pytest.raises(oci.exceptions.ServiceError) as broken:
        client.get_namespace()
    assert broken.value.status == 500
    admin({"rate_500": 0.0})
    assert client.get_namespace().data == emulator.namespace
    emulator.faults.update(rate_429=1.0)  # the Python API drives the same switch
    with pytest.raises(oci.exceptions.ServiceError):
        client.get_namespace()
    emulator.faults.update(rate_429=0.0)
    status, _, _ = _send(emulator, _signed(emulator, "POST", "/_emulator/faults",
                                           b'{"rate_429": 3}'))
    assert status == 400


def test_faults_admin_route_needs_the_administrators_signature(emulator: Emulator) -> None:
    for method, body in (("GET", None), ("POST", b'{"rate_500": 1}')):
        req = urllib.request.Request(emulator.endpoint + "/_emulator/faults", method=method,
                                     data=body)
        with pytest.raises(urllib.error.HTTPError) as unsigned:
            urllib.request.urlopen(req, timeout=30)
        assert unsigned.value.code == 401
        assert json.loads(unsigned.value.read())["code"] == "NotAuthenticated"
    stranger = new_private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    status, _, doc = _send(emulator, _signed(emulator, "POST", "/_emulator/faults",
                                             b'{"rate_500": 1}', key_pem=stranger))
    assert status == 401 and doc["code"] == "NotAuthenticated"
    assert emulator.faults.settings.rate_500 == 0.0  # nothing was switched on
    status, _, doc = _send(emulator, _signed(emulator, "GET", "/_emulator/faults"))
    assert status == 200 and doc["rate_500"] == 0.0


def test_sdk_retry_strategy_rides_through_injected_throttling(emulator: Emulator) -> None:
    emulator.faults.update(rate_429=0.5, retry_after_s=0, seed=3)
    strategy = oci.retry.RetryStrategyBuilder(
        max_attempts_check=True, max_attempts=12, service_error_check=True,
        retry_base_sleep_time_seconds=0, retry_exponential_growth_factor=1,
        retry_max_wait_between_calls_seconds=0,
        backoff_type=oci.retry.BACKOFF_FULL_JITTER_VALUE).get_retry_strategy()
    client = oci.object_storage.ObjectStorageClient(
        emulator.sdk_config(), service_endpoint=emulator.endpoint, retry_strategy=strategy)
    for _ in range(5):
        assert client.get_namespace().data == emulator.namespace
