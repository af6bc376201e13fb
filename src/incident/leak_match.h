// Leak matching (issue #6, `incident match ID --leak FILE`): the breached vendor hands over the exported
// dataset; every pseudonym in it is mapped back to a subject by recomputing each known subject's pseudonym
// under each vendor's key (the epoch is read from the pseudonym, "vg<epoch>-..."). Reports subjects
// confirmed in the leak, those at risk (affected by the assessment but not in the leak), rows whose
// pseudonyms match no subject, and rows whose pseudonym belongs to ANOTHER vendor's key (attribution: the
// data came from that vendor). The leak is also scanned with the PII engine: personal data found in it is
// what the policy should have stopped, reported by property path and type (never the values), so it
// tells which rule to fix.
//
// Formats, recognised from the content: JSON lines (Mixpanel's event and profile exports), a JSON array,
// or CSV with a header row. Lines that do not parse are reported with their line numbers and skipped; the
// rest is matched. Anything else is refused.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "incident/assessment.h"

namespace vg {
class PseudonymKeyFile;
class PiiScanner;
}  // namespace vg

namespace vg::incident {

struct LeakProblem {
  uint64_t line = 0;
  std::string reason;
};

struct AttributedRow {
  uint64_t line = 0;
  std::string vendor;   // whose key made the pseudonym
  std::string subject;
};

struct LeakPii {
  std::string path;  // property path, e.g. "properties.comment"
  std::string type;  // PII type name
  uint64_t count = 0;
  uint64_t first_line = 0;
};

struct MatchReport {
  std::string format;  // "jsonl", "json", "csv"
  uint64_t rows = 0;
  uint64_t rows_matched = 0;       // rows with a pseudonym of the breached vendor that maps to a subject
  uint64_t rows_without_pseudonym = 0;
  std::vector<std::string> confirmed;          // subjects in the leak and in the assessment
  std::vector<std::string> confirmed_not_assessed;  // in the leak, but not affected per the assessment
  std::vector<std::string> at_risk;            // affected per the assessment, not in the leak
  uint64_t unmatched_rows = 0;                 // pseudonyms that map to no known subject
  std::vector<uint64_t> unmatched_lines;       // the first 100
  std::vector<AttributedRow> other_vendor;     // pseudonyms of another vendor's key
  std::vector<LeakProblem> problems;           // lines that could not be read
  std::vector<LeakPii> pii;                    // personal data found in the leak, by path and type
};

// `subjects_by_vendor`: every known (not erased) subject per configured vendor, from the ledger.
[[nodiscard]] StatusOr<MatchReport> MatchLeak(const std::string& leak_path, const Assessment& assessment,
                                              const std::map<std::string, std::vector<std::string>>& subjects_by_vendor,
                                              const PseudonymKeyFile& keys, const PiiScanner& scanner);

std::string MatchReportJson(const MatchReport& r, const Assessment& a);

}  // namespace vg::incident
