#include "admin/admin_api.h"

#include <simdjson.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "admin/console_assets.h"
#include "auth/account_store.h"
#include "common/ascii.h"
#include "common/files.h"
#include "common/http_status.h"
#include "common/json_object.h"
#include "common/json_text.h"
#include "common/thread_name.h"
#include "common/time_text.h"
#include "config/config.h"
#include "delivery/delivery.h"
#include "incident/incident.h"
#include "ledger/ledger.h"
#include "notify/campaign.h"
#include "notify/outbox.h"
#include "policy/categories.h"
#include "policy/explain.h"
#include "server/admin_server.h"
#include "server/disclosure_ledger.h"
#include "server/ingest_handler.h"
#include "server/request_target.h"

namespace vg::admin {

using auth::Role;

namespace {

// --- JSON ------------------------------------------------------------------------------------------------

using Obj = JsonObject;

std::string CategoriesJson(uint32_t set) {
  std::vector<std::string> names;
  for (size_t i = 0; i < std::size(kCategoryNames); ++i) {
    if (set & (1u << i)) names.push_back("\"" + std::string(kCategoryNames[i]) + "\"");
  }
  return JsonArray(names);
}

// A field of a report the gateway wrote itself, or `fallback` when it is missing or of another type.
template <typename T>
T FieldOr(simdjson::simdjson_result<simdjson::dom::element> field, T fallback) {
  T value;
  return field.get(value) == simdjson::SUCCESS ? value : fallback;
}

ApiResponse Json(unsigned status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  r.body.push_back('\n');
  return r;
}

ApiResponse Error(unsigned status, std::string_view message) { return Json(status, Obj().Str("error", message).Finish()); }

ApiResponse FromStatus(const Status& s) {
  const unsigned status = HttpStatusOf(s);
  if (status >= 500 && status != 503) {
    spdlog::error("admin API: {}", s.message());
    return Error(status, "internal error (logged by the gateway)");
  }
  return Error(status, s.message());
}

// --- Request parsing ---------------------------------------------------------------------------------------

using Target = RequestTarget;

std::string_view CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
  }
  return {};
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// A parsed JSON object body with typed field access that says what is wrong.
class Body {
 public:
  Status Parse(std::string_view text) {
    if (text.empty()) return Status::InvalidArgument("this route needs a JSON body");
    padded_ = simdjson::padded_string(text);
    if (parser_.parse(padded_).get(root_) != simdjson::SUCCESS) return Status::InvalidArgument("the body is not valid JSON");
    if (root_.type() != simdjson::dom::element_type::OBJECT) return Status::InvalidArgument("the body must be a JSON object");
    return Status::Ok();
  }
  // A required (or optional, when `required` is false: "" when absent) string field.
  Status String(std::string_view key, std::string* out, bool required = true, size_t max = 4096) const {
    simdjson::dom::element e;
    if (root_[key].get(e) != simdjson::SUCCESS) {
      if (!required) return Status::Ok();
      return Status::InvalidArgument("missing field '" + std::string(key) + "'");
    }
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS) return Status::InvalidArgument("field '" + std::string(key) + "' must be a string");
    if (s.size() > max) return Status::InvalidArgument("field '" + std::string(key) + "' is too long");
    *out = std::string(s);
    return Status::Ok();
  }
  bool Has(std::string_view key) const {
    simdjson::dom::element e;
    return root_[key].get(e) == simdjson::SUCCESS;
  }
  simdjson::dom::element root() const { return root_; }

 private:
  simdjson::padded_string padded_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

StatusOr<int64_t> TimeParam(const Target& t, const std::string& key, std::optional<int64_t> fallback, bool end_of_day) {
  const std::string* value = t.Query(key);
  if (value == nullptr || value->empty()) {
    if (fallback) return *fallback;
    return Status::InvalidArgument("missing query parameter '" + key + "'");
  }
  auto p = ParseTime(key, *value);
  if (!p.ok()) return p.status();
  return p->us + (end_of_day && p->date_only ? kUsPerDay : 0);
}

StatusOr<uint64_t> UIntParam(const Target& t, const std::string& key, uint64_t fallback, uint64_t max) {
  const std::string* value = t.Query(key);
  if (value == nullptr || value->empty()) return fallback;
  uint64_t n = 0;
  const std::string& v = *value;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n > max) {
    return Status::InvalidArgument("query parameter '" + key + "' must be an integer from 0 to " + std::to_string(max));
  }
  return n;
}

std::string CountsJson(const ledger::OutcomeCounts& c) {
  return Obj()
      .Int("delivered", static_cast<int64_t>(c.delivered))
      .Int("dead_lettered", static_cast<int64_t>(c.dead_lettered))
      .Int("cut", static_cast<int64_t>(c.cut))
      .Int("total", static_cast<int64_t>(c.total()))
      .Finish();
}

ledger::AdminAction AuditAction(std::string_view action) {
  if (action == "login") return ledger::AdminAction::kLogin;
  if (action == "login_failed" || action == "lockout") return ledger::AdminAction::kLoginFailed;
  if (action == "logout") return ledger::AdminAction::kLogout;
  return ledger::AdminAction::kAccount;
}

}  // namespace

// --- Flow history ----------------------------------------------------------------------------------------

struct FlowHistory::Impl {
  size_t capacity;
  mutable std::mutex mu;
  struct Series {
    std::deque<int64_t> t;
    std::deque<uint64_t> accepted, delivered;  // events in that second
    uint64_t last_accepted = 0, last_delivered = 0;
    bool primed = false;
  };
  std::map<std::string, Series> vendors;
};

FlowHistory::FlowHistory(size_t seconds) : impl_(std::make_unique<Impl>()) { impl_->capacity = seconds; }
FlowHistory::~FlowHistory() = default;

void FlowHistory::Sample(int64_t unix_s,
                         const std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>>& counters) {
  std::lock_guard lock(impl_->mu);
  for (const auto& [name, c] : counters) {
    Impl::Series& s = impl_->vendors[name];
    if (s.primed && !s.t.empty() && s.t.back() >= unix_s) continue;  // one sample a second
    const uint64_t a = s.primed && c.first >= s.last_accepted ? c.first - s.last_accepted : 0;
    const uint64_t d = s.primed && c.second >= s.last_delivered ? c.second - s.last_delivered : 0;
    s.last_accepted = c.first;
    s.last_delivered = c.second;
    s.primed = true;
    s.t.push_back(unix_s);
    s.accepted.push_back(a);
    s.delivered.push_back(d);
    while (s.t.size() > impl_->capacity) {
      s.t.pop_front();
      s.accepted.pop_front();
      s.delivered.pop_front();
    }
  }
}

