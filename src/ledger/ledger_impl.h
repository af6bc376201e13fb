// Ledger::Impl: the state behind the Ledger facade (ledger.h), shared by ledger.cc (open, append, seal,
// flush, erase, retention) and ledger_query.cc (who, subject, vendors). Internal to src/ledger.
//
// Locking: mu_ guards the active segment, the frontier, the segment list, the vendor table and the WAL
// buffer; flush_mu_ serializes fdatasync and tree-head writing (taken before mu_, never while holding it);
// admin_mu_ serializes Erase and ApplyRetention (taken before the others).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/ledger_segment.h"
#include "ledger/ledger_wal.h"

namespace vg::ledger {

inline constexpr size_t kHeadEntryBytes = 4 + kSignedTreeHeadBytes;
inline constexpr std::string_view kHeadsFileName = "heads.log";
inline constexpr std::string_view kSubjectKeyFileName = "subject.key";
inline constexpr std::string_view kHeadKeyFileName = "head.key";
inline constexpr std::string_view kHeadPubFileName = "head.pub";

// The entries of heads.log. `torn_bytes`: a partial last entry (a crash mid-write). A complete entry
// whose CRC fails is damage: InvalidArgument naming the offset (and *bad_offset).
struct HeadsFile {
  std::vector<SignedTreeHead> heads;
  std::vector<uint64_t> offsets;
  uint64_t valid_bytes = 0;
  uint64_t torn_bytes = 0;
};
[[nodiscard]] StatusOr<HeadsFile> ReadHeadsFile(const std::string& path, int64_t* bad_offset = nullptr);
std::string EncodeHeadEntry(const SignedTreeHead& head);

// The ledger files in a directory, by first record index (sorted), and the *.tmp leftovers. Two
// listings compare equal when the same segments, name tables and logs are there.
struct LedgerDirListing {
  std::vector<uint64_t> segments, names, wals;
  std::vector<std::string> tmp;
  bool SameFiles(const LedgerDirListing& o) const {
    return segments == o.segments && names == o.names && wals == o.wals;
  }
};
// IOError naming `dir` when it cannot be listed (NotFound when it does not exist).
[[nodiscard]] Status ListLedgerDir(const std::string& dir, LedgerDirListing* out);

// "dropped records [a, b): ..." -> b; false for other texts.
bool ParseRetentionDetail(std::string_view detail, uint64_t* first, uint64_t* end);

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// A segment being sealed (LedgerOptions::background_seal): its sealed form, immutable once the job is
// started, so queries read it without a lock while the sealer encodes it. `old_wal` holds its records
// until the segment is in place. `status` and `file` are the sealer's result, read after it is joined.
struct SealJob {
  SegmentContent content;       // content.subject_names is empty: the names are below
  NameList names;               // by the active segment's local id
  std::vector<uint32_t> order;  // content's local id (hash order) -> index into `names`
  std::string_view Name(uint32_t id) const { return names[order[id]]; }
  std::string old_wal;
  Status status;
  std::shared_ptr<const SegmentFile> file;
};

class Ledger::Impl {
 public:
  explicit Impl(LedgerOptions opt);
  ~Impl();

  Status Open();
  Status Close();
  bool read_only() const { return opt_.read_only; }
  // Read-only opens: whether the directory was listed, and that listing (Ledger::Open compares it with a
  // listing taken after the open to detect a writer's concurrent seal).
  bool listed() const { return listed_; }
  const LedgerDirListing& listing() const { return listing_; }
  Status Append(std::span<const LedgerRecord> records);
  Status Flush(bool force_head);
  Status Seal();
  Status WaitForSeal();

  std::optional<uint16_t> VendorId(std::string_view name) const;
  std::vector<VendorInfo> vendors() const;
  uint64_t size() const;
  std::optional<SignedTreeHead> last_head() const;
  PublicKey public_key() const { return public_key_; }

  StatusOr<std::vector<WhoEntry>> Who(std::string_view vendor, int64_t from_us, int64_t to_us,
                                      OutcomeMask outcomes) const;
  StatusOr<SubjectAnswer> Subject(std::string_view subject, OutcomeMask outcomes) const;
  StatusOr<std::vector<VendorSummary>> Vendors(int64_t since_us, OutcomeMask outcomes, int64_t until_us) const;
  StatusOr<std::vector<AuditRecord>> Audit(int64_t since_us, int64_t until_us, size_t limit) const;
  StatusOr<EraseResult> Erase(std::string_view subject, std::string_view actor, int64_t time_us);
  StatusOr<RetentionResult> ApplyRetention(int64_t older_than_us, std::string_view actor, int64_t time_us);

