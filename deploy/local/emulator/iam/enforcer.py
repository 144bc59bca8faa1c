"""Authorizes each signed request before its handler runs, answering as OCI does.

The server calls :meth:`Authorizer.authorize` after the signature check. A
denied request is a 404 whose body cannot be told apart from a missing
resource: Object Storage operations inside a bucket answer ``BucketNotFound``
("Either the bucket named '...' does not exist in the namespace '...' or you are
not authorized to access it"), everything else ``NotAuthorizedOrNotFound``
("API Errors", https://docs.oracle.com/iaas/Content/API/References/apierrors.htm).
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, BinaryIO, cast

from deploy.local.emulator.http import Body, Request, Route, ServiceError
from deploy.local.emulator.iam.engine import Access, Policy, Principal
from deploy.local.emulator.iam.operations import CREATE_OR_OVERWRITE, Operation, operation_for
from deploy.local.emulator.iam.policy import Statement, parse_statement
from deploy.local.emulator.iam.principals import ADMIN_GROUP, ADMIN_STATEMENT

log = logging.getLogger("ocift.emulator.iam")

PEEK_LIMIT = 64 * 1024 * 1024

BucketCompartment = Callable[[str, str], "str | None"]
ObjectExists = Callable[[str, str, str], bool]
GenAiCompartment = Callable[[str], "str | None"]


def not_authorized() -> ServiceError:
    return ServiceError(404, "NotAuthorizedOrNotFound",
                        "Authorization failed or requested resource not found.")


def bucket_denied(namespace: str, bucket: str) -> ServiceError:
    return ServiceError(404, "BucketNotFound",
                        f"Either the bucket named '{bucket}' does not exist in the namespace "
                        f"'{namespace}' or you are not authorized to access it")


class Authorizer:
    """The policy in force plus how to find each target's compartment."""

    def __init__(self, tenancy_id: str, compartments: Mapping[str, str],
                 bucket_compartment: BucketCompartment, object_exists: ObjectExists,
                 genai_compartment: GenAiCompartment | None = None) -> None:
        self.tenancy_id = tenancy_id
        self.compartments = dict(compartments)
        self.bucket_compartment = bucket_compartment
        self.object_exists = object_exists
        self.genai_compartment = genai_compartment
        self._lock = threading.Lock()
        self._policy = Policy([ADMIN_STATEMENT], tenancy_id, self.compartments)

    @property
    def policy(self) -> Policy:
        with self._lock:
            return self._policy

    def set_statements(self, statements: Iterable[str | Statement]) -> None:
        """Replace the pipeline's statements (parsed first: a bad one changes nothing)."""
        parsed = [parse_statement(s) if isinstance(s, str) else s for s in statements]
        policy = Policy([parse_statement(ADMIN_STATEMENT), *parsed], self.tenancy_id,
                        self.compartments)
        with self._lock:
            self._policy = policy

    # -- per request -----------------------------------------------------------------------------

    def authorize(self, principal: Principal, route: Route, req: Request,
                  params: Mapping[str, str]) -> None:
        """Return if ``principal`` may run this request; raise OCI's 404 otherwise."""
        op = operation_for(route.method, route.pattern)
        if op is None:
            if ADMIN_GROUP in principal.groups:
                return
            raise not_authorized()
        if not op.permissions:
            return
        accesses = self._accesses(op, req, params)
        policy = self.policy
        for access in accesses:
            if not policy.allows(principal, access):
                log.info("request denied", extra={"operation": access.operation,
                                                  "principal": principal.id,
                                                  "permissions": list(access.permissions)})
                if "bucketName" in params:
                    raise bucket_denied(params.get("namespaceName", ""), params["bucketName"])
                raise not_authorized()

    def _accesses(self, op: Operation, req: Request, params: Mapping[str, str]) -> list[Access]:
        ns, bucket = params.get("namespaceName", ""), params.get("bucketName")
        variables: dict[str, str] = {}
        compartment: str | None = None
        obj_name = params.get("objectName")
        if op.target == "namespace":
            if op.name == "CreateBucket":
                body = _peek_json(req)
                compartment = _str(body.get("compartmentId"))
                if _str(body.get("name")):
                    variables["target.bucket.name"] = str(body["name"])
            else:
                compartment = req.param("compartmentId")
        elif op.target in ("bucket", "object", "upload-body") and bucket is not None:
            compartment = self.bucket_compartment(ns, bucket)
            variables["target.bucket.name"] = bucket
            if op.target == "upload-body":
                obj_name = _str(_peek_json(req).get("object"))
            if op.target in ("object", "upload-body") and obj_name is not None:
                variables["target.object.name"] = obj_name
        elif op.target == "genai-list":
            compartment = req.param("compartmentId")
        elif op.target in ("genai-create", "genai-inference"):
            compartment = _str(_peek_json(req).get("compartmentId"))
        elif op.target == "genai-resource" and self.genai_compartment is not None:
            compartment = self.genai_compartment(req.path.split("/errors")[0]
                                                 .split("/logs")[0])
        permissions = op.permissions
        if CREATE_OR_OVERWRITE in permissions:
            exists = bucket is not None and obj_name is not None and self.object_exists(
                ns, bucket, obj_name)
            permissions = ("OBJECT_OVERWRITE" if exists else "OBJECT_CREATE",)
        accesses = [Access(op.name, op.resource_type, permissions, compartment, variables)]
        if op.name == "CreateModel":
            accesses.extend(self._training_data_access(req))
        return accesses

    def _training_data_access(self, req: Request) -> list[Access]:
        """CreateModel reads the training dataset as the caller: it needs OBJECT_READ on it.

        The GenAI IAM page ("Access to Generative AI Training Datasets") asks for object
        access in the bucket's compartment for whoever creates the model; the stricter
        reading (read on that very object) is enforced.
        """
        body = _peek_json(req)
        details = body.get("fineTuneDetails") if isinstance(body, dict) else None
        dataset = details.get("trainingDataset") if isinstance(details, dict) else None
        if not isinstance(dataset, dict):
            return []
        ns, bucket, name = (_str(dataset.get(k)) for k in ("namespaceName", "bucketName",
                                                             "objectName"))
        if not (ns and bucket and name):
            return []
        return [Access("CreateModel", "objects", ("OBJECT_READ",),
                       self.bucket_compartment(ns, bucket),
                       {"target.bucket.name": bucket, "target.object.name": name})]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _peek_json(req: Request) -> dict[str, Any]:
    """The JSON body as a dict, leaving the body readable again for the handler."""
    cached = getattr(req, "_iam_json", None)
    if isinstance(cached, dict):
        return cached
    data = req.read_bytes(PEEK_LIMIT)
    req.body = Body(cast(BinaryIO, io.BytesIO(data)), len(data), chunked=False)
    try:
        doc = json.loads(data) if data else {}
    except ValueError:
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    req.__dict__["_iam_json"] = doc
    return doc
