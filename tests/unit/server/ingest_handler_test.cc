#include "server/ingest_handler.h"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include "ingest/mixpanel_request.h"

namespace vg {
namespace {

// What one vendor was given.
struct Received {
  std::vector<std::pair<OutboundEndpoint, std::string>> received;
  std::vector<std::string> metas;  // each event's DisclosureMeta bytes
};

// Keeps what the handler submits (per vendor), or refuses it as a full spool would, for the handler
// tests; commits at once.
class RecordingSubmitter final : public EventSubmitter {
 public:
  bool Accepting(SpoolVendorId vendor) const override { return cut.count(vendor) == 0; }
  Status Submit(std::span<const SpoolEntry> entries, CommitCallback done) override {
    if (full) return Status::Unavailable("spool quota reached");
    ++units;
    for (const SpoolEntry& e : entries) {
      per_vendor[e.vendor].received.emplace_back(static_cast<OutboundEndpoint>(e.kind), std::string(e.payload));
      per_vendor[e.vendor].metas.emplace_back(e.meta);
    }
    done(uint64_t{1});
    return Status::Ok();
  }
  std::array<Received, 2> per_vendor;
  std::set<SpoolVendorId> cut;
  bool full = false;
  int units = 0;
};

class IngestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = DefaultConfig();
    config_.geoip_db.reset();
    config_.max_body_bytes = 4096;
    for (const char* name : {"a", "b"}) {
      VendorRuntime rt;
      rt.config.name = name;
      rt.policy = CompiledPolicy::Compile(config_.vendors[0].policy, std::nullopt);
      SecretKey k{};
      k[0] = static_cast<uint8_t>(name[0]);
      rt.pseudonymizer = std::make_unique<Pseudonymizer>(k, 1);
      rt.id = static_cast<SpoolVendorId>(vendors_.size());
      sinks_.push_back(&submitter_.per_vendor[rt.id]);
      vendors_.push_back(std::move(rt));
    }
    handler_ = std::make_unique<IngestHandler>(config_, &vendors_, nullptr, &submitter_);
  }

  // Handle, which must answer exactly once (the recording submitter commits at once).
  HttpResponse Call(const HttpRequestView& r) {
    HttpResponse out;
    int answers = 0;
    handler_->Handle(r, [&](HttpResponse resp) {
      out = std::move(resp);
      ++answers;
    });
    EXPECT_EQ(answers, 1);
    return out;
  }

  HttpResponse Post(std::string target, std::string body, std::string content_type = "application/x-www-form-urlencoded",
                    std::string encoding = "") {
    HttpRequestView r;
    r.method = "POST";
    target_ = std::move(target);
    body_ = std::move(body);
    ct_ = std::move(content_type);
    enc_ = std::move(encoding);
    r.target = target_;
    r.body = body_;
    r.content_type = ct_;
    r.content_encoding = enc_;
    r.origin = "http://shop.example";
    r.peer = *IpAddress::Parse("127.0.0.1");
    return Call(r);
  }
  static std::string Header(const HttpResponse& r, std::string_view name) {
    for (auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  Config config_;
  std::vector<VendorRuntime> vendors_;
  RecordingSubmitter submitter_;
  std::vector<Received*> sinks_;
  std::unique_ptr<IngestHandler> handler_;
  std::string target_, body_, ct_, enc_;
};

TEST_F(IngestHandlerTest, TrackBatchReachesEveryVendorMinimizedWithDifferentPseudonyms) {
  auto r = Post("/track/?verbose=1&ip=1",
                R"(data=[{"event":"a","properties":{"distinct_id":"u1","$email":"x@y.co","$insert_id":"i1"}},{"event":"b","properties":{"distinct_id":"u1"}}])",
                "application/json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":1,"error":null})");
  EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), "http://shop.example");
  EXPECT_EQ(Header(r, "Access-Control-Allow-Credentials"), "true");
  ASSERT_EQ(sinks_[0]->received.size(), 2u);
  ASSERT_EQ(sinks_[1]->received.size(), 2u);
  EXPECT_EQ(sinks_[0]->received[0].first, OutboundEndpoint::kTrack);
  const std::string& a = sinks_[0]->received[0].second;
  const std::string& b = sinks_[1]->received[0].second;
  EXPECT_EQ(a.find("x@y.co"), std::string::npos);
  EXPECT_EQ(a.find("\"u1\""), std::string::npos);
  EXPECT_NE(a.find("\"$insert_id\":\"i1\""), std::string::npos);
  EXPECT_NE(a, b);  // per-vendor pseudonyms
}

