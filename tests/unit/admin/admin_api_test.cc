// The admin API's rules, route by route: every route refuses a request without a credential (401), with a
// lower role (403) and, for state changes, without the CSRF token (403); bad input gets a 4xx JSON error,
// never a 500; sign-in needs password and a fresh TOTP code, locks out, and does not reveal whether an
// account exists; sessions expire; what operators do lands in the ledger's audit trail.
#include "admin/admin_api.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <filesystem>
#include <map>

#include "auth/account_store.h"
#include "auth/totp.h"
#include "config/config.h"
#include "crypto/pseudonymizer.h"
#include "common/files.h"
#include "delivery/delivery.h"
#include "incident/assessment.h"
#include "incident/incident.h"
#include "incident/leak_match.h"
#include "notify/campaign.h"
#include "notify/outbox.h"
#include "ledger/ledger.h"
#include "pii/scanner.h"
#include "policy/categories.h"
#include "policy/vendor_policy.h"
#include "server/disclosure_ledger.h"
#include "server/ingest_handler.h"
#include "../testing/shadow_config.h"

namespace vg::admin {
namespace {

constexpr int64_t kNov10 = 1'762'732'800'000'000;  // 2025-11-10T00:00:00Z
constexpr int64_t kMinute = 60'000'000;

struct SignedIn {
  std::string cookie;  // "vg_session=..."
  std::string csrf;
};

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = vg::testing::MakeTempDir("vg-admin-api-test");
    ASSERT_FALSE(dir_.empty());
    config_ = vg::testing::ShadowConfig(dir_, {"alpha"});
    auto now = [this] { return now_.load(); };
    auto l = DisclosureLedger::Open(config_, false, now, {1}, "test");
    ASSERT_TRUE(l.ok()) << l.status().message();
    ledger_ = std::move(*l);
    DeliveryOptions options;
    options.fsync = FsyncPolicy::kNever;
    options.recorder = ledger_.get();
    options.now_us = now;
    auto d = Delivery::Start(config_, options);
    ASSERT_TRUE(d.ok()) << d.status().message();
    delivery_ = std::move(*d);
    auth::AccountStoreOptions ao;
    ao.path = config_.data_dir + "/admin/accounts.db";
    ao.now_us = now;
    ao.fast_password_hashing_for_tests = true;
    auto a = auth::AccountStore::Open(ao);
    ASSERT_TRUE(a.ok()) << a.status().message();
    accounts_ = std::move(*a);
    // The policy playground needs each vendor's policy and pseudonymizer, as the gateway builds them.
    auto scanner = PiiScanner::Create();
    ASSERT_TRUE(scanner.ok());
    scanner_ = *scanner;
    auto keys = PseudonymKeyFile::OpenOrCreate(dir_ + "/keys");
    ASSERT_TRUE(keys.ok());
    VendorRuntime rt;
    rt.config = config_.vendors[0];
    rt.policy = CompiledPolicy::Compile(rt.config.policy, rt.config.token, scanner_);
    rt.pseudonymizer = std::make_unique<Pseudonymizer>(keys->VendorKey("alpha", 1), 1);
    vendors_.push_back(std::move(rt));

    AdminApiDeps deps;
    deps.config = &config_;
    deps.delivery = delivery_.get();
    deps.accounts = accounts_.get();
    deps.ledger = ledger_.get();
    deps.vendors = &vendors_;
    deps.scanner = scanner_;
    deps.flows = &flows_;
    deps.now_us = now;
    api_ = std::make_unique<AdminApi>(std::move(deps));

