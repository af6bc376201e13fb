// The disclosure ledger (issue #5): a tamper-evident, queryable record of what every vendor received
// about whom. One record per disclosure, per admin action and per vendor declaration (ledger_record.h);
// never the values of an event.
//
// Directory layout (LedgerOptions::dir, mode 0700):
//   LOCK                          flock()ed by the one process that has the ledger open for writing
//   subject.key                   HMAC key for SubjectHash (mode 0600): leaves commit to the keyed hash
//   head.key, head.pub            Ed25519 key that signs tree heads (tree_head.h), and its public half
//   heads.log                     signed tree heads, append-only: each u32 masked CRC32C of the 114 bytes,
//                                 then the SignedTreeHead (RFC 6962 TreeHeadSignature + Ed25519 signature)
//   seg-<first index>.vgl         sealed segments: columnar, rows grouped by vendor, zstd, bounds, subject
//                                 index (ledger_segment.h)
//   seg-<first index>.names       each sealed segment's subject plaintexts (the only place they live)
//   wal-<first index>.log         the active segment's write-ahead log (ledger_wal.h)
//
// Tamper evidence: records are the leaves of one RFC 6962 Merkle tree, in append order (record index =
// leaf index). Every sealed segment stores the Merkle frontier at its start and end, so the tree can be
// resumed and checked from any segment. Signed tree heads are written by Flush (at most one per
// head_interval_us) and by Close. Verify (below) recomputes every leaf from the stored columns and checks
// every head.
//
// Writing: Append encodes each record once (WAL frame, leaf hash, in-memory columns) under the ledger's
// mutex; records are durable after Flush returns (group commit: one fdatasync covers every record appended
// before it, whichever thread appended them). The active segment is sealed when it reaches
// max_segment_records or when a record's time falls in a later partition (UTC day by default): names
// file, then segment file (each written to .tmp, synced, renamed), then the old WAL is deleted. With
// background_seal (the default) the appending thread only turns the active segment into its sealed form
// in memory (subjects sorted by hash), syncs the old WAL and starts a fresh one, and goes on appending;
// a sealer thread writes the segment (about 0.2 s per million records) while queries read it from
// memory. So for a while two WALs exist, the second starting where the first ends; Open after a crash
// then seals the first (or, read-only, reads both) before going on with the second.
//
// Recovery (Open): a WAL frame that is incomplete or fails its CRC after the last signed tree head's size
// is a torn tail: the WAL is truncated there and open_report() says so. Damage at or before a signed
// head's size is never a crash artifact: Open fails, naming the file and offset. A sealed segment whose
// trailer or footer is damaged fails Open the same way (its blocks are checked when read, and by Verify).
// Leftovers of an interrupted seal (a WAL already sealed, *.tmp files, a names file without its segment)
// are removed. The tree must reach the last signed head's size, and match its root where it can be
// recomputed cheaply (the WAL range and segment boundaries).
//
// Erasure (Erase): seals the active segment if it holds the identifier, then rewrites the name table of
// each segment that holds it with that entry blanked. Leaves commit only to the keyed hash, so every root,
// head and proof stays valid. Left behind, by design: the keyed hash (anyone holding subject.key and the
// identifier can still confirm that the ledger has records about it, and Subject() still answers for it
// with the subject shown as erased), and the records' categories, vendors and times, which are the
// accounting of disclosures the law asks the controller to keep. The erasure itself is a ledger record.
//
// Retention (ApplyRetention): drops whole sealed segments whose newest record is older than the cutoff,
// oldest first. First it appends (and syncs) a retention record "dropped records [a, b) ..." and a
// restatement of every vendor declaration, so the retained tree still declares every vendor it uses; then
// it deletes the files. The first retained segment's stored start frontier resumes the tree: roots of
// signed heads at or after it still verify (a forged start frontier cannot reproduce a signed root), and
// Verify accepts missing leading records only when a retention record in the retained tree accounts for
// them. Heads older than the cutoff keep their signatures and are checked as signatures only.
//
// Queries read only what they need: segments outside the time window or without the vendor are skipped
// by their footer bounds; a sealed segment stores its rows grouped by vendor (each row keeps its record
// index, so leaves stay in append order), so row blocks of other vendors or outside the window are
// skipped by their block bounds without being read; and Subject() goes through
// each segment's subject index (one dictionary page and one postings page per segment). Answers merge the
// per-segment runs by SubjectHash, so one person is one entry however many segments they span.
// Times in queries are microseconds since the Unix epoch; windows are half-open [from_us, to_us).
//
// Reading while another process writes (LedgerOptions::read_only, Ledger::OpenReadOnly): the CLI and the
// admin API answer queries from a ledger the gateway holds open and appends to. A read-only open takes no
// LOCK and never creates, truncates, removes or declares anything: it reads subject.key (so Subject() can
// hash identifiers), head.pub (to check the last signed head; no signing key is needed), the heads, the
// segments and the write-ahead log. A partial frame at the end of the log is the writer's write in
// progress and is simply not read. The writer may seal (a new segment appears, the log is deleted) or
// drop segments while the reader lists and reads the directory; the open then retries, and gives up with
// Unavailable after a few attempts. The answer is a snapshot: every record the writer had written (not
// only buffered) when the open read the log, nothing appended later; reopen for newer records.
//
// Thread-safety: every method may be called from any thread concurrently. Queries see every record
// appended before they started.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ledger/ledger_record.h"
#include "ledger/merkle.h"
#include "ledger/tree_head.h"

