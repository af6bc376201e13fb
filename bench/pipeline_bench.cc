// The in-process data path on Mixpanel-format events: parse -> policy -> serialize, one core.
//
// Input: a batch of 50 realistic browser-SDK track events (what mixpanel-browser sends with
// batch_requests), generated here with a fixed seed. Reported: bytes/s of request JSON and events/s.
// Baselines in the same run: parse-only (simdjson DOM, the floor of any JSON-in gateway) and
// parse+reserialize with no policy (what a plain relay that re-encodes would cost).
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "crypto/pseudonymizer.h"
#include "ingest/mixpanel_request.h"
#include "policy/vendor_policy.h"
#include "wire/mixpanel.h"

namespace vg {
namespace {

std::string MakeBatch(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char* events[] = {"Page View", "Signed up", "Checkout", "Search", "Button Clicked"};
  const char* browsers[] = {"Chrome", "Firefox", "Safari", "Mobile Safari", "Edge"};
  const char* oses[] = {"Windows", "Mac OS X", "iOS", "Android", "Linux"};
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i) out += ",";
    auto user = std::to_string(rng() % 100000);
    out += R"({"event":")" + std::string(events[rng() % 5]) + R"(","properties":{)";
    out += R"("token":"0123456789abcdef0123456789abcdef","time":)" + std::to_string(1700000000000 + rng() % 1000000);
    out += R"(,"distinct_id":"user-)" + user + R"(","$device_id":"19a2b-)" + std::to_string(rng()) + R"(",)";
    out += R"("$user_id":"user-)" + user + R"(","$insert_id":")" + std::to_string(rng()) + R"(",)";
    out += R"("$browser":")" + std::string(browsers[rng() % 5]) + R"(","$browser_version":156,"$os":")" +
           oses[rng() % 5] + R"(",)";
    out += R"("$current_url":"https://app.example.com/workspace/)" + std::to_string(rng() % 1000) +
           R"(/settings?tab=billing&session=abc123","$referrer":"https://www.google.com/search?q=example+app",)";
    out += R"("$initial_referrer":"$direct","$initial_referring_domain":"$direct","$screen_height":1080,)";
    out += R"("$screen_width":1920,"mp_lib":"web","$lib_version":"2.83.0","$email":"user)" + user +
           R"(@example.com","$name":"Jane Doe","plan":"pro","search_query":"how do I export my data",)";
    out += R"("items":[{"sku":"A-1","price":9.99},{"sku":"B-2","price":19.5}],"mp_sent_by_lib_version":"2.83.0"}})";
  }
  out += "]";
  return out;
}

// Standard base64, as the browser SDK encodes its payload.
std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(v >> k) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// encodeURIComponent for the base64 alphabet.
std::string PercentEncode(std::string_view in) {
  std::string out;
  for (char c : in) out += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
  return out;
}

const std::string& Batch() {
  static const std::string batch = MakeBatch(50, 42);
  return batch;
}

void BM_ParseOnly(benchmark::State& state) {
  MixpanelParser parser;
  std::vector<Event> events;
  for (auto _ : state) {
    Status s = parser.Parse(Batch(), EventKind::kTrack, &events);
    benchmark::DoNotOptimize(s.ok());
  }
  state.SetBytesProcessed(state.iterations() * Batch().size());
  state.SetItemsProcessed(state.iterations() * 50);
}
BENCHMARK(BM_ParseOnly);

void BM_ParseReserialize(benchmark::State& state) {
  MixpanelParser parser;
  std::vector<Event> events;
  std::string out;
  for (auto _ : state) {
    Status s = parser.Parse(Batch(), EventKind::kTrack, &events);
    benchmark::DoNotOptimize(s.ok());
    out.clear();
    JsonWriter w(&out);
    for (const Event& e : events) {
      w.BeginObject();
      w.Key("event");
      w.String(e.name);
      w.Key("properties");
      w.BeginObject();
      for (const auto& p : e.properties) {
        w.Key(p.key);
        w.Value(p.value);
      }
      w.EndObject();
      w.EndObject();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * Batch().size());
  state.SetItemsProcessed(state.iterations() * 50);
}
BENCHMARK(BM_ParseReserialize);

// The gateway's path for one vendor, with a policy given by `strict` (0: an allow-list with URLs cut to
// origin and a user-agent rule, 1: the strict default).
void BM_ParsePolicySerialize(benchmark::State& state) {
  PolicyConfig policy = DefaultConfig().vendors.at(0).policy;
  if (state.range(0) == 0) {
    policy.is_default = false;
    policy.allow.insert(policy.allow.end(), {"$current_url", "$referrer", "$initial_referrer", "plan", "items", "$screen_*"});
  }
  auto compiled = CompiledPolicy::Compile(policy, std::nullopt);
  SecretKey key{};
  Pseudonymizer pseudonymizer(key, 1);
  MixpanelParser parser;
  std::vector<Event> events;
  std::string out;
  RequestContext ctx(IpAddress::Parse("203.0.113.9"), false, nullptr);
  for (auto _ : state) {
    Status s = parser.Parse(Batch(), EventKind::kTrack, &events);
    benchmark::DoNotOptimize(s.ok());
    out.clear();
    for (const Event& e : events) compiled->Apply(e, ctx, pseudonymizer, &out, nullptr);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * Batch().size());
  state.SetItemsProcessed(state.iterations() * 50);
}
BENCHMARK(BM_ParsePolicySerialize)->Arg(1)->Arg(0)->ArgName("strict");

// The whole request decoding as the browser SDK sends it (form body, base64) before the above.
void BM_DecodeBase64FormThenPolicy(benchmark::State& state) {
  const std::string body = "data=" + PercentEncode(Base64(Batch()));
  auto compiled = CompiledPolicy::Compile(DefaultConfig().vendors.at(0).policy, std::nullopt);
  SecretKey key{};
  Pseudonymizer pseudonymizer(key, 1);
  MixpanelParser parser;
  std::vector<Event> events;
  std::string out;
  RequestContext ctx(IpAddress::Parse("203.0.113.9"), false, nullptr);
  for (auto _ : state) {
    IngestRequest req{"POST", "/track/?verbose=1&ip=1", "application/x-www-form-urlencoded", "", body};
    auto payload = DecodeMixpanelRequest(req, DecodeLimits{});
    if (!payload.ok()) {
      state.SkipWithError(payload.status().message().c_str());
      break;
    }
    Status s = parser.Parse(payload->json, EventKind::kTrack, &events);
    benchmark::DoNotOptimize(s.ok());
    out.clear();
    for (const Event& e : events) compiled->Apply(e, ctx, pseudonymizer, &out, nullptr);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * body.size());
  state.SetItemsProcessed(state.iterations() * 50);
}
BENCHMARK(BM_DecodeBase64FormThenPolicy);

}  // namespace
}  // namespace vg

BENCHMARK_MAIN();
