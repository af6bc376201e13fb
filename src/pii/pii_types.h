// The PII engine's vocabulary: the fixed set of detector type names (a contract for tools, tests and the
// ledger) and what a finding is.
// Thread-safety: constants and plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vg {

enum class PiiType : uint8_t {
  kEmail,
  kPhone,
  kIpAddress,
  kCreditCard,
  kIban,
  kUsSsn,
  kSecret,
  kPersonName,
};
inline constexpr int kPiiTypeCount = 8;

// "email", "phone", "ip_address", "credit_card", "iban", "us_ssn", "secret", "person_name".
std::string_view PiiTypeName(PiiType t);
std::optional<PiiType> PiiTypeFromName(std::string_view name);
// The redaction placeholder: "[EMAIL]", "[PHONE]", "[IP_ADDRESS]", ...
std::string_view PiiPlaceholder(PiiType t);

// One piece of personal data inside a string value. Offsets are bytes into the decoded UTF-8 value,
// `end` exclusive.
struct PiiFinding {
  PiiType type;
  size_t start;
  size_t end;
  float confidence;  // 0..1
};

}  // namespace vg