namespace vg::ledger {

struct LedgerOptions {
  std::string dir;
  // The vendors as configured now. Open appends a vendor declaration for each one that is new or whose
  // purpose, legal basis or destination changed (it gets a new vendor id; older records keep theirs).
  std::vector<VendorInfo> vendors;
  uint32_t max_segment_records = 1u << 20;
  int64_t partition_us = 86'400'000'000;  // time partition of segments: one UTC day
  int64_t head_interval_us = 1'000'000;   // at most one signed tree head per interval from Flush
  bool sync = true;                       // fdatasync at Flush and seal (false: tests and benchmarks)
  int zstd_level = 1;
  uint32_t block_rows = 65536;            // rows per column block in sealed segments
  std::function<int64_t()> now_us;        // clock for tree heads and declarations; default: system clock
  // Open for queries only (see the file comment): `vendors` must be empty; Append, Flush, Erase,
  // ApplyRetention and SealForTesting fail with FailedPrecondition; Close does nothing.
  bool read_only = false;
  // Seal on a background thread: when the active segment is full the appending thread turns it into
  // its sealed form in memory, starts a new write-ahead log and goes on appending, while another thread
  // encodes, writes (and, with `sync`, fsyncs) the segment and its name table and then deletes the old
  // log. Queries see the segment being sealed from memory meanwhile. At most one seal is in flight: a
  // second one waits for the first; Erase, ApplyRetention, SealForTesting, WaitForSeal and Close wait for
  // it. false: the appending thread seals (the behaviour before).
  bool background_seal = true;
  // Tests only: run by the background sealer before it writes anything (no lock held), so a test can
  // query, append or crash while a seal is in flight.
  std::function<void()> seal_hook_for_testing;
  // Tests only: called by Flush after it has noted how many records it must make durable and before it
  // takes the flush lock (no lock held), so a test can append or seal in that window deterministically.
  std::function<void()> flush_hook_for_testing;
  // Tests only (read-only opens): called after the directory was listed and before the files are read,
  // so a test can seal or drop segments in that window deterministically.
  std::function<void()> read_only_listed_hook_for_testing;
};

struct LedgerOpenReport {
  uint64_t segments = 0;       // sealed segments found
  uint64_t records = 0;        // records in the ledger after recovery
  uint64_t wal_records = 0;    // of which in the active segment
  struct Truncation {
    std::string file;
    uint64_t offset = 0;       // the WAL's new length
    uint64_t bytes_cut = 0;
    std::string reason;
  };
  std::optional<Truncation> truncation;  // a torn tail that was cut
  std::vector<std::string> removed;      // leftovers of an interrupted seal or erasure
};

// Which outcomes a query counts. Default: what may have reached the vendor (delivered or dead-lettered).
using OutcomeMask = uint8_t;
inline constexpr OutcomeMask OutcomeBit(Outcome o) { return static_cast<OutcomeMask>(1u << static_cast<int>(o)); }
inline constexpr OutcomeMask kReachedVendor = OutcomeBit(Outcome::kDelivered) | OutcomeBit(Outcome::kDeadLettered);
inline constexpr OutcomeMask kAllOutcomes = kReachedVendor | OutcomeBit(Outcome::kCut);

struct OutcomeCounts {
  uint64_t delivered = 0;
  uint64_t dead_lettered = 0;
  uint64_t cut = 0;
  uint64_t total() const { return delivered + dead_lettered + cut; }
  void Add(uint8_t outcome, uint64_t n = 1) {
    if (outcome == 0) delivered += n;
    else if (outcome == 1) dead_lettered += n;
    else cut += n;
  }
  void Add(const OutcomeCounts& o) {
    delivered += o.delivered;
    dead_lettered += o.dead_lettered;
    cut += o.cut;
  }
  bool operator==(const OutcomeCounts&) const = default;
};

// ledger who: one subject disclosed to the vendor in the window.
struct WhoEntry {
  std::string subject;  // the identifier; empty when it was erased
  bool erased = false;
  SubjectHash subject_hash{};
  uint32_t categories = 0;  // union over the counted records
  int64_t first_us = 0;
  int64_t last_us = 0;
  OutcomeCounts counts;
};

// ledger subject: one vendor (declaration) that received something about the subject.
struct SubjectVendorEntry {
  uint16_t vendor_id = 0;
  VendorInfo vendor;  // name, purpose, legal basis, destination country
  uint32_t categories = 0;
  int64_t first_us = 0;
  int64_t last_us = 0;
  OutcomeCounts counts;
};
struct SubjectAnswer {
  bool found = false;   // the ledger holds records about this identifier
  bool erased = false;  // its identifier was erased (a deletion request); the records remain
  std::vector<SubjectVendorEntry> vendors;  // ascending vendor id
};

// ledger vendors: what each vendor (declaration) really received.
struct VendorSummary {
  uint16_t vendor_id = 0;
  VendorInfo vendor;
  uint32_t categories = 0;
  OutcomeCounts counts;
  uint64_t distinct_subjects = 0;
  int64_t first_us = 0;  // 0 when nothing was counted
  int64_t last_us = 0;
};

// One admin record, as Audit() answers it.
struct AuditRecord {
  int64_t time_us = 0;
  AdminAction action = AdminAction::kOther;
  std::string vendor;  // the vendor's name; empty for records about no vendor
  std::string actor;
  std::string detail;
};

struct EraseResult {
  SubjectHash subject_hash{};
  uint64_t segments = 0;  // name tables rewritten
  bool sealed_active = false;
};

struct RetentionResult {
  uint64_t segments_dropped = 0;
  uint64_t records_dropped = 0;
  uint64_t first_retained_index = 0;
};

class Ledger {
 public:
  // Opens (creating if needed) and recovers the ledger in options.dir (see the file comment). Errors:
  // InvalidArgument for bad options or damage (message names file and offset), Unavailable when another
  // process has it open, IOError for a failing file system.
  [[nodiscard]] static StatusOr<std::unique_ptr<Ledger>> Open(LedgerOptions options);
  // Opens the ledger in `dir` for queries only, while another process may hold it open for writing (see
  // the file comment; options.read_only). Errors: NotFound (naming the path) when `dir` does not exist or
  // holds no ledger (no subject.key); InvalidArgument for damage, as Open; Unavailable when the directory
  // kept changing under a writer through every attempt; IOError for a failing file system.
  [[nodiscard]] static StatusOr<std::unique_ptr<Ledger>> OpenReadOnly(const std::string& dir);
  ~Ledger();  // Close()
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Flushes, signs a final tree head, closes the files. Later Appends fail with FailedPrecondition;
  // queries keep working. Idempotent.
  Status Close();

