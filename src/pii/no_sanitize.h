// VG_NO_SANITIZE_ADDRESS: for functions that read a short value's last partial SIMD block in place (within
// one page, past the value's end, ignoring those bytes) instead of through a zero-padded copy. The
// sanitizer would report the over-read; it cannot fault, and the bytes past the end never reach a result.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VG_NO_SANITIZE_ADDRESS __attribute__((no_sanitize("address")))
#endif
#endif
#if !defined(VG_NO_SANITIZE_ADDRESS) && defined(__SANITIZE_ADDRESS__)
#define VG_NO_SANITIZE_ADDRESS __attribute__((no_sanitize_address))
#endif
#ifndef VG_NO_SANITIZE_ADDRESS
#define VG_NO_SANITIZE_ADDRESS
#endif

namespace vg {

// Whether [p, p + len) lies within the page (4 KiB, the smallest x86-64 page) that holds p: reading it
// then cannot fault when p is readable, even past the end of the object (bytes there are ignored).
inline bool WithinOnePage(const char* p, size_t len) {
  return (reinterpret_cast<uintptr_t>(p) & 4095) <= 4096 - len;
}

}  // namespace vg
