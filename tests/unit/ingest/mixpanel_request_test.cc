#include "ingest/mixpanel_request.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

namespace vg {
namespace {

using Code = Status::Code;

// What Buffer.from(s).toString("base64") and the browser SDK's _.base64Encode produce.
std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// JavaScript's encodeURIComponent (also what Node's querystring.stringify does to values).
std::string EncodeUriComponent(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        std::string_view("-_.!~*'()").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// zlib-wrapped deflate (what compress2 writes), to check that Gunzip detects the header.
std::string ZlibCompress(std::string_view in) {
  uLongf n = compressBound(in.size());
  std::string out(n, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()),
                      in.size(), Z_DEFAULT_COMPRESSION),
            Z_OK);
  out.resize(n);
  return out;
}

// The Node SDK payload: its base64 holds both '+' and '/' (from "?>~>" and ">~??").
constexpr std::string_view kEventJson =
    R"({"event":"Signed up","properties":{"distinct_id":">~??","token":"t"}})";
constexpr std::string_view kBatchJson =
    R"([{"event":"Plan changed","properties":{"distinct_id":"u-42","note":"?>~>"}}])";

// ---------------------------------------------------------------------------------------------------------
// PercentDecode

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(*PercentDecode("a%41%2f%2Fb", false), "aA//b");
  EXPECT_EQ(*PercentDecode("%C3%A9t%C3%A9", false), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(*PercentDecode("%00", false), std::string(1, '\0'));
  EXPECT_EQ(*PercentDecode("", true), "");
  EXPECT_EQ(*PercentDecode("plain-text_no.escapes", true), "plain-text_no.escapes");
  EXPECT_EQ(*PercentDecode("{\"raw\":\"json\"}", true), "{\"raw\":\"json\"}");  // unescaped bytes pass through
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(*PercentDecode("a+b%2Bc%20d", true), "a b+c d");
  EXPECT_EQ(*PercentDecode("a+b%2Bc%20d", false), "a+b+c d");
}

TEST(PercentDecode, BadEscapesNameTheByte) {
  struct Case {
    std::string_view in;
    size_t at;
  } cases[] = {{"%", 0}, {"%4", 0}, {"ab%4", 2}, {"%G1", 0}, {"%1G", 0}, {"abc%zz", 3}, {"%41%", 3}, {"%%41", 0}};
  for (const auto& c : cases) {
    auto r = PercentDecode(c.in, true);
    ASSERT_FALSE(r.ok()) << c.in;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("invalid percent-encoding at byte " + std::to_string(c.at) + ":"),
              std::string::npos)
        << r.status().message();
  }
  EXPECT_NE(PercentDecode("x%zz", true).status().message().find("'%zz'"), std::string::npos);
  // Non-printable bytes are shown escaped, never raw.
  EXPECT_NE(PercentDecode("%\x01\xff", true).status().message().find("'%\\x01\\xff'"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------
// ParseFormEncoded

TEST(ParseFormEncoded, SplitsAndDecodes) {
  auto r = ParseFormEncoded("a=1&b=x+y%21&c%5B%5D=%7B%7D");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], std::make_pair(std::string("a"), std::string("1")));
  EXPECT_EQ((*r)[1], std::make_pair(std::string("b"), std::string("x y!")));
  EXPECT_EQ((*r)[2], std::make_pair(std::string("c[]"), std::string("{}")));
}

TEST(ParseFormEncoded, EmptyPiecesSkippedAndMissingValuesEmpty) {
  auto r = ParseFormEncoded("&&flag&a=&=v&b=1=2&");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0], std::make_pair(std::string("flag"), std::string()));
  EXPECT_EQ((*r)[1], std::make_pair(std::string("a"), std::string()));
  EXPECT_EQ((*r)[2], std::make_pair(std::string(), std::string("v")));
  EXPECT_EQ((*r)[3], std::make_pair(std::string("b"), std::string("1=2")));
  EXPECT_TRUE(ParseFormEncoded("")->empty());
}

