// The gateway's configuration: what a YAML config file says, validated and typed.
//
// LoadConfig/ParseConfig check every key and type; an error names the file, line and column
// (`FILE:LINE:COL: reason`, 1-based), so `check-config` and `serve` report the same thing.
// Unknown keys are errors (a typo in a privacy policy must not silently mean "allow").
// Thread-safety: a Config is an immutable value once loaded.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pii/pii_types.h"

namespace vg {

enum class VendorKind { kMixpanel };

// What the vendor may learn about the client's network address.
enum class IpRule {
  kDrop,      // nothing (default)
  kTruncate,  // IPv4 /24, IPv6 /48, sent as the event's `ip` property
};

// Location the gateway computes locally from the client IP and adds to the event.
enum class LocationRule {
  kNone,
  kCountry,  // default: `mp_country_code`
  kRegion,   // country and, where the database knows it, `$region`
};

// What happens to URL and referrer properties that the allow-list lets through.
enum class UrlRule {
  kOrigin,  // scheme://host[:port] only (default)
  kKeep,
};

// What happens to user-agent style properties ($browser, $os, user_agent...) that are allowed.
enum class UserAgentRule {
  kFamily,  // browser and OS family only (default)
  kKeep,
};

// What happens to personal data the PII engine finds inside a value that the policy lets through.
enum class PiiAction {
  kRedact,        // replace each finding with a placeholder such as [EMAIL] (default)
  kDropProperty,  // drop the property that holds it
  kBlockEvent,    // send nothing of the event to this vendor
  kAllow,         // let it through (and count its category as disclosed)
};

// One vendor's policy as written in the config (globs uncompiled). Absent lists take the strict defaults.
struct PolicyConfig {
  std::vector<std::string> allow;         // property globs that may leave; everything else is dropped
  std::vector<std::string> drop;          // globs always dropped, even if allowed
  std::vector<std::string> pseudonymize;  // globs whose values are replaced by keyed pseudonyms
  std::vector<std::string> url_properties;  // globs of properties that hold URLs or referrers
  IpRule ip = IpRule::kDrop;
  LocationRule location = LocationRule::kCountry;
  UrlRule urls = UrlRule::kOrigin;
  UserAgentRule user_agent = UserAgentRule::kFamily;
  // Per PII type (indexed by PiiType), what to do with a finding inside an allowed value.
  std::array<PiiAction, kPiiTypeCount> pii = DefaultPiiActions();
  bool is_default = true;

  static constexpr std::array<PiiAction, kPiiTypeCount> DefaultPiiActions() {
    std::array<PiiAction, kPiiTypeCount> a{};
    a.fill(PiiAction::kRedact);
    return a;
  }  // true when the vendor named no policy (the strict default)
};

// How a live vendor is sent to. Absent `endpoint` means shadow mode.
struct VendorConfig {
  std::string name;
  VendorKind kind = VendorKind::kMixpanel;
  std::optional<std::string> endpoint;  // base URL, e.g. https://api.mixpanel.com
  std::string api = "track";            // mixpanel: "track" or "import"
  std::optional<std::string> token;     // project token to set on every event (overrides the SDK's)
  std::optional<std::string> api_secret_env;  // env var holding the /import secret (never in the file)
  std::optional<uint32_t> key_epoch;    // pseudonym key epoch; absent = the key file's current epoch
  bool gzip = true;                     // gzip request bodies to the vendor
  // After an idle sender is woken by new events, it waits this long before reading them, so one vendor
  // request (and one ledger write and cursor sync) carries what arrived meanwhile instead of one client
  // request's worth. Delays delivery to the vendor by up to this much; never the client's answer.
  uint32_t linger_ms = 10;
  // The most events, and bytes of uncompressed JSON body, one request to the vendor carries. Mixpanel
  // takes up to 2,000 events and 10 MB per request on /track, /import, /engage and /groups; the byte
  // default stays at the 2 MB its older documentation gave. Fewer, larger requests cost the gateway and
  // the vendor less per event; smaller ones lose less time to a retry.
  uint32_t batch_max_events = 2000;
  uint64_t batch_max_bytes = 2'000'000;
  // Keep-alive connections to the vendor, each with one request in flight: with one, a distant vendor
  // gets at most one batch per round trip. Batches of /track and /import may arrive out of order (each
  // event carries its time); /engage and /groups batches, whose order matters, go one at a time.
  // Shadow mode writes one file and uses one.
  uint32_t connections = 4;
  // PEM CA certificates that the endpoint's TLS certificate must chain to, instead of the system's CA
  // store (a vendor's private CA, a TLS-inspecting egress proxy). Needs an https:// endpoint.
  std::optional<std::string> tls_ca_file;
  PolicyConfig policy;
  // What the company declares about this disclosure (GDPR Art. 30 records, Art. 15(1)(c) answers): kept
  // with every ledger record about the vendor. Empty = not declared.
  std::string purpose;                  // e.g. "product analytics"
  std::string legal_basis;              // consent | contract | legal_obligation | vital_interests |
                                        // public_task | legitimate_interests
  std::string destination_country;      // ISO 3166-1 alpha-2 of where the vendor processes the data, e.g. US
  std::optional<uint32_t> retention_days;  // how long the vendor keeps what it receives; absent = unlimited
};

struct Config {
  std::string source;            // file name, or "<default>" for the embedded config
  std::string listen_host = "127.0.0.1";  // IPv4, IPv6 (without brackets) or "localhost"
  uint16_t listen_port = 8080;
  std::string data_dir = "./vendorguard-data";
  std::vector<std::string> trusted_proxies;  // CIDRs, validated
  std::optional<std::string> geoip_db;       // path to an mmdb file (country or city)
  size_t max_body_bytes = 1 << 20;           // request bodies above this get 413 (after decompression too)
  int max_json_depth = 32;
  int threads = 0;                           // 0 = hardware concurrency
  std::vector<VendorConfig> vendors;         // required, non-empty; names are unique