    for (auto [name, role] : {std::pair{"ada", auth::Role::kAdmin}, {"olga", auth::Role::kOperator},
                              {"vic", auth::Role::kViewer}}) {
      auto e = accounts_->AddUser(name, kPassword, role, "test");
      ASSERT_TRUE(e.ok()) << e.status().message();
      secrets_[name] = e->totp_secret_base32;
    }
  }
  void TearDown() override {
    api_.reset();
    delivery_.reset();
    ledger_.reset();
    accounts_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Code(const std::string& user, int64_t offset_steps = 0) {
    auto secret = auth::Base32Decode(secrets_[user]);
    return auth::FormatTotpCode(auth::TotpCode(*secret, now_.load() / 1'000'000 + offset_steps * 30));
  }

  ApiResponse Call(std::string_view method, std::string_view target, std::string_view body = {},
                   const SignedIn* who = nullptr, bool with_csrf = true, std::string_view origin = {}) {
    ApiRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = body.empty() ? "" : "application/json";
    if (who != nullptr) {
      r.cookie = who->cookie;
      if (with_csrf) r.csrf_token = who->csrf;
    }
    r.origin = origin;
    r.host = "127.0.0.1:8081";
    r.source = "127.0.0.1";
    return api_->Handle(r);
  }

  ApiResponse LoginRaw(const std::string& user, const std::string& password, const std::string& code) {
    return Call("POST", "/api/v1/login",
                "{\"user\":\"" + user + "\",\"password\":\"" + password + "\",\"code\":\"" + code + "\"}");
  }

  SignedIn Login(const std::string& user) {
    ApiResponse r = LoginRaw(user, kPassword, Code(user));
    EXPECT_EQ(r.status, 200u) << r.body;
    SignedIn s;
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") s.cookie = v.substr(0, v.find(';'));
    }
    simdjson::dom::parser p;
    std::string_view csrf;
    EXPECT_EQ(p.parse(r.body).get_object()["csrf_token"].get(csrf), simdjson::SUCCESS) << r.body;
    s.csrf = std::string(csrf);
    return s;
  }

  // A concrete target for a route's path: {name} = the configured vendor, {id} = an unknown id.
  static std::string Concrete(const std::string& path) {
    std::string out = path;
    for (auto [param, value] : {std::pair{"{name}", "alpha"}, {"{id}", "X-1"}}) {
      const size_t at = out.find(param);
      if (at != std::string::npos) out.replace(at, std::string_view(param).size(), value);
    }
    return out;
  }

  static bool IsJsonError(const ApiResponse& r) {
    simdjson::dom::parser p;
    std::string_view error;
    return r.content_type == "application/json" && p.parse(r.body).get_object()["error"].get(error) == simdjson::SUCCESS &&
           !error.empty();
  }

  static constexpr const char* kPassword = "correct horse battery staple";
  std::string dir_;
  Config config_;
  std::atomic<int64_t> now_{kNov10};
  std::unique_ptr<DisclosureLedger> ledger_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<auth::AccountStore> accounts_;
  std::shared_ptr<const PiiScanner> scanner_;
  std::vector<VendorRuntime> vendors_;
  FlowHistory flows_;
  std::unique_ptr<AdminApi> api_;
  std::map<std::string, std::string> secrets_;
};

TEST_F(AdminApiTest, EveryProtectedRouteRefusesARequestWithoutACredential) {
  int protected_routes = 0;
  for (const RouteInfo& route : api_->Routes()) {
    if (!route.role) continue;
    ++protected_routes;
    ApiResponse r = Call(route.method, Concrete(route.path), route.method == "GET" ? "" : "{}");
    EXPECT_EQ(r.status, 401u) << route.method << " " << route.path << ": " << r.body;
    EXPECT_TRUE(IsJsonError(r)) << route.path;
    // A forged cookie and a forged API token are no better.
    ApiRequest forged;
    forged.method = route.method;
    const std::string target = Concrete(route.path);
    forged.target = target;
    forged.cookie = "vg_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    EXPECT_EQ(api_->Handle(forged).status, 401u) << route.path;
    forged.cookie = {};
    forged.authorization = "Bearer vgt_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    EXPECT_EQ(api_->Handle(forged).status, 401u) << route.path;
  }
  EXPECT_GT(protected_routes, 25);
}

