#include "policy/categories.h"

#include <array>
#include <utility>

#include "policy/glob.h"

namespace vg {

std::string CategoryList(CategorySet set) {
  std::string out;
  for (size_t i = 0; i < std::size(kCategoryNames); ++i) {
    if (set & (1u << i)) {
      if (!out.empty()) out.push_back(',');
      out.append(kCategoryNames[i]);
    }
  }
  return out;
}

Category CategoryOfPii(PiiType type) {
  switch (type) {
    case PiiType::kEmail:
    case PiiType::kPhone:
      return kCatContact;
    case PiiType::kIpAddress:
      return kCatNetwork;
    case PiiType::kCreditCard:
    case PiiType::kIban:
      return kCatFinancial;
    case PiiType::kUsSsn:
      return kCatGovernmentId;
    case PiiType::kSecret:
      return kCatSecret;
    case PiiType::kPersonName:
      return kCatName;
  }
  return kCatOther;
}

Category CategoryOfKey(std::string_view key) {
  // Exact names first (Mixpanel's reserved properties), then conventions by glob. First match wins.
  static constexpr std::array<std::pair<std::string_view, Category>, 58> kRules = {{
      {"distinct_id", kCatIdentifier}, {"$distinct_id", kCatIdentifier}, {"$user_id", kCatIdentifier},
      {"$device_id", kCatIdentifier},  {"$anon_id", kCatIdentifier},     {"$identified_id", kCatIdentifier},
      {"$group_id", kCatIdentifier},   {"$group_key", kCatIdentifier},   {"$insert_id", kCatActivity},
      {"time", kCatActivity},          {"$time", kCatActivity},          {"$duration", kCatActivity},
      {"$email", kCatContact},         {"email", kCatContact},           {"$phone", kCatContact},
      {"phone", kCatContact},          {"*email*", kCatContact},         {"*phone*", kCatContact},
      {"*address*", kCatContact},      {"$name", kCatName},              {"name", kCatName},
      {"$first_name", kCatName},       {"$last_name", kCatName},         {"first_name", kCatName},
      {"last_name", kCatName},         {"full_name", kCatName},          {"*_name", kCatName},
      {"$city", kCatLocation},         {"$region", kCatLocation},        {"mp_country_code", kCatLocation},
      {"$country_code", kCatLocation}, {"$timezone", kCatLocation},      {"$geo_source", kCatLocation},
      {"ip", kCatNetwork},             {"$ip", kCatNetwork},             {"*_ip", kCatNetwork},
      {"$browser", kCatDevice},        {"$browser_version", kCatDevice}, {"$os", kCatDevice},
      {"$os_version", kCatDevice},     {"$device", kCatDevice},          {"$model", kCatDevice},
      {"$screen_*", kCatDevice},       {"$lib_version", kCatDevice},     {"mp_lib", kCatDevice},
      {"$app_*", kCatDevice},          {"*user_agent*", kCatDevice},     {"$current_url", kCatReferrer},
      {"$referrer", kCatReferrer},     {"$initial_referrer", kCatReferrer}, {"$referring_domain", kCatReferrer},
      {"$initial_referring_domain", kCatReferrer}, {"*url*", kCatReferrer}, {"*referrer*", kCatReferrer},
      {"*password*", kCatSecret},      {"*token*", kCatSecret},          {"*secret*", kCatSecret},
  }};
  for (const auto& [pattern, cat] : kRules) {
    if (pattern.find('*') == std::string_view::npos ? pattern == key : GlobMatch(pattern, key)) return cat;
  }
  return kCatOther;
}

}  // namespace vg
