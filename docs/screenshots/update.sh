#!/usr/bin/env bash
# Renders the screenshots in this folder (bubble and compact, light and dark,
# 1x and 2x) from the same offscreen scene tests/ui/tst_appearance checks.
# Usage: docs/screenshots/update.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build}"
cmake --build "$build" --target tst_appearance -j2
NATTER_SCREENSHOT_DIR="$here" QT_QPA_PLATFORM=offscreen NATTER_DISCOVERY_ADDRESS=127.255.255.255 \
  "$build/tests/ui/tst_appearance" looksRight sharedFilesLookRight aNarrowWindowLooksRight theUploadSheetLooksRight
ls -1 "$here"/*.png
