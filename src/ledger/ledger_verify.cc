// Verify (ledger.h): recompute everything from the files and report the first problem, naming the file,
// the byte offset where one applies, and the first record concerned.
//
// Order of checks: the public key; every signed tree head (CRC, signature, sizes and times that never go
// back); then the segments in record order (footer, each block's CRC and decoding, the dictionary, each
// leaf recomputed and the root compared at every signed head's size, the bounds and subject index against
// the rows, the end frontier, the name table against the keyed hashes); then the write-ahead log; then
// heads beyond the records, retention coverage and vendor declarations.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

#include "common/files.h"
#include "ledger/ledger_format.h"
#include "ledger/ledger_impl.h"

namespace vg::ledger {
namespace {

std::string Str(uint64_t v) { return std::to_string(v); }

constexpr uint64_t kProgressEvery = 1 << 16;  // records between progress callbacks (a power of two)
constexpr int kVerifyAttempts = 3;            // runs when a writer changes the files during one

struct FileRange {
  std::string file;
  uint64_t first = 0;
  uint64_t end = 0;
};

class Verifier {
 public:
  Verifier(std::string dir, const VerifyOptions& options) : dir_(std::move(dir)), options_(options) {}
  VerifyReport Run();

 private:
  std::string Path(std::string_view name) const { return dir_ + "/" + std::string(name); }
  bool Fail(std::string problem, std::string file = "", int64_t offset = -1, int64_t record = -1) {
    if (!failed_) {
      failed_ = true;
      report_.problem = std::move(problem);
      report_.file = std::move(file);
      report_.offset = offset;
      report_.record = record;
    }
    return false;
  }
  bool FailDamage(const Status& s, const Damage& d, int64_t record = -1) {
    if (!d.file.empty()) return Fail(s.message(), d.file, static_cast<int64_t>(d.offset), record);
    return Fail(s.message());
  }
  std::string FilesCovering(uint64_t first, uint64_t end) const {
    std::string out;
    for (const FileRange& r : ranges_) {
      if (r.end > first && r.first < end) out += (out.empty() ? "" : ", ") + r.file;
    }
    return out.empty() ? "(no file)" : out;
  }

  void Progress(bool force) {
    if (!options_.progress || failed_) return;
    if (force || (report_.records & (kProgressEvery - 1)) == 0) {
      options_.progress(report_.records, std::max(total_, report_.records));
    }
  }

  bool LoadKeys();
  bool CheckHeads();
  void StartTree(uint64_t first_index, const MerkleFrontier& start);
  bool AppendLeaf(const Hash& leaf);
  bool CheckRow(const SegmentRows& rows, size_t i, uint64_t record, const std::string& file);
  bool CheckSegment(uint64_t index);
  bool CheckWal(const std::vector<uint64_t>& wals);
  bool Finish();

