#include "common/pem.h"
#include "ledger/tree_head.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vg::ledger {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 0xf]);
  }
  return s;
}

// RFC 8032 section 7.1, test 1.
constexpr std::string_view kRfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfc8032PublicKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

TreeHeadSigner TestSigner() {
  auto seed = FromHex(kRfc8032Seed);
  return TreeHeadSigner::FromSeed(std::span<const uint8_t, 32>(seed.data(), 32));
}

TreeHead SampleHead() {
  TreeHead head;
  head.tree_size = 0x0102030405060708;
  head.timestamp_ms = 0x1122334455667788;
  for (size_t i = 0; i < head.root_hash.size(); ++i) head.root_hash[i] = static_cast<uint8_t>(i);
  return head;
}

TEST(TreeHeadMessageTest, IsRfc6962TreeHeadSignatureBigEndian) {
  const auto m = TreeHeadMessage(SampleHead());
  EXPECT_EQ(ToHex(m),
            "00"                  // version v1
            "01"                  // signature_type tree_hash
            "1122334455667788"    // timestamp (ms)
            "0102030405060708"    // tree_size
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");  // root
  auto parsed = ParseTreeHeadMessage(m);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, SampleHead());
  auto bad = m;
  bad[0] = 1;
  EXPECT_FALSE(ParseTreeHeadMessage(bad).ok());
  bad = m;
  bad[1] = 0;  // certificate_timestamp, not a tree head
  EXPECT_FALSE(ParseTreeHeadMessage(bad).ok());
  EXPECT_FALSE(ParseTreeHeadMessage(std::span<const uint8_t>(m).first(49)).ok());
}

TEST(TreeHeadSignerTest, SignVerifyRoundTrip) {
  TreeHeadSigner signer = TestSigner();
  EXPECT_EQ(ToHex(signer.public_key()), kRfc8032PublicKey);
  const SignedTreeHead sth = signer.Sign(SampleHead());
  EXPECT_TRUE(VerifySignedTreeHead(sth, signer.public_key()).ok());
  // Ed25519 is deterministic: the same head gives the same signature.
  EXPECT_EQ(signer.Sign(SampleHead()).signature, sth.signature);
  // Serialized and parsed back.
  const std::string bytes = sth.Serialize();
  ASSERT_EQ(bytes.size(), kSignedTreeHeadBytes);
  auto parsed = SignedTreeHead::Parse(AsSpan(bytes));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, sth);
  EXPECT_TRUE(VerifySignedTreeHead(*parsed, signer.public_key()).ok());
  EXPECT_FALSE(SignedTreeHead::Parse(AsSpan(bytes).first(113)).ok());
}

TEST(TreeHeadSignerTest, AnyFlippedByteIsRejected) {
  TreeHeadSigner signer = TestSigner();
  const std::string good = signer.Sign(SampleHead()).Serialize();
  size_t rejected = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto parsed = SignedTreeHead::Parse(AsSpan(bad));
      // Bytes 0 and 1 (version, type) fail parsing; every other change fails the signature.
      const bool ok = parsed.ok() && VerifySignedTreeHead(*parsed, signer.public_key()).ok();
      EXPECT_FALSE(ok) << "byte " << i << " mask " << int(mask);
      rejected += !ok;
    }
  }
  EXPECT_EQ(rejected, 2 * kSignedTreeHeadBytes);
  // Another key.
  auto other_seed = FromHex(kRfc8032Seed);
  other_seed[0] ^= 1;
  TreeHeadSigner other = TreeHeadSigner::FromSeed(std::span<const uint8_t, 32>(other_seed.data(), 32));
  Status s = VerifySignedTreeHead(signer.Sign(SampleHead()), other.public_key());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not verify"), std::string::npos) << s.message();
}

