#include "spool/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/files.h"
#include "spool/spool_format.h"
#include "common/thread_name.h"
#include "common/time_text.h"

namespace vg {

namespace sf = spool_format;

std::string_view FsyncPolicyName(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::kAlways: return "always";
    case FsyncPolicy::kInterval: return "interval";
    case FsyncPolicy::kNever: return "never";
  }
  return "always";
}

StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view name) {
  if (name == "always") return FsyncPolicy::kAlways;
  if (name == "interval") return FsyncPolicy::kInterval;
  if (name == "never") return FsyncPolicy::kNever;
  return Status::InvalidArgument("fsync policy must be always, interval or never, not '" + std::string(name) + "'");
}

namespace {


std::string ErrnoText(int e) { return std::strerror(e); }

Status ErrnoStatus(const std::string& what, int e) {
  // A full disk clears up when vendors catch up and segments are deleted: retrying can help.
  if (e == ENOSPC || e == EDQUOT) return Status::Unavailable(what + ": " + ErrnoText(e));
  return Status::IOError(what + ": " + ErrnoText(e));
}

// One segment file, shared by the writer and by readers (a reader keeps it open while it reads, so a
// segment deleted meanwhile stays readable).
struct SegmentFile {
  uint64_t number = 0;
  std::string path;
  int fd = -1;
  uint64_t first_seq = 0;
  std::vector<std::string> vendors;
  size_t header_len = 0;
  SegmentFile() = default;
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  ~SegmentFile() {
    if (fd >= 0) ::close(fd);
  }
};

// Where one pending record is. 32 bytes per pending record is the spool's memory cost; payloads stay on
// disk.
struct IndexEntry {
  uint64_t seq;
  int64_t accept_unix_us;
  uint32_t segment;
  uint32_t offset;
  uint32_t len;  // whole record, header included
  uint8_t kind;
};

uint32_t BodyLen(const IndexEntry& e) { return e.len - static_cast<uint32_t>(sf::kRecordHeaderBytes); }

struct SegmentState {
  std::shared_ptr<SegmentFile> file;
  uint64_t bytes = 0;    // file size
  uint64_t pending = 0;  // indexed records not yet acknowledged
  bool active = false;   // being written (or written by a batch not yet published): never deleted
};

struct VendorState {
  std::string name;
  uint64_t acked_seq = 0;
  std::deque<IndexEntry> pending;
  uint64_t pending_bytes = 0;
};

// A unit waiting for the writer: encoded records, sequence numbers not yet stamped.
struct PendingUnit {
  std::unique_ptr<char[]> buf;
  size_t size = 0;
  uint32_t records = 0;
  CommitCallback done;
};

// Scans a segment's records from `begin`, tracking units: `on_record` sees every valid record, `on_unit`
// is called after each complete unit (the caller buffers what it saw until then), so records of a unit
// whose end is missing are never committed.
struct ScanOutcome {
  uint64_t unit_end = 0;   // end of the last complete unit: where a damaged file is cut
  bool damaged = false;    // the segment does not end cleanly after a complete unit
  bool io_error = false;
  uint64_t damage_offset = 0;
  std::string problem;
  uint64_t records = 0;   // valid records seen (including an incomplete last unit's)
  uint64_t last_seq = 0;  // of the last complete unit; 0 when none
};

ScanOutcome ScanSegment(const SegmentFile& seg, uint64_t size,
                        const std::function<void(const sf::SegmentReader&)>& on_record,
                        const std::function<void()>& on_unit) {
  ScanOutcome out;
  out.unit_end = seg.header_len;
  sf::SegmentReader reader(seg.fd, seg.header_len, size, seg.vendors.size());
  uint64_t expect_seq = seg.first_seq;
  for (;;) {
    auto step = reader.Next();
    if (step == sf::SegmentReader::Step::kRecord) {
      const auto& h = reader.header();
      if (h.seq != expect_seq) {
        out.damaged = true;
        out.damage_offset = reader.offset();
        out.problem = "sequence number " + std::to_string(h.seq) + " where " + std::to_string(expect_seq) +
                      " was expected";
        return out;
      }
      ++expect_seq;
      ++out.records;
      on_record(reader);
      if (h.flags & sf::kFlagUnitEnd) {
        out.unit_end = reader.offset() + h.record_len();
        out.last_seq = h.seq;
        on_unit();
      }
      continue;
    }
    if (step == sf::SegmentReader::Step::kEnd) {
      if (out.unit_end != size) {
        out.damaged = true;
        out.damage_offset = out.unit_end;
        out.problem = "the last unit is incomplete (its end-of-unit record is missing)";
      }
      return out;
    }
    if (step == sf::SegmentReader::Step::kIoError) out.io_error = true;
    out.damaged = true;
    out.damage_offset = reader.offset();
    out.problem = reader.problem();
    return out;
  }
}

struct FoundSegment {
  uint64_t number = 0;
  std::string path;
  uint64_t size = 0;
};

// The segment files in `dir`, oldest first; `tmp` gets the leftover *.tmp files.
Status ListSpoolDir(const std::string& dir, std::vector<FoundSegment>* segs, std::vector<std::string>* tmp) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::IOError("spool directory " + dir + ": " + ErrnoText(errno));
  while (struct dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (auto n = sf::ParseSegmentFileName(name)) {
      segs->push_back({*n, (std::filesystem::path(dir) / name).string(), 0});
    } else if (tmp != nullptr && name.ends_with(".tmp")) {
      tmp->push_back((std::filesystem::path(dir) / name).string());
    }
  }
  ::closedir(d);
  std::sort(segs->begin(), segs->end(), [](const auto& a, const auto& b) { return a.number < b.number; });
  return Status::Ok();
}


}  // namespace

