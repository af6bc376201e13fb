// A sealed ledger segment: a contiguous range of records, columnar and compressed, with the bounds and
// indexes a query needs to read only what it must; and its name table, the one file that holds subject
// plaintexts (so erasure rewrites a small file and never touches the records or the tree).
//
// Segment file `seg-<20-digit first record index>.vgl`; all integers little-endian; CRCs are masked
// CRC32C (ledger_format.h):
//
//   "VGLSEG01"
//   blocks, back to back (each located and checksummed by a BlockRef in the footer)
//   footer
//   trailer (24 bytes): u64 footer offset | u32 footer length | u32 CRC of the footer | "VGLSEGF1"
//
// Row order (version 2): the rows are stored grouped by vendor id (ascending; kNoVendor, the admin
// records about no vendor, last), in record order within a vendor, and each row keeps its record's offset
// in the segment as a column (`record`). A row block never spans two vendors, and the footer gives each
// block's vendor range, so `who` for one vendor decompresses only that vendor's blocks (an eighth of a
// day's rows with 8 vendors, instead of all of them). The Merkle tree is unchanged: leaves are in record
// order, which readers restore from the record column (ReadAll, Verify). "Row" below means a stored row
// (a position in this order); postings list stored rows.
//
// Row blocks hold at most block_rows (65536) rows of one vendor. Each row block stores each column as its
// own block, zstd-compressed unless that does not make it smaller (payload hashes are stored raw):
//   kind, outcome                    u8 per row
//   time                             zigzag varint of (time - previous row's time); the block's first row
//                                    relative to the segment's time_min, so each block decodes alone
//   vendor, subject, epoch,          fixed width per block (BlockRef::width: 1, 2 or 4 bytes), the
//   categories                       smallest that holds the block's largest value; subject is the
//                                    segment-local subject id + 1, 0 for none
//   insert_id                        u8 length + bytes per row
//   payload hash                     32 bytes per row
//   texts                            varint n; n x (varint row in block, u8 count, count x (varint len,
//                                    bytes)): the rows that have texts (admin records, declarations)
//   record                           varint of (record offset - previous row's), the block's first row
//                                    relative to 0: strictly ascending within a block
//
// Subjects: the segment's distinct SubjectHashes, sorted, so that the local id is the rank of the hash and
// merging per-segment answers is a merge of sorted runs. They are stored in dictionary pages of
// page_entries (256) raw 16-byte hashes; the footer holds each page's first hash, so finding a subject is
// a binary search in memory and one 4 KiB read. Each page has a postings block: for each of its subjects,
// varint n and n varint row deltas (stored rows in the segment, ascending). Postings are plain sorted
// lists, not roaring bitmaps: a subject has a handful of rows per (day-sized) segment, where delta varints
// take about 1-2 bytes a row, and a page's postings fit in one small read.
//
// Footer (in this order): u32 version (2) | u64 first_index | u32 record_count |
//   u32 block_rows | u32 page_entries | i64 time_min | i64 time_max | u32 subject_count |
//   u32 len + frontier at the segment start | u32 len + frontier at its end (merkle.h serialization) |
//   u16 vendor_count, vendor_count x (4 x u16 len + bytes: name, purpose, legal basis, country): the
//   ledger's vendor table as of the segment end | vendor_count x u32: this segment's records per vendor |
//   u32 row block count, each: u32 rows | i64 time_min | i64 time_max | u16 vendor_min | u16 vendor_max |
//   u32 record_min (the smallest record offset in the block) | 11 x BlockRef (in Column order) |
//   u32 page count, each: 16-byte first hash | u32 count | BlockRef dictionary | BlockRef postings
// BlockRef: u64 offset | u32 stored length | u32 raw length | u32 CRC of the stored bytes | u8 codec
//   (0 raw, 1 zstd) | u8 width.
// The frontier at the start makes a segment verifiable on its own after retention dropped the ones before.
//
// Name table `seg-<same index>.names`:
//   "VGLNAME1" | pages (zstd): for each subject of the matching dictionary page, varint len + bytes,
//   len 0 = erased | footer: u32 version | u64 first_index | u32 count | u32 page_entries | u32 pages |
//   pages x BlockRef | trailer: u64 footer offset | u32 footer length | u32 CRC | "VGLNAMF1"
//
// Thread-safety: SegmentFile is immutable after Open; its reads use pread and may run concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ledger/ledger_record.h"
#include "ledger/merkle.h"

