"""The REST surface of the GenAI emulation, spoken to by the real oci SDK.

A bare stdlib HTTP server carries the calls (signatures are the emulator
server's job and are tested with it); this checks paths, query parameters,
bodies, headers and the shapes the SDK deserialises.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import oci
import pytest
from oci.generative_ai import GenerativeAiClient
from oci.generative_ai import models as gm
from oci.generative_ai_inference import GenerativeAiInferenceClient
from oci.generative_ai_inference import models as im

from deploy.local.emulator.genai.config import GenAiConfig
from deploy.local.emulator.genai.rest import Call, GenAiRest
from deploy.local.emulator.genai.samples import finance_pairs, to_jsonl

C = "ocid1.compartment.oc1..rest"
PAIRS = finance_pairs(36)


class _PassThrough(oci.auth.signers.SecurityTokenSigner):  # type: ignore[misc]
    """Leaves requests unsigned (this bare server does not verify signatures)."""

    def __init__(self) -> None:
        pass

    def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
        return request


def _serve(rest: GenAiRest) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            call = Call(self.command, unquote(url.path), parse_qs(url.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(length))
            reply = rest.dispatch(call)
            body = b"" if reply.payload is None else json.dumps(reply.payload).encode()
            self.send_response(reply.status)
            for key, value in {**reply.headers, "content-type": "application/json",
                               "opc-request-id": "test"}.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[tuple[GenerativeAiClient, GenerativeAiInferenceClient,
                                              GenAiRest]]:
    objects = {("ns", "b", "data.jsonl"): to_jsonl(PAIRS)}

    def opener(namespace: str, bucket: str, name: str) -> BinaryIO:
        return io.BytesIO(objects[(namespace, bucket, name)])

    rest = GenAiRest(tmp_path, opener, GenAiConfig(provisioning_seconds=0, seconds_per_epoch=0))
    server = _serve(rest)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    kwargs: dict[str, Any] = {"signer": _PassThrough(), "service_endpoint": endpoint}
    config = {"region": "us-chicago-1"}
    yield GenerativeAiClient(config, **kwargs), GenerativeAiInferenceClient(config, **kwargs), rest
    server.shutdown()
    server.server_close()
    rest.stop()


def test_sdk_round_trip_through_the_rest_surface(clients: Any) -> None:
    genai, inference, rest = clients
    [base] = [m for m in genai.list_models(C, capability=["CHAT", "FINE_TUNE"]).data.items
              if m.display_name == "cohere.command-r-08-2024"]
    ft = genai.create_dedicated_ai_cluster(gm.CreateDedicatedAiClusterDetails(
        compartment_id=C, type="FINE_TUNING", unit_shape="SMALL_COHERE_V2", unit_count=8))
    assert ft.headers["opc-work-request-id"] and ft.headers["etag"]
    created = genai.create_model(gm.CreateModelDetails(
        compartment_id=C, base_model_id=base.id, fine_tune_details=gm.FineTuneDetails(
            dedicated_ai_cluster_id=ft.data.id,
            training_dataset=gm.ObjectStorageDataset(
                namespace_name="ns", bucket_name="b", object_name="data.jsonl"),
            training_config=gm.LoraTrainingConfig(lora_dropout=0.2))),
        opc_retry_token="rest-1")
    assert rest.control.wait_idle()
    model = genai.get_model(created.data.id).data
    assert model.lifecycle_state == "ACTIVE"
    assert model.fine_tune_details.training_config.lora_dropout == 0.2
    wr = genai.get_work_request(created.headers["opc-work-request-id"]).data
    assert (wr.status, wr.percent_complete) == ("SUCCEEDED", 100.0)
    listed = genai.list_work_requests(C, resource_id=model.id).data.items
    assert [w.id for w in listed] == [wr.id]

    hosting = genai.create_dedicated_ai_cluster(gm.CreateDedicatedAiClusterDetails(
        compartment_id=C, type="HOSTING", unit_shape="SMALL_COHERE_V2", unit_count=1)).data
    endpoint = genai.create_endpoint(gm.CreateEndpointDetails(
        compartment_id=C, model_id=model.id, dedicated_ai_cluster_id=hosting.id)).data
    assert genai.get_endpoint(endpoint.id).data.lifecycle_state == "ACTIVE"
    pair = PAIRS[30]
    reply = inference.chat(im.ChatDetails(
        compartment_id=C, serving_mode=im.DedicatedServingMode(endpoint_id=endpoint.id),
        chat_request=im.CohereChatRequest(message=pair.prompt, is_echo=True))).data
    assert reply.chat_response.text == pair.completion
    assert reply.chat_response.prompt == pair.prompt
    assert reply.chat_response.chat_history[-1].message == pair.completion

    with pytest.raises(oci.exceptions.ServiceError) as stale:
        genai.delete_endpoint(endpoint.id, if_match="not-the-etag")
    assert stale.value.status == 412
    etag = genai.get_endpoint(endpoint.id).headers["etag"]
    deleted = genai.delete_endpoint(endpoint.id, if_match=etag)
    assert deleted.status == 202 and deleted.headers["opc-work-request-id"]


def test_errors_and_paging_over_rest(clients: Any) -> None:
    genai, inference, _ = clients
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        genai.get_endpoint("ocid1.generativeaiendpoint.oc1..none")
    assert (missing.value.status, missing.value.code) == (404, "NotAuthorizedOrNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as on_demand:
        inference.chat(im.ChatDetails(
            compartment_id=C, serving_mode=im.OnDemandServingMode(model_id="cohere.command-r"),
            chat_request=im.CohereChatRequest(message="hi")))
    # on-demand serving exists (issue 25); a model id that names no model is not found
    assert (on_demand.value.status, on_demand.value.code) == (404, "NotAuthorizedOrNotFound")
    page = genai.list_models(C, limit=3, sort_by="displayName", sort_order="DESC")
    assert len(page.data.items) == 3 and page.headers["opc-next-page"] == "3"
    rest_of = genai.list_models(C, limit=100, page="3", sort_by="displayName",
                                sort_order="DESC").data.items
    names = [m.display_name for m in page.data.items + rest_of]
    assert names == sorted(names, reverse=True)
