#!/usr/bin/env bash
# The one GPU script. On a machine with an H100/H200 (CMake, Ninja, nvcc 13, cuBLAS,
# compute-sanitizer; no package registry needed), from the repository root:
#
#   bench/gpu/run.sh            build, CPU tests, device-header self-tests, generated-kernel checks
#   bench/gpu/run.sh --bench    ... and the cuBLAS comparisons
#
# The GPU machine has no package registry: first run `bash scripts/gpu-deps.sh` on the build
# machine (copies CLI11, nlohmann-json and GoogleTest into .gpu-deps/), then call the device tool
# with carry: [".gpu-deps"] and command: "bash bench/gpu/run.sh --bench".
#
# Steps: (1) record the GPU, driver and CUDA versions; (2) configure and build into build-gpu/ and
# run the CPU test suite (which also prints every CUDA test kernel into
# build-gpu/tests/cuda/generated/ and compiles it with ptxas -v); (3) build and run the self-tests
# of src/cuda/grove_sm90.cuh under bench/gpu/selftest/, each also under compute-sanitizer;
# (3b) build and run the machine-model microbenchmarks of bench/gpu/microbench/ (figures tabled
# next to data/machines/h100.json; never fatal); (4) check the generated kernels end to end (hook:
# check_generated.cu drives the GEMM and attention fixtures; add example kernels to
# GENERATED_CHECKS as the lowering produces them); (4b) run every example with
# `grove run --gpu --check` (hook: GPU_RUNS); (5) with --bench, time them against cuBLAS (hook:
# BENCHES). Everything is summarized in bench/results/YYYY-MM-DD-<gpu>.md, copied to $OUT when
# set with microbench.json (the device machine's $OUT comes back to the caller). Exit status:
# nonzero when any check failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${GROVE_GPU_BUILD:-$ROOT/build-gpu}
BENCH=0
[[ "${1:-}" == "--bench" ]] && BENCH=1
ARCH="-gencode arch=compute_90a,code=sm_90a"
NVCC=${NVCC:-nvcc}
mkdir -p "$BUILD/gpu" "$ROOT/bench/results"
LOG="$BUILD/gpu/run.log"
: >"$LOG"
FAILED=0
declare -a ROWS

log() { echo "$@" | tee -a "$LOG"; }
row() { ROWS+=("$1"); }
step() { # name, command...: runs with a time limit, logs, records PASS/FAIL
  local name=$1
  shift
  local t0=$SECONDS
  if timeout 600 "$@" >>"$LOG" 2>&1; then
    row "| $name | PASS | $((SECONDS - t0)) s |"
  else
    row "| $name | **FAIL** (exit $?) | $((SECONDS - t0)) s |"
    FAILED=1
  fi
}

# (1) The machine.
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
DRIVER=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
CUDA_DRIVER=$(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1)
NVCC_VERSION=$($NVCC --version | grep -o 'release [0-9.]*, V[0-9.]*')
GPU_SLUG=$(echo "${GPU:-unknown-gpu}" | tr '[:upper:] ' '[:lower:]-' | tr -cd 'a-z0-9-')
DATE=$(date +%F)
RESULTS="$ROOT/bench/results/$DATE-$GPU_SLUG.md"
log "GPU: ${GPU:-none} | driver ${DRIVER:-?} | ${CUDA_DRIVER:-?} | nvcc $NVCC_VERSION"
nvidia-smi >>"$LOG" 2>&1

# (2) Build and CPU tests (the CUDA printer tests compile every generated kernel with ptxas -v).
step "configure" cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGROVE_SCHEDULER=OFF -DGROVE_WERROR=OFF
step "build" ninja -C "$BUILD"
step "CPU tests (ctest)" ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)"
GEN="$BUILD/tests/cuda/generated"
"$BUILD/tests/cuda/grove_cuda_tests" --gtest_filter='CudaCompile.*' 2>&1 | grep '\[ cuda' \
  >"$BUILD/gpu/ptxas.txt" || true

# (3) Device-header self-tests, then the same binaries under compute-sanitizer.
INC="-I$ROOT/src/cuda -I$ROOT/bench/gpu"
for t in tma_swizzle tma_multicast wgmma mbarrier_ring; do
  step "build selftest $t" $NVCC -std=c++17 -O3 $ARCH -lineinfo $INC \
    "$ROOT/bench/gpu/selftest/$t.cu" -o "$BUILD/gpu/$t"
  step "selftest $t" "$BUILD/gpu/$t"
  if command -v compute-sanitizer >/dev/null; then
    step "compute-sanitizer memcheck $t" compute-sanitizer --error-exitcode 1 "$BUILD/gpu/$t"
  fi