namespace vg::ledger {

inline constexpr std::string_view kSegmentMagic = "VGLSEG01";
inline constexpr std::string_view kSegmentTrailerMagic = "VGLSEGF1";
inline constexpr std::string_view kNamesMagic = "VGLNAME1";
inline constexpr std::string_view kNamesTrailerMagic = "VGLNAMF1";
inline constexpr uint32_t kSegmentVersion = 2;
inline constexpr uint32_t kNamesVersion = 1;
inline constexpr size_t kTrailerBytes = 24;
inline constexpr uint32_t kDefaultBlockRows = 65536;
inline constexpr uint32_t kDefaultPageEntries = 256;

enum Column : int {
  kColKind = 0,
  kColTime,
  kColVendor,
  kColSubject,
  kColEpoch,
  kColCategories,
  kColOutcome,
  kColInsertId,
  kColPayloadHash,
  kColTexts,
  kColRecord,  // sealed segments only: the row's record offset in the segment
  kNumColumns,
};
inline constexpr uint32_t ColumnBit(Column c) { return 1u << c; }
inline constexpr uint32_t kAllColumns = (1u << kNumColumns) - 1;
std::string_view ColumnName(int c);

// The texts of one row (admin records: actor, detail; vendor declarations: name, purpose, basis, country).
struct RowTexts {
  uint32_t row = 0;
  std::vector<std::string> texts;
  bool operator==(const RowTexts&) const = default;
};

// Rows in columns, in memory: the active segment, a decoded row block, or a whole segment.
struct SegmentRows {
  std::vector<int64_t> time_us;
  std::vector<uint8_t> kind;
  std::vector<uint16_t> vendor;
  std::vector<uint32_t> subject;  // local subject id + 1; 0 = no subject
  std::vector<uint32_t> key_epoch;
  std::vector<uint32_t> categories;
  std::vector<uint8_t> outcome;
  std::vector<uint32_t> insert_id_end;  // end offsets into insert_ids
  std::string insert_ids;
  std::vector<Hash> payload_hash;
  std::vector<RowTexts> texts;  // ascending row
  // A decoded row block of a sealed segment (when column kColRecord was read): each row's record offset
  // in the segment. Empty otherwise (rows in record order). Not copied by AppendFrom.
  std::vector<uint32_t> record;

  size_t size() const { return kind.size(); }
  bool empty() const { return kind.empty(); }
  std::string_view insert_id(size_t row) const {
    const uint32_t begin = row == 0 ? 0 : insert_id_end[row - 1];
    return std::string_view(insert_ids).substr(begin, insert_id_end[row] - begin);
  }
  void Clear();
  // Appends row `row` of `other` (texts included, renumbered).
  void AppendFrom(const SegmentRows& other, size_t row);
};

// Subject identifiers in one buffer (a million of them per segment: one allocation, not a million).
class NameList {
 public:
  size_t size() const { return end_.size(); }
  std::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : end_[i - 1];
    return std::string_view(bytes_).substr(begin, end_[i] - begin);
  }
  void push_back(std::string_view name) {
    bytes_.append(name);
    end_.push_back(bytes_.size());
  }
  void reserve(size_t names, size_t bytes) {
    end_.reserve(names);
    bytes_.reserve(bytes);
  }
  void clear() {
    bytes_.clear();
    end_.clear();
  }
  size_t bytes() const { return bytes_.size(); }
  std::vector<std::string> ToStrings() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < size(); ++i) out.emplace_back((*this)[i]);
    return out;
  }
  static NameList FromStrings(const std::vector<std::string>& names) {
    NameList l;
    for (const auto& n : names) l.push_back(n);
    return l;
  }

 private:
  std::string bytes_;
  std::vector<size_t> end_;
};