TEST_F(AdminApiTest, EveryRouteRefusesALowerRole) {
  const SignedIn viewer = Login("vic"), op = Login("olga");
  int checked = 0;
  for (const RouteInfo& route : api_->Routes()) {
    if (!route.role || *route.role == auth::Role::kViewer) continue;
    const std::string target = Concrete(route.path);
    ApiResponse r = Call(route.method, target, route.method == "GET" ? "" : "{}", &viewer);
    EXPECT_EQ(r.status, 403u) << route.method << " " << route.path << " as viewer: " << r.body;
    EXPECT_TRUE(IsJsonError(r));
    if (*route.role == auth::Role::kAdmin) {
      r = Call(route.method, target, route.method == "GET" ? "" : "{}", &op);
      EXPECT_EQ(r.status, 403u) << route.method << " " << route.path << " as operator: " << r.body;
    }
    ++checked;
  }
  EXPECT_GT(checked, 10);
  // Nothing was changed by the refused requests.
  EXPECT_EQ(delivery_->Get("alpha")->state, VendorState::kActive);
  EXPECT_EQ(accounts_->ListUsers()->size(), 3u);
}

TEST_F(AdminApiTest, EveryStateChangeNeedsTheCsrfTokenAndTheSameOrigin) {
  const SignedIn admin = Login("ada");
  int checked = 0;
  for (const RouteInfo& route : api_->Routes()) {
    if (!route.role || route.method == "GET") continue;
    const std::string target = Concrete(route.path);
    ApiResponse r = Call(route.method, target, "{}", &admin, /*with_csrf=*/false);
    EXPECT_EQ(r.status, 403u) << route.method << " " << route.path << ": " << r.body;
    SignedIn wrong = admin;
    wrong.csrf[0] = wrong.csrf[0] == 'A' ? 'B' : 'A';
    r = Call(route.method, target, "{}", &wrong);
    EXPECT_EQ(r.status, 403u) << route.method << " " << route.path << ": " << r.body;
    r = Call(route.method, target, "{}", &admin, true, "http://evil.example");
    EXPECT_EQ(r.status, 403u) << route.method << " " << route.path << ": " << r.body;
    ++checked;
  }
  EXPECT_GT(checked, 10);
  EXPECT_EQ(delivery_->Get("alpha")->state, VendorState::kActive);
  // The right token from the right origin works.
  ApiResponse r = Call("POST", "/api/v1/vendors/alpha/pause", "", &admin, true, "http://127.0.0.1:8081");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(delivery_->Get("alpha")->state, VendorState::kPaused);
}

