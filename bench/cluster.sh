#!/usr/bin/env bash
# The cluster's cost against one natterd (issue 14, docs/scaling.md): the same
# natterbench workloads on
#   sqlite    one natterd on SQLite (the default)
#   pg        one natterd on PostgreSQL
#   cluster   three natterd on that PostgreSQL and one Redis, the connections
#             spread over them (every direct message crosses Redis: a pair's
#             two people are on different instances)
# PostgreSQL and Redis are started here from Debian's packages (tests/support),
# on 127.0.0.1, and removed at the end. Prints one JSON line per run.
#
#   bench/cluster.sh [BUILD_DIR] [RUNS]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
runs=${2:-3}
bench=$build/bench/natterbench
natterd=$build/server/natterd
state=$(mktemp -d /tmp/natter-cluster-bench.XXXXXX)

cleanup() {
  "$here/../tests/support/postgres.sh" stop "$state/pg" >/dev/null 2>&1 || true
  "$here/../tests/support/redis.sh" stop "$state/redis" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

"$here/../tests/support/postgres.sh" start "$state/pg" >&2
"$here/../tests/support/redis.sh" start "$state/redis" >&2
# Plain, as in the recorded runs (the test server also takes TLS).
pg="$(cat "$state/pg/url")?sslmode=disable"
redis=$(cat "$state/redis/url")
pg_pid=$(head -n 1 "$(cat "$state/pg/datadir")/cluster/postmaster.pid")
redis_pid=$(cat "$(cat "$state/redis/datadir")/redis.pid")

# watched_cpu_s in the output: [Redis, PostgreSQL with its backends]
watch=(--watch-pid "$redis_pid" --watch-pid "$pg_pid")

run() { # LABEL WORKLOAD-ARGS...
  local label=$1
  shift
  local line
  # One sending thread each: three natterd share this machine's cores with
  # PostgreSQL, Redis and natterbench (on their own machines each would take its own).
  line=$("$bench" "$@" --natterd "$natterd" --threads 1 --duration 10 --warmup 2 2>>"$state/natterd.log")
  echo "{\"setup\":\"$label\",${line#\{}"
}

for workload in "dm --pairs 200 --rate 5" "fanout --clients 600 --senders 5 --rate 20"; do
  read -r -a args <<<"$workload"
  for _ in $(seq 1 "$runs"); do
    run sqlite "${args[@]}"
    run pg "${args[@]}" --postgres "$pg" "${watch[@]}"
    run cluster "${args[@]}" --postgres "$pg" --redis "$redis" --instances 3 "${watch[@]}"
  done
done
