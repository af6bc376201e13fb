// Ledger queries: who (subjects disclosed to a vendor in a window), subject (vendors that received
// something about one person), vendors (what each vendor received). See ledger.h for the contract.
//
// Each segment (and the active one) yields a run of per-subject aggregates sorted by SubjectHash (a sealed
// segment's local ids are already in hash order); runs are merged with a heap, so one person is one entry
// however many segments they span, at O(entries * log segments).
#include <algorithm>
#include <cassert>
#include <atomic>
#include <cstring>
#include <queue>
#include <thread>

#include "ledger/ledger_format.h"
#include "ledger/ledger_impl.h"

namespace vg::ledger {
namespace {

constexpr uint32_t kScanColumns = ColumnBit(kColKind) | ColumnBit(kColTime) | ColumnBit(kColVendor) |
                                  ColumnBit(kColSubject) | ColumnBit(kColCategories) | ColumnBit(kColOutcome);

struct Agg {
  uint32_t categories = 0;
  int64_t first = INT64_MAX;
  int64_t last = INT64_MIN;
  OutcomeCounts counts;
  bool empty() const { return counts.total() == 0; }
  void Add(uint32_t cats, int64_t t, uint8_t outcome) {
    categories |= cats;
    first = std::min(first, t);
    last = std::max(last, t);
    counts.Add(outcome);
  }
  void Merge(const Agg& o) {
    categories |= o.categories;
    first = std::min(first, o.first);
    last = std::max(last, o.last);
    counts.Add(o.counts);
  }
};

// The SubjectHash as two big-endian integers: merging compares integers, not 16-byte arrays.
struct Key {
  uint64_t hi = 0, lo = 0;
  static Key Of(const SubjectHash& h) {
    uint64_t a, b;
    std::memcpy(&a, h.data(), 8);
    std::memcpy(&b, h.data() + 8, 8);
    return {__builtin_bswap64(a), __builtin_bswap64(b)};
  }
  SubjectHash hash() const {
    SubjectHash h;
    const uint64_t a = __builtin_bswap64(hi), b = __builtin_bswap64(lo);
    std::memcpy(h.data(), &a, 8);
    std::memcpy(h.data() + 8, &b, 8);
    return h;
  }
  bool operator==(const Key&) const = default;
  bool operator<(const Key& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
};

struct RunEntry {
  Key key;
  uint32_t local_id;
  Agg agg;
};

struct Run {
  std::shared_ptr<const SegmentFile> segment;  // null: the active segment
  std::vector<RunEntry> entries;               // ascending key
  std::vector<std::string> names;              // active run: names parallel to entries
};

// Runs fn(0..n-1) on up to hardware_concurrency threads (the caller's included). fn must not throw.
template <typename Fn>
void ParallelFor(size_t n, Fn&& fn) {
  const size_t threads = std::min<size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

inline bool Counted(uint8_t kind, uint8_t outcome, OutcomeMask mask) {
  return kind == static_cast<uint8_t>(RecordKind::kDisclosure) && outcome < kOutcomeCount && ((mask >> outcome) & 1);
}

// Per-subject aggregates by local id, without allocating and zeroing an aggregate for every subject of
// a segment (a million of them, 40 MB, per segment): a thread-local id -> slot table, reset only where
// it was used.
class SubjectAggregator {
 public:
  static SubjectAggregator& ForThisThread() {
    thread_local SubjectAggregator a;
    return a;
  }
  void Begin(size_t subjects) {
    if (slot_.size() < subjects) slot_.resize(subjects, 0);
    subjects_ = static_cast<uint32_t>(subjects);
    aggs_.clear();
    ids_.clear();
  }
  Agg& At(uint32_t id) {
    uint32_t& s = slot_[id];
    if (s == 0) {
      aggs_.emplace_back();
      ids_.push_back(id);
      s = static_cast<uint32_t>(aggs_.size());
    }
    return aggs_[s - 1];
  }
  // fn(id, agg) in ascending id order; then the table is clean for the next Begin.
  template <typename Fn>
  void Drain(Fn&& fn) {
    if (ids_.size() >= subjects_ / 16) {
      // Many ids used (a vendor's rows of a day-sized segment touch ~a tenth of its subjects): one pass
      // over the table in id order is cheaper than sorting them.
      for (uint32_t id = 0; id < subjects_; ++id) {
        if (slot_[id] != 0) {
          fn(id, aggs_[slot_[id] - 1]);
          slot_[id] = 0;
        }
      }
    } else {
      std::sort(ids_.begin(), ids_.end());
      for (uint32_t id : ids_) fn(id, aggs_[slot_[id] - 1]);
      for (uint32_t id : ids_) slot_[id] = 0;
    }
    ids_.clear();
  }
  size_t size() const { return ids_.size(); }

 private:
  std::vector<uint32_t> slot_;  // local id -> index in aggs_ + 1; 0 = untouched
  uint32_t subjects_ = 0;       // ids in use are below this (since Begin)
  std::vector<Agg> aggs_;
  std::vector<uint32_t> ids_;
};

// Aggregates the rows that match into `agg`, by local id.
void ScanWho(const SegmentRows& r, const std::vector<uint8_t>& vendor_match, int64_t from, int64_t to,
             OutcomeMask mask, SubjectAggregator* agg) {
  const size_t n = r.size();
  for (size_t i = 0; i < n; ++i) {
    const uint16_t v = r.vendor[i];
    if (v >= vendor_match.size() || !vendor_match[v]) continue;
    const int64_t t = r.time_us[i];
    if (t < from || t >= to || r.subject[i] == 0 || !Counted(r.kind[i], r.outcome[i], mask)) continue;
    agg->At(r.subject[i] - 1).Add(r.categories[i], t, r.outcome[i]);
  }
}

// Whether the block may hold a row of a matching vendor (its footer's vendor range).
bool AnyVendorIn(const std::vector<uint8_t>& vendor_match, const RowBlockMeta& m) {
  for (size_t v = m.vendor_min; v <= m.vendor_max && v < vendor_match.size(); ++v) {
    if (vendor_match[v]) return true;
  }
  return false;
}

StatusOr<Run> WhoRunForSegment(const std::shared_ptr<const SegmentFile>& seg, const std::vector<uint8_t>& vendor_match,
                               int64_t from, int64_t to, OutcomeMask mask) {
  Run run;
  run.segment = seg;
  SubjectAggregator& agg = SubjectAggregator::ForThisThread();
  agg.Begin(seg->subject_count());
  SegmentRows block;
  Status status;
  for (size_t b = 0; b < seg->row_blocks().size() && status.ok(); ++b) {
    const RowBlockMeta& m = seg->row_blocks()[b];
    if (m.time_max < from || m.time_min >= to || !AnyVendorIn(vendor_match, m)) continue;
    status = seg->ReadRowBlock(b, kScanColumns, &block);
    if (status.ok()) ScanWho(block, vendor_match, from, to, mask, &agg);
  }
  run.entries.reserve(agg.size());
  if (status.ok() && agg.size() >= seg->pages().size()) {
    // About one id per dictionary page or more: the whole dictionary in one read.
    thread_local std::vector<SubjectHash> all;
    status = seg->ReadAllSubjects(&all);
    agg.Drain([&](uint32_t id, const Agg& a) {
      if (status.ok()) run.entries.push_back(RunEntry{Key::Of(all[id]), id, a});
    });
  } else {
    std::vector<SubjectHash> page;
    size_t loaded = SIZE_MAX;
    agg.Drain([&](uint32_t id, const Agg& a) {
      if (!status.ok()) return;
      const size_t p = id / seg->page_entries();
      if (p != loaded) {
        status = seg->ReadDictPage(p, &page);
        loaded = p;
        if (!status.ok()) return;
      }
      run.entries.push_back(RunEntry{Key::Of(page[id - seg->pages()[p].first_id]), id, a});
    });
  }
  if (!status.ok()) return status;
  return run;
}

// One merged subject: its aggregate over every run, and the last run (the most recent segment) that has
// it, with its position there (for the name).
struct Merged {
  Key key;
  Agg agg;
  uint32_t run;
  uint32_t pos;
};

// Merges the slices [begin[r], end[r]) of the sorted runs into *out, ascending key. A binary heap of
// cursors that carry their current key (no indirection through the runs to compare), ordered by (key,
// run); the top is replaced and sifted down once per entry.
void MergeSlices(const std::vector<Run>& runs, const std::vector<uint32_t>& begin, const std::vector<uint32_t>& end,
                 std::vector<Merged>* out) {
  struct Cursor {
    Key key;
    uint32_t run;
    uint32_t pos;
    bool operator<(const Cursor& o) const {
      if (key.hi != o.key.hi) return key.hi < o.key.hi;
      if (key.lo != o.key.lo) return key.lo < o.key.lo;
      return run < o.run;
    }
  };
  std::vector<Cursor> heap;
  size_t total = 0;
  for (uint32_t r = 0; r < runs.size(); ++r) {
    if (begin[r] < end[r]) heap.push_back({runs[r].entries[begin[r]].key, r, begin[r]});
    total += end[r] - begin[r];
  }
  out->reserve(out->size() + total);
  auto sift_down = [&](size_t i) {
    const size_t n = heap.size();
    const Cursor c = heap[i];
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1] < heap[child]) ++child;
      if (!(heap[child] < c)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = c;
  };
  for (size_t i = heap.size() / 2; i-- > 0;) sift_down(i);
  while (!heap.empty()) {
    Cursor& c = heap.front();
    const RunEntry& e = runs[c.run].entries[c.pos];
    if (!out->empty() && out->back().key == e.key) {
      out->back().agg.Merge(e.agg);
      out->back().run = c.run;
      out->back().pos = c.pos;
    } else {
      out->push_back(Merged{e.key, e.agg, c.run, c.pos});
    }
    if (++c.pos < end[c.run]) {
      c.key = runs[c.run].entries[c.pos].key;
    } else {
      c = heap.back();
      heap.pop_back();
      if (heap.empty()) break;
    }
    sift_down(0);
  }
}

// Merges all runs, in key-range partitions on several threads (keys are uniform: HMAC outputs). The
// partitions are returned as they are, ascending: concatenating them would copy every entry once more.
std::vector<std::vector<Merged>> MergeRuns(const std::vector<Run>& runs) {
  size_t total = 0;
  for (const Run& r : runs) total += r.entries.size();
  const size_t parts = total < 100'000 ? 1 : 4 * std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::vector<Merged>> out(parts);
  ParallelFor(parts, [&](size_t p) {
    std::vector<uint32_t> begin(runs.size()), end(runs.size());
    auto bound = [&](const Run& r, size_t k) -> uint32_t {
      if (k == 0) return 0;
      if (k == parts) return static_cast<uint32_t>(r.entries.size());
      const Key split{static_cast<uint64_t>((static_cast<unsigned __int128>(k) << 64) / parts), 0};
      return static_cast<uint32_t>(std::lower_bound(r.entries.begin(), r.entries.end(), split,
                                                    [](const RunEntry& e, const Key& key) { return e.key < key; }) -
                                   r.entries.begin());
    };
    for (size_t r = 0; r < runs.size(); ++r) {
      begin[r] = bound(runs[r], p);
      end[r] = bound(runs[r], p + 1);
    }
    MergeSlices(runs, begin, end, &out[p]);
  });
  return out;
}

void FillTimes(const Agg& a, int64_t* first, int64_t* last) {
  *first = a.empty() ? 0 : a.first;
  *last = a.empty() ? 0 : a.last;
}

}  // namespace

StatusOr<std::vector<WhoEntry>> Ledger::Impl::Who(std::string_view vendor, int64_t from_us, int64_t to_us,
                                                  OutcomeMask outcomes) const {
  std::vector<Run> runs;
  std::vector<uint8_t> match;
  std::vector<std::shared_ptr<const SegmentFile>> segments;
  std::shared_ptr<const SealJob> sealing;
  Run active_run;
  {
    std::lock_guard lock(mu_);
    match.assign(vendors_.size(), 0);
    bool any = false;
    for (size_t i = 0; i < vendors_.size(); ++i) {
      if (vendors_[i].name == vendor) match[i] = any = true;
    }
    if (!any) return Status::NotFound("ledger: no vendor named '" + std::string(vendor) + "' was ever declared");
    segments = segments_;
    sealing = sealing_;
    SubjectAggregator& agg = SubjectAggregator::ForThisThread();
    agg.Begin(active_.hashes().size());
    if (from_us < to_us) ScanWho(active_.rows(), match, from_us, to_us, outcomes, &agg);
    agg.Drain([&](uint32_t id, const Agg& a) {
      active_run.entries.push_back(RunEntry{Key::Of(active_.hashes()[id]), id, a});
    });
    std::sort(active_run.entries.begin(), active_run.entries.end(),
              [](const RunEntry& a, const RunEntry& b) { return a.key < b.key; });
    for (const RunEntry& e : active_run.entries) active_run.names.emplace_back(active_.name(e.local_id));
  }
  if (from_us >= to_us) return std::vector<WhoEntry>();
  std::vector<std::shared_ptr<const SegmentFile>> wanted_segments;
  for (const auto& seg : segments) {
    if (seg->time_max() < from_us || seg->time_min() >= to_us) continue;
    bool has_vendor = false;
    for (size_t v = 0; v < match.size() && !has_vendor; ++v) {
      has_vendor = match[v] && seg->HasVendor(static_cast<uint16_t>(v));
    }
    if (has_vendor) wanted_segments.push_back(seg);
  }
  std::vector<StatusOr<Run>> seg_runs(wanted_segments.size(), Status::Internal("not scanned"));
  ParallelFor(wanted_segments.size(), [&](size_t i) {
    seg_runs[i] = WhoRunForSegment(wanted_segments[i], match, from_us, to_us, outcomes);
  });
  for (auto& run : seg_runs) {
    if (!run.ok()) return run.status();
    if (!run->entries.empty()) runs.push_back(std::move(*run));
  }
  if (sealing) {
    // The segment being sealed, from memory (immutable: no lock needed). Its local ids are in hash order.
    const SegmentContent& c = sealing->content;
    Run run;
    SubjectAggregator& agg = SubjectAggregator::ForThisThread();
    agg.Begin(c.subject_hashes.size());
    ScanWho(c.rows, match, from_us, to_us, outcomes, &agg);
    agg.Drain([&](uint32_t id, const Agg& a) { run.entries.push_back(RunEntry{Key::Of(c.subject_hashes[id]), id, a}); });
    for (const RunEntry& e : run.entries) run.names.emplace_back(sealing->Name(e.local_id));
    if (!run.entries.empty()) runs.push_back(std::move(run));
  }
  runs.push_back(std::move(active_run));

  const std::vector<std::vector<Merged>> merged_parts = MergeRuns(runs);
  size_t merged_count = 0;
  for (const auto& part : merged_parts) merged_count += part.size();
  std::vector<WhoEntry> out(merged_count);
  // Names: from the most recent segment that holds each subject.
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> wanted(runs.size());  // (output index, local id)
  uint32_t i = 0;
  for (const auto& part : merged_parts) {
    for (const Merged& m : part) {
      WhoEntry& w = out[i];
      w.subject_hash = m.key.hash();
      w.categories = m.agg.categories;
      w.first_us = m.agg.first;
      w.last_us = m.agg.last;
      w.counts = m.agg.counts;
      if (runs[m.run].segment == nullptr) {
        w.subject = runs[m.run].names[m.pos];
      } else {
        wanted[m.run].push_back({i, runs[m.run].entries[m.pos].local_id});
      }
      ++i;
    }
  }
  std::vector<Status> name_status(runs.size());
  ParallelFor(runs.size(), [&](size_t r) {
    if (wanted[r].empty()) return;
    const std::string path = dir_ + "/" + format::NamesFileName(runs[r].segment->first_index());
    std::vector<uint32_t> ids(wanted[r].size());
    for (size_t k = 0; k < ids.size(); ++k) ids[k] = wanted[r][k].second;
    auto names = ReadNamesOf(path, ids);
    if (!names.ok()) {
      // A segment dropped by retention meanwhile: its subjects show no name.
      if (names.status().code() != Status::Code::kNotFound) name_status[r] = names.status();
      return;
    }
    for (size_t k = 0; k < ids.size(); ++k) out[wanted[r][k].first].subject = std::move((*names)[k]);
  });
  for (const Status& st : name_status) {
    if (!st.ok()) return st;
  }
  for (WhoEntry& w : out) w.erased = w.subject.empty();
  return out;
}

StatusOr<SubjectAnswer> Ledger::Impl::Subject(std::string_view subject, OutcomeMask outcomes) const {
  SubjectAnswer answer;
  if (subject.empty()) return answer;
  const SubjectHash key = keyer_->Hash(subject);
  std::vector<VendorInfo> vendors;
  std::vector<std::shared_ptr<const SegmentFile>> segments;
  std::vector<Agg> per_vendor;
  bool in_active = false;
  std::shared_ptr<const SealJob> sealing;
  auto add = [&](const SegmentRows& r, size_t i) {
    if (!Counted(r.kind[i], r.outcome[i], outcomes)) return;
    const uint16_t v = r.vendor[i];
    if (v >= per_vendor.size()) return;
    per_vendor[v].Add(r.categories[i], r.time_us[i], r.outcome[i]);
  };
  {
    std::lock_guard lock(mu_);
    vendors = vendors_;
    per_vendor.resize(vendors.size());
    segments = segments_;
    sealing = sealing_;
    if (auto id = active_.Find(key)) {
      in_active = true;
      const SegmentRows& r = active_.rows();
      const uint32_t sid = *id + 1;
      for (size_t i = 0; i < r.size(); ++i) {
        if (r.subject[i] == sid) add(r, i);
      }
    }
  }
  std::shared_ptr<const SegmentFile> latest;
  uint32_t latest_id = 0;
  std::vector<std::vector<uint32_t>> postings;
  SegmentRows block;
  for (const auto& seg : segments) {
    auto id = seg->FindSubject(key);
    if (!id.ok()) return id.status();
    if (!*id) continue;
    latest = seg;
    latest_id = **id;
    const size_t p = **id / seg->page_entries();
    if (Status s = seg->ReadPostingsPage(p, &postings); !s.ok()) return s;
    const std::vector<uint32_t>& rows = postings[**id - seg->pages()[p].first_id];
    size_t loaded = SIZE_MAX;
    for (uint32_t row : rows) {
      if (row >= seg->record_count()) return Status::InvalidArgument(seg->path() + ": a posting is out of range");
      const size_t b = seg->BlockOfRow(row);
      if (b != loaded) {
        if (Status s = seg->ReadRowBlock(b, kScanColumns & ~ColumnBit(kColSubject), &block); !s.ok()) return s;
        loaded = b;
      }
      add(block, row - seg->row_blocks()[b].first_row);
    }
  }
  bool in_sealing = false;
  if (sealing) {
    const SegmentContent& c = sealing->content;
    auto it = std::lower_bound(c.subject_hashes.begin(), c.subject_hashes.end(), key);
    if (it != c.subject_hashes.end() && *it == key) {
      in_sealing = true;
      const uint32_t sid = static_cast<uint32_t>(it - c.subject_hashes.begin()) + 1;
      for (size_t i = 0; i < c.rows.size(); ++i) {
        if (c.rows.subject[i] == sid) add(c.rows, i);
      }
    }
  }
  answer.found = in_active || in_sealing || latest != nullptr;
  if (!in_active && !in_sealing && latest != nullptr) {
    const uint32_t ids[1] = {latest_id};
    auto names = ReadNamesOf(dir_ + "/" + format::NamesFileName(latest->first_index()), ids);
    if (!names.ok()) return names.status();
    answer.erased = (*names)[0].empty();
  }
  for (size_t v = 0; v < per_vendor.size(); ++v) {
    const Agg& a = per_vendor[v];
    if (a.empty()) continue;
    SubjectVendorEntry e;
    e.vendor_id = static_cast<uint16_t>(v);
    e.vendor = vendors[v];
    e.categories = a.categories;
    FillTimes(a, &e.first_us, &e.last_us);
    e.counts = a.counts;
    answer.vendors.push_back(std::move(e));
  }
  return answer;
}

StatusOr<std::vector<VendorSummary>> Ledger::Impl::Vendors(int64_t since_us, OutcomeMask outcomes,
                                                           int64_t until_us) const {
  std::vector<VendorInfo> vendors;
  std::vector<std::shared_ptr<const SegmentFile>> segments;
  std::vector<Agg> per_vendor;
  std::vector<std::vector<SubjectHash>> distinct;  // per vendor, ascending
  std::vector<std::vector<uint8_t>> seen;          // per vendor, per local id (one segment at a time)
  std::shared_ptr<const SealJob> sealing;
  auto scan = [&](const SegmentRows& r, size_t subjects) {
    for (size_t i = 0; i < r.size(); ++i) {
      const uint16_t v = r.vendor[i];
      if (v >= per_vendor.size() || r.time_us[i] < since_us || r.time_us[i] >= until_us ||
          !Counted(r.kind[i], r.outcome[i], outcomes)) {
        continue;
      }
      per_vendor[v].Add(r.categories[i], r.time_us[i], r.outcome[i]);
      if (r.subject[i] != 0) {
        if (seen[v].empty()) seen[v].assign(subjects, 0);
        seen[v][r.subject[i] - 1] = 1;
      }
    }
  };
  // Folds the subjects marked in `seen` (keys: local id -> hash, ascending in `order`) into `distinct`.
  auto fold = [&](const std::vector<SubjectHash>& keys, const std::vector<uint32_t>& order) {
    for (size_t v = 0; v < seen.size(); ++v) {
      if (seen[v].empty()) continue;
      std::vector<SubjectHash> add;
      for (uint32_t id : order) {
        if (seen[v][id]) add.push_back(keys[id]);
      }
      std::vector<SubjectHash> merged;
      merged.reserve(distinct[v].size() + add.size());
      std::set_union(distinct[v].begin(), distinct[v].end(), add.begin(), add.end(), std::back_inserter(merged));
      distinct[v].swap(merged);
      seen[v].clear();
    }
  };
  {
    std::lock_guard lock(mu_);
    vendors = vendors_;
    segments = segments_;
    per_vendor.resize(vendors.size());
    distinct.resize(vendors.size());
    seen.resize(vendors.size());
    sealing = sealing_;
    scan(active_.rows(), active_.hashes().size());
    const auto& hashes = active_.hashes();
    std::vector<uint32_t> order(hashes.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return hashes[a] < hashes[b]; });
    fold(hashes, order);
  }
  SegmentRows block;
  std::vector<SubjectHash> keys;
  std::vector<uint32_t> order;
  if (sealing) {
    const SegmentContent& c = sealing->content;
    scan(c.rows, c.subject_hashes.size());
    order.resize(c.subject_hashes.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;  // local ids are in hash order
    fold(c.subject_hashes, order);
  }
  for (const auto& seg : segments) {
    if (seg->time_max() < since_us || seg->time_min() >= until_us) continue;
    for (size_t b = 0; b < seg->row_blocks().size(); ++b) {
      if (seg->row_blocks()[b].time_max < since_us || seg->row_blocks()[b].time_min >= until_us) continue;
      if (Status s = seg->ReadRowBlock(b, kScanColumns, &block); !s.ok()) return s;
      scan(block, seg->subject_count());
    }
    if (std::all_of(seen.begin(), seen.end(), [](const auto& s) { return s.empty(); })) continue;
    if (Status s = seg->ReadAllSubjects(&keys); !s.ok()) return s;
    order.resize(keys.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;  // local ids are in hash order
    fold(keys, order);
  }
  std::vector<VendorSummary> out;
  for (size_t v = 0; v < vendors.size(); ++v) {
    VendorSummary s;
    s.vendor_id = static_cast<uint16_t>(v);
    s.vendor = vendors[v];
    s.categories = per_vendor[v].categories;
    s.counts = per_vendor[v].counts;
    s.distinct_subjects = distinct[v].size();
    FillTimes(per_vendor[v], &s.first_us, &s.last_us);
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<std::vector<AuditRecord>> Ledger::Impl::Audit(int64_t since_us, int64_t until_us, size_t limit) const {
  std::vector<VendorInfo> vendors;
  std::vector<std::shared_ptr<const SegmentFile>> segments;
  std::vector<AuditRecord> out;
  auto scan = [&](const SegmentRows& r) {
    size_t t = 0;  // texts are ascending by row
    for (size_t i = 0; i < r.size(); ++i) {
      if (r.kind[i] != static_cast<uint8_t>(RecordKind::kAdmin)) continue;
      if (r.time_us[i] < since_us || r.time_us[i] >= until_us) continue;
      AuditRecord a;
      a.time_us = r.time_us[i];
      a.action = static_cast<AdminAction>(r.outcome[i]);
      if (r.vendor[i] < vendors.size()) a.vendor = vendors[r.vendor[i]].name;
      while (t < r.texts.size() && r.texts[t].row < i) ++t;
      if (t < r.texts.size() && r.texts[t].row == i) {
        const auto& texts = r.texts[t].texts;
        if (!texts.empty()) a.actor = texts[0];
        if (texts.size() > 1) a.detail = texts[1];
      }
      out.push_back(std::move(a));
    }
  };
  {
    std::lock_guard lock(mu_);
    vendors = vendors_;
    segments = segments_;
    scan(active_.rows());
    if (sealing_) scan(sealing_->content.rows);  // immutable; small next to the segments' reads
  }
  // Newest segments first; once `limit` records are known, older segments whose records are all older
  // than the limit-th newest cannot contribute.
  std::sort(segments.begin(), segments.end(),
            [](const auto& a, const auto& b) { return a->time_max() > b->time_max(); });
  auto keep_newest = [&] {
    std::sort(out.begin(), out.end(), [](const AuditRecord& a, const AuditRecord& b) { return a.time_us > b.time_us; });
    if (limit != 0 && out.size() > limit) out.resize(limit);
  };
  keep_newest();
  SegmentRows block;
  constexpr uint32_t kColumns = ColumnBit(kColKind) | ColumnBit(kColTime) | ColumnBit(kColVendor) |
                                ColumnBit(kColOutcome) | ColumnBit(kColTexts);
  for (const auto& seg : segments) {
    if (seg->time_max() < since_us || seg->time_min() >= until_us) continue;
    if (limit != 0 && out.size() >= limit && seg->time_max() < out.back().time_us) break;
    for (size_t b = 0; b < seg->row_blocks().size(); ++b) {
      const RowBlockMeta& m = seg->row_blocks()[b];
      if (m.time_max < since_us || m.time_min >= until_us) continue;
      if (Status s = seg->ReadRowBlock(b, kColumns, &block); !s.ok()) return s;
      scan(block);
    }
    keep_newest();
  }
  return out;
}

}  // namespace vg::ledger
