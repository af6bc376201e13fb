// `explain`: what a vendor would receive for given events, which rule did what, and which data categories
// leave. The same function serves the CLI and (later) the admin API's policy playground.
// Thread-safety: stateless.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "config/config.h"
#include "crypto/pseudonymizer.h"
#include "net/ip_address.h"

namespace vg {

class GeoLocator;
class PiiScanner;

struct ExplainOptions {
  std::optional<IpAddress> client_ip;  // the request's address, as the gateway would see it
  bool geolocate_request_ip = true;    // the SDK's ip=1 (the browser SDK's default)
  bool json = false;                   // JSON instead of text
  std::shared_ptr<const PiiScanner> scanner;  // searches allowed values for personal data (null: no search)
};

// `events_json` is a Mixpanel payload: a track event ({"event":..., "properties":...}), a profile or
// group update, or an array of them (each element's kind is detected from its keys). Errors: unknown
// vendor, invalid JSON (InvalidArgument with the reason).
[[nodiscard]] StatusOr<std::string> Explain(const Config& config, std::string_view vendor, std::string_view events_json,
                                            const Pseudonymizer& pseudonymizer, const GeoLocator* geo,
                                            const ExplainOptions& options);

}  // namespace vg
