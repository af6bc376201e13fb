// Data categories: the kinds of personal data that can leave with an event. A bitmask, so the policy
// engine, explain, and (later) the ledger and incident reports speak the same words.
// Thread-safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pii/pii_types.h"

namespace vg {

enum Category : uint32_t {
  kCatIdentifier = 1u << 0,  // user, device, account or organization identifiers (pseudonymous or not)
  kCatContact = 1u << 1,     // email, phone, postal address
  kCatName = 1u << 2,        // a person's name
  kCatLocation = 1u << 3,    // country, region, city, coordinates, timezone
  kCatNetwork = 1u << 4,     // IP addresses
  kCatDevice = 1u << 5,      // browser, OS, device, screen
  kCatReferrer = 1u << 6,    // URLs, referrers, referring domains
  kCatFreeText = 1u << 7,    // text a person typed
  kCatSecret = 1u << 8,      // credentials, keys, tokens
  kCatActivity = 1u << 9,    // what the person did and when (event names, times)
  kCatOther = 1u << 10,      // custom properties not classified above
  kCatFinancial = 1u << 11,  // payment card and bank account numbers
  kCatGovernmentId = 1u << 12,  // national identifiers such as US SSNs
};
using CategorySet = uint32_t;

inline constexpr std::string_view kCategoryNames[] = {"identifier", "contact", "name",   "location",
                                                      "network",    "device",  "referrer", "free_text",
                                                      "secret",     "activity", "other",    "financial", "government_id"};

// The category of personal data a PII finding of `type` is (email -> contact, iban -> financial...).
Category CategoryOfPii(PiiType type);

// "identifier,device,activity" (in bit order); empty set gives "".
std::string CategoryList(CategorySet set);

// The category a property key holds, from its name alone (Mixpanel's reserved names and common
// conventions), or kCatOther.
Category CategoryOfKey(std::string_view key);

}  // namespace vg
