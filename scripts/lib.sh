# Shared by the scripts in this folder: sourced, not run.
# Puts the project's own Node 24 (the `node` devDependency) first on PATH, installing packages if needed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$PATH"

log() { printf '\033[1m[herald]\033[0m %s\n' "$*" >&2; }

ensure_packages() {
  local stamp="$ROOT/node_modules/.herald-install-stamp"
  # Patches to dependencies (patches/, applied by patch-package at install) count as the lock file does.
  if [[ ! -x "$ROOT/node_modules/.bin/node" || ! -f "$stamp" || "$ROOT/package-lock.json" -nt "$stamp" ||
    -n "$(find "$ROOT/patches" -newer "$stamp" 2>/dev/null)" ]]; then
    command -v npm >/dev/null || { log "npm is required (any Node >= 18 with npm); Node 24 itself comes from the project"; exit 1; }
    log "installing npm packages"
    # `npm ci`: exactly the lock file, which it never rewrites. The lock names every platform's optional
    # binaries (biome, buf, nx, esbuild); npm fetches only this platform's. After changing a package.json,
    # run `npm install` yourself and commit the lock file it updates.
    # package.json's allowScripts lists the dependencies whose install scripts npm may run (newer npm
    # skips the rest): `node` fetches the Node 24 binary, esbuild, buf and nx their platform binaries.
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
  local version
  version="$("$ROOT/node_modules/.bin/node" --version)"
  [[ "$version" == v24.* ]] || { log "expected Node 24 from node_modules, got $version"; exit 1; }
}

# True if something accepts TCP connections on host $1 port $2.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$1" "$2" && return 0
    sleep 0.1
  done
  return 1
}

# Makes RabbitMQ and the MongoDB wire server available (scripts/infra.sh; HERALD_MONGO_PORT and
# HERALD_DATA_DIR choose the FerretDB) and exports AMQP_URL and MONGO_URL. Callers stop what it
# started with `trap stop_started_infra EXIT`.
start_infra() {
  local exports
  exports="$(bash "$ROOT/scripts/infra.sh")" || exit 1
  eval "$exports"
  export AMQP_URL MONGO_URL HERALD_STARTED_FERRETDB
}

# Stops the FerretDB that start_infra started, if it started one: a server that was already running
# (a developer's, or a MONGO_URL given) is left alone. A RabbitMQ that infra.sh had to start keeps
# running: it is the machine's broker, slow to start and shared by every checkout (`rabbitmqctl stop`).
stop_started_infra() {
  if [[ -n "${HERALD_STARTED_FERRETDB:-}" ]]; then
    bash "$ROOT/scripts/ferretdb.sh" stop "$HERALD_STARTED_FERRETDB" || true
    HERALD_STARTED_FERRETDB=""
  fi
}

# Where the services send their spans, from the OpenTelemetry variables they read, in one line; $1 says
# why export is off when the caller turned it off.
describe_trace_export() {
  local endpoint="${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:-${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4318}}"
  if [[ "${OTEL_SDK_DISABLED:-}" == "true" ]]; then
    echo "not exported: OTEL_SDK_DISABLED=true"
  elif [[ "${OTEL_TRACES_EXPORTER:-otlp}" == "none" ]]; then
    echo "not exported: ${1:-OTEL_TRACES_EXPORTER=none}"
  else
    echo "exported (${OTEL_TRACES_EXPORTER:-otlp}) to $endpoint"
  fi
}

# Chromium for the portal's browser tests (test/e2e/portal.test.ts drives it with playwright-core, which
# cannot download browsers here): Debian's package, installed as RabbitMQ is when missing.
ensure_chromium() {
  local chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [[ -x "$chromium" ]] && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing chromium from Debian's packages (the portal's browser tests)"
    apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    log "$chromium is missing: install Debian's chromium (or set CHROMIUM_PATH) for the portal's browser tests"
    return 1
  fi
}
