from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared import caches, clients
from shared.auth import load_credentials, resolve_mode
from shared.settings import AuthMode, Settings, SettingsError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / "key.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cfg = tmp_path / "config"
    cfg.write_text(
        "[DEFAULT]\n"
        "user=ocid1.user.oc1..aaaaaaaatest\n"
        "fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\n"
        "tenancy=ocid1.tenancy.oc1..aaaaaaaatest\n"
        "region=us-chicago-1\n"
        f"key_file={key_path}\n"
        "[OTHER]\n"
        "user=ocid1.user.oc1..aaaaaaaaother\n"
        "fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\n"
        "tenancy=ocid1.tenancy.oc1..aaaaaaaatest\n"
        "region=eu-frankfurt-1\n"
        f"key_file={key_path}\n"
    )
    return cfg


def test_auto_mode_picks_resource_principal_only_inside_functions() -> None:
    s = Settings()
    assert resolve_mode(s, {}) is AuthMode.CONFIG_FILE
    assert resolve_mode(s, {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}) is AuthMode.RESOURCE_PRINCIPAL
    forced = Settings(auth=AuthMode.CONFIG_FILE)
    assert resolve_mode(forced, {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}) is AuthMode.CONFIG_FILE


def test_config_file_and_profile_are_used(config_file: Path) -> None:
    creds = load_credentials(Settings(oci_config_file=str(config_file), oci_profile="OTHER"))
    assert creds.config["region"] == "eu-frankfurt-1"
    assert creds.config["user"].endswith("other")
    assert creds.signer is None


def test_region_setting_overrides_the_file(config_file: Path) -> None:
    creds = load_credentials(Settings(oci_config_file=str(config_file), region="uk-london-1"))
    assert creds.config["region"] == "uk-london-1"


def test_missing_config_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OCIFT_OCI_CONFIG_FILE"):
        load_credentials(Settings(auth=AuthMode.CONFIG_FILE,
                                  oci_config_file=str(tmp_path / "nope")))


def test_missing_profile_is_named(config_file: Path) -> None:
    with pytest.raises(SettingsError, match="NOPE"):
        load_credentials(Settings(oci_config_file=str(config_file), oci_profile="NOPE"))


def test_resource_principal_outside_functions_fails_clearly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OCI_RESOURCE_PRINCIPAL_VERSION", "OCI_RESOURCE_PRINCIPAL_RPST",
                "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", "OCI_RESOURCE_PRINCIPAL_REGION"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SettingsError, match="resource principal"):
        load_credentials(Settings(auth=AuthMode.RESOURCE_PRINCIPAL))


def test_clients_are_cached_per_process_and_honour_endpoint_override(config_file: Path) -> None:
    clients.reset_clients()
    s = Settings(oci_config_file=str(config_file), objectstorage_endpoint="http://127.0.0.1:9",
                 genai_endpoint="http://127.0.0.1:8", genai_inference_endpoint="http://127.0.0.1:7")
    os1 = clients.object_storage(s)
    assert clients.object_storage(s) is os1
    assert os1.base_client.endpoint.startswith("http://127.0.0.1:9")
    assert clients.generative_ai(s).base_client.endpoint.startswith("http://127.0.0.1:8")
    assert clients.generative_ai_inference(s).base_client.endpoint.startswith("http://127.0.0.1:7")
    other = Settings(oci_config_file=str(config_file), objectstorage_endpoint="http://127.0.0.1:10")
    assert clients.object_storage(other) is not os1
    clients.reset_clients()
    assert clients.object_storage(s) is not os1


def test_retry_strategy_is_bounded_by_settings() -> None:
    strategy = clients.retry_strategy(Settings(retry_max_attempts=3, retry_max_seconds=7))
    checkers = {type(c).__name__: c for c in strategy.checkers.checkers}
    assert checkers["LimitBasedRetryChecker"].max_attempts == 3
    assert checkers["TimeoutConnectionAndServiceErrorRetryChecker"] is not None
    assert checkers["TotalTimeExceededRetryChecker"].time_limit_seconds == 7


def test_the_serving_client_comes_from_the_factory_with_its_own_bounded_retries(
        config_file: Path) -> None:
    from oci.exceptions import ConnectTimeout

    from shared.stages import infer
    from tests.support.fakes import service_error

    caches.reset_all()
    s = Settings(oci_config_file=str(config_file), genai_endpoint="http://127.0.0.1:8",
                 genai_inference_endpoint="http://127.0.0.1:7")
    serving = clients.serving_inference(s)
    assert clients.serving_inference(s) is serving and serving is not \
        clients.generative_ai_inference(s)  # the stages' probe keeps the standard strategy
    assert serving.base_client.endpoint.startswith("http://127.0.0.1:7")
    assert serving.base_client.timeout == clients.SERVING_TIMEOUT
    assert infer.backend(s).inference is serving  # POST /infer uses it

    checks = serving.retry_strategy.checkers

    def retried(exc: BaseException, attempt: int = 1, elapsed: float = 0.5) -> bool:
        return bool(checks.should_retry(exception=exc, current_attempt=attempt,
                                        total_time_elapsed=elapsed))

    assert retried(service_error(503, "ServiceUnavailable"))
    assert retried(service_error(500, "InternalServerError")) and retried(ConnectTimeout())
    assert not retried(service_error(429, "TooManyRequests"))  # the caller gets Retry-After
    for status, code in ((400, "InvalidParameter"), (404, "NotAuthorizedOrNotFound"),
                         (409, "IncorrectState"), (501, "MethodNotImplemented")):
        assert not retried(service_error(status, code))
    assert not retried(service_error(503, "ServiceUnavailable"), attempt=2)  # once at most
    # ...and never once the call has taken longer than a fast failure would.
    assert not retried(service_error(503, "ServiceUnavailable"),
                       elapsed=clients.SERVING_RETRY_SECONDS + 0.1)
    caches.reset_all()


def test_every_client_of_a_resource_principal_shares_one_signer_loaded_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import oci

    from deploy.oci.image_probe import fake_resource_principal
    from shared.auth import credentials

    for name, value in fake_resource_principal(str(tmp_path)).items():
        monkeypatch.setenv(name, value)
    loads: list[str] = []
    real_load = oci.signer.load_private_key_from_file

    def counting(*args: object, **kwargs: object) -> object:
        loads.append("key")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(oci.signer, "load_private_key_from_file", counting)
    caches.reset_all()
    s = Settings(auth=AuthMode.RESOURCE_PRINCIPAL)
    storage, genai = clients.object_storage(s), clients.generative_ai(s)
    assert storage.base_client.signer is genai.base_client.signer is credentials(s).signer
    assert len(loads) == 1, "the private key is loaded once per process, not per client"
    caches.reset_all()
    assert credentials(s).signer is not storage.base_client.signer, "a reset builds anew"
    caches.reset_all()


def test_credentials_differ_by_profile(config_file: Path) -> None:
    from shared.auth import credentials

    caches.reset_all()
    default = credentials(Settings(oci_config_file=str(config_file)))
    other = credentials(Settings(oci_config_file=str(config_file), oci_profile="OTHER"))
    assert default.config["user"].endswith("test") and other.config["user"].endswith("other")
    assert credentials(Settings(oci_config_file=str(config_file))) is default
    caches.reset_all()
