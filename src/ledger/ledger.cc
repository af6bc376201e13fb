#include "common/files.h"
#include "ledger/ledger.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <thread>

#include "ledger/ledger_format.h"
#include "ledger/ledger_impl.h"
#include "common/thread_name.h"
#include "common/time_text.h"

namespace vg::ledger {

using format::ErrnoText;

namespace {

constexpr size_t kWriteThreshold = 1 << 20;  // WAL bytes buffered before a write()

std::string Str(uint64_t v) { return std::to_string(v); }

// Read-only opens: how often to list and read the directory again when a writer changed it meanwhile,
// with a pause before each retry that doubles from 1 ms (0.13 s in all).
constexpr int kReadOnlyOpenAttempts = 8;

}  // namespace

Status ListLedgerDir(const std::string& dir, LedgerDirListing* out) {
  *out = LedgerDirListing();
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::NotFound(dir + ": no such directory");
    return Status::IOError(dir + ": " + ErrnoText(errno));
  }
  while (struct dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    uint64_t index = 0;
    if (format::ParseIndexedName(name, "seg-", ".vgl", &index)) {
      out->segments.push_back(index);
    } else if (format::ParseIndexedName(name, "seg-", ".names", &index)) {
      out->names.push_back(index);
    } else if (format::ParseIndexedName(name, "wal-", ".log", &index)) {
      out->wals.push_back(index);
    } else if (name.ends_with(".tmp")) {
      out->tmp.emplace_back(name);
    }
  }
  ::closedir(d);
  std::sort(out->segments.begin(), out->segments.end());
  std::sort(out->names.begin(), out->names.end());
  std::sort(out->wals.begin(), out->wals.end());
  return Status::Ok();
}

namespace {

Status CheckVendorInfo(const VendorInfo& v) {
  if (v.name.empty()) return Status::InvalidArgument("ledger: a vendor has an empty name");
  for (const std::string* s : {&v.name, &v.purpose, &v.legal_basis, &v.destination_country}) {
    if (s->size() > kMaxTextBytes) {
      return Status::InvalidArgument("ledger: vendor '" + v.name.substr(0, 64) + "': a declaration field exceeds " +
                                     Str(kMaxTextBytes) + " bytes");
    }
  }
  return Status::Ok();
}

}  // namespace

// ---- heads.log ----

std::string EncodeHeadEntry(const SignedTreeHead& head) {
  const std::string sth = head.Serialize();
  std::string out;
  format::PutU32(&out, format::Crc(sth));
  out += sth;
  return out;
}

StatusOr<HeadsFile> ReadHeadsFile(const std::string& path, int64_t* bad_offset) {
  HeadsFile f;
  auto data = ReadWholeFile(path);
  if (!data.ok()) {
    if (data.status().code() == Status::Code::kNotFound) return f;
    return data.status();
  }
  const std::string& d = *data;
  size_t pos = 0;
  while (d.size() - pos >= kHeadEntryBytes) {
    const std::string_view sth(d.data() + pos + 4, kSignedTreeHeadBytes);
    if (format::GetU32(d.data() + pos) != format::Crc(sth)) {
      if (bad_offset != nullptr) *bad_offset = static_cast<int64_t>(pos);
      return Status::InvalidArgument(path + ": offset " + Str(pos) + ": signed tree head #" +
                                     Str(pos / kHeadEntryBytes) + ": checksum mismatch (the entry was changed)");
    }
    auto parsed = SignedTreeHead::Parse({reinterpret_cast<const uint8_t*>(sth.data()), sth.size()});
    if (!parsed.ok()) {
      if (bad_offset != nullptr) *bad_offset = static_cast<int64_t>(pos);
      return Status::InvalidArgument(path + ": offset " + Str(pos) + ": signed tree head #" +
                                     Str(pos / kHeadEntryBytes) + ": " + parsed.status().message());
    }
    f.heads.push_back(*parsed);
    f.offsets.push_back(pos);
    pos += kHeadEntryBytes;
  }
  f.valid_bytes = pos;
  f.torn_bytes = d.size() - pos;
  return f;
}

bool ParseRetentionDetail(std::string_view detail, uint64_t* first, uint64_t* end) {
  unsigned long long a = 0, b = 0;
  const std::string s(detail.substr(0, 128));
  if (std::sscanf(s.c_str(), "dropped records [%llu, %llu)", &a, &b) != 2 || a > b) return false;
  *first = a;
  *end = b;
  return true;
}

// ---- Impl: open and recovery ----

Ledger::Impl::Impl(LedgerOptions opt) : opt_(std::move(opt)), dir_(opt_.dir) {
  if (!opt_.now_us) opt_.now_us = SystemNowUs;
}

