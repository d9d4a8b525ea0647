#!/usr/bin/env bash
# Every Debian package the project uses, in one place. Installs only what is missing.
set -euo pipefail
PACKAGES=(
    prometheus        # real Prometheus scraping the collector's count metrics (e2e tests)
    prometheus-alertmanager  # real Alertmanager receiving the monitor's alerts (e2e tests)
    chromium          # headless browser test of the monitor's web page
)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "install-debian-packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    # Keep CI output readable: apt's progress goes to a log that is shown only on failure.
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log"
        echo "install-debian-packages: apt-get failed" >&2
        exit 1
    fi
    rm -f "$log"
    # Debian starts packaged daemons on install; the tests start their own on loopback.
    systemctl stop prometheus prometheus-alertmanager prometheus-node-exporter 2>/dev/null || true
    pkill -x prometheus 2>/dev/null || true
    pkill -x prometheus-alertmanager 2>/dev/null || true
fi
