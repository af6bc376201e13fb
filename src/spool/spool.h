// Spool: the durable, per-vendor queue between the policy stage and delivery (issue #4).
//
// Every accepted event is written here before the client gets its 2xx, in the form one vendor will
// receive it (its policy already applied; the raw event never reaches the spool). One append-only log of
// segment files in one directory, shared by all vendors (format: spool_format.h). Each vendor has a
// cursor, the highest sequence number it acknowledged; a segment is deleted once no vendor has a pending
// record in it. Delivery is at least once: a record is pending until its vendor's Ack is durable.
//
// Writing (group commit, as leveldb's writers_ queue): Append encodes and checksums a unit (one request's
// records) in the caller's thread and queues it; one writer thread takes everything queued, writes it with
// one pwritev and syncs it with one fdatasync, then calls each unit's callback. A unit is all-or-nothing,
// also across a crash: its last record carries an end-of-unit flag, and recovery drops a unit whose end
// is missing.
//
// Memory: 32 bytes per pending record (its position); payloads stay on disk. Reads copy positions under
// the spool's lock and read the files outside it, so they hold up appends only briefly.
//
// Recovery (Open): segments are validated from the oldest one any vendor still needs to the end. A torn
// or damaged tail of the LAST segment (a crash mid-write) is truncated to the end of the last complete
// unit, and logged. Damage anywhere else is an error naming the segment file and offset, unless
// SpoolOptions::repair is set, which truncates the damaged segment there (its later records are lost)
// and carries on. Each Open then starts a new segment, so a segment is never appended to across runs.
//
// Vendors: named in SpoolOptions::vendors; a SpoolVendorId is the index in that list. Records on disk for
// a vendor name that is no longer configured are treated as discarded at Open: they are reported to
// SpoolOptions::on_orphaned and in open_report(), and the vendor's cursor is moved past them, so they never
// block segment deletion (re-adding the vendor later does not resend them).
//
// Errors: Append's refusals are immediate and nothing is written —
//   Unavailable  quota full (disk quota or write backlog), or the spool is closed: retrying later can
//                help (the gateway answers 503). Stats() counts quota and backlog refusals separately.
//   TooLarge     the unit can never fit (larger than a segment or the per-record limit): answer 413.
//   InvalidArgument  empty unit, unknown vendor id, meta over 64 KiB.
//   IOError      the spool failed (a write could not be undone or an fdatasync failed); every later
//                Append fails the same way until the process reopens the spool, which recovers.
// Damage found by Open or Read is reported as IOError with the segment file and offset in the message.
//
// Thread-safety: every method may be called from any thread concurrently. Completion callbacks run on
// the writer thread and must be quick (post to an io_context); they must not call Close().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vg {

enum class FsyncPolicy {
  kAlways,    // ack after fdatasync: survives power loss (the default)
  kInterval,  // ack after write(); fdatasync every fsync_interval: a kill -9 loses nothing, power loss
              // loses at most the last interval
  kNever,     // ack after write(); the OS writes back when it likes (segments are still synced on rollover)
};
std::string_view FsyncPolicyName(FsyncPolicy p);  // "always" | "interval" | "never"
[[nodiscard]] StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view name);

using SpoolVendorId = uint16_t;

// One record to append: `payload` is exactly what the vendor will receive; `kind` is the caller's code
// (the outbound endpoint); `meta` is a small caller blob (at most 65535 bytes) returned with the record,
// e.g. what the ledger needs to name the event. Views need to stay valid only during Append.
struct SpoolEntry {
  SpoolVendorId vendor = 0;
  uint8_t kind = 0;
  std::string_view payload;
  std::string_view meta;
};

// A record read back. The views point into the SpoolBatch that holds it.
struct SpoolRecordView {
  uint64_t seq = 0;
  uint8_t kind = 0;
  int64_t accept_unix_us = 0;
  std::string_view payload;
  std::string_view meta;
};

// Records read for one vendor, in sequence order. Movable; views stay valid while the batch lives.
struct SpoolBatch {
  std::vector<SpoolRecordView> records;
  std::vector<std::unique_ptr<char[]>> buffers;  // what the views point into
  bool empty() const { return records.empty(); }
  uint64_t last_seq() const { return records.empty() ? 0 : records.back().seq; }
};

