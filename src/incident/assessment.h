// Breach assessment (issue #6): from the disclosure ledger, everyone whose data the breached vendor held
// during the incident's window — disclosed before the window's end and, when the vendor has a retention
// period, not older than that period at the window's start — split into disclosures inside the window and
// before it, with the categories of their data; totals by category; and the disclosures that never reached
// the vendor (cut by the kill switch, or refused by it), which are not exposed. Reports: JSON, a CSV of
// affected subjects, and a regulator-ready report (Markdown and HTML) generated from those facts.
//
// Exposure counts delivered disclosures only: a dead-lettered event was refused by the vendor (a 4xx for
// its batch), so the vendor did not keep it; the report lists it as not exposed, with cut ones.
//
// Thread-safety: pure functions over a Ledger (whose queries are thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "incident/incident.h"
#include "ledger/ledger.h"

namespace vg::incident {

struct AffectedSubject {
  std::string subject;  // the identifier as the product sent it; "" when erased
  bool erased = false;
  ledger::SubjectHash hash{};
  uint32_t categories = 0;            // everything the vendor held about them
  uint32_t categories_in_window = 0;  // of which disclosed inside the window
  uint64_t records_in_window = 0;
  uint64_t records_before = 0;
  int64_t first_us = 0;  // first and last disclosure the vendor held
  int64_t last_us = 0;
  bool in_window() const { return records_in_window > 0; }
};

struct NotExposedSubject {
  std::string subject;
  bool erased = false;
  ledger::SubjectHash hash{};
  uint64_t cut = 0;            // accepted, never sent: the vendor was cut
  uint64_t dead_lettered = 0;  // refused by the vendor
};

struct CategoryTotal {
  uint32_t category = 0;          // one bit of policy/categories.h
  uint64_t subjects = 0;          // affected subjects whose held data includes it
  uint64_t subjects_in_window = 0;
};

struct Assessment {
  Incident incident;
  ledger::VendorInfo vendor;  // the declaration in force (purpose, legal basis, destination)
  int64_t held_from_us = 0;   // oldest disclosure still held at the window's start (INT64_MIN: unlimited)
  int64_t generated_at_us = 0;
  std::vector<AffectedSubject> subjects;  // by subject identifier
  uint64_t subjects_in_window = 0;
  uint64_t subjects_before_only = 0;
  uint64_t records_in_window = 0;
  uint64_t records_before = 0;
  std::vector<CategoryTotal> categories;  // categories held by anyone, in bit order
  std::vector<NotExposedSubject> not_exposed;
  uint64_t cut_records = 0;
  uint64_t dead_lettered_records = 0;
};

// NotFound when the ledger never declared the vendor.
[[nodiscard]] StatusOr<Assessment> Assess(const ledger::Ledger& ledger, const Incident& incident, int64_t now_us);

std::string AssessmentJson(const Assessment& a, bool with_subjects = true);
// subject,subject_hash,exposure,categories,categories_in_window,records_in_window,records_before,first,last
std::string AffectedSubjectsCsv(const Assessment& a);
// What a notification to the supervisory authority needs (GDPR Art. 33(3)), from the facts.
std::string ReportMarkdown(const Assessment& a, const Config::Organization& org);
std::string ReportHtml(const Assessment& a, const Config::Organization& org);

// "phishing that uses their email address..." — the likely consequences of a category being exposed.
std::string_view LikelyConsequence(uint32_t category);

}  // namespace vg::incident
