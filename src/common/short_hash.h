// Hashing and comparing short byte strings that are table keys (property names, key paths) on hot
// paths: inline, by 8-byte words. Not keyed: where an attacker picks the strings, the table must stay
// bounded and a collision must cost only a compare (as in the caches that use these).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace vg {

// The 128-bit product of a and b, folded to 64 bits (a multiply-mix step).
inline uint64_t MulFold(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Whether a[0, n) == b[0, n): 8-byte words (the last one overlapping) instead of a call to memcmp.
inline bool SameShortBytes(const char* a, const char* b, size_t n) {
  uint64_t diff = 0;
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      diff |= x ^ y;
    }
    uint64_t x, y;  // the last 8 bytes, overlapping
    std::memcpy(&x, a + n - 8, 8);
    std::memcpy(&y, b + n - 8, 8);
    return (diff | (x ^ y)) == 0;
  }
  for (size_t i = 0; i < n; ++i) diff |= static_cast<uint64_t>(static_cast<unsigned char>(a[i] ^ b[i]));
  return diff == 0;
}

// A cheap 64-bit hash of a short string, for picking a table slot.
inline uint64_t ShortKeyHash(std::string_view v) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ v.size();
  const char* p = v.data();
  const size_t n = v.size();
  if (n >= 8 && n <= 24) {
    // The common case ("properties.$device_id"): three 8-byte loads that cover every byte, two multiplies.
    uint64_t a, b, c;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n / 2 - 4, 8);
    std::memcpy(&c, p + n - 8, 8);
    return MulFold(MulFold(a ^ h, c ^ 0xA0761D6478BD642Full) ^ n, b ^ 0xE7037ED1A0B428DBull);
  }
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xA0761D6478BD642Full;
    h ^= h >> 29;
  }
  if (i < n) {
    // The last 1-7 bytes: the 8 bytes ending at n when the string has them, else byte by byte.
    uint64_t w = 0;
    if (n >= 8) {
      std::memcpy(&w, p + n - 8, 8);
    } else {
      for (size_t k = i; k < n; ++k) w = w << 8 | static_cast<unsigned char>(p[k]);
    }
    h = (h ^ w) * 0xE7037ED1A0B428DBull;
    h ^= h >> 29;
  }
  return h * 0x589965CC75374CC3ull;
}

}  // namespace vg
