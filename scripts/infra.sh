#!/usr/bin/env bash
# Makes RabbitMQ and a MongoDB wire-protocol server available on loopback, without Docker.
#   AMQP_URL / MONGO_URL set: those are checked and used as they are.
#   Otherwise RabbitMQ is expected on 127.0.0.1:5672 (started with `rabbitmq-server -detached`, or
#   installed from Debian's packages, when missing), and FerretDB embedded in tools/ferretdb is built
#   from the Go module proxy and started on 127.0.0.1:${HERALD_MONGO_PORT:-27017}.
# Prints the URLs to use as `export` lines, so callers can `eval "$(scripts/infra.sh)"`, and
# HERALD_STARTED_FERRETDB: the data folder of the FerretDB this run started (empty when one was already
# listening or MONGO_URL was given), so the caller can stop what it started and nothing else
# (stop_started_infra in lib.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

host_port() { # URL (the first of a comma-separated list) -> "host port"
  local rest="${1%%,*}"
  rest="${rest#*://}"
  rest="${rest#*@}"
  rest="${rest%%/*}"
  rest="${rest%%\?*}"
  local host="${rest%%:*}" port="${rest##*:}"
  [[ "$port" == "$rest" ]] && port="$2"
  echo "$host $port"
}

ensure_rabbitmq() {
  if [[ -n "${AMQP_URL:-}" ]]; then
    read -r host port <<<"$(host_port "$AMQP_URL" 5672)"
    wait_for_port "$host" "$port" 20 || { log "AMQP_URL is set but $host:$port does not answer"; exit 1; }
    echo "export AMQP_URL='$AMQP_URL'"
    return
  fi
  if ! port_open 127.0.0.1 5672; then
    if ! command -v rabbitmq-server >/dev/null; then
      if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing rabbitmq-server from Debian's packages"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
      else
        log "RabbitMQ is not running on 127.0.0.1:5672 and rabbitmq-server is not installed; install it or set AMQP_URL"
        exit 1
      fi
    fi
    log "starting RabbitMQ (rabbitmq-server -detached)"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_for_port 127.0.0.1 5672 90 || { log "RabbitMQ did not come up on 127.0.0.1:5672"; exit 1; }
  fi
  echo "export AMQP_URL='amqp://guest:guest@127.0.0.1:5672'"
}

ensure_mongo() {
  if [[ -n "${MONGO_URL:-}" ]]; then
    read -r host port <<<"$(host_port "$MONGO_URL" 27017)"
    wait_for_port "$host" "$port" 20 || { log "MONGO_URL is set but $host:$port does not answer"; exit 1; }
    echo "export MONGO_URL='$MONGO_URL'"
    echo "export HERALD_STARTED_FERRETDB=''"
    return
  fi
  local port="${HERALD_MONGO_PORT:-27017}" data started=""
  data="${HERALD_DATA_DIR:-$ROOT/.data}/ferretdb-$port"
  port_open 127.0.0.1 "$port" || started="$data"
  command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] || {
    log "Go is needed to build the FerretDB helper (tools/ferretdb); install Go or set MONGO_URL"
    exit 1
  }
  PATH="$PATH:/usr/local/go/bin" bash "$ROOT/scripts/ferretdb.sh" start "$port" "$data" >&2
  echo "export MONGO_URL='mongodb://127.0.0.1:$port'"
  echo "export HERALD_STARTED_FERRETDB='$started'"
}

ensure_rabbitmq
ensure_mongo
