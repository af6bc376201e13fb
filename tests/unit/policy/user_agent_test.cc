#include "policy/user_agent.h"

#include <gtest/gtest.h>

#include "policy/categories.h"
#include "policy/glob.h"

namespace vg {
namespace {

TEST(UserAgent, FamiliesFromRealUserAgents) {
  auto chrome = ParseUserAgent(
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36");
  EXPECT_EQ(chrome.browser, "Chrome");
  EXPECT_EQ(chrome.os, "Linux");
  auto edge = ParseUserAgent(
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0");
  EXPECT_EQ(edge.browser, "Edge");
  EXPECT_EQ(edge.os, "Windows");
  auto iphone = ParseUserAgent(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1");
  EXPECT_EQ(iphone.browser, "Mobile Safari");
  EXPECT_EQ(iphone.os, "iOS");
  auto ff = ParseUserAgent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:120.0) Gecko/20100101 Firefox/120.0");
  EXPECT_EQ(ff.browser, "Firefox");
  EXPECT_EQ(ff.os, "Mac OS X");
  auto android = ParseUserAgent("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0 Mobile Safari/537.36");
  EXPECT_EQ(android.browser, "Samsung Internet");
  EXPECT_EQ(android.os, "Android");
  EXPECT_EQ(ParseUserAgent("curl/8.0").browser, "Other");
}

TEST(UserAgent, MixpanelPropertyValuesToFamilies) {
  EXPECT_EQ(BrowserFamily("Chrome"), "Chrome");
  EXPECT_EQ(BrowserFamily("Chrome iOS"), "Chrome");
  EXPECT_EQ(BrowserFamily("Mobile Safari"), "Mobile Safari");
  EXPECT_EQ(BrowserFamily("Jane's custom build 1.2"), "Other");
  EXPECT_EQ(OsFamily("Windows"), "Windows");
  EXPECT_EQ(OsFamily("Mac OS X"), "Mac OS X");
  EXPECT_EQ(OsFamily("something else"), "Other");
}

TEST(UrlOrigin, KeepsSchemeHostPortOnly) {
  std::string o;
  ASSERT_TRUE(UrlOrigin("https://App.Example.com/settings/billing?session=abc#frag", &o));
  EXPECT_EQ(o, "https://app.example.com");
  ASSERT_TRUE(UrlOrigin("http://shop.example.com:8443?q=1", &o));
  EXPECT_EQ(o, "http://shop.example.com:8443");
  ASSERT_TRUE(UrlOrigin("https://jane:hunter2@example.com/x", &o));
  EXPECT_EQ(o, "https://example.com");
  EXPECT_FALSE(UrlOrigin("javascript:alert(1)", &o));
  EXPECT_FALSE(UrlOrigin("/relative/path?email=jane@example.com", &o));
  EXPECT_FALSE(UrlOrigin("https:///nohost", &o));
}

TEST(Glob, MatchesStarAndQuestionMark) {
  EXPECT_TRUE(GlobMatch("button_*", "button_color"));
  EXPECT_TRUE(GlobMatch("*_url", "$current_url"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "abbc"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("plan", "plans"));
  GlobSet set({"plan", "utm_*"});
  EXPECT_TRUE(set.Matches("plan"));
  EXPECT_TRUE(set.Matches("utm_source"));
  EXPECT_TRUE(set.MatchesExactly("plan"));
  EXPECT_FALSE(set.MatchesExactly("utm_source"));
  EXPECT_FALSE(set.Matches("email"));
}

TEST(UserAgent, FamiliesAndOriginsIgnoreAsciiCaseOnly) {
  EXPECT_EQ(BrowserFamily("MOBILE safari 17"), "Mobile Safari");
  EXPECT_EQ(BrowserFamily("firefox"), "Firefox");
  EXPECT_EQ(OsFamily("wINDOWS 11"), "Windows");
  EXPECT_EQ(OsFamily("Windo"), "Other");
  std::string origin;
  ASSERT_TRUE(UrlOrigin("HTTPS://Shop.EXAMPLE.com:8443/Cart?Email=x", &origin));
  EXPECT_EQ(origin, "https://shop.example.com:8443");
  ASSERT_TRUE(UrlOrigin("http://\xc3\x84" "BC.example/", &origin));  // non-ASCII bytes are kept as they are
  EXPECT_EQ(origin, "http://\xc3\x84" "bc.example");
  EXPECT_FALSE(UrlOrigin("ftp://example.com/", &origin));
  EXPECT_FALSE(UrlOrigin("HTTPX://example.com/", &origin));
}

TEST(Glob, PathologicalPatternIsNotExponential) {
  std::string text(20000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", text));
}

TEST(Categories, KeysMapToCategories) {
  EXPECT_EQ(CategoryOfKey("$email"), kCatContact);
  EXPECT_EQ(CategoryOfKey("$name"), kCatName);
  EXPECT_EQ(CategoryOfKey("$city"), kCatLocation);
  EXPECT_EQ(CategoryOfKey("ip"), kCatNetwork);
  EXPECT_EQ(CategoryOfKey("$browser"), kCatDevice);
  EXPECT_EQ(CategoryOfKey("$current_url"), kCatReferrer);
  EXPECT_EQ(CategoryOfKey("distinct_id"), kCatIdentifier);
  EXPECT_EQ(CategoryOfKey("plan"), kCatOther);
  EXPECT_EQ(CategoryList(kCatIdentifier | kCatDevice | kCatActivity), "identifier,device,activity");
}

}  // namespace
}  // namespace vg