  // The durable spool every accepted event is written to before the client gets its 2xx.
  std::string spool_fsync = "always";          // always (survives power loss) | interval | never
  uint64_t spool_quota_bytes = 1ull << 30;     // full: ingestion answers 503 with Retry-After
  uint64_t spool_segment_bytes = 64ull << 20;
  // The admin endpoint (vendor list|pause|resume|cut): a Unix socket only the gateway's user may open.
  std::string admin_socket;                    // "" = <data_dir>/admin.sock
  // The admin API and web console over HTTP(S) (issue #7): accounts with mandatory TOTP, roles, audit.
  // `admin: listen: off` turns it off. A non-loopback address needs TLS (or allow_insecure_remote).
  struct AdminHttp {
    bool enabled = true;
    std::string host = "127.0.0.1";
    uint16_t port = 8081;
    std::string tls_cert;  // PEM certificate chain; with tls_key, the listener speaks only TLS
    std::string tls_key;   // PEM private key
    bool allow_insecure_remote = false;
    uint32_t session_idle_minutes = 30;  // a session unused this long ends
    uint32_t session_max_hours = 12;     // and every session ends this long after login
    bool tls() const { return !tls_cert.empty(); }
    // 127.0.0.0/8, ::1 or localhost.
    bool IsLoopback() const { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }
  } admin_http;
  // The disclosure ledger (<data_dir>/ledger). Not to be confused with a vendor's `retention_days`, which
  // declares how long the vendor keeps what it received (used by breach assessment): this is how long the
  // gateway keeps its own records of disclosures. Sealed segments (one UTC day each) whose records are all
  // older than this are dropped by the running gateway, checked every ledger_retention_check_interval_s.
  std::optional<uint32_t> ledger_retention_days;    // absent = keep the records forever
  uint32_t ledger_retention_check_interval_s = 3600;
  // Who may read /metrics on the ingest listener.
  std::vector<std::string> metrics_allow = {"127.0.0.0/8", "::1/128"};

  // Who the company is, for incident reports and breach notices (issue #6).
  struct Organization {
    std::string name = "Example Inc.";          // as it signs its notices
    std::string contact = "privacy@example.com";  // the contact point a regulator and the people notified get
    std::string domain = "example.com";         // the company's own domain: notices link only under it
    // Where a notice can be checked; "{id}" is replaced by the notice id. Must be https on `domain` or a
    // subdomain of it. Default: https://<domain>/notices/{id}.
    std::string notice_url;
    std::string NoticeUrl(std::string_view id) const;
  } organization;

  std::string AdminSocketPath() const { return admin_socket.empty() ? data_dir + "/admin.sock" : admin_socket; }
};

// The YAML of the embedded default config (shadow mode, one `mixpanel` vendor, strict policy).
std::string_view DefaultConfigYaml();

// Parses and validates YAML text. `source` names it in error messages.
[[nodiscard]] StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view source);

// Reads and parses a file; a missing or unreadable file is an error naming it.
[[nodiscard]] StatusOr<Config> LoadConfig(const std::string& path);

// The embedded default config, parsed.
Config DefaultConfig();

std::string_view ToString(IpRule r);
std::string_view ToString(LocationRule r);
std::string_view ToString(UrlRule r);
std::string_view ToString(UserAgentRule r);
std::string_view ToString(PiiAction a);

}  // namespace vg