TEST(ParseFormEncoded, BadEscapeOffsetIsInTheWholeInput) {
  auto value = ParseFormEncoded("a=1&b=%zz");
  ASSERT_FALSE(value.ok());
  EXPECT_NE(value.status().message().find("at byte 6"), std::string::npos) << value.status().message();
  auto name = ParseFormEncoded("a=1&%q=2");
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.status().message().find("at byte 4"), std::string::npos) << name.status().message();
}

// ---------------------------------------------------------------------------------------------------------
// Base64Decode

TEST(Base64Decode, Rfc4648VectorsPaddedAndUnpadded) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    auto padded = Base64Decode(encoded);
    ASSERT_TRUE(padded.ok()) << encoded << ": " << padded.status().message();
    EXPECT_EQ(*padded, plain);
    std::string_view unpadded = encoded.substr(0, encoded.find('='));
    auto bare = Base64Decode(unpadded);
    ASSERT_TRUE(bare.ok()) << unpadded << ": " << bare.status().message();
    EXPECT_EQ(*bare, plain);
  }
}

TEST(Base64Decode, StandardAndUrlSafeAlphabets) {
  // 0xfb 0xff 0xbf uses 62 and 63 in every position they can take.
  const std::string bytes = "\xfb\xff\xbf";
  EXPECT_EQ(*Base64Decode("+/+/"), bytes);
  EXPECT_EQ(*Base64Decode("-_-_"), bytes);
  EXPECT_EQ(*Base64Decode("+/8="), "\xfb\xff");
  EXPECT_EQ(*Base64Decode("-_8"), "\xfb\xff");
  EXPECT_EQ(*Base64Decode("____"), "\xff\xff\xff");
  EXPECT_EQ(*Base64Decode(Base64Encode(kEventJson)), kEventJson);
}

TEST(Base64Decode, RejectsWhatIsNotBase64) {
  struct Case {
    std::string_view in, why;
  } cases[] = {
      {"Zm9v!", "'!'"},             // invalid character
      {"Zm9vYmFy Zg==", "at byte 8"},  // whitespace is not allowed
      {"Zm9v\n", "'\\x0a'"},
      {"Zg==Zg==", "'=' at byte 2"},  // padding in the middle
      {"Zg===", "'=' at byte 2"},     // three padding characters
      {"Zg=", "padding"},             // padding that does not complete the group
      {"Zm9vY", "one character"},     // 4n+1 characters cannot encode a whole byte
      {"Z", "one character"},
  };
  for (const auto& c : cases) {
    auto r = Base64Decode(c.in);
    ASSERT_FALSE(r.ok()) << c.in;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("invalid base64: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(c.why), std::string::npos) << c.in << ": " << r.status().message();
  }
}

// Long inputs go through the 16-characters-at-a-time path: every length around its block edges, both
// alphabets, every byte value, and one bad character at every position (the error must name it).
TEST(Base64Decode, LongInputsMatchTheEncoderAtEveryLength) {
  uint32_t x = 2463534242u;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  for (size_t len = 0; len <= 200; ++len) {
    std::string plain(len, '\0');
    for (auto& c : plain) c = static_cast<char>(next());
    std::string encoded = Base64Encode(plain);
    auto r = Base64Decode(encoded);
    ASSERT_TRUE(r.ok()) << len << ": " << r.status().message();
    ASSERT_EQ(*r, plain) << len;
    std::string url_safe = encoded;
    for (auto& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
    auto u = Base64Decode(url_safe);
    ASSERT_TRUE(u.ok()) << len;
    ASSERT_EQ(*u, plain) << len;
  }
  // Every 6-bit value in every position of a block: 0..63 as characters, rotated.
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int shift = 0; shift < 64; ++shift) {
    std::string encoded;
    for (int k = 0; k < 128; ++k) encoded += kAlphabet[(k + shift) % 64];
    auto r = Base64Decode(encoded);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Base64Encode(*r), encoded) << shift;
  }
}

