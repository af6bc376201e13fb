// The spool's on-disk format: segment files, records and the cursor file, and a sequential reader of
// segments shared by Spool::Open (recovery), Spool's readers and VerifySpool.
//
// All integers are little-endian. CRCs are CRC32C, stored masked (crc32c::Mask).
//
// Segment file `<dir>/<20-digit number>.seg` (numbers increase; a gap means deleted segments):
//   header:  magic "VGSPOOL1" | u32 header_len | u32 version (1) | u64 segment number | u64 first_seq
//            | i64 created_unix_us | u16 vendor_count | vendor_count x (u8 name_len, name bytes)
//            | u32 crc of the bytes before it
//   records: back to back until the end of the file.
// The header's vendor table maps a record's vendor index to a vendor name; each segment has its own
// table, so the configured vendor set may change between runs. A segment is created complete: its header
// is written to `<name>.tmp`, synced, then renamed.
//
// Record (kRecordHeaderBytes = 32, then the body):
//   0 u32 crc          masked CRC32C of (payload | meta | header bytes 4..31)
//   4 u32 payload_len
//   8 u64 seq          global, +1 per record, never reused
//  16 i64 accept_unix_us
//  24 u16 vendor       index into the segment's vendor table
//  26 u16 meta_len
//  28 u8  kind         the caller's code (an endpoint)
//  29 u8  format       kRecordFormat; anything else is damage (a zero-filled tail, garbage)
//  30 u8  flags        kFlagUnitEnd on the last record of one Append (a unit is all-or-nothing)
//  31 u8  reserved     0
//  32 payload, then meta
// The CRC covers the body first so the appending thread can checksum the body in parallel and the
// writer thread only extends that CRC over the 28 header bytes once it has stamped the sequence number.
//
// Cursor file `<dir>/cursors`: two slots of equal size (the file is exactly two slots long), each
//   magic "VGCURSR1" | u64 generation | u32 count | count x (u8 name_len, name bytes, u64 acked_seq)
//   | u32 crc of the slot's bytes before it | anything (padding, stale bytes)
// The valid slot with the higher generation holds the cursors. An Ack overwrites the older slot in place
// and syncs it: no size or allocation change, so fdatasync is one data write and no journal commit, and a
// torn slot write leaves the other slot. Open rewrites the whole file (`cursors.tmp`, sync, rename, sync
// the directory), sizing the slots for the current vendor names.
// A vendor's cursor is the highest sequence number it acknowledged: its records with seq <= cursor are
// done (delivered, or discarded).
//
// Thread-safety: free functions are pure; a SegmentReader is used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vg::spool_format {

inline constexpr std::string_view kSegmentMagic = "VGSPOOL1";
inline constexpr std::string_view kCursorMagic = "VGCURSR1";
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kSegmentFixedBytes = 42;  // header up to the vendor table
inline constexpr size_t kMaxSegmentHeaderBytes = 1 << 20;
inline constexpr size_t kMaxVendors = 1024;
inline constexpr size_t kMaxVendorNameBytes = 255;
inline constexpr size_t kRecordHeaderBytes = 32;
inline constexpr uint8_t kRecordFormat = 0xA1;
inline constexpr uint8_t kFlagUnitEnd = 0x01;
// The largest record body (payload + meta) the format accepts; longer lengths in a header are damage.
inline constexpr uint32_t kMaxBodyBytes = 256u << 20;
inline constexpr size_t kMaxMetaBytes = 0xffff;
inline constexpr std::string_view kSegmentSuffix = ".seg";
inline constexpr std::string_view kCursorFileName = "cursors";
inline constexpr std::string_view kLockFileName = "LOCK";

void PutFixed16(char* p, uint16_t v);
void PutFixed32(char* p, uint32_t v);
void PutFixed64(char* p, uint64_t v);
uint16_t GetFixed16(const char* p);
uint32_t GetFixed32(const char* p);
uint64_t GetFixed64(const char* p);

// "00000000000000000042.seg" for 42; ParseSegmentFileName is its inverse (nullopt for other names).
std::string SegmentFileName(uint64_t number);
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

