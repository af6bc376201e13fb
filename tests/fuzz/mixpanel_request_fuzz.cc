// libFuzzer target for the Mixpanel request decoder and its building blocks (ingest/mixpanel_request.h).
//
// Input format (make_seed_corpus.py writes seeds in it):
//   byte 0      selector: bit 0 = method (0 GET, 1 POST);
//                         bits 1-2 = Content-Encoding: 0 none, 1 "gzip" with the body as given,
//                                    2 "gzip" with the body gzip-compressed here (reaches the decoders behind
//                                    gzip with valid streams), 3 "identity" or, with bit 3 set, "br";
//                         bit 4 = plus_as_space for the direct PercentDecode call
//   then        target '\n' content-type '\n' body   (missing parts are empty; the body may hold '\n')
//
// Besides "no crash, no leak, no UB", it checks properties that must hold for any input: round trips through
// Base64 / percent-encoding / Gzip, and the size limit on whatever the decoder returns.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/mixpanel_request.h"
#include "policy/vendor_policy.h"
#include "wire/mixpanel.h"

namespace {

constexpr size_t kLimit = 64 * 1024;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string Base64Encode(std::string_view in, bool url_safe) {
  const char* alphabet = url_safe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                  : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(v >> shift) & 63];
  }
  size_t rem = in.size() - i;
  if (rem > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rem == 2) v |= uint8_t(in[i + 1]) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    if (rem == 2) out += alphabet[(v >> 6) & 63];
    if (!url_safe) out.append(3 - rem, '=');  // URL-safe without padding, standard with
  }
  return out;
}

std::string PercentEncodeAll(std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : in) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Splits off the text up to the next '\n' (or all of it).
std::string_view NextPart(std::string_view* rest) {
  size_t nl = rest->find('\n');
  std::string_view part = rest->substr(0, nl);
  rest->remove_prefix(nl == std::string_view::npos ? rest->size() : nl + 1);
  return part;
}

}  // namespace

// The JSON stage behind the decoder: parse the payload into events, apply the strict default policy, and
// check that what would go to the vendor is valid JSON.
void ParseAndMinimize(std::string_view json, vg::MixpanelEndpoint endpoint) {
  static vg::MixpanelParser parser(32);
  static const auto policy = vg::CompiledPolicy::Compile(vg::DefaultConfig().vendors.at(0).policy, std::nullopt);
  static const vg::Pseudonymizer pseudonymizer(vg::SecretKey{}, 1);
  static simdjson::dom::parser verifier;
  if (json.empty()) return;
  vg::EventKind kind = endpoint == vg::MixpanelEndpoint::kEngage   ? vg::EventKind::kProfile
                       : endpoint == vg::MixpanelEndpoint::kGroups ? vg::EventKind::kGroup
                                                                   : vg::EventKind::kTrack;
  std::vector<vg::Event> events;
  if (!parser.Parse(json, kind, &events).ok()) return;
  vg::RequestContext ctx(vg::IpAddress::Parse("203.0.113.9"), true, nullptr);
  for (const vg::Event& e : events) {
    std::string out;
    if (policy->Apply(e, ctx, pseudonymizer, &out, nullptr).send) {
      simdjson::dom::element el;
      Check(verifier.parse(out).get(el) == simdjson::SUCCESS);
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view target = NextPart(&rest);
  std::string_view content_type = NextPart(&rest);
  std::string_view body = rest;

  std::string compressed;
  std::string_view encoding;
  switch ((selector >> 1) & 3) {
    case 0: break;
    case 1: encoding = "gzip"; break;
    case 2:
      encoding = "gzip";
      compressed = vg::Gzip(body);
      break;
    case 3: encoding = (selector & 8) ? "br" : "identity"; break;
  }
  vg::IngestRequest req{(selector & 1) ? "POST" : "GET", target, content_type, encoding,
                        compressed.empty() ? body : std::string_view(compressed)};
  auto payload = vg::DecodeMixpanelRequest(req, vg::DecodeLimits{kLimit});
  if (payload.ok()) {
    Check(payload->json.size() <= kLimit);
    Check(payload->callback.size() <= 128);
    ParseAndMinimize(payload->json, payload->endpoint);
  } else {
    Check(!payload.status().message().empty());
  }

  // The building blocks, directly on the body.
  (void)vg::PercentDecode(body, selector & 16);
  (void)vg::ParseFormEncoded(body);
  auto b64 = vg::Base64Decode(body);
  if (b64.ok()) Check(b64->size() <= body.size() / 4 * 3 + 2);
  auto inflated = vg::Gunzip(body, kLimit);
  if (inflated.ok()) Check(inflated->size() <= kLimit);

  // Round trips.
  auto pct = vg::PercentDecode(PercentEncodeAll(body), true);
  Check(pct.ok() && *pct == body);
  for (bool url_safe : {false, true}) {
    auto back = vg::Base64Decode(Base64Encode(body, url_safe));
    Check(back.ok() && *back == body);
  }
  auto unzipped = vg::Gunzip(vg::Gzip(body), body.size());
  Check(unzipped.ok() && *unzipped == body);
  if (!body.empty()) {
    auto capped = vg::Gunzip(vg::Gzip(body), body.size() - 1);
    Check(!capped.ok() && capped.status().code() == vg::Status::Code::kTooLarge);
  }
  return 0;
}
