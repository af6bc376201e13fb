// Byte-level helpers shared by the ledger's file formats (ledger_segment.h, ledger_wal.h): little-endian
// integers, LEB128 varints, length-prefixed strings, a bounds-checked reader, masked CRC32C, and the
// POSIX file operations the ledger needs (whole-file reads, atomic replace, directory sync).
//
// Internal to src/ledger. Thread-safety: pure functions; a ByteReader is used by one thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/status.h"
#include "spool/crc32c.h"

namespace vg::ledger::format {

inline void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void PutU16(std::string* out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out->append(b, 2);
}
inline void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
inline void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
inline void PutI64(std::string* out, int64_t v) { PutU64(out, static_cast<uint64_t>(v)); }
inline void PutVarint(std::string* out, uint64_t v) {
  char b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out->append(b, n);
}
inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
// u16 length, then the bytes; requires s.size() <= 65535.
inline void PutStr16(std::string* out, std::string_view s) {
  PutU16(out, static_cast<uint16_t>(s.size()));
  out->append(s);
}
inline void PutBytes(std::string* out, const void* p, size_t n) { out->append(static_cast<const char*>(p), n); }

inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

// Reads what the Put functions write; any read past the end sets !ok() and returns zeros / empty views,
// so a decoder checks ok() once at the end of a structure.
class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  const char* position() const { return p_; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(*p_++);
  }
  uint16_t U16() {
    if (!Need(2)) return 0;
    uint16_t v = static_cast<uint16_t>(static_cast<uint8_t>(p_[0]) | (static_cast<uint8_t>(p_[1]) << 8));
    p_ += 2;
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = GetU32(p_);
    p_ += 4;
    return v;
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = GetU64(p_);
    p_ += 8;
    return v;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!Need(1)) return 0;
      const uint8_t b = static_cast<uint8_t>(*p_++);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;  // more than 10 bytes
    return 0;
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view v(p_, n);
    p_ += n;
    return v;
  }
  std::string_view Str16() { return Bytes(U16()); }
  void Copy(void* out, size_t n) {
    std::string_view v = Bytes(n);
    if (ok_) std::memcpy(out, v.data(), n);
  }
  // Marks the reader failed (a decoder found a value out of range).
  void Fail() { ok_ = false; }

 private:
  bool Need(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      p_ = end_;
      return false;
    }
    return true;
  }
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  bool ok_ = true;
};

// Masked CRC32C (as the spool stores them: a CRC of data that contains CRCs is not degenerate).
inline uint32_t Crc(std::string_view data) { return crc32c::Mask(crc32c::Value(data)); }

// "seg-00000000000000000042.vgl" and friends: the file names, by first record index.
std::string SegmentFileName(uint64_t first_index);
std::string NamesFileName(uint64_t first_index);
std::string WalFileName(uint64_t first_index);
// The first record index in such a name with the given prefix and suffix; false for other names.
bool ParseIndexedName(std::string_view name, std::string_view prefix, std::string_view suffix, uint64_t* index);

std::string ErrnoText(int err);
// `n` bytes at `offset` of an open file; IOError (naming `path`) on a short read.
[[nodiscard]] Status PreadExact(int fd, const std::string& path, uint64_t offset, size_t n, std::string* out);
// Whole-file reads, full writes and durable replacement: common/files.h (ReadWholeFile, WriteAllTo,
// ReplaceFileDurably, SyncDirectory).

}  // namespace vg::ledger::format
