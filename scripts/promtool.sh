#!/usr/bin/env bash
# Builds promtool (Prometheus's rule checker) from the Go module proxy once, caches it under
# ~/.cache/herald/bin keyed by version, and prints its path. CI and `npm test` use it to check
# and unit-test deploy/prometheus. The Go toolchain must meet Prometheus's go.mod (1.26.7 for
# v0.316.0); GOTOOLCHAIN=local makes a too-old Go fail instead of downloading another.
#
#   scripts/promtool.sh            # prints the binary path (builds on first use)
#   scripts/promtool.sh -- ARGS    # runs promtool ARGS
set -euo pipefail

VERSION="${HERALD_PROMTOOL_VERSION:-v0.316.0}"
CACHE_DIR="${HERALD_CACHE_DIR:-$HOME/.cache/herald}"
BIN="$CACHE_DIR/bin/promtool-$VERSION"

log() { echo "promtool.sh: $*" >&2; }

if [[ ! -x "$BIN" ]]; then
  command -v go >/dev/null || { log "go not found on PATH"; exit 1; }
  mkdir -p "$(dirname "$BIN")"
  log "building $BIN (first build downloads modules; takes minutes)"
  # Build into a temporary GOBIN and rename, so a killed build never leaves a binary that later
  # runs would take for a cached one.
  tmp="$(mktemp -d "$CACHE_DIR/bin/promtool.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp" \
    go install -trimpath "github.com/prometheus/prometheus/cmd/promtool@$VERSION"
  mv -f "$tmp/promtool" "$BIN"
fi

if [[ "${1:-}" == "--" ]]; then
  shift
  exec "$BIN" "$@"
fi
echo "$BIN"
