#!/usr/bin/env bash
# Sets up and runs Herald on this machine: npm packages and Node 24, RabbitMQ and the MongoDB wire
# server (scripts/infra.sh), a build, then all four services, each until Ctrl-C.
# Settings: any variable of the README's configuration table; first-run secrets are generated into
# .data/herald.env and reused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

declare -A PORTS=([ingest]="${INGEST_PORT:-7001}" [routing]="${ROUTING_PORT:-7002}" [delivery]="${DELIVERY_PORT:-7003}"
  [audit]="${AUDIT_PORT:-7004}" [portal]="${PORTAL_PORT:-7005}")
# A port already taken (most often by a Herald still running) would make that service fail to bind while
# the readiness checks below got their answer from the other process: refuse before starting anything.
for service in ingest routing delivery audit portal; do
  if port_open 127.0.0.1 "${PORTS[$service]}"; then
    log "port ${PORTS[$service]} ($service) is taken: is Herald already running? Stop it, or set ${service^^}_PORT"
    exit 1
  fi
done

ensure_packages
# A FerretDB this script starts is stopped with the services (stop_all); one already running is left.
start_infra

mkdir -p .data/logs
if [[ ! -f .data/herald.env ]]; then
  log "generating .data/herald.env (admin key and secret encryption key for this machine)"
  umask 077
  {
    echo "HERALD_ADMIN_KEY=$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))')"
    echo "HERALD_SECRET_KEYS=k1:$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))')"
  } >.data/herald.env
fi
set -a
source .data/herald.env
set +a
# Audit's collections in a database of their own: FerretDB's SQLite backend writes each database in
# turn, so audit records no longer wait behind ingest's events (and the other way round).
export AUDIT_MONGO_DB="${AUDIT_MONGO_DB:-herald_audit}"
# Local development delivers to receivers on this machine over plain http. An explicitly empty
# HERALD_URL_ALLOWLIST (`HERALD_URL_ALLOWLIST= npm start`) is kept: production's rules, nothing private.
export HERALD_URL_ALLOWLIST="${HERALD_URL_ALLOWLIST-127.0.0.1/32,::1/128,localhost}"
export HERALD_ALLOW_HTTP="${HERALD_ALLOW_HTTP:-true}"
# Export traces only when a collector listens (docker compose's Jaeger, say) or an endpoint is given.
traces_off=""
if [[ -z "${OTEL_TRACES_EXPORTER:-}${OTEL_EXPORTER_OTLP_ENDPOINT:-}${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:-}" ]] &&
  ! port_open 127.0.0.1 4318; then
  export OTEL_TRACES_EXPORTER=none
  traces_off="no collector on 127.0.0.1:4318; start one (docker compose up jaeger) or set OTEL_EXPORTER_OTLP_ENDPOINT"
fi

log "building"
nx run-many -t build --output-style=static --skip-nx-cache >.data/logs/build.log 2>&1 || { tail -n 40 .data/logs/build.log; exit 1; }

PIDS=()
stop_all() {
  # Ignored from here on, not reset: npm forwards the terminal's Ctrl-C, so a second SIGINT arrives
  # while the services stop, and with the default action it killed this script (npm start then exited
  # 130, killed by a signal, rather than 0).
  trap '' INT TERM
  trap - EXIT
  log "stopping services"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_started_infra
}
# Ctrl-C (SIGINT) and SIGTERM are how Herald is meant to stop: exit 0 once everything has stopped.
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

for service in routing ingest delivery audit; do
  PORT="${PORTS[$service]}" node "apps/$service/dist/main.js" >>".data/logs/$service.log" 2>&1 &
  PIDS+=($!)
done

# With TLS on (RPC_TLS_CERT_FILE), readiness is asked over https: -k because only Herald's own CA
# vouches for the certificate, and the CLI's client certificate where the ports require one.
probe=(curl -fsS) scheme=http
if [[ -n "${RPC_TLS_CERT_FILE:-}" ]]; then
  probe+=(-k) scheme=https
  [[ -n "${HERALD_TLS_CERT_FILE:-}" ]] && probe+=(--cert "$HERALD_TLS_CERT_FILE" --key "$HERALD_TLS_KEY_FILE")
fi
for service in routing ingest delivery audit; do
  port="${PORTS[$service]}"
  for ((i = 0; i < 300; i++)); do
    "${probe[@]}" "$scheme://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  "${probe[@]}" "$scheme://127.0.0.1:$port/readyz" >/dev/null 2>&1 || {
    log "$service did not become ready; last log lines:"
    tail -n 20 ".data/logs/$service.log" >&2
    exit 1
  }
done

# The tenant portal (apps/portal) calls routing and audit on this machine.
PORTAL_PORT="${PORTS[portal]}" HERALD_ROUTING_URL="$scheme://127.0.0.1:${PORTS[routing]}" \
  HERALD_AUDIT_URL="$scheme://127.0.0.1:${PORTS[audit]}" node apps/portal/dist/server/main.js >>.data/logs/portal.log 2>&1 &
PIDS+=($!)
portal_port="${PORTS[portal]}"
for ((i = 0; i < 100; i++)); do
  curl -fsS "http://127.0.0.1:$portal_port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

cat >&2 <<MSG

Herald is running (logs in .data/logs/, Ctrl-C stops it):
  ingest    gRPC/Connect on 127.0.0.1:${PORTS[ingest]}   (IngestService)
  routing   gRPC/Connect on 127.0.0.1:${PORTS[routing]}   (TenantService, EndpointService, ApiKeyService, PortalService)
  delivery  health/metrics on 127.0.0.1:${PORTS[delivery]}
  audit     gRPC/Connect on 127.0.0.1:${PORTS[audit]}   (AuditService)
  portal    http://127.0.0.1:$portal_port   (open it for a tenant: herald portal link --tenant <id>)
  admin API key: in .data/herald.env (HERALD_ADMIN_KEY)
  RabbitMQ: ${AMQP_URL/\/\/*@/\/\/}    MongoDB: ${MONGO_URL/\/\/*@/\/\/}
  traces: $(describe_trace_export "$traces_off")
  receivers allowed although not public (HERALD_URL_ALLOWLIST): ${HERALD_URL_ALLOWLIST:-none}

MSG
wait -n "${PIDS[@]}" || true
log "a service exited; see .data/logs/"
exit 1
