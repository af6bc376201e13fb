// A vendor's policy, compiled once at start into a fast, immutable form and applied to every event.
//
// Apply() writes the vendor's copy of an event in Mixpanel's JSON format, in one pass over its properties:
// each property is dropped, kept, pseudonymized or generalized by exactly one named rule, and location is
// computed locally from the client IP. Rule names (the contract for `explain` and tests):
//   control        transport fields the vendor needs (project token, $ignore_time)
//   vendor-token   the vendor's configured project token replaced the SDK's
//   drop           the property matched the policy's `drop` list
//   contact-fields email, name and phone kin are dropped unless allowed by their exact name
//   allow-list     the property is not in the allow-list (dropped)
//   ip             the client address: dropped, or truncated to /24 or /48
//   location       coarse location added from the client IP (never the IP itself)
//   pseudonymize   the value was replaced by a keyed, per-vendor pseudonym
//   url-origin     a URL or referrer was cut to its origin (or dropped when it was not a URL)
//   user-agent     a browser, OS or user agent was cut to its family
//   empty-update   a profile update had nothing left to send and was dropped whole
//   pii-redact     personal data found inside an allowed value was replaced by [EMAIL], [PHONE], ...
//   pii-drop       an allowed property was dropped because of what it held
//   pii-block      nothing of the event was sent because of what one of its values held
//   pii-allow      personal data found inside a value left by the policy's choice
// Thread-safety: a CompiledPolicy is immutable and shared by all workers (std::shared_ptr<const>).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "crypto/pseudonymizer.h"
#include "event/event.h"
#include "net/ip_address.h"
#include "policy/categories.h"
#include "policy/glob.h"

namespace vg {

class GeoLocator;
struct GeoLocation;
class PiiScanner;

// What the gateway knows about the request an event came in, shared by all its events.
class RequestContext {
 public:
  RequestContext(std::optional<IpAddress> client_ip, bool geolocate_request_ip, const GeoLocator* geo)
      : client_ip_(client_ip), geolocate_request_ip_(geolocate_request_ip), geo_(geo) {}

  const std::optional<IpAddress>& client_ip() const { return client_ip_; }
  bool geolocate_request_ip() const { return geolocate_request_ip_; }
  // Country and region of `ip`, looked up once per request for the request's own address.
  const GeoLocation* Locate(const IpAddress& ip) const;

 private:
  std::optional<IpAddress> client_ip_;
  bool geolocate_request_ip_;
  const GeoLocator* geo_;
  mutable std::shared_ptr<GeoLocation> cached_;  // for client_ip_
  mutable std::shared_ptr<GeoLocation> scratch_;
};

// One decision of a rule, recorded only when explaining.
struct RuleAction {
  std::string rule;      // one of the rule names above
  std::string property;  // e.g. "properties.$email", "$set.$name", "properties" for added fields
  std::string action;    // e.g. "dropped", "pseudonymized", "cut to origin", "added mp_country_code=US"
};

struct ApplyResult {
  bool send = false;            // false when nothing is left to send (e.g. an empty profile update)
  CategorySet categories = 0;   // the categories that leave with this event
};

class CompiledPolicy {
 public:
  // Compiles a vendor's policy. `token` is the vendor's configured project token (optional). With a
  // `scanner`, the values the policy lets through are searched for personal data and treated as the
  // policy's `pii` actions say; without one they pass as they are.
  static std::shared_ptr<const CompiledPolicy> Compile(const PolicyConfig& config, std::optional<std::string> token,
                                                       std::shared_ptr<const PiiScanner> scanner = nullptr);

  // Appends the vendor's copy of `event` (one JSON object) to `out`; when nothing is left to send,
  // `out` is unchanged and result.send is false. `trace`, when not null, receives every rule decision.
  ApplyResult Apply(const Event& event, const RequestContext& ctx, const Pseudonymizer& pseudonymizer,
                    std::string* out, std::vector<RuleAction>* trace) const;

  const PolicyConfig& config() const { return config_; }

  // How many property names this thread has decided from the rules rather than from its cache of
  // decisions (for tests: a name seen before is answered from the cache).
  static uint64_t UncachedDecisionsOnThisThread();

 private:
  struct Writer;
  CompiledPolicy(const PolicyConfig& config, std::optional<std::string> token,
                 std::shared_ptr<const PiiScanner> scanner);

  // What happens to a property, decided from its name alone.
  enum class KeyAction { kToken, kControl, kIp, kDrop, kPseudonymize, kUrlOrigin, kUserAgentVersion, kBrowser, kOs, kUserAgent, kKeep };
  struct KeyDecision {
    KeyAction action;
    const char* rule;       // the rule that decides (for kDrop: drop, contact-fields or allow-list)
    CategorySet category;   // for kKeep: the category of the property
  };
  KeyDecision DecideUncached(std::string_view key) const;
  KeyDecision Decide(std::string_view key) const;

  uint64_t id_ = 0;  // tells per-thread decision caches apart; unique per compiled policy

  PolicyConfig config_;
  std::optional<std::string> token_;
  GlobSet allow_, drop_, pseudonymize_, url_properties_;
  std::shared_ptr<const PiiScanner> scanner_;
};

}  // namespace vg
