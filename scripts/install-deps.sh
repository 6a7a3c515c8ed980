#!/usr/bin/env bash
# Installs what Grove needs to build and test on Debian 12 (bookworm). Safe to run twice.
set -euo pipefail
pkgs=(cmake ninja-build g++ clang-format libgtest-dev libz3-dev nlohmann-json3-dev libcli11-dev
      pybind11-dev python3-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
# numpy, for the Python module's numpy tests (the module itself builds and is tested without it):
# into the python3 on PATH, which is the one CMake builds the module for. Not fatal: where pip
# cannot install, those tests are skipped.
if command -v python3 >/dev/null && ! python3 -c "import numpy" 2>/dev/null; then
  python3 -m pip install --quiet numpy 2>/dev/null || echo "install-deps: numpy not installed; the Python module's numpy tests will be skipped"
fi