std::string FlowHistory::Json(size_t seconds) const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> vendors;
  for (const auto& [name, s] : impl_->vendors) {
    const size_t n = std::min(seconds, s.t.size());
    const size_t from = s.t.size() - n;
    std::vector<std::string> t, a, d;
    for (size_t i = from; i < s.t.size(); ++i) {
      t.push_back(std::to_string(s.t[i]));
      a.push_back(std::to_string(s.accepted[i]));
      d.push_back(std::to_string(s.delivered[i]));
    }
    vendors.push_back(Obj().Str("name", name).Raw("t", JsonArray(t)).Raw("accepted", JsonArray(a)).Raw("delivered", JsonArray(d)).Finish());
  }
  return Obj().Int("interval_s", 1).Raw("vendors", JsonArray(vendors)).Finish();
}

// --- The API ---------------------------------------------------------------------------------------------

struct Ctx {
  const ApiRequest& req;
  const Target& target;
  std::vector<std::string> params;  // path parameters, in order
  std::optional<auth::Principal> who;
  std::string actor;  // for records: "alice (operator) via the admin API from 127.0.0.1"
};

using Handler = ApiResponse (AdminApi::Impl::*)(Ctx&);

struct Route {
  std::string_view method;
  std::string_view path;  // "/api/v1/vendors/{name}/pause"
  std::optional<Role> role;
  std::string_view summary;
  Handler handler;
  std::vector<std::string_view> parts;  // split path
};

struct AdminApi::Impl {
  AdminApiDeps d;
  std::vector<Route> routes;
  std::mutex audit_mu;

  // Ledger verification, run in the background on request.
  struct VerifyState {
    std::string state = "never";  // never | running | ok | failed
    int64_t started_us = 0, finished_us = 0;
    uint64_t records = 0, heads = 0, done = 0, total = 0;
    std::string problem;
  };
  std::mutex verify_mu;
  VerifyState verify;
  std::thread verify_thread;

  ~Impl() {
    if (verify_thread.joinable()) verify_thread.join();
  }

  int64_t Now() const { return d.now_us ? d.now_us() : SystemNowUs(); }