// A record dropped without being sent (Discard, or a vendor no longer configured). Views are valid
// during the callback only.
struct DiscardedRecord {
  std::string_view vendor;
  uint64_t seq = 0;
  uint8_t kind = 0;
  int64_t accept_unix_us = 0;
  uint32_t payload_bytes = 0;
  std::string_view meta;
};
using DiscardFn = std::function<void(const DiscardedRecord&)>;

// Called once per accepted unit when it is durable (per the fsync policy): the first record's sequence
// number (the unit's records have consecutive numbers in entry order), or the error that lost it.
using CommitCallback = std::function<void(StatusOr<uint64_t> first_seq)>;

// Fault injection for tests: called before each write or sync of a segment; a non-zero errno makes that
// operation fail with it (a write fails before any byte is written).
enum class SpoolIoOp { kWrite, kSync };
using SpoolFaultFn = std::function<int(SpoolIoOp op)>;

struct SpoolOptions {
  std::string dir;                   // e.g. <data_dir>/spool; created if missing
  std::vector<std::string> vendors;  // SpoolVendorId = index; names 1..255 bytes, unique, at most 1024
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::chrono::milliseconds fsync_interval{200};  // kInterval only
  uint64_t segment_bytes = 64ull << 20;           // roll over when the next unit would not fit; <= 1 GiB
  // Total size of the segment files (plus units queued for writing) at which Append refuses; 0 = no
  // limit. Must be at least 2 x segment_bytes (the active segment is never deleted). A rollover may go
  // beyond it by one segment header (42 bytes + the vendor names).
  uint64_t quota_bytes = 8ull << 30;
  uint64_t max_backlog_bytes = 64ull << 20;  // units queued but not yet written
  uint32_t max_record_bytes = 16u << 20;     // payload + meta of one record
  bool repair = false;                       // truncate damaged segments instead of failing Open
  DiscardFn on_orphaned;                     // records of vendors no longer configured (during Open)
  SpoolFaultFn fault;                        // tests only
};

struct VendorSpoolStats {
  std::string vendor;
  uint64_t acked_seq = 0;
  uint64_t pending_records = 0;      // appended and not yet acknowledged (read or not)
  uint64_t pending_bytes = 0;        // payload + meta bytes of those
  int64_t oldest_accept_unix_us = 0;  // of the oldest pending record; 0 when none
};

struct SpoolStats {
  std::vector<VendorSpoolStats> vendors;  // in SpoolVendorId order
  uint64_t disk_bytes = 0;                // segment files
  uint64_t backlog_bytes = 0;             // queued or being written
  uint64_t quota_bytes = 0;
  uint64_t segments = 0;
  uint64_t last_seq = 0;  // of the last durable record
  uint64_t appended_units = 0;
  uint64_t appended_records = 0;
  uint64_t write_batches = 0;  // pwritev groups (one per group commit, more on rollover)
  uint64_t fsyncs = 0;         // fdatasync calls on segments
  uint64_t refused_quota = 0;
  uint64_t refused_backlog = 0;
  uint64_t failed_units = 0;  // accepted units whose write or sync failed
  uint64_t segments_deleted = 0;
  bool failed = false;  // the spool refuses appends until reopened
};

struct SpoolOpenReport {
  uint64_t segments = 0;          // found on disk
  uint64_t segments_scanned = 0;  // validated record by record
  uint64_t records_scanned = 0;
  uint64_t segments_deleted = 0;  // fully acknowledged ones removed
  struct Truncation {
    std::string segment;  // file path
    uint64_t offset = 0;  // new length of the file
    uint64_t bytes_cut = 0;
    std::string reason;  // what was found at the damage
  };
  std::vector<Truncation> truncations;  // the torn tail, and damaged segments cut in repair mode
  struct Orphaned {
    std::string vendor;
    uint64_t records = 0;
    uint64_t bytes = 0;
  };
  std::vector<Orphaned> orphaned;  // pending records of vendors no longer configured, now discarded
  bool cursors_reset = false;      // repair mode found a damaged cursor file: every vendor starts over
};

