#include "ledger/ledger_wal.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <numeric>

#include "ledger/ledger_format.h"

namespace vg::ledger {
namespace {

using format::ByteReader;

constexpr uint8_t kTagNone = 0;
constexpr uint8_t kTagKnown = 1;
constexpr uint8_t kTagNew = 2;

struct ParsedRecord {
  RecordKind kind;
  int64_t time_us;
  uint16_t vendor;
  uint8_t tag;
  uint32_t known_id;
  std::string_view new_name;
  uint32_t key_epoch;
  uint32_t categories;
  uint8_t outcome;
  std::string_view insert_id;
  Hash payload_hash;
  std::vector<std::string_view> texts;
};

}  // namespace

namespace {
inline uint64_t Key0(const SubjectHash& h) {
  uint64_t v;
  std::memcpy(&v, h.data(), 8);
  return v;
}
}  // namespace

void ActiveSegment::Reset(uint64_t first_index, const MerkleFrontier& frontier_start) {
  first_index_ = first_index;
  frontier_start_ = frontier_start;
  rows_.Clear();
  hashes_.clear();
  names_.clear();
  // Keep the table's size from the last segment (the next one will likely grow as large): growing again
  // from 1024 slots rehashes ~20 times and faults in fresh pages for every doubling.
  if (slots_.size() < 1024) {
    slots_.assign(1024, Slot{});
  } else {
    std::fill(slots_.begin(), slots_.end(), Slot{});
  }
}

void ActiveSegment::RecycleRows(SegmentRows&& rows) {
  if (!rows_.empty()) return;
  rows.Clear();
  rows_ = std::move(rows);
}

std::optional<uint32_t> ActiveSegment::Find(const SubjectHash& hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = Key0(hash) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id1 == 0) return std::nullopt;
    if (s.key == hash) return s.id1 - 1;
  }
}

void ActiveSegment::Grow() {
  std::vector<Slot, HugePageAllocator<Slot>> slots(slots_.size() * 2);
  const size_t mask = slots.size() - 1;
  for (const Slot& s : slots_) {
    if (s.id1 == 0) continue;
    size_t i = Key0(s.key) & mask;
    while (slots[i].id1 != 0) i = (i + 1) & mask;
    slots[i] = s;
  }
  slots_.swap(slots);
}

uint32_t ActiveSegment::Add(std::string_view name, const SubjectHash& hash) {
  if ((names_.size() + 1) * 2 > slots_.size()) Grow();
  const uint32_t id = static_cast<uint32_t>(names_.size());
  names_.push_back(name);
  hashes_.push_back(hash);
  const size_t mask = slots_.size() - 1;
  size_t i = Key0(hash) & mask;
  while (slots_[i].id1 != 0) i = (i + 1) & mask;
  slots_[i] = Slot{hash, id + 1};
  return id;
}

void ActiveSegment::AppendRow(const LeafFields& f, uint32_t subject_id) {
  SegmentRows& r = rows_;
  r.time_us.push_back(f.time_us);
  r.kind.push_back(static_cast<uint8_t>(f.kind));
  r.vendor.push_back(f.vendor);
  r.subject.push_back(subject_id);
  r.key_epoch.push_back(f.key_epoch);
  r.categories.push_back(f.categories);
  r.outcome.push_back(f.outcome);
  r.insert_ids.append(f.insert_id);
  r.insert_id_end.push_back(static_cast<uint32_t>(r.insert_ids.size()));
  r.payload_hash.push_back(f.payload_hash != nullptr ? *f.payload_hash : Hash{});
  if (!f.texts.empty()) {
    RowTexts t;
    t.row = static_cast<uint32_t>(r.kind.size() - 1);
    for (std::string_view s : f.texts) t.texts.emplace_back(s);
    r.texts.push_back(std::move(t));
  }
}

