#include "auth/account_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "auth/totp.h"

namespace vg::auth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kStep = 30 * kSecond;
constexpr char kPassword[] = "correct horse battery";
constexpr char kActor[] = "root (uid 0) on the host";
constexpr char kLoginFailed[] = "invalid user name, password or code";

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("vg-auth-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string FileContents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AccountStoreTest : public ::testing::Test {
 protected:
  AccountStoreTest() { options_.path = (dir_.path() / "admin" / "accounts.db").string(); }

  AccountStoreOptions Options() {
    AccountStoreOptions o = options_;
    o.now_us = [this] { return now_.load(); };
    o.fast_password_hashing_for_tests = true;
    return o;
  }
  std::unique_ptr<AccountStore> OpenStore() {
    auto s = AccountStore::Open(Options());
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  Enrollment Add(AccountStore& store, const std::string& name, Role role = Role::kAdmin) {
    auto e = store.AddUser(name, kPassword, role, kActor);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? *e : Enrollment{};
  }
  // The user's TOTP code `steps` periods from now.
  std::string Code(const Enrollment& e, int steps = 0) {
    auto secret = Base32Decode(e.totp_secret_base32);
    EXPECT_TRUE(secret.ok());
    return FormatTotpCode(TotpCode(*secret, (now_ + steps * kStep) / kSecond), 6);
  }
  void Advance(int64_t us) { now_ += us; }
  std::vector<AuditEntry> Audit(AccountStore& store) {
    auto a = store.PendingAudit();
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : std::vector<AuditEntry>{};
  }

  TempDir dir_;
  AccountStoreOptions options_;
  // Five seconds into a 30-second step, so +-1 step stays well defined.
  std::atomic<int64_t> now_{1'800'000'010LL * kSecond + 5 * kSecond - (1'800'000'010LL % 30) * kSecond};
};

TEST_F(AccountStoreTest, AddListRemove) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice", Role::kOperator);
  EXPECT_EQ(e.user, "alice");
  EXPECT_EQ(e.totp_secret_base32.size(), 32u);  // 20 bytes
  EXPECT_EQ(e.otpauth_uri.rfind("otpauth://totp/vendorguard:alice?secret=" + e.totp_secret_base32 + "&issuer=vendorguard", 0), 0u);
  EXPECT_EQ(e.qr_svg.rfind("<svg", 0), 0u);
  ASSERT_EQ(e.recovery_codes.size(), 10u);
  std::set<std::string> unique(e.recovery_codes.begin(), e.recovery_codes.end());
  EXPECT_EQ(unique.size(), 10u);
  for (const std::string& c : e.recovery_codes) {
    ASSERT_EQ(c.size(), 14u) << c;
    EXPECT_EQ(c[4], '-');
    EXPECT_EQ(c[9], '-');
    for (char ch : c) EXPECT_TRUE(ch == '-' || std::string("23456789ABCDEFGHJKLMNPQRSTUVWXYZ").find(ch) != std::string::npos);
  }
  Add(*store, "bob", Role::kViewer);
  auto dup = store->AddUser("alice", kPassword, Role::kAdmin, kActor);
  EXPECT_EQ(dup.status().code(), Status::Code::kAlreadyExists);

  auto users = store->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*users)[0].role, Role::kOperator);
  EXPECT_EQ((*users)[0].created_us, now_.load());
  EXPECT_EQ((*users)[0].last_login_us, 0);
  EXPECT_EQ((*users)[0].locked_until_us, 0);
  EXPECT_EQ((*users)[0].recovery_codes_left, 10);
  EXPECT_EQ((*users)[1].name, "bob");

  ASSERT_TRUE(store->SetRole("bob", Role::kAdmin, kActor).ok());
  EXPECT_EQ((*store->ListUsers())[1].role, Role::kAdmin);
  EXPECT_EQ(store->SetRole("carol", Role::kAdmin, kActor).code(), Status::Code::kNotFound);

  ASSERT_TRUE(store->RemoveUser("alice", kActor).ok());
  EXPECT_EQ(store->RemoveUser("alice", kActor).code(), Status::Code::kNotFound);
  users = store->ListUsers();
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].name, "bob");
}

