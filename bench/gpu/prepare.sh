#!/usr/bin/env bash
# Builds, on this machine (no GPU needed), everything bench/gpu/run.sh needs on the GPU machine, so
# the GPU's minutes go to running, not compiling. Writes .gpu/ (ignored by git; about 30 MiB):
#
#   .gpu/bin/grove              Release, without the solver-based scheduler (the examples fix
#                               their pipeline depths), libstdc++ linked in statically
#   .gpu/bin/*                  the device-header self-tests, the fixture checks (check_NAME), the
#                               microbenchmarks (microbench_NAME) and cublas_gemm, by nvcc for
#                               sm_90a; gemm_aot, examples/cmake (`grove build` output from CMake)
#   .gpu/bin/grove_api_tests    the C++ API's tests (Launch.*: Program::launch on device memory)
#   .gpu/python/                the Python module (for this machine's Python version), for
#                               examples/python/torch_gemm.py where the GPU machine's Python matches
#   .gpu/kernel-cache/          every kernel run.sh launches, compiled by NVRTC (keyed by source and
#                               toolkit: a GPU machine with another NVRTC just recompiles)
#
# Before it finishes it runs every checked case of the GPU run in the emulator, and again through
# the runtime's GPU path on a CPU stand-in for the GPU (tests/cuda/cpu_device), so a lowering,
# printer or runtime bug fails here rather than on the GPU's clock. Then call the device tool with carry: [".gpu"] and
# command: "bash bench/gpu/run.sh --bench".
# run.sh falls back to building there (carry .gpu-deps too, from scripts/gpu-deps.sh) when .gpu/ is
# missing or its grove does not start.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
source bench/gpu/plan.sh
DEST=$ROOT/.gpu
BUILD=$ROOT/build-gpu-prepare
ARCH="-gencode arch=compute_90a,code=sm_90a"
JOBS=$(nproc)

rm -rf "$DEST"
mkdir -p "$DEST/bin" "$DEST/kernel-cache" "$DEST/generated"

echo "== grove (Release)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGROVE_SCHEDULER=OFF \
  -DGROVE_WERROR=OFF -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" \
  -DCMAKE_MODULE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" >/dev/null
ninja -C "$BUILD" grove grove_cuda_tests grove_api_tests
cp "$BUILD/src/cli/grove" "$BUILD/tests/api/grove_api_tests" "$DEST/bin/"
strip "$DEST/bin/grove" "$DEST/bin/grove_api_tests"
if ninja -C "$BUILD" grove_python >/dev/null 2>&1; then # where pybind11 is installed
  mkdir -p "$DEST/python"
  cp "$BUILD"/python/grove*.so "$DEST/python/"
  strip "$DEST"/python/grove*.so
fi

echo "== fixture kernels (printed by the CUDA tests)"
"$BUILD/tests/cuda/grove_cuda_tests" --gtest_filter='CudaCompile.*' >/dev/null
for entry in "${GENERATED_CHECKS[@]}"; do
  IFS='|' read -r name file flags <<<"$entry"
  cp "$BUILD/tests/cuda/generated/$file" "$DEST/generated/"
done

