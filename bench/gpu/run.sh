#!/usr/bin/env bash
# The one GPU script, for a machine with an H100/H200 (nvcc 13, cuBLAS, compute-sanitizer, ncu; no
# package registry needed). First, on the build machine (no GPU needed):
#
#   bash bench/gpu/prepare.sh             builds grove, the test drivers and every kernel into .gpu/
#
# then on the GPU machine (device tool: carry [".gpu"], command "bash bench/gpu/run.sh --bench"):
#
#   bash bench/gpu/run.sh                 self-tests, every example checked, compute-sanitizer
#   bash bench/gpu/run.sh --bench         ... and the timings against cuBLAS
#
# What runs is listed in bench/gpu/plan.sh. Steps go in order of what only a GPU can tell, most
# important first: (1) the machine; (2) the device-header self-tests, one wrapper each; (3) every
# example on fresh random inputs against the float64 reference (`grove run --gpu --check`), at
# sizes that are and are not tile multiples, then `grove build` output from CMake and the API's
# launch on device memory; (4) with --bench, GEMM against cuBLAS at issue #4's
# sizes, f16 and bf16, both timed the same way (random inputs cycled through copies that hold
# twice the L2, warm-up, median of 50), and attention against cuDNN (PyTorch SDPA); (5)
# compute-sanitizer memcheck on the self-tests and the ragged runs, racecheck and synccheck on
# small ones (where the machine can attach it); (6) the fixture kernels
# of tests/cuda (check_generated.cu); (7) with --bench, A/B variants of the mapping options and
# an ncu profile of the 8192 GEMM next to cuBLAS's; (8) the machine-model microbenchmarks; (9)
# examples/python/torch_*.py (launch on PyTorch tensors) where the prepared module imports.
#
# The device tool allows 10 minutes a command and 15 minutes a session, so the script keeps to a
# budget (GROVE_GPU_BUDGET_S, default 480 s): a step that would start after it is recorded as
# skipped. After every step the results file bench/results/YYYY-MM-DD-<gpu>.md and run.log are
# rewritten and copied to $OUT, so a run cut short still brings back everything it measured.
# Exit status: nonzero when any check failed (measurements never fail the run).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/gpu/plan.sh"
BENCH=0
[[ "${1:-}" == "--bench" ]] && BENCH=1
START=$SECONDS
DEADLINE=$((SECONDS + ${GROVE_GPU_BUDGET_S:-480}))
WORK=${GROVE_GPU_WORK:-$ROOT/build-gpu}
PRE=$ROOT/.gpu
BIN=$PRE/bin
mkdir -p "$WORK/steps" "$ROOT/bench/results"
LOG=$WORK/run.log
GEMM_TSV=$WORK/gemm.tsv
ATTENTION_TSV=$WORK/attention.tsv
: >"$LOG"
: >"$GEMM_TSV"
: >"$ATTENTION_TSV"
FAILED=0
declare -a ROWS

log() { echo "$@" | tee -a "$LOG"; }

# The file a step's output goes to: its name with each / made a - (names such as "gqa 32/8" are
# shapes, not folders).
step_out() { echo "$WORK/steps/${1//\//-}.out"; }

# step KIND NAME LIMIT_S COMMAND...: runs COMMAND with its output in $(step_out NAME) (and
# run.log), within LIMIT_S and the budget. KIND check: a failure fails the run; KIND measure: a
# failure is only shown.
step() {
  local kind=$1 name=$2 limit=$3
  shift 3
  local left=$((DEADLINE - SECONDS)) out
  out=$(step_out "$name")
  if ((left < 10)); then
    ROWS+=("| $name | skipped (time budget) | |")
    return 1
  fi
  ((limit > left)) && limit=$left
  local t0=$SECONDS rc=0
  echo "== $name: $*" >>"$LOG"
  timeout "$limit" "$@" >"$out" 2>&1 || rc=$?
  cat "$out" >>"$LOG"
  local verdict=PASS
  if ((rc != 0)); then
    verdict="**FAIL** (exit $rc$( ((rc == 124)) && echo ", over ${limit} s"))"
    [[ $kind == measure ]] && verdict="$verdict, not counted" || FAILED=1
  fi
  ROWS+=("| $name | $verdict | $((SECONDS - t0)) s |")
  publish
  return $rc
}