class Spool::Impl {
 public:
  explicit Impl(SpoolOptions opt) : opt_(std::move(opt)) {}
  ~Impl() {
    Close();
    // Segment files close with their last shared_ptr.
    if (cursor_fd_ >= 0) ::close(cursor_fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
    if (dir_fd_ >= 0) ::close(dir_fd_);
  }

  Status Recover();
  void StartWriter() {
    writer_ = std::thread([this] { WriterLoop(); });
    SetThreadName(writer_, "vg-spool-write");
    reaper_ = std::thread([this] { ReaperLoop(); });
    SetThreadName(reaper_, "vg-spool-reap");
  }
  void Close();

  std::optional<SpoolVendorId> FindVendor(std::string_view name) const {
    for (size_t i = 0; i < opt_.vendors.size(); ++i) {
      if (opt_.vendors[i] == name) return static_cast<SpoolVendorId>(i);
    }
    return std::nullopt;
  }
  const std::vector<std::string>& vendors() const { return opt_.vendors; }
  const SpoolOpenReport& report() const { return report_; }

  Status Append(std::span<const SpoolEntry> entries, int64_t accept_unix_us, CommitCallback done);
  StatusOr<SpoolBatch> Read(SpoolVendorId vendor, uint64_t after_seq, size_t max_records, size_t max_bytes) const;
  Status Ack(SpoolVendorId vendor, uint64_t up_to_seq);
  StatusOr<uint64_t> Discard(SpoolVendorId vendor, const DiscardFn& fn);
  SpoolStats Stats() const;

 private:
  using Files = std::map<uint32_t, std::shared_ptr<SegmentFile>>;

  // Writer thread.
  void WriterLoop();
  void ReaperLoop();
  void WriteBatch(std::vector<PendingUnit>& batch);
  Status WriteGroup(const std::vector<iovec>& iov, uint64_t offset);
  Status SyncActive();
  // Syncs the active segment and starts the next one. *fatal: the sync failed (the spool must stop).
  Status Roll(bool* fatal);
  void Fail(const Status& s);

  StatusOr<std::shared_ptr<SegmentFile>> CreateSegment(uint64_t number, uint64_t first_seq);
  // Writes the cursors unless a snapshot at least as new as `gen` is already written. `rewrite`: replace
  // the whole file (Open) instead of overwriting a slot.
  Status PersistCursors(uint64_t gen, bool rewrite = false);
  Status RewriteCursorFile(const std::string& slot);
  void DeleteUnneededSegments();
  // Reads the records at `entries` (one vendor's, in seq order) into `out`.
  Status ReadEntries(std::span<const IndexEntry> entries, const Files& files, SpoolBatch* out) const;
  std::string SegmentPath(uint64_t number) const {
    return (std::filesystem::path(opt_.dir) / sf::SegmentFileName(number)).string();
  }
  bool SyncEverything() const { return opt_.fsync == FsyncPolicy::kAlways; }

  const SpoolOptions opt_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  SpoolOpenReport report_;
  size_t header_len_ = 0;  // of a segment with the configured vendor table

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;
  std::condition_variable reaper_cv_;
  // Guarded by mu_:
  std::vector<PendingUnit> pending_;
  uint64_t pending_bytes_ = 0;   // queued
  uint64_t inflight_bytes_ = 0;  // taken by the writer, not yet published
  bool closing_ = false;
  bool reap_requested_ = false;  // the writer rolled: the old segment may be deletable
  bool reaper_stop_ = false;
  bool refusing_ = false;  // refused the last unit for lack of room (logged once per episode)
  Status failed_;
  std::vector<VendorState> vendors_;
  std::map<std::string, uint64_t> orphan_cursors_;  // vendors on disk but not configured
  std::map<uint64_t, SegmentState> segments_;
  uint64_t disk_bytes_ = 0;
  uint64_t committed_seq_ = 0;  // last published record
  uint64_t cursor_gen_ = 0;     // bumped by each cursor change
  uint64_t appended_units_ = 0, appended_records_ = 0, write_batches_ = 0, fsyncs_ = 0;
  uint64_t refused_quota_ = 0, refused_backlog_ = 0, failed_units_ = 0, segments_deleted_ = 0;

  std::mutex cursor_file_mu_;
  // Guarded by cursor_file_mu_:
  uint64_t persisted_gen_ = 0;  // cursor_gen_ of the last snapshot written
  int cursor_fd_ = -1;
  size_t cursor_slot_bytes_ = 0;
  uint64_t cursor_file_gen_ = 0;  // generation of the newest slot

  std::once_flag close_once_;
  std::thread writer_;
  // Deletes segments nobody needs after the writer rolls over, off the writer's path: the last close of
  // an unlinked segment frees its blocks, which took 25-36 ms on ext4 here, and every commit waiting
  // behind the writer would wait that long too. (Acknowledgements delete on the sender's own thread.)
  std::thread reaper_;

  // Writer thread only (and Recover, before it starts):
  std::shared_ptr<SegmentFile> active_;
  uint64_t active_size_ = 0;
  uint64_t active_records_ = 0;
  uint64_t next_seq_ = 1;
  bool dirty_ = false;  // written but not synced
  std::chrono::steady_clock::time_point last_sync_;
};

// ---------------------------------------------------------------------------------------------------
// Open and recovery

Status Spool::Impl::Recover() {
  const std::string& dir = opt_.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("spool directory " + dir + ": " + ec.message());
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) return Status::IOError("spool directory " + dir + ": " + ErrnoText(errno));
  std::string lock_path = (std::filesystem::path(dir) / sf::kLockFileName).string();
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Status::IOError(lock_path + ": " + ErrnoText(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return Status::Unavailable("spool " + dir + " is in use by another process");
    return Status::IOError(lock_path + ": lock: " + ErrnoText(errno));
  }

  std::vector<FoundSegment> found;
  std::vector<std::string> tmp;
  if (Status s = ListSpoolDir(dir, &found, &tmp); !s.ok()) return s;
  for (const auto& t : tmp) {
    spdlog::info("spool: removing leftover {}", t);
    ::unlink(t.c_str());
  }
  report_.segments = found.size();

  // Cursors.
  std::map<std::string, uint64_t> cursors;
  std::string cursor_path = (std::filesystem::path(dir) / sf::kCursorFileName).string();
  auto cursor_bytes = ReadWholeFile(cursor_path);
  if (cursor_bytes.ok()) {
    auto decoded = sf::DecodeCursorFile(*cursor_bytes);
    if (decoded.ok()) {
      cursors = std::move(decoded->cursors);
      cursor_file_gen_ = decoded->generation;
    } else if (opt_.repair) {
      spdlog::error("spool: {}: {}; repair: every vendor starts over from its oldest record", cursor_path,
                    decoded.status().message());
      report_.cursors_reset = true;
    } else {
      return decoded.status().WithPrefix("spool " + cursor_path +
                                         " (open with repair to reset the cursors: everything on disk is resent)");
    }
  } else if (cursor_bytes.status().code() != Status::Code::kNotFound) {
    return cursor_bytes.status();
  }
  auto cursor_of = [&](const std::string& name) {
    auto it = cursors.find(name);
    return it == cursors.end() ? uint64_t{0} : it->second;
  };

  // Segment headers.
  std::vector<std::shared_ptr<SegmentFile>> files;
  uint64_t max_seq = 0;
  for (const auto& [name, seq] : cursors) max_seq = std::max(max_seq, seq);
  for (auto& f : found) {
    auto seg = std::make_shared<SegmentFile>();
    seg->number = f.number;
    seg->path = f.path;
    seg->fd = ::open(f.path.c_str(), O_RDWR | O_CLOEXEC);
    if (seg->fd < 0) return Status::IOError("spool segment " + f.path + ": " + ErrnoText(errno));
    struct stat st;
    if (::fstat(seg->fd, &st) != 0) return Status::IOError("spool segment " + f.path + ": " + ErrnoText(errno));
    f.size = static_cast<uint64_t>(st.st_size);
    auto header = sf::ReadSegmentHeader(seg->fd, f.size, &seg->header_len);
    if (!header.ok()) {
      if (!opt_.repair) {
        return header.status().WithPrefix("spool segment " + f.path + " is damaged at offset 0" +
                                          " (open with repair to remove the segment and its records)");
      }
      spdlog::error("spool: {}: {}; repair: removing the segment", f.path, header.status().message());
      report_.truncations.push_back({f.path, 0, f.size, header.status().message()});
      ::unlink(f.path.c_str());
      continue;
    }
    if (header->number != f.number) {
      return Status::IOError("spool segment " + f.path + " is damaged at offset 0: its header says segment " +
                             std::to_string(header->number));
    }
    if (!files.empty() && header->first_seq < files.back()->first_seq) {
      return Status::IOError("spool segment " + f.path + " is damaged at offset 0: first sequence number " +
                             std::to_string(header->first_seq) + " is below the previous segment's");
    }
    seg->first_seq = header->first_seq;
    seg->vendors = std::move(header->vendors);
    if (seg->first_seq > 0) max_seq = std::max(max_seq, seg->first_seq - 1);
    files.push_back(std::move(seg));
  }
  std::map<uint64_t, uint64_t> sizes;
  for (const auto& f : found) sizes[f.number] = f.size;

  vendors_.resize(opt_.vendors.size());
  for (size_t i = 0; i < opt_.vendors.size(); ++i) {
    vendors_[i].name = opt_.vendors[i];
    vendors_[i].acked_seq = cursor_of(opt_.vendors[i]);
  }
  std::map<std::string, SpoolOpenReport::Orphaned> orphaned;
  std::map<std::string, uint64_t> orphan_max;

  // Records: from the oldest segment a vendor still needs to the end.
  std::vector<std::shared_ptr<SegmentFile>> done_segments;  // deleted once the cursors are written
  uint64_t prev_last_seq = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    auto& seg = files[i];
    const bool last = i + 1 == files.size();
    uint64_t size = sizes[seg->number];
    if (!last) {
      // Every record of this segment has seq < the next segment's first_seq.
      uint64_t upper = files[i + 1]->first_seq - 1;
      bool all_done = std::all_of(seg->vendors.begin(), seg->vendors.end(),
                                  [&](const std::string& n) { return cursor_of(n) >= upper; });
      if (all_done || upper < seg->first_seq) {
        done_segments.push_back(seg);
        continue;
      }
    }
    if (seg->first_seq <= prev_last_seq) {
      return Status::IOError("spool segment " + seg->path + " is damaged at offset 0: first sequence number " +
                             std::to_string(seg->first_seq) + " overlaps the previous segment's records");
    }
    ++report_.segments_scanned;
    // Map the segment's vendor table to configured ids (or orphans).
    std::vector<int> id_of(seg->vendors.size(), -1);
    for (size_t v = 0; v < seg->vendors.size(); ++v) {
      if (auto id = FindVendor(seg->vendors[v])) id_of[v] = *id;
    }
    struct UnitRecord {
      int vendor;  // configured id, or -1 for an orphan
      uint16_t table_index;
      IndexEntry entry;
      std::string meta;  // orphans only
    };
    std::vector<UnitRecord> unit;
    uint64_t seg_pending = 0;
    auto on_record = [&](const sf::SegmentReader& r) {
      const auto& h = r.header();
      const std::string& name = seg->vendors[h.vendor];
      if (h.seq <= cursor_of(name)) return;
      IndexEntry e{h.seq, h.accept_unix_us, static_cast<uint32_t>(seg->number), static_cast<uint32_t>(r.offset()),
                   static_cast<uint32_t>(h.record_len()), h.kind};
      int id = id_of[h.vendor];
      unit.push_back({id, h.vendor, e, id < 0 ? std::string(r.meta()) : std::string()});
    };
    auto on_unit = [&] {
      for (auto& u : unit) {
        if (u.vendor >= 0) {
          auto& v = vendors_[static_cast<size_t>(u.vendor)];
          v.pending.push_back(u.entry);
          v.pending_bytes += BodyLen(u.entry);
          ++seg_pending;
          continue;
        }
        const std::string& name = seg->vendors[u.table_index];
        auto& o = orphaned[name];
        o.vendor = name;
        ++o.records;
        o.bytes += BodyLen(u.entry);
        orphan_max[name] = std::max(orphan_max[name], u.entry.seq);
        if (opt_.on_orphaned) {
          opt_.on_orphaned(DiscardedRecord{name, u.entry.seq, u.entry.kind, u.entry.accept_unix_us,
                                           BodyLen(u.entry) - static_cast<uint32_t>(u.meta.size()), u.meta});
        }
      }
      unit.clear();
    };
    ScanOutcome scan = ScanSegment(*seg, size, on_record, on_unit);
    report_.records_scanned += scan.records;
    if (scan.io_error) return Status::IOError("spool segment " + seg->path + ": " + scan.problem);
    if (scan.damaged) {
      if (!last && !opt_.repair) {
        return Status::IOError("spool segment " + seg->path + " is damaged at offset " +
                               std::to_string(scan.damage_offset) + ": " + scan.problem +
                               " (run `vendorguard spool verify`; opening with repair truncates the segment there "
                               "and loses the records after it)");
      }
      uint64_t cut = size - scan.unit_end;
      if (::ftruncate(seg->fd, static_cast<off_t>(scan.unit_end)) != 0 || ::fdatasync(seg->fd) != 0) {
        return Status::IOError("spool segment " + seg->path + ": cannot truncate: " + ErrnoText(errno));
      }
      if (last) {
        spdlog::warn("spool: {}: torn tail at offset {} ({}); cut {} bytes, keeping everything up to offset {}",
                     seg->path, scan.damage_offset, scan.problem, cut, scan.unit_end);
      } else {
        spdlog::error("spool: {}: damaged at offset {} ({}); repair: cut {} bytes from offset {}", seg->path,
                      scan.damage_offset, scan.problem, cut, scan.unit_end);
      }
      report_.truncations.push_back({seg->path, scan.unit_end, cut, scan.problem});
      size = scan.unit_end;
      sizes[seg->number] = size;
    }
    if (scan.last_seq > 0) {
      prev_last_seq = scan.last_seq;
      max_seq = std::max(max_seq, scan.last_seq);
    }
    SegmentState st;
    st.file = seg;
    st.bytes = size;
    st.pending = seg_pending;
    segments_[seg->number] = std::move(st);
    disk_bytes_ += size;
  }
  for (auto& [name, o] : orphaned) {
    spdlog::warn("spool: vendor '{}' is no longer configured: discarding its {} pending records ({} bytes)", name,
                 o.records, o.bytes);
    report_.orphaned.push_back(o);
  }