echo "== nvcc: self-tests, fixture checks, microbenchmarks, cuBLAS baseline ($JOBS at a time)"
INC="-I$ROOT/src/cuda -I$ROOT/bench/gpu"
{
  for t in "${SELFTESTS[@]}"; do
    echo "$t|bench/gpu/selftest/$t.cu|"
  done
  for entry in "${GENERATED_CHECKS[@]}"; do
    IFS='|' read -r name file flags <<<"$entry"
    echo "check_$name|bench/gpu/check_generated.cu $DEST/generated/$file -lcublas|$flags"
  done
  for src in bench/gpu/microbench/*.cu; do
    echo "microbench_$(basename "$src" .cu)|$src|"
  done
  echo "cublas_gemm|bench/gpu/cublas_gemm.cu -lcublas -lcublasLt|"
} | xargs -P "$JOBS" -I{} bash -c '
  IFS="|" read -r out srcs flags <<<"{}"
  nvcc -std=c++17 -O3 '"$ARCH"' -lineinfo '"$INC"' $flags $srcs -o '"$DEST"'/bin/$out ||
    { echo "nvcc failed: $out" >&2; exit 1; }'

echo "== examples/cmake: grove build output in a CMake project"
cmake -S examples/cmake -B "$BUILD/aot" -DGROVE="$BUILD/src/cli/grove" >/dev/null
cmake --build "$BUILD/aot" >/dev/null
cp "$BUILD/aot/gemm_aot" "$DEST/bin/"

echo "== NVRTC: every kernel run.sh launches, into .gpu/kernel-cache"
export GROVE_CACHE_DIR=$DEST/kernel-cache
GROVE=$DEST/bin/grove
# compile EXAMPLE MAPPING SIZES [TYPES]
compile() {
  "$GROVE" compile "$ROOT/examples/$1" --mapping "$2" --size "$3" ${4:+--type "$4"} >/dev/null
}
for entry in "${GPU_RUNS[@]}"; do
  IFS='|' read -r name file mapping sizes args types <<<"$entry"
  compile "$file" "$mapping" "$sizes" "$types"
done
for entry in "${ATTENTION_BENCHES[@]}"; do
  IFS='|' read -r name file mapping sizes args shape types <<<"$entry"
  compile "$file" "$mapping" "$sizes" "$types"
done
for entry in "${OTHER_GEMMS[@]}"; do
  IFS='|' read -r name file mapping sizes rest <<<"$entry"
  compile "$file" "$mapping" "$sizes"
done
for entry in "${MEMORY_BENCHES[@]}"; do
  IFS='|' read -r name file mapping sizes <<<"$entry"
  compile "$file" "$mapping" "$sizes"
done
for dtype in f16 bf16; do
  for shape in "${GEMM_SHAPES[@]}"; do
    read -r M N K <<<"$shape"
    compile gemm.grove h100 "M=$M,N=$N,K=$K" "$(gemm_types "$dtype")"
  done
done
# What the API's launch test and examples/python/torch_*.py launch: sizes not given stay dynamic.
for s in M=200,N=100,K=100 M=300,N=264,K=200 M=512,N=512,K=256; do
  for mapping in h100 h100_pingpong; do
    compile gemm.grove "$mapping" "$s"
    compile gemm.grove "$mapping" "$s" T=bf16
  done
done
compile gemm.grove h100 N=100,K=100
compile gemm.grove h100 N=264,K=200
for s in M=300,N=264,K=200 M=512,N=512,K=256; do
  for mapping in h100 h100_pingpong; do compile linear.grove "$mapping" "$s"; done
done
compile linear.grove h100 N=264,K=200
for d in 64 128 256; do
  compile attention.grove "h100_d$d" "D=$d"
  compile attention_causal.grove "h100_d${d}_causal" "D=$d"
done
compile attention.grove h100_d128 D=128 T=bf16
compile attention_causal.grove h100_d128_causal D=128 T=bf16
for d in 64 128 256; do compile attention_decode.grove "decode_d$d" "D=$d"; done
python3 -B bench/gpu/check_variants.py # each edit still changes its example
mkdir -p "$DEST/variants"
cp examples/*.grove "$DEST/variants/" # what a variant imports, beside it
for entry in "${VARIANTS[@]}"; do
  IFS='|' read -r name file edit mapping sizes args <<<"$entry"
  sed "$edit" "examples/$file" >"$DEST/variants/$name.grove"
  for s in "$sizes" "$(small_sizes "$sizes")"; do
    "$GROVE" compile "$DEST/variants/$name.grove" --mapping "$mapping" --size "$s" >/dev/null
  done
done

echo "== pre-flight: every checked GPU run, lowered and run in the emulator first (2 schedules)"
for entry in "${GPU_RUNS[@]}"; do
  IFS='|' read -r name file mapping sizes args types <<<"$entry"
  cmd=("$GROVE" run "examples/$file" --mapping "$mapping" --size "$sizes" --emulate --schedules 2
    --check)
  [[ -n "$args" ]] && cmd+=(--arg "$args")
  [[ -n "$types" ]] && cmd+=(--type "$types")
  "${cmd[@]}" >/dev/null || { echo "emulation of $name failed: ${cmd[*]}" >&2; exit 1; }
done

echo "== pre-flight: every A/B variant, emulated at its small size"
for entry in "${VARIANTS[@]}"; do
  IFS='|' read -r name file edit mapping sizes args <<<"$entry"
  cmd=("$GROVE" run "$DEST/variants/$name.grove" --mapping "$mapping" --size "$(small_sizes "$sizes")"
    --emulate --check)
  [[ -n "$args" ]] && cmd+=(--arg "$args")
  "${cmd[@]}" >/dev/null || { echo "emulation of variant $name failed: ${cmd[*]}" >&2; exit 1; }
done

echo "== pre-flight: every checked GPU run and A/B variant through the runtime's GPU path on the CPU"
# A stand-in libcuda.so.1 and NVRTC (tests/cuda/cpu_device) run each `grove run --gpu --check`
# as run.sh will, the printed kernels compiled as C++ against a CPU model of TMA, WGMMA and
# mbarriers: the launcher, tensor maps, uploads, downloads and the printer's arithmetic, checked
# before the GPU's clock starts. Its "CUBINs" go to a cache of their own, not the GPU's.
ninja -C "$BUILD" grove_fake_cuda grove_fake_nvrtc >/dev/null
STAND_IN_CACHE=$(mktemp -d)
{
  for entry in "${GPU_RUNS[@]}"; do
    IFS='|' read -r name file mapping sizes args types <<<"$entry"
    echo "$name|examples/$file|$mapping|$sizes|$args|$types"
  done
  for entry in "${VARIANTS[@]}"; do
    IFS='|' read -r name file edit mapping sizes args <<<"$entry"
    echo "variant $name|$DEST/variants/$name.grove|$mapping|$(small_sizes "$sizes")|$args|"
  done
} | LD_LIBRARY_PATH="$BUILD/tests/cuda/fake_driver" GROVE_NVRTC="$BUILD/tests/cuda/libgrove_fake_nvrtc.so" \
  GROVE_CACHE_DIR="$STAND_IN_CACHE" xargs -P "$JOBS" -I{} bash -c '
  IFS="|" read -r name file mapping sizes args types <<<"{}"
  cmd=("'"$GROVE"'" run "$file" --mapping "$mapping" --size "$sizes" --gpu --check)
  [[ -n "$args" ]] && cmd+=(--arg "$args")
  [[ -n "$types" ]] && cmd+=(--type "$types")
  out=$("${cmd[@]}" 2>&1) || { echo "$out" >&2; echo "on the CPU stand-in, $name failed: ${cmd[*]}" >&2; exit 255; }'
rm -rf "$STAND_IN_CACHE"

du -sh "$DEST"
echo "ready: carry [\".gpu\"] and run: bash bench/gpu/run.sh --bench"