Ledger::Impl::~Impl() {
  (void)Close();
  if (sealer_.joinable()) sealer_.join();  // Close joined it, unless the open failed before
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Ledger::Impl::WriteFileMaybeSync(const std::string& path, std::string_view data) {
  if (opt_.sync) return ReplaceFileDurably(path, data, 0644);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(tmp + ": create: " + ErrnoText(errno));
  Status s = WriteAllTo(fd, tmp, data);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::IOError(path + ": rename: " + ErrnoText(errno));
  return s;
}

Status Ledger::Impl::Open() {
  if (dir_.empty()) return Status::InvalidArgument("ledger: no directory given");
  if (opt_.read_only) return OpenReadOnly();
  if (opt_.max_segment_records == 0 || opt_.max_segment_records > (1u << 31)) {
    return Status::InvalidArgument("ledger: max_segment_records must be in [1, 2^31]");
  }
  if (opt_.partition_us <= 0) return Status::InvalidArgument("ledger: partition_us must be positive");
  if (opt_.block_rows == 0) return Status::InvalidArgument("ledger: block_rows must be positive");
  for (size_t i = 0; i < opt_.vendors.size(); ++i) {
    if (Status s = CheckVendorInfo(opt_.vendors[i]); !s.ok()) return s;
    for (size_t j = 0; j < i; ++j) {
      if (opt_.vendors[j].name == opt_.vendors[i].name) {
        return Status::InvalidArgument("ledger: vendor '" + opt_.vendors[i].name + "' is declared twice");
      }
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IOError(dir_ + ": create: " + ec.message());
  ::chmod(dir_.c_str(), 0700);
  const std::string lock_path = Path("LOCK");
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Status::IOError(lock_path + ": " + ErrnoText(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::Unavailable("ledger " + dir_ + " is open in another process (" + lock_path + " is locked)");
  }

  auto key = OpenOrCreateSubjectKey(Path(kSubjectKeyFileName));
  if (!key.ok()) return key.status();
  keyer_.emplace(std::span<const uint8_t, kSubjectKeyBytes>(key->data(), kSubjectKeyBytes));
  auto signer = TreeHeadSigner::OpenOrCreate(Path(kHeadKeyFileName));
  if (!signer.ok()) return signer.status();
  signer_.emplace(std::move(*signer));
  public_key_ = signer_->public_key();
  has_public_key_ = true;
  {
    auto pub = ReadWholeFile(Path(kHeadPubFileName));
    if (!pub.ok() || *pub != signer_->PublicKeyPem()) {
      if (Status s = signer_->WritePublicKeyFile(Path(kHeadPubFileName)); !s.ok()) return s;
    }
  }

  if (Status s = RecoverHeads(); !s.ok()) return s;
  std::lock_guard lock(mu_);
  if (Status s = RecoverSegments(); !s.ok()) return s;
  report_.segments = segments_.size();
  report_.records = frontier_.size();
  report_.wal_records = active_.size();

  // Declare the configured vendors that are new or changed.
  BeginBatchLocked();
  const int64_t now = Now();
  for (const VendorInfo& v : opt_.vendors) {
    std::optional<uint16_t> current;
    for (size_t i = vendors_.size(); i-- > 0;) {
      if (vendors_[i].name == v.name) {
        current = static_cast<uint16_t>(i);
        break;
      }
    }
    if (current && vendors_[*current] == v) continue;
    if (vendors_.size() >= kMaxVendors) return Status::InvalidArgument("ledger: too many vendor declarations");
    if (Status s = AppendDeclarationLocked(now, static_cast<uint16_t>(vendors_.size()), v); !s.ok()) return s;
  }
  return EndBatchLocked();
}

Status Ledger::Impl::OpenReadOnly() {
  if (!opt_.vendors.empty()) {
    return Status::InvalidArgument(
        "ledger: a read-only open declares no vendors (LedgerOptions::vendors must be empty)");
  }
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound("no ledger at " + dir_ + ": the directory does not exist");
    return Status::IOError(dir_ + ": " + ErrnoText(errno));
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("no ledger at " + dir_ + ": not a directory");
  const std::string key_path = Path(kSubjectKeyFileName);
  auto key = ReadSubjectKey(key_path);
  if (!key.ok()) {
    if (key.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no ledger at " + dir_ + ": " + key_path + " does not exist");
    }
    return key.status();
  }
  keyer_.emplace(std::span<const uint8_t, kSubjectKeyBytes>(key->data(), kSubjectKeyBytes));
  const std::string pub_path = Path(kHeadPubFileName);
  auto pem = ReadWholeFile(pub_path);
  if (pem.ok()) {
    auto pub = PublicKeyFromPem(*pem);
    if (!pub.ok()) return Status::InvalidArgument(pub_path + ": " + pub.status().message());
    public_key_ = *pub;
    has_public_key_ = true;
  } else if (pem.status().code() != Status::Code::kNotFound) {
    return pem.status();
  }
  if (Status s = RecoverHeads(); !s.ok()) return s;
  std::lock_guard lock(mu_);
  if (Status s = RecoverSegments(); !s.ok()) return s;
  report_.segments = segments_.size();
  report_.records = frontier_.size();
  report_.wal_records = active_.size();
  return Status::Ok();
}

Status Ledger::Impl::ReadOnlyError() const {
  return Status::FailedPrecondition("ledger " + dir_ + " is open read-only");
}

Status Ledger::Impl::RecoverHeads() {
  const std::string path = Path(kHeadsFileName);
  auto heads = ReadHeadsFile(path);
  if (!heads.ok()) return heads.status();
  if (opt_.read_only) {
    // A partial last entry is the writer's write in progress: not read, not cut. Without head.pub the
    // last head's signature cannot be checked here (Verify needs a key anyway).
    if (!heads->heads.empty()) {
      const SignedTreeHead& last = heads->heads.back();
      if (has_public_key_) {
        if (Status s = VerifySignedTreeHead(last, public_key_); !s.ok()) {
          return Status::InvalidArgument(path + ": offset " + Str(heads->offsets.back()) +
                                         ": the last signed tree head does not verify with " +
                                         Path(kHeadPubFileName) + ": " + s.message());
        }
      }
      last_head_ = last;
      last_head_time_us_ = static_cast<int64_t>(last.head.timestamp_ms) * 1000;
    }
    return Status::Ok();
  }
  heads_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (heads_fd_ < 0) return Status::IOError(path + ": " + ErrnoText(errno));
  if (heads->torn_bytes > 0) {
    if (::ftruncate(heads_fd_, static_cast<off_t>(heads->valid_bytes)) != 0) {
      return Status::IOError(path + ": truncate: " + ErrnoText(errno));
    }
    report_.removed.push_back(path + ": a torn last entry (" + Str(heads->torn_bytes) + " bytes)");
  }
  if (!heads->heads.empty()) {
    const SignedTreeHead& last = heads->heads.back();
    if (Status s = VerifySignedTreeHead(last, signer_->public_key()); !s.ok()) {
      return Status::InvalidArgument(path + ": offset " + Str(heads->offsets.back()) +
                                     ": the last signed tree head does not verify with " + Path(kHeadKeyFileName) +
                                     ": " + s.message());
    }
    last_head_ = last;
    last_head_time_us_ = static_cast<int64_t>(last.head.timestamp_ms) * 1000;
  }
  return Status::Ok();
}

Status Ledger::Impl::RecoverSegments() {
  const bool ro = opt_.read_only;
  LedgerDirListing files;
  if (Status s = ListLedgerDir(dir_, &files); !s.ok()) return s;
  if (ro) {
    listing_ = files;
    listed_ = true;
    if (opt_.read_only_listed_hook_for_testing) opt_.read_only_listed_hook_for_testing();
  }
  for (const std::string& tmp : files.tmp) {
    if (ro) break;  // a writer's file in progress
    ::unlink(Path(tmp).c_str());
    report_.removed.push_back(Path(tmp));
  }
  uint64_t sealed_end = 0;
  for (uint64_t index : files.segments) {
    const std::string path = Path(format::SegmentFileName(index));
    auto seg = SegmentFile::Open(path);
    if (!seg.ok()) return seg.status();
    const SegmentFile& s = **seg;
    if (s.first_index() != index) {
      return Status::InvalidArgument(path + ": holds records from " + Str(s.first_index()) +
                                     ", not from the index in its name");
    }
    if (!segments_.empty()) {
      const SegmentFile& prev = *segments_.back();
      if (prev.end_index() != index) {
        return Status::InvalidArgument(path + ": starts at record " + Str(index) + " but " + prev.path() +
                                       " ends at " + Str(prev.end_index()) + ": records are missing or overlap");
      }
      if (!(prev.frontier_end() == s.frontier_start())) {
        return Status::InvalidArgument(path + ": its start frontier is not the end frontier of " + prev.path());
      }
    }
    if (!std::binary_search(files.names.begin(), files.names.end(), index)) {
      return Status::InvalidArgument(Path(format::NamesFileName(index)) + ": missing (the name table of " + path +
                                     ")");
    }
    sealed_end = s.end_index();
    segments_.push_back(*seg);
  }
  for (uint64_t index : files.names) {
    if (ro) break;  // a name table without its segment: a seal in progress; not ours to remove
    if (!std::binary_search(files.segments.begin(), files.segments.end(), index)) {
      const std::string path = Path(format::NamesFileName(index));
      ::unlink(path.c_str());
      report_.removed.push_back(path);
    }
  }
  frontier_ = segments_.empty() ? MerkleFrontier() : segments_.back()->frontier_end();
  vendors_ = segments_.empty() ? std::vector<VendorInfo>() : segments_.back()->vendors();

  // Normally one WAL follows the sealed segments. Two when a background seal was in flight: the first
  // holds the segment being sealed (complete: it was synced before the second was created), the second
  // starts where it ends.
  std::vector<uint64_t> live;
  for (uint64_t index : files.wals) {
    const std::string path = Path(format::WalFileName(index));
    if (!segments_.empty() && index < sealed_end) {  // sealed already; the seal was interrupted after the rename
      if (ro) continue;  // or is being completed by the writer right now
      ::unlink(path.c_str());
      report_.removed.push_back(path);
      continue;
    }
    if (live.size() == 2 || (live.empty() && !segments_.empty() && index != sealed_end)) {
      return Status::InvalidArgument(path + ": a write-ahead log for records from " + Str(index) +
                                     " does not follow the sealed segments (which end at " + Str(sealed_end) + ")");
    }
    live.push_back(index);
  }
  const uint64_t head_size = last_head_ ? last_head_->head.tree_size : 0;
  std::optional<Hash> head_root_seen;
  auto on_record = [&](const MerkleFrontier& f) {
    if (f.size() == head_size) head_root_seen = f.Root();
  };
  if (live.size() == 2) {
    const std::string path = Path(format::WalFileName(live[0]));
    const std::string next = Path(format::WalFileName(live[1]));
    auto bytes = ReadWholeFile(path);
    if (!bytes.ok()) return bytes.status();
    ActiveSegment prev;
    auto replay = ReplayWal(path, *bytes, *keyer_, &prev, &frontier_, on_record);
    if (!replay.ok()) return replay.status();
    if (!segments_.empty() && !(replay->frontier_start == segments_.back()->frontier_end())) {
      return Status::InvalidArgument(path + ": its start frontier is not the end frontier of " +
                                     segments_.back()->path());
    }
    if (replay->frontier_start.size() == head_size && head_size > 0) head_root_seen = replay->frontier_start.Root();
    if (replay->damaged) {
      return Status::InvalidArgument(path + ": offset " + Str(replay->damage_offset) + ": " + replay->damage +
                                     ", at record " + Str(replay->first_index + replay->records) + ", but " + next +
                                     " follows it: records are missing (not a torn write: a log is complete "
                                     "before the next one is created)");
    }
    if (frontier_.size() != live[1]) {
      return Status::InvalidArgument(next + ": starts at record " + Str(live[1]) + " but " + path + " ends at " +
                                     Str(frontier_.size()) + ": records are missing or overlap");
    }
    for (const RowTexts& t : prev.rows().texts) {
      if (prev.rows().kind[t.row] == static_cast<uint8_t>(RecordKind::kVendorDeclaration) && t.texts.size() == 4) {
        ApplyDeclarationLocked(prev.rows().vendor[t.row], VendorInfo{t.texts[0], t.texts[1], t.texts[2], t.texts[3]});
      }
    }
    auto job = std::make_shared<SealJob>();
    job->old_wal = path;
    job->content = prev.TakeContent(frontier_, vendors_, &job->names, &job->order);
    if (ro) {
      sealing_ = std::move(job);  // queries read it from memory; the writer is sealing it (or will)
    } else {
      // Complete the interrupted seal here, before the second log is replayed.
      if (Status s = WriteSealedSegment(job.get()); !s.ok()) return s;
      segments_.push_back(job->file);
      sealed_end = frontier_.size();
      report_.removed.push_back(path + " (sealed into " + job->file->path() + ": a seal was in progress)");
    }
    live.erase(live.begin());
  }
  const std::optional<uint64_t> wal_index = live.empty() ? std::nullopt : std::optional<uint64_t>(live[0]);
  if (!wal_index) {
    if (ro) {
      // A writer between renaming a new segment into place and creating its log (or a ledger being
      // created): the segments hold everything, and the active segment is empty.
      active_.Reset(frontier_.size(), frontier_);
    } else {
      if (Status s = CreateWalLocked(frontier_.size(), frontier_); !s.ok()) return s;
    }
  } else {
    wal_path_ = Path(format::WalFileName(*wal_index));
    auto bytes = ReadWholeFile(wal_path_);
    if (!bytes.ok()) return bytes.status();
    bool head_checked = false;
    const MerkleFrontier expected_start = frontier_;
    const bool follows = !segments_.empty() || sealing_ != nullptr;
    auto replay = ReplayWal(wal_path_, *bytes, *keyer_, &active_, &frontier_, on_record);
    if (!replay.ok()) return replay.status();
    if (follows && !(replay->frontier_start == expected_start)) {
      return Status::InvalidArgument(wal_path_ + ": its start frontier is not the end frontier of " +
                                     (sealing_ ? sealing_->old_wal : segments_.back()->path()));
    }
    if (replay->frontier_start.size() == head_size && head_size > 0) head_root_seen = replay->frontier_start.Root();
    if (replay->damaged) {
      const uint64_t damaged_record = replay->first_index + replay->records;
      if (damaged_record < head_size) {
        return Status::InvalidArgument(wal_path_ + ": offset " + Str(replay->damage_offset) + ": " + replay->damage +
                                       ", at record " + Str(damaged_record) + ", which a signed tree head covers (" +
                                       Str(head_size) + " records): damage, not a torn write");
      }
    }
    // Read-only: a torn tail is the writer's frame in progress (or a crash it will cut): not read.
    if (replay->damaged && !ro) {
      const uint64_t bytes_cut = bytes->size() - replay->valid_bytes;
      int fd = ::open(wal_path_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(replay->valid_bytes)) != 0 || ::fdatasync(fd) != 0) {
        const int e = errno;
        if (fd >= 0) ::close(fd);
        return Status::IOError(wal_path_ + ": truncate the torn tail: " + ErrnoText(e));
      }
      ::close(fd);
      report_.truncation = LedgerOpenReport::Truncation{wal_path_, replay->valid_bytes, bytes_cut, replay->damage};
    }
    if (head_root_seen) {
      head_checked = true;
      if (*head_root_seen != last_head_->head.root_hash) {
        return Status::InvalidArgument(wal_path_ + ": the records do not reproduce the root of the last signed tree "
                                       "head (size " + Str(head_size) + "): the ledger was changed");
      }
    }
    (void)head_checked;
    if (!ro) {
      wal_fd_ = ::open(wal_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (wal_fd_ < 0) return Status::IOError(wal_path_ + ": " + ErrnoText(errno));
    }
    for (const RowTexts& t : active_.rows().texts) {
      if (active_.rows().kind[t.row] == static_cast<uint8_t>(RecordKind::kVendorDeclaration) && t.texts.size() == 4) {
        ApplyDeclarationLocked(active_.rows().vendor[t.row], VendorInfo{t.texts[0], t.texts[1], t.texts[2], t.texts[3]});
      }
    }
    if (!active_.empty()) active_partition_ = FloorDiv(active_.rows().time_us[0], opt_.partition_us);
  }
  if (frontier_.size() < head_size) {
    return Status::InvalidArgument(Path(kHeadsFileName) + ": the last signed tree head covers " + Str(head_size) +
                                   " records but the ledger holds " + Str(frontier_.size()) +
                                   ": records were removed (a segment or the write-ahead log was truncated)");
  }
  if (!segments_.empty() && last_head_ && head_size == sealed_end && frontier_.size() >= head_size) {
    if (segments_.back()->frontier_end().Root() != last_head_->head.root_hash) {
      return Status::InvalidArgument(segments_.back()->path() +
                                     ": its end frontier does not reproduce the root of the last signed tree head");
    }
  }
  durable_ = frontier_.size();
  return Status::Ok();
}

Status Ledger::Impl::CreateWalLocked(uint64_t first_index, const MerkleFrontier& frontier, bool reset_active) {
  const std::string path = Path(format::WalFileName(first_index));
  if (Status s = WriteFileMaybeSync(path, EncodeWalHeader(first_index, frontier)); !s.ok()) return s;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Status::IOError(path + ": " + ErrnoText(errno));
  if (wal_fd_ >= 0) ::close(wal_fd_);
  wal_fd_ = fd;
  wal_path_ = path;
  if (reset_active) active_.Reset(first_index, frontier);
  return Status::Ok();
}

void Ledger::Impl::ApplyDeclarationLocked(uint16_t index, const VendorInfo& v) {
  if (index < vendors_.size()) {
    vendors_[index] = v;  // a restatement (after retention)
  } else if (index == vendors_.size()) {
    vendors_.push_back(v);
  }
}

// ---- Impl: appending ----

void Ledger::Impl::FailLocked(const Status& s) {
  if (!failed_) {
    failed_ = true;
    fail_status_ = Status::IOError("ledger " + dir_ + " failed and must be reopened: " + s.message());
  }
}

Status Ledger::Impl::ValidateLocked(const LedgerRecord& r) const {
  auto bad = [&](const std::string& what) { return Status::InvalidArgument("ledger record: " + what); };
  if (r.subject.size() > kMaxSubjectBytes) return bad("subject longer than " + Str(kMaxSubjectBytes) + " bytes");
  if (r.insert_id.size() > kMaxInsertIdBytes) return bad("insert_id longer than 255 bytes");
  switch (r.kind) {
    case RecordKind::kDisclosure:
      if (r.vendor >= vendors_.size()) return bad("unknown vendor id " + Str(r.vendor));
      if (r.outcome >= kOutcomeCount) return bad("unknown outcome " + Str(r.outcome));
      if (!r.actor.empty() || !r.detail.empty()) return bad("a disclosure has no actor or detail");
      return Status::Ok();
    case RecordKind::kAdmin:
      if (r.vendor != kNoVendor && r.vendor >= vendors_.size()) return bad("unknown vendor id " + Str(r.vendor));
      if (r.outcome > static_cast<uint8_t>(AdminAction::kLast)) return bad("unknown admin action " + Str(r.outcome));
      if (r.actor.size() > kMaxTextBytes || r.detail.size() > kMaxTextBytes) return bad("actor or detail too long");
      return Status::Ok();
    case RecordKind::kVendorDeclaration:
      return bad("vendor declarations are written by the ledger (LedgerOptions::vendors)");
  }
  return bad("unknown kind " + Str(static_cast<uint8_t>(r.kind)));
}

void Ledger::Impl::BeginBatchLocked() {
  assert(!frame_);
  frame_.emplace(&pending_);
}

Status Ledger::Impl::EndBatchLocked() {
  frame_->Finish();
  frame_.reset();
  if (pending_.size() >= kWriteThreshold) return WritePendingLocked();
  return Status::Ok();
}

Status Ledger::Impl::AddLocked(const LeafFields& in, std::string_view subject, const SubjectHash* subject_hash) {
  const int64_t partition = FloorDiv(in.time_us, opt_.partition_us);
  if (!active_.empty() && (active_.size() >= opt_.max_segment_records || partition > active_partition_)) {
    frame_->Finish();
    frame_.reset();
    Status s = SealLocked();
    frame_.emplace(&pending_);
    if (!s.ok()) return s;
  }
  if (active_.empty()) active_partition_ = partition;
  LeafFields f = in;
  uint32_t subject_id = 0;
  std::string_view new_subject;
  SubjectHash hashed;
  if (!subject.empty()) {
    if (subject_hash == nullptr) {
      hashed = keyer_->Hash(subject);
      subject_hash = &hashed;
    }
    auto id = active_.Find(*subject_hash);
    if (!id) {
      id = active_.Add(subject, *subject_hash);
      new_subject = subject;
    }
    subject_id = *id + 1;
    f.subject = subject_hash;  // the same bytes as active_.hashes()[*id], without touching that table
  } else {
    f.subject = nullptr;
  }
  frontier_.Append(RecordLeafHash(f, &scratch_));
  active_.AppendRow(f, subject_id);
  frame_->Add(f, subject_id, new_subject);
  return Status::Ok();
}

Status Ledger::Impl::AppendDeclarationLocked(int64_t time_us, uint16_t index, const VendorInfo& v) {
  const std::string_view texts[4] = {v.name, v.purpose, v.legal_basis, v.destination_country};
  LeafFields f;
  f.kind = RecordKind::kVendorDeclaration;
  f.time_us = time_us;
  f.vendor = index;
  f.texts = texts;
  if (Status s = AddLocked(f, {}, nullptr); !s.ok()) {
    FailLocked(s);
    return fail_status_;
  }
  ApplyDeclarationLocked(index, v);
  return Status::Ok();
}

Status Ledger::Impl::Append(std::span<const LedgerRecord> records) {
  if (opt_.read_only) return ReadOnlyError();
  // The subjects' keyed hashes, before taking the lock: keyer_ is immutable once open, and the HMAC is
  // the largest share of an append's work, so concurrent appenders compute theirs in parallel.
  thread_local std::vector<SubjectHash> hashes;
  hashes.resize(records.size());
  if (keyer_) {
    for (size_t i = 0; i < records.size(); ++i) {
      if (!records[i].subject.empty()) hashes[i] = keyer_->Hash(records[i].subject);
    }
  }
  std::lock_guard lock(mu_);
  if (closed_) return Status::FailedPrecondition("ledger " + dir_ + " is closed");
  if (failed_) return fail_status_;
  if (sealer_done_.load(std::memory_order_acquire)) {
    if (Status s = ReapSealLocked(false); !s.ok()) return s;
  }
  for (const LedgerRecord& r : records) {
    if (Status s = ValidateLocked(r); !s.ok()) return s;
  }
  // Subject look-ups miss the cache (a table of ~a million random keys): fetch the slot a few records
  // ahead while this record is hashed and encoded.
  constexpr size_t kPrefetchAhead = 8;
  for (size_t i = 0; i < std::min(kPrefetchAhead, records.size()); ++i) {
    if (!records[i].subject.empty()) active_.Prefetch(hashes[i]);
  }
  BeginBatchLocked();
  for (size_t i = 0; i < records.size(); ++i) {
    const LedgerRecord& r = records[i];
    if (i + kPrefetchAhead < records.size() && !records[i + kPrefetchAhead].subject.empty()) {
      active_.Prefetch(hashes[i + kPrefetchAhead]);
    }
    std::string_view texts[2] = {r.actor, r.detail};
    LeafFields f;
    f.kind = r.kind;
    f.time_us = r.time_us;
    f.vendor = r.vendor;
    f.key_epoch = r.key_epoch;
    f.categories = r.categories;
    f.outcome = r.outcome;
    f.insert_id = r.insert_id;
    f.payload_hash = &r.payload_hash;
    if (r.kind == RecordKind::kAdmin) f.texts = texts;
    if (Status s = AddLocked(f, r.subject, r.subject.empty() ? nullptr : &hashes[i]); !s.ok()) {
      frame_.reset();
      FailLocked(s);
      return fail_status_;
    }
  }
  if (Status s = EndBatchLocked(); !s.ok()) {
    FailLocked(s);
    return fail_status_;
  }
  return Status::Ok();
}

Status Ledger::Impl::WritePendingLocked() {
  if (pending_.empty()) return Status::Ok();
  Status s = WriteAllTo(wal_fd_, wal_path_, pending_);
  pending_.clear();
  if (!s.ok()) FailLocked(s);
  return s;
}

Status Ledger::Impl::Seal() {
  if (opt_.read_only) return ReadOnlyError();
  std::lock_guard lock(mu_);
  if (closed_) return Status::FailedPrecondition("ledger " + dir_ + " is closed");
  if (failed_) return fail_status_;
  if (Status s = SealLocked(); !s.ok()) return s;
  return ReapSealLocked(/*wait=*/true);
}

Status Ledger::Impl::WaitForSeal() {
  if (opt_.read_only) return Status::Ok();
  std::lock_guard lock(mu_);
  if (failed_) return fail_status_;
  return ReapSealLocked(/*wait=*/true);
}

Status Ledger::Impl::SealLocked() {
  if (active_.empty()) return Status::Ok();
  // One seal at a time: the next segment's file must follow the previous one's.
  if (Status s = ReapSealLocked(/*wait=*/true); !s.ok()) return s;
  if (Status s = WritePendingLocked(); !s.ok()) return s;
  // The old WAL must be complete on disk before a new one follows it: after a crash, Open replays both,
  // and a record lost from the first would leave a gap.
  if (opt_.sync && ::fdatasync(wal_fd_) != 0) {
    const Status s = Status::IOError(wal_path_ + ": fdatasync: " + ErrnoText(errno));
    FailLocked(s);
    return fail_status_;
  }
  std::shared_ptr<SealJob> job(new SealJob, [this](SealJob* j) { RecycleJob(j); });
  job->old_wal = wal_path_;
  SegmentRows rows;
  {
    std::lock_guard spare(spare_mu_);
    job->names = std::move(spare_names_);  // swapped with the active segment's: it keeps the capacity
    spare_names_ = NameList();
    rows = std::move(spare_rows_);
    spare_rows_ = SegmentRows();
  }
  // Leaves active_ empty, starting at frontier_; then it gets the previous segment's row storage.
  job->content = active_.TakeContent(frontier_, vendors_, &job->names, &job->order);
  active_.RecycleRows(std::move(rows));
  if (Status s = CreateWalLocked(frontier_.size(), frontier_, /*reset_active=*/false); !s.ok()) {
    FailLocked(s);
    return fail_status_;
  }
  durable_ = frontier_.size();  // every record is in a WAL (synced, with sync), the new one has none yet
  sealing_ = job;
  if (!opt_.background_seal) return ReapSealLocked(/*wait=*/true);
  SealJob* raw = job.get();  // sealing_ keeps it alive until the sealer is joined
  try {
    sealer_ = std::thread([this, raw] {
      SetCurrentThreadName("vg-ledger-seal");
      if (opt_.seal_hook_for_testing) opt_.seal_hook_for_testing();
      raw->status = WriteSealedSegment(raw);
      sealer_done_.store(true, std::memory_order_release);
    });
  } catch (const std::system_error&) {  // no thread: seal here
    raw->status = WriteSealedSegment(raw);
    sealer_done_.store(true, std::memory_order_release);
  }
  return Status::Ok();
}

Status Ledger::Impl::ReapSealLocked(bool wait) {
  if (!sealing_) return Status::Ok();
  if (sealer_.joinable()) {
    if (!wait && !sealer_done_.load(std::memory_order_acquire)) return Status::Ok();
    sealer_.join();
    sealer_done_.store(false, std::memory_order_relaxed);
  } else if (sealing_->file == nullptr && sealing_->status.ok()) {
    // Not started on a thread (background_seal off, or a job restored by a read-only open, which is
    // never written: ReapSealLocked is not called read-only).
    sealing_->status = WriteSealedSegment(sealing_.get());
  }
  std::shared_ptr<SealJob> job = std::move(sealing_);
  sealing_.reset();
  if (!job->status.ok()) {
    FailLocked(job->status);
    return fail_status_;
  }
  segments_.push_back(job->file);
  return Status::Ok();  // the job's storage goes back to the spare set when its last reference goes
}

void Ledger::Impl::RecycleJob(SealJob* job) {
  {
    std::lock_guard spare(spare_mu_);
    spare_rows_ = std::move(job->content.rows);
    spare_names_ = std::move(job->names);
  }
  delete job;
}

Status Ledger::Impl::WriteSealedSegment(SealJob* job) {
  const SegmentContent& content = job->content;
  const uint64_t first = content.first_index;
  SegmentEncodeOptions eo;
  eo.block_rows = opt_.block_rows;
  eo.zstd_level = opt_.zstd_level;
  const std::string seg_path = Path(format::SegmentFileName(first));
  const std::string names_path = Path(format::NamesFileName(first));
  // The names in hash order, read through the permutation (no sorted copy of the list).
  Status s = WriteFileMaybeSync(names_path, EncodeNames(first, job->names, job->order, eo.page_entries, eo.zstd_level));
  if (s.ok()) {
    EncodeSegment(content, eo, &seal_buffer_);
    s = WriteFileMaybeSync(seg_path, seal_buffer_);
  }
  if (s.ok() && ::unlink(job->old_wal.c_str()) != 0) s = Status::IOError(job->old_wal + ": delete: " + ErrnoText(errno));
  if (s.ok() && opt_.sync) s = SyncDirectory(dir_);
  if (!s.ok()) return s;
  auto seg = SegmentFile::Open(seg_path);
  if (!seg.ok()) return seg.status();
  job->file = *seg;
  return Status::Ok();
}

Status Ledger::Impl::Flush(bool force_head) {
  if (opt_.read_only) return ReadOnlyError();
  uint64_t my_target;
  {
    std::lock_guard lock(mu_);
    if (failed_) return fail_status_;
    my_target = frontier_.size();
  }
  if (opt_.flush_hook_for_testing) opt_.flush_hook_for_testing();
  std::lock_guard flush_lock(flush_mu_);
  int fd = -1;
  uint64_t target = 0;
  MerkleFrontier snapshot;
  bool can_sign = false;  // snapshot is exactly what will be durable when this returns
  {
    std::lock_guard lock(mu_);
    if (failed_) return fail_status_;
    if (wal_fd_ < 0) return Status::Ok();  // closed
    can_sign = durable_ >= my_target ? durable_ == frontier_.size() : true;
    if (durable_ < my_target) {
      if (Status s = WritePendingLocked(); !s.ok()) return fail_status_;
      if (opt_.sync) {
        fd = ::dup(wal_fd_);
        if (fd < 0) {
          FailLocked(Status::IOError(wal_path_ + ": dup: " + ErrnoText(errno)));
          return fail_status_;
        }
      }
      target = frontier_.size();  // all of it is in the WAL now (pending_ was written)
    } else {
      // Our records are durable already (a seal, or another Flush, wrote them). Records appended since,
      // e.g. after a seal inside another thread's Append, may still be only in pending_: this call wrote
      // nothing, so it must not claim them (a later Flush would then skip the write and sign over them).
      target = durable_;
    }
    snapshot = frontier_;  // signed only when can_sign: then durable_ == frontier_.size() or all was written
  }
  if (fd >= 0) {
    const int rc = ::fdatasync(fd);
    const int e = errno;
    ::close(fd);
    if (rc != 0) {
      std::lock_guard lock(mu_);
      FailLocked(Status::IOError(wal_path_ + ": fdatasync: " + ErrnoText(e)));
      return fail_status_;
    }
  }
  {
    std::lock_guard lock(mu_);
    durable_ = std::max(durable_, target);
  }
  // A signed tree head for what is now durable.
  const int64_t now = Now();
  const uint64_t last_size = last_head_ ? last_head_->head.tree_size : 0;
  if (!can_sign || snapshot.size() == 0 || snapshot.size() <= last_size || heads_fd_ < 0) return Status::Ok();
  if (!force_head && last_head_time_us_ != INT64_MIN && now - last_head_time_us_ < opt_.head_interval_us) {
    return Status::Ok();
  }
  TreeHead head;
  head.tree_size = snapshot.size();
  head.root_hash = snapshot.Root();
  head.timestamp_ms = static_cast<uint64_t>(std::max<int64_t>(now, 0) / 1000);
  const SignedTreeHead sth = signer_->Sign(head);
  const std::string heads_path = Path(kHeadsFileName);
  Status s = WriteAllTo(heads_fd_, heads_path, EncodeHeadEntry(sth));
  if (s.ok() && opt_.sync && ::fdatasync(heads_fd_) != 0) {
    s = Status::IOError(heads_path + ": fdatasync: " + ErrnoText(errno));
  }
  if (!s.ok()) return s;  // the records are durable; only this head is lost
  last_head_time_us_ = now;
  std::lock_guard lock(mu_);
  last_head_ = sth;
  return Status::Ok();
}

Status Ledger::Impl::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Ok();
    if (opt_.read_only) {
      closed_ = true;  // nothing to flush or sign; queries keep working
      return Status::Ok();
    }
  }
  Status s = Flush(/*force_head=*/true);
  std::lock_guard flush_lock(flush_mu_);
  std::lock_guard lock(mu_);
  if (Status sealed = ReapSealLocked(/*wait=*/true); !sealed.ok() && s.ok()) s = sealed;
  closed_ = true;
  if (wal_fd_ >= 0) ::close(wal_fd_);
  wal_fd_ = -1;
  if (heads_fd_ >= 0) ::close(heads_fd_);
  heads_fd_ = -1;
  if (lock_fd_ >= 0) ::close(lock_fd_);  // another process may open it now; queries here keep working
  lock_fd_ = -1;
  return s;
}

std::optional<uint16_t> Ledger::Impl::VendorId(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (size_t i = vendors_.size(); i-- > 0;) {
    if (vendors_[i].name == name) return static_cast<uint16_t>(i);
  }
  return std::nullopt;
}

std::vector<VendorInfo> Ledger::Impl::vendors() const {
  std::lock_guard lock(mu_);
  return vendors_;
}

uint64_t Ledger::Impl::size() const {
  std::lock_guard lock(mu_);
  return frontier_.size();
}

std::optional<SignedTreeHead> Ledger::Impl::last_head() const {
  std::lock_guard lock(mu_);
  return last_head_;
}

// ---- Impl: erasure and retention ----

StatusOr<EraseResult> Ledger::Impl::Erase(std::string_view subject, std::string_view actor, int64_t time_us) {
  if (opt_.read_only) return ReadOnlyError();
  if (subject.empty()) return Status::InvalidArgument("ledger erase: empty identifier");
  if (actor.size() > kMaxTextBytes) return Status::InvalidArgument("ledger erase: actor too long");
  std::lock_guard admin(admin_mu_);
  EraseResult result;
  result.subject_hash = keyer_->Hash(subject);
  std::vector<std::shared_ptr<const SegmentFile>> segments;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::FailedPrecondition("ledger " + dir_ + " is closed");
    if (failed_) return fail_status_;
    if (active_.Find(result.subject_hash)) {
      if (Status s = SealLocked(); !s.ok()) return s;
      result.sealed_active = true;
    }
    // The name table to rewrite must exist: wait for a seal in flight (this one's or an earlier one).
    if (Status s = ReapSealLocked(/*wait=*/true); !s.ok()) return s;
    segments = segments_;
  }
  for (const auto& seg : segments) {
    auto id = seg->FindSubject(result.subject_hash);
    if (!id.ok()) return id.status();
    if (!*id) continue;
    const std::string names_path = Path(format::NamesFileName(seg->first_index()));
    auto table = ReadNames(names_path);
    if (!table.ok()) return table.status();
    if (**id >= table->names.size()) {
      return Status::InvalidArgument(names_path + ": has fewer names than " + seg->path() + " has subjects");
    }
    if (table->names[**id].empty()) continue;  // erased before
    std::vector<std::string> names = table->names.ToStrings();
    names[**id].clear();
    const std::string bytes =
        EncodeNames(seg->first_index(), NameList::FromStrings(names), table->page_entries, opt_.zstd_level);
    if (Status s = ReplaceFileDurably(names_path, bytes, 0644); !s.ok()) return s;
    ++result.segments;
  }
  const std::string detail = "erased the identifier with keyed hash " + SubjectHashHex(result.subject_hash) +
                             " from " + Str(result.segments) + " segment name tables";
  const LedgerRecord record = LedgerRecord::Admin(time_us, AdminAction::kErase, kNoVendor, actor, detail);
  if (Status s = Append({&record, 1}); !s.ok()) return s;
  if (Status s = Flush(false); !s.ok()) return s;
  return result;
}

StatusOr<RetentionResult> Ledger::Impl::ApplyRetention(int64_t older_than_us, std::string_view actor,
                                                       int64_t time_us) {
  if (opt_.read_only) return ReadOnlyError();
  if (actor.size() > kMaxTextBytes) return Status::InvalidArgument("ledger retention: actor too long");
  std::lock_guard admin(admin_mu_);
  RetentionResult result;
  std::vector<std::shared_ptr<const SegmentFile>> drop;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::FailedPrecondition("ledger " + dir_ + " is closed");
    if (failed_) return fail_status_;
    if (Status s = ReapSealLocked(/*wait=*/true); !s.ok()) return s;
    for (const auto& seg : segments_) {
      if (seg->time_max() >= older_than_us) break;
      drop.push_back(seg);
    }
    if (drop.empty()) {
      result.first_retained_index = segments_.empty() ? active_.first_index() : segments_.front()->first_index();
      return result;
    }
    result.segments_dropped = drop.size();
    result.records_dropped = drop.back()->end_index() - drop.front()->first_index();
    result.first_retained_index = drop.back()->end_index();
    char detail[256];
    std::snprintf(detail, sizeof detail,
                  "dropped records [%" PRIu64 ", %" PRIu64 "): %" PRIu64 " segments whose records are all older than "
                  "%" PRId64 " us",
                  drop.front()->first_index(), drop.back()->end_index(), static_cast<uint64_t>(drop.size()),
                  older_than_us);
    const std::string_view texts[2] = {actor, detail};
    LeafFields f;
    f.kind = RecordKind::kAdmin;
    f.time_us = time_us;
    f.vendor = kNoVendor;
    f.outcome = static_cast<uint8_t>(AdminAction::kRetention);
    f.texts = texts;
    BeginBatchLocked();
    if (Status s = AddLocked(f, {}, nullptr); !s.ok()) {
      frame_.reset();
      FailLocked(s);
      return fail_status_;
    }
    // Restate every declaration, so the retained tree declares each vendor id it uses.
    const std::vector<VendorInfo> table = vendors_;
    for (size_t i = 0; i < table.size(); ++i) {
      if (Status s = AppendDeclarationLocked(time_us, static_cast<uint16_t>(i), table[i]); !s.ok()) {
        frame_.reset();
        return s;
      }
    }
    if (Status s = EndBatchLocked(); !s.ok()) {
      FailLocked(s);
      return fail_status_;
    }
  }
  if (Status s = Flush(false); !s.ok()) return s;
  {
    std::lock_guard lock(mu_);
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop.size()));
  }
  for (const auto& seg : drop) {
    const std::string names_path = Path(format::NamesFileName(seg->first_index()));
    if (::unlink(seg->path().c_str()) != 0 && errno != ENOENT) {
      return Status::IOError(seg->path() + ": delete: " + ErrnoText(errno));
    }
    if (::unlink(names_path.c_str()) != 0 && errno != ENOENT) {
      return Status::IOError(names_path + ": delete: " + ErrnoText(errno));
    }
  }
  if (Status s = SyncDirectory(dir_); !s.ok()) return s;
  // The retention record may have started a seal (a later day): finish it, so the caller sees the
  // ledger's files as they will stay (as when seals ran in the appending thread).
  if (Status s = WaitForSeal(); !s.ok()) return s;
  return result;
}