  std::string dir_;
  VerifyOptions options_;
  VerifyReport report_;
  bool failed_ = false;
  PublicKey key_{};
  std::optional<SubjectKeyer> keyer_;
  HeadsFile heads_;
  size_t next_head_ = 0;
  uint64_t last_matched_size_ = 0;  // records [0, this) match a signed head
  bool tree_started_ = false;
  MerkleFrontier frontier_;
  std::vector<FileRange> ranges_;
  std::string scratch_;
  std::map<uint16_t, VendorInfo> declared_;
  std::map<uint16_t, uint64_t> used_vendors_;  // vendor id -> first record that uses it
  uint64_t retention_end_ = 0;                 // the largest b of "dropped records [a, b)"
  uint64_t total_ = 0;                         // records to recompute, for progress
};

bool Verifier::LoadKeys() {
  if (options_.public_key) {
    key_ = *options_.public_key;
  } else {
    const std::string path = Path(kHeadPubFileName);
    auto pem = ReadWholeFile(path);
    if (!pem.ok()) return Fail("no public key to check signed tree heads with: " + pem.status().message(), path);
    auto key = PublicKeyFromPem(*pem);
    if (!key.ok()) return Fail(path + ": " + key.status().message(), path);
    key_ = *key;
  }
  if (options_.check_names) {
    auto key = ReadSubjectKey(Path(kSubjectKeyFileName));
    if (key.ok()) {
      keyer_.emplace(std::span<const uint8_t, kSubjectKeyBytes>(key->data(), kSubjectKeyBytes));
    } else {
      report_.notes.push_back("name tables not checked against their keyed hashes: " + key.status().message());
    }
  }
  return true;
}

bool Verifier::CheckHeads() {
  const std::string path = Path(kHeadsFileName);
  int64_t bad_offset = -1;
  auto heads = ReadHeadsFile(path, &bad_offset);
  if (!heads.ok()) return Fail(heads.status().message(), path, bad_offset);
  heads_ = std::move(*heads);
  if (heads_.torn_bytes > 0) {
    report_.notes.push_back(path + ": a partial last entry of " + Str(heads_.torn_bytes) +
                            " bytes (a write in progress or a crash) was ignored");
  }
  for (size_t k = 0; k < heads_.heads.size(); ++k) {
    const SignedTreeHead& h = heads_.heads[k];
    const int64_t offset = static_cast<int64_t>(heads_.offsets[k]);
    if (Status s = VerifySignedTreeHead(h, key_); !s.ok()) {
      return Fail(path + ": signed tree head #" + Str(k) + " (offset " + Str(offset) + ", tree size " +
                      Str(h.head.tree_size) + ") has an invalid signature: it was altered, or replaced by one "
                      "signed with another key (" + s.message() + ")",
                  path, offset);
    }
    if (k > 0) {
      const TreeHead& prev = heads_.heads[k - 1].head;
      if (h.head.tree_size < prev.tree_size) {
        return Fail(path + ": signed tree head #" + Str(k) + " (offset " + Str(offset) + ") has tree size " +
                        Str(h.head.tree_size) + ", smaller than head #" + Str(k - 1) + "'s " + Str(prev.tree_size) +
                        ": heads were reordered or replaced",
                    path, offset);
      }
      if (h.head.timestamp_ms < prev.timestamp_ms) {
        return Fail(path + ": signed tree head #" + Str(k) + " (offset " + Str(offset) +
                        ") is older than the head before it: heads were reordered or replaced",
                    path, offset);
      }
    }
    ++report_.heads;
  }
  return true;
}

void Verifier::StartTree(uint64_t first_index, const MerkleFrontier& start) {
  tree_started_ = true;
  frontier_ = start;
  report_.first_record = first_index;
  last_matched_size_ = first_index;
  size_t older = 0;
  while (next_head_ < heads_.heads.size() && heads_.heads[next_head_].head.tree_size < first_index) {
    ++next_head_;
    ++older;
  }
  if (older > 0) {
    report_.notes.push_back(Str(older) + " signed tree heads cover only records before the first retained record " +
                            Str(first_index) + ": their signatures were checked, their roots cannot be");
  }
  // A head exactly at the start: the start frontier must reproduce its root.
  while (next_head_ < heads_.heads.size() && heads_.heads[next_head_].head.tree_size == first_index) {
    if (first_index > 0 && start.Root() != heads_.heads[next_head_].head.root_hash) {
      Fail("the Merkle frontier that resumes the tree at record " + Str(first_index) + " (in " +
               FilesCovering(first_index, first_index + 1) + ") does not reproduce the root of signed tree head #" +
               Str(next_head_) + ": the retained records' starting point was altered",
           ranges_.empty() ? "" : ranges_.back().file, -1, static_cast<int64_t>(first_index));
      return;
    }
    if (first_index > 0) ++report_.heads_matched;
    ++next_head_;
  }
}

bool Verifier::AppendLeaf(const Hash& leaf) {
  frontier_.Append(leaf);
  ++report_.records;
  Progress(false);
  while (next_head_ < heads_.heads.size() && heads_.heads[next_head_].head.tree_size == frontier_.size()) {
    const TreeHead& h = heads_.heads[next_head_].head;
    if (frontier_.Root() != h.root_hash) {
      const std::string path = Path(kHeadsFileName);
      return Fail("records [" + Str(last_matched_size_) + ", " + Str(h.tree_size) +
                      ") do not hash to the root of signed tree head #" + Str(next_head_) + " (tree size " +
                      Str(h.tree_size) + ", offset " + Str(heads_.offsets[next_head_]) + " of heads.log): a record in "
                      "that range was changed, removed, inserted or reordered, or the head's root was forged and "
                      "re-signed; the range lies in " + FilesCovering(last_matched_size_, h.tree_size),
                  FilesCovering(last_matched_size_, h.tree_size), -1, static_cast<int64_t>(last_matched_size_));
    }
    last_matched_size_ = h.tree_size;
    ++report_.heads_matched;
    ++next_head_;
  }
  return true;
}

// The leaf of row i and the ledger-level facts it carries (declarations, vendors used, retention).
bool Verifier::CheckRow(const SegmentRows& r, size_t i, uint64_t record, const std::string& file) {
  const uint8_t kind = r.kind[i];
  auto bad = [&](const std::string& what) {
    return Fail(file + ": record " + Str(record) + ": " + what, file, -1, static_cast<int64_t>(record));
  };
  if (kind > static_cast<uint8_t>(RecordKind::kVendorDeclaration)) return bad("unknown kind " + Str(kind));
  if (kind == static_cast<uint8_t>(RecordKind::kDisclosure) && r.outcome[i] >= kOutcomeCount) {
    return bad("unknown outcome " + Str(r.outcome[i]));
  }
  if (kind == static_cast<uint8_t>(RecordKind::kVendorDeclaration)) return true;  // handled with its texts
  if (r.vendor[i] != kNoVendor) used_vendors_.emplace(r.vendor[i], record);
  return true;
}

bool Verifier::CheckSegment(uint64_t index) {
  const std::string path = Path(format::SegmentFileName(index));
  Damage damage;
  auto opened = SegmentFile::Open(path, &damage);
  if (!opened.ok()) return FailDamage(opened.status(), damage);
  const SegmentFile& seg = **opened;
  ++report_.segments;
  if (seg.first_index() != index) {
    return Fail(path + ": its footer says it holds records from " + Str(seg.first_index()) +
                    ", not from the index in its name",
                path, static_cast<int64_t>(seg.footer_offset()));
  }
  ranges_.push_back({path, seg.first_index(), seg.end_index()});
  if (!tree_started_) {
    StartTree(seg.first_index(), seg.frontier_start());
    if (failed_) return false;
  } else if (seg.first_index() != frontier_.size()) {
    if (seg.first_index() > frontier_.size()) {
      return Fail("records [" + Str(frontier_.size()) + ", " + Str(seg.first_index()) + ") are missing: " + path +
                      " starts at " + Str(seg.first_index()) + " but the segment before it ends at " +
                      Str(frontier_.size()) + " (a segment was deleted or truncated)",
                  path, -1, static_cast<int64_t>(frontier_.size()));
    }
    return Fail(path + " starts at record " + Str(seg.first_index()) + ", inside the segment before it (which ends at " +
                    Str(frontier_.size()) + "): overlapping segments",
                path, -1, static_cast<int64_t>(seg.first_index()));
  } else if (!(seg.frontier_start() == frontier_)) {
    return Fail(path + ": the Merkle frontier in its footer for its start (record " + Str(seg.first_index()) +
                    ") is not the frontier of the records before it",
                path, static_cast<int64_t>(seg.footer_offset()), static_cast<int64_t>(seg.first_index()));
  }

  // Dictionary: strictly ascending, pages as the footer says.
  std::vector<SubjectHash> dict, page;
  for (size_t p = 0; p < seg.pages().size(); ++p) {
    if (Status s = seg.ReadDictPage(p, &page, &damage); !s.ok()) return FailDamage(s, damage);
    if (page.empty() || page[0] != seg.pages()[p].first_hash) {
      return Fail(path + ": subject dictionary page " + Str(p) + " does not start with the hash its footer names",
                  path, static_cast<int64_t>(seg.pages()[p].dict.offset));
    }
    for (const SubjectHash& h : page) {
      if (!dict.empty() && !(dict.back() < h)) {
        return Fail(path + ": the subject dictionary is not strictly ascending (page " + Str(p) + ")", path,
                    static_cast<int64_t>(seg.pages()[p].dict.offset));
      }
      dict.push_back(h);
    }
  }

  // Rows, in stored order: bounds, postings, vendor counts, and where each record is.
  const uint32_t n = static_cast<uint32_t>(seg.record_count());
  std::vector<SegmentRows> blocks(seg.row_blocks().size());
  constexpr uint32_t kUnset = UINT32_MAX;
  std::vector<std::pair<uint32_t, uint32_t>> at(n, {kUnset, 0});  // record offset -> (block, row in it)
  std::vector<std::vector<uint32_t>> postings(dict.size());
  std::vector<uint32_t> vendor_records(seg.vendors().size(), 0);
  std::vector<uint8_t> subject_used(dict.size(), 0);
  int64_t tmin = INT64_MAX, tmax = INT64_MIN;
  for (size_t b = 0; b < seg.row_blocks().size(); ++b) {
    const RowBlockMeta& m = seg.row_blocks()[b];
    SegmentRows& block = blocks[b];
    if (Status s = seg.ReadRowBlock(b, kAllColumns, &block, &damage); !s.ok()) {
      return FailDamage(s, damage, static_cast<int64_t>(seg.first_index() + m.record_min));
    }
    int64_t bmin = INT64_MAX, bmax = INT64_MIN;
    uint16_t vmin = UINT16_MAX, vmax = 0;
    for (uint32_t i = 0; i < block.size(); ++i) {
      const uint32_t row = m.first_row + i;
      const uint32_t rec = block.record[i];
      if (at[rec].first != kUnset) {
        return Fail(path + ": record " + Str(seg.first_index() + rec) + " is stored twice (rows " +
                        Str(seg.row_blocks()[at[rec].first].first_row + at[rec].second) + " and " + Str(row) + ")",
                    path, static_cast<int64_t>(m.columns[kColRecord].offset),
                    static_cast<int64_t>(seg.first_index() + rec));
      }
      at[rec] = {static_cast<uint32_t>(b), i};
      const uint32_t sid = block.subject[i];
      if (sid != 0) {
        postings[sid - 1].push_back(row);
        subject_used[sid - 1] = 1;
      }
      if (block.vendor[i] < vendor_records.size()) ++vendor_records[block.vendor[i]];
      bmin = std::min(bmin, block.time_us[i]);
      bmax = std::max(bmax, block.time_us[i]);
      vmin = std::min(vmin, block.vendor[i]);
      vmax = std::max(vmax, block.vendor[i]);
    }
    if (bmin != m.time_min || bmax != m.time_max || vmin != m.vendor_min || vmax != m.vendor_max ||
        block.record[0] != m.record_min) {
      return Fail(path + ": the footer's bounds for rows [" + Str(m.first_row) + ", " + Str(m.first_row + m.rows) +
                      ") are not those of the rows (queries would skip records)",
                  path, static_cast<int64_t>(seg.footer_offset()),
                  static_cast<int64_t>(seg.first_index() + block.record[0]));
    }
    tmin = std::min(tmin, bmin);
    tmax = std::max(tmax, bmax);
  }
  // Every record once (n rows, n distinct offsets below n); now the leaves, in record order.
  std::vector<std::string_view> texts;
  for (uint32_t rec = 0; rec < n; ++rec) {
    const auto [b, i] = at[rec];
    const SegmentRows& block = blocks[b];
    const uint64_t record = seg.first_index() + rec;
    texts.clear();
    if (!block.texts.empty()) {
      auto t = std::lower_bound(block.texts.begin(), block.texts.end(), i,
                                [](const RowTexts& x, uint32_t row) { return x.row < row; });
      if (t != block.texts.end() && t->row == i) {
        for (const std::string& str : t->texts) texts.push_back(str);
      }
    }
    if (!CheckRow(block, i, record, path)) return false;
    if (block.kind[i] == static_cast<uint8_t>(RecordKind::kVendorDeclaration)) {
      if (texts.size() != 4) return Fail(path + ": record " + Str(record) + ": a vendor declaration without its 4 fields", path, -1, static_cast<int64_t>(record));
      VendorInfo v{std::string(texts[0]), std::string(texts[1]), std::string(texts[2]), std::string(texts[3])};
      auto [it, inserted] = declared_.emplace(block.vendor[i], v);
      if (!inserted && !(it->second == v)) {
        return Fail(path + ": record " + Str(record) + ": vendor id " + Str(block.vendor[i]) +
                        " is declared again with different fields",
                    path, -1, static_cast<int64_t>(record));
      }
    }
    if (block.kind[i] == static_cast<uint8_t>(RecordKind::kAdmin) &&
        block.outcome[i] == static_cast<uint8_t>(AdminAction::kRetention) && texts.size() == 2) {
      uint64_t a = 0, e = 0;
      if (ParseRetentionDetail(texts[1], &a, &e)) retention_end_ = std::max(retention_end_, e);
    }
    const uint32_t sid = block.subject[i];
    LeafFields f;
    f.kind = static_cast<RecordKind>(block.kind[i]);
    f.time_us = block.time_us[i];
    f.vendor = block.vendor[i];
    f.subject = sid != 0 ? &dict[sid - 1] : nullptr;
    f.key_epoch = block.key_epoch[i];
    f.categories = block.categories[i];
    f.outcome = block.outcome[i];
    f.insert_id = block.insert_id(i);
    f.payload_hash = &block.payload_hash[i];
    f.texts = texts;
    if (!AppendLeaf(RecordLeafHash(f, &scratch_))) return false;
  }
  if (tmin != seg.time_min() || tmax != seg.time_max()) {
    return Fail(path + ": the footer's time bounds are not those of the rows (queries would skip records)", path,
                static_cast<int64_t>(seg.footer_offset()));
  }
  if (vendor_records != seg.vendor_records()) {
    return Fail(path + ": the footer's per-vendor record counts are not those of the rows (queries would skip "
                       "records)",
                path, static_cast<int64_t>(seg.footer_offset()));
  }
  if (!(frontier_ == seg.frontier_end())) {
    return Fail(path + ": its records [" + Str(seg.first_index()) + ", " + Str(seg.end_index()) +
                    ") do not produce the Merkle frontier stored in its footer: a record was changed, removed or "
                    "reordered",
                path, static_cast<int64_t>(seg.footer_offset()), static_cast<int64_t>(seg.first_index()));
  }
  Progress(true);
  for (size_t id = 0; id < dict.size(); ++id) {
    if (!subject_used[id]) {
      return Fail(path + ": subject dictionary entry " + Str(id) + " is used by no record", path,
                  static_cast<int64_t>(seg.pages()[id / seg.page_entries()].dict.offset));
    }
  }
  std::vector<std::vector<uint32_t>> stored;
  for (size_t p = 0; p < seg.pages().size(); ++p) {
    if (Status s = seg.ReadPostingsPage(p, &stored, &damage); !s.ok()) return FailDamage(s, damage);
    for (size_t k = 0; k < stored.size(); ++k) {
      if (stored[k] != postings[seg.pages()[p].first_id + k]) {
        return Fail(path + ": the subject index (postings page " + Str(p) + ") does not list the rows of subject " +
                        Str(seg.pages()[p].first_id + k) + " (queries by subject would miss or invent records)",
                    path, static_cast<int64_t>(seg.pages()[p].postings.offset));
      }
    }
  }
  for (size_t v = 0; v < seg.vendors().size(); ++v) {
    auto it = declared_.find(static_cast<uint16_t>(v));
    if (it != declared_.end() && !(it->second == seg.vendors()[v])) {
      return Fail(path + ": the footer's vendor table entry " + Str(v) + " (" + seg.vendors()[v].name +
                      ") differs from the vendor's declaration record",
                  path, static_cast<int64_t>(seg.footer_offset()));
    }
  }

  // Name table.
  const std::string names_path = Path(format::NamesFileName(index));
  auto names = ReadNames(names_path, &damage);
  if (!names.ok()) {
    if (names.status().code() == Status::Code::kNotFound) {
      return Fail(names_path + ": missing (the name table of " + path + ")", names_path);
    }
    return FailDamage(names.status(), damage);
  }
  if (names->first_index != index || names->names.size() != dict.size()) {
    return Fail(names_path + ": holds " + Str(names->names.size()) + " names for records from " +
                    Str(names->first_index) + "; " + path + " has " + Str(dict.size()) + " subjects from " + Str(index),
                names_path);
  }
  if (keyer_) {
    for (size_t id = 0; id < dict.size(); ++id) {
      const std::string_view name = names->names[id];
      if (name.empty()) continue;
      if (keyer_->Hash(name) != dict[id]) {
        return Fail(names_path + ": name " + Str(id) + " is not the identifier whose keyed hash the records hold: "
                                 "the name table was altered",
                    names_path);
      }
      ++report_.names_checked;
    }
  }
  return true;
}

bool Verifier::CheckWal(const std::vector<uint64_t>& wals) {
  const uint64_t max_head = heads_.heads.empty() ? 0 : heads_.heads.back().head.tree_size;
  int wal_logs = 0;
  for (uint64_t index : wals) {
    const std::string path = Path(format::WalFileName(index));
    if (tree_started_ && index < frontier_.size()) {
      report_.notes.push_back(path + ": covers records already sealed (an interrupted seal; Open removes it)");
      continue;
    }
    // A second log follows the first when a background seal was in flight (the index check below).
    if (wal_logs++ == 2) return Fail(path + ": a third write-ahead log", path);
    auto bytes = ReadWholeFile(path);
    if (!bytes.ok()) {
      if (bytes.status().code() == Status::Code::kNotFound) continue;  // sealed meanwhile by a running ledger
      return Fail(bytes.status().message(), path);
    }
    ranges_.push_back({path, index, UINT64_MAX});
    // Replay into a scratch active segment; leaves go through AppendLeaf to check heads.
    ActiveSegment active;
    MerkleFrontier replayed;
    const bool started_here = !tree_started_;
    if (tree_started_ && index != frontier_.size()) {
      return Fail("records [" + Str(frontier_.size()) + ", " + Str(index) + ") are missing: the write-ahead log " +
                      path + " starts at " + Str(index),
                  path, -1, static_cast<int64_t>(frontier_.size()));
    }
    if (!keyer_) {
      return Fail("cannot verify the write-ahead log " + path + " without " + Path(kSubjectKeyFileName) +
                      " (its records name subjects in plaintext, and their leaves commit to the keyed hash)",
                  path);
    }
    auto replay = ReplayWal(path, *bytes, *keyer_, &active, &replayed, [](const MerkleFrontier&) {});
    if (!replay.ok()) return Fail(replay.status().message(), path, 0);
    total_ += replay->records;
    if (&index != &wals.back()) ranges_.back().end = index + replay->records;  // another log follows
    if (started_here) {
      StartTree(replay->first_index, replay->frontier_start);
      if (failed_) return false;
    } else if (!(replay->frontier_start == frontier_)) {
      return Fail(path + ": the Merkle frontier in its header is not the frontier of the records before it", path, 0,
                  static_cast<int64_t>(index));
    }
    // Recompute each leaf again from the replayed rows, through AppendLeaf (heads are checked there).
    const SegmentRows& r = active.rows();
    std::vector<std::string_view> texts;
    size_t t = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      const uint64_t record = index + i;
      texts.clear();
      if (t < r.texts.size() && r.texts[t].row == i) {
        for (const std::string& s : r.texts[t].texts) texts.push_back(s);
        ++t;
      }
      if (!CheckRow(r, i, record, path)) return false;
      if (r.kind[i] == static_cast<uint8_t>(RecordKind::kVendorDeclaration) && texts.size() == 4) {
        VendorInfo v{std::string(texts[0]), std::string(texts[1]), std::string(texts[2]), std::string(texts[3])};
        auto [it, inserted] = declared_.emplace(r.vendor[i], v);
        if (!inserted && !(it->second == v)) {
          return Fail(path + ": record " + Str(record) + ": vendor id " + Str(r.vendor[i]) +
                          " is declared again with different fields",
                      path, -1, static_cast<int64_t>(record));
        }
      }
      if (r.kind[i] == static_cast<uint8_t>(RecordKind::kAdmin) &&
          r.outcome[i] == static_cast<uint8_t>(AdminAction::kRetention) && texts.size() == 2) {
        uint64_t a = 0, e = 0;
        if (ParseRetentionDetail(texts[1], &a, &e)) retention_end_ = std::max(retention_end_, e);
      }
      LeafFields f;
      f.kind = static_cast<RecordKind>(r.kind[i]);
      f.time_us = r.time_us[i];
      f.vendor = r.vendor[i];
      f.subject = r.subject[i] != 0 ? &active.hashes()[r.subject[i] - 1] : nullptr;
      f.key_epoch = r.key_epoch[i];
      f.categories = r.categories[i];
      f.outcome = r.outcome[i];
      f.insert_id = r.insert_id(i);
      f.payload_hash = &r.payload_hash[i];
      f.texts = texts;
      if (!AppendLeaf(RecordLeafHash(f, &scratch_))) return false;
    }
    Progress(true);
    if (replay->damaged) {
      const uint64_t record = index + replay->records;
      if (record < max_head) {
        return Fail(path + ": offset " + Str(replay->damage_offset) + ": " + replay->damage + " at record " +
                        Str(record) + ", which signed tree heads cover (up to " + Str(max_head) +
                        " records): the log was changed or truncated",
                    path, static_cast<int64_t>(replay->damage_offset), static_cast<int64_t>(record));
      }
      report_.notes.push_back(path + ": " + Str(bytes->size() - replay->valid_bytes) + " bytes after offset " +
                              Str(replay->valid_bytes) + " are " + replay->damage +
                              ", after every signed head: an unflushed tail (a write in progress, or a crash; Open "
                              "truncates it)");
    }
  }
  return true;
}

bool Verifier::Finish() {
  const std::string heads_path = Path(kHeadsFileName);
  if (next_head_ < heads_.heads.size()) {
    const size_t k = next_head_;
    const TreeHead& h = heads_.heads[k].head;
    if (h.tree_size > frontier_.size()) {
      return Fail(heads_path + ": signed tree head #" + Str(k) + " covers " + Str(h.tree_size) +
                      " records but the ledger holds " + Str(frontier_.size()) +
                      ": records were removed (a segment or the write-ahead log was truncated or deleted)",
                  heads_path, static_cast<int64_t>(heads_.offsets[k]), static_cast<int64_t>(frontier_.size()));
    }
    return Fail(heads_path + ": signed tree head #" + Str(k) + " (tree size " + Str(h.tree_size) +
                    ") was never reached in order: heads out of order",
                heads_path, static_cast<int64_t>(heads_.offsets[k]));
  }
  if (report_.first_record > 0 && retention_end_ < report_.first_record) {
    return Fail("records [0, " + Str(report_.first_record) + ") are missing and no retention record in the ledger "
                "accounts for them (the oldest segments were deleted outside ApplyRetention)",
                ranges_.empty() ? "" : ranges_.front().file, -1, 0);
  }
  for (const auto& [vendor, record] : used_vendors_) {
    if (!declared_.count(vendor)) {
      return Fail("record " + Str(record) + " names vendor id " + Str(vendor) +
                      ", which no vendor declaration record in the ledger declares",
                  FilesCovering(record, record + 1), -1, static_cast<int64_t>(record));
    }
  }
  return true;
}

VerifyReport Verifier::Run() {
  if (!LoadKeys() || !CheckHeads()) return report_;
  LedgerDirListing files;
  if (Status s = ListLedgerDir(dir_, &files); !s.ok()) {
    Fail(s.message(), dir_);
    return report_;
  }
  if (options_.progress) {
    // The total for progress: each segment's record count from its footer (damage is reported below).
    for (uint64_t index : files.segments) {
      auto seg = SegmentFile::Open(Path(format::SegmentFileName(index)));
      if (seg.ok()) total_ += (*seg)->record_count();
    }
    Progress(true);
  }
  for (uint64_t index : files.segments) {
    if (!CheckSegment(index)) return report_;
  }
  for (uint64_t index : files.names) {
    if (!std::binary_search(files.segments.begin(), files.segments.end(), index)) {
      report_.notes.push_back(Path(format::NamesFileName(index)) + ": a name table without its segment (an "
                              "interrupted seal; Open removes it)");
    }
  }
  if (!CheckWal(files.wals) || !Finish()) return report_;
  if (!tree_started_) report_.notes.push_back("the ledger holds no records");
  report_.ok = true;
  return report_;
}

}  // namespace

VerifyReport Verify(const std::string& dir, const VerifyOptions& options) {
  VerifyReport report;
  for (int attempt = 0; attempt < kVerifyAttempts; ++attempt) {
    LedgerDirListing before, after;
    const bool listed = ListLedgerDir(dir, &before).ok();
    report = Verifier(dir, options).Run();
    if (report.ok || !listed) break;
    // A failure while a writer sealed or dropped segments (a log deleted after it was listed, a segment
    // that appeared after the listing) may be an artifact of the change: check again.
    if (!ListLedgerDir(dir, &after).ok() || after.SameFiles(before)) break;
    if (attempt + 1 == kVerifyAttempts) {
      report.notes.push_back("the ledger's files kept changing during the check (a writer sealing or dropping "
                             "segments); this is the result of the last of " + Str(kVerifyAttempts) + " runs");
    }
  }
  return report;
}

}  // namespace vg::ledger
