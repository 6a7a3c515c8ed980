#include "support/numeric.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace grove {

const char* elem_name(ElemType t) {
  switch (t) {
  case ElemType::F16:
    return "f16";
  case ElemType::BF16:
    return "bf16";
  case ElemType::F32:
    return "f32";
  case ElemType::E4M3:
    return "e4m3";
  case ElemType::E5M2:
    return "e5m2";
  }
  return "?";
}

std::optional<ElemType> elem_from_name(const std::string& name) {
  for (ElemType t : {ElemType::F16, ElemType::BF16, ElemType::F32, ElemType::E4M3, ElemType::E5M2})
    if (name == elem_name(t)) return t;
  return std::nullopt;
}

int elem_bytes(ElemType t) {
  switch (t) {
  case ElemType::F16:
  case ElemType::BF16:
    return 2;
  case ElemType::F32:
    return 4;
  case ElemType::E4M3:
  case ElemType::E5M2:
    return 1;
  }
  return 0;
}

uint16_t f32_to_f16_bits(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u); // overflow to inf
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign); // underflow to zero
    mant |= 0x800000u;                               // subnormal: restore the implicit bit
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) ++half; // may carry into the exponent
  return static_cast<uint16_t>(half);
}

float f16_bits_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

uint16_t f32_to_bf16_bits(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u); // NaN
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

float bf16_bits_to_f32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

namespace {

// The 8-bit formats: `mant` mantissa bits, exponent bias `bias`, largest finite value `max`.
struct Fp8Format {
  int mant, bias;
  double max;
};
constexpr Fp8Format kE4m3{3, 7, 448.0}, kE5m2{2, 15, 57344.0};

// Round to nearest even, saturating past the largest finite value (as cvt's .satfinite), NaN to
// 0x7f (a NaN in both formats): the two formats differ only in their fields' widths.
uint8_t to_fp8(float f, const Fp8Format& fmt) {
  const uint8_t sign = std::signbit(f) ? 0x80u : 0u;
  if (std::isnan(f)) return static_cast<uint8_t>(sign | 0x7fu);
  double a = std::fabs(static_cast<double>(f));
  if (a > fmt.max) a = fmt.max;
  // Steps of 2^(e - mant) in [2^e, 2^(e+1)); the subnormals below 2^(1 - bias) in steps of
  // 2^(1 - bias - mant). Both the scaling and the product are exact in double; nearbyint rounds
  // half to even. A rounding up to the next power of two carries into the exponent.
  const int emin = 1 - fmt.bias;
  const int e = a < std::ldexp(1.0, emin) ? emin : std::ilogb(a);
  const double r = std::ldexp(std::nearbyint(std::ldexp(a, fmt.mant - e)), e - fmt.mant);
  if (r < std::ldexp(1.0, emin)) // subnormal (or zero): the mantissa field alone
    return static_cast<uint8_t>(sign | static_cast<int>(std::ldexp(r, fmt.mant - emin)));
  const int re = std::ilogb(r);
  const int m = static_cast<int>(std::ldexp(r, fmt.mant - re)) - (1 << fmt.mant);
  return static_cast<uint8_t>(sign | ((re + fmt.bias) << fmt.mant) | m);
}

// Finite codes only (the callers handle NaN and infinity).
float from_fp8(uint8_t b, const Fp8Format& fmt) {
  const int exp = (b & 0x7f) >> fmt.mant, m = b & ((1 << fmt.mant) - 1);
  const float v =
      exp == 0 ? std::ldexp(static_cast<float>(m), 1 - fmt.bias - fmt.mant)
               : std::ldexp(static_cast<float>((1 << fmt.mant) + m), exp - fmt.bias - fmt.mant);
  return (b & 0x80u) ? -v : v;
}

} // namespace

uint8_t f32_to_e4m3_bits(float f) {
  return to_fp8(f, kE4m3);
}

float e4m3_bits_to_f32(uint8_t b) {
  if ((b & 0x7f) == 0x7f) return std::numeric_limits<float>::quiet_NaN();
  return from_fp8(b, kE4m3);
}

uint8_t f32_to_e5m2_bits(float f) {
  return to_fp8(f, kE5m2);
}

float e5m2_bits_to_f32(uint8_t b) {
  if ((b & 0x7f) > 0x7c) return std::numeric_limits<float>::quiet_NaN();
  if ((b & 0x7f) == 0x7c) return (b & 0x80u) ? -INFINITY : INFINITY;
  return from_fp8(b, kE5m2);
}

