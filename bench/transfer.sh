#!/usr/bin/env bash
# Files through natterd: one 1 GiB upload and download (MB/s each way, the
# server's RSS), then the dm workload (8,000 messages/s) alone and again while
# files go up and down, to show chat keeps its latency during a transfer.
#
# Opt-in (not in CI): bench/transfer.sh [BUILD_DIR]   (default: build)
# natterd keeps its database and files in a temporary folder on the disk
# (not tmpfs), removed at the end. Loopback only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake --build "$build" -j2 --target natterd natterbench transferbench >/dev/null
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/natter-transfer.XXXXXX")
port=$((40000 + RANDOM % 20000))
"$build/server/natterd" --host 127.0.0.1 --port "$port" --db "$dir/natter.db" --no-tls --no-discovery \
  --rate-limit 0 --max-input-rate 0 --max-queue 67108864 --max-connections-per-address 100000 \
  --max-upload-bytes 8589934592 --storage-quota-per-user 68719476736 >"$dir/natterd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$dir/natterd.log" && break; sleep 0.1; done

echo "# 1 GiB up and down"
"$build/bench/transferbench" --port "$port" --pid "$pid" --db "$dir/natter.db" --size 1073741824
echo "# dm, 200 pairs at 40/s, alone"
"$build/bench/natterbench" dm --port "$port" --pid "$pid" --db "$dir/natter.db" --pairs 200 --rate 40 \
  --duration 10
echo "# dm, 200 pairs at 40/s, while 1 GiB files go up and down"
"$build/bench/transferbench" --port "$port" --pid "$pid" --db "$dir/natter.db" --size 1073741824 --repeat 3 \
  >"$dir/transfer.json" &
transfer=$!
sleep 2 # the first upload under way
"$build/bench/natterbench" dm --port "$port" --pid "$pid" --db "$dir/natter.db" --pairs 200 --rate 40 \
  --duration 10
wait $transfer
cat "$dir/transfer.json"
