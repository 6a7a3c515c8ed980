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
  }
  return "?";
}

std::optional<ElemType> elem_from_name(const std::string& name) {
  for (ElemType t : {ElemType::F16, ElemType::BF16, ElemType::F32, ElemType::E4M3})
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

uint8_t f32_to_e4m3_bits(float f) {
  const uint8_t sign = std::signbit(f) ? 0x80u : 0u;
  if (std::isnan(f)) return static_cast<uint8_t>(sign | 0x7fu);
  const double a = std::fabs(static_cast<double>(f));
  if (a >= 448.0) return static_cast<uint8_t>(sign | 0x7eu); // satfinite: the largest, 448
  // Steps of 2^(e-3) in [2^e, 2^(e+1)); the subnormals [0, 2^-6) in steps of 2^-9. Both the
  // division and the product are exact in double; nearbyint rounds half to even.
  const int e = a < 0x1p-6 ? -6 : std::ilogb(a);
  const double q = std::nearbyint(std::ldexp(a, 3 - e)); // 8..16 (normal) or 0..8 (subnormal)
  const double r = std::ldexp(q, e - 3);                 // at most 448: 448 = 14 * 2^5
  if (r < 0x1p-6) return static_cast<uint8_t>(sign | static_cast<uint8_t>(q));
  const int re = std::ilogb(r);
  const int mant = static_cast<int>(std::ldexp(r, 3 - re)) - 8;
  return static_cast<uint8_t>(sign | ((re + 7) << 3) | mant);
}

float e4m3_bits_to_f32(uint8_t b) {
  const int exp = (b >> 3) & 0xf, mant = b & 7;
  float v;
  if (exp == 15 && mant == 7)
    v = std::numeric_limits<float>::quiet_NaN();
  else if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -9);
  else
    v = std::ldexp(static_cast<float>(8 + mant), exp - 10);
  return (b & 0x80u) ? -v : v;
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