TEST(Base64Decode, LongInputsNameTheFirstBadCharacter) {
  const std::string plain(150, 'q');
  const std::string good = Base64Encode(plain);  // 200 characters, no padding
  ASSERT_EQ(good.size(), 200u);
  for (unsigned char bad : {'!', '=', ' ', '\n', '.', ':', '@', '[', '`', '{', '\x7f', '\x80', '\xff', '\0'}) {
    for (size_t at = 0; at < good.size(); ++at) {
      std::string in = good;
      in[at] = static_cast<char>(bad);
      if (bad == '=' && at == good.size() - 1) continue;  // a final "=" is padding
      auto r = Base64Decode(in);
      ASSERT_FALSE(r.ok()) << int(bad) << " at " << at;
      EXPECT_NE(r.status().message().find("at byte " + std::to_string(at)), std::string::npos)
          << int(bad) << " at " << at << ": " << r.status().message();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Gunzip and Gzip

std::string TestText(size_t n) {
  std::string s;
  s.reserve(n);
  uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245 + 12345;
    s += "{\"event\":\"e" + std::to_string(x % 1000) + "\"},";
  }
  s.resize(n);
  return s;
}

TEST(Gunzip, RoundTripsGzipAndZlib) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{70000}, size_t{1} << 20}) {
    std::string text = TestText(n);
    std::string gz = Gzip(text);
    ASSERT_GE(gz.size(), 18u);
    EXPECT_EQ(uint8_t(gz[0]), 0x1f);
    EXPECT_EQ(uint8_t(gz[1]), 0x8b);
    auto out = Gunzip(gz, 1 << 20);
    ASSERT_TRUE(out.ok()) << n << ": " << out.status().message();
    EXPECT_EQ(*out, text);
    auto z = Gunzip(ZlibCompress(text), 1 << 20);
    ASSERT_TRUE(z.ok()) << z.status().message();
    EXPECT_EQ(*z, text);
  }
}

TEST(Gunzip, ConcatenatedMembersAreOneBody) {
  auto out = Gunzip(Gzip("[{\"event\":\"a\"},") + Gzip("{\"event\":\"b\"}]"), 1000);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, R"([{"event":"a"},{"event":"b"}])");
}

TEST(Gunzip, OutputIsCappedExactlyAtTheLimit) {
  std::string text = TestText(5000);
  std::string gz = Gzip(text);
  EXPECT_TRUE(Gunzip(gz, 5000).ok());
  auto over = Gunzip(gz, 4999);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Code::kTooLarge);
  EXPECT_NE(over.status().message().find("limit of 4999 bytes"), std::string::npos) << over.status().message();
}

