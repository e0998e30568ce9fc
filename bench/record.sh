#!/usr/bin/env bash
# Runs the workloads recorded in docs/performance.md, three times each, and
# prints one JSON line per run. Everything talks to 127.0.0.1 only and stops
# by itself. Usage: bench/record.sh [BUILD_DIR] > runs.jsonl
set -euo pipefail
build=${1:-build-release}
bench="$build/bench/natterbench"
natterd="$build/server/natterd"
runs=${NATTER_BENCH_RUNS:-3}
common=(--natterd "$natterd" --duration 10 --warmup 2)

for _ in $(seq "$runs"); do
  "$bench" fanout "${common[@]}" --clients 1000 --senders 5
  "$bench" fanout "${common[@]}" --clients 100 --senders 10 --rate 50
  "$bench" dm "${common[@]}" --pairs 200
  "$bench" dm "${common[@]}" --pairs 200 --rate 20
  "$bench" mixed "${common[@]}" --pairs 200 --rate 20 --idle 10000
  "$bench" idle "${common[@]}" --idle 10000 --duration 2 --warmup 0
done