SegmentContent ActiveSegment::TakeContent(const MerkleFrontier& frontier_end, std::vector<VendorInfo> vendors,
                                          NameList* names_by_id, std::vector<uint32_t>* order_out) {
  SegmentContent c;
  c.first_index = first_index_;
  c.frontier_start = frontier_start_;
  c.frontier_end = frontier_end;
  c.vendors = std::move(vendors);
  const size_t n = hashes_.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  {
    // Sort (first 8 bytes big-endian, id) pairs by one radix pass on the top 16 bits (the keys are HMAC
    // outputs, uniform: ~n/65536 per bucket), then an insertion sort within each bucket. It was a
    // std::sort of the pairs: ~20 compare-and-branch passes over ~a million of them at every seal.
    constexpr size_t kBuckets = 1 << 16;
    std::vector<uint32_t> start(kBuckets + 1, 0);
    std::vector<uint64_t> key(n);
    for (uint32_t i = 0; i < n; ++i) {
      key[i] = __builtin_bswap64(Key0(hashes_[i]));
      ++start[(key[i] >> 48) + 1];
    }
    for (size_t b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
    std::vector<std::pair<uint64_t, uint32_t>> keyed(n);
    {
      std::vector<uint32_t> next(start.begin(), start.end() - 1);
      for (uint32_t i = 0; i < n; ++i) keyed[next[key[i] >> 48]++] = {key[i], i};
    }
    auto less = [&](const std::pair<uint64_t, uint32_t>& a, const std::pair<uint64_t, uint32_t>& b) {
      if (a.first != b.first) return a.first < b.first;
      return hashes_[a.second] < hashes_[b.second];
    };
    for (size_t b = 0; b < kBuckets; ++b) {
      auto* lo = keyed.data() + start[b];
      auto* hi = keyed.data() + start[b + 1];
      if (hi - lo < 2) continue;  // also keeps `lo + 1` off an empty vector's null data()
      if (hi - lo > 32) {
        std::sort(lo, hi, less);  // not for uniform keys; bounds the worst case
        continue;
      }
      for (auto* p = lo + 1; p < hi; ++p) {
        const auto v = *p;
        auto* q = p;
        for (; q > lo && less(v, q[-1]); --q) *q = q[-1];
        *q = v;
      }
    }
    for (uint32_t i = 0; i < n; ++i) order[i] = keyed[i].second;
  }
  std::vector<uint32_t> rank(n);
  c.subject_hashes.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    rank[order[i]] = i;
    c.subject_hashes[i] = hashes_[order[i]];
  }
  if (names_by_id != nullptr) {
    names_by_id->clear();
    std::swap(names_, *names_by_id);
    *order_out = std::move(order);
  } else {
    c.subject_names.reserve(n, names_.bytes());
    for (uint32_t i = 0; i < n; ++i) c.subject_names.push_back(names_[order[i]]);
  }
  c.rows = std::move(rows_);
  for (uint32_t& s : c.rows.subject) {
    if (s != 0) s = rank[s - 1] + 1;
  }
  Reset(frontier_end.size(), frontier_end);
  return c;
}

std::string EncodeWalHeader(uint64_t first_index, const MerkleFrontier& frontier) {
  std::string out(kWalMagic);
  format::PutU64(&out, first_index);
  const std::string f = frontier.Serialize();
  format::PutU32(&out, static_cast<uint32_t>(f.size()));
  out.append(f);
  format::PutU32(&out, format::Crc(out));
  return out;
}

WalFrame::WalFrame(std::string* buf) : buf_(buf), start_(buf->size()) { buf_->append(kWalFrameHeaderBytes, '\0'); }

void WalFrame::Add(const LeafFields& f, uint32_t subject_id, std::string_view new_subject) {
  std::string* out = buf_;
  format::PutU8(out, static_cast<uint8_t>(f.kind));
  format::PutI64(out, f.time_us);
  format::PutU16(out, f.vendor);
  if (!new_subject.empty()) {
    format::PutU8(out, kTagNew);
    format::PutStr16(out, new_subject);
  } else if (subject_id != 0) {
    format::PutU8(out, kTagKnown);
    format::PutU32(out, subject_id - 1);
  } else {
    format::PutU8(out, kTagNone);
  }
  format::PutU32(out, f.key_epoch);
  format::PutU32(out, f.categories);
  format::PutU8(out, f.outcome);
  format::PutU8(out, static_cast<uint8_t>(f.insert_id.size()));
  out->append(f.insert_id);
  if (f.payload_hash != nullptr) {
    format::PutBytes(out, f.payload_hash->data(), kHashBytes);
  } else {
    out->append(kHashBytes, '\0');
  }
  format::PutU8(out, static_cast<uint8_t>(f.texts.size()));
  for (std::string_view t : f.texts) format::PutStr16(out, t);
  ++count_;
}

void WalFrame::Finish() {
  if (count_ == 0) {
    buf_->resize(start_);
    return;
  }
  char* h = buf_->data() + start_;
  const uint32_t len = static_cast<uint32_t>(buf_->size() - start_ - kWalFrameHeaderBytes);
  for (int i = 0; i < 4; ++i) {
    h[4 + i] = static_cast<char>(len >> (8 * i));
    h[8 + i] = static_cast<char>(count_ >> (8 * i));
  }
  const uint32_t crc = format::Crc(std::string_view(h + 4, buf_->size() - start_ - 4));
  for (int i = 0; i < 4; ++i) h[i] = static_cast<char>(crc >> (8 * i));
}

namespace {

Status ParseWalHeader(const std::string& path, std::string_view bytes, WalReplay* out) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(path + ": offset 0: WAL header: " + what);
  };
  if (bytes.size() < kWalMagic.size() || bytes.substr(0, kWalMagic.size()) != kWalMagic) {
    return bad("no \"VGLWAL01\" magic (" + std::to_string(bytes.size()) + " bytes)");
  }
  ByteReader in(bytes.substr(kWalMagic.size()));
  out->first_index = in.U64();
  const std::string_view f = in.Bytes(in.U32());
  const size_t header_len = static_cast<size_t>(in.position() - bytes.data());
  const uint32_t crc = in.U32();
  if (!in.ok()) return bad("truncated");
  if (format::Crc(bytes.substr(0, header_len)) != crc) return bad("checksum mismatch");
  auto frontier = MerkleFrontier::Deserialize({reinterpret_cast<const uint8_t*>(f.data()), f.size()});
  if (!frontier.ok()) return bad(frontier.status().message());
  if (frontier->size() != out->first_index) return bad("the frontier's size does not match the first index");
  out->frontier_start = *frontier;
  out->valid_bytes = header_len + 4;
  return Status::Ok();
}