TEST(Gunzip, BombStopsAtTheLimit) {
  // 16 MiB of zeros compress to about 16 KiB; decoding must stop at the limit, not inflate it all.
  std::string bomb = Gzip(std::string(16 << 20, '\0'), GzipLevel::kSmall);
  ASSERT_LT(bomb.size(), 20u * 1024);
  auto r = Gunzip(bomb, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
}

TEST(Gunzip, CorruptAndTruncatedInput) {
  std::string gz = Gzip(TestText(2000));
  std::string not_deflate = std::string("\x1f\x8b\x08\x00", 4) + "this is not a deflate stream at all";
  std::string flipped = gz;
  flipped[flipped.size() / 2] ^= 0x55;
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 1;
  const std::string cases[] = {"", "garbage", not_deflate, gz.substr(0, gz.size() - 4), gz.substr(0, 10),
                               flipped, bad_crc, gz + "trailing garbage"};
  for (const auto& c : cases) {
    auto r = Gunzip(c, 1 << 20);
    ASSERT_FALSE(r.ok()) << c.size();
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("corrupt gzip body: ", 0), 0u) << r.status().message();
  }
  EXPECT_NE(Gunzip(gz.substr(0, gz.size() - 4), 1 << 20).status().message().find("truncated"), std::string::npos);
  EXPECT_NE(Gunzip(bad_crc, 1 << 20).status().message().find("incorrect data check"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------
// Endpoints

TEST(Endpoint, PathsWithAndWithoutTrailingSlash) {
  const std::pair<std::string_view, MixpanelEndpoint> cases[] = {
      {"/track", MixpanelEndpoint::kTrack},       {"/track/", MixpanelEndpoint::kTrack},
      {"/engage/", MixpanelEndpoint::kEngage},    {"/groups", MixpanelEndpoint::kGroups},
      {"/import", MixpanelEndpoint::kImport},     {"/flags/", MixpanelEndpoint::kFlags},
      {"/decide", MixpanelEndpoint::kDecide},     {"/settings/", MixpanelEndpoint::kSettings},
      {"/record/", MixpanelEndpoint::kRecord},    {"/track//", MixpanelEndpoint::kUnknown},
      {"/trackx", MixpanelEndpoint::kUnknown},    {"/TRACK", MixpanelEndpoint::kUnknown},
      {"/", MixpanelEndpoint::kUnknown},          {"", MixpanelEndpoint::kUnknown},
      {"/mp/track", MixpanelEndpoint::kUnknown},
  };
  for (const auto& [path, want] : cases) EXPECT_EQ(EndpointFromPath(path), want) << path;
  EXPECT_EQ(EndpointName(MixpanelEndpoint::kTrack), "track");
  EXPECT_EQ(EndpointName(MixpanelEndpoint::kRecord), "record");
  EXPECT_EQ(EndpointName(MixpanelEndpoint::kUnknown), "unknown");
}

// ---------------------------------------------------------------------------------------------------------
// DecodeMixpanelRequest

class DecodeRequestTest : public ::testing::Test {
 protected:
  StatusOr<MixpanelPayload> Decode(std::string_view method, std::string_view target, std::string_view body = "",
                                   std::string_view content_type = "", std::string_view encoding = "") {
    IngestRequest req{method, target, content_type, encoding, body};
    return DecodeMixpanelRequest(req, limits_);
  }
  static std::string Error(const StatusOr<MixpanelPayload>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  }

  DecodeLimits limits_;
  static constexpr std::string_view kForm = "application/x-www-form-urlencoded";
};

TEST_F(DecodeRequestTest, NodeSdkGetWithBase64InTheQuery) {
  std::string b64 = Base64Encode(kEventJson);
  ASSERT_NE(b64.find('+'), std::string::npos);
  ASSERT_NE(b64.find('/'), std::string::npos);
  // querystring.stringify escapes '+', '/' and '=' in the query.
  auto r = Decode("GET", "/track?ip=0&verbose=0&data=" + EncodeUriComponent(b64));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->endpoint, MixpanelEndpoint::kTrack);
  EXPECT_EQ(r->path, "/track");
  EXPECT_EQ(r->json, kEventJson);
  EXPECT_EQ(r->ip, std::optional<bool>(false));
  EXPECT_FALSE(r->verbose);
  EXPECT_FALSE(r->img);
  EXPECT_TRUE(r->callback.empty());
  ASSERT_EQ(r->query.size(), 3u);
  EXPECT_EQ(r->query[0], std::make_pair(std::string("ip"), std::string("0")));
  EXPECT_EQ(r->query[2], std::make_pair(std::string("data"), b64));
}

TEST_F(DecodeRequestTest, NodeSdkPostKeepsPlusInUnescapedBase64) {
  for (std::string_view json : {kEventJson, kBatchJson}) {
    std::string b64 = Base64Encode(json);
    ASSERT_NE(b64.find('+'), std::string::npos);
    ASSERT_NE(b64.find('/'), std::string::npos);
    // The Node SDK writes "data=" + base64 without any escaping.
    auto r = Decode("POST", "/import?ip=0&verbose=1", "data=" + b64, kForm);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->endpoint, MixpanelEndpoint::kImport);
    EXPECT_EQ(r->json, json);
    EXPECT_TRUE(r->verbose);
    EXPECT_EQ(r->ip, std::optional<bool>(false));
  }
}

TEST_F(DecodeRequestTest, BrowserSdkPostBase64) {
  std::string b64 = Base64Encode(kBatchJson);
  auto r = Decode("POST", "/track/?verbose=1&ip=1&_=1712345678901", "data=" + EncodeUriComponent(b64), kForm);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->endpoint, MixpanelEndpoint::kTrack);
  EXPECT_EQ(r->path, "/track/");
  EXPECT_EQ(r->json, kBatchJson);
  EXPECT_TRUE(r->verbose);
  EXPECT_EQ(r->ip, std::optional<bool>(true));
  ASSERT_EQ(r->query.size(), 3u);
  EXPECT_EQ(r->query[2], std::make_pair(std::string("_"), std::string("1712345678901")));
}