TEST_F(AccountStoreTest, RefusesBadNamesAndPasswords) {
  auto store = OpenStore();
  for (std::string bad : {std::string(""), std::string(65, 'a'), std::string("al ice"), std::string("bob/x"),
                          std::string("ü"), std::string("a:b")}) {
    auto r = store->AddUser(bad, kPassword, Role::kViewer, kActor);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("user name"), std::string::npos);
  }
  EXPECT_TRUE(store->AddUser(std::string(64, 'a'), kPassword, Role::kViewer, kActor).ok());
  EXPECT_TRUE(store->AddUser("a.b_c@d-e", kPassword, Role::kViewer, kActor).ok());
  auto short_pw = store->AddUser("carol", "elevenchars", Role::kViewer, kActor);
  EXPECT_EQ(short_pw.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(short_pw.status().message().find("too short"), std::string::npos);
  auto long_pw = store->AddUser("carol", std::string(1025, 'x'), Role::kViewer, kActor);
  EXPECT_EQ(long_pw.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(long_pw.status().message().find("too long"), std::string::npos);
  EXPECT_TRUE(store->AddUser("carol", std::string(12, 'x'), Role::kViewer, kActor).ok());
  EXPECT_EQ(store->SetPassword("carol", "short", kActor).code(), Status::Code::kInvalidArgument);
}

TEST_F(AccountStoreTest, LoginNeedsPasswordAndCurrentCode) {
  options_.lockout_threshold = 10;  // five refusals below must not lock the account
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice", Role::kOperator);
  auto wrong_pw = store->Login("alice", "not the password", Code(e), "10.0.0.1");
  EXPECT_EQ(wrong_pw.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(wrong_pw.status().message(), kLoginFailed);
  auto wrong_code = store->Login("alice", kPassword, Code(e) == "000000" ? "111111" : "000000", "10.0.0.1");
  EXPECT_EQ(wrong_code.status().message(), kLoginFailed);
  auto no_code = store->Login("alice", kPassword, "", "10.0.0.1");
  EXPECT_EQ(no_code.status().message(), kLoginFailed);
  auto old = store->Login("alice", kPassword, Code(e, -2), "10.0.0.1");
  EXPECT_EQ(old.status().message(), kLoginFailed) << "a code from two steps ago must be refused";
  auto future = store->Login("alice", kPassword, Code(e, 2), "10.0.0.1");
  EXPECT_EQ(future.status().message(), kLoginFailed);

  auto ok = store->Login("alice", kPassword, Code(e, -1), "10.0.0.1");
  ASSERT_TRUE(ok.ok()) << ok.status().message() << " (the previous step's code is accepted)";
  EXPECT_EQ(ok->principal.user, "alice");
  EXPECT_EQ(ok->principal.role, Role::kOperator);
  EXPECT_FALSE(ok->principal.api_token);
  EXPECT_FALSE(ok->principal.csrf_token.empty());
  EXPECT_EQ(ok->principal.expires_us, now_ + Options().session_absolute_us);
  EXPECT_EQ(ok->session_token.size(), 43u);  // 32 bytes base64url
  EXPECT_EQ((*store->ListUsers())[0].last_login_us, now_.load());

  auto p = store->Authenticate(ok->session_token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->user, "alice");
  EXPECT_EQ(p->csrf_token, ok->principal.csrf_token);
}

TEST_F(AccountStoreTest, ACodeIsAcceptedOnce) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  const std::string code = Code(e);
  ASSERT_TRUE(store->Login("alice", kPassword, code, "a").ok());
  auto again = store->Login("alice", kPassword, code, "b");
  EXPECT_EQ(again.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(again.status().message(), kLoginFailed);
  // Nor an earlier step's code once a later one was used.
  EXPECT_FALSE(store->Login("alice", kPassword, Code(e, -1), "b").ok());
  // The next step's code works.
  Advance(kStep);
  EXPECT_TRUE(store->Login("alice", kPassword, Code(e), "b").ok());
}

TEST_F(AccountStoreTest, RecoveryCodeUsableOnce) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  // Typed in lower case without dashes: still accepted.
  std::string typed;
  for (char c : e.recovery_codes[3]) {
    if (c != '-') typed.push_back(static_cast<char>(std::tolower(c)));
  }
  auto ok = store->Login("alice", kPassword, typed, "a");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*store->ListUsers())[0].recovery_codes_left, 9);
  auto again = store->Login("alice", kPassword, e.recovery_codes[3], "a");
  EXPECT_EQ(again.status().message(), kLoginFailed);
  // Needs the password too.
  EXPECT_FALSE(store->Login("alice", "wrong password!!", e.recovery_codes[4], "a").ok());
  EXPECT_EQ((*store->ListUsers())[0].recovery_codes_left, 9);
  // Another user's code does not work.
  Enrollment b = Add(*store, "bob");
  EXPECT_FALSE(store->Login("alice", kPassword, b.recovery_codes[0], "a").ok());
  EXPECT_TRUE(store->Login("alice", kPassword, e.recovery_codes[4], "a").ok());
}