TEST_F(AdminApiTest, BadInputToEveryRouteGetsA4xxJsonErrorNeverA500) {
  const SignedIn admin = Login("ada");
  const std::vector<std::string> bodies = {
      "not json", "[]", "{}", "{\"a\":", "\"str\"", "12",
      R"({"name":5,"user":[],"password":{},"role":"god","confirm":1,"event":"x","subject":7,"label":null,"expires_at":"yesterday","code":123,"ip":"300.1.1.1"})",
      R"({"name":"","role":"admin","password":"short","event":[1,2],"subject":"","label":"","expires_at":"1999-01-01T00:00:00Z","confirm":"nope"})",
      std::string(100000, '[') , "{\"event\":{\"event\":\"e\",\"properties\":\"nope\"}}"};
  const std::vector<std::string> queries = {"?limit=-1&seconds=abc&days=0", "?from=yesterday&to=x&vendor=nobody",
                                            "?subject=&since=nope", "?%zz=1", "?limit=99999999999999999999999"};
  for (const RouteInfo& route : api_->Routes()) {
    if (route.path == "/api/v1/logout") continue;  // it would end the session the loop uses (tested below)
    const std::string target = Concrete(route.path);
    for (const std::string& q : queries) {
      ApiResponse r = Call(route.method, target + q, route.method == "GET" ? "" : "{}", &admin);
      EXPECT_LT(r.status, 500u) << route.method << " " << target + q << ": " << r.body;
      if (r.status >= 400) EXPECT_TRUE(IsJsonError(r)) << target + q << ": " << r.body;
    }
    if (route.method == "GET") continue;
    for (const std::string& b : bodies) {
      ApiResponse r = Call(route.method, target, b, &admin);
      EXPECT_LT(r.status, 500u) << route.method << " " << target << " body " << b.substr(0, 80) << ": " << r.body;
      if (r.status >= 400) EXPECT_TRUE(IsJsonError(r)) << target << ": " << r.body;
    }
    // A wrong content type and a body over the limit.
    ApiRequest req;
    req.method = route.method;
    req.target = target;
    req.body = "user=x";
    req.content_type = "application/x-www-form-urlencoded";
    req.cookie = admin.cookie;
    req.csrf_token = admin.csrf;
    req.source = "127.0.0.1";
    ApiResponse r = api_->Handle(req);
    if (route.role) EXPECT_EQ(r.status, 415u) << route.path << ": " << r.body;
    req.body_too_large = true;
    EXPECT_EQ(api_->Handle(req).status, 413u) << route.path;
  }
  // Nothing was cut or removed by all that.
  EXPECT_NE(delivery_->Get("alpha")->state, VendorState::kCut);
  EXPECT_EQ(accounts_->ListUsers()->size(), 3u);
  // A route that takes a body, called without one; a path and a query with a broken escape.
  ApiResponse empty = Call("POST", "/api/v1/users", "", &admin);
  EXPECT_EQ(empty.status, 400u);
  EXPECT_NE(empty.body.find("needs a JSON body"), std::string::npos) << empty.body;
  ApiResponse bad_path = Call("GET", "/api/v1/vendors/al%zzpha", "", &admin);
  EXPECT_EQ(bad_path.status, 400u);
  EXPECT_NE(bad_path.body.find("percent-encoding"), std::string::npos) << bad_path.body;
  EXPECT_EQ(Call("GET", "/api/v1/vendors?a=%2", "", &admin).status, 400u);
  // Unknown routes and methods.
  EXPECT_EQ(Call("GET", "/api/v1/nope", "", &admin).status, 404u);
  ApiResponse r = Call("PUT", "/api/v1/vendors", "{}", &admin);
  EXPECT_EQ(r.status, 405u);
  EXPECT_TRUE(IsJsonError(r));
}

TEST_F(AdminApiTest, SignInNeedsPasswordAndAFreshCodeAndDoesNotRevealAccounts) {
  // Wrong password and unknown account: the same status and the same words.
  ApiResponse wrong = LoginRaw("olga", "wrong password here", Code("olga"));
  ApiResponse unknown = LoginRaw("nobody", "wrong password here", "123456");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(unknown.status, 401u);
  EXPECT_EQ(wrong.body, unknown.body);
  // A password without a valid code is refused.
  EXPECT_EQ(LoginRaw("olga", kPassword, "000000").status == 401u || Code("olga") == "000000", true);
  EXPECT_EQ(LoginRaw("olga", kPassword, Code("olga", -2)).status, 401u);
  // A code is accepted once.
  const std::string code = Code("olga");
  EXPECT_EQ(LoginRaw("olga", kPassword, code).status, 200u);
  ApiResponse again = LoginRaw("olga", kPassword, code);
  EXPECT_EQ(again.status, 401u) << again.body;
  EXPECT_EQ(again.body, unknown.body);
}