// What the ledger will record of each copy travels with it: the subject as sent (never in the payload),
// the vendor's key epoch, the categories the policy let out, and the $insert_id.
TEST_F(IngestHandlerTest, EachCopyCarriesItsDisclosureDetails) {
  auto r = Post("/track/",
                R"(data=[{"event":"a","properties":{"distinct_id":"u1","$insert_id":"i1","$browser":"Chrome"}},{"event":"b","properties":{"distinct_id":42}}])",
                "application/json");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(sinks_[0]->metas.size(), 2u);
  DisclosureMeta m;
  ASSERT_TRUE(DecodeDisclosureMeta(sinks_[0]->metas[0], &m));
  EXPECT_EQ(m.subject, "u1");
  EXPECT_EQ(m.key_epoch, 1u);
  EXPECT_EQ(m.insert_id, "i1");
  EXPECT_TRUE(m.categories & kCatIdentifier);
  EXPECT_TRUE(m.categories & kCatDevice);
  EXPECT_FALSE(m.categories & kCatContact);
  ASSERT_TRUE(DecodeDisclosureMeta(sinks_[0]->metas[1], &m));
  EXPECT_EQ(m.subject, "42");  // an integer id, as the policy pseudonymizes it
  EXPECT_EQ(m.insert_id, "");

  Post("/engage/", R"(data={"$distinct_id":"p7","$set":{"$browser":"Chrome"}})");
  ASSERT_TRUE(DecodeDisclosureMeta(sinks_[0]->metas.back(), &m));
  EXPECT_EQ(m.subject, "p7");
  PolicyConfig allow_plan = config_.vendors[0].policy;
  allow_plan.allow.push_back("plan");
  vendors_[0].policy = CompiledPolicy::Compile(allow_plan, std::nullopt);
  Post("/groups/", R"(data={"$group_key":"company","$group_id":"acme","$set":{"plan":"pro"}})");
  ASSERT_EQ(sinks_[0]->received.back().first, OutboundEndpoint::kGroups);
  ASSERT_TRUE(DecodeDisclosureMeta(sinks_[0]->metas.back(), &m));
  EXPECT_EQ(m.subject, "company:acme");
}

TEST_F(IngestHandlerTest, EngageGoesToEngage) {
  auto r = Post("/engage/", R"(data={"$distinct_id":"u1","$set":{"$browser":"Chrome"}})");
  EXPECT_EQ(r.body, "1");
  ASSERT_EQ(sinks_[0]->received.size(), 1u);
  EXPECT_EQ(sinks_[0]->received[0].first, OutboundEndpoint::kEngage);
}

TEST_F(IngestHandlerTest, BadInputGetsMixpanelStyleErrors) {
  struct Case {
    std::string body, content_type, encoding, keyword;
    int status;
  } cases[] = {
      {"data={\"event\":", "application/x-www-form-urlencoded", "", "JSON", 400},
      {"data=%%%", "application/x-www-form-urlencoded", "", "percent", 400},
      {"data=!!notbase64!!", "application/x-www-form-urlencoded", "", "base64", 400},
      {"garbage", "application/json", "gzip", "gzip", 400},
      {std::string(5000, 'x'), "application/json", "", "limit", 413},
      {"data=" + std::string(100, '[') + std::string(100, ']'), "application/x-www-form-urlencoded", "", "deeper", 400},
      {"{\"event\":\"\xff\"}", "application/json", "", "UTF-8", 400},
  };
  for (const auto& c : cases) {
    auto quiet = Post("/track", c.body, c.content_type, c.encoding);
    EXPECT_EQ(quiet.status, c.status) << c.keyword;
    EXPECT_EQ(quiet.body, "0") << c.keyword;
    auto verbose = Post("/track?verbose=1", c.body, c.content_type, c.encoding);
    EXPECT_EQ(verbose.status, c.status);
    EXPECT_NE(verbose.body.find("\"status\":0"), std::string::npos);
    EXPECT_NE(verbose.body.find(c.keyword), std::string::npos) << verbose.body;
  }
  EXPECT_TRUE(sinks_[0]->received.empty());
  // The handler still serves good requests.
  EXPECT_EQ(Post("/track", R"(data={"event":"ok"})").body, "1");
  EXPECT_EQ(sinks_[0]->received.size(), 1u);
}

