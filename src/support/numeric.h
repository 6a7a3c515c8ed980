// Element types and the rounding that storage in each type implies.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace grove {

enum class ElemType { F16, BF16, F32, E4M3, E5M2 };

const char* elem_name(ElemType t);
// The element type spelled `name` ("f16", "bf16", "f32", "e4m3", "e5m2"), or nullopt.
std::optional<ElemType> elem_from_name(const std::string& name);
int elem_bytes(ElemType t);
// e4m3 or e5m2: the 8-bit types, which the tensor cores read K-major only.
bool is_fp8(ElemType t);
// The K of one WGMMA instruction on operands of type `t`: 32 bytes of K (k16 for f16 and bf16,
// k32 for the 8-bit types).
int wgmma_k(ElemType t);
// The diagnostic where warpgroup instance `instance` cannot issue mma MxNxK on A of type `a` as
// WGMMA (M a multiple of 64, N of 8 up to 256, K of wgmma_k), or "" where it can; and its hint.
std::string wgmma_shape_error(const std::string& instance, int64_t M, int64_t N, int64_t K,
                              ElemType a);
std::string wgmma_shape_hint(ElemType a);

// Round a value to the nearest representable value of `t` (round to nearest even), returned as
// double. Written by hand because g++ 12 has no portable bf16 arithmetic type; the bit-level
// conversions are short and exhaustively tested against the IEEE definitions.
double round_to(ElemType t, double v);
uint16_t f32_to_f16_bits(float f);
float f16_bits_to_f32(uint16_t h);
uint16_t f32_to_bf16_bits(float f);
float bf16_bits_to_f32(uint16_t h);
// The OCP FP8 formats as Hopper's cvt.rn.satfinite.{e4m3,e5m2}x2.f32 converts: round to nearest
// even, magnitudes past the largest finite value (e4m3 448, e5m2 57344; infinities too) saturate
// to it, NaN stays NaN. e4m3 has no infinities (0x7f/0xff are NaN); e5m2 has (0x7c/0xfc).
uint8_t f32_to_e4m3_bits(float f);
float e4m3_bits_to_f32(uint8_t b);
uint8_t f32_to_e5m2_bits(float f);
float e5m2_bits_to_f32(uint8_t b);

// The relative error ||out - ref|| / ||ref|| a result stored in `t` is allowed against a float64
// reference (a few units of the type's rounding error, leaving room for fp32 accumulation).
double tolerance_for(ElemType t);

// c (m x n) += a (m x k) · b (k x n) on dense row-major doubles, each element summed in k order so
// the interpreter and the emulator add alike. Hand-blocked (eight columns held in registers while
// k runs): the matrix products of those two carry most of the test suite's time.
void matmul_add(const double* a, const double* b, double* c, int64_t m, int64_t n, int64_t k);
// The cols x rows transpose of a dense row-major rows x cols matrix (for matmul_add's operands).
std::vector<double> transposed(const std::vector<double>& v, int64_t rows, int64_t cols);

} // namespace grove
