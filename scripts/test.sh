#!/usr/bin/env bash
# Builds Grove and runs every test. GROVE_BUILD_DIR picks the build folder (default: build);
# GROVE_CMAKE_ARGS adds CMake options (e.g. -DGROVE_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${GROVE_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086
cmake -S . -B "$dir" -G Ninja ${GROVE_CMAKE_ARGS:-} >/dev/null
cmake --build "$dir" -j "$jobs"
log="$dir/ctest-output.log"
if ! ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 300 -O "$log"; then
  # LeakSanitizer's own stop-the-world tracer sometimes crashes at exit on a loaded machine after
  # the test has passed ("Tracer caught signal 11", google/sanitizers#1353); no leak is reported.
  # Only then are the failed tests run once more, alone; any other failure stands.
  grep -q "LeakSanitizer has encountered a fatal error" "$log" || exit 1
  echo "LeakSanitizer's tracer crashed (not a leak report); running the failed tests once more"
  ctest --test-dir "$dir" --rerun-failed --output-on-failure --timeout 300
fi
