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
ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 300
