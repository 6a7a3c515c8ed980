#!/usr/bin/env bash
# Installs what Grove needs, builds it, and runs the GEMM example on the CPU against its float64
# reference (the main job when no GPU is present).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target grove
./build/src/cli/grove run examples/gemm.grove --size M=512,N=512,K=512 --check