bool is_fp8(ElemType t) {
  return t == ElemType::E4M3 || t == ElemType::E5M2;
}

int wgmma_k(ElemType t) {
  return 32 / elem_bytes(t);
}

std::string wgmma_shape_error(const std::string& instance, int64_t M, int64_t N, int64_t K,
                              ElemType a) {
  const int64_t kstep = wgmma_k(a);
  std::string problem;
  if (M % 64 != 0)
    problem = "M = " + std::to_string(M) + " is not a multiple of 64";
  else if (N % 8 != 0 || N > 256)
    problem = "N = " + std::to_string(N) + " is not a multiple of 8 up to 256";
  else if (K % kstep != 0)
    problem = "K = " + std::to_string(K) + " is not a multiple of " + std::to_string(kstep);
  if (problem.empty()) return "";
  return "instance '" + instance + "' issues mma " + std::to_string(M) + "x" + std::to_string(N) +
         "x" + std::to_string(K) + " as WGMMA, but " + problem;
}

std::string wgmma_shape_hint(ElemType a) {
  return std::string("WGMMA shapes are m64nNk") + (wgmma_k(a) == 32 ? "32 for 8-bit types" : "16") +
         "; choose tile sizes so each warpgroup's piece fits them";
}

double round_to(ElemType t, double v) {
  switch (t) {
  case ElemType::F16:
    return f16_bits_to_f32(f32_to_f16_bits(static_cast<float>(v)));
  case ElemType::BF16:
    return bf16_bits_to_f32(f32_to_bf16_bits(static_cast<float>(v)));
  case ElemType::F32:
    return static_cast<float>(v);
  case ElemType::E4M3:
    return e4m3_bits_to_f32(f32_to_e4m3_bits(static_cast<float>(v)));
  case ElemType::E5M2:
    return e5m2_bits_to_f32(f32_to_e5m2_bits(static_cast<float>(v)));
  }
  return v;
}

double tolerance_for(ElemType t) {
  switch (t) {
  case ElemType::F16:
    return 1e-3;
  case ElemType::BF16:
    return 8e-3;
  case ElemType::F32:
    return 1e-5;
  case ElemType::E4M3:
    return 1e-1;
  case ElemType::E5M2:
    return 2e-1;
  }
  return 0;
}

void matmul_add(const double* a, const double* b, double* c, int64_t m, int64_t n, int64_t k) {
  // Panels of B (kb rows by jb columns, 128 KiB) stay in cache while every row of A passes over
  // them; each element of C is stored and reloaded between panels of k, which leaves its sum in k
  // order.
  const int64_t jb = 64, kb = 256;
  for (int64_t j0 = 0; j0 < n; j0 += jb) {
    const int64_t j1 = std::min(n, j0 + jb);
    for (int64_t p0 = 0; p0 < k; p0 += kb) {
      const int64_t p1 = std::min(k, p0 + kb);
      for (int64_t i = 0; i < m; ++i) {
        const double* ai = a + i * k;
        double* ci = c + i * n;
        int64_t j = j0;
        // Eight named accumulators, not an array: GCC keeps an array of sums in memory.
        for (; j + 8 <= j1; j += 8) {
          double s0 = ci[j], s1 = ci[j + 1], s2 = ci[j + 2], s3 = ci[j + 3], s4 = ci[j + 4],
                 s5 = ci[j + 5], s6 = ci[j + 6], s7 = ci[j + 7];
          for (int64_t p = p0; p < p1; ++p) {
            const double x = ai[p];
            const double* bp = b + p * n + j;
            s0 += x * bp[0];
            s1 += x * bp[1];
            s2 += x * bp[2];
            s3 += x * bp[3];
            s4 += x * bp[4];
            s5 += x * bp[5];
            s6 += x * bp[6];
            s7 += x * bp[7];
          }
          ci[j] = s0;
          ci[j + 1] = s1;
          ci[j + 2] = s2;
          ci[j + 3] = s3;
          ci[j + 4] = s4;
          ci[j + 5] = s5;
          ci[j + 6] = s6;
          ci[j + 7] = s7;
        }
        for (; j < j1; ++j) {
          double s = ci[j];
          for (int64_t p = p0; p < p1; ++p) s += ai[p] * b[p * n + j];
          ci[j] = s;
        }
      }
    }
  }
}

std::vector<double> transposed(const std::vector<double>& v, int64_t rows, int64_t cols) {
  std::vector<double> out(v.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[static_cast<size_t>(c * rows + r)] = v[static_cast<size_t>(r * cols + c)];
  return out;
}

} // namespace grove
