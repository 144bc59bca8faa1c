"""One place decides how the pipeline authenticates to OCI.

* On OCI Functions (``OCI_RESOURCE_PRINCIPAL_VERSION`` is set by the platform)
  the resource principal signer is used: no key ever touches the image.
* Elsewhere an API-key config file is used: ``OCIFT_OCI_CONFIG_FILE`` /
  ``OCIFT_OCI_PROFILE`` or the SDK default ``~/.oci/config``. The local
  target generates such a file for its own emulator key.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from shared import caches
from shared.settings import AuthMode, Settings, SettingsError

RESOURCE_PRINCIPAL_ENV = "OCI_RESOURCE_PRINCIPAL_VERSION"


@dataclass(frozen=True)
class Credentials:
    """What an ``oci`` client constructor needs: a config dict and maybe a signer."""

    config: dict[str, Any]
    signer: Any | None = None

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.signer is not None:
            kwargs["signer"] = self.signer
        return kwargs


def resolve_mode(settings: Settings, env: dict[str, str] | None = None) -> AuthMode:
    """``auto`` means resource principal inside OCI Functions, config file otherwise."""
    if settings.auth is not AuthMode.AUTO:
        return settings.auth
    source = os.environ if env is None else env
    if source.get(RESOURCE_PRINCIPAL_ENV):
        return AuthMode.RESOURCE_PRINCIPAL
    return AuthMode.CONFIG_FILE


#: The resource principal variables OCI Functions sets; a change means another principal.
_RP_ENV = (RESOURCE_PRINCIPAL_ENV, "OCI_RESOURCE_PRINCIPAL_RPST",
           "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", "OCI_RESOURCE_PRINCIPAL_REGION")
_shared: dict[tuple[str | None, ...], Credentials] = {}
_shared_lock = threading.Lock()


def credentials(settings: Settings) -> Credentials:
    """The process's credentials for ``settings``: built once, shared by every client.

    A signer is "a requests auth instance that can be reused across requests"
    (https://docs.oracle.com/iaas/tools/python/latest/api/signing.html) and the resource
    principal signer refreshes its token under its own lock, so one per process serves
    every client; loading the key again per client cost ~30 ms of each cold start.
    """
    key = (resolve_mode(settings).value, settings.oci_config_file, settings.oci_profile,
           settings.region, *(os.environ.get(name) for name in _RP_ENV))
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = load_credentials(settings)
    return found


def _forget_credentials() -> None:
    with _shared_lock:
        _shared.clear()


caches.register("credentials", _forget_credentials)


def load_credentials(settings: Settings) -> Credentials:
    """Build credentials for the chosen mode; raises :class:`SettingsError` with the fix."""
    import oci  # imported lazily: keeps handler cold start down for the stages that never call OCI

    mode = resolve_mode(settings)
    if mode is AuthMode.RESOURCE_PRINCIPAL:
        try:
            signer = oci.auth.signers.get_resource_principals_signer()
        except Exception as exc:  # the SDK raises several types here
            raise SettingsError(
                "resource principal authentication failed: is this running in OCI Functions "
                "with a dynamic group and policy for it? Set OCIFT_AUTH=config_file to use an "
                f"API key instead ({type(exc).__name__})"
            ) from None
        region = settings.region or getattr(signer, "region", None)
        config: dict[str, Any] = {"region": region} if region else {}
        return Credentials(config=config, signer=signer)

    path = settings.oci_config_file or oci.config.DEFAULT_LOCATION
    path = os.path.expanduser(path)
    try:
        config = oci.config.from_file(file_location=path, profile_name=settings.oci_profile)
    except oci.exceptions.ConfigFileNotFound:
        raise SettingsError(
            f"OCI config file {path} not found: set OCIFT_OCI_CONFIG_FILE to an API-key config "
            "file (the local target prints its own), or run inside OCI Functions"
        ) from None
    except oci.exceptions.ProfileNotFound:
        raise SettingsError(
            f"profile {settings.oci_profile!r} not found in {path}: set OCIFT_OCI_PROFILE"
        ) from None
    except oci.exceptions.InvalidConfig as exc:
        raise SettingsError(f"OCI config file {path} is invalid: {exc}") from None
    if settings.region:
        config["region"] = settings.region
    return Credentials(config=config, signer=None)
