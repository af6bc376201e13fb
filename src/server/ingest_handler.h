// The ingestion endpoint's logic, independent of the HTTP transport: decode a Mixpanel SDK request,
// apply every vendor's policy, hand each vendor its copy, and build the answer Mixpanel would give.
//
// Thread-safety: Handle may be called concurrently from any number of threads; the vendors, policies and
// pseudonymizers it holds are immutable and shared, and each thread uses its own JSON parser.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "crypto/pseudonymizer.h"
#include "delivery/delivery.h"
#include "net/ip_address.h"
#include "policy/vendor_policy.h"

namespace vg {

class GeoLocator;

// One configured vendor as the data path sees it.
struct VendorRuntime {
  VendorConfig config;
  std::shared_ptr<const CompiledPolicy> policy;
  std::unique_ptr<Pseudonymizer> pseudonymizer;
  SpoolVendorId id = 0;  // its index in the config, the spool and the delivery service
};

struct HttpRequestView {
  std::string_view method;
  std::string_view target;
  std::string_view content_type;
  std::string_view content_encoding;
  std::string_view origin;                         // Origin header, for CORS
  std::string_view access_control_request_headers;  // for CORS preflight
  std::string_view x_forwarded_for;
  std::string_view x_real_ip;
  std::string_view body;
  IpAddress peer;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The operational endpoints answered beside ingestion.
struct OpsEndpoints {
  std::function<std::string()> metrics;  // Prometheus text for /metrics (peers in metrics_allow only)
  std::function<bool()> ready;           // /readyz: 200 when true, else 503
};

class IngestHandler {
 public:
  IngestHandler(const Config& config, std::vector<VendorRuntime>* vendors, const GeoLocator* geo,
                EventSubmitter* delivery, OpsEndpoints ops = {});

  // Answers `request` through `done`, exactly once: at once for anything not carrying events, and for
  // events once they are durable in the spool (or refused: 503 with Retry-After when it is full). `done`
  // may run on another thread (the spool's writer); `request`'s views must stay valid until it ran.
  void Handle(const HttpRequestView& request, std::function<void(HttpResponse)> done) const;

  // A request whose body exceeded the limit before it was read whole (the transport stops reading).
  HttpResponse TooLarge(const HttpRequestView& request) const;

 private:
  HttpResponse HandleNow(const HttpRequestView& req, std::function<void(HttpResponse)>& done) const;
  HttpResponse Answer(const HttpRequestView& req, bool verbose, bool img, const std::string& callback, int status,
                      std::string_view error) const;
  void AddCors(const HttpRequestView& req, HttpResponse* resp) const;
  // A JSON answer the gateway gives itself, without asking the vendor.
  HttpResponse LocalJson(const HttpRequestView& req, std::string_view body) const;

  const Config& config_;
  std::vector<VendorRuntime>* vendors_;
  const GeoLocator* geo_;
  EventSubmitter* delivery_;
  OpsEndpoints ops_;
  std::vector<Cidr> trusted_proxies_;
  std::vector<Cidr> metrics_allow_;
};

}  // namespace vg