// ---- Ledger facade ----

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

StatusOr<std::unique_ptr<Ledger>> Ledger::Open(LedgerOptions options) {
  if (options.read_only) {
    // A writer may seal (a segment appears, its log goes) or drop segments between our listing and our
    // reads, and a listing taken during such a change may show neither the old nor the new state. So the
    // open is accepted only when a second listing after it shows the same files; otherwise it is tried
    // again (whatever it answered: an error may be an artifact of the change, and a success a snapshot
    // that mixes both states).
    Status last;
    for (int attempt = 0; attempt < kReadOnlyOpenAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1 << (attempt - 1)));
      auto impl = std::make_unique<Impl>(options);
      Status s = impl->Open();
      if (!impl->listed()) {
        if (!s.ok()) return s;  // failed before reading the changing part (no directory, no key)
      }
      LedgerDirListing after;
      Status listed = ListLedgerDir(options.dir, &after);
      if (!listed.ok()) return s.ok() ? listed : s;
      if (impl->listed() && after.SameFiles(impl->listing())) {
        if (!s.ok()) return s;
        return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
      }
      last = s;
    }
    return Status::Unavailable("ledger " + options.dir + ": its files kept changing while they were read (a writer "
                               "sealing or dropping segments); gave up after " + Str(kReadOnlyOpenAttempts) +
                               " attempts" + (last.ok() ? std::string() : ": last error: " + last.message()));
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status s = impl->Open(); !s.ok()) return s;
  if (Status s = impl->Flush(false); !s.ok()) return s;
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

