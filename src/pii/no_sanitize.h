// VG_NO_SANITIZE_ADDRESS: for functions that read a short value's last partial SIMD block in place (within
// one page, past the value's end, ignoring those bytes) instead of through a zero-padded copy. The
// sanitizer would report the over-read; it cannot fault, and the bytes past the end never reach a result.
#pragma once

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
