#include "crypto/pseudonymizer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace vg {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vg-keys-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "keys" / "pseudonym.keys").string(); }
  std::filesystem::path dir_;
};

TEST_F(KeyFileTest, CreatedWithMode0600AndReloadsTheSameKeys) {
  auto created = PseudonymKeyFile::OpenOrCreate(path());
  ASSERT_TRUE(created.ok()) << created.status().message();
  struct stat st;
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto reopened = PseudonymKeyFile::Open(path());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(created->current_epoch(), 1u);
  EXPECT_EQ(created->VendorKey("mixpanel", 1), reopened->VendorKey("mixpanel", 1));
}

TEST_F(KeyFileTest, RefusesAWorldReadableFile) {
  ASSERT_TRUE(PseudonymKeyFile::OpenOrCreate(path()).ok());
  ::chmod(path().c_str(), 0644);
  auto f = PseudonymKeyFile::Open(path());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(KeyFileTest, RotationAddsAnEpochAndKeepsTheOldOne) {
  auto f = PseudonymKeyFile::OpenOrCreate(path());
  ASSERT_TRUE(f.ok());
  SecretKey old_key = f->VendorKey("mixpanel", 1);
  ASSERT_TRUE(f->Rotate().ok());
  EXPECT_EQ(f->current_epoch(), 2u);
  auto reopened = PseudonymKeyFile::Open(path());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->current_epoch(), 2u);
  EXPECT_EQ(reopened->VendorKey("mixpanel", 1), old_key);
  EXPECT_NE(reopened->VendorKey("mixpanel", 2), old_key);
}

TEST_F(KeyFileTest, CorruptFileIsAnError) {
  ASSERT_TRUE(PseudonymKeyFile::OpenOrCreate(path()).ok());
  { std::ofstream(path()) << "current 1\nepoch 1 nothex\n"; }
  ::chmod(path().c_str(), 0600);
  EXPECT_FALSE(PseudonymKeyFile::Open(path()).ok());
}

TEST(Pseudonymizer, StablePerVendorAndUnlinkableAcrossVendors) {
  SecretKey master{};
  master[0] = 7;
  SecretKey a = master, b = master;
  b[1] = 1;
  Pseudonymizer pa(a, 1), pb(b, 1);
  std::string x = pa.Pseudonymize("user-42");
  EXPECT_EQ(x, pa.Pseudonymize("user-42"));
  EXPECT_NE(x, pa.Pseudonymize("user-43"));
  EXPECT_NE(x, pb.Pseudonymize("user-42"));
  EXPECT_EQ(x.rfind("vg1-", 0), 0u);
  EXPECT_EQ(x.size(), 4u + 32u);
  EXPECT_EQ(x.find("user"), std::string::npos);
}

TEST(Pseudonymizer, MatchesHmacSha256OfTheValue) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" -> 5bdcc146bf60754e6a042426089575c7...
  SecretKey key{};
  // libsodium's HMAC takes a 32-byte key here; "Jefe" zero-padded to 32 bytes is the same HMAC key.
  key[0] = 'J'; key[1] = 'e'; key[2] = 'f'; key[3] = 'e';
  Pseudonymizer p(key, 3);
  EXPECT_EQ(p.Pseudonymize("what do ya want for nothing?"), "vg3-5bdcc146bf60754e6a042426089575c7");
}

}  // namespace
}  // namespace vg