class Spool {
 public:
  // Opens (or creates) the spool in options.dir, recovers it (see the file comment), and starts the
  // writer thread. Takes an exclusive lock on <dir>/LOCK. Errors: InvalidArgument for bad options,
  // Unavailable when another process holds the lock, IOError for damage (message names segment and
  // offset) or a failing file system.
  [[nodiscard]] static StatusOr<std::unique_ptr<Spool>> Open(SpoolOptions options);
  ~Spool();  // Close()
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Writes what is queued, syncs, and stops the writer. Later Appends fail with Unavailable; reads, Ack
  // and Discard keep working. Idempotent.
  void Close();

  std::optional<SpoolVendorId> FindVendor(std::string_view name) const;
  const std::vector<std::string>& vendors() const;
  const SpoolOpenReport& open_report() const;

  // Queues `entries` as one unit with accept time `accept_unix_us` (every record of the unit). On OK,
  // `done` is called exactly once from the writer thread; on an error return it is never called and
  // nothing was written. See the file comment for the error codes.
  [[nodiscard]] Status Append(std::span<const SpoolEntry> entries, int64_t accept_unix_us, CommitCallback done);
  // Append and wait for the commit: the unit's first sequence number.
  [[nodiscard]] StatusOr<uint64_t> AppendSync(std::span<const SpoolEntry> entries, int64_t accept_unix_us);

  // The vendor's durable, unacknowledged records with seq > after_seq, oldest first: at most max_records
  // records and max_bytes payload+meta bytes, but at least one when there is one. after_seq = 0 reads
  // from the oldest pending record. Each record's checksum is verified. Holds the spool's lock only to
  // look up positions; the file reads happen outside it. Errors: InvalidArgument (vendor id), IOError
  // (a read failed, or a record no longer checks: the message names segment and offset; acknowledging
  // that seq skips it).
  [[nodiscard]] StatusOr<SpoolBatch> Read(SpoolVendorId vendor, uint64_t after_seq, size_t max_records,
                                          size_t max_bytes) const;

  // Marks the vendor's records with seq <= up_to_seq done and persists the cursor before deleting
  // segments nobody needs any more. Cost: one overwrite of a cursor-file slot plus, under kAlways, one
  // fdatasync (concurrent Acks share one); a sender may acknowledge every few batches instead of every
  // one, trading redelivery after a crash for fewer syncs. Acknowledging beyond the last durable record
  // acknowledges up to it; going backwards is a no-op. Errors: InvalidArgument (vendor id), IOError or
  // Unavailable (disk full) when the cursor file cannot be written (the in-memory cursor has moved; the
  // next Ack retries, a crash before that redelivers).
  [[nodiscard]] Status Ack(SpoolVendorId vendor, uint64_t up_to_seq);

  // The kill switch: drops every durable pending record of the vendor. Calls `fn` for each (in order)
  // before the cursor moves past them, so a crash in between reports them again rather than never.
  // Records appended after the call starts stay pending. Returns how many were discarded.
  [[nodiscard]] StatusOr<uint64_t> Discard(SpoolVendorId vendor, const DiscardFn& fn);

  SpoolStats Stats() const;

  class Impl;

 private:
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A read-only check of a spool directory (safe while a gateway runs, though a tail being written may show
// as torn), for `vendorguard spool verify`.
struct SpoolVerifyReport {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;  // segment files
  uint64_t first_seq = 0, last_seq = 0;
  bool has_cursor_file = false;
  struct Vendor {
    std::string name;
    uint64_t acked_seq = 0;  // from the cursor file (0 if absent)
    uint64_t records = 0;    // on disk
    uint64_t pending_records = 0;
    uint64_t pending_bytes = 0;
  };
  std::vector<Vendor> vendors;  // by name
  struct Problem {
    std::string file;
    uint64_t offset = 0;
    std::string message;
    bool torn_tail = false;  // in the last segment: Open truncates it without repair
  };
  std::vector<Problem> problems;  // in file order; the first is the one that matters
  bool ok() const { return problems.empty(); }
};
// Errors: NotFound when `dir` does not exist, IOError when it cannot be listed. Damage is reported in
// the report, not as an error.
[[nodiscard]] StatusOr<SpoolVerifyReport> VerifySpool(const std::string& dir);

}  // namespace vg
