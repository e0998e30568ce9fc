#!/usr/bin/env bash
# The seed's argument, measured: N clients waiting for messages that come once a
# second (rooms of 100, a message a second in each), served by HTTP polling
# (every second; for 1,000 clients also every 100 ms), HTTP long polling and
# natterd's WebSocket push, for N = 1,000 and 10,000, three runs each. Prints one JSON line
# per run; bench/pushpollplot.py turns them into the table of docs/performance.md
# and docs/push-vs-polling.svg. Everything talks to 127.0.0.1 only and stops by itself.
# Usage: bench/pushpoll.sh [BUILD_DIR] > runs.jsonl
set -euo pipefail
build=${1:-build}
runs=${NATTER_BENCH_RUNS:-3}
duration=${NATTER_BENCH_SECONDS:-20}

for clients in 1000 10000; do
  for _ in $(seq "$runs"); do
    "$build/bench/pollbench" --mode poll --clients "$clients" --rooms $((clients / 100)) --duration "$duration"
    if [ "$clients" -le 1000 ]; then # ten times the requests, for a tenth of the wait
      "$build/bench/pollbench" --mode poll --clients "$clients" --rooms $((clients / 100)) --interval 100 \
        --duration "$duration"
    fi
    "$build/bench/pollbench" --mode longpoll --clients "$clients" --rooms $((clients / 100)) --duration "$duration"
    "$build/bench/natterbench" fanout --natterd "$build/server/natterd" --clients "$clients" --senders 1 \
      --rooms $((clients / 100)) --rate 1 --duration "$duration" --warmup 3 2>/dev/null | grep "^{"
  done
done
