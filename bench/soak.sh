#!/usr/bin/env bash
# The soak: 50 clients chatting for 30 minutes, 10 % of them cut off every
# 30 s (they come back and resend, as the app does), against natterd built
# with AddressSanitizer and UBSan. natterd's memory, descriptors, threads and
# WAL are sampled every 10 s; at the end it must exit cleanly with no leak
# report, and every message must be stored exactly once.
#
# Opt-in (not in CI): bench/soak.sh [OUT_DIR]   (default: docs)
# writes OUT_DIR/soak.csv, soak.json, soak-table.md (the table) and soak.svg (the plot).
# NATTER_SOAK_MINUTES shortens or lengthens it. Loopback only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${NATTER_SOAK_MINUTES:-30}
build=${NATTER_SOAK_BUILD:-build-asan}
out=${1:-docs}
mkdir -p "$out"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNATTER_SANITIZE=ON >/dev/null
cmake --build "$build" -j2 --target natterd soakclient
status=0
"$build/bench/soakclient" --natterd "$build/server/natterd" --clients 50 --duration $((minutes * 60)) \
  --churn-every 30 --churn 0.1 --sample-every 10 --out "$out/soak.csv" >"$out/soak.json" || status=$?
cat "$out/soak.json"
# Slopes from minute 6: an ASan build's quarantine (256 MiB of freed memory
# held back to catch use-after-free) fills up in the first four or five.
python3 bench/soakplot.py "$out/soak.csv" "$out/soak.json" "$out/soak.svg" 6 >"$out/soak-table.md"
cat "$out/soak-table.md"
exit "$status"