  // Cursors of vendors no longer configured: kept while a segment still names them, moved past what was
  // just discarded.
  std::set<std::string> named;
  for (const auto& [n, st] : segments_) named.insert(st.file->vendors.begin(), st.file->vendors.end());
  for (const auto& [name, seq] : cursors) {
    if (!FindVendor(name) && named.count(name)) orphan_cursors_[name] = seq;
  }
  for (const auto& [name, seq] : orphan_max) orphan_cursors_[name] = std::max(orphan_cursors_[name], seq);

  next_seq_ = max_seq + 1;
  committed_seq_ = max_seq;
  cursor_gen_ = 1;
  if (Status s = PersistCursors(cursor_gen_, /*rewrite=*/true); !s.ok()) return s;

  // The new active segment.
  header_len_ = sf::EncodeSegmentHeader({0, 0, 0, opt_.vendors}).size();
  uint64_t number = found.empty() ? 1 : found.back().number + 1;
  auto active = CreateSegment(number, next_seq_);
  if (!active.ok()) return active.status();
  active_ = *active;
  active_size_ = active_->header_len;
  SegmentState st;
  st.file = active_;
  st.bytes = active_size_;
  st.active = true;
  segments_[number] = std::move(st);
  disk_bytes_ += active_size_;
  last_sync_ = std::chrono::steady_clock::now();

