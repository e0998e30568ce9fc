#!/usr/bin/env bash
# A throw-away Redis for the cluster tests: started by CTest before the tests
# that need it (fixture "redis") and stopped after them.
#
#   redis.sh start STATE_DIR   start redis-server on a free port of 127.0.0.1,
#                              write its URL to STATE_DIR/url
#   redis.sh stop STATE_DIR    stop it and delete its files
#   redis.sh pause STATE_DIR   stop it, keeping its port (Redis goes away)
#   redis.sh resume STATE_DIR  start it again on the same port (empty: nothing is persisted)
set -euo pipefail

usage="usage: redis.sh start|stop|pause|resume STATE_DIR"
action=${1:?$usage}
state=${2:?$usage}

if ! command -v redis-server >/dev/null; then
  echo "redis.sh: redis-server is not installed (apt-get install redis-server)" >&2
  exit 1
fi

run_server() {
  local data port
  data=$(cat "$state/datadir")
  port=$(cat "$state/port")
  # Loopback only, nothing written to disk, no protected-mode surprises.
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$data" \
    --daemonize yes --pidfile "$data/redis.pid" --logfile "$data/redis.log" >/dev/null
  local i
  for i in $(seq 1 100); do
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then return 0; fi
    sleep 0.05
  done
  cat "$data/redis.log" >&2
  exit 1
}

stop_server() {
  local data
  data=$(cat "$state/datadir")
  [ -f "$data/redis.pid" ] || return 0
  local pid
  pid=$(cat "$data/redis.pid")
  kill "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  rm -f "$data/redis.pid"
}

stop() {
  [ -f "$state/datadir" ] || return 0
  stop_server
  rm -rf "$(cat "$state/datadir")"
  rm -f "$state/datadir" "$state/url" "$state/port"
}

case "$action" in
  start)
    mkdir -p "$state"
    stop # one left over by an interrupted run
    mktemp -d /tmp/natter-redis.XXXXXX >"$state/datadir"
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
      >"$state/port"
    run_server
    echo "redis://127.0.0.1:$(cat "$state/port")" >"$state/url"
    echo "redis.sh: $(redis-server --version | awk '{print $1, $3}') on 127.0.0.1:$(cat "$state/port")"
    ;;
  stop) stop ;;
  pause) stop_server ;;
  resume) run_server ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