  // ---- Authentication ----
  ApiResponse Login(Ctx& c) {
    Body b;
    if (Status s = b.Parse(c.req.body); !s.ok()) return FromStatus(s);
    std::string user, password, code;
    if (Status s = b.String("user", &user); !s.ok()) return FromStatus(s);
    if (Status s = b.String("password", &password, true, 1024); !s.ok()) return FromStatus(s);
    if (Status s = b.String("code", &code, true, 64); !s.ok()) return FromStatus(s);
    auto r = d.accounts->Login(user, password, code, c.req.source);
    sodium_memzero(password.data(), password.size());
    if (!r.ok()) {
      ApiResponse e = FromStatus(r.status());
      if (r.status().code() == Status::Code::kResourceExhausted) {
        // "... try again in N s": the same number as Retry-After.
        const std::string& m = r.status().message();
        const size_t in = m.rfind(" in ");
        if (in != std::string::npos) {
          uint64_t n = 0;
          std::from_chars(m.data() + in + 4, m.data() + m.size(), n);
          if (n > 0) e.headers.emplace_back("Retry-After", std::to_string(n));
        }
      }
      return e;
    }
    const auth::Principal& p = r->principal;
    const int64_t max_age_s = std::max<int64_t>(1, (p.expires_us - Now()) / kUsPerSecond);
    ApiResponse out = Json(200, SessionJson(p));
    out.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=" + r->session_token +
                                               "; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=" +
                                               std::to_string(max_age_s));
    return out;
  }

  static std::string SessionJson(const auth::Principal& p) {
    return Obj()
        .Str("user", p.user)
        .Str("role", auth::RoleName(p.role))
        .Str("csrf_token", p.csrf_token)
        .Time("expires_at", p.expires_us)
        .Finish();
  }

  ApiResponse Session(Ctx& c) { return Json(200, SessionJson(*c.who)); }

  ApiResponse Logout(Ctx& c) {
    ApiResponse out = Json(200, "{}");
    if (!c.who->api_token) {
      if (Status s = d.accounts->Logout(CookieValue(c.req.cookie, kSessionCookie)); !s.ok()) return FromStatus(s);
    }
    out.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                               "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    return out;
  }

  // ---- Vendors (the kill switch), through the same router as the admin socket ----
  ApiResponse Legacy(Ctx& c, std::string_view method, const std::string& path, std::string_view body = {}) {
    AdminPeer peer;
    peer.actor = c.actor;
    AdminResponse r = HandleAdminRequest(*d.delivery, method, path, peer, nullptr, d.ledger, body);
    ApiResponse out;
    out.status = r.status;
    out.body = std::move(r.body);
    out.content_type = r.content_type;
    return out;
  }
  static std::string Esc(std::string_view s) {
    std::string out;
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char ch : s) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
        out.push_back(static_cast<char>(ch));
      } else {
        out.push_back('%');
        out.push_back(kHex[ch >> 4]);
        out.push_back(kHex[ch & 15]);
      }
    }
    return out;
  }
  std::string QueryString(const Target& t) {
    std::string q;
    for (const auto& [k, v] : t.query) q += (q.empty() ? "?" : "&") + Esc(k) + "=" + Esc(v);
    return q;
  }
  ApiResponse Vendors(Ctx& c) { return Legacy(c, "GET", "/v1/vendors" + QueryString(c.target)); }
  ApiResponse Vendor(Ctx& c) { return Legacy(c, "GET", "/v1/vendors/" + Esc(c.params[0]) + QueryString(c.target)); }
  ApiResponse DeadLetters(Ctx& c) {
    return Legacy(c, "GET", "/v1/vendors/" + Esc(c.params[0]) + "/dead-letters" + QueryString(c.target));
  }
  ApiResponse Pause(Ctx& c) { return Legacy(c, "POST", "/v1/vendors/" + Esc(c.params[0]) + "/pause"); }
  ApiResponse Resume(Ctx& c) { return Legacy(c, "POST", "/v1/vendors/" + Esc(c.params[0]) + "/resume"); }
  ApiResponse Redrive(Ctx& c) { return Legacy(c, "POST", "/v1/vendors/" + Esc(c.params[0]) + "/redrive"); }
  ApiResponse Cut(Ctx& c) {
    Body b;
    if (Status s = b.Parse(c.req.body); !s.ok()) return FromStatus(s);
    std::string confirm;
    if (Status s = b.String("confirm", &confirm); !s.ok()) {
      return Error(400, s.message() + ": a cut discards the vendor's queued events; confirm with {\"confirm\": \"" +
                            c.params[0] + "\"}");
    }
    if (confirm != c.params[0]) return Error(400, "'confirm' must repeat the vendor's name ('" + c.params[0] + "')");
    return Legacy(c, "POST", "/v1/vendors/" + Esc(c.params[0]) + "/cut");
  }

  // A deletion request: the identifier's plaintext leaves the ledger (its keyed hash, categories, vendors
  // and times stay: the accounting of disclosures). Same rules and answers as the admin socket's route.
  ApiResponse Erase(Ctx& c) { return Legacy(c, "POST", "/v1/ledger/erase", c.req.body); }

  ApiResponse Flows(Ctx& c) {
    auto seconds = UIntParam(c.target, "seconds", 300, 3600);
    if (!seconds.ok()) return FromStatus(seconds.status());
    if (d.flows == nullptr) return Json(200, Obj().Int("interval_s", 1).Raw("vendors", "[]").Finish());
    return Json(200, d.flows->Json(*seconds));
  }

  // ---- Ledger ----
  ledger::Ledger* L() { return d.ledger == nullptr ? nullptr : &d.ledger->ledger(); }

  ApiResponse Categories(Ctx& c) {
    auto days = UIntParam(c.target, "days", 1, 3660);
    if (!days.ok()) return FromStatus(days.status());
    if (*days == 0) return Error(400, "query parameter 'days' must be at least 1");
    if (L() == nullptr) return Error(503, "this gateway runs without a ledger");
    const int64_t since = Now() - static_cast<int64_t>(*days) * kUsPerDay;
    auto recent = L()->Vendors(since);
    if (!recent.ok()) return FromStatus(recent.status());
    auto before = L()->Vendors(INT64_MIN, ledger::kReachedVendor, since);
    if (!before.ok()) return FromStatus(before.status());
    // Per vendor name (a vendor may have several declarations over time).
    std::map<std::string, std::tuple<uint32_t, uint64_t, uint64_t, uint32_t>> by_name;  // recent cats, records, subjects, before cats
    for (const auto& v : *recent) {
      auto& e = by_name[v.vendor.name];
      std::get<0>(e) |= v.categories;
      std::get<1>(e) += v.counts.total();
      std::get<2>(e) += v.distinct_subjects;
    }
    for (const auto& v : *before) std::get<3>(by_name[v.vendor.name]) |= v.categories;
    std::vector<std::string> rows;
    for (const auto& [name, e] : by_name) {
      const auto [cats, records, subjects, old] = e;
      rows.push_back(Obj()
                         .Str("name", name)
                         .Raw("categories", CategoriesJson(cats))
                         .Int("records", static_cast<int64_t>(records))
                         .Int("subjects", static_cast<int64_t>(subjects))
                         .Raw("new_categories", CategoriesJson(cats & ~old))
                         .Finish());
    }
    return Json(200, Obj().Int("days", static_cast<int64_t>(*days)).Time("since", since).Raw("vendors", JsonArray(rows)).Finish());
  }

  ApiResponse Who(Ctx& c) {
    if (L() == nullptr) return Error(503, "this gateway runs without a ledger");
    const std::string* vendor = c.target.Query("vendor");
    if (vendor == nullptr || vendor->empty()) return Error(400, "missing query parameter 'vendor'");
    auto from = TimeParam(c.target, "from", INT64_MIN, false);
    auto to = TimeParam(c.target, "to", INT64_MAX, true);
    auto limit = UIntParam(c.target, "limit", 1000, 100000);
    if (!from.ok()) return FromStatus(from.status());
    if (!to.ok()) return FromStatus(to.status());
    if (!limit.ok()) return FromStatus(limit.status());
    if (*from >= *to) return Error(400, "'from' must be before 'to'");
    auto who = L()->Who(*vendor, *from, *to);
    if (!who.ok()) return FromStatus(who.status());
    std::vector<std::string> rows;
    for (const auto& e : *who) {
      if (rows.size() >= *limit) break;
      rows.push_back(Obj()
                         .Raw("subject", e.erased ? std::string("null") : [&] {
                           std::string s;
                           AppendJsonStringLossy(&s, e.subject);
                           return s;
                         }())
                         .Bool("erased", e.erased)
                         .Raw("categories", CategoriesJson(e.categories))
                         .Time("first", e.first_us)
                         .Time("last", e.last_us)
                         .Raw("counts", CountsJson(e.counts))
                         .Finish());
    }
    Obj o;
    o.Str("vendor", *vendor);
    *from == INT64_MIN ? o.Raw("from", "null") : o.Str("from", IsoTime(*from, false));
    *to == INT64_MAX ? o.Raw("to", "null") : o.Str("to", IsoTime(*to, false));
    return Json(200, o.Int("count", static_cast<int64_t>(who->size()))
                         .Bool("truncated", who->size() > rows.size())
                         .Raw("subjects", JsonArray(rows))
                         .Finish());
  }

  ApiResponse Subject(Ctx& c) {
    if (L() == nullptr) return Error(503, "this gateway runs without a ledger");
    const std::string* subject = c.target.Query("subject");
    if (subject == nullptr || subject->empty()) return Error(400, "missing query parameter 'subject'");
    auto a = L()->Subject(*subject);
    if (!a.ok()) return FromStatus(a.status());
    std::vector<std::string> rows;
    for (const auto& v : a->vendors) {
      rows.push_back(Obj()
                         .Str("vendor", v.vendor.name)
                         .Str("purpose", v.vendor.purpose)
                         .Str("legal_basis", v.vendor.legal_basis)
                         .Str("destination_country", v.vendor.destination_country)
                         .Raw("categories", CategoriesJson(v.categories))
                         .Time("first", v.first_us)
                         .Time("last", v.last_us)
                         .Raw("counts", CountsJson(v.counts))
                         .Finish());
    }
    return Json(200, Obj()
                         .Str("subject", *subject)
                         .Bool("found", a->found)
                         .Bool("erased", a->erased)
                         .Raw("vendors", JsonArray(rows))
                         .Finish());
  }

  ApiResponse LedgerVendors(Ctx& c) {
    if (L() == nullptr) return Error(503, "this gateway runs without a ledger");
    auto since = TimeParam(c.target, "since", INT64_MIN, false);
    if (!since.ok()) return FromStatus(since.status());
    auto vs = L()->Vendors(*since);
    if (!vs.ok()) return FromStatus(vs.status());
    std::vector<std::string> rows;
    for (const auto& v : *vs) {
      rows.push_back(Obj()
                         .Str("vendor", v.vendor.name)
                         .Int("vendor_id", v.vendor_id)
                         .Str("purpose", v.vendor.purpose)
                         .Str("legal_basis", v.vendor.legal_basis)
                         .Str("destination_country", v.vendor.destination_country)
                         .Raw("categories", CategoriesJson(v.categories))
                         .Raw("counts", CountsJson(v.counts))
                         .Int("subjects", static_cast<int64_t>(v.distinct_subjects))
                         .Time("first", v.counts.total() ? v.first_us : 0)
                         .Time("last", v.counts.total() ? v.last_us : 0)
                         .Finish());
    }
    Obj o;
    *since == INT64_MIN ? o.Raw("since", "null") : o.Str("since", IsoTime(*since, false));
    return Json(200, o.Raw("vendors", JsonArray(rows)).Finish());
  }

  ApiResponse Audit(Ctx& c) {
    if (L() == nullptr) return Error(503, "this gateway runs without a ledger");
    auto limit = UIntParam(c.target, "limit", 200, 10000);
    if (!limit.ok()) return FromStatus(limit.status());
    PumpAudit();  // so the answer includes what just happened
    auto records = L()->Audit(INT64_MIN, INT64_MAX, *limit == 0 ? 1 : *limit);
    if (!records.ok()) return FromStatus(records.status());
    std::vector<std::string> rows;
    for (const auto& r : *records) {
      rows.push_back(Obj()
                         .Time("time", r.time_us)
                         .Str("action", ledger::AdminActionName(r.action))
                         .StrOrNull("vendor", r.vendor)
                         .Str("actor", r.actor)
                         .Str("detail", r.detail)
                         .Finish());
    }
    return Json(200, Obj().Raw("entries", JsonArray(rows)).Finish());
  }

  std::string VerifyJson() {
    std::lock_guard lock(verify_mu);
    const VerifyState& v = verify;
    const double progress = v.state == "running" ? (v.total ? static_cast<double>(v.done) / v.total : 0.0)
                                                 : (v.state == "never" ? 0.0 : 1.0);
    char p[32];
    std::snprintf(p, sizeof p, "%.3f", std::min(1.0, progress));
    return Obj()
        .Str("state", v.state)
        .Time("started_at", v.started_us)
        .Time("finished_at", v.finished_us)
        .Int("records", static_cast<int64_t>(v.records))
        .Int("heads", static_cast<int64_t>(v.heads))
        .StrOrNull("problem", v.problem)
        .Raw("progress", p)
        .Finish();
  }
  ApiResponse VerifyStatus(Ctx&) { return Json(200, VerifyJson()); }
  ApiResponse VerifyStart(Ctx& c) {
    if (d.ledger == nullptr) return Error(503, "this gateway runs without a ledger");
    {
      std::lock_guard lock(verify_mu);
      if (verify.state == "running") return Json(202, Obj().Str("state", "running").Finish());
      if (verify_thread.joinable()) verify_thread.join();
      verify = VerifyState{};
      verify.state = "running";
      verify.started_us = Now();
      const std::string dir = d.ledger->dir();
      spdlog::info("admin API: ledger verification started by {}", c.actor);
      verify_thread = std::thread([this, dir] {
        SetCurrentThreadName("vg-verify");
        ledger::VerifyOptions o;
        o.progress = [this](uint64_t done, uint64_t total) {
          std::lock_guard l(verify_mu);
          verify.done = done;
          verify.total = total;
        };
        ledger::VerifyReport r = ledger::Verify(dir, o);
        std::lock_guard l(verify_mu);
        verify.state = r.ok ? "ok" : "failed";
        verify.finished_us = Now();
        verify.records = r.records;
        verify.heads = r.heads;
        verify.problem = r.ok ? "" : r.problem;
        if (r.ok) {
          spdlog::info("admin API: ledger verified: {} records, {} signed heads", r.records, r.heads);
        } else {
          spdlog::error("admin API: ledger verification FAILED: {}", r.problem);
        }
      });
    }
    return Json(202, Obj().Str("state", "running").Finish());
  }

  // ---- Incidents ----
  std::string IncidentSummary(const incident::IncidentStore& store, const incident::Incident& i, bool detail) {
    Obj o;
    o.Str("id", i.id).Str("vendor", i.vendor).Time("from", i.from_us).Time("to", i.to_us).Time("opened_at", i.opened_at_us);
    o.Str("opened_by", i.opened_by).Bool("cut", i.cut);
    // The last assessment's totals (its full list of people stays on disk, for the CLI's reports).
    std::string assessment = "null";
    int64_t subjects = -1;
    if (auto saved = ReadWholeFile(store.Dir(i.id) + "/assessment.json"); saved.ok()) {
      simdjson::dom::parser parser;
      simdjson::padded_string body(*saved);
      simdjson::dom::element doc;
      if (parser.parse(body).get(doc) == simdjson::SUCCESS) {
        uint64_t n = 0;
        if (doc["totals"]["subjects"].get(n) == simdjson::SUCCESS) subjects = static_cast<int64_t>(n);
        const uint64_t records = FieldOr<uint64_t>(doc["totals"]["records_in_window"], 0);
        std::vector<std::string> cats;
        simdjson::dom::array arr;
        if (doc["categories"].get(arr) == simdjson::SUCCESS) {
          for (simdjson::dom::element e : arr) {
            std::string_view name;
            uint64_t people = 0;
            if (e["category"].get(name) != simdjson::SUCCESS || e["subjects"].get(people) != simdjson::SUCCESS) continue;
            cats.push_back(Obj().Str("category", name).Int("subjects", static_cast<int64_t>(people)).Finish());
          }
        }
        const std::string_view generated = FieldOr<std::string_view>(doc["generated_at"], "");
        assessment = Obj()
                         .Int("subjects", subjects)
                         .Int("records", static_cast<int64_t>(records))
                         .Str("generated_at", generated)
                         .Raw("categories", JsonArray(cats))
                         .Finish();
      }
    }
    std::string match = "null";
    if (auto saved = ReadWholeFile(store.Dir(i.id) + "/match.json"); saved.ok()) {
      simdjson::dom::parser parser;
      simdjson::padded_string body(*saved);
      simdjson::dom::element doc;
      if (parser.parse(body).get(doc) == simdjson::SUCCESS) {
        // incident::MatchReportJson's totals, and how many people the leaked rows confirm or put at risk.
        const uint64_t rows = FieldOr<uint64_t>(doc["rows"], 0);
        const uint64_t matched = FieldOr<uint64_t>(doc["rows_matched"], 0);
        const uint64_t unmatched = FieldOr<uint64_t>(doc["unmatched_rows"], 0);
        simdjson::dom::array confirmed, at_risk;
        const size_t n_confirmed = doc["confirmed"].get(confirmed) == simdjson::SUCCESS ? confirmed.size() : 0;
        const size_t n_at_risk = doc["at_risk"].get(at_risk) == simdjson::SUCCESS ? at_risk.size() : 0;
        match = Obj()
                    .Int("rows", static_cast<int64_t>(rows))
                    .Int("matched", static_cast<int64_t>(matched))
                    .Int("unmatched", static_cast<int64_t>(unmatched))
                    .Int("people_confirmed", static_cast<int64_t>(n_confirmed))
                    .Int("people_at_risk", static_cast<int64_t>(n_at_risk))
                    .Finish();
      }
    }
    std::string campaign = "null";
    int64_t sent = -1, total = -1;
    if (std::filesystem::exists(notify::OutboxPath(store.Dir(i.id)))) {
      if (auto s = notify::CampaignStatus(store.Dir(i.id)); s.ok()) {
        sent = static_cast<int64_t>(s->sent);
        total = static_cast<int64_t>(s->total);
        campaign = Obj()
                       .Int("total", total)
                       .Int("sent", sent)
                       .Int("failed", static_cast<int64_t>(s->failed))
                       .Int("unknown", static_cast<int64_t>(s->unknown))
                       .Int("pending", static_cast<int64_t>(s->pending + s->sending))
                       .Finish();
      }
    }
    if (detail) return o.Raw("assessment", assessment).Raw("leak_match", match).Raw("campaign", campaign).Finish();
    subjects < 0 ? o.Raw("subjects", "null") : o.Int("subjects", subjects);
    sent < 0 ? o.Raw("notices_sent", "null") : o.Int("notices_sent", sent);
    total < 0 ? o.Raw("notices_total", "null") : o.Int("notices_total", total);
    return o.Finish();
  }
  ApiResponse Incidents(Ctx&) {
    incident::IncidentStore store(d.config->data_dir);
    auto list = store.List();
    if (!list.ok()) return FromStatus(list.status());
    std::vector<std::string> rows;
    for (auto it = list->rbegin(); it != list->rend(); ++it) rows.push_back(IncidentSummary(store, *it, false));
    return Json(200, Obj().Raw("incidents", JsonArray(rows)).Finish());
  }
  ApiResponse IncidentDetail(Ctx& c) {
    incident::IncidentStore store(d.config->data_dir);
    auto i = store.Load(c.params[0]);
    if (!i.ok()) return Error(404, "no incident '" + c.params[0] + "'");
    return Json(200, IncidentSummary(store, *i, true));
  }

  // ---- Policy playground ----
  ApiResponse ExplainRoute(Ctx& c) {
    Body b;
    if (Status s = b.Parse(c.req.body); !s.ok()) return FromStatus(s);
    simdjson::dom::element event;
    if (b.root()["event"].get(event) != simdjson::SUCCESS) return Error(400, "missing field 'event' (a Mixpanel event or an array of them)");
    if (event.type() != simdjson::dom::element_type::OBJECT && event.type() != simdjson::dom::element_type::ARRAY) {
      return Error(400, "field 'event' must be an object or an array");
    }
    const std::string events_json = simdjson::minify(event);
    ExplainOptions options;
    options.json = true;
    options.scanner = d.scanner;
    std::string ip;
    if (Status s = b.String("ip", &ip, false, 64); !s.ok()) return FromStatus(s);
    if (!ip.empty()) {
      auto parsed = IpAddress::Parse(ip);
      if (!parsed) return Error(400, "field 'ip' is not an IP address");
      options.client_ip = *parsed;
    }
    std::vector<std::string> out;
    for (const VendorRuntime& v : *d.vendors) {
      auto r = Explain(*d.config, v.config.name, events_json, *v.pseudonymizer, d.geo, options);
      if (!r.ok()) return FromStatus(r.status());
      while (!r->empty() && (r->back() == '\n' || r->back() == ' ')) r->pop_back();
      out.push_back(std::move(*r));
    }
    return Json(200, Obj().Raw("vendors", JsonArray(out)).Finish());
  }

  // ---- Accounts ----
  static std::string EnrollmentJson(const auth::Enrollment& e) {
    std::vector<std::string> codes;
    for (const auto& code : e.recovery_codes) {
      std::string s;
      AppendJsonStringLossy(&s, code);
      codes.push_back(std::move(s));
    }
    return Obj()
        .Str("user", e.user)
        .Str("otpauth_uri", e.otpauth_uri)
        .Str("totp_secret", e.totp_secret_base32)
        .Str("qr_svg", e.qr_svg)
        .Raw("recovery_codes", JsonArray(codes))
        .Finish();
  }
  ApiResponse Users(Ctx&) {
    auto users = d.accounts->ListUsers();
    if (!users.ok()) return FromStatus(users.status());
    std::vector<std::string> rows;
    for (const auto& u : *users) {
      rows.push_back(Obj()
                         .Str("name", u.name)
                         .Str("role", auth::RoleName(u.role))
                         .Time("created", u.created_us)
                         .Time("last_login", u.last_login_us)
                         .Time("locked_until", u.locked_until_us > Now() ? u.locked_until_us : 0)
                         .Int("recovery_codes_left", u.recovery_codes_left)
                         .Finish());
    }
    return Json(200, Obj().Raw("users", JsonArray(rows)).Finish());
  }
  StatusOr<Role> RoleField(const Body& b) {
    std::string role;
    if (Status s = b.String("role", &role); !s.ok()) return s;
    auto r = auth::ParseRole(role);
    if (!r) return Status::InvalidArgument("field 'role' must be viewer, operator or admin");
    return *r;
  }
  ApiResponse AddUser(Ctx& c) {
    Body b;
    if (Status s = b.Parse(c.req.body); !s.ok()) return FromStatus(s);
    std::string name, password;
    if (Status s = b.String("name", &name); !s.ok()) return FromStatus(s);
    if (Status s = b.String("password", &password, true, 1024); !s.ok()) return FromStatus(s);
    auto role = RoleField(b);
    if (!role.ok()) return FromStatus(role.status());
    auto e = d.accounts->AddUser(name, password, *role, c.actor);
    sodium_memzero(password.data(), password.size());
    if (!e.ok()) return FromStatus(e.status());
    return Json(201, EnrollmentJson(*e));
  }
  ApiResponse RemoveUser(Ctx& c) {
    if (c.params[0] == c.who->user && !c.who->api_token) return Error(409, "you cannot remove your own account");
    if (Status s = d.accounts->RemoveUser(c.params[0], c.actor); !s.ok()) return FromStatus(s);
    return Json(200, Obj().Str("removed", c.params[0]).Finish());
  }
  ApiResponse ResetMfa(Ctx& c) {
    auto e = d.accounts->ResetMfa(c.params[0], c.actor);
    if (!e.ok()) return FromStatus(e.status());
    return Json(200, EnrollmentJson(*e));
  }
  ApiResponse SetRole(Ctx& c) {
    Body b;
    if (Status s = b.Parse(c.req.body); !s.ok()) return FromStatus(s);
    auto role = RoleField(b);
    if (!role.ok()) return FromStatus(role.status());
    if (Status s = d.accounts->SetRole(c.params[0], *role, c.actor); !s.ok()) return FromStatus(s);
    return Json(200, Obj().Str("user", c.params[0]).Str("role", auth::RoleName(*role)).Finish());
  }
  ApiResponse Tokens(Ctx&) {
    auto tokens = d.accounts->ListApiTokens();
    if (!tokens.ok()) return FromStatus(tokens.status());
    std::vector<std::string> rows;
    for (const auto& t : *tokens) {
      rows.push_back(Obj()
                         .Str("id", t.id)
                         .Str("label", t.label)
                         .Str("role", auth::RoleName(t.role))
                         .Str("created_by", t.created_by)
                         .Time("created", t.created_us)
                         .Time("expires", t.expires_us)
                         .Time("last_used", t.last_used_us)
                         .Finish());
    }
    return Json(200, Obj().Raw("tokens", JsonArray(rows)).Finish());
  }
  ApiResponse CreateToken(Ctx& c) {
    Body b;
    if (Status s = b.Parse(c.req.body); !s.ok()) return FromStatus(s);
    std::string label, expires;
    if (Status s = b.String("label", &label); !s.ok()) return FromStatus(s);
    if (Status s = b.String("expires_at", &expires, true, 64); !s.ok()) return FromStatus(s);
    auto role = RoleField(b);
    if (!role.ok()) return FromStatus(role.status());
    auto at = ParseTime("expires_at", expires);
    if (!at.ok()) return FromStatus(at.status());
    auto token = d.accounts->CreateApiToken(label, *role, at->us, c.who->user);
    if (!token.ok()) return FromStatus(token.status());
    return Json(201, Obj().Str("token", *token).Str("label", label).Str("role", auth::RoleName(*role)).Time("expires_at", at->us).Finish());
  }
  ApiResponse RevokeToken(Ctx& c) {
    if (Status s = d.accounts->RevokeApiToken(c.params[0], c.actor); !s.ok()) return FromStatus(s);
    return Json(200, Obj().Str("revoked", c.params[0]).Finish());
  }

  ApiResponse OpenApi(Ctx&);

  // ---- Audit pump ----
  void PumpAudit() {
    if (d.ledger == nullptr || d.accounts == nullptr) return;
    std::lock_guard lock(audit_mu);
    for (int round = 0; round < 100; ++round) {
      auto pending = d.accounts->PendingAudit(500);
      if (!pending.ok()) {
        spdlog::warn("admin API: cannot read the audit outbox: {}", pending.status().message());
        return;
      }
      if (pending->empty()) return;
      std::vector<std::string> details;
      std::vector<ledger::LedgerRecord> records;
      std::vector<int64_t> ids;
      details.reserve(pending->size());
      for (const auto& e : *pending) details.push_back(e.action + ": " + e.detail);
      for (size_t i = 0; i < pending->size(); ++i) {
        const auto& e = (*pending)[i];
        records.push_back(ledger::LedgerRecord::Admin(e.time_us, AuditAction(e.action), ledger::kNoVendor, e.actor, details[i]));
        ids.push_back(e.id);
      }
      ledger::Ledger& l = d.ledger->ledger();
      if (Status s = l.Append(records); !s.ok()) {
        spdlog::error("admin API: cannot record the audit trail in the ledger: {}", s.message());
        return;
      }
      if (Status s = l.Flush(); !s.ok()) {
        spdlog::error("admin API: cannot flush the ledger: {}", s.message());
        return;
      }
      if (Status s = d.accounts->MarkAuditRecorded(ids); !s.ok()) {
        // Recorded but not marked: the next pump records them again (a duplicate, never a loss).
        spdlog::warn("admin API: audit entries recorded but not marked: {}", s.message());
        return;
      }
    }
  }

  // ---- Dispatch ----
  ApiResponse Dispatch(const ApiRequest& req);
  ApiResponse Static(const Target& t);
};

namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

constexpr std::string_view kCsp =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

}  // namespace

ApiResponse AdminApi::Impl::OpenApi(Ctx&) {
  // OpenAPI 3.1, from the route table: every path, method, summary and the role it needs.
  std::map<std::string, std::vector<const Route*>> by_path;
  for (const Route& r : routes) by_path[std::string(r.path)].push_back(&r);
  std::vector<std::string> paths;
  std::string out = "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"vendorguard admin API\",\"version\":\"1\","
                    "\"description\":\"Authenticate with POST /api/v1/login (password and TOTP code; sets the vg_session "
                    "cookie; send X-CSRF-Token with every state change) or an API token (Authorization: Bearer vgt_...). "
                    "x-role is the least role a route needs: viewer < operator < admin.\"},"
                    "\"components\":{\"securitySchemes\":{\"session\":{\"type\":\"apiKey\",\"in\":\"cookie\",\"name\":\"vg_session\"},"
                    "\"token\":{\"type\":\"http\",\"scheme\":\"bearer\"}}},\"paths\":{";
  bool first = true;
  for (const auto& [path, rs] : by_path) {
    if (!first) out += ",";
    first = false;
    AppendJsonStringLossy(&out, path);
    out += ":{";
    for (size_t i = 0; i < rs.size(); ++i) {
      const Route& r = *rs[i];
      if (i) out += ",";
      const std::string method = AsciiLowered(r.method);
      out += "\"" + method + "\":{\"summary\":";
      AppendJsonStringLossy(&out, r.summary);
      out += ",\"x-role\":" + (r.role ? "\"" + std::string(auth::RoleName(*r.role)) + "\"" : std::string("null"));
      std::vector<std::string> params;
      for (auto part : r.parts) {
        if (part.size() > 2 && part.front() == '{') {
          params.push_back("{\"name\":\"" + std::string(part.substr(1, part.size() - 2)) +
                           "\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}}");
        }
      }
      if (!params.empty()) out += ",\"parameters\":" + JsonArray(params);
      out += r.role ? ",\"security\":[{\"session\":[]},{\"token\":[]}]" : ",\"security\":[]";
      out += ",\"responses\":{\"200\":{\"description\":\"OK (JSON)\"},\"400\":{\"description\":\"bad input: {\\\"error\\\"}\"},"
             "\"401\":{\"description\":\"not signed in\"},\"403\":{\"description\":\"role too low, or CSRF token missing\"}}}";
    }
    out += "}";
  }
  out += "}}";
  return Json(200, out);
}

