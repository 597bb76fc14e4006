#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on this machine for tests, from the installed rabbitmq-server, beside (never
# touching) the machine's own broker: own node names, ports, data, config, plugins file and Erlang cookie.
#
#   scripts/rabbitmq-cluster.sh start          start the three nodes (fresh data) as one cluster
#   scripts/rabbitmq-cluster.sh stop           stop every node and remove the data
#   scripts/rabbitmq-cluster.sh status         one line per node: running or stopped, and its members
#   scripts/rabbitmq-cluster.sh stop-node N    stop node N (1-3); its data stays
#   scripts/rabbitmq-cluster.sh start-node N   start node N again; it rejoins the cluster
#   scripts/rabbitmq-cluster.sh url            the AMQP_URL of the cluster (a comma-separated list)
#   scripts/rabbitmq-cluster.sh rabbitmqctl N … / rabbitmq-queues N …   a CLI tool aimed at node N
#
# `start` prints `export AMQP_URL=…` (every node) for `eval`, like scripts/infra.sh.
# HERALD_CLUSTER_NAME (default herald: nodes herald-a/b/c@localhost), HERALD_CLUSTER_PORT (default 5681:
# AMQP on 5681-5683, Erlang distribution on 25681-25683) and HERALD_CLUSTER_DIR (default
# .data/rabbitmq-cluster-<name>) pick another cluster, e.g. for two test runs at once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME="${HERALD_CLUSTER_NAME:-herald}"
PORT="${HERALD_CLUSTER_PORT:-5681}"
DIR="${HERALD_CLUSTER_DIR:-$ROOT/.data/rabbitmq-cluster-$NAME}"
LETTERS=(a b c)

# Debian's /usr/sbin wrappers switch to the rabbitmq user and drop the environment; the scripts behind
# them (or those of a generic-unix install on PATH) take RABBITMQ_* from the environment as documented.
sbin() {
  if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    echo /usr/lib/rabbitmq/bin
  elif command -v rabbitmq-server >/dev/null; then
    dirname "$(readlink -f "$(command -v rabbitmq-server)")"
  fi
}
SBIN="$(sbin)"

node_name() { echo "$NAME-${LETTERS[$1 - 1]}@localhost"; }
amqp_port() { echo $((PORT + $1 - 1)); }
node_dir() { echo "$DIR/${LETTERS[$1 - 1]}"; }

# The environment of node N's server and of the CLI tools aimed at it. HOME holds the cluster's own
# cookie (the CLI tools and the server read $HOME/.erlang.cookie); RABBITMQ_CONF_ENV_FILE keeps the
# machine's rabbitmq-env.conf (which names the machine's node) out.
node_env() {
  local n="$1" dir
  dir="$(node_dir "$n")"
  echo HOME="$DIR" \
    RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf" \
    RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
    RABBITMQ_DIST_PORT="$(($(amqp_port "$n") + 20000))" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_ENABLED_PLUGINS= \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/pid" \
    ERL_CRASH_DUMP="$dir/erl_crash.dump" \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="'-kernel inet_dist_use_interface {127,0,0,1}'"
}

in_node_env() { # N command...
  local n="$1"
  shift
  [[ -n "$SBIN" ]] || {
    log "rabbitmq-server is not installed (Debian: apt-get install rabbitmq-server)"
    exit 3
  }
  eval "env $(node_env "$n") \"\$@\""
}

ctl() { # N rabbitmqctl-args...
  local n="$1"
  shift
  in_node_env "$n" "$SBIN/rabbitmqctl" -n "$(node_name "$n")" "$@"
}