TEST(TreeHeadPemTest, PublicKeyIsSubjectPublicKeyInfo) {
  TreeHeadSigner signer = TestSigner();
  const std::string pem = signer.PublicKeyPem();
  // The RFC 8410 section 10.1 example: the same public key.
  EXPECT_EQ(pem,
            "-----BEGIN PUBLIC KEY-----\n"
            "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
            "-----END PUBLIC KEY-----\n");
  auto key = PublicKeyFromPem(pem);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, signer.public_key());
  EXPECT_FALSE(PublicKeyFromPem("").ok());
  EXPECT_FALSE(PublicKeyFromPem("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n").ok());
  // An RSA or EC key (another DER prefix) is refused.
  EXPECT_FALSE(PublicKeyFromPem("-----BEGIN PUBLIC KEY-----\n"
                                "MCowBQYDK2VuAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"  // X25519 OID
                                "-----END PUBLIC KEY-----\n")
                   .ok());
  EXPECT_FALSE(PublicKeyFromPem(pem + pem).ok());
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vg-ledger-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string key_path() const { return (dir_ / "keys" / "ledger.key").string(); }
  std::filesystem::path dir_;
};

TEST_F(KeyFileTest, CreatedWithMode0600AndReloadsTheSameKey) {
  auto created = TreeHeadSigner::OpenOrCreate(key_path());
  ASSERT_TRUE(created.ok()) << created.status().message();
  struct stat st;
  ASSERT_EQ(::stat(key_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(::stat((dir_ / "keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  auto reopened = TreeHeadSigner::Open(key_path());
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  EXPECT_EQ(reopened->public_key(), created->public_key());
  // OpenOrCreate on an existing file uses it, never replaces it.
  auto again = TreeHeadSigner::OpenOrCreate(key_path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), created->public_key());
  // A head signed by one instance verifies with the other's public key.
  EXPECT_TRUE(VerifySignedTreeHead(created->Sign(SampleHead()), reopened->public_key()).ok());
  std::ifstream in(key_path());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"), std::string::npos) << "PKCS#8";
  std::vector<std::string> leftovers;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "keys")) leftovers.push_back(e.path().filename());
  EXPECT_EQ(leftovers, std::vector<std::string>{"ledger.key"});
}

// Creating never replaces a key file that exists (two processes starting at once): the second creator is
// told AlreadyExists, and the file keeps the first key.
TEST_F(KeyFileTest, CreatingNeverReplacesAnExistingKeyFile) {
  ASSERT_TRUE(CreateEd25519PrivateKeyFile(key_path(), "# first\n", "ledger signing key").ok());
  auto first = ReadEd25519PrivateKeyFile(key_path(), "ledger signing key");
  ASSERT_TRUE(first.ok()) << first.status().message();
  Status again = CreateEd25519PrivateKeyFile(key_path(), "# second\n", "ledger signing key");
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists) << again.message();
  auto still = ReadEd25519PrivateKeyFile(key_path(), "ledger signing key");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, *first);
  auto missing = ReadEd25519PrivateKeyFile(key_path() + ".nope", "ledger signing key");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("no ledger signing key file"), std::string::npos);
}

TEST_F(KeyFileTest, RefusesAFileOthersCanAccess) {
  ASSERT_TRUE(TreeHeadSigner::OpenOrCreate(key_path()).ok());
  for (mode_t mode : {0640, 0604, 0620, 0644}) {
    ::chmod(key_path().c_str(), mode);
    auto f = TreeHeadSigner::Open(key_path());
    ASSERT_FALSE(f.ok()) << std::oct << mode;
    EXPECT_NE(f.status().message().find("chmod 600"), std::string::npos) << f.status().message();
    // OpenOrCreate refuses it too (and does not replace it).
    EXPECT_FALSE(TreeHeadSigner::OpenOrCreate(key_path()).ok());
  }
  ::chmod(key_path().c_str(), 0400);
  EXPECT_TRUE(TreeHeadSigner::Open(key_path()).ok());
}

