#!/usr/bin/env bash
# Build aibos-deploy-validate (this directory) if needed; the LAST line of stdout is the binary's path.
#
#   deploy/validate/build.sh
#
# Like collector-config/build.sh, the binary lives outside the repository, keyed by a hash of its
# sources, go.mod, go.sum and the Go version:
#   ${AIBOS_CACHE_DIR:-$HOME/.cache/aibos-otel}/deploy-validate/<hash>/aibos-deploy-validate
# When it exists nothing else happens (a warm CI pays milliseconds). Go's module and build caches
# stay where Go keeps them (outside the repository).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${AIBOS_CACHE_DIR:-$HOME/.cache/aibos-otel}/deploy-validate"

command -v go >/dev/null || { echo "deploy/validate/build.sh: Go is required" >&2; exit 1; }
sources() {
    (cd "$here" && find . -maxdepth 1 -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) \
        -print0 | sort -z | xargs -0 sha256sum)
}
hash="$( { sources; go env GOVERSION; } | sha256sum | cut -c1-16)"
binary="$cache_root/$hash/aibos-deploy-validate"

if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
fi

mkdir -p "$cache_root/$hash"
start=$(date +%s)
# Build to a temporary name, then rename: an interrupted build never leaves a binary a later run trusts.
(cd "$here" && CGO_ENABLED=0 go build -p="${AIBOS_GO_JOBS:-2}" -trimpath -ldflags="-s -w" -o "$binary.tmp" .) >&2
mv "$binary.tmp" "$binary"
echo "deploy/validate/build.sh: built in $(($(date +%s) - start))s" >&2
echo "$binary"
