// The gateway's disclosure ledger: opens <data_dir>/ledger with the configured vendors' declarations and
// records what delivery reports (delivery.h's DisclosureRecorder) as ledger records (ledger/ledger.h):
// each event's subject, key epoch, categories, $insert_id, outcome and the SHA-256 of the exact bytes
// sent — never the values. Every call is durable when it returns (Append, then Flush: one fdatasync
// shared by concurrent callers, unless the spool's fsync policy is "never").
//
// It also carries out what a running gateway is asked to do to its ledger, since it holds the ledger open
// exclusively: erasure of one identifier (a deletion request, through the admin socket: EraseSubject) and
// the configured retention (`ledger.retention_days`: ApplyRetention, which the gateway calls at start and
// every `ledger.retention_check_interval`). `vendorguard ledger erase` without a running gateway opens the
// ledger itself with LedgerOptionsFor and calls EraseSubject, so both paths behave the same.
//
// Thread-safety: every method may be called from any thread (the Ledger serializes erasure, retention and
// appends itself).
#pragma once

#include <atomic>
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
#include "delivery/delivery.h"
#include "ledger/ledger.h"

namespace vg {

// The options the ledger in <config.data_dir>/ledger is opened with for writing: the configured vendors'
// declarations, `sync` (fdatasync at flush and seal) and the clock (system clock when null).
ledger::LedgerOptions LedgerOptionsFor(const Config& config, bool sync, std::function<int64_t()> now_us);

// What an erasure request found.
enum class ErasureOutcome {
  kErased,          // the identifier's plaintext was removed; `result` says where from
  kNoRecords,       // the ledger holds no records about the identifier (nothing done, nothing recorded)
  kAlreadyErased,   // it was erased before and nothing about it was recorded since (nothing done)
};
struct SubjectErasure {
  ErasureOutcome outcome = ErasureOutcome::kNoRecords;
  ledger::EraseResult result;  // set for kErased
};

// A deletion request for `subject` on a ledger open for writing: looks it up first (Subject(), every
// outcome), and erases it (Ledger::Erase, an erase record by `actor` at `time_us`) only when the ledger holds
// records about it and its identifier is still stored somewhere. `subject` is cut to
// ledger::kMaxSubjectBytes, as it was when recorded. Errors: InvalidArgument for an empty subject or an
// overlong actor; FailedPrecondition for a read-only or closed ledger; IOError/InvalidArgument from the
// ledger's files.
[[nodiscard]] StatusOr<SubjectErasure> EraseSubject(ledger::Ledger& ledger, std::string_view subject,
                                                    std::string_view actor, int64_t time_us);

// The actor of the configured retention's records: "retention policy (ledger.retention_days=N)".
std::string RetentionActor(uint32_t retention_days);

class DisclosureLedger final : public DisclosureRecorder {
 public:
  // `sync`: fdatasync at every record call (false when the spool does not sync either). `key_epochs`:
  // each configured vendor's pseudonym key epoch (part of its policy fingerprint). A vendor whose policy
  // changed since the ledger last saw it (or that is new) gets a policy-change admin record by `actor`.
  [[nodiscard]] static StatusOr<std::unique_ptr<DisclosureLedger>> Open(const Config& config, bool sync,
                                                                        std::function<int64_t()> now_us,
                                                                        const std::vector<uint32_t>& key_epochs,
                                                                        std::string_view actor);
  ~DisclosureLedger() override;  // closes the ledger (signs a last tree head)

  [[nodiscard]] Status RecordDisclosures(std::span<const DisclosureEvent> events) override;
  [[nodiscard]] Status RecordAdmin(const AdminEvent& event) override;

  // EraseSubject on this ledger, dated by the ledger's clock.
  [[nodiscard]] StatusOr<SubjectErasure> Erase(std::string_view subject, std::string_view actor);

  // Applies `ledger.retention_days` as of `now_us`: drops the sealed segments whose records are all older
  // than now_us - retention_days (whole UTC-day segments only; the active one never), with a retention
  // record by RetentionActor(). Logs at info what was dropped. Without retention_days configured, does
  // nothing and returns an empty result. Errors as Ledger::ApplyRetention.
  [[nodiscard]] StatusOr<ledger::RetentionResult> ApplyRetention(int64_t now_us);
  std::optional<uint32_t> retention_days() const { return retention_days_; }
  int64_t now_us() const { return ledger_now_(); }

  ledger::Ledger& ledger() { return *ledger_; }
  std::string dir() const { return dir_; }

 private:
  DisclosureLedger() = default;
  Status RecordPolicyChanges(const Config& config, const std::vector<uint32_t>& key_epochs, std::string_view actor);
  std::function<int64_t()> ledger_now_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::string dir_;
  std::optional<uint32_t> retention_days_;
  std::vector<uint16_t> vendor_ids_;  // ledger vendor id by spool vendor id (config index)
  std::atomic<bool> warned_meta_{false};
};

}  // namespace vg
