#!/usr/bin/env bash
# Build / start / stop an embedded FerretDB (MongoDB wire protocol on SQLite)
# for tests that use the official MongoDB driver. See tools/ferretdb/main.go.
#
#   scripts/ferretdb.sh build                  # prints the binary path
#   scripts/ferretdb.sh start [port] [datadir] # background server, waits for TCP
#   scripts/ferretdb.sh stop [datadir]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tools/ferretdb"
CACHE_DIR="${HERALD_CACHE_DIR:-$HOME/.cache/herald}"
DEFAULT_DATA="${HERALD_DATA_DIR:-$PWD/.data}/ferretdb"

log() { echo "ferretdb.sh: $*" >&2; }

# Binary name carries a hash of the sources so a source change forces a rebuild
# and an unchanged tree reuses the cached binary.
binary_path() {
  local hash
  hash="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" "$SRC"/patches/*.patch | sha256sum | cut -c1-12)"
  echo "$CACHE_DIR/bin/herald-ferretdb-$hash"
}

# Copies the FerretDB module to $1 with tools/ferretdb/patches applied, and writes $1.mod, a go.mod
# that builds against that copy (go build -overlay cannot replace module cache files). A patch that no
# longer applies (a FerretDB upgrade) fails the build rather than building FerretDB unpatched.
patch_ferretdb() {
  local dir="$1" moddir patch
  moddir="$(cd "$SRC" && go mod download -json github.com/FerretDB/FerretDB | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$dir" && cp -r "$moddir" "$dir" && chmod -R u+w "$dir"
  for patch in "$SRC"/patches/*.patch; do
    # The ceiling keeps git from taking an enclosing repository for the one to patch.
    (cd "$dir" && GIT_CEILING_DIRECTORIES="$(dirname "$dir")" git apply -p1 "$patch") ||
      { log "$patch does not apply to $moddir"; exit 1; }
  done
  { cat "$SRC/go.mod"; echo "replace github.com/FerretDB/FerretDB => $dir"; } >"$dir.mod"
  cp "$SRC/go.sum" "$dir.sum"
}

cmd_build() {
  local bin tmp
  bin="$(binary_path)"
  if [[ ! -x "$bin" ]]; then
    command -v go >/dev/null || { log "go not found on PATH"; exit 1; }
    mkdir -p "$(dirname "$bin")"
    log "building $bin (first build downloads modules; may take minutes)"
    # Build to a temp name and rename so a killed build never leaves a
    # half-written binary that later runs would treat as cached.
    tmp="$bin.tmp.$$"
    # CGO off: the SQLite driver (modernc.org/sqlite) is pure Go.
    # ferretdb_no_postgresql: drop the unused PostgreSQL backend.
    patch_ferretdb "$tmp.src"
    (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -modfile "$tmp.src.mod" -tags ferretdb_no_postgresql -o "$tmp" .)
    rm -rf "$tmp.src" "$tmp.src.mod" "$tmp.src.sum"
    mv -f "$tmp" "$bin"
  fi
  echo "$bin"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  local port="${1:-27017}" data="${2:-$DEFAULT_DATA}" bin pid i
  if port_open "$port"; then
    log "something already listens on 127.0.0.1:$port; assuming it is FerretDB/MongoDB"
    exit 0
  fi
  bin="$(cmd_build)"
  mkdir -p "$data"
  data="$(cd "$data" && pwd)"
  nohup "$bin" -listen "127.0.0.1:$port" -data "$data" \
    >"$data/ferretdb.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$data/ferretdb.pid"
  for ((i = 0; i < 300; i++)); do # 300 x 0.1 s = 30 s
    if port_open "$port"; then
      log "FerretDB up on mongodb://127.0.0.1:$port/ (pid $pid, data $data)"
      exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  log "FerretDB did not come up on port $port; log tail:"
  tail -n 30 "$data/ferretdb.log" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$data/ferretdb.pid"
  exit 1
}

cmd_stop() {
  local data="${1:-$DEFAULT_DATA}" pidfile pid i
  pidfile="$data/ferretdb.pid"
  if [[ ! -f "$pidfile" ]]; then
    log "no pid file at $pidfile; nothing to stop"
    return 0
  fi
  pid="$(cat "$pidfile")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do # up to 10 s, then force
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped pid $pid"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
build) cmd_build ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
*)
  echo "usage: $0 {build | start [port] [datadir] | stop [datadir]}" >&2
  exit 2
  ;;
esac
