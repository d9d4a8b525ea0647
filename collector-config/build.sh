#!/usr/bin/env bash
# Build the aibos-otelcol collector from builder-config.yaml with OCB (the OpenTelemetry Collector Builder).
#
#   collector-config/build.sh        build if needed; the LAST line of stdout is the binary's path
#
# The binary lives outside the repository, in a cache directory keyed by the manifest's hash:
#   ${AIBOS_CACHE_DIR:-$HOME/.cache/aibos-otel}/otelcol/<sha256-of-manifest-and-builder-version>/aibos-otelcol
# When that binary exists the script does nothing else (a second run is a no-op and takes milliseconds).
# The Go module cache stays where Go keeps it by default (GOMODCACHE, outside the repository), so CI can
# cache both directories.
#
# Environment:
#   AIBOS_CACHE_DIR    cache root (default $HOME/.cache/aibos-otel)
#   AIBOS_GO_JOBS      parallel Go build jobs (default 2: CI and dev machines have 2 shared cores)
set -euo pipefail

OCB_VERSION=v0.161.0 # must match every component version in builder-config.yaml

here="$(cd "$(dirname "$0")" && pwd)"
manifest="$here/builder-config.yaml"
cache_root="${AIBOS_CACHE_DIR:-$HOME/.cache/aibos-otel}/otelcol"

# Components built from this repository (manifest `path:` entries); their sources are in the key.
components="$(cd "$here/.." && pwd)/collector-components"

# The key covers the manifest, the builder version and the sources of the repository's own
# components (every file but tests), so changing any of them builds a new binary.
component_sources() {
    (cd "$components" && find . -type f ! -name '*_test.go' ! -path '*/testdata/*' -print0 | sort -z |
        xargs -0 sha256sum)
}
hash="$( { cat "$manifest"; echo "ocb=$OCB_VERSION"; component_sources; } | sha256sum | cut -c1-16)"
out_dir="$cache_root/$hash"
binary="$out_dir/aibos-otelcol"

if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is required (go 1.25+)" >&2; exit 1; }

jobs="${AIBOS_GO_JOBS:-2}"
export CGO_ENABLED=0
# Keep flags already set (environment or `go env -w`), add the job limit.
export GOFLAGS="-p=$jobs $(go env GOFLAGS)"
gobin="$(go env GOPATH)/bin"
builder="$gobin/builder"

# Install OCB at the pinned version unless that exact version is already installed.
if ! { [[ -x "$builder" ]] && "$builder" version 2>/dev/null | grep -q "${OCB_VERSION#v}"; }; then
    echo "build.sh: installing OCB $OCB_VERSION" >&2
    go install -trimpath -ldflags="-s -w" "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION" >&2
fi

# Build into a temporary directory next to the final one, then move the binary into place, so an
# interrupted build never leaves a half-written binary that a later run would take as done.
mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.build-$hash.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The manifest's relative `path:` entries are relative to collector-config/; the copy is elsewhere.
sed -e "/^dist:/a\\  output_path: $work/src" -e "s#path: \\.\\./collector-components#path: $components#" \
    "$manifest" >"$work/manifest.yaml"

start=$(date +%s)
echo "build.sh: building aibos-otelcol (first build takes many minutes; Go jobs: $jobs)" >&2
"$builder" --config="$work/manifest.yaml" >&2
elapsed=$(($(date +%s) - start))

mkdir -p "$out_dir"
mv "$work/src/aibos-otelcol" "$binary.tmp"
mv "$binary.tmp" "$binary"
size=$(du -m "$binary" | cut -f1)
echo "build.sh: built in ${elapsed}s, ${size} MiB" >&2
echo "$binary"
