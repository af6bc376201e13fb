// Incidents (issue #6): "vendor V was breached between T1 and T2". An incident is persisted in
// <data_dir>/incidents/<id>/incident.json (mode 0600, written atomically) with the window, when the company
// became aware (the GDPR Art. 33 72-hour clock runs from there), who opened it, whether the vendor was cut
// and what that discarded; the assessment, leak matches and notice campaign of the incident live beside it.
//
// Thread-safety: an IncidentStore is used by one thread; two processes creating incidents at once get
// different ids (O_EXCL on the directory).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vg::incident {

struct Incident {
  std::string id;            // "INC-20251125-3f9a2c" (the UTC date it was opened and 24 random bits)
  std::string vendor;
  int64_t from_us = 0;       // the breach window [from_us, to_us), microseconds since the Unix epoch
  int64_t to_us = 0;
  int64_t aware_at_us = 0;   // when the company became aware
  int64_t opened_at_us = 0;
  std::string opened_by;     // the OS user who opened it
  std::optional<uint32_t> retention_days;  // the vendor's retention when it was opened (none = unlimited)
  // The kill switch, when `incident open --cut` (or a later cut) used it.
  bool cut = false;
  int64_t cut_at_us = 0;
  uint64_t cut_discarded = 0;  // queued events the cut discarded (never sent)
  std::string cut_note;        // e.g. "already cut before the incident was opened"
};

// The deadline to notify the supervisory authority: 72 hours after awareness (GDPR Art. 33(1)).
inline int64_t NotificationDeadlineUs(const Incident& i) { return i.aware_at_us + int64_t{72} * 3600 * 1'000'000; }

std::string IncidentJson(const Incident& i);
[[nodiscard]] StatusOr<Incident> ParseIncidentJson(std::string_view json, std::string_view source);

class IncidentStore {
 public:
  explicit IncidentStore(std::string data_dir);
  // Assigns a fresh id to `incident` and writes it. IOError when the directory cannot be written.
  [[nodiscard]] Status Create(Incident* incident, int64_t now_us);
  // Rewrites an existing incident (atomically).
  [[nodiscard]] Status Save(const Incident& incident) const;
  // NotFound names the id and the incidents that exist.
  [[nodiscard]] StatusOr<Incident> Load(std::string_view id) const;
  // Every incident, oldest first.
  [[nodiscard]] StatusOr<std::vector<Incident>> List() const;
  // The incident's own directory (assessment, leak matches, notices).
  std::string Dir(std::string_view id) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;  // <data_dir>/incidents
};

// "2025-11-09T00:00:00Z" (with ".123456" when there are microseconds).
std::string IsoUtc(int64_t us);

}  // namespace vg::incident
