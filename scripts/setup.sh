#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine. Idempotent: a second run does nothing new.
#   scripts/setup.sh          Python environment (.venv from uv.lock)
#   scripts/setup.sh --all    also Debian packages and the aibos-otelcol collector binary (tests need them)
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
if ! command -v uv >/dev/null 2>&1 || [[ "$(uv --version 2>/dev/null)" != "uv ${UV_VERSION}"* ]]; then
    echo "setup: installing uv ${UV_VERSION}" >&2
    python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}" >&2
fi
export UV_PYTHON_DOWNLOADS=never
uv sync --locked --all-extras --quiet >&2

if [[ "${1:-}" == "--all" ]]; then
    bash scripts/install-debian-packages.sh >&2
    if [[ -x collector-config/build.sh ]]; then
        collector-config/build.sh >&2
    fi
fi