# The TFLOP/s figure a `grove bench` or cublas_gemm output holds.
tflops() { grep -oE '[0-9.]+ TFLOP/s' "$1" | head -1 | cut -d' ' -f1; }

# (1) The machine.
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
DRIVER=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
CUDA_DRIVER=$(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1)
NVCC_VERSION=$(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*, V[0-9.]*')
GPU_SLUG=$(echo "${GPU:-unknown-gpu}" | tr '[:upper:] ' '[:lower:]-' | tr -cd 'a-z0-9-')
DATE=$(date +%F)
RESULTS="$ROOT/bench/results/$DATE-$GPU_SLUG.md"
log "GPU: ${GPU:-none} | driver ${DRIVER:-?} | ${CUDA_DRIVER:-?} | nvcc ${NVCC_VERSION:-?}"
nvidia-smi >>"$LOG" 2>&1

publish() { # the results file, rewritten from what is known so far, and copied to $OUT
  {
    echo "# GPU run $DATE: ${GPU:-unknown GPU}"
    echo
    echo "- GPU: ${GPU:-?}; driver ${DRIVER:-?}; ${CUDA_DRIVER:-CUDA version ?} (driver)"
    echo "- nvcc: ${NVCC_VERSION:-?}; commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)"
    echo "- command: bench/gpu/run.sh $([[ $BENCH == 1 ]] && echo --bench); $((SECONDS - START)) s so far"
    echo
    if [[ -s $GEMM_TSV ]]; then
      echo "## GEMM against cuBLAS (TFLOP/s, 2·M·N·K per run; ratio > 1: Grove faster)"
      echo
      echo "Both timed alike: random inputs in copies cycled through (twice the L2), 10 warm-up"
      echo "runs, median of 50 cudaEvent-timed runs."
      echo
      echo "| dtype | M x N x K | Grove | cuBLAS | ratio |"
      echo "|---|---|---|---|---|"
      awk -F'\t' -v squares="$GEMM_SQUARES" '
        { r = ($3 > 0 && $4 > 0) ? $3 / $4 : 0
          printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3 ? $3 : "-", $4 ? $4 : "-",
                 r ? sprintf("%.3f", r) : "-"
          if ($5 <= squares && r > 0) { lg[$1] += log(r); n[$1]++ } }
        END { for (t in n) printf "\n%s: geometric mean of the ratio over the %d square sizes: %.3f\n",
                                  t, n[t], exp(lg[t] / n[t]) }' "$GEMM_TSV"
      echo
    fi
    if [[ -s $ATTENTION_TSV ]]; then
      echo "## Attention against PyTorch SDPA on cuDNN (TFLOP/s, 4·B·H·S·S·D per run, half when causal)"
      echo
      echo "f16 unless marked bf16, (B, H, S, D) layout; Grove timed by \`grove bench\`, the baselines by bench/gpu/sdpa.py,"
      echo "both 10 warm-up runs and the median of 50 cudaEvent-timed runs."
      echo
      echo "| shape | B, H, S, D, causal | Grove | cuDNN | FlashAttention-2 | Grove / cuDNN |"
      echo "|---|---|---|---|---|---|"
      awk -F'\t' '
        { r = ($3 > 0 && $4 > 0) ? sprintf("%.3f", $3 / $4) : "-"
          printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3 ? $3 : "-", $4 ? $4 : "-",
                 $5 ? $5 : "-", r }' "$ATTENTION_TSV"
      echo
    fi
    echo "| step | result | time |"
    echo "|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "## Self-tests, checks and timings"
    echo '```'
    grep -hE '^(SELFTEST|CHECK|BENCH|SDPA|  median|  inputs|  [a-z0-9_]+: [0-9]+ blocks x|grove: (error|warning)|.*\.grove: mapping)' "$LOG" || true
    echo '```'
    if [[ -s $WORK/microbench.json ]]; then
      echo
      echo "## Machine model figures (measured; the model column is what $(basename "$MACHINE_FILE") holds)"
      echo
      python3 "$ROOT/bench/gpu/microbench/table.py" "$WORK/microbench.json" "$MACHINE_FILE" 2>/dev/null ||
        { echo '```'; cat "$WORK/microbench.json"; echo '```'; }
    fi
    if [[ -s $WORK/ncu.txt ]]; then
      echo
      echo "## ncu: the 8192 f16 GEMM, Grove then cuBLAS"
      echo '```'
      cat "$WORK/ncu.txt"
      echo '```'
    fi
  } >"$RESULTS"
  if [[ -n "${OUT:-}" ]]; then
    cp "$RESULTS" "$OUT/" 2>/dev/null
    cp "$LOG" "$OUT/run.log" 2>/dev/null
  fi
}
MACHINE_FILE="$ROOT/data/machines/h100.json"
[[ "${GPU:-}" == *H200* ]] && MACHINE_FILE="$ROOT/data/machines/h200.json"
publish

# The prepared binaries, or build them here (needs .gpu-deps for CLI11, nlohmann-json, GoogleTest).
if ! "$BIN/grove" --help >/dev/null 2>&1; then
  step check "prepare here (no usable prebuilt .gpu)" 400 bash "$ROOT/bench/gpu/prepare.sh"
fi
GROVE=$BIN/grove
export GROVE_CACHE_DIR=$PRE/kernel-cache
# cuBLAS for the nvcc-built drivers: from the loader path, else wherever the toolkit put it.
if ! ldconfig -p 2>/dev/null | grep -q 'libcublas.so.13'; then
  lib=$(find /usr/local /opt -name 'libcublas.so.13' 2>/dev/null | head -1)
  [[ -n $lib ]] && export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# (2) Device-header self-tests.
for t in "${SELFTESTS[@]}"; do step check "selftest $t" 60 "$BIN/$t"; done

# (3) Every example, checked against the float64 reference.
run_cmd() { # name -> the `grove run --gpu --check` command of GPU_RUNS entry `name`
  local entry
  for entry in "${GPU_RUNS[@]}"; do
    IFS='|' read -r name file mapping sizes args types <<<"$entry"
    [[ $name == "$1" ]] || continue
    RUN=("$GROVE" run "$ROOT/examples/$file" --mapping "$mapping" --size "$sizes" --gpu --check)
    [[ -n "$args" ]] && RUN+=(--arg "$args")
    [[ -n "$types" ]] && RUN+=(--type "$types")
    return 0
  done
  return 1
}
for entry in "${GPU_RUNS[@]}"; do
  run_cmd "${entry%%|*}"
  step check "run $name" 60 "${RUN[@]}" # a hang traps after ~10 s (GROVE_HANG_TRAP)
done

# (3b) `grove build` output, compiled ahead of time from CMake (examples/cmake).
step check "run gemm_aot (grove build from CMake)" 60 "$BIN/gemm_aot" --require-gpu

# (3c) The API's launch on device memory (a ragged GEMM on memory allocated there, both mappings,
# M dynamic); Python on PyTorch tensors comes last, (9).
step check "api launch on device memory" 120 env GROVE_SOURCE_DIR="$ROOT" \
  "$BIN/grove_api_tests" --gtest_filter='Launch.*'

# (4) GEMM against cuBLAS, then attention.
# versus LABEL SHOWN ORDER EXAMPLE MAPPING SIZE TYPES FLOPS CUBLAS_ARGS...: times the example
# (its type parameters set by TYPES, e.g. T=bf16, or as written if empty) with `grove bench` and
# cublas_gemm with CUBLAS_ARGS, and adds their TFLOP/s as a row of the GEMM table (LABEL's first
# word its type; ORDER the shape's place; the first GEMM_SQUARES make the mean).
versus() {
  local label=$1 shown=$2 order=$3 example=$4 mapping=$5 size=$6 types=$7 flops=$8
  local tag="${1// /_}" g=0 c=0
  shift 8
  local cmd=("$GROVE" bench "$ROOT/examples/$example" --mapping "$mapping" --size "$size"
    --iters 50 --warmup 10 --flops "$flops")
  [[ -n "$types" ]] && cmd+=(--type "$types")
  step measure "bench grove $tag" 120 "${cmd[@]}" && g=$(tflops "$(step_out "bench grove $tag")")
  step measure "bench cublas $tag" 60 "$BIN/cublas_gemm" "$@" &&
    c=$(tflops "$(step_out "bench cublas $tag")")
  printf '%s\t%s\t%s\t%s\t%s\n' "${label%% *}" "$shown" "${g:-0}" "${c:-0}" "$order" >>"$GEMM_TSV"
  publish
}
if [[ $BENCH == 1 ]]; then
  i=0
  for shape in "${GEMM_SHAPES[@]}"; do
    i=$((i + 1))
    read -r M N K <<<"$shape"
    for dtype in f16 bf16; do
      versus "$dtype ${M}x${N}x${K}" "$M x $N x $K" "$i" gemm.grove h100 "M=$M,N=$N,K=$K" \
        "$(gemm_types "$dtype")" "$((2 * M * N * K))" "$dtype" "$M" "$N" "$K" 50
    done
  done
  for entry in "${OTHER_GEMMS[@]}"; do
    IFS='|' read -r name file mapping sizes mnk mode flops dtype <<<"$entry"
    # shellcheck disable=SC2086 # mnk and mode are word lists
    versus "$dtype $name" "$name: ${sizes//,/ }" "$((i + 1))" "$file" "$mapping" "$sizes" "" \
      "$flops" "$dtype" $mnk 50 $mode
  done
  # Attention: the PyTorch baselines for every shape in one process (one import), then Grove.
  # sdpa BACKEND: the TFLOP/s sdpa.py printed for BACKEND at shape $label, if it ran.
  sdpa() { grep -F "SDPA $1 $label:" "$(step_out "bench sdpa (cuDNN, FlashAttention-2)")" \
    2>/dev/null | grep -oE '[0-9.]+ TFLOP/s' | cut -d' ' -f1; }
  shapes=()
  for entry in "${ATTENTION_BENCHES[@]}"; do
    IFS='|' read -r name file mapping sizes args shape types <<<"$entry"
    shapes+=("$shape")
  done
  step measure "bench sdpa (cuDNN, FlashAttention-2)" 240 python3 "$ROOT/bench/gpu/sdpa.py" \
    "${shapes[@]}"
  for entry in "${ATTENTION_BENCHES[@]}"; do
    IFS='|' read -r name file mapping sizes args shape types <<<"$entry"
    read -r B H S D CAUSAL REST <<<"$shape"
    DTYPE="" KV="" SK=""
    for w in $REST; do
      case $w in bf16) DTYPE=bf16 ;; kv=*) KV=${w#kv=} ;; sk=*) SK=${w#sk=} ;; esac
    done
    # As sdpa.py counts them: 4·B·H·D·S·SK, less the masked half of an S x S square when causal.
    flops=$((4 * B * H * D * (S * ${SK:-$S} - CAUSAL * S * S / 2)))
    tag="attention ${name// /_}" g=0
    cmd=("$GROVE" bench "$ROOT/examples/$file" --mapping "$mapping" --size "$sizes" --iters 50
      --warmup 10 --flops "$flops")
    [[ -n "$args" ]] && cmd+=(--arg "$args")
    [[ -n "$types" ]] && cmd+=(--type "$types")
    step measure "bench grove $tag" 120 "${cmd[@]}" && g=$(tflops "$(step_out "bench grove $tag")")
    label="B=$B H=$H S=$S D=$D causal=$CAUSAL${KV:+ kv_heads=$KV}${SK:+ SK=$SK}${DTYPE:+ dtype=$DTYPE}"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$label" "${g:-0}" "$(sdpa cudnn)" "$(sdpa flash)" \
      >>"$ATTENTION_TSV"
    publish
  done
  # Memory-bound kernels: GB/s in the "  median" lines of the timings section.
  for entry in "${MEMORY_BENCHES[@]}"; do
    IFS='|' read -r name file mapping sizes <<<"$entry"
    step measure "bench grove ${name// /_}" 60 "$GROVE" bench "$ROOT/examples/$file" \
      --mapping "$mapping" --size "$sizes" --iters 50 --warmup 10
  done
fi

# (5) compute-sanitizer. Some machines (gVisor) have the tool but cannot attach it: a probe on
# the first self-test that prints no ERROR SUMMARY marks it unavailable instead of failing.
probe=$WORK/steps/sanitizer-probe.out
sanitizer_works() {
  timeout 60 compute-sanitizer "$BIN/${SELFTESTS[0]}" >"$probe" 2>&1
  grep -q "ERROR SUMMARY" "$probe"
}
if ! command -v compute-sanitizer >/dev/null; then
  ROWS+=("| compute-sanitizer | **MISSING** | |")
  FAILED=1
elif ! sanitizer_works; then
  ROWS+=("| compute-sanitizer | unavailable here: $(head -c 160 "$probe" | tr '\n|' '  ') | |")
  publish
else
  CS=(compute-sanitizer --error-exitcode 1)
  for t in "${SELFTESTS[@]}"; do step check "memcheck selftest $t" 120 "${CS[@]}" "$BIN/$t"; done
  for entry in "${GPU_RUNS[@]}"; do
    [[ ${entry%%|*} == *_ragged ]] || continue
    run_cmd "${entry%%|*}"
    step check "memcheck run $name" 180 "${CS[@]}" "${RUN[@]}"
  done
  for name in "${SANITIZE_DEEP[@]}"; do
    run_cmd "$name"
    for tool in racecheck synccheck; do
      step check "$tool run $name" 240 "${CS[@]}" --tool "$tool" "${RUN[@]}"
    done
  done
fi

# (6) The fixture kernels of tests/cuda.
for entry in "${GENERATED_CHECKS[@]}"; do
  IFS='|' read -r name file flags <<<"$entry"
  step check "check fixture $name" 120 "$BIN/check_$name"
done
[[ $BENCH == 1 ]] && step measure "bench fixture gemm_128x256x64_s4" 120 \
  "$BIN/check_gemm_128x256x64_s4" --bench

# (7) A/B variants, then ncu.
if [[ $BENCH == 1 ]]; then
  mkdir -p "$WORK/variants"
  cp "$ROOT"/examples/*.grove "$WORK/variants/" # what a variant imports, beside it
  for entry in "${VARIANTS[@]}"; do
    IFS='|' read -r name file edit mapping sizes args <<<"$entry"
    variant="$WORK/variants/$name.grove"
    sed "$edit" "$ROOT/examples/$file" >"$variant"
    cmd=("$GROVE" run "$variant" --mapping "$mapping" --size "$(small_sizes "$sizes")" --gpu --check)
    [[ -n "$args" ]] && cmd+=(--arg "$args")
    step check "run variant $name" 120 "${cmd[@]}" || continue
    cmd=("$GROVE" bench "$variant" --mapping "$mapping" --size "$sizes" --iters 50)
    [[ -n "$args" ]] && cmd+=(--arg "$args")
    step measure "bench variant $name" 120 "${cmd[@]}"
  done
  if command -v ncu >/dev/null; then
    NCU=(ncu --section SpeedOfLight --section Occupancy --section LaunchStats
      --section WarpStateStats --section MemoryWorkloadAnalysis --launch-skip 5 --launch-count 1)
    step measure "ncu grove gemm f16 8192" 150 "${NCU[@]}" "$GROVE" bench \
      "$ROOT/examples/gemm.grove" --mapping h100 --size M=8192,N=8192,K=8192 --iters 1 --warmup 5 &&
      cat "$(step_out "ncu grove gemm f16 8192")" >>"$WORK/ncu.txt"
    step measure "ncu cublas gemm f16 8192" 150 "${NCU[@]}" "$BIN/cublas_gemm" f16 8192 8192 8192 1 &&
      cat "$(step_out "ncu cublas gemm f16 8192")" >>"$WORK/ncu.txt"
    publish
  fi
fi

# (8) Machine-model microbenchmarks (each prints one JSON line per figure).
: >"$WORK/microbench.json"
for src in "$ROOT"/bench/gpu/microbench/*.cu; do
  mb=$(basename "$src" .cu)
  step measure "microbench $mb" 120 "$BIN/microbench_$mb" &&
    grep -h '^{"figure"' "$(step_out "microbench $mb")" >>"$WORK/microbench.json"
done
publish

# (9) The Python module's launch on PyTorch CUDA tensors (GEMM, attention), where the module
# prepared for the build machine's Python imports.
if PYTHONPATH=$PRE/python python3 -c "import grove, torch" >/dev/null 2>&1; then
  for example in torch_gemm torch_attention; do
    step check "python $example (launch on torch tensors)" 180 env PYTHONPATH="$PRE/python" \
      python3 "$ROOT/examples/python/$example.py"
  done
else
  ROWS+=("| python launch on torch tensors | skipped (the module in .gpu/python does not import with $(python3 -V 2>&1) and torch) | |")
fi
publish

log "results: $RESULTS ($((SECONDS - START)) s)"
printf '%s\n' "${ROWS[@]}"
exit $FAILED