// The whole of a segment, as the sealer builds it and as tests rebuild a tampered one.
struct SegmentContent {
  uint64_t first_index = 0;
  MerkleFrontier frontier_start;
  MerkleFrontier frontier_end;
  std::vector<VendorInfo> vendors;         // the vendor table as of the segment end
  SegmentRows rows;                        // in record order; rows.subject refers to subject_hashes
  std::vector<SubjectHash> subject_hashes;  // ascending, unique
  NameList subject_names;                   // parallel to subject_hashes; "" = erased
};

struct SegmentEncodeOptions {
  uint32_t block_rows = kDefaultBlockRows;
  uint32_t page_entries = kDefaultPageEntries;
  int zstd_level = 1;
};

// The segment file's and the name table's bytes (the file stores the rows grouped by vendor, see above).
// Requires a non-empty segment with consistent columns, sorted unique subject hashes, and subject ids in
// range (asserted).
std::string EncodeSegment(const SegmentContent& content, const SegmentEncodeOptions& options);
// The same into *out (replacing its contents): the sealer reuses one buffer, so a seal does not fault in
// tens of megabytes of fresh pages.
void EncodeSegment(const SegmentContent& content, const SegmentEncodeOptions& options, std::string* out);
std::string EncodeNames(uint64_t first_index, const NameList& names, uint32_t page_entries, int zstd_level);
// The same with the k-th entry names[order[k]] (the background sealer's names are in local-id order).
std::string EncodeNames(uint64_t first_index, const NameList& names, std::span<const uint32_t> order,
                        uint32_t page_entries, int zstd_level);
// The frontier after appending every row of `content` to content.frontier_start (tests rebuild tampered
// segments with it; the sealer already has it).
MerkleFrontier RecomputeFrontier(const SegmentContent& content);

struct BlockRef {
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  uint32_t crc = 0;
  uint8_t codec = 0;  // 0 raw, 1 zstd
  uint8_t width = 0;  // integer columns: bytes per value
};

struct RowBlockMeta {
  uint32_t first_row = 0;  // stored row
  uint32_t rows = 0;
  int64_t time_min = 0;
  int64_t time_max = 0;
  uint16_t vendor_min = 0;
  uint16_t vendor_max = 0;
  uint32_t record_min = 0;  // the smallest record offset (in the segment) among the block's rows
  bool HasVendorIn(uint16_t lo, uint16_t hi) const { return vendor_min <= hi && lo <= vendor_max; }
  std::array<BlockRef, kNumColumns> columns{};
};

struct DictPageMeta {
  SubjectHash first_hash{};
  uint32_t first_id = 0;
  uint32_t count = 0;
  BlockRef dict;
  BlockRef postings;
};

// Where a read found damage: the file, the byte offset of the damaged part, and what it was.
struct Damage {
  std::string file;
  uint64_t offset = 0;
  std::string what;
};