  for (auto& seg : done_segments) {
    if (::unlink(seg->path.c_str()) == 0) ++report_.segments_deleted;
  }
  size_t before = segments_.size();
  DeleteUnneededSegments();
  report_.segments_deleted += before - segments_.size();
  segments_deleted_ = 0;
  for (const auto& v : vendors_) {
    if (!v.pending.empty()) {
      spdlog::info("spool: vendor '{}' has {} pending records ({} bytes) from seq {}", v.name, v.pending.size(),
                   v.pending_bytes, v.pending.front().seq);
    }
  }
  return Status::Ok();
}

StatusOr<std::shared_ptr<SegmentFile>> Spool::Impl::CreateSegment(uint64_t number, uint64_t first_seq) {
  if (number > UINT32_MAX) return Status::Internal("spool: segment numbers exhausted");
  auto seg = std::make_shared<SegmentFile>();
  seg->number = number;
  seg->path = SegmentPath(number);
  seg->first_seq = first_seq;
  seg->vendors = opt_.vendors;
  std::string header = sf::EncodeSegmentHeader({number, first_seq, SystemNowUs(), opt_.vendors});
  seg->header_len = header.size();
  std::string tmp = seg->path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("spool segment " + tmp, errno);
  Status s = sf::PwriteFull(fd, header.data(), header.size(), 0, "spool segment " + tmp);
  if (s.ok() && ::fdatasync(fd) != 0) s = ErrnoStatus("spool segment " + tmp + ": sync", errno);
  if (s.ok() && ::rename(tmp.c_str(), seg->path.c_str()) != 0) {
    s = ErrnoStatus("spool segment " + tmp + ": rename", errno);
  }
  if (s.ok() && ::fsync(dir_fd_) != 0) s = ErrnoStatus("spool directory " + opt_.dir + ": sync", errno);
  if (!s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  seg->fd = fd;
  return seg;
}

// ---------------------------------------------------------------------------------------------------
// Appending

Status Spool::Impl::Append(std::span<const SpoolEntry> entries, int64_t accept_unix_us, CommitCallback done) {
  if (entries.empty()) return Status::InvalidArgument("spool: empty unit");
  size_t total = 0;
  for (const auto& e : entries) {
    if (e.vendor >= opt_.vendors.size()) {
      return Status::InvalidArgument("spool: unknown vendor id " + std::to_string(e.vendor));
    }
    if (e.meta.size() > sf::kMaxMetaBytes) return Status::InvalidArgument("spool: meta over 65535 bytes");
    size_t body = e.payload.size() + e.meta.size();
    if (body > opt_.max_record_bytes) {
      return Status::TooLarge("spool: a record of " + std::to_string(body) + " bytes exceeds the limit of " +
                              std::to_string(opt_.max_record_bytes));
    }
    total += sf::kRecordHeaderBytes + body;
  }
  if (total + header_len_ > opt_.segment_bytes || total > opt_.max_backlog_bytes) {
    return Status::TooLarge("spool: a unit of " + std::to_string(total) + " bytes cannot fit in a segment of " +
                            std::to_string(opt_.segment_bytes) + " bytes");
  }
  auto refusal = [&]() -> std::optional<Status> {
    if (closing_) return Status::Unavailable("spool is closed");
    if (!failed_.ok()) return failed_;
    std::optional<Status> no_room;
    if (pending_bytes_ + inflight_bytes_ + total > opt_.max_backlog_bytes) {
      ++refused_backlog_;
      no_room = Status::Unavailable("spool write backlog full (" + std::to_string(pending_bytes_ + inflight_bytes_) +
                                    " bytes waiting for the disk)");
    } else if (opt_.quota_bytes != 0 && disk_bytes_ + pending_bytes_ + inflight_bytes_ + total > opt_.quota_bytes) {
      ++refused_quota_;
      no_room = Status::Unavailable("spool full: " + std::to_string(disk_bytes_) + " bytes on disk, quota " +
                                    std::to_string(opt_.quota_bytes) + " (vendors are not keeping up)");
    }
    if (no_room && !refusing_) {
      spdlog::warn("spool refusing new events: {}", no_room->message());
    } else if (!no_room && refusing_) {
      spdlog::info("spool accepting events again");
    }
    refusing_ = no_room.has_value();
    return no_room;
  };
  {
    // Refuse before encoding when the answer is already known.
    std::lock_guard<std::mutex> lock(mu_);
    if (auto r = refusal()) return *r;
  }
  PendingUnit unit;
  unit.buf.reset(new char[total]);
  unit.size = total;
  unit.records = static_cast<uint32_t>(entries.size());
  unit.done = std::move(done);
  char* p = unit.buf.get();
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    sf::RecordHeader h;
    h.accept_unix_us = accept_unix_us;
    h.vendor = e.vendor;
    h.kind = e.kind;
    h.flags = i + 1 == entries.size() ? sf::kFlagUnitEnd : 0;
    sf::EncodeRecordUnstamped(p, h, e.payload, e.meta);
    p += sf::kRecordHeaderBytes + e.payload.size() + e.meta.size();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto r = refusal()) return *r;
    pending_.push_back(std::move(unit));
    pending_bytes_ += total;
  }
  writer_cv_.notify_one();
  return Status::Ok();
}