# Whether node N's Erlang VM runs, by the pid it wrote: cheaper than a CLI call (an Erlang VM of its own).
running() {
  local pid_file
  pid_file="$(node_dir "$1")/pid"
  [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

prepare() {
  mkdir -p "$DIR"
  if [[ ! -f "$DIR/.erlang.cookie" ]]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$DIR/.erlang.cookie")
  fi
  : >"$DIR/rabbitmq-env.conf"
  local n dir
  for n in 1 2 3; do
    dir="$(node_dir "$n")"
    mkdir -p "$dir/log" "$dir/mnesia"
    echo "[]." >"$dir/enabled_plugins"
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$(amqp_port "$n")
loopback_users.guest = true
# The data may be on a small tmpfs: a disk alarm would block every publisher of the test.
disk_free_limit.absolute = 1MiB
# Nodes 2 and 3 join node 1 as they boot.
cluster_formation.peer_discovery_backend = classic_config
cluster_formation.classic_config.nodes.1 = $(node_name 1)
EOF
  done
}

start_node() {
  local n="$1"
  running "$n" && return 0
  in_node_env "$n" "$SBIN/rabbitmq-server" -detached >/dev/null 2>&1 || true
  wait_booted "$n"
}

wait_booted() {
  local n="$1"
  # The AMQP port opens last in the boot; await_startup then confirms the node is up (and, after a
  # restart, has rejoined). Polling the port spares a CLI call (an Erlang VM) every half second.
  if wait_for_port 127.0.0.1 "$(amqp_port "$n")" 180 && ctl "$n" -q -t 60 await_startup >/dev/null 2>&1; then
    return 0
  fi
  log "node $(node_name "$n") did not start; see $(node_dir "$n")/log"
  exit 1
}

stop_node() {
  local n="$1"
  running "$n" || return 0
  local pid_file i
  pid_file="$(node_dir "$n")/pid"
  ctl "$n" -q -t 60 stop >/dev/null || true
  # Stopped within 30 s, or killed.
  for ((i = 0; i < 300; i++)); do
    running "$n" || break
    sleep 0.1
  done
  if running "$n"; then kill -9 "$(cat "$pid_file")" 2>/dev/null || true; fi
  rm -f "$pid_file"
}

url() {
  local n urls=()
  for n in 1 2 3; do urls+=("amqp://guest:guest@127.0.0.1:$(amqp_port "$n")"); done
  (
    IFS=,
    echo "${urls[*]}"
  )
}

members() { # N: the running nodes node N sees
  ctl "$1" -q cluster_status --formatter json 2>/dev/null |
    "$ROOT/node_modules/.bin/node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).running_nodes.sort().join(","))}catch{console.log("")}})'
}

start() {
  local started=$SECONDS n
  if running 1 && running 2 && running 3 && [[ "$(members 1 | tr ',' '\n' | grep -c .)" == 3 ]]; then
    log "cluster $NAME already runs"
  else
    for n in 1 2 3; do stop_node "$n"; done
    rm -rf "$DIR"
    prepare
    # The first node boots alone; the other two then boot at once and join it as they start (peer
    # discovery from a fixed list), which spares the stop_app / join_cluster / start_app of each.
    in_node_env 1 "$SBIN/rabbitmq-server" -detached >/dev/null 2>&1 || true
    wait_booted 1
    for n in 2 3; do in_node_env "$n" "$SBIN/rabbitmq-server" -detached >/dev/null 2>&1 || true; done
    for n in 2 3; do wait_booted "$n"; done
    # Should a node have come up on its own (peer discovery gives up when the first node does not answer
    # in time), it joins the way an operator would.
    for n in 2 3; do
      if ! members 1 | grep -q "$(node_name "$n")"; then
        log "$(node_name "$n") did not join at boot; join_cluster"
        ctl "$n" -q stop_app >/dev/null
        ctl "$n" -q reset >/dev/null
        ctl "$n" -q join_cluster "$(node_name 1)" >/dev/null
        ctl "$n" -q start_app >/dev/null
      fi
    done
    [[ "$(members 1 | tr ',' '\n' | grep -c .)" == 3 ]] || {
      log "cluster $NAME did not form: $(members 1)"
      exit 1
    }
    log "cluster $NAME started in $((SECONDS - started)) s: $(members 1)"
  fi
  echo "export AMQP_URL='$(url)'"
}

stop() {
  local n
  for n in 1 2 3; do stop_node "$n" || true; done
  # A node that would not stop (or was left behind by a killed run) is ended by the pid it wrote.
  for n in 1 2 3; do
    if running "$n"; then kill -9 "$(cat "$(node_dir "$n")/pid")" || true; fi
  done
  rm -rf "$DIR"
}

status() {
  local n
  for n in 1 2 3; do
    if running "$n"; then
      echo "$(node_name "$n") running on 127.0.0.1:$(amqp_port "$n"), cluster: $(members "$n")"
    else
      echo "$(node_name "$n") stopped"
    fi
  done
}

check_n() {
  [[ "${1:-}" =~ ^[123]$ ]] || {
    log "expected a node number 1-3, got '${1:-}'"
    exit 2
  }
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
url) url ;;
stop-node)
  check_n "${2:-}"
  stop_node "$2"
  ;;
start-node)
  check_n "${2:-}"
  start_node "$2"
  ;;
rabbitmqctl | rabbitmq-queues | rabbitmq-diagnostics)
  check_n "${2:-}"
  tool="$1" n="$2"
  shift 2
  in_node_env "$n" "$SBIN/$tool" -n "$(node_name "$n")" "$@"
  ;;
*)
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
