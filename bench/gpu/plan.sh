# What the GPU run does, as lists, read by bench/gpu/prepare.sh (which compiles every kernel here
# ahead of time) and bench/gpu/run.sh (which runs them on the GPU). Sourced, not run.

# Self-tests of the device header (bench/gpu/selftest/NAME.cu), one wrapper each.
SELFTESTS=(tma_swizzle tma_multicast wgmma fp8 stmatrix mbarrier_ring)

# Kernels printed from the test fixtures (tests/cuda), driven by check_generated.cu:
# name | generated file | driver flags.
GENERATED_CHECKS=(
  "gemm_128x256x64_s4|gemm_128x256x64_s4.cu|-DCHECK_GEMM"
  "gemm_128x128x64_s3|gemm_128x128x64_s3.cu|-DCHECK_GEMM"
  "gemm_64x128x64_s4|gemm_64x128x64_s4.cu|-DCHECK_GEMM"
  "attention_step_d64|attention_step_d64.cu|-DCHECK_ATTENTION -DHEAD_DIM=64"
  "attention_step_d128|attention_step_d128.cu|-DCHECK_ATTENTION -DHEAD_DIM=128"
)

# Every example through `grove run --gpu --check` (fresh random inputs, poisoned outputs, float64
# reference), at sizes that are and are not tile multiples, and with rows that are not multiples
# of 16 bytes (padded on the device, kir::row_pitch): name | example | mapping | sizes | scalar
# args | type arguments (--type; none: the types as written). Ragged ones also run under
# compute-sanitizer memcheck.
GPU_RUNS=(
  "gemm|gemm.grove|h100|M=512,N=512,K=256|"
  "gemm_ragged|gemm.grove|h100|M=300,N=264,K=200|"
  "gemm_rows_not_16B_ragged|gemm.grove|h100|M=200,N=100,K=100|"
  "gemm_pingpong|gemm.grove|h100_pingpong|M=512,N=512,K=256|"
  "gemm_pingpong_ragged|gemm.grove|h100_pingpong|M=300,N=600,K=200|"
  "gemm_epilogue_pieces_ragged|gemm.grove|h100_epilogue_pieces|M=300,N=264,K=200|"
  "gemm_bf16|gemm.grove|h100|M=256,N=512,K=128||T=bf16"
  "gemm_bf16_ragged|gemm.grove|h100|M=130,N=200,K=72||T=bf16"
  "gemm_bf16_pingpong_ragged|gemm.grove|h100_pingpong|M=130,N=328,K=72||T=bf16"
  "linear|linear.grove|h100|M=512,N=512,K=256|"
  "linear_ragged|linear.grove|h100|M=300,N=264,K=200|"
  "linear_pingpong_ragged|linear.grove|h100_pingpong|M=130,N=328,K=72|"
  "gemm_fp8|gemm_fp8.grove|h100|M=512,N=512,K=512|scale=0.5"
  "gemm_fp8_ragged|gemm_fp8.grove|h100|M=300,N=264,K=200|scale=1.5"
  "gemm_fp8_f16_pingpong_ragged|gemm_fp8.grove|h100_pingpong|M=130,N=328,K=136|scale=0.25|T=f16"
  "gemm_fp8_e4m3_out_ragged|gemm_fp8.grove|h100|M=200,N=264,K=136|scale=0.125|T=e4m3"
  "gemm_fp8_rowwise_ragged|gemm_fp8_rowwise.grove|rowwise_h100|M=300,N=264,K=200|"
  "gemm_fp8_blockwise|gemm_fp8_blockwise.grove|blockwise_h100|M=512,N=512,K=1024,KB=8,NB=4|"
  "gemm_fp8_blockwise_ragged|gemm_fp8_blockwise.grove|blockwise_h100|M=300,N=264,K=300,KB=3,NB=3|"
  "quantize_fp8_blockwise|quantize_fp8_blockwise.grove|h100|M=512,K=2048,KB=16|"
  "quantize_fp8_blockwise_ragged|quantize_fp8_blockwise.grove|h100|M=200,K=700,KB=6|"
  "gemm_fp8_e5m2_e4m3_ragged|gemm_fp8.grove|h100|M=300,N=264,K=200|scale=0.5|TA=e5m2"
  "batched_gemm|batched_gemm.grove|h100|L=2,M=256,N=256,K=128|"
  "batched_gemm_ragged|batched_gemm.grove|h100|L=3,M=100,N=264,K=136|"
  "dual_gemm|dual_gemm.grove|h100|M=256,N=512,K=128|"
  "dual_gemm_ragged|dual_gemm.grove|h100|M=136,N=200,K=120|"
  "gemm_bias_gelu|gemm_bias_gelu.grove|h100|M=256,N=512,K=128|"
  "gemm_bias_gelu_ragged|gemm_bias_gelu.grove|h100|M=128,N=296,K=64|"
  "gemm_rowsum|gemm_rowsum.grove|h100|M=256,N=256,K=256|"
  "gemm_rowsum_ragged|gemm_rowsum.grove|h100|M=200,N=256,K=136|"
  "gemm_rowsum_rows_not_16B_ragged|gemm_rowsum.grove|h100|M=200,N=100,K=100|"
  "gemm_residual|gemm_residual.grove|h100|M=512,N=512,K=256|"
  "gemm_residual_ragged|gemm_residual.grove|h100|M=300,N=264,K=200|alpha=0.5,beta=2.0"
  "gemm_residual_128x128_bf16_ragged|gemm_residual.grove|h100_128x128|M=200,N=300,K=72|alpha=1.0,beta=-1.0|T=bf16"
  "gemm_splitk_ragged|gemm_splitk.grove|h100_splitk|M=300,N=200,K=9000|"
  "gemm_splitk_bf16|gemm_splitk.grove|h100_splitk|M=256,N=256,K=8192||T=bf16"
  "attention_d64|attention.grove|h100_d64|BH=2,S=512,D=64|sm_scale=0.125"
  "attention_d64_ragged|attention.grove|h100_d64|BH=1,S=200,D=64|sm_scale=0.125"
  "attention_d128|attention.grove|h100_d128|BH=2,S=512,D=128|sm_scale=0.088"
  "attention_d128_ragged|attention.grove|h100_d128|BH=1,S=328,D=128|sm_scale=0.088"
  "attention_causal_d64|attention_causal.grove|h100_d64_causal|BH=2,S=512,D=64|sm_scale=0.125"
  "attention_causal_d64_ragged|attention_causal.grove|h100_d64_causal|BH=1,S=190,D=64|sm_scale=0.125"
  "attention_causal_d128|attention_causal.grove|h100_d128_causal|BH=2,S=512,D=128|sm_scale=0.088"
  "attention_causal_d128_ragged|attention_causal.grove|h100_d128_causal|BH=1,S=200,D=128|sm_scale=0.088"
  "attention_causal_d128_persistent_ragged|attention_causal.grove|h100_d128_causal_persistent|BH=64,S=300,D=128|sm_scale=0.088"
  "attention_d256|attention.grove|h100_d256|BH=2,S=480,D=256|sm_scale=0.0625"
  "attention_d256_ragged|attention.grove|h100_d256|BH=1,S=200,D=256|sm_scale=0.0625"
  "attention_causal_d256|attention_causal.grove|h100_d256_causal|BH=2,S=512,D=256|sm_scale=0.0625"
  "attention_causal_d256_ragged|attention_causal.grove|h100_d256_causal|BH=1,S=200,D=256|sm_scale=0.0625"
  "attention_d128_bf16|attention.grove|h100_d128|BH=2,S=512,D=128|sm_scale=0.088|T=bf16"
  "attention_fp8_d128|attention_fp8.grove|fp8_d128|BH=2,S=512,D=128|sm_scale=0.088"
  "attention_fp8_d256_ragged|attention_fp8.grove|fp8_d256|BH=1,S=200,D=256|sm_scale=0.0625"
  "attention_fp8_causal_d128_ragged|attention_fp8_causal.grove|fp8_d128_causal|BH=2,S=300,D=128|sm_scale=0.088"
  "attention_d128_bf16_ragged|attention.grove|h100_d128|BH=1,S=328,D=128|sm_scale=0.088|T=bf16"
  "attention_causal_d64_bf16_ragged|attention_causal.grove|h100_d64_causal|BH=1,S=190,D=64|sm_scale=0.125|T=bf16"
  "attention_d256_bf16_ragged|attention.grove|h100_d256|BH=1,S=200,D=256|sm_scale=0.0625|T=bf16"
  "attention_gqa_d128|attention_gqa.grove|gqa_d128|BKV=2,G=4,S=512,D=128|sm_scale=0.088"
  "attention_gqa_d64_bf16_ragged|attention_gqa.grove|gqa_d64|BKV=1,G=3,S=200,D=64|sm_scale=0.125|T=bf16"
  "attention_gqa_causal_d128_ragged|attention_gqa_causal.grove|gqa_d128_causal|BKV=2,G=2,S=300,D=128|sm_scale=0.088"
  "attention_prefill_d128_ragged|attention_prefill.grove|prefill_d128|BH=2,SQ=300,SK=1000,D=128|sm_scale=0.088"
  "attention_prefill_d256_zero_rows|attention_prefill.grove|prefill_d256|BH=1,SQ=300,SK=100,D=256|sm_scale=0.0625"
  "attention_gqa_prefill_d128_ragged|attention_gqa_prefill.grove|gqa_prefill_d128|BKV=2,G=4,SQ=200,SK=777,D=128|sm_scale=0.088"
  "attention_prefill_d64_bf16_decode|attention_prefill.grove|prefill_d64|BH=4,SQ=1,SK=777,D=64|sm_scale=0.125|T=bf16"
  "attention_decode_d128_ragged|attention_decode.grove|decode_d128|BH=3,SQ=1,SK=1300,D=128|sm_scale=0.088"
  "attention_decode_d256_grouped_ragged|attention_decode.grove|decode_d256|BH=2,SQ=4,SK=777,D=256|sm_scale=0.0625"
  "attention_decode_d64_bf16|attention_decode.grove|decode_d64|BH=4,SQ=1,SK=2048,D=64|sm_scale=0.125|T=bf16"
)