StatusOr<std::unique_ptr<Ledger>> Ledger::OpenReadOnly(const std::string& dir) {
  LedgerOptions options;
  options.dir = dir;
  options.read_only = true;
  return Open(std::move(options));
}

Status Ledger::Close() { return impl_->Close(); }
const LedgerOpenReport& Ledger::open_report() const { return impl_->report_; }
bool Ledger::read_only() const { return impl_->read_only(); }
std::optional<uint16_t> Ledger::VendorId(std::string_view name) const { return impl_->VendorId(name); }
std::vector<VendorInfo> Ledger::vendors() const { return impl_->vendors(); }
Status Ledger::Append(std::span<const LedgerRecord> records) { return impl_->Append(records); }
Status Ledger::Flush() { return impl_->Flush(false); }
uint64_t Ledger::size() const { return impl_->size(); }
std::optional<SignedTreeHead> Ledger::last_head() const { return impl_->last_head(); }
PublicKey Ledger::public_key() const { return impl_->public_key(); }
StatusOr<std::vector<WhoEntry>> Ledger::Who(std::string_view vendor, int64_t from_us, int64_t to_us,
                                            OutcomeMask outcomes) const {
  return impl_->Who(vendor, from_us, to_us, outcomes);
}
StatusOr<SubjectAnswer> Ledger::Subject(std::string_view subject, OutcomeMask outcomes) const {
  return impl_->Subject(subject, outcomes);
}
StatusOr<std::vector<VendorSummary>> Ledger::Vendors(int64_t since_us, OutcomeMask outcomes, int64_t until_us) const {
  return impl_->Vendors(since_us, outcomes, until_us);
}
StatusOr<std::vector<AuditRecord>> Ledger::Audit(int64_t since_us, int64_t until_us, size_t limit) const {
  return impl_->Audit(since_us, until_us, limit);
}
StatusOr<EraseResult> Ledger::Erase(std::string_view subject, std::string_view actor, int64_t time_us) {
  return impl_->Erase(subject, actor, time_us);
}
StatusOr<RetentionResult> Ledger::ApplyRetention(int64_t older_than_us, std::string_view actor, int64_t time_us) {
  return impl_->ApplyRetention(older_than_us, actor, time_us);
}
Status Ledger::SealForTesting() { return impl_->Seal(); }
Status Ledger::WaitForSeal() { return impl_->WaitForSeal(); }

}  // namespace vg::ledger