ApiResponse AdminApi::Impl::Static(const Target& t) {
  std::string_view want = t.path == "/" ? "index.html" : std::string_view(t.path).substr(std::string_view("/static/").size());
  for (const ConsoleAsset& a : ConsoleAssets()) {
    if (a.path == want) {
      ApiResponse r;
      r.body = std::string(a.data);
      r.content_type = std::string(a.content_type);
      r.headers.emplace_back("Cache-Control", t.path == "/" ? "no-store" : "no-cache");
      return r;
    }
  }
  return Error(404, "no such file");
}

ApiResponse AdminApi::Impl::Dispatch(const ApiRequest& req) {
  auto target = ParseRequestTarget(req.target);
  if (!target.ok()) return FromStatus(target.status());
  const Target& t = *target;

  if ((t.path == "/" || t.path.rfind("/static/", 0) == 0) && (req.method == "GET" || req.method == "HEAD")) {
    return Static(t);
  }

  // Find the route: path first (404), then method (405).
  const Route* route = nullptr;
  std::vector<std::string> params;
  std::string allow;
  for (const Route& r : routes) {
    if (r.parts.size() != t.segments.size()) continue;
    std::vector<std::string> p;
    bool match = true;
    for (size_t i = 0; i < r.parts.size() && match; ++i) {
      if (r.parts[i].size() > 2 && r.parts[i].front() == '{') {
        if (t.segments[i].empty()) match = false;
        p.push_back(t.segments[i]);
      } else {
        match = r.parts[i] == t.segments[i];
      }
    }
    if (!match) continue;
    if (r.method != req.method) {
      if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + std::string(r.method);
      continue;
    }
    route = &r;
    params = std::move(p);
    break;
  }
  if (route == nullptr) {
    if (!allow.empty()) {
      ApiResponse r = Error(405, "method " + std::string(req.method) + " not allowed here (allowed: " + allow + ")");
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return Error(404, "no such route: " + t.path);
  }

  const bool state_change = req.method != "GET" && req.method != "HEAD";
  // Requests from a browser page of another origin are refused outright (a second line behind
  // SameSite=Strict cookies and the CSRF token).
  if (state_change && !req.origin.empty()) {
    const std::string self_http = "http://" + std::string(req.host), self_https = "https://" + std::string(req.host);
    if (req.origin != (req.tls ? self_https : self_http)) return Error(403, "cross-origin request refused");
  }

  Ctx c{req, t, std::move(params), std::nullopt, ""};
  if (route->role) {
    // Who is asking: an API token, else the session cookie.
    std::string_view auth = req.authorization;
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
      auto p = d.accounts->AuthenticateApiToken(auth.substr(7));
      if (!p.ok()) return FromStatus(p.status());
      c.who = *p;
    } else {
      std::string_view token = CookieValue(req.cookie, kSessionCookie);
      if (token.empty()) return Error(401, "sign in first (POST /api/v1/login)");
      auto p = d.accounts->Authenticate(token);
      if (!p.ok()) return FromStatus(p.status());
      c.who = *p;
      if (state_change && !ConstantTimeEqual(req.csrf_token, p->csrf_token)) {
        return Error(403, "missing or wrong X-CSRF-Token header (GET /api/v1/session tells the session's token)");
      }
    }
    if (c.who->role < *route->role) {
      return Error(403, "this needs the " + std::string(auth::RoleName(*route->role)) + " role; " + c.who->user +
                            " is " + std::string(auth::RoleName(c.who->role)));
    }
    c.actor = c.who->user + " (" + std::string(auth::RoleName(c.who->role)) + ") via the admin API from " + req.source;
  }
  if (state_change && !req.body.empty()) {
    std::string_view ct = req.content_type.substr(0, req.content_type.find(';'));
    while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
    if (ct != "application/json") return Error(415, "request bodies must be application/json");
  }
  ApiResponse r = (this->*(route->handler))(c);
  if (state_change || route->handler == &Impl::Login) PumpAudit();
  return r;
}