  LedgerOpenReport report_;

 private:
  std::string Path(std::string_view name) const { return dir_ + "/" + std::string(name); }
  int64_t Now() const { return opt_.now_us(); }
  Status WriteFileMaybeSync(const std::string& path, std::string_view data);

  // All of these require mu_.
  Status ValidateLocked(const LedgerRecord& r) const;
  void BeginBatchLocked();
  // `subject_hash`: keyer_->Hash(subject) when the caller has it already (else null: computed here).
  Status AddLocked(const LeafFields& f, std::string_view subject, const SubjectHash* subject_hash);
  Status EndBatchLocked();
  Status AppendDeclarationLocked(int64_t time_us, uint16_t index, const VendorInfo& v);
  Status WritePendingLocked();
  // Turns the active segment into a SealJob and starts a new WAL; the job runs on the sealer thread
  // (background_seal) or here. Waits for a seal in flight first.
  Status SealLocked();
  // Joins a finished seal (`wait`: or waits for one in flight; the sealer never takes mu_) and publishes
  // its segment (or fails the ledger). No-op without a seal in flight.
  Status ReapSealLocked(bool wait);
  // The sealer's work: writes the name table and the segment, deletes the old WAL, opens the segment.
  // Touches no state guarded by mu_ (only `job` and seal_buffer_, which only one seal uses at a time).
  Status WriteSealedSegment(SealJob* job);
  void FailLocked(const Status& s);
  void ApplyDeclarationLocked(uint16_t index, const VendorInfo& v);

  Status OpenReadOnly();
  Status ReadOnlyError() const;
  Status RecoverHeads();
  Status RecoverSegments();
  // `reset_active`: false when active_ is already empty and starts at first_index (after TakeContent).
  Status CreateWalLocked(uint64_t first_index, const MerkleFrontier& frontier, bool reset_active = true);

  LedgerOptions opt_;
  std::string dir_;
  int lock_fd_ = -1;
  std::optional<SubjectKeyer> keyer_;
  std::optional<TreeHeadSigner> signer_;  // absent when read-only
  PublicKey public_key_{};
  bool has_public_key_ = false;
  bool listed_ = false;
  LedgerDirListing listing_;

  mutable std::mutex admin_mu_;
  mutable std::mutex flush_mu_;
  mutable std::mutex mu_;
  // Guarded by mu_.
  std::vector<std::shared_ptr<const SegmentFile>> segments_;
  ActiveSegment active_;
  int64_t active_partition_ = 0;
  MerkleFrontier frontier_;
  std::vector<VendorInfo> vendors_;
  int wal_fd_ = -1;
  std::string wal_path_;
  std::string pending_;  // WAL bytes not yet written
  std::optional<WalFrame> frame_;
  uint64_t durable_ = 0;
  bool failed_ = false;
  Status fail_status_;
  bool closed_ = false;
  std::string scratch_;
  std::string seal_buffer_;  // the segment file being sealed; kept for the next seal (used by one seal at a time)
  // The row columns and name list of the segment sealed before, kept for the next active segment (one
  // that starts empty grows every column by doubling: copies and fresh pages, ~5 % of an append). A
  // SealJob gives them back when its last reference goes (RecycleJob, in whichever thread drops it: the
  // reaper, or a query that still read the segment being sealed). Lock order: mu_, then spare_mu_.
  std::mutex spare_mu_;
  SegmentRows spare_rows_;  // guarded by spare_mu_
  NameList spare_names_;    // guarded by spare_mu_
  void RecycleJob(SealJob* job);
  std::shared_ptr<SealJob> sealing_;  // the segment being sealed, if any (read-only: a crashed writer's)
  std::thread sealer_;                // joinable while a background seal is in flight or unreaped
  std::atomic<bool> sealer_done_{false};
  std::optional<SignedTreeHead> last_head_;
  // Guarded by flush_mu_.
  int heads_fd_ = -1;
  int64_t last_head_time_us_ = INT64_MIN;
};

}  // namespace vg::ledger
