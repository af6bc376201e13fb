#include "spool/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace vg::crc32c {

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  // ISA-L's crc32_iscsi is CRC32C without the pre- and post-inversion, and picks the CPU's fastest code at
  // run time (carry-less multiply folding, the SSE4.2 crc32 instruction over interleaved streams, or tables).
  uint32_t c = ~crc;
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  while (n > 0) {
    const size_t chunk = std::min<size_t>(n, INT_MAX);
    c = crc32_iscsi(p, static_cast<int>(chunk), c);
    p += chunk;
    n -= chunk;
  }
  return ~c;
}

}  // namespace vg::crc32c
