#include "auth/totp.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

namespace vg::auth {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the hash's output length.
TEST(TotpTest, Rfc6238AppendixBVectors) {
  const auto sha1 = Bytes("12345678901234567890");
  const auto sha256 = Bytes("12345678901234567890123456789012");
  const auto sha512 = Bytes("1234567890123456789012345678901234567890123456789012345678901234");
  struct Vector {
    int64_t t;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  const Vector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  int checked = 0;
  for (const Vector& v : vectors) {
    EXPECT_EQ(FormatTotpCode(TotpCode(sha1, v.t, 8, 30, TotpHash::kSha1), 8), v.sha1) << v.t;
    EXPECT_EQ(FormatTotpCode(TotpCode(sha256, v.t, 8, 30, TotpHash::kSha256), 8), v.sha256) << v.t;
    EXPECT_EQ(FormatTotpCode(TotpCode(sha512, v.t, 8, 30, TotpHash::kSha512), 8), v.sha512) << v.t;
    checked += 3;
  }
  EXPECT_EQ(checked, 18);
  // Six digits are the last six of the eight (the modulus differs only).
  EXPECT_EQ(FormatTotpCode(TotpCode(sha1, 59), 6), "287082");
}

TEST(TotpTest, FormatZeroPads) {
  EXPECT_EQ(FormatTotpCode(42, 6), "000042");
  EXPECT_EQ(FormatTotpCode(7081804, 8), "07081804");
  EXPECT_EQ(FormatTotpCode(123456, 6), "123456");
}

TEST(Base32Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},          {"f", "MY"},          {"fo", "MZXQ"},          {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(Bytes(plain)), encoded) << plain;
    auto decoded = Base32Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
  // With the RFC's padding, lower case and spaces.
  auto padded = Base32Decode("mzxw 6ytb oi======");
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(std::string(padded->begin(), padded->end()), "foobar");
}

TEST(Base32Test, RejectsBadCharactersNamingThem) {
  auto bad = Base32Decode("MZXW1YTB");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'1'"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("position 4"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(Base32Decode("MZXW6YT!").ok());
  EXPECT_FALSE(Base32Decode("M").ok());  // 5 bits are not a byte
}

TEST(Base32Test, RoundTripsRandomBytes) {
  std::mt19937 rng(7);
  for (int n = 0; n < 64; ++n) {
    std::vector<uint8_t> b(static_cast<size_t>(n));
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    auto back = Base32Decode(Base32Encode(b));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, b);
  }
}

TEST(TotpTest, OtpauthUriPercentEncodesLabelAndIssuer) {
  const auto secret = Bytes("12345678901234567890");
  EXPECT_EQ(OtpauthUri("vendorguard", "alice", secret),
            "otpauth://totp/vendorguard:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=vendorguard"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(OtpauthUri("Acme Corp", "bob@acme.example", secret),
            "otpauth://totp/Acme%20Corp:bob%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Corp"
            "&algorithm=SHA1&digits=6&period=30");
}

// What the Debian oathtool (an independent implementation) says for the same secret and time.
std::string Oathtool(const std::string& args) {
  std::string out;
  FILE* p = ::popen(("/usr/bin/oathtool " + args + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(TotpTest, AgreesWithOathtool) {
  if (::access("/usr/bin/oathtool", X_OK) != 0) GTEST_SKIP() << "/usr/bin/oathtool not installed (apt install oathtool)";
  std::mt19937_64 rng(20261129);
  const std::pair<TotpHash, const char*> hashes[] = {
      {TotpHash::kSha1, "sha1"}, {TotpHash::kSha256, "sha256"}, {TotpHash::kSha512, "sha512"}};
  int compared = 0;
  for (int i = 0; i < 4; ++i) {
    std::vector<uint8_t> secret(20 + 6 * static_cast<size_t>(i));
    for (auto& b : secret) b = static_cast<uint8_t>(rng());
    const std::string b32 = Base32Encode(secret);
    const int64_t t = static_cast<int64_t>(rng() % 4'000'000'000ULL);
    for (const auto& [hash, name] : hashes) {
      for (int digits : {6, 8}) {
        const std::string expected = Oathtool("--totp=" + std::string(name) + " --digits=" + std::to_string(digits) +
                                              " -b " + b32 + " --now @" + std::to_string(t));
        EXPECT_EQ(FormatTotpCode(TotpCode(secret, t, digits, 30, hash), digits), expected)
            << "secret " << b32 << " t " << t << " " << name << " digits " << digits;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 24);
}

}  // namespace
}  // namespace vg::auth