void Spool::Impl::WriterLoop() {
  std::vector<PendingUnit> batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (pending_.empty()) {
      if (closing_) break;
      if (dirty_ && opt_.fsync == FsyncPolicy::kInterval) {
        auto deadline = last_sync_ + opt_.fsync_interval;
        if (!writer_cv_.wait_until(lock, deadline, [&] { return !pending_.empty() || closing_; })) {
          lock.unlock();
          if (Status s = SyncActive(); !s.ok()) Fail(s);
          lock.lock();
        }
      } else {
        writer_cv_.wait(lock, [&] { return !pending_.empty() || closing_; });
      }
      continue;
    }
    if (pending_.size() == 1 && !closing_ && opt_.fsync == FsyncPolicy::kAlways) {
      // One unit is one request: step aside once so that a busy ingestion thread sharing this core can
      // add the requests it already has in hand to the same write and sync (an idle one blocks at once,
      // and the write starts).
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
    batch.swap(pending_);
    inflight_bytes_ = pending_bytes_;
    pending_bytes_ = 0;
    lock.unlock();
    WriteBatch(batch);
    batch.clear();
    lock.lock();
  }
  lock.unlock();
  if (dirty_) {
    if (Status s = SyncActive(); !s.ok()) spdlog::error("spool: final sync failed: {}", s.message());
  }
}

Status Spool::Impl::WriteGroup(const std::vector<iovec>& iov, uint64_t offset) {
  const std::string what = "spool segment " + active_->path;
  if (opt_.fault) {
    if (int e = opt_.fault(SpoolIoOp::kWrite)) return ErrnoStatus(what + ": write", e);
  }
  size_t idx = 0, skip = 0;
  std::vector<iovec> rest;
  while (idx < iov.size()) {
    rest.assign(iov.begin() + static_cast<ptrdiff_t>(idx), iov.end());
    rest[0].iov_base = static_cast<char*>(rest[0].iov_base) + skip;
    rest[0].iov_len -= skip;
    ssize_t r = ::pwritev(active_->fd, rest.data(), static_cast<int>(std::min<size_t>(rest.size(), IOV_MAX)),
                          static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(what + ": write", errno);
    }
    offset += static_cast<uint64_t>(r);
    size_t n = static_cast<size_t>(r) + skip;
    skip = 0;
    while (idx < iov.size() && n >= iov[idx].iov_len) n -= iov[idx++].iov_len;
    skip = n;
  }
  return Status::Ok();
}

Status Spool::Impl::SyncActive() {
  if (!dirty_) return Status::Ok();
  int e = opt_.fault ? opt_.fault(SpoolIoOp::kSync) : 0;
  if (e == 0 && ::fdatasync(active_->fd) != 0) e = errno;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++fsyncs_;
  }
  if (e != 0) return Status::IOError("spool segment " + active_->path + ": fdatasync: " + ErrnoText(e));
  dirty_ = false;
  last_sync_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

void Spool::Impl::Fail(const Status& s) {
  // After a failed fdatasync the kernel may have dropped the dirty pages: what is on disk is unknown until
  // recovery reads it back, so the spool stops accepting.
  spdlog::error("spool failed, refusing appends until restarted: {}", s.message());
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_.ok()) failed_ = Status::IOError("spool failed (restart to recover): " + s.message());
}

Status Spool::Impl::Roll(bool* fatal) {
  *fatal = false;
  // Old segments are always synced, whatever the policy: damage can then only be in the last segment.
  if (Status s = SyncActive(); !s.ok()) {
    *fatal = true;
    return s;
  }
  auto seg = CreateSegment(active_->number + 1, next_seq_);
  if (!seg.ok()) return seg.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    SegmentState st;
    st.file = *seg;
    st.bytes = (*seg)->header_len;
    st.active = true;  // both stay active until this batch is published
    segments_[(*seg)->number] = std::move(st);
    disk_bytes_ += (*seg)->header_len;
  }
  active_ = *seg;
  active_size_ = active_->header_len;
  active_records_ = 0;
  return Status::Ok();
}