# racecheck and synccheck (slow: small sizes only), names from GPU_RUNS.
SANITIZE_DEEP=(gemm_ragged attention_d64_ragged)

# GEMM against cuBLAS (issue #4's sizes): M N K. Each for f16 and bf16 (gemm.grove as written and
# with --type T=bf16); the first four are the square sizes the geometric mean is taken over.
GEMM_SHAPES=(
  "4096 4096 4096"
  "6144 6144 6144"
  "8192 8192 8192"
  "16384 16384 16384"
  "8192 8192 1024"
  "16384 4096 4096"
  "4096 14336 4096"
)
GEMM_SQUARES=4

# The other GEMM examples against what cuBLAS does for them (split-K beside the plain GEMM at a
# shape with few output tiles): name | example | mapping | sizes |
# cublas_gemm M N K | cublas_gemm mode (none: C = A·B) | flops per run (batched: 2 L M N K, dual: 4 M N K; the
# fused epilogue's work is not counted) | element type (the example's inputs; e4m3: cublas_gemm's
# FP8 "TN" GEMM with a bf16 result; with mode rowwise or blockwise, its row or block scales).
OTHER_GEMMS=(
  "batched L=8|batched_gemm.grove|h100|L=8,M=4096,N=4096,K=4096|4096 4096 4096|batch 8|1099511627776|f16"
  "dual|dual_gemm.grove|h100|M=8192,N=8192,K=4096|8192 8192 4096|dual|1099511627776|f16"
  "bias_gelu|gemm_bias_gelu.grove|h100|M=8192,N=8192,K=8192|8192 8192 8192|bias_gelu|1099511627776|f16"
  "residual|gemm_residual.grove|h100|M=8192,N=8192,K=8192|8192 8192 8192|residual|1099511627776|f16"
  "linear 8192^3|linear.grove|h100|M=8192,N=8192,K=8192|8192 8192 8192|linear|1099511627776|bf16"
  "linear 4096x14336x4096|linear.grove|h100|M=4096,N=14336,K=4096|4096 14336 4096|linear|481036337152|bf16"
  "fp8 8192^3|gemm_fp8.grove|h100|M=8192,N=8192,K=8192|8192 8192 8192||1099511627776|e4m3"
  "fp8 4096x14336x4096|gemm_fp8.grove|h100|M=4096,N=14336,K=4096|4096 14336 4096||481036337152|e4m3"
  "fp8 rowwise 8192^3|gemm_fp8_rowwise.grove|rowwise_h100|M=8192,N=8192,K=8192|8192 8192 8192|rowwise|1099511627776|e4m3"
  "fp8 blockwise 8192^3|gemm_fp8_blockwise.grove|blockwise_h100|M=8192,N=8192,K=8192,KB=64,NB=64|8192 8192 8192|blockwise|1099511627776|e4m3"
  "fp8 blockwise 4096x7168x7168|gemm_fp8_blockwise.grove|blockwise_h100|M=4096,N=7168,K=7168,KB=56,NB=56|4096 7168 7168|blockwise|420906795008|e4m3"
  "gemm 1024x1024x16384|gemm.grove|h100|M=1024,N=1024,K=16384|1024 1024 16384||34359738368|f16"
  "splitk 1024x1024x16384|gemm_splitk.grove|h100_splitk|M=1024,N=1024,K=16384|1024 1024 16384||34359738368|f16"
  "splitk 2048x2048x16384|gemm_splitk.grove|h100_splitk|M=2048,N=2048,K=16384|2048 2048 16384||137438953472|f16"
)