done

# (3b) Machine-model microbenchmarks (bench/gpu/microbench/*.cu): each prints one JSON line per
# figure (TMA latency and bandwidth, wgmma latency, MUFU and FP32 rates, mbarrier hand-off),
# gathered into $BUILD/gpu/microbench.json and tabled in the results next to the figure the
# machine model (data/machines/h100.json or h200.json) holds now. Measurements, not checks: a
# failure shows in the table, and neither stops the script nor changes its exit status.
MB_JSON="$BUILD/gpu/microbench.json"
: >"$MB_JSON"
measure() { # name, stdout file, command...: like step, but never sets FAILED
  local name=$1 out=$2
  shift 2
  local t0=$SECONDS
  if timeout 300 "$@" >"$out" 2>>"$LOG"; then
    row "| $name | PASS | $((SECONDS - t0)) s |"
  else
    row "| $name | **FAIL** (exit $?; not counted) | $((SECONDS - t0)) s |"
  fi
  cat "$out" >>"$LOG"
}
for src in "$ROOT"/bench/gpu/microbench/*.cu; do
  mb=$(basename "$src" .cu)
  rm -f "$BUILD/gpu/microbench_$mb" # never run a stale binary
  measure "build microbench $mb" /dev/null $NVCC -std=c++17 -O3 $ARCH -lineinfo \
    -I"$ROOT/src/cuda" "$src" -o "$BUILD/gpu/microbench_$mb"
  [[ -x "$BUILD/gpu/microbench_$mb" ]] || continue
  measure "microbench $mb" "$BUILD/gpu/microbench_$mb.out" "$BUILD/gpu/microbench_$mb"
  grep '^{"figure"' "$BUILD/gpu/microbench_$mb.out" >>"$MB_JSON" || true
done
MACHINE_FILE="$ROOT/data/machines/h100.json"
[[ "${GPU:-}" == *H200* ]] && MACHINE_FILE="$ROOT/data/machines/h200.json"

# (4) Generated kernels, end to end. Hook: one line per (name, generated file, driver flags).
GENERATED_CHECKS=(
  "gemm_128x256x64_s4|gemm_128x256x64_s4.cu|-DCHECK_GEMM"
  "gemm_128x128x64_s3|gemm_128x128x64_s3.cu|-DCHECK_GEMM"
  "gemm_64x128x64_s4|gemm_64x128x64_s4.cu|-DCHECK_GEMM"
  "attention_step_d64|attention_step_d64.cu|-DCHECK_ATTENTION -DHEAD_DIM=64"
  "attention_step_d128|attention_step_d128.cu|-DCHECK_ATTENTION -DHEAD_DIM=128"
)
SASS="$BUILD/gpu/sass.txt"
: >"$SASS"
for entry in "${GENERATED_CHECKS[@]}"; do
  IFS='|' read -r name file flags <<<"$entry"
  [[ -f "$GEN/$file" ]] || { row "| check $name | **MISSING** $file | |"; FAILED=1; continue; }
  step "build check $name" $NVCC -std=c++17 -O3 $ARCH -lineinfo $INC $flags \
    "$ROOT/bench/gpu/check_generated.cu" "$GEN/$file" -lcublas -o "$BUILD/gpu/check_$name"
  step "check $name" "$BUILD/gpu/check_$name"
  if command -v compute-sanitizer >/dev/null; then
    step "compute-sanitizer memcheck $name" compute-sanitizer --error-exitcode 1 \
      "$BUILD/gpu/check_$name"
  fi
  if command -v cuobjdump >/dev/null; then # tensor-core path and no local memory
    echo "$name: $(cuobjdump -sass "$BUILD/gpu/check_$name" | grep -oE 'HGMMA|LDL|STL' |
      sort | uniq -c | tr -s ' \n' ' ')" >>"$SASS"
  fi
done

# (4b) Every example through the runtime: `grove run --gpu --check` lowers, compiles with NVRTC
# (cached in $GROVE_CACHE_DIR), launches and compares with the float64 reference, at sizes that are
# and are not tile multiples (rows stay multiples of 16 bytes, as TMA needs). Hook: one line per
# (name, example, mapping, sizes, args); ragged cases also run under compute-sanitizer.
GROVE="$BUILD/src/cli/grove"
export GROVE_CACHE_DIR="$BUILD/gpu/kernel-cache"
GPU_RUNS=(
  "gemm|gemm.grove|h100|M=512,N=512,K=256|"
  "gemm_ragged|gemm.grove|h100|M=300,N=264,K=200|"
  "gemm_bf16|gemm_bf16.grove|h100|M=256,N=512,K=128|"
  "gemm_bf16_ragged|gemm_bf16.grove|h100|M=130,N=200,K=72|"
  "batched_gemm|batched_gemm.grove|h100|L=2,M=256,N=256,K=128|"
  "batched_gemm_ragged|batched_gemm.grove|h100|L=3,M=100,N=264,K=136|"
  "dual_gemm|dual_gemm.grove|h100|M=256,N=512,K=128|"
  "dual_gemm_ragged|dual_gemm.grove|h100|M=136,N=200,K=120|"
  "gemm_bias_gelu|gemm_bias_gelu.grove|h100|M=256,N=512,K=128|"
  "gemm_bias_gelu_ragged|gemm_bias_gelu.grove|h100|M=128,N=296,K=64|"
  "gemm_rowsum|gemm_rowsum.grove|h100|M=256,N=256,K=256|"
  "gemm_rowsum_ragged|gemm_rowsum.grove|h100|M=200,N=256,K=136|"
  "attention_d64|attention.grove|h100_d64|BH=2,S=512,D=64|sm_scale=0.125"
  "attention_d64_ragged|attention.grove|h100_d64|BH=1,S=200,D=64|sm_scale=0.125"
  "attention_d128|attention.grove|h100_d128|BH=2,S=512,D=128|sm_scale=0.088"
  "attention_d128_ragged|attention.grove|h100_d128|BH=1,S=328,D=128|sm_scale=0.088"
  "attention_causal_d64|attention_causal.grove|h100_d64_causal|BH=2,S=512,D=64|sm_scale=0.125"
  "attention_causal_d64_ragged|attention_causal.grove|h100_d64_causal|BH=1,S=190,D=64|sm_scale=0.125"
  "attention_causal_d128|attention_causal.grove|h100_d128_causal|BH=2,S=512,D=128|sm_scale=0.088"
  "attention_causal_d128_ragged|attention_causal.grove|h100_d128_causal|BH=1,S=200,D=128|sm_scale=0.088"
)
for entry in "${GPU_RUNS[@]}"; do
  IFS='|' read -r name file mapping sizes args <<<"$entry"
  cmd=("$GROVE" run "$ROOT/examples/$file" --mapping "$mapping" --size "$sizes" --gpu --check)
  [[ -n "$args" ]] && cmd+=(--arg "$args")
  step "grove run --gpu $name" "${cmd[@]}"
  if [[ $name == *_ragged ]] && command -v compute-sanitizer >/dev/null; then
    step "compute-sanitizer memcheck grove run --gpu $name" \
      compute-sanitizer --error-exitcode 1 "${cmd[@]}"
  fi
done

# (5) Benchmarks against cuBLAS in the same run (hook: add drivers here).
BENCHES=(
  "gemm_128x256x64_s4"
)
# The same problems through the runtime (`grove bench`: NVRTC-compiled, median of cuEvent-timed
# runs), with the nominal flop count so TFLOP/s compare with the cuBLAS lines above.
GROVE_BENCHES=(
  "gemm_4096|gemm.grove|h100|M=4096,N=4096,K=4096||137438953472"
  "gemm_8192|gemm.grove|h100|M=8192,N=8192,K=8192||1099511627776"
  "attention_d128|attention.grove|h100_d128|BH=32,S=4096,D=128|sm_scale=0.088|"
)
if [[ $BENCH == 1 ]]; then
  for name in "${BENCHES[@]}"; do
    [[ -x "$BUILD/gpu/check_$name" ]] && step "bench $name" "$BUILD/gpu/check_$name" --bench
  done
  for entry in "${GROVE_BENCHES[@]}"; do
    IFS='|' read -r name file mapping sizes args flops <<<"$entry"
    cmd=("$GROVE" bench "$ROOT/examples/$file" --mapping "$mapping" --size "$sizes" --iters 50)
    [[ -n "$args" ]] && cmd+=(--arg "$args")
    [[ -n "$flops" ]] && cmd+=(--flops "$flops")
    step "grove bench $name" "${cmd[@]}"
  done
  # A/B: each mapping option the lowering honours turned off in a copy of the example, checked at
  # a small size, then timed like the line above it, so a run tells what each option is worth.
  VARIANTS=(
    "gemm_4096_not_persistent|gemm.grove|s/persistent = true;/persistent = false;/|h100|M=4096,N=4096,K=4096||137438953472"
    "gemm_4096_no_cluster|gemm.grove|/cluster = (2, 1);/d|h100|M=4096,N=4096,K=4096||137438953472"
    "gemm_4096_pipeline4|gemm.grove|s/pipeline = 3;/pipeline = 4;/;/cluster = (2, 1);/d|h100|M=4096,N=4096,K=4096||137438953472"
    "attention_d128_no_pingpong|attention.grove|s/pingpong = true;/pingpong = false;/|h100_d128|BH=32,S=4096,D=128|sm_scale=0.088|"
    "attention_d128_not_persistent|attention.grove|s/persistent = true;/persistent = false;/|h100_d128|BH=32,S=4096,D=128|sm_scale=0.088|"
  )
  mkdir -p "$BUILD/gpu/variants"
  for entry in "${VARIANTS[@]}"; do
    IFS='|' read -r name file edit mapping sizes args flops <<<"$entry"
    variant="$BUILD/gpu/variants/$name.grove"
    sed "$edit" "$ROOT/examples/$file" >"$variant"
    small=(--size "${sizes//4096/256}")
    cmd=("$GROVE" run "$variant" --mapping "$mapping" "${small[@]}" --gpu --check)
    [[ -n "$args" ]] && cmd+=(--arg "$args")
    step "grove run --gpu $name" "${cmd[@]}"
    cmd=("$GROVE" bench "$variant" --mapping "$mapping" --size "$sizes" --iters 50)
    [[ -n "$args" ]] && cmd+=(--arg "$args")
    [[ -n "$flops" ]] && cmd+=(--flops "$flops")
    step "grove bench $name" "${cmd[@]}"
  done
fi

# Results file.
{
  echo "# GPU run $DATE: ${GPU:-unknown GPU}"
  echo
  echo "- GPU: ${GPU:-?}; driver ${DRIVER:-?}; ${CUDA_DRIVER:-CUDA version ?} (driver)"
  echo "- nvcc: $NVCC_VERSION; commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)"
  echo "- command: bench/gpu/run.sh $*"
  echo
  echo "| step | result | time |"
  echo "|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "## Self-tests and checks"
  echo '```'
  grep -E '^(SELFTEST|CHECK|BENCH|MICROBENCH|  )' "$LOG" || true
  echo '```'
  echo
  echo "## Machine model figures (measured)"
  echo
  echo "bench/gpu/microbench/*.cu on this GPU (the JSON lines: microbench.json next to run.log);"
  echo "the model column is the figure $(basename "$MACHINE_FILE") holds now. TMA latencies include"
  echo "the 16 KB transfer (the model adds bytes / rates.bytes to kinds.tma_load.latency)."
  echo
  if [[ ! -s "$MB_JSON" ]]; then
    echo "(no figures: see the microbench rows above and run.log)"
  elif command -v python3 >/dev/null; then
    python3 "$ROOT/bench/gpu/microbench/table.py" "$MB_JSON" "$MACHINE_FILE" ||
      { echo '```'; cat "$MB_JSON"; echo '```'; }
  else
    echo '```'
    cat "$MB_JSON"
    echo '```'
  fi
  echo
  echo "## Generated kernels: ptxas (registers per thread, spills) and SASS"
  echo '```'
  cat "$BUILD/gpu/ptxas.txt" "$SASS" 2>/dev/null
  echo '```'
} >"$RESULTS"
log "results: $RESULTS"
if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT"
  cp "$RESULTS" "$LOG" "$MB_JSON" "$OUT/" 2>/dev/null
fi
grep -E '^(SELFTEST|CHECK|BENCH)' "$LOG"
sed -E 's/^\{"figure": "([^"]*)", "value": ([^,]*), "unit": "([^"]*)".*/MICROBENCH \1 = \2 \3/' \
  "$MB_JSON" 2>/dev/null
printf '%s\n' "${ROWS[@]}"
exit $FAILED