TEST_F(AccountStoreTest, LockoutWithDoublingBackoffSameForUnknownNames) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  for (const std::string name : {"alice", "nobody"}) {
    SCOPED_TRACE(name);
    for (int i = 0; i < 5; ++i) {
      auto r = store->Login(name, "wrong password 1", "123456", "10.0.0.9");
      EXPECT_EQ(r.status().code(), Status::Code::kUnauthenticated) << i;
      EXPECT_EQ(r.status().message(), kLoginFailed);
    }
    // Locked: even the right password and code are refused, before any check.
    auto locked = store->Login(name, kPassword, Code(e), "10.0.0.9");
    EXPECT_EQ(locked.status().code(), Status::Code::kResourceExhausted);
    EXPECT_EQ(locked.status().message(), "too many failed attempts; try again in 30 s");
    Advance(10 * kSecond);
    EXPECT_EQ(store->Login(name, kPassword, Code(e), "x").status().message(),
              "too many failed attempts; try again in 20 s");
    Advance(20 * kSecond);
    // One more failure after the lockout: twice as long.
    EXPECT_EQ(store->Login(name, "wrong password 2", "123456", "x").status().code(), Status::Code::kUnauthenticated);
    EXPECT_EQ(store->Login(name, kPassword, Code(e), "x").status().message(),
              "too many failed attempts; try again in 60 s");
    Advance(60 * kSecond);
    EXPECT_FALSE(store->Login(name, "wrong password 3", "123456", "x").ok());
    EXPECT_EQ(store->Login(name, kPassword, Code(e), "x").status().message(),
              "too many failed attempts; try again in 120 s");
    Advance(120 * kSecond);
  }
  // The account shows as locked in the list while it is.
  EXPECT_FALSE(store->Login("alice", "wrong password 4", "123456", "x").ok());
  EXPECT_GT((*store->ListUsers())[0].locked_until_us, now_.load());
  // Capped at lockout_max_us.
  for (int i = 0; i < 10; ++i) {
    Advance(15 * 60 * kSecond);
    EXPECT_FALSE(store->Login("nobody", "wrong password 5", "123456", "x").ok());
  }
  EXPECT_EQ(store->Login("nobody", kPassword, "123456", "x").status().message(),
            "too many failed attempts; try again in 900 s");
  // A successful login resets the counter: after it, four failures do not lock.
  Advance(15 * 60 * kSecond);
  ASSERT_TRUE(store->Login("alice", kPassword, Code(e), "x").ok());
  EXPECT_EQ((*store->ListUsers())[0].locked_until_us, 0);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(store->Login("alice", "wrong password 6", "123456", "x").ok());
  Advance(kStep);
  EXPECT_TRUE(store->Login("alice", kPassword, Code(e), "x").ok());
}

TEST_F(AccountStoreTest, SameErrorForUnknownUserAndWrongPassword) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  auto unknown = store->Login("mallory", kPassword, Code(e), "x");
  auto wrong = store->Login("alice", "wrong password!!", Code(e), "x");
  EXPECT_EQ(unknown.status().code(), wrong.status().code());
  EXPECT_EQ(unknown.status().message(), wrong.status().message());
  EXPECT_EQ(unknown.status().message(), kLoginFailed);
}

TEST_F(AccountStoreTest, SessionIdleAndAbsoluteExpiry) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  auto login = store->Login("alice", kPassword, Code(e), "x");
  ASSERT_TRUE(login.ok());
  const std::string token = login->session_token;
  // Used every 29 minutes: stays alive (idle 30 min) ...
  for (int i = 0; i < 24; ++i) {
    Advance(29 * 60 * kSecond);
    auto p = store->Authenticate(token);
    ASSERT_TRUE(p.ok()) << "after " << (i + 1) * 29 << " min: " << p.status().message();
  }
  // ... until the absolute limit of 12 h (24 * 29 min = 11.6 h; next use at 12.08 h).
  Advance(29 * 60 * kSecond);
  auto expired = store->Authenticate(token);
  EXPECT_EQ(expired.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(expired.status().message(), "session expired or unknown");

  Advance(kStep);
  auto second = store->Login("alice", kPassword, Code(e), "x");
  ASSERT_TRUE(second.ok());
  Advance(30 * 60 * kSecond);  // idle for exactly the limit
  EXPECT_EQ(store->Authenticate(second->session_token).status().message(), "session expired or unknown");
  EXPECT_EQ(store->Authenticate("not a token").status().message(), "session expired or unknown");
}

