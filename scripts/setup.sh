#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine. Idempotent: a second run does nothing new.
#   scripts/setup.sh          Python environment (.venv from uv.lock)
#   scripts/setup.sh --all    also Debian packages, the aibos-otelcol collector binary and the
#                             deploy/validate checker (tests need them)
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
if ! command -v uv >/dev/null 2>&1 || [[ "$(uv --version 2>/dev/null)" != "uv ${UV_VERSION}"* ]]; then
    echo "setup: installing uv ${UV_VERSION}" >&2
    python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}" >&2
fi
export UV_PYTHON_DOWNLOADS=never
# The monitor's optional Rust scan (native/) builds with Cargo; its target directory lives outside
# the repository so a fresh clone on a warm machine rebuilds in seconds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aibos-otel/cargo-target}"
if command -v cargo >/dev/null 2>&1; then
    uv sync --locked --all-extras --quiet >&2
else
    echo "setup: no cargo on PATH: the monitor runs its pure-Python scan (slower ingest)" >&2
    uv sync --locked --all-extras --no-install-package aibos-otel-native --quiet >&2
fi

if [[ "${1:-}" == "--all" ]]; then
    bash scripts/install-debian-packages.sh >&2
    if [[ -x collector-config/build.sh ]]; then
        collector-config/build.sh >&2
    fi
    # The offline checker of deploy/kubernetes and deploy/compose (tests/deploy_manifests/).
    if [[ -x deploy/validate/build.sh ]]; then
        deploy/validate/build.sh >&2
    fi
fi