void Spool::Impl::WriteBatch(std::vector<PendingUnit>& batch) {
  const size_t n = batch.size();
  struct Placed {
    uint32_t segment;
    uint64_t offset;
    uint64_t first_seq;
  };
  std::vector<Placed> placed(n);
  Status error;  // for the units from `ok_units` on
  bool fatal = false;
  size_t ok_units = 0;
  uint64_t groups = 0;
  std::map<uint32_t, uint64_t> seg_sizes;  // segments written to: new size
  {
    std::lock_guard<std::mutex> lock(mu_);
    error = failed_;
  }
  std::vector<iovec> iov;
  while (error.ok() && ok_units < n) {
    if (active_records_ > 0 && active_size_ + batch[ok_units].size > opt_.segment_bytes) {
      if (Status s = Roll(&fatal); !s.ok()) {
        error = s;
        break;
      }
    }
    size_t j = ok_units;
    uint64_t group_bytes = 0, group_records = 0;
    const uint64_t group_start = active_size_, seq0 = next_seq_;
    iov.clear();
    while (j < n && iov.size() < IOV_MAX &&
           (j == ok_units || active_size_ + group_bytes + batch[j].size <= opt_.segment_bytes)) {
      PendingUnit& u = batch[j];
      placed[j] = {static_cast<uint32_t>(active_->number), group_start + group_bytes, next_seq_};
      char* p = u.buf.get();
      for (uint32_t r = 0; r < u.records; ++r) {
        sf::StampRecord(p, next_seq_++);
        sf::RecordHeader h;
        sf::DecodeRecordHeader(p, &h);
        p += h.record_len();
      }
      iov.push_back({u.buf.get(), u.size});
      group_bytes += u.size;
      group_records += u.records;
      ++j;
    }
    ++groups;
    if (Status s = WriteGroup(iov, group_start); !s.ok()) {
      // Undo the partial write so the segment ends after the last complete unit again.
      next_seq_ = seq0;
      if (::ftruncate(active_->fd, static_cast<off_t>(group_start)) != 0) {
        fatal = true;
        error = Status::IOError(s.message() + "; and truncating it back failed: " + ErrnoText(errno));
      } else {
        error = s;
      }
      break;
    }
    active_size_ += group_bytes;
    active_records_ += group_records;
    dirty_ = true;
    seg_sizes[static_cast<uint32_t>(active_->number)] = active_size_;
    ok_units = j;
  }
  if (ok_units > 0 && !fatal) {
    bool sync_now = SyncEverything() ||
                    (opt_.fsync == FsyncPolicy::kInterval &&
                     std::chrono::steady_clock::now() - last_sync_ >= opt_.fsync_interval);
    if (sync_now) {
      if (Status s = SyncActive(); !s.ok()) {
        fatal = true;
        error = s;
      }
    }
  }
  if (fatal) {
    // Nothing in this batch is known to be durable: fail all of it (what did reach the disk is found by
    // recovery and delivered; at least once).
    ok_units = 0;
    Fail(error);
  }

  bool rolled = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    write_batches_ += groups;
    for (const auto& [num, size] : seg_sizes) {
      auto& st = segments_[num];
      disk_bytes_ += size - st.bytes;
      st.bytes = size;
    }
    for (size_t u = 0; u < ok_units; ++u) {
      const char* p = batch[u].buf.get();
      uint64_t off = placed[u].offset;
      auto& seg = segments_[placed[u].segment];
      for (uint32_t r = 0; r < batch[u].records; ++r) {
        sf::RecordHeader h;
        sf::DecodeRecordHeader(p, &h);
        auto& v = vendors_[h.vendor];
        v.pending.push_back({h.seq, h.accept_unix_us, placed[u].segment, static_cast<uint32_t>(off),
                             static_cast<uint32_t>(h.record_len()), h.kind});
        v.pending_bytes += h.body_len();
        ++seg.pending;
        committed_seq_ = h.seq;
        off += h.record_len();
        p += h.record_len();
      }
      ++appended_units_;
      appended_records_ += batch[u].records;
    }
    failed_units_ += n - ok_units;
    inflight_bytes_ = 0;
    for (auto& [num, st] : segments_) {
      if (st.active && num != active_->number) {
        st.active = false;
        rolled = true;
      }
    }
    if (rolled) reap_requested_ = true;
  }
  if (rolled) reaper_cv_.notify_one();
  for (size_t u = 0; u < n; ++u) {
    if (!batch[u].done) continue;
    if (u < ok_units) {
      batch[u].done(placed[u].first_seq);
    } else {
      batch[u].done(error.ok() ? Status::Internal("spool: unit not written") : error);
    }
  }
}

void Spool::Impl::Close() {
  std::call_once(close_once_, [&] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    writer_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      reaper_stop_ = true;  // after the writer: it may have asked for a last reap
    }
    reaper_cv_.notify_all();
    if (reaper_.joinable()) reaper_.join();
  });
}

void Spool::Impl::ReaperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    reaper_cv_.wait(lock, [&] { return reap_requested_ || reaper_stop_; });
    if (!reap_requested_) break;
    reap_requested_ = false;
    lock.unlock();
    DeleteUnneededSegments();
    lock.lock();
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading, acknowledging, discarding

Status Spool::Impl::ReadEntries(std::span<const IndexEntry> entries, const Files& files, SpoolBatch* out) const {
  constexpr uint64_t kMaxGap = 64 << 10;     // read over other vendors' records up to this much
  constexpr uint64_t kMaxSpan = 8ull << 20;  // per read
  size_t k = 0;
  while (k < entries.size()) {
    const uint32_t seg = entries[k].segment;
    const uint64_t start = entries[k].offset;
    uint64_t end = start + entries[k].len;
    size_t m = k + 1;
    while (m < entries.size() && entries[m].segment == seg && entries[m].offset >= end &&
           entries[m].offset - end <= kMaxGap && entries[m].offset + entries[m].len - start <= kMaxSpan) {
      end = entries[m].offset + entries[m].len;
      ++m;
    }
    const SegmentFile& file = *files.at(seg);
    std::unique_ptr<char[]> buf(new char[end - start]);
    ssize_t r = sf::PreadFull(file.fd, buf.get(), end - start, start);
    if (r != static_cast<ssize_t>(end - start)) {
      return Status::IOError("spool segment " + file.path + ": read at offset " + std::to_string(start) +
                             " failed: " + (r < 0 ? ErrnoText(errno) : std::string("file too short")));
    }
    for (size_t i = k; i < m; ++i) {
      const IndexEntry& e = entries[i];
      const char* p = buf.get() + (e.offset - start);
      sf::RecordHeader h;
      const char* bad = sf::DecodeRecordHeader(p, &h);
      if (bad == nullptr && (h.seq != e.seq || h.record_len() != e.len)) bad = "record changed on disk";
      if (bad == nullptr && !sf::RecordChecksumOk(p, h)) bad = "record checksum mismatch";
      if (bad != nullptr) {
        return Status::IOError("spool segment " + file.path + " is damaged at offset " + std::to_string(e.offset) +
                               " (seq " + std::to_string(e.seq) + "): " + bad);
      }
      out->records.push_back({h.seq, h.kind, h.accept_unix_us,
                              std::string_view(p + sf::kRecordHeaderBytes, h.payload_len),
                              std::string_view(p + sf::kRecordHeaderBytes + h.payload_len, h.meta_len)});
    }
    out->buffers.push_back(std::move(buf));
    k = m;
  }
  return Status::Ok();
}

StatusOr<SpoolBatch> Spool::Impl::Read(SpoolVendorId vendor, uint64_t after_seq, size_t max_records,
                                       size_t max_bytes) const {
  if (vendor >= opt_.vendors.size()) return Status::InvalidArgument("spool: unknown vendor id");
  std::vector<IndexEntry> want;
  Files files;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& dq = vendors_[vendor].pending;
    auto it = std::upper_bound(dq.begin(), dq.end(), after_seq,
                               [](uint64_t s, const IndexEntry& e) { return s < e.seq; });
    size_t bytes = 0;
    for (; it != dq.end() && want.size() < max_records; ++it) {
      if (!want.empty() && bytes + BodyLen(*it) > max_bytes) break;
      want.push_back(*it);
      bytes += BodyLen(*it);
      auto& f = files[it->segment];
      if (!f) f = segments_.at(it->segment).file;
    }
  }
  SpoolBatch batch;
  batch.records.reserve(want.size());
  if (Status s = ReadEntries(want, files, &batch); !s.ok()) return s;
  return batch;
}

