// Delivery: durable, per-vendor delivery of what the policies produced, and the kill switch (issue #4).
//
// Ingestion hands each request's minimized events to Submit() as one unit; they are written to the spool
// (spool/spool.h: group commit, the fsync policy) and the client gets its 2xx only from the commit
// callback, so an event the SDK saw accepted is durable. One sender thread per vendor reads that vendor's
// records from the spool after its cursor, sends them in the vendor's batch format through a Transport
// (HTTP to the vendor, or the shadow-mode outbox file), and acknowledges them once the vendor did:
// delivery is at least once, and a redelivery carries the same bytes (the same $insert_id). With several
// connections (VendorConfig::connections) the sender and a helper thread per extra connection send the
// batches of one read at once, /engage and /groups batches one after another; the cursor moves past the
// batches settled without a gap, and those settled after an interrupted one are remembered, so they are
// neither sent again nor recorded as cut.
//
// Failures: network errors, 5xx, 408 and 429 are retried with exponential backoff and full jitter,
// honouring Retry-After (capped; given on one connection, it holds all of the vendor's); other 4xx go to
// the vendor's dead-letter file (<data_dir>/deadletter/<vendor>.jsonl) with the vendor's reason, to be
// inspected and re-driven. A vendor's outage holds only its own sender: ingestion goes on into the spool
// until its quota, then answers 503 with Retry-After.
//
// The kill switch: Pause holds a vendor's events in the spool; Resume sends them; Cut stops sending within
// a second (an in-flight request is aborted), discards the vendor's queued events and stops accepting
// events for it. The states are kept in <data_dir>/vendor-state.json and survive restarts.
//
// The disclosure ledger: with a DisclosureRecorder, every event's fate is recorded before its spool record
// is acknowledged: delivered (the vendor acknowledged it), dead-lettered (refused: it may have arrived),
// cut (accepted, then discarded by a cut, never sent); and every state change by an admin. A failing
// recorder holds the vendor's acknowledgements (the events stay pending and are recorded when it recovers);
// a crash between recording and acknowledging sends and records those events again (at least once, like
// delivery). Events discarded by a cut are recorded right after the discard: a crash in between loses
// those cut records, never events.
//
// Thread-safety: every method may be called from any thread.
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
#include "config/config.h"
#include "spool/spool.h"