TEST_F(AccountStoreTest, Logout) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  auto a = store->Login("alice", kPassword, Code(e), "x");
  Advance(kStep);
  auto b = store->Login("alice", kPassword, Code(e), "x");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(store->Logout(a->session_token).ok());
  EXPECT_FALSE(store->Authenticate(a->session_token).ok());
  EXPECT_TRUE(store->Authenticate(b->session_token).ok()) << "only that session ends";
  EXPECT_TRUE(store->Logout(a->session_token).ok());  // nothing left to end
}

TEST_F(AccountStoreTest, ResetMfaInvalidatesOldSecretCodesAndSessions) {
  auto store = OpenStore();
  Enrollment old = Add(*store, "alice");
  auto s = store->Login("alice", kPassword, Code(old), "x");
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 5; ++i) (void)store->Login("alice", "wrong password!!", "000000", "x");
  ASSERT_EQ(store->Login("alice", kPassword, Code(old), "x").status().code(), Status::Code::kResourceExhausted);

  auto fresh = store->ResetMfa("alice", kActor);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_NE(fresh->totp_secret_base32, old.totp_secret_base32);
  EXPECT_FALSE(store->Authenticate(s->session_token).ok()) << "sessions end";
  Advance(kStep);
  EXPECT_EQ(store->Login("alice", kPassword, Code(old), "x").status().message(), kLoginFailed) << "lockout cleared, old secret dead";
  EXPECT_FALSE(store->Login("alice", kPassword, old.recovery_codes[0], "x").ok());
  EXPECT_TRUE(store->Login("alice", kPassword, Code(*fresh), "x").ok());
  EXPECT_EQ(store->ResetMfa("nobody", kActor).status().code(), Status::Code::kNotFound);
}

TEST_F(AccountStoreTest, PasswordChangeAndRemovalEndSessions) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  auto s = store->Login("alice", kPassword, Code(e), "x");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(store->SetPassword("alice", "a brand new password", kActor).ok());
  EXPECT_FALSE(store->Authenticate(s->session_token).ok());
  Advance(kStep);
  EXPECT_FALSE(store->Login("alice", kPassword, Code(e), "x").ok());
  Advance(kStep);
  auto s2 = store->Login("alice", "a brand new password", Code(e), "x");
  ASSERT_TRUE(s2.ok());
  // A role change applies to the live session.
  ASSERT_TRUE(store->SetRole("alice", Role::kViewer, kActor).ok());
  EXPECT_EQ(store->Authenticate(s2->session_token)->role, Role::kViewer);
  ASSERT_TRUE(store->RemoveUser("alice", kActor).ok());
  EXPECT_FALSE(store->Authenticate(s2->session_token).ok());
}

