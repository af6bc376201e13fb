// CRC32C (Castagnoli), the checksum of every spool record, segment header and cursor file.
//
// ISA-L's implementation (the fastest the CPU has, chosen at run time). Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::crc32c {

// The CRC32C of `data` appended to a byte string whose CRC32C is `crc` (0 for the empty string), so
// Extend(Extend(0, a), b) == Extend(0, a + b).
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

// Stored CRCs are masked (as leveldb does) so that the CRC of a string that contains CRCs is not
// degenerate.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace vg::crc32c
