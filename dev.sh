#!/usr/bin/env bash
# Natter's one entry point for developers and CI, on Debian 12 / Ubuntu:
#   ./dev.sh run    install what is needed, build, start the Natter desktop app hosting
#                   a chat on this computer (port 5000, history in the app-data folder)
#   ./dev.sh test   install what is needed, build, run every test suite, then fuzz every parser
#                   of outside input for NATTER_FUZZ_SECONDS (60) each
#   ./dev.sh fuzz   the fuzzing alone
#   ./dev.sh build  install what is needed and build only
#   ./dev.sh package  install what is needed, build, make the installers in build/packages
#                   (Debian: natter and natterd .deb, and a .tar.gz)
# Run as root or as a user with sudo (only apt-get needs it).
set -euo pipefail

cd "$(dirname "$0")"
BUILD_DIR=${NATTER_BUILD_DIR:-build}
BUILD_TYPE=${NATTER_BUILD_TYPE:-Release}
JOBS=${NATTER_JOBS:-2}

PACKAGES=(
  cmake ninja-build g++ pkg-config
  qt6-base-dev qt6-base-dev-tools qt6-websockets-dev libqt6sql6-sqlite qt6-tools-dev libgl-dev
  # the SQLite library Qt's driver uses (natterd's reader connections set its time limit)
  libsqlite3-dev
  # lrelease for the translations (English plural forms) and python3 for their check;
  # time zone data for local times
  qt6-l10n-tools tzdata python3
  # accounts: Argon2id password hashing; the desktop app's token in the system keychain
  libsodium-dev qtkeychain-qt6-dev
  # natterd's self-signed certificate (OpenSSL's libcrypto, which Qt's TLS backend uses too);
  # the openssl tool checks the packaged natterd's TLS in the package test
  libssl-dev openssl
  # the desktop app (and its offscreen widget tests): platform plugins, fonts with emoji
  qt6-qpa-plugins fonts-dejavu-core fonts-noto-color-emoji
  # the libFuzzer targets: clang and its fuzzer runtime
  clang libclang-rt-14-dev
  # the fault suite steps natterd's wall clock with libfaketime
  faketime
  # natterd's PostgreSQL store (Qt's QPSQL driver) and the throw-away PostgreSQL
  # server the tests start on 127.0.0.1 (tests/support/postgres.sh)
  libqt6sql6-psql postgresql
  # natterd --redis (hiredis) and the redis-server the cluster tests start on 127.0.0.1
  libhiredis-dev redis-server
  # the package test checks the HAProxy example of installer/haproxy
  haproxy
  # packaging and its checks: dpkg-shlibdeps, file (CPack's DEB generator),
  # the desktop-file, AppStream and systemd validators
  dpkg-dev file desktop-file-utils appstream systemd
)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  install_packages
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DNATTER_WARNINGS_AS_ERRORS="$werror"
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

fuzz() {
  # Every parser of outside input under libFuzzer, ASan and UBSan, from the
  # seed corpus in tests/fuzz/corpus, NATTER_FUZZ_SECONDS (60) each. A finding
  # fails the run; its input is kept in $BUILD_DIR-fuzz/findings.
  local seconds=${NATTER_FUZZ_SECONDS:-60}
  local dir="$BUILD_DIR-fuzz"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DNATTER_FUZZ=ON -DNATTER_WARNINGS_AS_ERRORS=ON
  cmake --build "$dir" -j "$JOBS"
  mkdir -p "$dir/findings"
  local target
  for target in client_frame server_frame discovery address websocket_frames proxy_header; do
    mkdir -p "$dir/corpus/$target"
    echo "dev.sh: fuzzing $target for $seconds s"
    if ! "$dir/tests/fuzz/fuzz_$target" "$dir/corpus/$target" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -artifact_prefix="$dir/findings/$target-" \
      -print_final_stats=1 >"$dir/$target.log" 2>&1; then
      tail -n 60 "$dir/$target.log"
      echo "dev.sh: fuzz_$target found a problem; its input is in $dir/findings" >&2
      return 1
    fi
    grep -E '^stat::number_of_executed_units' "$dir/$target.log" || true
  done
}

case "${1:-}" in
  build)
    build
    ;;
  run)
    build
    shift
    # More arguments go to natter, e.g. ./dev.sh run --server ws://HOST:5000 (see natter --help).
    [ $# -gt 0 ] || set -- --host
    exec "$BUILD_DIR/app/natter" "$@"
    ;;
  package)
    build
    cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$BUILD_DIR/packages"
    ;;
  test)
    build
    # Discovery traffic of any test goes to loopback only.
    export NATTER_DISCOVERY_ADDRESS=127.255.255.255
    # CI (as root on a throwaway machine) also installs the .debs for real.
    if [ "${CI:-}" = "true" ] && [ "$(id -u)" -eq 0 ]; then export NATTER_PACKAGE_INSTALL=1; fi
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    if [ "${CI:-}" = "true" ]; then
      # CI runs the whole suite again under AddressSanitizer and UBSan (not the
      # packages, which are Release builds, nor the translation check): a
      # dangling model, key or session that happens to work in Release
      # crashes there, and a leak fails the suite at exit.
      cmake -S . -B "$BUILD_DIR-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNATTER_SANITIZE=ON \
        -DNATTER_WARNINGS_AS_ERRORS=ON
      cmake --build "$BUILD_DIR-asan" -j "$JOBS"
      ctest --test-dir "$BUILD_DIR-asan" --output-on-failure -j "$JOBS" -LE package -E '^translations$'
    fi
    fuzz
    ;;
  fuzz)
    install_packages
    fuzz
    ;;
  *)
    echo "usage: ./dev.sh run|test|build|package|fuzz" >&2
    exit 2
    ;;
esac
