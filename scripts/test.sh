#!/usr/bin/env bash
# The one test command: set everything up, then lint, type-check and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --all
echo "== ruff"
.venv/bin/ruff check aibos_otel tests benchmarks scripts
.venv/bin/ruff format --check aibos_otel tests benchmarks scripts
echo "== mypy --strict aibos_otel"
.venv/bin/mypy
echo "== go test (the collector's own components and the deploy/validate checker)"
# Go's build and module caches stay where Go keeps them (outside the repository), as for build.sh.
for component in collector-components/*/ deploy/validate/; do
    (cd "$component" && go vet ./... && go test ./...)
done
echo "== pytest"
# pytest exits 5 when it collected no test: set -e turns that into a failure, as it should be.
# The outer timeout turns a hang (say, a test thread that keeps the interpreter from exiting)
# into a failure long before CI's own limit; per-test limits are pytest-timeout's (pyproject).
timeout --kill-after=30s 40m .venv/bin/python -m pytest "$@"
