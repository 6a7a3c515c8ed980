#!/usr/bin/env bash
# Copies the build dependencies a machine without a package registry lacks (the GPU machine has
# CMake, Ninja and CUDA but no CLI11, nlohmann-json or GoogleTest) into .gpu-deps/, from this
# machine's Debian packages. Only needed when bench/gpu/run.sh must build on the GPU machine
# (bench/gpu/prepare.sh normally builds everything here): carry [".gpu", ".gpu-deps"].
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rm -rf .gpu-deps
mkdir -p .gpu-deps/include
cp -r /usr/include/CLI .gpu-deps/include/
cp -r /usr/include/nlohmann .gpu-deps/include/
cp -r /usr/src/googletest .gpu-deps/googletest
du -sh .gpu-deps
