// What the spool crash test's child (spool_tool crash-writer) writes, so that the test can regenerate
// and check every record byte for byte.
#pragma once

#include <cstdint>
#include <string>

#include "spool/spool.h"

namespace vg {

inline SpoolOptions CrashSpoolOptions(const std::string& dir) {
  SpoolOptions opt;
  opt.dir = dir;
  opt.vendors = {"a", "b"};
  opt.fsync = FsyncPolicy::kAlways;
  opt.segment_bytes = 64 << 10;  // roll over often, so kills land in rollovers too
  opt.quota_bytes = 0;
  return opt;
}

inline uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint64_t CrashKey(uint32_t run, uint32_t tid, uint32_t n, uint32_t k) {
  return SplitMix((uint64_t{run} << 48) ^ (uint64_t{tid} << 40) ^ (uint64_t{n} << 8) ^ k);
}

// 1 to 3 records per unit.
inline uint32_t CrashUnitRecords(uint32_t run, uint32_t tid, uint32_t n) {
  return 1 + static_cast<uint32_t>(CrashKey(run, tid, n, 255) % 3);
}
inline SpoolVendorId CrashVendor(uint32_t tid, uint32_t n, uint32_t k) {
  return static_cast<SpoolVendorId>((tid + n + k) % 2);
}

// "R<run> T<tid> N<n> K<k>|" then 0..4000 pseudo-random bytes.
inline std::string CrashPayload(uint32_t run, uint32_t tid, uint32_t n, uint32_t k) {
  std::string s = "R" + std::to_string(run) + " T" + std::to_string(tid) + " N" + std::to_string(n) + " K" +
                  std::to_string(k) + "|";
  uint64_t x = CrashKey(run, tid, n, k);
  size_t len = x % 4001;
  for (size_t i = 0; i < len; ++i) {
    x = SplitMix(x);
    s.push_back(static_cast<char>(x & 0xff));
  }
  return s;
}
inline std::string CrashMeta(uint32_t run, uint32_t tid, uint32_t n, uint32_t k) {
  return "m" + std::to_string(run) + ":" + std::to_string(tid) + ":" + std::to_string(n) + ":" + std::to_string(k);
}

}  // namespace vg
