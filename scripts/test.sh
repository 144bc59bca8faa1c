#!/usr/bin/env bash
# Run the whole test suite on this machine, installing what it needs first:
#   * Debian's chromium + chromium-driver for the browser tests in tests/ui (apt, as root or
#     with sudo), only when missing;
#   * checkov in its own venv (.venv-tools: it pins packages that clash with oci-cli), for
#     tests/deploy, only when missing.
# Expects the project installed in .venv (README: pip install -e '.[dev]'). Extra arguments
# go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -x .venv/bin/python ]; then
  echo "error: no .venv here: run python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' first" >&2
  exit 2
fi
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "installing Debian's chromium and chromium-driver for tests/ui (apt-get)" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
fi
if ! [ -x .venv-tools/bin/checkov ]; then
  echo "installing checkov into .venv-tools for tests/deploy" >&2
  python3 -m venv .venv-tools
  .venv-tools/bin/python -m pip install --quiet checkov
fi
exec .venv/bin/python -m pytest -q "$@"
