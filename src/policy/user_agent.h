// Reducing user agents and URLs to what a vendor needs: browser and OS family, and an origin.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace vg {

struct UserAgentFamily {
  std::string_view browser;  // "Chrome", "Firefox", "Safari", "Edge", ... or "Other"
  std::string_view os;       // "Windows", "Mac OS X", "iOS", "Android", "Linux", "Chrome OS", or "Other"
};

// Parses a full User-Agent header value.
UserAgentFamily ParseUserAgent(std::string_view ua);
// Canonical browser family for a value such as Mixpanel's `$browser` ("Mobile Safari", "Chrome iOS").
std::string_view BrowserFamily(std::string_view name);
// Canonical OS family for a value such as Mixpanel's `$os` ("Windows", "Mac OS X", "Android"...).
std::string_view OsFamily(std::string_view name);

// "https://shop.example.com:8443" for "https://shop.example.com:8443/cart?id=1#x". Userinfo is removed.
// Returns false when `url` is not an absolute http(s) URL with a host.
bool UrlOrigin(std::string_view url, std::string* origin);

}  // namespace vg