TEST_F(DecodeRequestTest, BrowserSdkPostJsonKeepsPlusAndSpaces) {
  // api_payload_format: 'json'; '+' arrives as %2B and spaces as %20, so neither may be confused.
  const std::string json = R"([{"event":"a + b = c","properties":{"q":"1+1 is 2","url":"/p?x=1&y=%20"}}])";
  auto r = Decode("POST", "/track/?ip=1&_=1712345678901", "data=" + EncodeUriComponent(json), kForm);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->json, json);
}

TEST_F(DecodeRequestTest, SendBeaconTextPlainBody) {
  std::string b64 = Base64Encode(kEventJson);
  auto r = Decode("POST", "/track/?verbose=1&ip=1&_=1712345678901", "data=" + EncodeUriComponent(b64),
                  "text/plain;charset=UTF-8");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->json, kEventJson);
}

TEST_F(DecodeRequestTest, FormEncodedJsonWithPlusAsSpace) {
  // Clients that form-encode (URLSearchParams, Python's urlencode) turn spaces into '+'.
  auto r = Decode("POST", "/engage", "data=%7B%22%24set%22%3A%7B%22name%22%3A%22Ada+Lovelace%22%7D%7D", kForm);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->endpoint, MixpanelEndpoint::kEngage);
  EXPECT_EQ(r->json, R"({"$set":{"name":"Ada Lovelace"}})");
}

TEST_F(DecodeRequestTest, UrlSafeUnpaddedBase64) {
  std::string b64 = Base64Encode(kEventJson);
  for (char& c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  auto r = Decode("GET", "/track?data=" + b64);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->json, kEventJson);
}

TEST_F(DecodeRequestTest, UnescapedJsonInFormBody) {
  auto r = Decode("POST", "/groups/", R"(data={"$group_key":"company","$group_id":"c1"})", kForm);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->endpoint, MixpanelEndpoint::kGroups);
  EXPECT_EQ(r->json, R"({"$group_key":"company","$group_id":"c1"})");
}

TEST_F(DecodeRequestTest, JsonBodyIsTakenAsIs) {
  const std::string json = " \n[{\"event\":\"a+b\",\"properties\":{\"time\":1}}]\n";
  for (std::string_view ct : {"application/json", "", "text/plain"}) {
    auto r = Decode("POST", "/import?verbose=1", json, ct);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->json, json);
    EXPECT_TRUE(r->verbose);
  }
  // An object body too, and a JSON body wins over data in the query string.
  auto r = Decode("POST", "/track?data=W10=", R"({"event":"x"})", "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->json, R"({"event":"x"})");
}

TEST_F(DecodeRequestTest, FormBodyLabelledJsonIsStillAForm) {
  auto r = Decode("POST", "/track/?verbose=1&ip=1", R"(data=[{"event":"a"}])", "application/json");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->json, R"([{"event":"a"}])");
}

TEST_F(DecodeRequestTest, GzipJsonBody) {
  std::string json(kBatchJson);
  for (std::string_view enc : {"gzip", "GZIP", " x-gzip "}) {
    auto r = Decode("POST", "/import", Gzip(json), "application/json", enc);
    ASSERT_TRUE(r.ok()) << enc << ": " << r.status().message();
    EXPECT_EQ(r->json, json);
  }
}

TEST_F(DecodeRequestTest, GzipFormBody) {
  std::string body = "verbose=1&data=" + Base64Encode(kEventJson);
  auto r = Decode("POST", "/track", Gzip(body), kForm, "gzip");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->json, kEventJson);
  EXPECT_TRUE(r->verbose);
}

TEST_F(DecodeRequestTest, IdentityEncodingIsPlain) {
  auto r = Decode("POST", "/track", R"({"event":"x"})", "application/json", "identity");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->json, R"({"event":"x"})");
}