# Attention against PyTorch's scaled_dot_product_attention on cuDNN (and FlashAttention-2), as
# FlashAttention-3 measures: 16k tokens (batch x sequence), heads x head dimension = 2048, f16;
# FLOPs 4·BH·S·S·D, half when causal: name | example | mapping | sizes | scalar args |
# sdpa.py shape (B H S D CAUSAL, then bf16 where the type argument T=bf16 follows, kv=N for N
# key/value heads: grouped-query attention, Grove's BKV = B·N and G = H / N, sk=N for N keys
# after which the S queries come: prefill with a KV cache, Grove's SQ = S, SK = N; decoding,
# attention_decode.grove, takes the G = H / N query heads of a K/V head as rows: BH = B·N and
# SQ = G·S) | type args. FP8 attention (attention_fp8*.grove) has no PyTorch counterpart: its lines
# are timed next to cuDNN's bf16 at the same shape ("fp8 vs bf16"; FA3's FP8 figures are in
# ../shared/ref/targets.md).
ATTENTION_BENCHES=(
  "d64|attention.grove|h100_d64|BH=128,S=4096,D=64|sm_scale=0.125|4 32 4096 64 0"
  "d128|attention.grove|h100_d128|BH=64,S=4096,D=128|sm_scale=0.088|4 16 4096 128 0"
  "d256|attention.grove|h100_d256|BH=32,S=4096,D=256|sm_scale=0.0625|4 8 4096 256 0"
  "d128 S=1k|attention.grove|h100_d128|BH=256,S=1024,D=128|sm_scale=0.088|16 16 1024 128 0"
  "d128 S=16k|attention.grove|h100_d128|BH=16,S=16384,D=128|sm_scale=0.088|1 16 16384 128 0"
  "d64 causal|attention_causal.grove|h100_d64_causal|BH=128,S=4096,D=64|sm_scale=0.125|4 32 4096 64 1"
  "d128 causal|attention_causal.grove|h100_d128_causal|BH=64,S=4096,D=128|sm_scale=0.088|4 16 4096 128 1"
  "d256 causal|attention_causal.grove|h100_d256_causal|BH=32,S=4096,D=256|sm_scale=0.0625|4 8 4096 256 1"
  "d128 bf16|attention.grove|h100_d128|BH=64,S=4096,D=128|sm_scale=0.088|4 16 4096 128 0 bf16|T=bf16"
  "d128 causal bf16|attention_causal.grove|h100_d128_causal|BH=64,S=4096,D=128|sm_scale=0.088|4 16 4096 128 1 bf16|T=bf16"
  "d128 gqa 32/8|attention_gqa.grove|gqa_d128|BKV=16,G=4,S=4096,D=128|sm_scale=0.088|2 32 4096 128 0 kv=8"
  "d128 gqa 32/8 bf16|attention_gqa.grove|gqa_d128|BKV=16,G=4,S=4096,D=128|sm_scale=0.088|2 32 4096 128 0 bf16 kv=8|T=bf16"
  "d128 causal gqa 32/8|attention_gqa_causal.grove|gqa_d128_causal|BKV=16,G=4,S=4096,D=128|sm_scale=0.088|2 32 4096 128 1 kv=8"
  "d128 prefill 2k/8k|attention_prefill.grove|prefill_d128|BH=64,SQ=2048,SK=8192,D=128|sm_scale=0.088|4 16 2048 128 1 sk=8192"
  "d128 gqa prefill 32/8 2k/8k|attention_gqa_prefill.grove|gqa_prefill_d128|BKV=16,G=4,SQ=2048,SK=8192,D=128|sm_scale=0.088|2 32 2048 128 1 kv=8 sk=8192"
  "d128 decode 8k|attention_decode.grove|decode_d128|BH=32,SQ=1,SK=8192,D=128|sm_scale=0.088|1 32 1 128 0 sk=8192"
  "d128 decode B=8 8k|attention_decode.grove|decode_d128|BH=256,SQ=1,SK=8192,D=128|sm_scale=0.088|8 32 1 128 0 sk=8192"
  "d128 decode 64k|attention_decode.grove|decode_d128|BH=32,SQ=1,SK=65536,D=128|sm_scale=0.088|1 32 1 128 0 sk=65536"
  "d128 gqa decode 32/8 B=8 8k|attention_decode.grove|decode_d128|BH=64,SQ=4,SK=8192,D=128|sm_scale=0.088|8 32 1 128 0 kv=8 sk=8192"
  "d128 fp8 vs bf16|attention_fp8.grove|fp8_d128|BH=64,S=4096,D=128|sm_scale=0.088|4 16 4096 128 0 bf16|T=bf16"
  "d256 fp8 vs bf16|attention_fp8.grove|fp8_d256|BH=32,S=4096,D=256|sm_scale=0.0625|4 8 4096 256 0 bf16|T=bf16"
  "d128 causal fp8 vs bf16|attention_fp8_causal.grove|fp8_d128_causal|BH=64,S=4096,D=128|sm_scale=0.088|4 16 4096 128 1 bf16|T=bf16"
)