TEST_F(AdminApiTest, TenWrongAttemptsLockTheNameOutExistingOrNot) {
  for (const std::string user : {"vic", "ghost"}) {
    ApiResponse last;
    for (int i = 0; i < 10; ++i) last = LoginRaw(user, "not the password!", "123456");
    EXPECT_EQ(last.status, 429u) << user << ": " << last.body;
    bool retry_after = false;
    for (const auto& [k, v] : last.headers) retry_after = retry_after || (k == "Retry-After" && std::stoi(v) > 0);
    EXPECT_TRUE(retry_after) << user;
  }
  // Locked: even the right password and code are refused, in the same words as for a name that does not exist.
  ApiResponse locked = LoginRaw("vic", kPassword, Code("vic"));
  ApiResponse ghost = LoginRaw("ghost", kPassword, "123456");
  EXPECT_EQ(locked.status, 429u);
  EXPECT_EQ(locked.body, ghost.body);
  // After the lockout passes, the right credentials work again.
  now_ += 20 * kMinute;
  EXPECT_EQ(LoginRaw("vic", kPassword, Code("vic")).status, 200u);
}

TEST_F(AdminApiTest, SessionsExpireWhenIdleAndAtTheirAbsoluteLimit) {
  SignedIn s = Login("vic");
  EXPECT_EQ(Call("GET", "/api/v1/session", "", &s).status, 200u);
  now_ += 31 * kMinute;  // idle longer than 30 minutes
  EXPECT_EQ(Call("GET", "/api/v1/session", "", &s).status, 401u);
  // Used every 20 minutes, a session still ends 12 hours after sign-in.
  now_ += kMinute;
  s = Login("vic");
  for (int i = 0; i < 35; ++i) {
    now_ += 20 * kMinute;
    ASSERT_EQ(Call("GET", "/api/v1/session", "", &s).status, 200u) << "after " << (i + 1) * 20 << " minutes";
  }
  now_ += 20 * kMinute;  // 12 h
  EXPECT_EQ(Call("GET", "/api/v1/session", "", &s).status, 401u);
  // Logout ends a session at once.
  now_ += kMinute;
  s = Login("vic");
  EXPECT_EQ(Call("POST", "/api/v1/logout", "", &s).status, 200u);
  EXPECT_EQ(Call("GET", "/api/v1/session", "", &s).status, 401u);
}

TEST_F(AdminApiTest, ApiTokensActWithTheirScopeWithoutCsrf) {
  const SignedIn admin = Login("ada");
  ApiResponse r = Call("POST", "/api/v1/tokens", R"({"label":"ci","role":"viewer","expires_at":"2025-12-10T00:00:00Z"})", &admin);
  ASSERT_EQ(r.status, 201u) << r.body;
  simdjson::dom::parser p;
  std::string_view token;
  ASSERT_EQ(p.parse(r.body).get_object()["token"].get(token), simdjson::SUCCESS);
  const std::string bearer = "Bearer " + std::string(token);
  ApiRequest req;
  req.method = "GET";
  req.target = "/api/v1/vendors";
  req.authorization = bearer;
  EXPECT_EQ(api_->Handle(req).status, 200u);
  req.method = "POST";
  req.target = "/api/v1/vendors/alpha/pause";
  EXPECT_EQ(api_->Handle(req).status, 403u);  // a viewer token
  now_ += 31LL * 24 * 60 * kMinute;           // past its expiry
  req.method = "GET";
  req.target = "/api/v1/vendors";
  EXPECT_EQ(api_->Handle(req).status, 401u);
}