TEST_F(DecodeRequestTest, FlagsFromQueryAndBodyWithBodyWinning) {
  auto q = Decode("GET", "/track?verbose=1&img=1&ip=1&callback=mp.cb_1&data=W10%3D");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_TRUE(q->verbose);
  EXPECT_TRUE(q->img);
  EXPECT_EQ(q->ip, std::optional<bool>(true));
  EXPECT_EQ(q->callback, "mp.cb_1");
  EXPECT_EQ(q->json, "[]");

  auto b = Decode("POST", "/track?verbose=1&ip=1&img=1&callback=fromQuery",
                  "verbose=0&ip=0&img=0&callback=fromBody&data=W10%3D", kForm);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_FALSE(b->verbose);
  EXPECT_FALSE(b->img);
  EXPECT_EQ(b->ip, std::optional<bool>(false));
  EXPECT_EQ(b->callback, "fromBody");

  // Body data wins over query data; within one part the first occurrence wins.
  auto d = Decode("POST", "/track?data=eyJmcm9tIjoicXVlcnkifQ%3D%3D",
                  "data=%7B%22from%22%3A%22body%22%7D&data=%7B%7D", kForm);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->json, R"({"from":"body"})");

  auto none = Decode("GET", "/track?data=W10%3D&ip=maybe&verbose=yes");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->ip.has_value());
  EXPECT_FALSE(none->verbose);
}

TEST_F(DecodeRequestTest, OnlySafeCallbacksAreKept) {
  auto callback = [&](std::string_view encoded) {
    auto r = Decode("GET", "/track?data=W10%3D&callback=" + std::string(encoded));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->callback : std::string("<error>");
  };
  EXPECT_EQ(callback("mixpanel._jsc.cb_0"), "mixpanel._jsc.cb_0");
  EXPECT_EQ(callback("$jq1"), "$jq1");
  EXPECT_EQ(callback("(function()%7B%7D)"), "(function(){})");  // the browser SDK's no-op, as it encodes it
  EXPECT_EQ(callback(std::string(128, 'a')), std::string(128, 'a'));
  EXPECT_EQ(callback(std::string(129, 'a')), "");
  EXPECT_EQ(callback("alert(1)%2F%2F"), "");
  EXPECT_EQ(callback("1abc"), "");
  EXPECT_EQ(callback("a+b"), "");
  EXPECT_EQ(callback("a%3Bb"), "");
  EXPECT_EQ(callback("%3Cscript%3E"), "");
  EXPECT_EQ(callback(""), "");
}

TEST_F(DecodeRequestTest, UnknownPathIsReportedNotRejected) {
  auto r = Decode("POST", "/nope/?data=%zz", "not a form %%% at all", kForm, "br");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->endpoint, MixpanelEndpoint::kUnknown);
  EXPECT_EQ(r->path, "/nope/");
  EXPECT_TRUE(r->json.empty());
}

TEST_F(DecodeRequestTest, AbsoluteFormTarget) {
  auto r = Decode("GET", "http://gw.example:8080/track/?data=W10%3D");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->endpoint, MixpanelEndpoint::kTrack);
  EXPECT_EQ(r->path, "/track/");
  EXPECT_EQ(r->json, "[]");
}

TEST_F(DecodeRequestTest, MissingDataIsAnErrorOnlyWhereEventsAreExpected) {
  for (std::string_view target : {"/track?ip=1", "/engage/", "/groups", "/import?verbose=1"}) {
    auto r = Decode("POST", target, "", kForm);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << target;
    EXPECT_NE(Error(r).find("no data in request"), std::string::npos) << target;
  }
  EXPECT_NE(Error(Decode("POST", "/track", "verbose=1&other=x", kForm)).find("no data in request"),
            std::string::npos);
  EXPECT_NE(Error(Decode("POST", "/track", "data=", kForm)).find("data parameter is empty"), std::string::npos);

  for (std::string_view target : {"/flags/?context=%7B%7D", "/decide?verbose=1&version=1&lib=web",
                                  "/settings/?sdk_config=1&mp_lib=web"}) {
    auto r = Decode("GET", target);
    ASSERT_TRUE(r.ok()) << target << ": " << r.status().message();
    EXPECT_TRUE(r->json.empty());
  }
  auto flags = Decode("GET", "/flags/?context=%7B%22distinct_id%22%3A%22u+1%22%7D");
  ASSERT_TRUE(flags.ok());
  ASSERT_EQ(flags->query.size(), 1u);
  EXPECT_EQ(flags->query[0].second, R"({"distinct_id":"u 1"})");
}