TEST_F(AccountStoreTest, ApiTokens) {
  auto store = OpenStore();
  Add(*store, "alice", Role::kOperator);
  const int64_t expires = now_ + 3600 * kSecond;
  auto token = store->CreateApiToken("deploy bot", Role::kOperator, expires, "alice");
  ASSERT_TRUE(token.ok()) << token.status().message();
  ASSERT_EQ(token->size(), 4u + 8 + 1 + 43);
  EXPECT_EQ(token->rfind("vgt_", 0), 0u);
  const std::string id = token->substr(4, 8);

  auto p = store->AuthenticateApiToken(*token);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->user, "token:deploy bot");
  EXPECT_EQ(p->role, Role::kOperator);
  EXPECT_TRUE(p->api_token);
  EXPECT_TRUE(p->csrf_token.empty());
  EXPECT_EQ(p->expires_us, expires);

  auto list = store->ListApiTokens();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, id);
  EXPECT_EQ((*list)[0].label, "deploy bot");
  EXPECT_EQ((*list)[0].created_by, "alice");
  EXPECT_EQ((*list)[0].last_used_us, now_.load());

  // A wrong secret with the right id, garbage, and a different format are all refused the same way.
  std::string forged = *token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {forged, std::string("vgt_"), std::string("garbage"), std::string()}) {
    auto r = store->AuthenticateApiToken(bad);
    EXPECT_EQ(r.status().code(), Status::Code::kUnauthenticated);
    EXPECT_EQ(r.status().message(), "invalid or expired API token");
  }
  // Never above the creator's role.
  auto too_high = store->CreateApiToken("escalate", Role::kAdmin, expires, "alice");
  EXPECT_EQ(too_high.status().code(), Status::Code::kPermissionDenied);
  // Expiry required in the future.
  EXPECT_EQ(store->CreateApiToken("old", Role::kViewer, now_, "alice").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store->CreateApiToken("", Role::kViewer, expires, "alice").status().code(), Status::Code::kInvalidArgument);
  // The host (CLI) may create any role.
  auto host = store->CreateApiToken("ci", Role::kAdmin, expires, kActor);
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(store->AuthenticateApiToken(*host)->role, Role::kAdmin);
  // A demoted creator's token acts with the creator's current role.
  ASSERT_TRUE(store->SetRole("alice", Role::kViewer, kActor).ok());
  EXPECT_EQ(store->AuthenticateApiToken(*token)->role, Role::kViewer);

  // Expiry.
  Advance(3600 * kSecond);
  EXPECT_EQ(store->AuthenticateApiToken(*token).status().message(), "invalid or expired API token");
  // Revocation.
  auto later = store->CreateApiToken("later", Role::kViewer, now_ + 3600 * kSecond, "alice");
  ASSERT_TRUE(later.ok());
  ASSERT_TRUE(store->AuthenticateApiToken(*later).ok());
  ASSERT_TRUE(store->RevokeApiToken(later->substr(4, 8), kActor).ok());
  EXPECT_EQ(store->AuthenticateApiToken(*later).status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(store->RevokeApiToken(later->substr(4, 8), kActor).code(), Status::Code::kNotFound);
  EXPECT_EQ(store->RevokeApiToken("deadbeef", kActor).code(), Status::Code::kNotFound);
  // Removing the creator revokes its tokens.
  auto third = store->CreateApiToken("third", Role::kViewer, now_ + 3600 * kSecond, "alice");
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(store->RemoveUser("alice", kActor).ok());
  EXPECT_FALSE(store->AuthenticateApiToken(*third).ok());
  list = store->ListApiTokens();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].label, "ci");
}

TEST_F(AccountStoreTest, AuditOutboxRecordsEveryActionWithoutSecrets) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice", Role::kOperator);
  const std::string code = Code(e);
  std::vector<std::string> secrets = {kPassword, "wrong password!!", code, e.totp_secret_base32, e.recovery_codes[0]};
  ASSERT_FALSE(store->Login("alice", "wrong password!!", code, "192.0.2.7").ok());
  auto s = store->Login("alice", kPassword, code, "192.0.2.7");
  ASSERT_TRUE(s.ok());
  secrets.push_back(s->session_token);
  secrets.push_back(s->principal.csrf_token);
  ASSERT_TRUE(store->Logout(s->session_token).ok());
  for (int i = 0; i < 5; ++i) (void)store->Login("ghost", "wrong password!!", "000000", "192.0.2.8");
  ASSERT_TRUE(store->SetRole("alice", Role::kAdmin, kActor).ok());
  ASSERT_TRUE(store->SetPassword("alice", "another password", kActor).ok());
  secrets.push_back("another password");
  auto reset = store->ResetMfa("alice", kActor);
  ASSERT_TRUE(reset.ok());
  secrets.push_back(reset->totp_secret_base32);
  auto token = store->CreateApiToken("bot", Role::kViewer, now_ + kStep, "alice");
  ASSERT_TRUE(token.ok());
  secrets.push_back(*token);
  secrets.push_back(token->substr(13));
  ASSERT_TRUE(store->RevokeApiToken(token->substr(4, 8), "alice").ok());
  ASSERT_TRUE(store->RemoveUser("alice", kActor).ok());

  auto audit = Audit(*store);
  std::vector<std::string> actions;
  for (const AuditEntry& a : audit) {
    actions.push_back(a.action);
    EXPECT_EQ(a.time_us, now_.load());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(a.detail.find(secret), std::string::npos) << a.action << ": " << a.detail;
      EXPECT_EQ(a.actor.find(secret), std::string::npos) << a.action;
    }
  }
  const std::vector<std::string> expected = {
      "user_add", "login_failed", "login", "logout", "login_failed", "login_failed", "login_failed", "login_failed",
      "login_failed", "lockout", "role_change", "password_change", "mfa_reset", "token_create", "token_revoke",
      "user_remove"};
  EXPECT_EQ(actions, expected);
  EXPECT_EQ(audit[0].actor, kActor);
  EXPECT_NE(audit[0].detail.find("user=alice"), std::string::npos);
  EXPECT_NE(audit[2].detail.find("source=192.0.2.7"), std::string::npos);
  EXPECT_EQ(audit[2].actor, "alice");
  EXPECT_NE(audit[9].detail.find("user=ghost"), std::string::npos);

  // Marking recorded removes entries from the pending list.
  std::vector<int64_t> ids;
  for (size_t i = 0; i < 4; ++i) ids.push_back(audit[i].id);
  ASSERT_TRUE(store->MarkAuditRecorded(ids).ok());
  auto rest = Audit(*store);
  ASSERT_EQ(rest.size(), audit.size() - 4);
  EXPECT_EQ(rest[0].id, audit[4].id);
  auto limited = store->PendingAudit(2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
}

