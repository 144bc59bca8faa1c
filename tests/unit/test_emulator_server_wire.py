"""The emulator server on the wire: chunked uploads, keep-alive, streaming, atomic overwrites."""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from oci._vendor import requests
from oci.signer import Signer

from deploy.local.emulator import Emulator
from deploy.local.emulator.http import Request, Response, Route
from deploy.local.emulator.server import EmulatorServer


def _signed(config: dict[str, str], endpoint: str, method: str, path: str,
            body: bytes | None = None) -> dict[str, str]:
    """Headers of a request signed as the SDK signs it; body headers only with ``body``."""
    signer = Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    extra = {"content-type": "application/json"} if body is not None else {}
    prepared = requests.Request(method, endpoint + path, data=body, headers=extra).prepare()
    signer(prepared, enforce_content_headers=body is not None)
    headers = dict(prepared.headers)
    if body is None:
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    return headers


def _signed_headers(emu: Emulator, method: str, path: str) -> dict[str, str]:
    return _signed(emu.sdk_config(), emu.endpoint, method, path)


@pytest.fixture
def conn(emulator: Emulator) -> Iterator[http.client.HTTPConnection]:
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def _exchange(conn: http.client.HTTPConnection, emu: Emulator, method: str, path: str,
              body: bytes | Iterator[bytes] | None = None,
              chunked: bool = False) -> tuple[int, dict[str, str], bytes]:
    headers = _signed_headers(emu, method, path)
    conn.request(method, path, body=body, headers=headers, encode_chunked=chunked)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def test_chunked_put_is_de_chunked_and_stored(emulator: Emulator,
                                              conn: http.client.HTTPConnection) -> None:
    emulator.objectstorage.ensure_bucket(emulator.namespace, "wire", emulator.compartment_id)
    pieces = [os.urandom(70_000), b"", os.urandom(5), os.urandom(300_000)]
    path = f"/n/{emulator.namespace}/b/wire/o/chunked.bin"
    status, headers, _ = _exchange(conn, emulator, "PUT", path,
                                   body=iter([p for p in pieces if p]), chunked=True)
    assert status == 200, headers
    meta, stream = emulator.objectstorage.open_object(emulator.namespace, "wire", "chunked.bin")
    with stream:
        assert stream.read() == b"".join(pieces)
    assert meta.etag == headers["etag"]


def test_keep_alive_survives_errors_and_unread_bodies(emulator: Emulator,
                                                     conn: http.client.HTTPConnection) -> None:
    ns = emulator.namespace
    missing = f"/n/{ns}/b/nope/o/x"
    status, headers, body = _exchange(conn, emulator, "PUT", missing, body=b"y" * 50_000)
    assert status == 404
    assert json.loads(body)["code"] == "BucketNotFound"
    assert headers["content-type"] == "application/json"
    request_id = headers["opc-request-id"]
    sock = conn.sock
    assert sock is not None  # the unread 50 kB body was drained, the connection kept
    status, headers, body = _exchange(conn, emulator, "GET", f"/n/{ns}/b/nope")
    assert status == 404
    assert headers["opc-request-id"] != request_id
    status, _, body = _exchange(conn, emulator, "GET", "/n/")
    assert (status, json.loads(body)) == (200, ns)
    assert conn.sock is sock


def test_large_object_streams_back_with_length(emulator: Emulator,
                                               conn: http.client.HTTPConnection) -> None:
    ns = emulator.namespace
    emulator.objectstorage.ensure_bucket(ns, "big", emulator.compartment_id)
    payload = os.urandom(5 * 1024 * 1024 + 3)
    emulator.objectstorage.put_object(ns, "big", "blob", payload)
    status, headers, body = _exchange(conn, emulator, "GET", f"/n/{ns}/b/big/o/blob")
    assert status == 200
    assert int(headers["content-length"]) == len(payload)
    assert body == payload
    status, headers, body = _exchange(conn, emulator, "HEAD", f"/n/{ns}/b/big/o/blob")
    assert (status, body, int(headers["content-length"])) == (200, b"", len(payload))


def test_readers_never_see_a_partial_overwrite(emulator: Emulator) -> None:
    ns, backend = emulator.namespace, emulator.objectstorage
    backend.ensure_bucket(ns, "race", emulator.compartment_id)
    versions = [bytes([i]) * 400_000 for i in range(6)]
    backend.put_object(ns, "race", "obj", versions[0])
    seen: list[bytes] = []
    stop = threading.Event()

    def read_loop() -> None:
        while not stop.is_set():
            meta, stream = backend.open_object(ns, "race", "obj")
            with stream:
                data = stream.read()
            assert len(data) == meta.size
            seen.append(data)

    readers = [threading.Thread(target=read_loop) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for version in versions[1:]:
            backend.put_object(ns, "race", "obj", version)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert seen
    assert all(data in versions for data in seen)
    leftovers = list((backend.root / "tmp").iterdir())
    assert leftovers == []


def test_throttling_fault_carries_retry_after(emulator: Emulator,
                                              conn: http.client.HTTPConnection) -> None:
    emulator.faults.update(rate_429=1.0, retry_after_s=7)
    try:
        status, headers, body = _exchange(conn, emulator, "GET", "/n/")
    finally:
        emulator.faults.update(rate_429=0.0)
    assert (status, headers["retry-after"]) == (429, "7")
    assert json.loads(body)["code"] == "TooManyRequests"
    status, _, _ = _exchange(conn, emulator, "GET", "/n/")
    assert status == 200


def test_faults_admin_route_only_on_loopback(tmp_path: Path) -> None:
    exposed = EmulatorServer(tmp_path / "a", [], host="0.0.0.0")
    assert exposed.admin_enabled is False
    local = EmulatorServer(tmp_path / "b", [], host="127.0.0.1")
    assert local.admin_enabled is True


def test_plugged_service_routes_and_streamed_responses(tmp_path: Path) -> None:
    class Echo:
        name = "echo"

        def routes(self) -> list[Route]:
            return [Route("POST", "/20231130/echo/{id}", self.echo),
                    Route("GET", "/20231130/stream/{tail+}", self.stream)]

        def echo(self, req: Request, params: dict[str, str]) -> Response:
            return Response.json({"id": params["id"], "body": req.json()}, status=201)

        def stream(self, req: Request, params: dict[str, str]) -> Response:
            return Response(body=iter([params["tail"].encode(), b"|", b"end"]))

    server = EmulatorServer(tmp_path, [Echo()])
    server.start()
    config = _config_of(tmp_path)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        payload = json.dumps({"k": 1}).encode()
        path = "/20231130/echo/m1"
        conn.request("POST", path, body=payload,
                     headers=_signed(config, server.endpoint, "POST", path, payload))
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())) == (201, {"id": "m1", "body": {"k": 1}})
        conn.request("POST", path, body=payload,
                     headers=_signed(config, server.endpoint, "POST", path))
        resp = conn.getresponse()
        assert resp.status == 401  # POST bodies must be covered by the signature
        resp.read()
        path = "/20231130/stream/a/b%2Fc"
        conn.request("GET", path, headers=_signed(config, server.endpoint, "GET", path))
        resp = conn.getresponse()
        assert resp.getheader("transfer-encoding") == "chunked"
        assert resp.read() == b"a/b/c|end"
    finally:
        conn.close()
        server.stop()


def _config_of(state: Path) -> dict[str, str]:
    import oci

    config: dict[str, str] = oci.config.from_file(str(state / "auth" / "config"), "DEFAULT")
    return config