AdminApi::AdminApi(AdminApiDeps deps) : impl_(std::make_unique<Impl>()) {
  impl_->d = std::move(deps);
  const auto viewer = std::optional<Role>(Role::kViewer), op = std::optional<Role>(Role::kOperator),
             admin = std::optional<Role>(Role::kAdmin), pub = std::optional<Role>();
  using I = Impl;
  impl_->routes = {
      {"GET", "/api/v1/openapi.json", pub, "This document", &I::OpenApi, {}},
      {"POST", "/api/v1/login", pub, "Sign in with user, password and TOTP (or recovery) code; sets the session cookie", &I::Login, {}},
      {"GET", "/api/v1/session", viewer, "The signed-in account, its role and CSRF token", &I::Session, {}},
      {"POST", "/api/v1/logout", viewer, "Sign out", &I::Logout, {}},
      {"GET", "/api/v1/vendors", viewer, "Every vendor: state, queue, rates, last error", &I::Vendors, {}},
      {"GET", "/api/v1/vendors/{name}", viewer, "One vendor", &I::Vendor, {}},
      {"GET", "/api/v1/vendors/{name}/dead-letters", viewer, "The vendor's dead letters (?limit=N&data=1)", &I::DeadLetters, {}},
      {"POST", "/api/v1/vendors/{name}/pause", op, "Hold the vendor's events in the spool", &I::Pause, {}},
      {"POST", "/api/v1/vendors/{name}/resume", op, "Resume sending to the vendor", &I::Resume, {}},
      {"POST", "/api/v1/vendors/{name}/cut", op, "Kill switch: stop all sending at once, discard queued events; body {\"confirm\": NAME}", &I::Cut, {}},
      {"POST", "/api/v1/vendors/{name}/redrive", op, "Re-send the vendor's dead letters", &I::Redrive, {}},
      {"GET", "/api/v1/flows", viewer, "Events accepted and delivered per second per vendor (?seconds=300)", &I::Flows, {}},
      {"GET", "/api/v1/categories", viewer, "Categories each vendor received in the last ?days=N, and those it never got before", &I::Categories, {}},
      {"GET", "/api/v1/ledger/who", viewer, "Subjects disclosed to ?vendor= in [?from, ?to)", &I::Who, {}},
      {"GET", "/api/v1/ledger/subject", viewer, "Vendors that received anything about ?subject=", &I::Subject, {}},
      {"GET", "/api/v1/ledger/vendors", viewer, "Per vendor: categories, volumes, distinct subjects (?since=)", &I::LedgerVendors, {}},
      {"GET", "/api/v1/ledger/verify", viewer, "The last ledger verification", &I::VerifyStatus, {}},
      {"POST", "/api/v1/ledger/verify", op, "Verify the ledger now (in the background)", &I::VerifyStart, {}},
      {"POST", "/api/v1/ledger/erase", admin, "Deletion request: erase {subject}'s identifier from the ledger", &I::Erase, {}},
      {"GET", "/api/v1/audit", viewer, "The audit trail from the ledger, newest first (?limit=)", &I::Audit, {}},
      {"GET", "/api/v1/incidents", viewer, "Incidents, newest first", &I::Incidents, {}},
      {"GET", "/api/v1/incidents/{id}", viewer, "An incident: blast radius, leak match, notice campaign", &I::IncidentDetail, {}},
      {"POST", "/api/v1/explain", viewer, "Policy playground: what every vendor would receive for {\"event\": ...}", &I::ExplainRoute, {}},
      {"GET", "/api/v1/users", admin, "Accounts", &I::Users, {}},
      {"POST", "/api/v1/users", admin, "Add an account {name, role, password}; answers its TOTP enrollment once", &I::AddUser, {}},
      {"DELETE", "/api/v1/users/{name}", admin, "Remove an account", &I::RemoveUser, {}},
      {"POST", "/api/v1/users/{name}/reset-mfa", admin, "New TOTP secret and recovery codes", &I::ResetMfa, {}},
      {"POST", "/api/v1/users/{name}/role", admin, "Change an account's role {role}", &I::SetRole, {}},
      {"GET", "/api/v1/tokens", admin, "API tokens", &I::Tokens, {}},
      {"POST", "/api/v1/tokens", admin, "Create an API token {label, role, expires_at}; answers it once", &I::CreateToken, {}},
      {"DELETE", "/api/v1/tokens/{id}", admin, "Revoke an API token", &I::RevokeToken, {}},
  };
  for (Route& r : impl_->routes) r.parts = SplitPath(r.path);
}

AdminApi::~AdminApi() = default;

ApiResponse AdminApi::Handle(const ApiRequest& request) {
  ApiResponse r;
  if (request.body_too_large) {
    r = Error(413, "request body larger than " + std::to_string(kMaxBodyBytes) + " bytes");
  } else {
    try {
      r = impl_->Dispatch(request);
    } catch (const std::exception& e) {
      spdlog::error("admin API: {} {}: {}", request.method, request.target, e.what());
      r = Error(500, "internal error (logged by the gateway)");
    }
  }
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Content-Security-Policy", std::string(kCsp));
  bool cache_set = false;
  for (const auto& [k, v] : r.headers) cache_set = cache_set || k == "Cache-Control";
  if (!cache_set) r.headers.emplace_back("Cache-Control", "no-store");
  if (request.tls) r.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  return r;
}

std::vector<RouteInfo> AdminApi::Routes() const {
  std::vector<RouteInfo> out;
  for (const Route& r : impl_->routes) out.push_back({std::string(r.method), std::string(r.path), r.role, std::string(r.summary)});
  return out;
}

void AdminApi::PumpAudit() { impl_->PumpAudit(); }

}  // namespace vg::admin