TEST_F(AccountStoreTest, SecretsAtRest) {
  Enrollment e;
  {
    auto store = OpenStore();
    e = Add(*store, "alice");
  }
  const fs::path admin = dir_.path() / "admin";
  struct stat st;
  ASSERT_EQ(::stat((admin / "accounts.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(fs::file_size(admin / "accounts.key"), 32u);
  ASSERT_EQ(::stat((admin / "accounts.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(admin.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Neither the base32 secret, its raw bytes, nor a recovery code is in the database or its WAL.
  auto raw = Base32Decode(e.totp_secret_base32);
  ASSERT_TRUE(raw.ok());
  std::string all = FileContents(admin / "accounts.db");
  if (fs::exists(admin / "accounts.db-wal")) all += FileContents(admin / "accounts.db-wal");
  ASSERT_GT(all.size(), 1000u);
  EXPECT_EQ(all.find(e.totp_secret_base32), std::string::npos);
  EXPECT_EQ(all.find(std::string(raw->begin(), raw->end())), std::string::npos);
  EXPECT_EQ(all.find(e.recovery_codes[0]), std::string::npos);
  EXPECT_EQ(all.find(kPassword), std::string::npos);
  // Reopened, the key file is reused: the user can still log in.
  auto store = OpenStore();
  EXPECT_TRUE(store->Login("alice", kPassword, Code(e), "x").ok());
}

TEST_F(AccountStoreTest, TwoInstancesOnOneFileSeeEachOthersChanges) {
  auto cli = OpenStore();
  auto gateway = OpenStore();
  Enrollment e = Add(*cli, "alice");
  auto s = gateway->Login("alice", kPassword, Code(e), "x");
  ASSERT_TRUE(s.ok()) << s.status().message();
  // The code used through one instance is refused through the other.
  EXPECT_FALSE(cli->Login("alice", kPassword, Code(e), "x").ok());
  auto token = cli->CreateApiToken("t", Role::kViewer, now_ + kStep, kActor);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(gateway->AuthenticateApiToken(*token).ok());
  ASSERT_TRUE(cli->RevokeApiToken(token->substr(4, 8), kActor).ok());
  EXPECT_FALSE(gateway->AuthenticateApiToken(*token).ok());
  ASSERT_TRUE(cli->RemoveUser("alice", kActor).ok());
  EXPECT_FALSE(gateway->Authenticate(s->session_token).ok());
  EXPECT_EQ(gateway->ListUsers()->size(), 0u);
  // The gateway drains the outbox the CLI wrote to.
  EXPECT_GE(gateway->PendingAudit()->size(), 5u);
}

TEST_F(AccountStoreTest, ConcurrentLoginsAcceptACodeOnce) {
  auto store = OpenStore();
  Enrollment e = Add(*store, "alice");
  const std::string code = Code(e);
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (store->Login("alice", kPassword, code, "x").ok()) ++accepted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1);
}

TEST(RoleTest, NamesRoundTripAndOrder) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) EXPECT_EQ(ParseRole(RoleName(r)), r);
  EXPECT_EQ(RoleName(Role::kOperator), "operator");
  EXPECT_FALSE(ParseRole("root").has_value());
  EXPECT_FALSE(ParseRole("Admin").has_value());
  EXPECT_LT(Role::kViewer, Role::kOperator);
  EXPECT_LT(Role::kOperator, Role::kAdmin);
}

}  // namespace
}  // namespace vg::auth