Status Spool::Impl::Ack(SpoolVendorId vendor, uint64_t up_to_seq) {
  if (vendor >= opt_.vendors.size()) return Status::InvalidArgument("spool: unknown vendor id");
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& v = vendors_[vendor];
    up_to_seq = std::min(up_to_seq, committed_seq_);
    if (up_to_seq > v.acked_seq) {
      while (!v.pending.empty() && v.pending.front().seq <= up_to_seq) {
        const IndexEntry& e = v.pending.front();
        v.pending_bytes -= BodyLen(e);
        auto it = segments_.find(e.segment);
        assert(it != segments_.end() && it->second.pending > 0);
        --it->second.pending;
        v.pending.pop_front();
      }
      v.acked_seq = up_to_seq;
      ++cursor_gen_;
    }
    gen = cursor_gen_;
  }
  if (Status s = PersistCursors(gen); !s.ok()) return s;
  DeleteUnneededSegments();
  return Status::Ok();
}

Status Spool::Impl::PersistCursors(uint64_t gen, bool rewrite) {
  std::lock_guard<std::mutex> file_lock(cursor_file_mu_);
  if (persisted_gen_ >= gen && !rewrite) return Status::Ok();  // someone wrote a snapshot that includes ours
  std::map<std::string, uint64_t> snapshot;
  uint64_t snap_gen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot = orphan_cursors_;
    for (const auto& v : vendors_) snapshot[v.name] = v.acked_seq;
    snap_gen = cursor_gen_;
  }
  std::string slot = sf::EncodeCursorSlot(cursor_file_gen_ + 1, snapshot);
  Status s;
  if (rewrite || cursor_fd_ < 0 || slot.size() > cursor_slot_bytes_) {
    s = RewriteCursorFile(slot);
  } else {
    // Overwrite the older slot in place. Synced under kAlways; otherwise a power loss may bring back an
    // older cursor, which means redelivery, never loss.
    const std::string what = "spool cursor file in " + opt_.dir;
    s = sf::PwriteFull(cursor_fd_, slot.data(), slot.size(), ((cursor_file_gen_ + 1) % 2) * cursor_slot_bytes_, what);
    if (s.ok() && SyncEverything() && ::fdatasync(cursor_fd_) != 0) s = ErrnoStatus(what + ": sync", errno);
  }
  if (!s.ok()) return s;
  ++cursor_file_gen_;
  persisted_gen_ = snap_gen;
  return Status::Ok();
}