TEST_F(KeyFileTest, RefusesASymlinkAndDamage) {
  ASSERT_TRUE(TreeHeadSigner::OpenOrCreate(key_path()).ok());
  const std::string link = (dir_ / "keys" / "link.key").string();
  ASSERT_EQ(::symlink(key_path().c_str(), link.c_str()), 0);
  auto l = TreeHeadSigner::Open(link);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("symbolic link"), std::string::npos) << l.status().message();

  auto missing = TreeHeadSigner::Open((dir_ / "nope.key").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);

  std::ofstream(key_path(), std::ios::trunc) << "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n";
  ::chmod(key_path().c_str(), 0600);
  EXPECT_FALSE(TreeHeadSigner::Open(key_path()).ok());
  // An X25519 PKCS#8 key: right shape, wrong algorithm.
  std::ofstream(key_path(), std::ios::trunc) << "-----BEGIN PRIVATE KEY-----\n"
                                                "MC4CAQAwBQYDK2VuBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                                                "-----END PRIVATE KEY-----\n";
  auto x = TreeHeadSigner::Open(key_path());
  ASSERT_FALSE(x.ok());
  EXPECT_NE(x.status().message().find("not an Ed25519 key"), std::string::npos) << x.status().message();
}

// ---- An independent check with the openssl command-line tool ----

bool HaveOpenssl() { return std::system("command -v openssl >/dev/null 2>&1") == 0; }

// Runs a shell command; returns its exit status, its output in *out.
int RunShell(const std::string& cmd, std::string* out = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void WriteFile(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(bytes.data()),
                                                                 static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(KeyFileTest, OpensslVerifiesSignedTreeHeads) {
  if (!HaveOpenssl()) GTEST_SKIP() << "the openssl binary is not installed: independent check not run";
  auto signer = TreeHeadSigner::OpenOrCreate(key_path());
  ASSERT_TRUE(signer.ok()) << signer.status().message();
  const auto dir = dir_ / "keys";
  const std::string pub = (dir / "ledger-pub.pem").string();
  ASSERT_TRUE(signer->WritePublicKeyFile(pub).ok());

  TreeHead head;
  head.tree_size = 1'000'003;
  head.timestamp_ms = 1'764'400'000'123;
  head.root_hash = LeafHash(std::vector<uint8_t>{1, 2, 3});
  const SignedTreeHead sth = signer->Sign(head);
  WriteFile(dir / "head.msg", TreeHeadMessage(head));
  WriteFile(dir / "head.sig", sth.signature);

  const std::string verify = "openssl pkeyutl -verify -pubin -inkey '" + pub + "' -rawin -in '" +
                             (dir / "head.msg").string() + "' -sigfile '" + (dir / "head.sig").string() + "'";
  std::string out;
  ASSERT_EQ(RunShell(verify, &out), 0) << verify << "\n" << out;
  EXPECT_NE(out.find("Signature Verified Successfully"), std::string::npos) << out;

  // A tampered message (tree size + 1) and a tampered signature are refused by openssl too.
  TreeHead altered = head;
  altered.tree_size += 1;
  WriteFile(dir / "head.msg", TreeHeadMessage(altered));
  EXPECT_NE(RunShell(verify, &out), 0) << "openssl accepted a tampered tree head:\n" << out;
  WriteFile(dir / "head.msg", TreeHeadMessage(head));
  Signature bad_sig = sth.signature;
  bad_sig[10] ^= 0x20;
  WriteFile(dir / "head.sig", bad_sig);
  EXPECT_NE(RunShell(verify, &out), 0) << "openssl accepted a tampered signature:\n" << out;

  // The other way: openssl reads our secret key file as a standard PKCS#8 key, derives the same public
  // key, and (Ed25519 being deterministic) makes the very signature we made.
  const std::string sign = "openssl pkeyutl -sign -inkey '" + key_path() + "' -rawin -in '" +
                           (dir / "head.msg").string() + "' -out '" + (dir / "openssl.sig").string() + "'";
  ASSERT_EQ(RunShell(sign, &out), 0) << sign << "\n" << out;
  const auto openssl_sig = ReadFile(dir / "openssl.sig");
  EXPECT_EQ(ToHex(openssl_sig), ToHex(sth.signature));
  ASSERT_EQ(RunShell("openssl pkey -in '" + key_path() + "' -pubout", &out), 0) << out;
  EXPECT_EQ(out, signer->PublicKeyPem());
}

}  // namespace
}  // namespace vg::ledger
