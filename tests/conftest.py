"""Shared fixtures: a running local OCI emulator and the real `oci` CLI pointed at it.

``emulator``          function-scoped: fresh state in ``tmp_path``, ephemeral port.
``shared_emulator``   session-scoped: one emulator for tests that only need isolation
                      by bucket name (faster; do not change its faults without resetting).
``oci_cli``           runs the real ``oci`` CLI against ``emulator``; returns the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.local.emulator import Emulator, build_emulator

OCI_CLI = Path(sys.executable).with_name("oci")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = build_emulator(tmp_path / "emulator-state")
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = build_emulator(tmp_path_factory.mktemp("shared-emulator"))
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def run_oci_cli(emu: Emulator, *args: str, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``oci <args> --config-file <generated> --endpoint <emulator>`` as a subprocess."""
    env = dict(os.environ, OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING="True")
    env.pop("OCI_CLI_PROFILE", None)
    cmd = [str(OCI_CLI), *args, "--config-file", str(emu.config_file), "--profile", emu.profile,
           "--endpoint", emu.endpoint]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"oci {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


@pytest.fixture
def oci_cli(emulator: Emulator) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_oci_cli(emulator, *args, check=check)

    return run
