"""Every failure a user can cause, said in one line with what to do: never a traceback.

:func:`user_message` turns an exception into that line, or returns None for a bug
(``main`` then prints a one-line "unexpected error" and how to see the traceback:
``OCIFT_DEBUG=1``).
"""

from __future__ import annotations

import urllib.error

from shared.errors import ErrorKind, classify, describe, oci_answer

_SERVICE_HINTS = {
    401: "the request was not authenticated: check the API key and fingerprint of your "
         "OCI config profile (--profile / --config-file)",
    404: "it does not exist or you are not allowed to see it: check --bucket, "
         "--compartment-id, --region and your IAM policies",
    409: "it conflicts with the resource's current state: run `ocift status` and retry",
    429: "OCI is throttling requests: wait a little and retry",
}
#: Answers without a hint of their own, by what they mean (shared/errors.py).
_KIND_HINTS = {
    ErrorKind.PERMANENT: "OCI refused the request: fix what the message says and retry",
    ErrorKind.MISCONFIGURED: "check your OCI config profile, --region and your IAM policies",
    ErrorKind.TRANSIENT: "OCI could not serve it now: retry in a little while",
    ErrorKind.GONE: "it no longer exists: run `ocift status`",
}


def _service_error(exc: BaseException) -> str:
    answer = oci_answer(exc)
    if answer is None:  # pragma: no cover - a ServiceError always carries its answer
        return describe(exc)
    message = " ".join(answer.message.split())
    what = (f"OCI answered {answer.status} {answer.code}"
            + (f" to {answer.operation}" if answer.operation else ""))
    hint = _SERVICE_HINTS.get(answer.status) or _KIND_HINTS[classify(exc)]
    return f"{what}: {message[:300]}; {hint}"


def user_message(exc: BaseException) -> str | None:
    """One line for an error a user can fix; None when it is a bug."""
    try:
        import oci.exceptions as oci_exc
    except ImportError:  # pragma: no cover - oci is a dependency
        oci_exc = None
    if oci_exc is not None:
        if isinstance(exc, oci_exc.ServiceError):
            return _service_error(exc)
        if isinstance(exc, oci_exc.ConfigFileNotFound | oci_exc.ProfileNotFound
                      | oci_exc.InvalidConfig | oci_exc.InvalidPrivateKey
                      | oci_exc.MissingPrivateKeyPassphrase):
            return (f"the OCI configuration cannot be used ({type(exc).__name__}: {exc}): "
                    "create it with `oci setup config`, or pass --config-file / --profile")
        if isinstance(exc, oci_exc.RequestException | oci_exc.ConnectTimeout):
            return (f"OCI could not be reached ({type(exc).__name__}: {exc}): check your "
                    "network and --region")
    if isinstance(exc, urllib.error.URLError):
        return (f"the inference route did not answer ({exc.reason}): check --url, or that "
                "the local target still runs (`ocift status`)")
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"the connection failed ({exc}): check the network, then retry"
    if isinstance(exc, OSError):
        name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or exc}{':' if name else ''}{name}"
    try:
        import requests
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, requests.exceptions.RequestException):
        return (f"the request failed ({type(exc).__name__}: {exc}): check the network and "
                "the endpoint, then retry")
    return None
