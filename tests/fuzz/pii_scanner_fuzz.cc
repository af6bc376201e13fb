// libFuzzer target for the PII scanner (pii/scanner.h).
//
// Input format (make_pii_seed_corpus.py writes seeds in it): byte 0 picks the key path the value sits under
// (the key decides ambiguous cases: versions, ids, credentials, person names); the rest is the value, any
// bytes. Besides "no crash, no leak, no UB, no time-out" (run_fuzzer.cmake runs it with a per-input time
// limit, so an input that makes the scan superlinear is a finding), it checks what must hold for any
// input: findings inside the value, ordered and disjoint, confidences in (0, 1], and the same findings
// from a second scan (the clean-value cache) and from a fresh scratch.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "pii/scanner.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::string_view kKeys[] = {
    "properties.comment", "properties.ip",          "properties.app_version", "properties.phone",
    "properties.api_key", "properties.$name",       "properties.order_id",    "properties.password",
    "properties.tags[1]", "",                       "properties.card_number", "properties.ssn",
    "properties.city",    "properties.author",      "properties.url",         "properties.customer.name"};

const vg::PiiScanner& Scanner() {
  static const std::shared_ptr<const vg::PiiScanner> scanner = [] {
    auto created = vg::PiiScanner::Create();
    Check(created.ok());
    return *created;
  }();
  return *scanner;
}

bool Same(const std::vector<vg::PiiFinding>& a, const std::vector<vg::PiiFinding>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].start != b[i].start || a[i].end != b[i].end ||
        a[i].confidence != b[i].confidence) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view key = kKeys[data[0] % std::size(kKeys)];
  std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);

  static vg::PiiScanner::Scratch scratch;
  std::vector<vg::PiiFinding> first, again, fresh;
  Scanner().Scan(key, value, &scratch, &first);
  size_t previous_end = 0;
  for (const vg::PiiFinding& f : first) {
    Check(f.start < f.end && f.end <= value.size());
    Check(f.start >= previous_end);
    Check(f.confidence > 0.0f && f.confidence <= 1.0f);
    previous_end = f.end;
  }
  Scanner().Scan(key, value, &scratch, &again);
  Check(Same(first, again));
  vg::PiiScanner::Scratch new_scratch;
  Scanner().Scan(key, value, &new_scratch, &fresh);
  Check(Same(first, fresh));
  return 0;
}