class SegmentFile {
 public:
  // Opens `path` and reads its trailer and footer. InvalidArgument, naming the file and offset, when the
  // trailer or footer is damaged or inconsistent (a truncated file has no trailer); IOError when reading
  // fails. Blocks are checked when they are read.
  [[nodiscard]] static StatusOr<std::shared_ptr<const SegmentFile>> Open(const std::string& path,
                                                                        Damage* damage = nullptr);
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t first_index() const { return first_index_; }
  uint64_t record_count() const { return record_count_; }
  uint64_t end_index() const { return first_index_ + record_count_; }
  int64_t time_min() const { return time_min_; }
  int64_t time_max() const { return time_max_; }
  uint32_t subject_count() const { return subject_count_; }
  uint32_t block_rows() const { return block_rows_; }
  uint32_t page_entries() const { return page_entries_; }
  const MerkleFrontier& frontier_start() const { return frontier_start_; }
  const MerkleFrontier& frontier_end() const { return frontier_end_; }
  const std::vector<VendorInfo>& vendors() const { return vendors_; }
  const std::vector<uint32_t>& vendor_records() const { return vendor_records_; }
  bool HasVendor(uint16_t v) const { return v < vendor_records_.size() && vendor_records_[v] > 0; }
  const std::vector<RowBlockMeta>& row_blocks() const { return row_blocks_; }
  // The row block holding stored row `row` (requires row < record_count()).
  size_t BlockOfRow(uint32_t row) const;
  const std::vector<DictPageMeta>& pages() const { return pages_; }
  uint64_t footer_offset() const { return footer_offset_; }

  // Reads and decodes the columns in `column_mask` of row block `b` into *out (row 0 = the block's first
  // row; other columns are left empty; out->record holds the record offsets when kColRecord is asked). Checks each block's CRC: InvalidArgument naming file, column,
  // rows and offset (also in *damage) when a block is damaged or does not decode.
  [[nodiscard]] Status ReadRowBlock(size_t b, uint32_t column_mask, SegmentRows* out, Damage* damage = nullptr) const;
  // The hashes of dictionary page p, and its postings (one ascending row list per subject of the page).
  [[nodiscard]] Status ReadDictPage(size_t p, std::vector<SubjectHash>* out, Damage* damage = nullptr) const;
  [[nodiscard]] Status ReadPostingsPage(size_t p, std::vector<std::vector<uint32_t>>* out,
                                        Damage* damage = nullptr) const;
  // The local id of `h`, nullopt when the segment holds no record about it. One page read.
  [[nodiscard]] StatusOr<std::optional<uint32_t>> FindSubject(const SubjectHash& h) const;
  // All subject hashes, ascending (local id order).
  [[nodiscard]] Status ReadAllSubjects(std::vector<SubjectHash>* out) const;
  // Everything but the names (content->subject_names is left empty), rows in record order.
  // InvalidArgument (and *damage) also when the record column is not a permutation of the records.
  [[nodiscard]] Status ReadAll(SegmentContent* content, Damage* damage = nullptr) const;

 private:
  SegmentFile() = default;
  [[nodiscard]] Status LoadBlock(const BlockRef& ref, std::string_view what, std::string* out, Damage* damage) const;

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t footer_offset_ = 0;
  uint64_t first_index_ = 0;
  uint64_t record_count_ = 0;
  uint32_t block_rows_ = 0;
  uint32_t page_entries_ = 0;
  int64_t time_min_ = 0;
  int64_t time_max_ = 0;
  uint32_t subject_count_ = 0;
  MerkleFrontier frontier_start_;
  MerkleFrontier frontier_end_;
  std::vector<VendorInfo> vendors_;
  std::vector<uint32_t> vendor_records_;
  std::vector<RowBlockMeta> row_blocks_;
  std::vector<DictPageMeta> pages_;
};

// A segment's name table, read whole (a few bytes a subject).
struct NamesTable {
  uint64_t first_index = 0;
  uint32_t page_entries = 0;
  NameList names;  // by local id; "" = erased
};
// InvalidArgument naming file and offset (also in *damage) when the file is damaged; NotFound if absent.
[[nodiscard]] StatusOr<NamesTable> ReadNames(const std::string& path, Damage* damage = nullptr);
// The names of local ids `ids` (any order), decoding only the pages that hold them.
[[nodiscard]] StatusOr<std::vector<std::string>> ReadNamesOf(const std::string& path, std::span<const uint32_t> ids);

}  // namespace vg::ledger