namespace vg {

// The vendor API a batch goes to (Mixpanel's names). Stored as the spool record's kind.
enum class OutboundEndpoint : uint8_t { kTrack = 0, kImport = 1, kEngage = 2, kGroups = 3 };
std::string_view OutboundPath(OutboundEndpoint e);  // "/track", "/import", "/engage", "/groups"

enum class VendorState { kActive, kPaused, kCut };
std::string_view VendorStateName(VendorState s);  // "active" | "paused" | "cut"

// One vendor as `vendor list` and /metrics show it.
struct VendorStatus {
  std::string name;
  VendorState state = VendorState::kActive;
  bool shadow = false;                 // writes to the outbox file instead of a vendor API
  uint64_t accepted = 0;               // events committed to the spool for it (this process)
  uint64_t delivered = 0;              // events the vendor acknowledged (or written, in shadow mode)
  uint64_t retries = 0;                // failed attempts that were retried
  uint64_t splits = 0;                 // refused batches sent again in halves, to find the refused events
  uint32_t connections = 1;            // to the vendor (VendorConfig::connections; 1 in shadow mode)
  uint32_t in_flight = 0;              // requests sent and not yet answered, now
  uint64_t dead_lettered = 0;          // events the vendor refused for good
  uint64_t discarded = 0;              // events dropped by a cut
  uint64_t pending = 0;                // in the spool, not yet acknowledged
  uint64_t pending_bytes = 0;
  double oldest_pending_age_s = 0;     // of the oldest pending event; 0 when none
  double delivered_per_s = 0;          // over the last 10 seconds
  double accepted_per_s = 0;           // over the last 10 seconds
  uint64_t dead_letters_in_file = 0;   // events now in the dead-letter file (re-drivable)
  std::string last_error;              // the last failed attempt's reason ("" when none since start)
  int64_t last_error_unix_s = 0;
};

// A dead-lettered event, as stored (without the event itself unless asked for).
struct DeadLetter {
  uint64_t seq = 0;                 // its spool sequence number
  std::string endpoint;             // "/track", ...
  int http_status = 0;              // 0: the vendor answered 2xx with a refusal in the body
  std::string reason;               // the vendor's answer, cut to 300 bytes
  int64_t at_unix_s = 0;
  std::string data;                 // the event JSON (only when asked for)
  std::string meta;                 // its DisclosureMeta bytes (only with data; for a re-drive)
};

// What the ledger needs to know of one event, carried in its spool record's `meta` (ingestion encodes it,
// the sender decodes it): never the event's values, only the subject's identifier as the product sent it.
struct DisclosureMeta {
  std::string_view subject;    // "" for anonymous events
  uint32_t key_epoch = 0;      // pseudonym key epoch of the vendor's copy
  uint32_t categories = 0;     // data categories that left with it (policy/categories.h)
  std::string_view insert_id;  // the event's $insert_id ("" when none); at most 255 bytes are kept
};
// Compact binary form (versioned). Decode returns false for bytes that are not one.
std::string EncodeDisclosureMeta(const DisclosureMeta& m);
void AppendDisclosureMeta(const DisclosureMeta& m, std::string* out);  // the same, appended to *out
bool DecodeDisclosureMeta(std::string_view bytes, DisclosureMeta* out);

enum class DisclosureOutcome : uint8_t { kDelivered = 0, kDeadLettered = 1, kCut = 2 };

// One event's fate. Views are valid during the recorder call only.
struct DisclosureEvent {
  int64_t time_us = 0;        // when it was sent (or cut)
  SpoolVendorId vendor = 0;
  DisclosureOutcome outcome = DisclosureOutcome::kDelivered;
  std::string_view meta;      // the spool record's meta (DisclosureMeta encoding, or empty)
  std::string_view payload;   // the exact bytes sent; empty for a cut event
};

enum class AdminActionKind : uint8_t { kPause, kResume, kCut, kRedrive, kPolicyChange };
struct AdminEvent {
  int64_t time_us = 0;
  AdminActionKind action = AdminActionKind::kPause;
  SpoolVendorId vendor = 0;
  std::string_view actor;   // who, e.g. "uid 1000, pid 4242 (admin socket)"
  std::string_view detail;  // what, e.g. "cut (was active): 42 queued events discarded"
};

// Where delivery records disclosures (the ledger; tests use their own). Must be thread-safe: each
// vendor's sender calls it from its own thread.
class DisclosureRecorder {
 public:
  virtual ~DisclosureRecorder() = default;
  // Durably records the events; an error means none of them may be taken as recorded.
  [[nodiscard]] virtual Status RecordDisclosures(std::span<const DisclosureEvent> events) = 0;
  [[nodiscard]] virtual Status RecordAdmin(const AdminEvent& event) = 0;
};

struct DeliveryOptions {
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  uint64_t spool_quota_bytes = 1ull << 30;
  uint64_t spool_segment_bytes = 64ull << 20;
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::seconds max_retry_after{300};
  DisclosureRecorder* recorder = nullptr;  // not owned; outlives the Delivery. Null: nothing recorded
  std::function<int64_t()> now_us;         // the clock for accept and disclosure times; default: system
};

// What ingestion needs of delivery (the seam the ingestion tests use).
class EventSubmitter {
 public:
  virtual ~EventSubmitter() = default;
  // False for a cut vendor: ingestion leaves it out of the unit.
  virtual bool Accepting(SpoolVendorId vendor) const = 0;
  // Writes one request's events as one unit; see Delivery::Submit.
  [[nodiscard]] virtual Status Submit(std::span<const SpoolEntry> entries, CommitCallback done) = 0;
};

class Delivery final : public EventSubmitter {
 public:
  // Opens the spool at <data_dir>/spool (recovering it after a crash), loads the vendor states and
  // starts one sender per vendor.
  [[nodiscard]] static StatusOr<std::unique_ptr<Delivery>> Start(const Config& config, const DeliveryOptions& options);
  ~Delivery() override;  // Shutdown(0)

  // The vendor's index in the config (and spool), or nullopt.
  std::optional<SpoolVendorId> VendorId(std::string_view name) const;
  bool Accepting(SpoolVendorId vendor) const override;

  // Writes one request's events (entries' `kind` = OutboundEndpoint) as one unit. On OK, `done` is called
  // exactly once when the unit is durable (or lost: its error); on an error return nothing was written
  // and `done` is never called: Unavailable (spool quota or backlog full, or shutting down: answer 503
  // with Retry-After), TooLarge (413), IOError (500).
  [[nodiscard]] Status Submit(std::span<const SpoolEntry> entries, CommitCallback done) override;

  // The kill switch. Errors: NotFound (unknown vendor), FailedPrecondition (already in that state),
  // IOError (the state file could not be written; the state did not change). `actor` names who did it
  // in the ledger's admin record (a failure to write that record is logged; the action stands).
  [[nodiscard]] Status Pause(std::string_view vendor, std::string_view actor = "admin");
  [[nodiscard]] Status Resume(std::string_view vendor, std::string_view actor = "admin");
  // Returns the number of queued events discarded (each recorded with outcome cut).
  [[nodiscard]] StatusOr<uint64_t> Cut(std::string_view vendor, std::string_view actor = "admin");

  std::vector<VendorStatus> List() const;
  [[nodiscard]] StatusOr<VendorStatus> Get(std::string_view vendor) const;

  // Dead letters: the newest `limit` (0 = all); `with_data` includes the events.
  [[nodiscard]] StatusOr<std::vector<DeadLetter>> DeadLetters(std::string_view vendor, size_t limit,
                                                              bool with_data) const;
  // Sends the vendor's dead letters again (appended to the spool, then the file is emptied); how many.
  [[nodiscard]] StatusOr<uint64_t> Redrive(std::string_view vendor, std::string_view actor = "admin");

  SpoolStats SpoolStatistics() const;
  // Ready to accept: the spool is open, not failed, and below its quota.
  bool Ready() const;

  // Stops accepting, lets the senders deliver until `deadline`, then closes the spool (what is not
  // delivered stays in it for the next start).
  void Shutdown(std::chrono::milliseconds deadline);

  class Impl;

 private:
  explicit Delivery(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg
