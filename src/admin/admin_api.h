// The admin API (issue #7): a JSON API under /api/v1/ for everything an operator does on a running
// gateway, the web console's static files, and the rules every request goes through. Transport-free: the
// HTTP(S) listener (admin_http.h) turns requests into ApiRequest and writes ApiResponse back, so tests call
// Handle() directly.
//
// Every route declares the role it needs (Routes() lists them all; GET /api/v1/openapi.json serves them
// as an OpenAPI 3.1 document). A request is authenticated by the session cookie `vg_session` (from POST
// /api/v1/login: password AND a TOTP code) or by `Authorization: Bearer vgt_...` (an API token). Then:
//   - no or a bad credential: 401; a role below the route's: 403;
//   - a state change (any method but GET) made with a session must carry `X-CSRF-Token` equal to the
//     session's token (403 otherwise); an `Origin` header, when present, must be this listener's own
//     (403 otherwise); bodies must be `application/json` (415) and at most kMaxBodyBytes (413);
//   - errors are {"error": "..."} with a 4xx status, never a 500 for bad input.
// Sign-ins, failed sign-ins, sign-outs and account changes go to the account store's audit outbox, which
// PumpAudit() copies into the tamper-evident ledger (the store is shared with the `vendorguard admin` CLI,
// which cannot write to the ledger while the gateway holds it). Vendor state changes are recorded by
// Delivery, with the account as the actor.
//
// Thread-safety: Handle and PumpAudit may be called from any thread concurrently. The dependencies must
// outlive the AdminApi.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/roles.h"

namespace vg {
struct Config;
class Delivery;
class DisclosureLedger;
class GeoLocator;
class PiiScanner;
struct VendorRuntime;
namespace auth {
class AccountStore;
}

namespace admin {

inline constexpr size_t kMaxBodyBytes = 1 << 20;
inline constexpr std::string_view kSessionCookie = "vg_session";

struct ApiRequest {
  std::string_view method;
  std::string_view target;  // path and query
  std::string_view body;
  std::string_view content_type;
  std::string_view cookie;         // the Cookie header
  std::string_view authorization;  // the Authorization header
  std::string_view csrf_token;     // the X-CSRF-Token header
  std::string_view origin;         // the Origin header ("" when absent)
  std::string_view host;           // the Host header
  std::string source;              // the client's address, e.g. "127.0.0.1"
  bool tls = false;
  bool body_too_large = false;     // the transport stopped reading at kMaxBodyBytes
};

struct ApiResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie, Retry-After, Allow, ...
};

struct RouteInfo {
  std::string method;
  std::string path;                // with {name} for a path parameter
  std::optional<auth::Role> role;  // nullopt: public (the console's files, login, the OpenAPI document)
  std::string summary;
};

// Per-second flow samples of every vendor (accepted and delivered events), for the console's live chart.
class FlowHistory {
 public:
  explicit FlowHistory(size_t seconds = 600);
  ~FlowHistory();
  // Takes a sample from the counters (called once a second by the gateway; any thread).
  void Sample(int64_t unix_s, const std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>>& counters);
  // {"interval_s":1,"vendors":[{"name","t":[...],"accepted":[...],"delivered":[...]}]} for the last `seconds`.
  std::string Json(size_t seconds) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct AdminApiDeps {
  const Config* config = nullptr;
  Delivery* delivery = nullptr;
  auth::AccountStore* accounts = nullptr;
  DisclosureLedger* ledger = nullptr;                   // null: ledger routes answer 503
  const std::vector<VendorRuntime>* vendors = nullptr;  // for the policy playground
  const GeoLocator* geo = nullptr;
  std::shared_ptr<const PiiScanner> scanner;
  FlowHistory* flows = nullptr;
  std::function<int64_t()> now_us;  // default: system clock
};

class AdminApi {
 public:
  explicit AdminApi(AdminApiDeps deps);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  ApiResponse Handle(const ApiRequest& request);
  std::vector<RouteInfo> Routes() const;
  // Copies pending audit entries from the account store into the ledger (and marks them recorded).
  void PumpAudit();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace admin
}  // namespace vg