struct SegmentHeader {
  uint64_t number = 0;
  uint64_t first_seq = 0;  // the sequence number the segment's first record has (or would have)
  int64_t created_unix_us = 0;
  std::vector<std::string> vendors;
};
std::string EncodeSegmentHeader(const SegmentHeader& h);
// Reads and checks the header of an open segment file. Errors: IOError naming what is wrong.
[[nodiscard]] StatusOr<SegmentHeader> ReadSegmentHeader(int fd, uint64_t file_size, size_t* header_len);

struct RecordHeader {
  uint32_t masked_crc = 0;
  uint32_t payload_len = 0;
  uint64_t seq = 0;
  int64_t accept_unix_us = 0;
  uint16_t vendor = 0;
  uint16_t meta_len = 0;
  uint8_t kind = 0;
  uint8_t flags = 0;
  size_t body_len() const { return size_t{payload_len} + meta_len; }
  size_t record_len() const { return kRecordHeaderBytes + body_len(); }
};

// Writes a record at `p` (record_len() bytes) with seq 0 and the body's unmasked CRC in the crc slot;
// StampRecord later sets the sequence number and the final CRC.
void EncodeRecordUnstamped(char* p, const RecordHeader& h, std::string_view payload, std::string_view meta);
void StampRecord(char* p, uint64_t seq);
// Decodes the fixed header at `p` (kRecordHeaderBytes readable). Returns nullptr when the fields are
// plausible, else a description of what is wrong. Does not check the CRC.
const char* DecodeRecordHeader(const char* p, RecordHeader* h);
// True when the CRC of the complete record at `p` (h.record_len() bytes) matches.
bool RecordChecksumOk(const char* p, const RecordHeader& h);

// One slot's bytes (without padding).
std::string EncodeCursorSlot(uint64_t generation, const std::map<std::string, uint64_t>& cursors);
struct CursorSnapshot {
  uint64_t generation = 0;
  std::map<std::string, uint64_t> cursors;
};
// The newest valid slot of a whole cursor file. Errors: IOError when neither slot is valid.
[[nodiscard]] StatusOr<CursorSnapshot> DecodeCursorFile(std::string_view file);

// Reads a segment's records in order with large sequential reads. The views it returns stay valid until
// the next call to Next().
class SegmentReader {
 public:
  enum class Step { kRecord, kEnd, kDamaged, kIoError };
  // Reads [begin, end) of `fd`; `vendor_count` is the size of the segment's vendor table.
  SegmentReader(int fd, uint64_t begin, uint64_t end, size_t vendor_count);

  // kRecord: header(), payload(), meta(), offset() describe the record.
  // kEnd: the last record ended exactly at `end`.
  // kDamaged: the bytes at offset() are not a complete valid record; problem() says why. Sticky.
  // kIoError: a read failed; problem() says why.
  Step Next();
  const RecordHeader& header() const { return header_; }
  std::string_view payload() const { return {record_ + kRecordHeaderBytes, header_.payload_len}; }
  std::string_view meta() const { return {record_ + kRecordHeaderBytes + header_.payload_len, header_.meta_len}; }
  std::string_view record_bytes() const { return {record_, header_.record_len()}; }
  // The file offset of the current record (or of the damage).
  uint64_t offset() const { return offset_; }
  const std::string& problem() const { return problem_; }

 private:
  // Makes `n` bytes from the file offset `next_` available at buf_; false at a read error.
  bool Fill(size_t n);

  int fd_;
  uint64_t next_;  // file offset of the next record
  uint64_t end_;
  size_t vendor_count_;
  std::unique_ptr<char[]> buf_;
  size_t buf_cap_ = 0;
  uint64_t buf_file_off_ = 0;  // file offset of buf_[0]
  size_t buf_len_ = 0;
  const char* record_ = nullptr;
  RecordHeader header_;
  uint64_t offset_ = 0;
  std::string problem_;
  bool damaged_ = false;
};

// pread until `n` bytes or EOF/error. Returns bytes read, -1 on error (errno set).
ssize_t PreadFull(int fd, char* buf, size_t n, uint64_t offset);
// write/pwrite of everything, retrying on EINTR and short writes.
[[nodiscard]] Status PwriteFull(int fd, const char* buf, size_t n, uint64_t offset, const std::string& what);

}  // namespace vg::spool_format