// Parses a frame body completely before anything is applied, so a frame is all or nothing.
bool ParseBody(std::string_view body, uint32_t count, uint32_t known_subjects, std::vector<ParsedRecord>* out) {
  out->clear();
  ByteReader in(body);
  uint32_t next_id = known_subjects;
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    ParsedRecord r;
    const uint8_t kind = in.U8();
    if (kind > static_cast<uint8_t>(RecordKind::kVendorDeclaration)) return false;
    r.kind = static_cast<RecordKind>(kind);
    r.time_us = in.I64();
    r.vendor = in.U16();
    r.tag = in.U8();
    r.known_id = 0;
    if (r.tag == kTagNew) {
      r.new_name = in.Str16();
      if (r.new_name.empty()) return false;
      ++next_id;
    } else if (r.tag == kTagKnown) {
      r.known_id = in.U32();
      if (r.known_id >= next_id) return false;
    } else if (r.tag != kTagNone) {
      return false;
    }
    r.key_epoch = in.U32();
    r.categories = in.U32();
    r.outcome = in.U8();
    r.insert_id = in.Bytes(in.U8());
    in.Copy(r.payload_hash.data(), kHashBytes);
    const uint8_t ntexts = in.U8();
    for (uint8_t k = 0; k < ntexts && in.ok(); ++k) r.texts.push_back(in.Str16());
    out->push_back(std::move(r));
  }
  return in.ok() && in.empty() && out->size() == count;
}

}  // namespace

StatusOr<WalReplay> ReplayWal(const std::string& path, std::string_view bytes, const SubjectKeyer& keyer,
                              ActiveSegment* active, MerkleFrontier* frontier,
                              const std::function<void(const MerkleFrontier&)>& on_record) {
  WalReplay r;
  if (Status s = ParseWalHeader(path, bytes, &r); !s.ok()) return s;
  active->Reset(r.first_index, r.frontier_start);
  *frontier = r.frontier_start;
  std::string scratch;
  std::vector<ParsedRecord> parsed;
  size_t pos = r.valid_bytes;
  while (pos < bytes.size()) {
    auto fail = [&](std::string what) {
      r.damaged = true;
      r.damage_offset = pos;
      r.damage = std::move(what);
    };
    if (bytes.size() - pos < kWalFrameHeaderBytes) {
      fail("an incomplete frame header (" + std::to_string(bytes.size() - pos) + " bytes)");
      break;
    }
    const uint32_t crc = format::GetU32(bytes.data() + pos);
    const uint32_t len = format::GetU32(bytes.data() + pos + 4);
    const uint32_t count = format::GetU32(bytes.data() + pos + 8);
    if (len > kMaxWalFrameBytes || len > bytes.size() - pos - kWalFrameHeaderBytes) {
      fail("a frame of " + std::to_string(len) + " bytes that the file does not hold");
      break;
    }
    if (format::Crc(bytes.substr(pos + 4, len + 8)) != crc) {
      fail("a frame whose checksum does not match");
      break;
    }
    if (count == 0 ||
        !ParseBody(bytes.substr(pos + kWalFrameHeaderBytes, len), count,
                   static_cast<uint32_t>(active->hashes().size()), &parsed)) {
      fail("a frame with a valid checksum that does not decode");
      break;
    }
    for (const ParsedRecord& p : parsed) {
      uint32_t subject_id = 0;
      if (p.tag == kTagNew) {
        const SubjectHash hash = keyer.Hash(p.new_name);
        auto existing = active->Find(hash);
        subject_id = 1 + (existing ? *existing : active->Add(p.new_name, hash));
      } else if (p.tag == kTagKnown) {
        subject_id = p.known_id + 1;
      }
      LeafFields f;
      f.kind = p.kind;
      f.time_us = p.time_us;
      f.vendor = p.vendor;
      f.subject = subject_id != 0 ? &active->hashes()[subject_id - 1] : nullptr;
      f.key_epoch = p.key_epoch;
      f.categories = p.categories;
      f.outcome = p.outcome;
      f.insert_id = p.insert_id;
      f.payload_hash = &p.payload_hash;
      f.texts = p.texts;
      frontier->Append(RecordLeafHash(f, &scratch));
      active->AppendRow(f, subject_id);
      on_record(*frontier);
    }
    r.records += count;
    pos += kWalFrameHeaderBytes + len;
    r.valid_bytes = pos;
  }
  return r;
}

}  // namespace vg::ledger