  const LedgerOpenReport& open_report() const;
  bool read_only() const;

  // The vendor id for the current declaration of `name`.
  std::optional<uint16_t> VendorId(std::string_view name) const;
  // Every declaration, indexed by vendor id.
  std::vector<VendorInfo> vendors() const;

  // Appends records in order (validated first: nothing is appended if one is invalid). InvalidArgument
  // for a record that is malformed (unknown vendor id, vendor declaration kind, oversize fields,
  // unknown outcome); IOError if writing failed, after which every Append fails until the ledger is
  // reopened (which recovers). Not durable until Flush.
  [[nodiscard]] Status Append(std::span<const LedgerRecord> records);
  // Makes every record appended before the call durable, and signs a tree head when head_interval_us
  // has passed since the last one.
  [[nodiscard]] Status Flush();

  uint64_t size() const;  // records in the tree (including any before a retention cutoff)
  std::optional<SignedTreeHead> last_head() const;
  // The key tree heads are signed with (read-only: from head.pub; all zero if that file is absent).
  PublicKey public_key() const;

  // Queries (see the file comment). Who: every subject disclosed to any declaration named `vendor` in
  // [from_us, to_us), in SubjectHash order. NotFound for a vendor never declared.
  [[nodiscard]] StatusOr<std::vector<WhoEntry>> Who(std::string_view vendor, int64_t from_us, int64_t to_us,
                                                   OutcomeMask outcomes = kReachedVendor) const;
  [[nodiscard]] StatusOr<SubjectAnswer> Subject(std::string_view subject, OutcomeMask outcomes = kReachedVendor) const;
  // Per vendor declaration with records at or after since_us (all declarations are listed; those with
  // nothing counted have zero counts).
  [[nodiscard]] StatusOr<std::vector<VendorSummary>> Vendors(int64_t since_us = INT64_MIN,
                                                             OutcomeMask outcomes = kReachedVendor,
                                                             int64_t until_us = INT64_MAX) const;
  // The admin records (pause, cut, policy changes, erasures, sign-ins, account changes...) in
  // [since_us, until_us), newest first, at most `limit` of them (0 = all).
  [[nodiscard]] StatusOr<std::vector<AuditRecord>> Audit(int64_t since_us = INT64_MIN, int64_t until_us = INT64_MAX,
                                                         size_t limit = 0) const;

