#include "pii/pii_types.h"

#include <array>

namespace vg {

namespace {

struct PiiTypeNames {
  PiiType type;
  std::string_view name;
  std::string_view placeholder;
};

// Indexed by the enum's value; the names are a contract with tools, tests and the ledger.
constexpr std::array<PiiTypeNames, kPiiTypeCount> kNames = {{
    {PiiType::kEmail, "email", "[EMAIL]"},
    {PiiType::kPhone, "phone", "[PHONE]"},
    {PiiType::kIpAddress, "ip_address", "[IP_ADDRESS]"},
    {PiiType::kCreditCard, "credit_card", "[CREDIT_CARD]"},
    {PiiType::kIban, "iban", "[IBAN]"},
    {PiiType::kUsSsn, "us_ssn", "[US_SSN]"},
    {PiiType::kSecret, "secret", "[SECRET]"},
    {PiiType::kPersonName, "person_name", "[PERSON_NAME]"},
}};

constexpr bool IndexedByEnum() {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (static_cast<size_t>(kNames[i].type) != i) return false;
  }
  return true;
}
static_assert(IndexedByEnum(), "kNames must list every PiiType in enum order");

}  // namespace

std::string_view PiiTypeName(PiiType t) {
  size_t i = static_cast<size_t>(t);
  return i < kNames.size() ? kNames[i].name : std::string_view();
}

std::optional<PiiType> PiiTypeFromName(std::string_view name) {
  for (const PiiTypeNames& n : kNames) {
    if (n.name == name) return n.type;
  }
  return std::nullopt;
}

std::string_view PiiPlaceholder(PiiType t) {
  size_t i = static_cast<size_t>(t);
  return i < kNames.size() ? kNames[i].placeholder : std::string_view();
}

}  // namespace vg
