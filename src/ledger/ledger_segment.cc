#include "common/files.h"
#include "ledger/ledger_segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <span>

#include "ledger/ledger_format.h"

namespace vg::ledger {
namespace {

using format::ByteReader;

constexpr uint8_t kCodecRaw = 0;
constexpr uint8_t kCodecZstd = 1;
// The largest decoded block accepted: a damaged footer must not make a reader allocate gigabytes.
constexpr uint32_t kMaxRawBlockBytes = 256u << 20;

struct Zstd {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~Zstd() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
Zstd& ThreadZstd() {
  thread_local Zstd z;
  return z;
}

std::string Str(uint64_t v) { return std::to_string(v); }

Status MakeDamage(const std::string& file, uint64_t offset, std::string what, Damage* damage) {
  if (damage != nullptr) *damage = Damage{file, offset, what};
  return Status::InvalidArgument(file + ": offset " + Str(offset) + ": " + what);
}

uint8_t WidthFor(uint64_t max_value) {
  if (max_value <= 0xff) return 1;
  if (max_value <= 0xffff) return 2;
  return 4;
}

// v[rows[0]], v[rows[1]], ... in the smallest width that holds them all.
template <typename T>
void PutFixedColumn(const std::vector<T>& v, std::span<const uint32_t> rows, std::string* raw, uint8_t* width) {
  uint64_t max_value = 0;
  for (uint32_t i : rows) max_value = std::max<uint64_t>(max_value, v[i]);
  *width = WidthFor(max_value);
  const size_t w = *width;
  raw->resize(rows.size() * w);
  char* p = raw->data();
  for (uint32_t i : rows) {
    const uint32_t x = static_cast<uint32_t>(v[i]);
    for (size_t k = 0; k < w; ++k) p[k] = static_cast<char>(x >> (8 * k));
    p += w;
  }
}

template <typename T>
bool GetFixedColumn(std::string_view raw, uint8_t width, uint32_t rows, uint64_t max_allowed, std::vector<T>* out) {
  if ((width != 1 && width != 2 && width != 4) || raw.size() != size_t{rows} * width) return false;
  out->resize(rows);
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  switch (width) {
    case 1:
      for (uint32_t i = 0; i < rows; ++i) (*out)[i] = static_cast<T>(p[i]);
      break;
    case 2:
      for (uint32_t i = 0; i < rows; ++i) (*out)[i] = static_cast<T>(p[2 * i] | (p[2 * i + 1] << 8));
      break;
    case 4:
      for (uint32_t i = 0; i < rows; ++i) {
        const uint32_t x = uint32_t{p[4 * i]} | (uint32_t{p[4 * i + 1]} << 8) | (uint32_t{p[4 * i + 2]} << 16) |
                           (uint32_t{p[4 * i + 3]} << 24);
        if (x > max_allowed) return false;
        (*out)[i] = static_cast<T>(x);
      }
      return true;
  }
  if (max_allowed < 0xffff) {
    for (uint32_t i = 0; i < rows; ++i) {
      if ((*out)[i] > max_allowed) return false;
    }
  }
  return true;
}

// The raw bytes of column `col` for a row block made of the rows `rows` of `r` (indexes into r, in record
// order: strictly ascending), in that order; *width for the fixed-width columns.
std::string EncodeColumn(int col, const SegmentRows& r, std::span<const uint32_t> rows, int64_t time_min,
                         uint8_t* width) {
  std::string raw;
  *width = 0;
  switch (col) {
    case kColKind:
    case kColOutcome: {
      const auto& v = col == kColKind ? r.kind : r.outcome;
      raw.resize(rows.size());
      for (size_t k = 0; k < rows.size(); ++k) raw[k] = static_cast<char>(v[rows[k]]);
      break;
    }
    case kColTime: {
      raw.reserve(rows.size() * 3);
      int64_t prev = time_min;
      for (uint32_t i : rows) {
        format::PutVarint(&raw, format::ZigZag(static_cast<int64_t>(static_cast<uint64_t>(r.time_us[i]) -
                                                                    static_cast<uint64_t>(prev))));
        prev = r.time_us[i];
      }
      break;
    }
    case kColVendor: PutFixedColumn(r.vendor, rows, &raw, width); break;
    case kColSubject: PutFixedColumn(r.subject, rows, &raw, width); break;
    case kColEpoch: PutFixedColumn(r.key_epoch, rows, &raw, width); break;
    case kColCategories: PutFixedColumn(r.categories, rows, &raw, width); break;
    case kColInsertId:
      raw.reserve(rows.size() * 24);
      for (uint32_t i : rows) {
        const std::string_view id = r.insert_id(i);
        format::PutU8(&raw, static_cast<uint8_t>(id.size()));
        raw.append(id);
      }
      break;
    case kColPayloadHash:
      raw.resize(rows.size() * kHashBytes);
      for (size_t k = 0; k < rows.size(); ++k) {
        std::memcpy(raw.data() + k * kHashBytes, r.payload_hash[rows[k]].data(), kHashBytes);
      }
      break;
    case kColRecord: {
      raw.reserve(rows.size());
      uint32_t prev = 0;
      for (uint32_t i : rows) {
        format::PutVarint(&raw, i - prev);
        prev = i;
      }
      break;
    }
    case kColTexts: {
      // The rows with texts among `rows` (both ascending), numbered by position in the block.
      std::vector<std::pair<uint32_t, const RowTexts*>> found;
      auto it = std::lower_bound(r.texts.begin(), r.texts.end(), rows.front(),
                                 [](const RowTexts& t, uint32_t row) { return t.row < row; });
      for (size_t k = 0; it != r.texts.end() && it->row <= rows.back(); ++it) {
        while (k < rows.size() && rows[k] < it->row) ++k;
        if (k < rows.size() && rows[k] == it->row) found.push_back({static_cast<uint32_t>(k), &*it});
      }
      format::PutVarint(&raw, found.size());
      for (const auto& [k, t] : found) {
        format::PutVarint(&raw, k);
        format::PutU8(&raw, static_cast<uint8_t>(t->texts.size()));
        for (const std::string& text : t->texts) {
          format::PutVarint(&raw, text.size());
          raw.append(text);
        }
      }
      break;
    }
  }
  return raw;
}

// Decodes column `col` of a block of `rows` rows into *out (row 0 = the block's first row).
bool DecodeColumn(int col, std::string_view raw, uint8_t width, uint32_t rows, int64_t time_min, SegmentRows* out) {
  switch (col) {
    case kColKind:
    case kColOutcome: {
      if (raw.size() != rows) return false;
      auto& v = col == kColKind ? out->kind : out->outcome;
      v.assign(reinterpret_cast<const uint8_t*>(raw.data()), reinterpret_cast<const uint8_t*>(raw.data()) + rows);
      return true;
    }
    case kColTime: {
      out->time_us.resize(rows);
      ByteReader in(raw);
      uint64_t prev = static_cast<uint64_t>(time_min);
      for (uint32_t i = 0; i < rows; ++i) {
        prev += static_cast<uint64_t>(format::UnZigZag(in.Varint()));
        out->time_us[i] = static_cast<int64_t>(prev);
      }
      return in.ok() && in.empty();
    }
    case kColVendor: return GetFixedColumn(raw, width, rows, 0xffff, &out->vendor);
    case kColSubject: return GetFixedColumn(raw, width, rows, 0xffffffff, &out->subject);
    case kColEpoch: return GetFixedColumn(raw, width, rows, 0xffffffff, &out->key_epoch);
    case kColCategories: return GetFixedColumn(raw, width, rows, 0xffffffff, &out->categories);
    case kColInsertId: {
      out->insert_id_end.resize(rows);
      out->insert_ids.clear();
      out->insert_ids.reserve(raw.size());
      ByteReader in(raw);
      for (uint32_t i = 0; i < rows; ++i) {
        out->insert_ids.append(in.Bytes(in.U8()));
        out->insert_id_end[i] = static_cast<uint32_t>(out->insert_ids.size());
      }
      return in.ok() && in.empty();
    }
    case kColPayloadHash:
      if (raw.size() != size_t{rows} * kHashBytes) return false;
      out->payload_hash.resize(rows);
      std::memcpy(out->payload_hash.data(), raw.data(), raw.size());
      return true;
    case kColRecord: {
      out->record.resize(rows);
      ByteReader in(raw);
      uint64_t prev = 0;
      for (uint32_t i = 0; i < rows; ++i) {
        const uint64_t delta = in.Varint();
        if ((i > 0 && delta == 0) || delta > 0xffffffffu - prev) return false;  // strictly ascending, 32 bits
        prev += delta;
        out->record[i] = static_cast<uint32_t>(prev);
      }
      return in.ok() && in.empty();
    }
    case kColTexts: {
      out->texts.clear();
      ByteReader in(raw);
      const uint64_t n = in.Varint();
      if (n > rows) return false;
      uint64_t prev_row = 0;
      for (uint64_t k = 0; k < n && in.ok(); ++k) {
        RowTexts t;
        const uint64_t row = in.Varint();
        if (row >= rows || (k > 0 && row <= prev_row)) return false;
        prev_row = row;
        t.row = static_cast<uint32_t>(row);
        const uint8_t count = in.U8();
        for (uint8_t j = 0; j < count && in.ok(); ++j) {
          const uint64_t len = in.Varint();
          if (len > kMaxTextBytes) return false;
          t.texts.emplace_back(in.Bytes(len));
        }
        out->texts.push_back(std::move(t));
      }
      return in.ok() && in.empty();
    }
  }
  return false;
}

BlockRef WriteBlock(std::string* file, std::string_view raw, bool compress, int level, uint8_t width) {
  BlockRef ref;
  ref.offset = file->size();
  ref.raw_len = static_cast<uint32_t>(raw.size());
  ref.width = width;
  ref.codec = kCodecRaw;
  if (compress && raw.size() >= 64) {
    const size_t bound = ZSTD_compressBound(raw.size());
    const size_t start = file->size();
    file->resize(start + bound);
    const size_t n = ZSTD_compressCCtx(ThreadZstd().c, file->data() + start, bound, raw.data(), raw.size(), level);
    if (!ZSTD_isError(n) && n < raw.size()) {
      file->resize(start + n);
      ref.codec = kCodecZstd;
      ref.stored_len = static_cast<uint32_t>(n);
      ref.crc = format::Crc(std::string_view(file->data() + start, n));
      return ref;
    }
    file->resize(start);
  }
  file->append(raw);
  ref.stored_len = static_cast<uint32_t>(raw.size());
  ref.crc = format::Crc(raw);
  return ref;
}

void PutBlockRef(std::string* out, const BlockRef& r) {
  format::PutU64(out, r.offset);
  format::PutU32(out, r.stored_len);
  format::PutU32(out, r.raw_len);
  format::PutU32(out, r.crc);
  format::PutU8(out, r.codec);
  format::PutU8(out, r.width);
}

BlockRef GetBlockRef(ByteReader& in) {
  BlockRef r;
  r.offset = in.U64();
  r.stored_len = in.U32();
  r.raw_len = in.U32();
  r.crc = in.U32();
  r.codec = in.U8();
  r.width = in.U8();
  return r;
}

void PutTrailer(std::string* file, uint64_t footer_offset, std::string_view trailer_magic) {
  const std::string_view footer(file->data() + footer_offset, file->size() - footer_offset);
  const uint32_t crc = format::Crc(footer);
  format::PutU64(file, footer_offset);
  format::PutU32(file, static_cast<uint32_t>(file->size() - 8 - footer_offset));
  format::PutU32(file, crc);
  file->append(trailer_magic);
}

void PutFrontier(std::string* out, const MerkleFrontier& f) {
  const std::string s = f.Serialize();
  format::PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

bool GetFrontier(ByteReader& in, MerkleFrontier* f) {
  const std::string_view s = in.Bytes(in.U32());
  if (!in.ok()) return false;
  auto parsed = MerkleFrontier::Deserialize({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  if (!parsed.ok()) return false;
  *f = *parsed;
  return true;
}

// Decompresses (or copies) a block's stored bytes after checking its CRC.
bool Unpack(const BlockRef& ref, std::string_view stored, std::string* out, std::string* why) {
  if (format::Crc(stored) != ref.crc) {
    *why = "checksum mismatch (a byte was changed or the block is damaged)";
    return false;
  }
  if (ref.codec == kCodecRaw) {
    if (stored.size() != ref.raw_len) {
      *why = "raw block length " + Str(stored.size()) + " is not the " + Str(ref.raw_len) + " the footer says";
      return false;
    }
    out->assign(stored);
    return true;
  }
  if (ref.codec != kCodecZstd) {
    *why = "unknown codec " + Str(ref.codec);
    return false;
  }
  out->resize(ref.raw_len);
  const size_t n = ZSTD_decompressDCtx(ThreadZstd().d, out->data(), out->size(), stored.data(), stored.size());
  if (ZSTD_isError(n) || n != ref.raw_len) {
    *why = "does not decompress to the " + Str(ref.raw_len) + " bytes the footer says";
    return false;
  }
  return true;
}

bool RefInside(const BlockRef& r, uint64_t lo, uint64_t hi) {
  return r.raw_len <= kMaxRawBlockBytes && r.offset >= lo && r.offset <= hi && r.stored_len <= hi - r.offset &&
         (r.codec == kCodecRaw || r.codec == kCodecZstd);
}

}  // namespace

std::string_view ColumnName(int c) {
  static constexpr std::string_view kNames[] = {"kind",       "time",    "vendor",     "subject",      "key_epoch",
                                                "categories", "outcome", "insert_id", "payload_hash", "texts",
                                                "record"};
  return c >= 0 && c < kNumColumns ? kNames[c] : "?";
}

void SegmentRows::Clear() {
  time_us.clear();
  kind.clear();
  vendor.clear();
  subject.clear();
  key_epoch.clear();
  categories.clear();
  outcome.clear();
  insert_id_end.clear();
  insert_ids.clear();
  payload_hash.clear();
  texts.clear();
  record.clear();
}

void SegmentRows::AppendFrom(const SegmentRows& o, size_t row) {
  time_us.push_back(o.time_us[row]);
  kind.push_back(o.kind[row]);
  vendor.push_back(o.vendor[row]);
  subject.push_back(o.subject[row]);
  key_epoch.push_back(o.key_epoch[row]);
  categories.push_back(o.categories[row]);
  outcome.push_back(o.outcome[row]);
  insert_ids.append(o.insert_id(row));
  insert_id_end.push_back(static_cast<uint32_t>(insert_ids.size()));
  payload_hash.push_back(o.payload_hash[row]);
  auto it = std::lower_bound(o.texts.begin(), o.texts.end(), row,
                             [](const RowTexts& t, size_t r) { return t.row < r; });
  if (it != o.texts.end() && it->row == row) {
    texts.push_back(RowTexts{static_cast<uint32_t>(kind.size() - 1), it->texts});
  }
}

std::string EncodeSegment(const SegmentContent& c, const SegmentEncodeOptions& o) {
  std::string file;
  EncodeSegment(c, o, &file);
  return file;
}

void EncodeSegment(const SegmentContent& c, const SegmentEncodeOptions& o, std::string* out) {
  const SegmentRows& r = c.rows;
  const size_t n = r.size();
  assert(n > 0 && o.block_rows > 0 && o.page_entries > 0);
  assert(std::is_sorted(c.subject_hashes.begin(), c.subject_hashes.end()));
  int64_t time_min = r.time_us[0], time_max = r.time_us[0];
  for (int64_t t : r.time_us) {
    time_min = std::min(time_min, t);
    time_max = std::max(time_max, t);
  }

  // Stored order: by vendor, record order within a vendor (a stable counting sort). order[row] = record.
  std::vector<uint32_t> order(n);
  {
    std::vector<uint32_t> start(size_t{0xffff} + 2, 0);
    for (uint16_t v : r.vendor) ++start[size_t{v} + 1];
    for (size_t v = 1; v < start.size(); ++v) start[v] += start[v - 1];
    for (size_t i = 0; i < n; ++i) order[start[r.vendor[i]]++] = static_cast<uint32_t>(i);
  }

  std::string& file = *out;
  file.assign(kSegmentMagic);
  file.reserve(n * 64);
  std::vector<RowBlockMeta> blocks;
  for (size_t begin = 0; begin < n;) {
    const uint16_t vendor = r.vendor[order[begin]];
    size_t end = begin + 1;
    while (end < n && end - begin < o.block_rows && r.vendor[order[end]] == vendor) ++end;
    const std::span<const uint32_t> rows(order.data() + begin, end - begin);
    RowBlockMeta m;
    m.first_row = static_cast<uint32_t>(begin);
    m.rows = static_cast<uint32_t>(end - begin);
    m.time_min = m.time_max = r.time_us[rows[0]];
    for (uint32_t i : rows) {
      m.time_min = std::min(m.time_min, r.time_us[i]);
      m.time_max = std::max(m.time_max, r.time_us[i]);
    }
    m.vendor_min = m.vendor_max = vendor;
    m.record_min = rows[0];
    for (int col = 0; col < kNumColumns; ++col) {
      uint8_t width = 0;
      const std::string raw = EncodeColumn(col, r, rows, time_min, &width);
      m.columns[col] = WriteBlock(&file, raw, col != kColPayloadHash, o.zstd_level, width);
    }
    blocks.push_back(m);
    begin = end;
  }

  // Postings: rows grouped by subject (a counting sort keeps each list ascending).
  const size_t subjects = c.subject_hashes.size();
  std::vector<uint32_t> start(subjects + 1, 0);
  for (uint32_t s : r.subject) {
    if (s != 0) ++start[s];
  }
  for (size_t i = 1; i <= subjects; ++i) start[i] += start[i - 1];
  std::vector<uint32_t> by_subject(start[subjects]);
  {
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (size_t row = 0; row < n; ++row) {  // stored rows
      const uint32_t sid = r.subject[order[row]];
      if (sid != 0) by_subject[fill[sid - 1]++] = static_cast<uint32_t>(row);
    }
  }
  std::vector<DictPageMeta> pages;
  for (size_t first = 0; first < subjects; first += o.page_entries) {
    const size_t last = std::min(subjects, first + o.page_entries);
    DictPageMeta p;
    p.first_hash = c.subject_hashes[first];
    p.first_id = static_cast<uint32_t>(first);
    p.count = static_cast<uint32_t>(last - first);
    std::string dict(reinterpret_cast<const char*>(c.subject_hashes.data() + first),
                     (last - first) * sizeof(SubjectHash));
    std::string postings;
    for (size_t id = first; id < last; ++id) {
      format::PutVarint(&postings, start[id + 1] - start[id]);
      uint32_t prev = 0;
      for (uint32_t k = start[id]; k < start[id + 1]; ++k) {
        format::PutVarint(&postings, by_subject[k] - prev);
        prev = by_subject[k];
      }
    }
    p.dict = WriteBlock(&file, dict, false, o.zstd_level, 0);
    p.postings = WriteBlock(&file, postings, true, o.zstd_level, 0);
    pages.push_back(p);
  }

  const uint64_t footer_offset = file.size();
  format::PutU32(&file, kSegmentVersion);
  format::PutU64(&file, c.first_index);
  format::PutU32(&file, static_cast<uint32_t>(n));
  format::PutU32(&file, o.block_rows);
  format::PutU32(&file, o.page_entries);
  format::PutI64(&file, time_min);
  format::PutI64(&file, time_max);
  format::PutU32(&file, static_cast<uint32_t>(subjects));
  PutFrontier(&file, c.frontier_start);
  PutFrontier(&file, c.frontier_end);
  format::PutU16(&file, static_cast<uint16_t>(c.vendors.size()));
  for (const VendorInfo& v : c.vendors) {
    format::PutStr16(&file, v.name);
    format::PutStr16(&file, v.purpose);
    format::PutStr16(&file, v.legal_basis);
    format::PutStr16(&file, v.destination_country);
  }
  std::vector<uint32_t> vendor_records(c.vendors.size(), 0);
  for (uint16_t v : r.vendor) {
    if (v < vendor_records.size()) ++vendor_records[v];
  }
  for (uint32_t count : vendor_records) format::PutU32(&file, count);
  format::PutU32(&file, static_cast<uint32_t>(blocks.size()));
  for (const RowBlockMeta& m : blocks) {
    format::PutU32(&file, m.rows);
    format::PutI64(&file, m.time_min);
    format::PutI64(&file, m.time_max);
    format::PutU16(&file, m.vendor_min);
    format::PutU16(&file, m.vendor_max);
    format::PutU32(&file, m.record_min);
    for (const BlockRef& ref : m.columns) PutBlockRef(&file, ref);
  }
  format::PutU32(&file, static_cast<uint32_t>(pages.size()));
  for (const DictPageMeta& p : pages) {
    format::PutBytes(&file, p.first_hash.data(), p.first_hash.size());
    format::PutU32(&file, p.count);
    PutBlockRef(&file, p.dict);
    PutBlockRef(&file, p.postings);
  }
  PutTrailer(&file, footer_offset, kSegmentTrailerMagic);
}

std::string EncodeNames(uint64_t first_index, const NameList& names, uint32_t page_entries, int zstd_level) {
  return EncodeNames(first_index, names, {}, page_entries, zstd_level);
}

std::string EncodeNames(uint64_t first_index, const NameList& names, std::span<const uint32_t> order,
                        uint32_t page_entries, int zstd_level) {
  assert(order.empty() || order.size() == names.size());
  std::string file(kNamesMagic);
  std::vector<BlockRef> pages;
  std::string raw;
  for (size_t first = 0; first < names.size(); first += page_entries) {
    const size_t last = std::min(names.size(), first + page_entries);
    raw.clear();
    for (size_t i = first; i < last; ++i) {
      const std::string_view name = names[order.empty() ? i : order[i]];
      format::PutVarint(&raw, name.size());
      raw.append(name);
    }
    pages.push_back(WriteBlock(&file, raw, true, zstd_level, 0));
  }
  const uint64_t footer_offset = file.size();
  format::PutU32(&file, kNamesVersion);
  format::PutU64(&file, first_index);
  format::PutU32(&file, static_cast<uint32_t>(names.size()));
  format::PutU32(&file, page_entries);
  format::PutU32(&file, static_cast<uint32_t>(pages.size()));
  for (const BlockRef& ref : pages) PutBlockRef(&file, ref);
  PutTrailer(&file, footer_offset, kNamesTrailerMagic);
  return file;
}

MerkleFrontier RecomputeFrontier(const SegmentContent& c) {
  MerkleFrontier f = c.frontier_start;
  std::string scratch;
  std::vector<std::string_view> texts;
  size_t t = 0;
  const SegmentRows& r = c.rows;
  for (size_t row = 0; row < r.size(); ++row) {
    texts.clear();
    if (t < r.texts.size() && r.texts[t].row == row) {
      for (const std::string& s : r.texts[t].texts) texts.push_back(s);
      ++t;
    }
    LeafFields lf;
    lf.kind = static_cast<RecordKind>(r.kind[row]);
    lf.time_us = r.time_us[row];
    lf.vendor = r.vendor[row];
    lf.subject = r.subject[row] != 0 ? &c.subject_hashes[r.subject[row] - 1] : nullptr;
    lf.key_epoch = r.key_epoch[row];
    lf.categories = r.categories[row];
    lf.outcome = r.outcome[row];
    lf.insert_id = r.insert_id(row);
    lf.payload_hash = &r.payload_hash[row];
    lf.texts = texts;
    f.Append(RecordLeafHash(lf, &scratch));
  }
  return f;
}

// ---- SegmentFile ----

SegmentFile::~SegmentFile() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<std::shared_ptr<const SegmentFile>> SegmentFile::Open(const std::string& path, Damage* damage) {
  std::shared_ptr<SegmentFile> seg(new SegmentFile);
  seg->path_ = path;
  seg->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (seg->fd_ < 0) return Status::IOError(path + ": open: " + format::ErrnoText(errno));
  struct stat st;
  if (::fstat(seg->fd_, &st) != 0) return Status::IOError(path + ": stat: " + format::ErrnoText(errno));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  seg->file_size_ = size;
  if (size < kSegmentMagic.size() + kTrailerBytes) {
    return MakeDamage(path, 0, "truncated: " + Str(size) + " bytes, too short for a segment", damage);
  }
  std::string buf;
  if (Status s = format::PreadExact(seg->fd_, path, 0, kSegmentMagic.size(), &buf); !s.ok()) return s;
  if (buf != kSegmentMagic) return MakeDamage(path, 0, "not a ledger segment (no \"VGLSEG01\" header)", damage);
  if (Status s = format::PreadExact(seg->fd_, path, size - kTrailerBytes, kTrailerBytes, &buf); !s.ok()) return s;
  if (std::string_view(buf).substr(16) != kSegmentTrailerMagic) {
    return MakeDamage(path, size - 8,
                      "no segment trailer at the end of the file (\"VGLSEGF1\"): the segment was truncated or "
                      "its end damaged",
                      damage);
  }
  const uint64_t footer_offset = format::GetU64(buf.data());
  const uint32_t footer_len = format::GetU32(buf.data() + 8);
  const uint32_t footer_crc = format::GetU32(buf.data() + 12);
  if (footer_offset < kSegmentMagic.size() || footer_offset + footer_len + kTrailerBytes != size) {
    return MakeDamage(path, size - kTrailerBytes,
                      "the trailer's footer position (" + Str(footer_offset) + ", " + Str(footer_len) +
                          " bytes) does not fit a file of " + Str(size) + " bytes: truncated or damaged",
                      damage);
  }
  std::string footer;
  if (Status s = format::PreadExact(seg->fd_, path, footer_offset, footer_len, &footer); !s.ok()) return s;
  if (format::Crc(footer) != footer_crc) {
    return MakeDamage(path, footer_offset, "footer checksum mismatch (a byte of the footer was changed)", damage);
  }
  seg->footer_offset_ = footer_offset;
  auto bad = [&](const std::string& what) { return MakeDamage(path, footer_offset, "footer: " + what, damage); };

  ByteReader in(footer);
  const uint32_t version = in.U32();
  if (version != kSegmentVersion) return bad("version " + Str(version) + " is not supported");
  seg->first_index_ = in.U64();
  seg->record_count_ = in.U32();
  seg->block_rows_ = in.U32();
  seg->page_entries_ = in.U32();
  seg->time_min_ = in.I64();
  seg->time_max_ = in.I64();
  seg->subject_count_ = in.U32();
  if (!GetFrontier(in, &seg->frontier_start_) || !GetFrontier(in, &seg->frontier_end_)) {
    return bad("the Merkle frontiers do not parse");
  }
  const uint16_t vendor_count = in.U16();
  for (uint16_t i = 0; i < vendor_count && in.ok(); ++i) {
    VendorInfo v;
    v.name = in.Str16();
    v.purpose = in.Str16();
    v.legal_basis = in.Str16();
    v.destination_country = in.Str16();
    seg->vendors_.push_back(std::move(v));
  }
  for (uint16_t i = 0; i < vendor_count; ++i) seg->vendor_records_.push_back(in.U32());
  const uint32_t nblocks = in.U32();
  if (!in.ok()) return bad("truncated");
  if (seg->record_count_ == 0 || seg->block_rows_ == 0 || seg->page_entries_ == 0 || nblocks == 0 ||
      nblocks > seg->record_count_ || nblocks < (seg->record_count_ + seg->block_rows_ - 1) / seg->block_rows_) {
    return bad("record count " + Str(seg->record_count_) + ", block size " + Str(seg->block_rows_) + " and " +
               Str(nblocks) + " row blocks do not agree");
  }
  uint64_t row = 0;
  for (uint32_t b = 0; b < nblocks && in.ok(); ++b) {
    RowBlockMeta m;
    m.first_row = static_cast<uint32_t>(row);
    m.rows = in.U32();
    m.time_min = in.I64();
    m.time_max = in.I64();
    m.vendor_min = in.U16();
    m.vendor_max = in.U16();
    m.record_min = in.U32();
    for (BlockRef& ref : m.columns) ref = GetBlockRef(in);
    if (m.rows == 0 || m.rows > seg->block_rows_ || row + m.rows > seg->record_count_) {
      return bad("row block " + Str(b) + " has " + Str(m.rows) + " rows: more than the block size or the records "
                 "left, or none");
    }
    if (m.vendor_min > m.vendor_max || m.time_min > m.time_max || m.record_min >= seg->record_count_) {
      return bad("row block " + Str(b) + " has inconsistent bounds");
    }
    for (const BlockRef& ref : m.columns) {
      if (!RefInside(ref, kSegmentMagic.size(), footer_offset)) {
        return bad("row block " + Str(b) + " points outside the file's blocks");
      }
    }
    row += m.rows;
    seg->row_blocks_.push_back(m);
  }
  if (in.ok() && row != seg->record_count_) {
    return bad("the row blocks hold " + Str(row) + " rows, not the " + Str(seg->record_count_) + " records");
  }
  const uint32_t npages = in.U32();
  if (!in.ok()) return bad("truncated");
  if (npages != (seg->subject_count_ + seg->page_entries_ - 1) / seg->page_entries_) {
    return bad(Str(npages) + " dictionary pages for " + Str(seg->subject_count_) + " subjects");
  }
  uint32_t id = 0;
  for (uint32_t p = 0; p < npages && in.ok(); ++p) {
    DictPageMeta m;
    in.Copy(m.first_hash.data(), m.first_hash.size());
    m.first_id = id;
    m.count = in.U32();
    m.dict = GetBlockRef(in);
    m.postings = GetBlockRef(in);
    const uint32_t want = std::min<uint32_t>(seg->page_entries_, seg->subject_count_ - id);
    if (m.count != want || m.dict.raw_len != m.count * sizeof(SubjectHash) ||
        !RefInside(m.dict, kSegmentMagic.size(), footer_offset) ||
        !RefInside(m.postings, kSegmentMagic.size(), footer_offset)) {
      return bad("dictionary page " + Str(p) + " is inconsistent");
    }
    if (p > 0 && !(seg->pages_.back().first_hash < m.first_hash)) {
      return bad("dictionary pages are not in ascending order");
    }
    id += m.count;
    seg->pages_.push_back(m);
  }
  if (!in.ok() || !in.empty()) return bad(in.ok() ? "trailing bytes" : "truncated");
  if (seg->frontier_start_.size() != seg->first_index_ ||
      seg->frontier_end_.size() != seg->first_index_ + seg->record_count_) {
    return bad("the Merkle frontiers' sizes (" + Str(seg->frontier_start_.size()) + ", " +
               Str(seg->frontier_end_.size()) + ") do not match records [" + Str(seg->first_index_) + ", " +
               Str(seg->first_index_ + seg->record_count_) + ")");
  }
  if (seg->time_min_ > seg->time_max_) return bad("time_min is after time_max");
  return std::shared_ptr<const SegmentFile>(std::move(seg));
}

Status SegmentFile::LoadBlock(const BlockRef& ref, std::string_view what, std::string* out, Damage* damage) const {
  thread_local std::string stored;  // reused: a query reads thousands of blocks
  if (Status s = format::PreadExact(fd_, path_, ref.offset, ref.stored_len, &stored); !s.ok()) return s;
  std::string why;
  if (!Unpack(ref, stored, out, &why)) {
    return MakeDamage(path_, ref.offset, std::string(what) + " (" + Str(ref.stored_len) + " bytes): " + why, damage);
  }
  return Status::Ok();
}

Status SegmentFile::ReadRowBlock(size_t b, uint32_t column_mask, SegmentRows* out, Damage* damage) const {
  assert(b < row_blocks_.size());
  const RowBlockMeta& m = row_blocks_[b];
  out->Clear();
  thread_local std::string raw;
  for (int col = 0; col < kNumColumns; ++col) {
    if (!(column_mask & (1u << col))) continue;
    const std::string what = "column '" + std::string(ColumnName(col)) + "' of rows [" + Str(m.first_row) + ", " +
                             Str(m.first_row + m.rows) + ")";
    if (Status s = LoadBlock(m.columns[col], what, &raw, damage); !s.ok()) return s;
    if (!DecodeColumn(col, raw, m.columns[col].width, m.rows, time_min_, out)) {
      return MakeDamage(path_, m.columns[col].offset, what + ": does not decode (its checksum matches: rewritten?)",
                        damage);
    }
    if (col == kColSubject) {
      for (uint32_t s : out->subject) {
        if (s > subject_count_) {
          return MakeDamage(path_, m.columns[col].offset,
                            what + ": subject id " + Str(s) + " is beyond the " + Str(subject_count_) +
                                " subjects of the segment",
                            damage);
        }
      }
    }
    if (col == kColRecord && !out->record.empty() && out->record.back() >= record_count_) {
      return MakeDamage(path_, m.columns[col].offset,
                        what + ": record offset " + Str(out->record.back()) + " is beyond the " +
                            Str(record_count_) + " records of the segment",
                        damage);
    }
  }
  return Status::Ok();
}

size_t SegmentFile::BlockOfRow(uint32_t row) const {
  auto it = std::upper_bound(row_blocks_.begin(), row_blocks_.end(), row,
                             [](uint32_t r, const RowBlockMeta& m) { return r < m.first_row; });
  assert(it != row_blocks_.begin());
  return static_cast<size_t>(it - row_blocks_.begin()) - 1;
}

Status SegmentFile::ReadDictPage(size_t p, std::vector<SubjectHash>* out, Damage* damage) const {
  const DictPageMeta& m = pages_[p];
  std::string raw;
  if (Status s = LoadBlock(m.dict, "subject dictionary page " + Str(p), &raw, damage); !s.ok()) return s;
  out->resize(m.count);
  std::memcpy(out->data(), raw.data(), raw.size());
  return Status::Ok();
}

Status SegmentFile::ReadPostingsPage(size_t p, std::vector<std::vector<uint32_t>>* out, Damage* damage) const {
  const DictPageMeta& m = pages_[p];
  std::string raw;
  const std::string what = "subject index (postings) page " + Str(p);
  if (Status s = LoadBlock(m.postings, what, &raw, damage); !s.ok()) return s;
  out->assign(m.count, {});
  ByteReader in(raw);
  for (uint32_t i = 0; i < m.count && in.ok(); ++i) {
    const uint64_t n = in.Varint();
    if (n > record_count_) {
      in.Fail();
      break;
    }
    uint64_t row = 0;
    for (uint64_t k = 0; k < n; ++k) {
      row += in.Varint();
      if (row >= record_count_) in.Fail();
      (*out)[i].push_back(static_cast<uint32_t>(row));
    }
  }
  if (!in.ok() || !in.empty()) return MakeDamage(path_, m.postings.offset, what + ": does not decode", damage);
  return Status::Ok();
}

StatusOr<std::optional<uint32_t>> SegmentFile::FindSubject(const SubjectHash& h) const {
  auto it = std::upper_bound(pages_.begin(), pages_.end(), h,
                             [](const SubjectHash& key, const DictPageMeta& p) { return key < p.first_hash; });
  if (it == pages_.begin()) return std::optional<uint32_t>();
  const size_t p = static_cast<size_t>(it - pages_.begin()) - 1;
  std::vector<SubjectHash> page;
  if (Status s = ReadDictPage(p, &page); !s.ok()) return s;
  auto found = std::lower_bound(page.begin(), page.end(), h);
  if (found == page.end() || *found != h) return std::optional<uint32_t>();
  return std::optional<uint32_t>(pages_[p].first_id + static_cast<uint32_t>(found - page.begin()));
}

Status SegmentFile::ReadAllSubjects(std::vector<SubjectHash>* out) const {
  out->clear();
  if (pages_.empty()) return Status::Ok();
  // One read for the whole index (dictionary and postings pages alternate in the file), not one per
  // 4 KiB page: a day-sized segment has a couple of thousand pages.
  const uint64_t begin = pages_.front().dict.offset;
  const uint64_t end = pages_.back().dict.offset + pages_.back().dict.stored_len;
  thread_local std::string span;
  if (end < begin || end > footer_offset_) {
    return Status::InvalidArgument(path_ + ": the subject index pages are not where the footer says");
  }
  if (Status s = format::PreadExact(fd_, path_, begin, end - begin, &span); !s.ok()) return s;
  out->resize(subject_count_);
  for (size_t p = 0; p < pages_.size(); ++p) {
    const DictPageMeta& m = pages_[p];
    if (m.dict.offset < begin || m.dict.offset + m.dict.stored_len > end) {
      return Status::InvalidArgument(path_ + ": the subject index pages are not where the footer says");
    }
    const std::string_view stored(span.data() + (m.dict.offset - begin), m.dict.stored_len);
    if (m.dict.codec != 0 || stored.size() != m.count * sizeof(SubjectHash) || format::Crc(stored) != m.dict.crc) {
      return MakeDamage(path_, m.dict.offset, "subject dictionary page " + Str(p) + ": checksum mismatch or not raw",
                        nullptr);
    }
    std::memcpy(out->data() + m.first_id, stored.data(), stored.size());
  }
  return Status::Ok();
}

Status SegmentFile::ReadAll(SegmentContent* c, Damage* damage) const {
  c->first_index = first_index_;
  c->frontier_start = frontier_start_;
  c->frontier_end = frontier_end_;
  c->vendors = vendors_;
  c->rows.Clear();
  c->subject_names.clear();
  // Decode every block, then put the rows back in record order.
  std::vector<SegmentRows> blocks(row_blocks_.size());
  constexpr uint32_t kUnset = UINT32_MAX;
  std::vector<std::pair<uint32_t, uint32_t>> at(record_count_, {kUnset, 0});  // record -> (block, row in it)
  for (size_t b = 0; b < row_blocks_.size(); ++b) {
    if (Status s = ReadRowBlock(b, kAllColumns, &blocks[b], damage); !s.ok()) return s;
    for (uint32_t i = 0; i < blocks[b].size(); ++i) {
      auto& slot = at[blocks[b].record[i]];
      if (slot.first != kUnset) {
        return MakeDamage(path_, row_blocks_[b].columns[kColRecord].offset,
                          "column 'record' of rows [" + Str(row_blocks_[b].first_row) + ", " +
                              Str(row_blocks_[b].first_row + row_blocks_[b].rows) + "): record " +
                              Str(first_index_ + blocks[b].record[i]) + " appears twice",
                          damage);
      }
      slot = {static_cast<uint32_t>(b), i};
    }
  }
  for (const auto& [b, i] : at) c->rows.AppendFrom(blocks[b], i);  // every slot is set: n distinct of n
  c->subject_hashes.clear();
  std::vector<SubjectHash> page;
  for (size_t p = 0; p < pages_.size(); ++p) {
    if (Status s = ReadDictPage(p, &page, damage); !s.ok()) return s;
    c->subject_hashes.insert(c->subject_hashes.end(), page.begin(), page.end());
  }
  return Status::Ok();
}

namespace {

// Parses a name table's footer bytes (at footer_offset): the table's fields and its page refs.
Status ParseNamesFooterBytes(const std::string& path, std::string_view footer, uint64_t footer_offset,
                             uint32_t crc, Damage* damage, NamesTable* table, uint32_t* count,
                             std::vector<BlockRef>* pages) {
  if (format::Crc(footer) != crc) return MakeDamage(path, footer_offset, "footer checksum mismatch", damage);
  ByteReader in(footer);
  const uint32_t version = in.U32();
  table->first_index = in.U64();
  *count = in.U32();
  table->page_entries = in.U32();
  const uint32_t npages = in.U32();
  if (!in.ok() || version != kNamesVersion || table->page_entries == 0 ||
      npages != (*count + table->page_entries - 1) / table->page_entries) {
    return MakeDamage(path, footer_offset, "footer is inconsistent", damage);
  }
  for (uint32_t p = 0; p < npages; ++p) {
    const BlockRef ref = GetBlockRef(in);
    if (!in.ok() || !RefInside(ref, kNamesMagic.size(), footer_offset)) {
      return MakeDamage(path, footer_offset, "footer: page " + Str(p) + " is outside the file", damage);
    }
    pages->push_back(ref);
  }
  if (!in.empty()) return MakeDamage(path, footer_offset, "footer has trailing bytes", damage);
  return Status::Ok();
}

// Checks a name table's header and trailer (`size` bytes in all); the footer's position, length and CRC.
Status CheckNamesFrame(const std::string& path, uint64_t size, std::string_view header, std::string_view trailer,
                       Damage* damage, uint64_t* footer_offset, uint32_t* footer_len, uint32_t* crc) {
  if (size < kNamesMagic.size() + kTrailerBytes || header != kNamesMagic) {
    return MakeDamage(path, 0, "not a name table (no \"VGLNAME1\" header) or truncated", damage);
  }
  if (trailer.substr(16) != kNamesTrailerMagic) {
    return MakeDamage(path, size - 8, "no name-table trailer (\"VGLNAMF1\"): truncated or damaged", damage);
  }
  *footer_offset = format::GetU64(trailer.data());
  *footer_len = format::GetU32(trailer.data() + 8);
  *crc = format::GetU32(trailer.data() + 12);
  if (*footer_offset < kNamesMagic.size() || *footer_offset + *footer_len != size - kTrailerBytes) {
    return MakeDamage(path, size - kTrailerBytes,
                      "the trailer's footer position does not fit the file: truncated or damaged", damage);
  }
  return Status::Ok();
}

Status ParseNamesFooter(const std::string& path, const std::string& f, Damage* damage, NamesTable* table,
                        uint32_t* count, std::vector<BlockRef>* pages) {
  const std::string_view all(f);
  uint64_t footer_offset = 0;
  uint32_t footer_len = 0, crc = 0;
  const bool big_enough = f.size() >= kNamesMagic.size() + kTrailerBytes;
  if (Status s = CheckNamesFrame(path, f.size(), big_enough ? all.substr(0, kNamesMagic.size()) : std::string_view(),
                                 big_enough ? all.substr(f.size() - kTrailerBytes) : std::string_view(), damage,
                                 &footer_offset, &footer_len, &crc);
      !s.ok()) {
    return s;
  }
  return ParseNamesFooterBytes(path, all.substr(footer_offset, footer_len), footer_offset, crc, damage, table, count,
                               pages);
}

// Decodes page p (of `want` names) into *out.
Status DecodeNamesPage(const std::string& path, std::string_view stored, const BlockRef& ref, uint32_t p,
                       uint32_t want, std::string* raw, NameList* out, Damage* damage) {
  std::string why;
  if (!Unpack(ref, stored, raw, &why)) {
    return MakeDamage(path, ref.offset, "names page " + Str(p) + ": " + why, damage);
  }
  ByteReader page(*raw);
  for (uint32_t i = 0; i < want && page.ok(); ++i) out->push_back(page.Bytes(page.Varint()));
  if (!page.ok() || !page.empty()) return MakeDamage(path, ref.offset, "names page " + Str(p) + " does not decode", damage);
  return Status::Ok();
}

}  // namespace

StatusOr<NamesTable> ReadNames(const std::string& path, Damage* damage) {
  auto data = ReadWholeFile(path);
  if (!data.ok()) return data.status();
  NamesTable table;
  uint32_t count = 0;
  std::vector<BlockRef> pages;
  if (Status s = ParseNamesFooter(path, *data, damage, &table, &count, &pages); !s.ok()) return s;
  table.names.reserve(count, data->size());
  std::string raw;
  for (uint32_t p = 0; p < pages.size(); ++p) {
    const uint32_t want = std::min(table.page_entries, count - p * table.page_entries);
    const std::string_view stored = std::string_view(*data).substr(pages[p].offset, pages[p].stored_len);
    if (Status s = DecodeNamesPage(path, stored, pages[p], p, want, &raw, &table.names, damage); !s.ok()) return s;
  }
  return table;
}

StatusOr<std::vector<std::string>> ReadNamesOf(const std::string& path, std::span<const uint32_t> ids) {
  // Reads only the trailer, the footer and the pages that hold `ids` (a name table of a million subjects
  // is tens of megabytes; a query wants a few pages of most of them).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": open: " + format::ErrnoText(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(path + ": stat: " + format::ErrnoText(errno));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string header, trailer, footer;
  if (size >= kNamesMagic.size() + kTrailerBytes) {
    if (Status s = format::PreadExact(fd, path, 0, kNamesMagic.size(), &header); !s.ok()) return s;
    if (Status s = format::PreadExact(fd, path, size - kTrailerBytes, kTrailerBytes, &trailer); !s.ok()) return s;
  }
  uint64_t footer_offset = 0;
  uint32_t footer_len = 0, crc = 0;
  if (Status s = CheckNamesFrame(path, size, header, trailer, nullptr, &footer_offset, &footer_len, &crc); !s.ok()) {
    return s;
  }
  if (Status s = format::PreadExact(fd, path, footer_offset, footer_len, &footer); !s.ok()) return s;
  NamesTable table;
  uint32_t count = 0;
  std::vector<BlockRef> pages;
  if (Status s = ParseNamesFooterBytes(path, footer, footer_offset, crc, nullptr, &table, &count, &pages); !s.ok()) {
    return s;
  }
  std::vector<std::string> out(ids.size());
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  std::string stored, raw;
  NameList page;
  size_t loaded = SIZE_MAX;
  for (size_t k : order) {
    if (ids[k] >= count) return Status::InvalidArgument(path + ": no name " + Str(ids[k]) + " in the table");
    const uint32_t p = ids[k] / table.page_entries;
    if (p != loaded) {
      page.clear();
      const uint32_t want = std::min(table.page_entries, count - p * table.page_entries);
      if (Status s = format::PreadExact(fd, path, pages[p].offset, pages[p].stored_len, &stored); !s.ok()) return s;
      if (Status s = DecodeNamesPage(path, stored, pages[p], p, want, &raw, &page, nullptr); !s.ok()) return s;
      loaded = p;
    }
    out[k] = std::string(page[ids[k] - p * table.page_entries]);
  }
  return out;
}

}  // namespace vg::ledger
