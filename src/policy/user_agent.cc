#include "policy/user_agent.h"

#include <array>
#include <utility>

#include "common/ascii.h"

namespace vg {
namespace {

bool Contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

}  // namespace

UserAgentFamily ParseUserAgent(std::string_view ua) {
  UserAgentFamily f{"Other", "Other"};
  // Order matters: many browsers also claim to be Chrome and Safari.
  if (Contains(ua, "Edg/") || Contains(ua, "Edge/") || Contains(ua, "EdgA/") || Contains(ua, "EdgiOS/")) {
    f.browser = "Edge";
  } else if (Contains(ua, "OPR/") || Contains(ua, "Opera")) {
    f.browser = "Opera";
  } else if (Contains(ua, "SamsungBrowser/")) {
    f.browser = "Samsung Internet";
  } else if (Contains(ua, "Firefox/") || Contains(ua, "FxiOS/")) {
    f.browser = "Firefox";
  } else if (Contains(ua, "Chrome/") || Contains(ua, "CriOS/") || Contains(ua, "HeadlessChrome/")) {
    f.browser = "Chrome";
  } else if (Contains(ua, "Safari/") && Contains(ua, "Version/")) {
    f.browser = Contains(ua, "Mobile") ? "Mobile Safari" : "Safari";
  } else if (Contains(ua, "MSIE ") || Contains(ua, "Trident/")) {
    f.browser = "Internet Explorer";
  }
  if (Contains(ua, "Windows")) {
    f.os = "Windows";
  } else if (Contains(ua, "iPhone") || Contains(ua, "iPad") || Contains(ua, "iPod")) {
    f.os = "iOS";
  } else if (Contains(ua, "Android")) {
    f.os = "Android";
  } else if (Contains(ua, "CrOS")) {
    f.os = "Chrome OS";
  } else if (Contains(ua, "Mac OS X") || Contains(ua, "Macintosh")) {
    f.os = "Mac OS X";
  } else if (Contains(ua, "Linux")) {
    f.os = "Linux";
  }
  return f;
}

std::string_view BrowserFamily(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kPrefixes = {{
      {"Microsoft Edge", "Edge"},
      {"Edge", "Edge"},
      {"Opera", "Opera"},
      {"Samsung", "Samsung Internet"},
      {"Firefox", "Firefox"},
      {"Chrome", "Chrome"},
      {"Chromium", "Chrome"},
      {"Mobile Safari", "Mobile Safari"},
      {"Safari", "Safari"},
      {"Internet Explorer", "Internet Explorer"},
      {"Android Mobile", "Android Mobile"},
      {"Facebook Mobile", "Facebook Mobile"},
      {"BlackBerry", "BlackBerry"},
      {"Konqueror", "Konqueror"},
  }};
  for (const auto& [prefix, family] : kPrefixes) {
    if (AsciiIStartsWith(name, prefix)) return family;
  }
  return "Other";
}

std::string_view OsFamily(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kPrefixes = {{
      {"Windows", "Windows"},
      {"Mac OS", "Mac OS X"},
      {"macOS", "Mac OS X"},
      {"iOS", "iOS"},
      {"iPadOS", "iOS"},
      {"Android", "Android"},
      {"Chrome OS", "Chrome OS"},
      {"Linux", "Linux"},
      {"BlackBerry", "BlackBerry"},
  }};
  for (const auto& [prefix, family] : kPrefixes) {
    if (AsciiIStartsWith(name, prefix)) return family;
  }
  return "Other";
}

bool UrlOrigin(std::string_view url, std::string* origin) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view scheme = url.substr(0, scheme_end);
  if (!AsciiIEquals(scheme, "http") && !AsciiIEquals(scheme, "https")) return false;
  std::string_view rest = url.substr(scheme_end + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);  // never forward credentials
  if (authority.empty() || authority.front() == ':') return false;
  for (char c : authority) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '\\' || c == '"' || c == '<' || c == '>') return false;
  }
  origin->clear();  // lowered in place: this runs for every URL property of every event
  for (char c : scheme) origin->push_back(AsciiLower(c));
  origin->append("://");
  for (char c : authority) origin->push_back(AsciiLower(c));
  return true;
}

}  // namespace vg