# Memory-bound kernels, timed by `grove bench` in GB/s (every entry tensor read or written once;
# H100 SXM's HBM3 peaks at 3.35 TB/s, H200's HBM3e at 4.8 TB/s): name | example | mapping | sizes.
MEMORY_BENCHES=(
  "quantize 4096x7168|quantize_fp8_blockwise.grove|h100|M=4096,K=7168,KB=56"
  "quantize 16384x7168|quantize_fp8_blockwise.grove|h100|M=16384,K=7168,KB=56"
)

# A/B: one mapping option turned off in a copy of the example (sed edit; s/^// for none, to time
# another mapping of it), checked at a small size, then timed next to the default: name | example
# | edit | mapping | sizes | scalar args. The most telling first: the time budget may cut the
# last.
VARIANTS=(
  "gemm_pingpong|gemm.grove|s/^//|h100_pingpong|M=8192,N=8192,K=8192|"
  "gemm_pingpong_k1024|gemm.grove|s/^//|h100_pingpong|M=8192,N=8192,K=1024|"
  "gemm_pingpong_128x128|gemm.grove|/mapping h100_pingpong/,\$ {s/BM = 64;/BM = 128, BN = 128;/;s/pipeline = 4;/pipeline = 5;/;s/pingpong = true;/pingpong = true;\n    tunable WM = 128;\n  }\n  instance step {\n    tunable WM = 128;/}|h100_pingpong|M=8192,N=8192,K=8192|"
  "attention_d128_no_overlap|attention.grove|s/    pingpong = true;/    pingpong = true;\n    overlap = false;/|h100_d128|BH=64,S=4096,D=128|sm_scale=0.088"
  "attention_d128_no_pingpong|attention.grove|s/pingpong = true;/pingpong = false;/|h100_d128|BH=64,S=4096,D=128|sm_scale=0.088"
  "attention_causal_d128_in_order|attention_causal.grove|/last_tiles_first = true;/d|h100_d128_causal|BH=64,S=4096,D=128|sm_scale=0.088"
  "attention_causal_d128_persistent|attention_causal.grove|s/^//|h100_d128_causal_persistent|BH=64,S=4096,D=128|sm_scale=0.088"
  "attention_fp8_causal_d128_persistent|attention_fp8_causal.grove|s/    last_tiles_first = true;/    last_tiles_first = true;\n    persistent = true;/|fp8_d128_causal|BH=64,S=4096,D=128|sm_scale=0.088"
  "gemm_cluster_2x2|gemm.grove|s/cluster = (2, 1);/cluster = (2, 2);/|h100|M=8192,N=8192,K=8192|"
  "gemm_no_cluster|gemm.grove|/cluster = (2, 1);/d|h100|M=8192,N=8192,K=8192|"
  "gemm_not_persistent|gemm.grove|s/persistent = true;/persistent = false;/|h100|M=8192,N=8192,K=8192|"
  "attention_d256_bk80_no_overlap|attention.grove|s/BK = 64;/BK = 80;/;s/    pingpong = true;/    pingpong = true;\n    overlap = false;/|h100_d256|BH=32,S=4096,D=256|sm_scale=0.0625"
  "attention_d128_not_persistent|attention.grove|s/persistent = true;/persistent = false;/|h100_d128|BH=64,S=4096,D=128|sm_scale=0.088"
  "gemm_cluster_1x2|gemm.grove|s/cluster = (2, 1);/cluster = (1, 2);/|h100|M=8192,N=8192,K=8192|"
  "gemm_tile_band_4|gemm.grove|s/persistent = true;/persistent = true;\n    tile_band = 4;/|h100|M=8192,N=8192,K=8192|"
  "gemm_tile_band_16|gemm.grove|s/persistent = true;/persistent = true;\n    tile_band = 16;/|h100|M=8192,N=8192,K=8192|"
  "gemm_pipeline4|gemm.grove|s/pipeline = 3;/pipeline = 4;/;/cluster = (2, 1);/d|h100|M=8192,N=8192,K=8192|"
  "gemm_epilogue_pieces|gemm.grove|s/^//|h100_epilogue_pieces|M=8192,N=8192,K=8192|"
  "gemm_bk32_pipeline6|gemm.grove|s/tunable BK = 64,/tunable BK = 32,/;s/    pipeline = 3;/    pipeline = 6;/|h100|M=8192,N=8192,K=8192|"
  "linear_pingpong|linear.grove|s/^//|h100_pingpong|M=8192,N=8192,K=8192|"
  "gemm_fp8_pingpong|gemm_fp8.grove|s/^//|h100_pingpong|M=8192,N=8192,K=8192|"
  "attention_fp8_d128_p_shared|attention_fp8.grove|s/           P = REGISTER;/           P = SHARED;/|fp8_d128|BH=64,S=4096,D=128|sm_scale=0.088"
  "attention_fp8_d256_bk64_overlap|attention_fp8.grove|s/    overlap = false;/    tunable BK = 64;/|fp8_d256|BH=32,S=4096,D=256|sm_scale=0.0625"
  "attention_fp8_d256_p_shared|attention_fp8.grove|s/           P = REGISTER;/           P = SHARED;/|fp8_d256|BH=32,S=4096,D=256|sm_scale=0.0625"
  "fp8_blockwise_no_cluster|gemm_fp8_blockwise.grove|/cluster = (2, 1);/d|blockwise_h100|M=8192,N=8192,K=8192,KB=64,NB=64|"
  "decode_chunks_1024|attention_decode.grove|s/KC = 512;/KC = 1024;/|decode_d128|BH=32,SQ=1,SK=8192,D=128|sm_scale=0.088"
  "decode_chunks_256|attention_decode.grove|s/KC = 512;/KC = 256;/|decode_d128|BH=32,SQ=1,SK=8192,D=128|sm_scale=0.088"
  "splitk_chunks_2048|gemm_splitk.grove|s/KS = 4096;/KS = 2048;/|h100_splitk|M=1024,N=1024,K=8192|"
  "residual_128x128|gemm_residual.grove|s/^//|h100_128x128|M=8192,N=8192,K=8192|"
  "residual_pipeline3_no_cluster|gemm_residual.grove|s/pipeline = 2;/pipeline = 3;/;/cluster = (2, 1);/d|h100|M=8192,N=8192,K=8192|"
  "quantize_one_staging_slot|quantize_fp8_blockwise.grove|s/persistent = true;/persistent = true;\n    smem_bytes = 160000;/|h100|M=4096,K=7168,KB=56|"
)

# The small size a variant is checked at: every 8192 or 4096 in its sizes becomes 256.
small_sizes() { local s=${1//8192/256}; echo "${s//4096/256}"; }

# The type arguments that make gemm.grove a GEMM of this dtype (f16: none).
gemm_types() { [[ $1 == bf16 ]] && echo T=bf16 || echo; }