  // Deletion request: removes the identifier's plaintext from the ledger (see the file comment) and
  // records the erasure (admin record by `actor` at time_us). Flushes.
  [[nodiscard]] StatusOr<EraseResult> Erase(std::string_view subject, std::string_view actor, int64_t time_us);
  // Drops sealed segments whose records are all older than older_than_us (see the file comment).
  [[nodiscard]] StatusOr<RetentionResult> ApplyRetention(int64_t older_than_us, std::string_view actor,
                                                         int64_t time_us);

  // Seals the active segment now (tests; Erase uses it). No-op when it is empty.
  [[nodiscard]] Status SealForTesting();
  // Waits until a background seal in flight (LedgerOptions::background_seal) has written its segment;
  // returns its error if it failed. Close does this too. For benchmarks and tests.
  [[nodiscard]] Status WaitForSeal();

  class Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct VerifyOptions {
  // The key heads must be signed with; default: <dir>/head.pub. Pass the key an auditor holds: an
  // attacker who can rewrite the ledger can also replace head.pub.
  std::optional<PublicKey> public_key;
  // Check each name table entry against its keyed hash (needs <dir>/subject.key; skipped if absent).
  bool check_names = true;
  // Called from the verifying thread as records are recomputed (about every 64Ki records, and once at
  // the end of each segment and of the write-ahead log): `done` records so far, of `total`. `total` is
  // the sealed segments' records from the start, and grows by the write-ahead log's records once that
  // is read. Not called after a problem was found.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct VerifyReport {
  bool ok = false;
  // The first problem, in words: what, where and which records.
  std::string problem;
  std::string file;         // the file where it was found ("" if none applies)
  int64_t offset = -1;      // byte offset in that file, -1 if none applies
  int64_t record = -1;      // the first record index concerned, -1 if none applies
  // What was checked.
  uint64_t segments = 0;
  uint64_t records = 0;           // leaves recomputed
  uint64_t first_record = 0;      // index of the first retained record
  uint64_t heads = 0;             // signatures checked
  uint64_t heads_matched = 0;     // heads whose root was recomputed and matched
  uint64_t names_checked = 0;
  std::vector<std::string> notes;  // e.g. an unflushed WAL tail, heads older than the retained records
};

// Recomputes everything in `dir` (which may be open by a Ledger in another process): every block's CRC,
// every leaf from the stored columns, the frontiers in each footer, the root at every signed head's size,
// each head's signature, that consecutive heads describe one growing tree, the footers' bounds and subject
// indexes, the name tables, and that every missing leading record is accounted for by a retention
// record. Stops at the first problem. Reads only. When the check fails while a writer changed the
// directory's file set (sealed, or dropped segments) during it, it is run again (a few times at most), so
// a concurrent seal is not reported as removed records.
VerifyReport Verify(const std::string& dir, const VerifyOptions& options = {});

}  // namespace vg::ledger