TEST_F(DecodeRequestTest, RecordBodyIsNeverDecoded) {
  // The browser SDK posts gzip without Content-Encoding (format=gzip in the query).
  std::string gz = Gzip(R"([{"type":2,"data":{}}])");
  auto r = Decode("POST", "/record/?format=gzip&seq=0&replay_id=r1&verbose=1", gz, "application/octet-stream");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->endpoint, MixpanelEndpoint::kRecord);
  EXPECT_TRUE(r->json.empty());
  EXPECT_TRUE(r->verbose);
  EXPECT_TRUE(Decode("POST", "/record", "%%% not json", "", "br").ok());
}

TEST_F(DecodeRequestTest, RawBodyOverTheLimit) {
  limits_.max_body_bytes = 100;
  std::string body = "data=" + std::string(95, 'A');  // exactly 100 bytes is fine
  ASSERT_EQ(body.size(), 100u);
  EXPECT_TRUE(Decode("POST", "/track", body, kForm).status().code() != Code::kTooLarge);
  auto r = Decode("POST", "/track", body + "A", kForm);
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  EXPECT_EQ(Error(r), "request body of 101 bytes exceeds the limit of 100 bytes");
  // Even for a recording, which is otherwise not read.
  EXPECT_EQ(Decode("POST", "/record", body + "A").status().code(), Code::kTooLarge);
}

TEST_F(DecodeRequestTest, DecompressedBodyOverTheLimit) {
  limits_.max_body_bytes = 64 * 1024;
  std::string json = "[{\"event\":\"Big\",\"properties\":{\"pad\":\"" + std::string(4 * 64 * 1024, 'x') + "\"}}]";
  std::string gz = Gzip(json);
  ASSERT_LT(gz.size(), limits_.max_body_bytes);
  auto r = Decode("POST", "/track", gz, "application/json", "gzip");
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
  EXPECT_NE(Error(r).find("gzip body expands beyond the limit of 65536 bytes"), std::string::npos) << Error(r);
}

TEST_F(DecodeRequestTest, UnsupportedAndCorruptEncodings) {
  for (std::string_view enc : {"br", "deflate", "gzip, br", "compress"}) {
    auto r = Decode("POST", "/track", Gzip(R"({"event":"x"})"), "application/json", enc);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << enc;
    EXPECT_NE(Error(r).find("unsupported Content-Encoding '" + std::string(enc) + "'"), std::string::npos)
        << Error(r);
  }
  auto corrupt = Decode("POST", "/track", "garbage", "application/json", "gzip");
  EXPECT_EQ(corrupt.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Error(corrupt).rfind("corrupt gzip body: ", 0), 0u) << Error(corrupt);
}

// A value without escapes (the Node SDK posts raw base64) is decoded straight from the body: the same
// payload, and the same error at the same byte, as when the same value arrives percent-encoded. (A '+'
// is left out of the JSON cases: unescaped it is a space, escaped it is a '+'.)
TEST_F(DecodeRequestTest, UnescapedAndEscapedValuesDecodeAlike) {
  const std::string json = std::string(R"([{"event":"\u00fb\u00ff","properties":{"k":">>>???"}}])");
  for (const std::string& raw :
       {Base64Encode(json), Base64Encode(">>>???" + json).substr(8), std::string("eyJldmVudCI6IkJyb2tlbiJ9!!"),
        std::string("W10=W10="), std::string("++") + Base64Encode(json), std::string(R"([{"event":"x"}])"),
        std::string("  [{\"event\":\"x\"}]"), std::string("Zg=")}) {
    auto plain = Decode("POST", "/track", "data=" + raw, kForm);
    auto escaped = Decode("POST", "/track", "data=" + EncodeUriComponent(raw), kForm);
    auto why = [](const auto& r) { return r.ok() ? std::string("ok") : r.status().message(); };
    ASSERT_EQ(plain.ok(), escaped.ok()) << raw << ": " << why(plain) << " / " << why(escaped);
    if (plain.ok()) {
      EXPECT_EQ(plain->json, escaped->json) << raw;
    } else {
      EXPECT_EQ(Error(plain), Error(escaped)) << raw;
    }
  }
  auto node = Decode("POST", "/track", "data=" + Base64Encode(json), kForm);
  ASSERT_TRUE(node.ok()) << Error(node);
  EXPECT_EQ(node->json, json);
}

