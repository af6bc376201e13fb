// Ledger::Impl: the state behind the Ledger facade (ledger.h), shared by ledger.cc (open, append, seal,
// flush, erase, retention) and ledger_query.cc (who, subject, vendors). Internal to src/ledger.
//
// Locking: mu_ guards the active segment, the frontier, the segment list, the vendor table and the WAL
// buffer; flush_mu_ serializes fdatasync and tree-head writing (taken before mu_, never while holding it);
// admin_mu_ serializes Erase and ApplyRetention (taken before the others).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
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
  Status SealLocked();
  void FailLocked(const Status& s);
  void ApplyDeclarationLocked(uint16_t index, const VendorInfo& v);

  Status OpenReadOnly();
  Status ReadOnlyError() const;
  Status RecoverHeads();
  Status RecoverSegments();
  Status CreateWalLocked(uint64_t first_index, const MerkleFrontier& frontier);

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
  std::string seal_buffer_;  // the segment file being sealed; kept for the next seal
  std::optional<SignedTreeHead> last_head_;
  // Guarded by flush_mu_.
  int heads_fd_ = -1;
  int64_t last_head_time_us_ = INT64_MIN;
};

}  // namespace vg::ledger
