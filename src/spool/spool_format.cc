#include "spool/spool_format.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "spool/crc32c.h"

namespace vg::spool_format {

static_assert(std::endian::native == std::endian::little, "spool format: little-endian host assumed");

void PutFixed16(char* p, uint16_t v) { std::memcpy(p, &v, 2); }
void PutFixed32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void PutFixed64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint16_t GetFixed16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t GetFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t GetFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string SegmentFileName(uint64_t number) {
  std::string digits = std::to_string(number);
  return std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits + std::string(kSegmentSuffix);
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != 20 + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix)) return std::nullopt;
  uint64_t n = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (n > (UINT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out(kSegmentFixedBytes, '\0');
  std::memcpy(out.data(), kSegmentMagic.data(), 8);
  PutFixed32(out.data() + 12, kVersion);
  PutFixed64(out.data() + 16, h.number);
  PutFixed64(out.data() + 24, h.first_seq);
  PutFixed64(out.data() + 32, static_cast<uint64_t>(h.created_unix_us));
  PutFixed16(out.data() + 40, static_cast<uint16_t>(h.vendors.size()));
  for (const auto& v : h.vendors) {
    out.push_back(static_cast<char>(v.size()));
    out.append(v);
  }
  PutFixed32(out.data() + 8, static_cast<uint32_t>(out.size() + 4));
  char crc[4];
  PutFixed32(crc, crc32c::Mask(crc32c::Value(out)));
  out.append(crc, 4);
  return out;
}

StatusOr<SegmentHeader> ReadSegmentHeader(int fd, uint64_t file_size, size_t* header_len) {
  char fixed[kSegmentFixedBytes];
  if (file_size < kSegmentFixedBytes + 4) {
    return Status::IOError("segment header truncated (file is " + std::to_string(file_size) + " bytes)");
  }
  if (PreadFull(fd, fixed, sizeof fixed, 0) != static_cast<ssize_t>(sizeof fixed)) {
    return Status::IOError(std::string("cannot read segment header: ") + std::strerror(errno));
  }
  if (std::string_view(fixed, 8) != kSegmentMagic) return Status::IOError("not a spool segment (bad magic)");
  uint32_t len = GetFixed32(fixed + 8);
  if (len < kSegmentFixedBytes + 4 || len > kMaxSegmentHeaderBytes || len > file_size) {
    return Status::IOError("segment header length " + std::to_string(len) + " is implausible");
  }
  std::string buf(len, '\0');
  if (PreadFull(fd, buf.data(), len, 0) != static_cast<ssize_t>(len)) {
    return Status::IOError(std::string("cannot read segment header: ") + std::strerror(errno));
  }
  if (crc32c::Unmask(GetFixed32(buf.data() + len - 4)) != crc32c::Value(std::string_view(buf.data(), len - 4))) {
    return Status::IOError("segment header checksum mismatch");
  }
  uint32_t version = GetFixed32(buf.data() + 12);
  if (version != kVersion) {
    return Status::IOError("segment format version " + std::to_string(version) + " is not supported (expected " +
                           std::to_string(kVersion) + ")");
  }
  SegmentHeader h;
  h.number = GetFixed64(buf.data() + 16);
  h.first_seq = GetFixed64(buf.data() + 24);
  h.created_unix_us = static_cast<int64_t>(GetFixed64(buf.data() + 32));
  size_t count = GetFixed16(buf.data() + 40);
  size_t pos = kSegmentFixedBytes;
  for (size_t i = 0; i < count; ++i) {
    if (pos >= len - 4) return Status::IOError("segment vendor table truncated");
    size_t n = static_cast<uint8_t>(buf[pos++]);
    if (pos + n > len - 4) return Status::IOError("segment vendor table truncated");
    h.vendors.emplace_back(buf.data() + pos, n);
    pos += n;
  }
  if (pos != len - 4) return Status::IOError("segment header has trailing bytes");
  *header_len = len;
  return h;
}

void EncodeRecordUnstamped(char* p, const RecordHeader& h, std::string_view payload, std::string_view meta) {
  PutFixed32(p + 4, static_cast<uint32_t>(payload.size()));
  PutFixed64(p + 8, 0);
  PutFixed64(p + 16, static_cast<uint64_t>(h.accept_unix_us));
  PutFixed16(p + 24, h.vendor);
  PutFixed16(p + 26, static_cast<uint16_t>(meta.size()));
  p[28] = static_cast<char>(h.kind);
  p[29] = static_cast<char>(kRecordFormat);
  p[30] = static_cast<char>(h.flags);
  p[31] = 0;
  char* body = p + kRecordHeaderBytes;
  if (!payload.empty()) std::memcpy(body, payload.data(), payload.size());
  if (!meta.empty()) std::memcpy(body + payload.size(), meta.data(), meta.size());
  PutFixed32(p, crc32c::Extend(0, body, payload.size() + meta.size()));
}

void StampRecord(char* p, uint64_t seq) {
  PutFixed64(p + 8, seq);
  uint32_t body_crc = GetFixed32(p);
  PutFixed32(p, crc32c::Mask(crc32c::Extend(body_crc, p + 4, kRecordHeaderBytes - 4)));
}

const char* DecodeRecordHeader(const char* p, RecordHeader* h) {
  h->masked_crc = GetFixed32(p);
  h->payload_len = GetFixed32(p + 4);
  h->seq = GetFixed64(p + 8);
  h->accept_unix_us = static_cast<int64_t>(GetFixed64(p + 16));
  h->vendor = GetFixed16(p + 24);
  h->meta_len = GetFixed16(p + 26);
  h->kind = static_cast<uint8_t>(p[28]);
  uint8_t format = static_cast<uint8_t>(p[29]);
  h->flags = static_cast<uint8_t>(p[30]);
  uint8_t reserved = static_cast<uint8_t>(p[31]);
  if (format != kRecordFormat) return "bad record header (format byte)";
  if ((h->flags & ~kFlagUnitEnd) != 0 || reserved != 0) return "bad record header (flags)";
  if (h->body_len() > kMaxBodyBytes) return "bad record header (implausible length)";
  return nullptr;
}

bool RecordChecksumOk(const char* p, const RecordHeader& h) {
  uint32_t crc = crc32c::Extend(0, p + kRecordHeaderBytes, h.body_len());
  crc = crc32c::Extend(crc, p + 4, kRecordHeaderBytes - 4);
  return crc32c::Mask(crc) == h.masked_crc;
}

std::string EncodeCursorSlot(uint64_t generation, const std::map<std::string, uint64_t>& cursors) {
  std::string out(kCursorMagic);
  char b[8];
  PutFixed64(b, generation);
  out.append(b, 8);
  PutFixed32(b, static_cast<uint32_t>(cursors.size()));
  out.append(b, 4);
  for (const auto& [name, seq] : cursors) {
    out.push_back(static_cast<char>(name.size()));
    out.append(name);
    PutFixed64(b, seq);
    out.append(b, 8);
  }
  PutFixed32(b, crc32c::Mask(crc32c::Value(out)));
  out.append(b, 4);
  return out;
}

namespace {

// Decodes one slot; nullopt when it is not a complete valid slot.
std::optional<CursorSnapshot> DecodeCursorSlot(std::string_view slot) {
  constexpr size_t kFixed = 8 + 8 + 4;
  if (slot.size() < kFixed + 4 || slot.substr(0, 8) != kCursorMagic) return std::nullopt;
  CursorSnapshot snap;
  snap.generation = GetFixed64(slot.data() + 8);
  size_t count = GetFixed32(slot.data() + 16);
  size_t pos = kFixed;
  for (size_t i = 0; i < count; ++i) {
    if (pos >= slot.size()) return std::nullopt;
    size_t n = static_cast<uint8_t>(slot[pos++]);
    if (pos + n + 8 > slot.size()) return std::nullopt;
    std::string name(slot.substr(pos, n));
    snap.cursors[name] = GetFixed64(slot.data() + pos + n);
    pos += n + 8;
  }
  if (pos + 4 > slot.size()) return std::nullopt;
  if (crc32c::Unmask(GetFixed32(slot.data() + pos)) != crc32c::Value(slot.substr(0, pos))) return std::nullopt;
  return snap;
}

}  // namespace

StatusOr<CursorSnapshot> DecodeCursorFile(std::string_view file) {
  if (file.empty() || file.size() % 2 != 0) {
    return Status::IOError("cursor file: size " + std::to_string(file.size()) + " is not two slots");
  }
  const size_t slot = file.size() / 2;
  auto a = DecodeCursorSlot(file.substr(0, slot));
  auto b = DecodeCursorSlot(file.substr(slot));
  if (!a && !b) return Status::IOError("cursor file: neither slot is valid (checksum mismatch or truncated)");
  if (a && (!b || a->generation >= b->generation)) return std::move(*a);
  return std::move(*b);
}

ssize_t PreadFull(int fd, char* buf, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

Status PwriteFull(int fd, const char* buf, size_t n, uint64_t offset, const std::string& what) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(what + ": write failed: " + std::strerror(errno));
    }
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

SegmentReader::SegmentReader(int fd, uint64_t begin, uint64_t end, size_t vendor_count)
    : fd_(fd), next_(begin), end_(end), vendor_count_(vendor_count) {}

bool SegmentReader::Fill(size_t n) {
  constexpr size_t kChunk = 1 << 20;
  uint64_t buf_end = buf_file_off_ + buf_len_;
  if (next_ >= buf_file_off_ && next_ + n <= buf_end) return true;
  // Keep the bytes from next_ on, then read at least a chunk more.
  size_t keep = (next_ >= buf_file_off_ && next_ < buf_end) ? static_cast<size_t>(buf_end - next_) : 0;
  size_t want = std::max(n, kChunk);
  want = static_cast<size_t>(std::min<uint64_t>(want, end_ - next_));
  if (want > buf_cap_) {
    auto bigger = std::make_unique<char[]>(want);
    if (keep > 0) std::memcpy(bigger.get(), buf_.get() + (next_ - buf_file_off_), keep);
    buf_ = std::move(bigger);
    buf_cap_ = want;
  } else if (keep > 0) {
    std::memmove(buf_.get(), buf_.get() + (next_ - buf_file_off_), keep);
  }
  buf_file_off_ = next_;
  buf_len_ = keep;
  size_t to_read = want - keep;
  ssize_t r = PreadFull(fd_, buf_.get() + keep, to_read, next_ + keep);
  if (r < 0) {
    problem_ = std::string("read failed: ") + std::strerror(errno);
    return false;
  }
  buf_len_ += static_cast<size_t>(r);
  if (static_cast<size_t>(r) < to_read) {
    problem_ = "file shorter than expected";
    return false;
  }
  return true;
}

SegmentReader::Step SegmentReader::Next() {
  if (damaged_) return Step::kDamaged;
  offset_ = next_;
  if (next_ >= end_) return Step::kEnd;
  auto damage = [&](std::string why) {
    problem_ = std::move(why);
    damaged_ = true;
    return Step::kDamaged;
  };
  uint64_t left = end_ - next_;
  if (left < kRecordHeaderBytes) {
    return damage("truncated record header (" + std::to_string(left) + " bytes before the end)");
  }
  if (!Fill(kRecordHeaderBytes)) return Step::kIoError;
  const char* p = buf_.get() + (next_ - buf_file_off_);
  if (const char* bad = DecodeRecordHeader(p, &header_)) return damage(bad);
  if (header_.vendor >= vendor_count_) return damage("bad record header (vendor index out of range)");
  if (header_.record_len() > left) {
    return damage("truncated record (" + std::to_string(header_.record_len()) + " bytes, " + std::to_string(left) +
                  " before the end)");
  }
  if (!Fill(header_.record_len())) return Step::kIoError;
  record_ = buf_.get() + (next_ - buf_file_off_);
  if (!RecordChecksumOk(record_, header_)) return damage("record checksum mismatch");
  next_ += header_.record_len();
  return Step::kRecord;
}

}  // namespace vg::spool_format