TEST_F(DecodeRequestTest, BrokenDataNamesTheProblem) {
  auto b64 = Decode("POST", "/track", "data=" + EncodeUriComponent("eyJldmVudCI6IkJyb2tlbiJ9!!*~@@"), kForm);
  EXPECT_EQ(b64.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Error(b64).rfind("data is neither JSON nor valid base64", 0), 0u) << Error(b64);
  EXPECT_NE(Error(b64).find("'!' at byte 24"), std::string::npos) << Error(b64);

  auto pct_body = Decode("POST", "/track", "data=%%%", kForm);
  EXPECT_EQ(Error(pct_body).rfind("invalid percent-encoding at byte 5 of the form body", 0), 0u)
      << Error(pct_body);
  auto pct_query = Decode("GET", "/track?ip=1&data=W10%3");
  EXPECT_EQ(Error(pct_query).rfind("invalid percent-encoding at byte 13 of the query string", 0), 0u)
      << Error(pct_query);
  // A broken escape in a field the decoder does not use is still an error: the body is malformed.
  EXPECT_NE(Error(Decode("POST", "/track", "data=W10%3D&x=%G0", kForm)).find("byte 14 of the form body"),
            std::string::npos);
  EXPECT_NE(Error(Decode("POST", "/track", "multipart stuff", "multipart/form-data; boundary=x")).find("multipart"),
            std::string::npos);
}

}  // namespace
}  // namespace vg

namespace vg {
namespace {

// The decoder skips 16 bytes at a time between escapes: escapes and '+' at every position relative to
// those blocks, in long inputs, must decode as a byte-at-a-time reference does, and a bad escape must be
// reported at its offset wherever it sits.
TEST(PercentDecodeBlocks, MatchesAByteAtATimeReferenceAtEveryAlignment) {
  auto reference = [](std::string_view in, bool plus) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '%') {
        out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(plus && in[i] == '+' ? ' ' : in[i]);
      }
    }
    return out;
  };
  uint32_t seed = 7;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  for (int round = 0; round < 400; ++round) {
    std::string in;
    const size_t len = 1 + next() % 90;
    while (in.size() < len) {
      switch (next() % 6) {
        case 0: in += "%2B"; break;
        case 1: in += "%3d"; break;
        case 2: in += '+'; break;
        default: in += static_cast<char>('a' + next() % 26); break;
      }
    }
    for (bool plus : {false, true}) {
      auto got = PercentDecode(in, plus);
      ASSERT_TRUE(got.ok()) << in;
      EXPECT_EQ(*got, reference(in, plus)) << in;
    }
    // A bad escape at a random position is reported at that byte.
    const size_t at = next() % (in.size() + 1);
    std::string bad = in.substr(0, at);
    size_t expected = bad.size();
    // Keep the prefix's own escapes whole: cut back to before a partial one.
    for (size_t k = bad.size() >= 2 ? bad.size() - 2 : 0; k < bad.size(); ++k) {
      if (bad[k] == '%') {
        bad.resize(k);
        expected = k;
        break;
      }
    }
    bad += "%zz" + std::string(20, 'x');
    auto err = PercentDecode(bad, false);
    ASSERT_FALSE(err.ok()) << bad;
    EXPECT_NE(err.status().message().find("at byte " + std::to_string(expected)), std::string::npos)
        << bad << " -> " << err.status().message();
  }
}

}  // namespace
}  // namespace vg