TEST_F(AdminApiTest, TheKillSwitchNeedsConfirmationAndTheAuditTrailNamesTheAccount) {
  const SignedIn op = Login("olga");
  ApiResponse r = Call("POST", "/api/v1/vendors/alpha/cut", "{}", &op);
  EXPECT_EQ(r.status, 400u) << r.body;
  r = Call("POST", "/api/v1/vendors/alpha/cut", R"({"confirm":"beta"})", &op);
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(delivery_->Get("alpha")->state, VendorState::kActive);
  r = Call("POST", "/api/v1/vendors/alpha/cut", R"({"confirm":"alpha"})", &op);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(delivery_->Get("alpha")->state, VendorState::kCut);
  r = Call("POST", "/api/v1/vendors/alpha/cut", R"({"confirm":"alpha"})", &op);
  EXPECT_EQ(r.status, 409u) << r.body;
  LoginRaw("vic", "not the password!", "123456");  // a failed sign-in

  r = Call("GET", "/api/v1/audit?limit=50", "", &op);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("\"action\":\"cut\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("olga (operator) via the admin API from 127.0.0.1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"action\":\"login\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"action\":\"login_failed\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("not the password"), std::string::npos) << "a password in the audit trail";
  // The records are in the tamper-evident ledger itself.
  auto audit = ledger_->ledger().Audit();
  ASSERT_TRUE(audit.ok());
  bool cut = false, login = false;
  for (const auto& a : *audit) {
    cut = cut || (a.action == ledger::AdminAction::kCut && a.vendor == "alpha" && a.actor.find("olga") == 0);
    login = login || (a.action == ledger::AdminAction::kLogin && a.actor == "olga");
  }
  EXPECT_TRUE(cut);
  EXPECT_TRUE(login);
}

TEST_F(AdminApiTest, ThePolicyPlaygroundShowsWhatEachVendorWouldReceive) {
  const SignedIn viewer = Login("vic");
  ApiResponse r = Call("POST", "/api/v1/explain",
                       R"({"event":{"event":"Search","properties":{"distinct_id":"u1","query":"mail jane@example.com"}}})",
                       &viewer);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("\"vendor\":\"alpha\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("jane@example.com"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\"u1\""), std::string::npos) << "the identifier is pseudonymized: " << r.body;
}

TEST_F(AdminApiTest, TheOpenApiDocumentListsEveryRouteAndTheConsoleIsServedWithItsCsp) {
  ApiResponse r = Call("GET", "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200u);
  simdjson::dom::parser p;
  simdjson::dom::object doc;
  ASSERT_EQ(p.parse(r.body).get(doc), simdjson::SUCCESS);
  for (const RouteInfo& route : api_->Routes()) {
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    simdjson::dom::element op;
    EXPECT_EQ(doc["paths"][route.path][method].get(op), simdjson::SUCCESS) << route.method << " " << route.path;
  }
  r = Call("GET", "/");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type.rfind("text/html", 0), 0u);
  bool csp = false;
  for (const auto& [k, v] : r.headers) csp = csp || (k == "Content-Security-Policy" && v.find("script-src 'self'") != std::string::npos);
  EXPECT_TRUE(csp);
  EXPECT_EQ(Call("GET", "/static/vendor/uplot.iife.min.js").status, 200u);
  EXPECT_EQ(Call("GET", "/static/../../etc/passwd").status, 404u);
}

TEST_F(AdminApiTest, CategoriesFlagWhatAVendorNeverReceivedBefore) {
  ledger::Ledger& l = ledger_->ledger();
  const uint16_t alpha = *l.VendorId("alpha");
  const ledger::Hash h{};
  // Ten days ago: identifiers and devices. Today: also an email address (contact).
  std::vector<ledger::LedgerRecord> records = {
      ledger::LedgerRecord::Disclosure(kNov10 - 10 * 24 * 60 * kMinute, alpha, "u1", 1, kCatIdentifier | kCatDevice,
                                       ledger::Outcome::kDelivered, "i1", h),
      ledger::LedgerRecord::Disclosure(kNov10 - 60 * kMinute, alpha, "u2", 1, kCatIdentifier | kCatContact,
                                       ledger::Outcome::kDelivered, "i2", h)};
  ASSERT_TRUE(l.Append(records).ok());
  ASSERT_TRUE(l.Flush().ok());
  const SignedIn viewer = Login("vic");
  ApiResponse r = Call("GET", "/api/v1/categories?days=1", "", &viewer);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find(R"("categories":["identifier","contact"],"records":1,"subjects":1,"new_categories":["contact"])"),
            std::string::npos)
      << r.body;
  r = Call("GET", "/api/v1/categories?days=30", "", &viewer);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find(R"("records":2,"subjects":2,"new_categories":["identifier","contact","device"])"),
            std::string::npos)
      << r.body;
  // The ledger queries answer the same records.
  r = Call("GET", "/api/v1/ledger/subject?subject=u2", "", &viewer);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find(R"("found":true)"), std::string::npos) << r.body;
  r = Call("GET", "/api/v1/ledger/who?vendor=alpha&from=2025-10-01&to=2025-11-10", "", &viewer);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find(R"("count":2)"), std::string::npos) << r.body;
}