Status Spool::Impl::RewriteCursorFile(const std::string& slot) {
  // Both slots sized with room for longer sequence numbers' worth of growth; the new snapshot goes in the
  // slot its generation selects, the other slot stays zero (invalid).
  const size_t slot_bytes = (std::max<size_t>(slot.size() * 2, 4096) + 4095) / 4096 * 4096;
  std::string file(2 * slot_bytes, '\0');
  const size_t at = ((cursor_file_gen_ + 1) % 2) * slot_bytes;
  std::memcpy(file.data() + at, slot.data(), slot.size());
  std::string path = (std::filesystem::path(opt_.dir) / sf::kCursorFileName).string();
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("spool cursor file " + tmp, errno);
  Status s = sf::PwriteFull(fd, file.data(), file.size(), 0, "spool cursor file " + tmp);
  if (s.ok() && ::fdatasync(fd) != 0) s = ErrnoStatus("spool cursor file " + tmp + ": sync", errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("spool cursor file: rename", errno);
  if (s.ok() && ::fsync(dir_fd_) != 0) s = ErrnoStatus("spool directory: sync", errno);
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  if (cursor_fd_ >= 0) ::close(cursor_fd_);
  cursor_fd_ = fd;
  cursor_slot_bytes_ = slot_bytes;
  return Status::Ok();
}

void Spool::Impl::DeleteUnneededSegments() {
  std::vector<std::shared_ptr<SegmentFile>> victims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = segments_.begin(); it != segments_.end();) {
      if (!it->second.active && it->second.pending == 0) {
        victims.push_back(it->second.file);
        disk_bytes_ -= it->second.bytes;
        ++segments_deleted_;
        it = segments_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Not synced: a deletion lost in a crash brings back a segment whose records are all acknowledged,
  // and the next Open deletes it again.
  for (const auto& seg : victims) {
    if (::unlink(seg->path.c_str()) != 0) spdlog::warn("spool: cannot delete {}: {}", seg->path, ErrnoText(errno));
  }
}

StatusOr<uint64_t> Spool::Impl::Discard(SpoolVendorId vendor, const DiscardFn& fn) {
  if (vendor >= opt_.vendors.size()) return Status::InvalidArgument("spool: unknown vendor id");
  std::vector<IndexEntry> entries;
  Files files;
  uint64_t up_to;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& v = vendors_[vendor];
    entries.assign(v.pending.begin(), v.pending.end());
    for (const auto& e : entries) {
      auto& f = files[e.segment];
      if (!f) f = segments_.at(e.segment).file;
    }
    up_to = committed_seq_;
  }
  constexpr size_t kChunk = 512;
  for (size_t i = 0; i < entries.size(); i += kChunk) {
    SpoolBatch batch;
    auto chunk = std::span<const IndexEntry>(entries).subspan(i, std::min(kChunk, entries.size() - i));
    if (Status s = ReadEntries(chunk, files, &batch); !s.ok()) return s;
    for (const auto& r : batch.records) {
      if (fn) {
        fn(DiscardedRecord{opt_.vendors[vendor], r.seq, r.kind, r.accept_unix_us,
                           static_cast<uint32_t>(r.payload.size()), r.meta});
      }
    }
  }
  if (!entries.empty()) {
    spdlog::warn("spool: discarded {} pending records of vendor '{}'", entries.size(), opt_.vendors[vendor]);
  }
  if (Status s = Ack(vendor, up_to); !s.ok()) return s;
  return static_cast<uint64_t>(entries.size());
}

SpoolStats Spool::Impl::Stats() const {
  SpoolStats s;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& v : vendors_) {
    VendorSpoolStats vs;
    vs.vendor = v.name;
    vs.acked_seq = v.acked_seq;
    vs.pending_records = v.pending.size();
    vs.pending_bytes = v.pending_bytes;
    vs.oldest_accept_unix_us = v.pending.empty() ? 0 : v.pending.front().accept_unix_us;
    s.vendors.push_back(std::move(vs));
  }
  s.disk_bytes = disk_bytes_;
  s.backlog_bytes = pending_bytes_ + inflight_bytes_;
  s.quota_bytes = opt_.quota_bytes;
  s.segments = segments_.size();
  s.last_seq = committed_seq_;
  s.appended_units = appended_units_;
  s.appended_records = appended_records_;
  s.write_batches = write_batches_;
  s.fsyncs = fsyncs_;
  s.refused_quota = refused_quota_;
  s.refused_backlog = refused_backlog_;
  s.failed_units = failed_units_;
  s.segments_deleted = segments_deleted_;
  s.failed = !failed_.ok();
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Spool

StatusOr<std::unique_ptr<Spool>> Spool::Open(SpoolOptions options) {
  if (options.dir.empty()) return Status::InvalidArgument("spool: no directory");
  if (options.vendors.size() > sf::kMaxVendors) return Status::InvalidArgument("spool: more than 1024 vendors");
  std::set<std::string> seen;
  for (const auto& v : options.vendors) {
    if (v.empty() || v.size() > sf::kMaxVendorNameBytes) {
      return Status::InvalidArgument("spool: vendor names must be 1 to 255 bytes");
    }
    if (!seen.insert(v).second) return Status::InvalidArgument("spool: vendor '" + v + "' named twice");
  }
  if (options.segment_bytes < 4096 || options.segment_bytes > (1ull << 30)) {
    return Status::InvalidArgument("spool: segment size must be between 4 KiB and 1 GiB");
  }
  if (options.quota_bytes != 0 && options.quota_bytes < 2 * options.segment_bytes) {
    return Status::InvalidArgument("spool: the quota must be at least two segments (" +
                                   std::to_string(2 * options.segment_bytes) + " bytes)");
  }
  if (options.max_record_bytes > sf::kMaxBodyBytes) {
    return Status::InvalidArgument("spool: max_record_bytes is above the format's 256 MiB");
  }
  if (options.fsync == FsyncPolicy::kInterval && options.fsync_interval.count() <= 0) {
    return Status::InvalidArgument("spool: the fsync interval must be positive");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status s = impl->Recover(); !s.ok()) return s;
  impl->StartWriter();
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Spool::~Spool() = default;
void Spool::Close() { impl_->Close(); }
std::optional<SpoolVendorId> Spool::FindVendor(std::string_view name) const { return impl_->FindVendor(name); }
const std::vector<std::string>& Spool::vendors() const { return impl_->vendors(); }
const SpoolOpenReport& Spool::open_report() const { return impl_->report(); }

Status Spool::Append(std::span<const SpoolEntry> entries, int64_t accept_unix_us, CommitCallback done) {
  return impl_->Append(entries, accept_unix_us, std::move(done));
}

StatusOr<uint64_t> Spool::AppendSync(std::span<const SpoolEntry> entries, int64_t accept_unix_us) {
  std::promise<StatusOr<uint64_t>> promise;
  auto future = promise.get_future();
  Status s = impl_->Append(entries, accept_unix_us,
                           [&promise](StatusOr<uint64_t> r) { promise.set_value(std::move(r)); });
  if (!s.ok()) return s;
  return future.get();
}

StatusOr<SpoolBatch> Spool::Read(SpoolVendorId vendor, uint64_t after_seq, size_t max_records,
                                 size_t max_bytes) const {
  return impl_->Read(vendor, after_seq, max_records, max_bytes);
}
Status Spool::Ack(SpoolVendorId vendor, uint64_t up_to_seq) { return impl_->Ack(vendor, up_to_seq); }
StatusOr<uint64_t> Spool::Discard(SpoolVendorId vendor, const DiscardFn& fn) { return impl_->Discard(vendor, fn); }
SpoolStats Spool::Stats() const { return impl_->Stats(); }

// ---------------------------------------------------------------------------------------------------
// Verify

StatusOr<SpoolVerifyReport> VerifySpool(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Status::NotFound("spool directory " + dir + " does not exist");
  SpoolVerifyReport report;
  std::vector<FoundSegment> found;
  if (Status s = ListSpoolDir(dir, &found, nullptr); !s.ok()) return s;

  std::map<std::string, SpoolVerifyReport::Vendor> vendors;
  std::string cursor_path = (std::filesystem::path(dir) / sf::kCursorFileName).string();
  auto cursor_bytes = ReadWholeFile(cursor_path);
  if (cursor_bytes.ok()) {
    report.has_cursor_file = true;
    auto decoded = sf::DecodeCursorFile(*cursor_bytes);
    if (decoded.ok()) {
      for (const auto& [name, seq] : decoded->cursors) {
        vendors[name].name = name;
        vendors[name].acked_seq = seq;
      }
    } else {
      report.problems.push_back({cursor_path, 0, decoded.status().message(), false});
    }
  } else if (cursor_bytes.status().code() != Status::Code::kNotFound) {
    report.problems.push_back({cursor_path, 0, cursor_bytes.status().message(), false});
  }

  uint64_t prev_last_seq = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    const auto& f = found[i];
    const bool last = i + 1 == found.size();
    SegmentFile seg;
    seg.number = f.number;
    seg.path = f.path;
    seg.fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (seg.fd < 0) {
      report.problems.push_back({f.path, 0, ErrnoText(errno), false});
      continue;
    }
    struct stat st;
    if (::fstat(seg.fd, &st) != 0) {
      report.problems.push_back({f.path, 0, ErrnoText(errno), false});
      continue;
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    ++report.segments;
    report.bytes += size;
    auto header = sf::ReadSegmentHeader(seg.fd, size, &seg.header_len);
    if (!header.ok()) {
      report.problems.push_back({f.path, 0, header.status().message(), false});
      continue;
    }
    if (header->number != f.number) {
      report.problems.push_back({f.path, 0, "the header says segment " + std::to_string(header->number), false});
      continue;
    }
    seg.first_seq = header->first_seq;
    seg.vendors = header->vendors;
    if (seg.first_seq <= prev_last_seq) {
      report.problems.push_back({f.path, 0,
                                 "first sequence number " + std::to_string(seg.first_seq) +
                                     " overlaps the previous segment's records",
                                 false});
    }
    struct Seen {
      const std::string* vendor;
      uint64_t seq;
      uint64_t body;
    };
    std::vector<Seen> unit;
    auto on_record = [&](const sf::SegmentReader& r) {
      unit.push_back({&seg.vendors[r.header().vendor], r.header().seq, r.header().body_len()});
    };
    auto on_unit = [&] {
      for (const auto& u : unit) {
        auto& v = vendors[*u.vendor];
        v.name = *u.vendor;
        ++v.records;
        ++report.records;
        if (report.first_seq == 0) report.first_seq = u.seq;
        report.last_seq = u.seq;
        if (u.seq > v.acked_seq) {
          ++v.pending_records;
          v.pending_bytes += u.body;
        }
      }
      unit.clear();
    };
    ScanOutcome scan = ScanSegment(seg, size, on_record, on_unit);
    if (scan.last_seq > 0) prev_last_seq = scan.last_seq;
    if (scan.damaged) {
      report.problems.push_back({f.path, scan.damage_offset, scan.problem, last && !scan.io_error});
    }
  }
  for (auto& [name, v] : vendors) report.vendors.push_back(std::move(v));
  return report;
}

}  // namespace vg