TEST_F(IngestHandlerTest, FullSpoolAnswers503WithRetryAfterAndKeepsNothing) {
  submitter_.full = true;
  auto r = Post("/track", R"(data={"event":"ok"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Retry-After"), "5");
  // All vendors' copies are one unit: refused whole, none of it is kept.
  EXPECT_TRUE(sinks_[0]->received.empty());
  EXPECT_TRUE(sinks_[1]->received.empty());
  submitter_.full = false;
  EXPECT_EQ(Post("/track", R"(data={"event":"ok"})").status, 200);
  EXPECT_EQ(submitter_.units, 1);
  EXPECT_EQ(sinks_[0]->received.size(), 1u);
  EXPECT_EQ(sinks_[1]->received.size(), 1u);
}

TEST_F(IngestHandlerTest, CutVendorGetsNothingOthersGoOn) {
  submitter_.cut.insert(0);
  EXPECT_EQ(Post("/track", R"(data=[{"event":"one"},{"event":"two"}])").status, 200);
  EXPECT_TRUE(sinks_[0]->received.empty());
  EXPECT_EQ(sinks_[1]->received.size(), 2u);
  // Every vendor cut: answered 200 without a spool write (nothing is to be delivered).
  submitter_.cut.insert(1);
  EXPECT_EQ(Post("/track", R"(data={"event":"three"})").status, 200);
  EXPECT_EQ(submitter_.units, 1);
}

TEST_F(IngestHandlerTest, HealthReadyAndMetricsEndpoints) {
  bool ready = true;
  OpsEndpoints ops;
  ops.ready = [&] { return ready; };
  ops.metrics = [] { return std::string("vendorguard_up 1\n"); };
  handler_ = std::make_unique<IngestHandler>(config_, &vendors_, nullptr, &submitter_, ops);
  HttpRequestView r;
  r.method = "GET";
  r.peer = *IpAddress::Parse("127.0.0.1");
  r.target = "/healthz";
  EXPECT_EQ(Call(r).status, 200);
  r.target = "/readyz";
  EXPECT_EQ(Call(r).status, 200);
  ready = false;
  auto not_ready = Call(r);
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(Header(not_ready, "Retry-After"), "5");
  r.target = "/metrics";
  auto m = Call(r);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, "vendorguard_up 1\n");
  r.peer = *IpAddress::Parse("203.0.113.9");  // not in metrics_allow
  EXPECT_EQ(Call(r).status, 403);
}

TEST_F(IngestHandlerTest, LocalAnswersForFlagsDecideSettingsAndPreflight) {
  HttpRequestView r;
  r.method = "GET";
  r.target = "/flags/?context=%7B%7D";
  r.peer = *IpAddress::Parse("127.0.0.1");
  EXPECT_EQ(Call(r).body, R"({"flags":{}})");
  r.target = "/settings/?sdk_config=1";
  EXPECT_EQ(Call(r).body, "{}");
  r.method = "OPTIONS";
  r.target = "/track/";
  r.origin = "http://shop.example";
  r.access_control_request_headers = "authorization,x-forwarded-for";
  auto pre = Call(r);
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(Header(pre, "Access-Control-Allow-Headers"), "authorization,x-forwarded-for");
  r.method = "GET";
  r.target = "/nope";
  EXPECT_EQ(Call(r).status, 404);
  EXPECT_TRUE(sinks_[0]->received.empty());
}

TEST_F(IngestHandlerTest, ImgAndJsonpAnswers) {
  auto img = Post("/track?img=1", R"(data={"event":"ok"})");
  EXPECT_EQ(img.content_type, "image/gif");
  EXPECT_EQ(img.body.substr(0, 6), "GIF89a");
  auto jsonp = Post("/track?callback=mp.cb_1", R"(data={"event":"ok"})");
  EXPECT_EQ(jsonp.body, "mp.cb_1(1);");
}

}  // namespace
}  // namespace vg