TEST_F(AdminApiTest, IncidentsShowBlastRadiusLeakMatchAndCampaignProgress) {
  // An incident written by the same code the CLI uses: its assessment, a leak match and a notice outbox.
  ledger::Ledger& l = ledger_->ledger();
  const uint16_t alpha = *l.VendorId("alpha");
  const ledger::Hash h{};
  std::vector<ledger::LedgerRecord> records;
  for (const char* subject : {"u1", "u2", "u3"}) {
    records.push_back(ledger::LedgerRecord::Disclosure(kNov10 - 24 * 60 * kMinute, alpha, subject, 1,
                                                       kCatIdentifier | kCatContact, ledger::Outcome::kDelivered,
                                                       subject, h));
  }
  ASSERT_TRUE(l.Append(records).ok());
  ASSERT_TRUE(l.Flush().ok());
  incident::IncidentStore store(config_.data_dir);
  incident::Incident i;
  i.vendor = "alpha";
  i.from_us = kNov10 - 3 * 24 * 60 * kMinute;
  i.to_us = kNov10;
  i.aware_at_us = kNov10;
  i.opened_by = "test";
  ASSERT_TRUE(store.Create(&i, kNov10).ok());
  auto a = incident::Assess(l, i, kNov10);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(ReplaceFileDurably(store.Dir(i.id) + "/assessment.json", incident::AssessmentJson(*a)).ok());
  incident::MatchReport m;
  m.format = "jsonl";
  m.rows = 5;
  m.rows_matched = 4;
  m.unmatched_rows = 1;
  m.confirmed = {"u1", "u2"};
  m.at_risk = {"u3"};
  ASSERT_TRUE(ReplaceFileDurably(store.Dir(i.id) + "/match.json", incident::MatchReportJson(m, *a)).ok());
  std::filesystem::create_directories(store.Dir(i.id) + "/notices");
  auto outbox = notify::Outbox::Open(notify::OutboxPath(store.Dir(i.id)), kNov10);
  ASSERT_TRUE(outbox.ok()) << outbox.status().message();
  ASSERT_TRUE((*outbox)->Add({{"N-AAAAAAAAAA", "u1", "u1@example.com", "m1"},
                              {"N-BBBBBBBBBB", "u2", "u2@example.com", "m2"},
                              {"N-CCCCCCCCCC", "u3", "u3@example.com", "m3"}},
                             kNov10).ok());
  auto claimed = (*outbox)->ClaimNext(false, kNov10);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  ASSERT_TRUE((*outbox)->MarkSent((*claimed)->entry.notice_id, "250 ok", kNov10).ok());
  outbox->reset();

  const SignedIn viewer = Login("vic");
  ApiResponse r = Call("GET", "/api/v1/incidents", "", &viewer);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("\"id\":\"" + i.id + "\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("subjects":3,"notices_sent":1,"notices_total":3)"), std::string::npos) << r.body;
  r = Call("GET", "/api/v1/incidents/" + i.id, "", &viewer);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find(R"("assessment":{"subjects":3,)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"({"category":"contact","subjects":3})"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("leak_match":{"rows":5,"matched":4,"unmatched":1,"people_confirmed":2,"people_at_risk":1})"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("campaign":{"total":3,"sent":1,"failed":0,"unknown":0,"pending":2})"), std::string::npos)
      << r.body;
  EXPECT_EQ(Call("GET", "/api/v1/incidents/INC-nope", "", &viewer).status, 404u);
}

}  // namespace
}  // namespace vg::admin
