// The gateway's disclosure ledger: opens <data_dir>/ledger with the configured vendors' declarations and
// records what delivery reports (delivery.h's DisclosureRecorder) as ledger records (ledger/ledger.h):
// each event's subject, key epoch, categories, $insert_id, outcome and the SHA-256 of the exact bytes
// sent — never the values. Every call is durable when it returns (Append, then Flush: one fdatasync
// shared by concurrent callers, unless the spool's fsync policy is "never").
//
// Thread-safety: RecordDisclosures and RecordAdmin may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "delivery/delivery.h"

namespace vg {
namespace ledger {
class Ledger;
}

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

  ledger::Ledger& ledger() { return *ledger_; }
  std::string dir() const { return dir_; }

 private:
  DisclosureLedger() = default;
  Status RecordPolicyChanges(const Config& config, const std::vector<uint32_t>& key_epochs, std::string_view actor);
  std::function<int64_t()> ledger_now_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::string dir_;
  std::vector<uint16_t> vendor_ids_;  // ledger vendor id by spool vendor id (config index)
  std::atomic<bool> warned_meta_{false};
};

}  // namespace vg
