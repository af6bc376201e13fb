// The embedded default config: what `vendorguard` runs with when given no file, and the text users copy
// to start their own. Shadow mode (no endpoint, so nothing leaves) with the strict default policy.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"

#ifndef VG_DEFAULT_GEOIP_DB
#error "VG_DEFAULT_GEOIP_DB must be defined by the build (see the top-level CMakeLists.txt)"
#endif

namespace vg {
namespace {

// The path is written in a single-quoted YAML scalar, where only a quote would need escaping.
static_assert(std::string_view(VG_DEFAULT_GEOIP_DB).find('\'') == std::string_view::npos,
              "VG_DEFAULT_GEOIP_DB must not contain a single quote");

// The YAML comes in three parts so that DefaultConfig() can leave out the geoip_db line when the
// database is not installed; DefaultConfigYaml() always shows all three.
constexpr std::string_view kBeforeGeoipDb = R"yaml(# vendorguard configuration.
#
# vendorguard sits between your site's analytics SDKs and the vendors behind them. For each vendor it
# decides what may leave (the policy) and sends it (or, without an endpoint, only writes down what it
# would have sent). Every key is optional except `vendors`. Unknown keys are errors, so a typo cannot
# quietly loosen a policy. Check a file with `vendorguard check-config FILE`.

# Address to listen on, HOST:PORT. HOST is an IPv4 address, an IPv6 address in brackets ([::1]:8080),
# or localhost. Port 0 picks a free port.
listen: 127.0.0.1:8080

# Directory where vendorguard keeps its state: the pseudonym keys (keys/pseudonym.keys) and the
# outbox files (outbox/). A relative path is relative to the working directory.
data_dir: ./vendorguard-data

# Reverse proxies in front of the gateway, as CIDRs (10.0.0.0/8, 2001:db8::/32; a bare address is one
# host). Only requests from these may name the client in X-Forwarded-For or X-Real-IP; from anyone
# else those headers are ignored. Leave empty when clients connect directly.
trusted_proxies: []

# Country (or city) database in MaxMind mmdb format. The gateway looks up the client's location itself,
# so a vendor can get a country without ever seeing the IP address. The file must exist; without this
# key no location is added to events.
)yaml";

constexpr std::string_view kGeoipDbLine = "geoip_db: '" VG_DEFAULT_GEOIP_DB "'\n";

constexpr std::string_view kAfterGeoipDb = R"yaml(
# Request bodies larger than this many bytes are refused with 413, before and after decompression.
max_body_bytes: 1048576

# Deepest JSON nesting accepted in a request, 2 to 1024. Deeper requests are refused.
max_json_depth: 32

# Worker threads; 0 means one per CPU core.
threads: 0

# The disclosure ledger (DATA_DIR/ledger): the gateway's own record of what each vendor received about
# whom. retention_days is how long the gateway keeps those records: the running gateway drops whole
# sealed segments (one UTC day each) whose records are all older, checking every
# retention_check_interval seconds (default 3600). Absent: the records are kept forever. This is not a
# vendor's `retention_days` (in its `vendors` entry), which declares how long the vendor keeps what it
# received.
# ledger:
#   retention_days: 730
#   retention_check_interval: 3600

# Where events go. Each vendor gets its own copy of every event, filtered by its own policy.
vendors:
  # Unique name: 1 to 64 characters of a-z, 0-9, '_' and '-'. Names the vendor in logs and files.
  - name: mixpanel
    # Wire format of the vendor. Supported: mixpanel.
    kind: mixpanel

    # Base URL to send to, http:// or https://. Without an endpoint the vendor is in shadow mode:
    # events are filtered exactly as if sent, and what the vendor would receive is appended to
    # DATA_DIR/outbox/NAME.jsonl; nothing leaves the machine.
    # endpoint: https://api.mixpanel.com      # or https://api-eu.mixpanel.com for EU data residency

    # Mixpanel API: track (the default, authenticated by the project token) or import (needs
    # api_secret_env).
    # api: track

    # Project token to set on every event, replacing whatever token the SDK sent.
    # token: YOUR_PROJECT_TOKEN

    # Name of the environment variable that holds the /import API secret. The secret itself never
    # goes in this file.
    # api_secret_env: MIXPANEL_API_SECRET

    # Epoch of the key used for pseudonyms (a positive integer). Unset means the key file's current
    # epoch; pin it to keep pseudonyms stable across a key rotation.
    # key_epoch: 1

    # Compress request bodies sent to the vendor with gzip (true or false; default true).
    # gzip: true

    # After new events wake an idle sender, it waits this many milliseconds (0 to 1000; default 10)
    # so that one request to the vendor, one ledger write and one cursor sync carry all that arrived
    # meanwhile. Delays delivery by up to this much; clients get their answer as soon as their events
    # are on disk either way.
    # linger_ms: 10

    # The most events (1 to 2000; default 2000) and bytes of uncompressed JSON (1024 to 10000000, with
    # KiB or MiB allowed; default 2000000) one request to the vendor carries. Mixpanel accepts up to
    # 2000 events and 10 MB per request; an event larger than the byte limit goes alone.
    # batch_max_events: 2000
    # batch_max_bytes: 2000000

    # Keep-alive connections to the vendor (1 to 16; default 4), each with one request in flight, so
    # a distant vendor is not limited to one batch per round trip. /track and /import batches may
    # then arrive out of order (every event carries its time); /engage and /groups profile updates,
    # whose order matters, are still sent one batch at a time.
    # connections: 4

    # TLS to an https:// endpoint is verified against the system's CA store. A PEM file of CA
    # certificates here is trusted instead (a private CA, a TLS-inspecting egress proxy).
    # tls_ca_file: /etc/vendorguard/vendor-ca.pem

    # What this vendor may receive. Without a `policy` key the strict default applies, which is
    # exactly the policy below. Lists are property-name globs where `*` matches any run of characters
    # and `?` one character. With a `policy` key, a list left out is empty, except `pseudonymize` and
    # `url_properties`, which keep the values shown.
    # policy:
    #   # Properties that may leave; every other property is dropped.
    #   allow: [distinct_id, $distinct_id, $user_id, $device_id, $insert_id, time, $time, token, $token,
    #           $browser, $os, mp_country_code, $group_key, $group_id]
    #   # Properties always dropped, even when `allow` matches them.
    #   drop: []
    #   # Properties whose values are replaced by keyed pseudonyms (stable per user, not reversible
    #   # by the vendor).
    #   pseudonymize: [distinct_id, $distinct_id, $user_id, $device_id, $group_id]
    #   # Properties that hold URLs or referrers, to which `urls` applies.
    #   url_properties: [$current_url, $referrer, $initial_referrer, url, referrer, "*_url"]
    #   # The client's IP address: drop (never sent) or truncate (IPv4 /24, IPv6 /48, sent as `ip`).
    #   ip: drop
    #   # Location computed by the gateway from the IP: none, country (mp_country_code) or region
    #   # (country and $region). Needs geoip_db.
    #   location: country
    #   # URLs: origin (scheme://host[:port] only; no path, query or fragment) or keep.
    #   urls: origin
    #   # User-agent style properties ($browser, $os, ...): family (browser and OS family only) or keep.
    #   user_agent: family
)yaml";

// True when the default geoip database is installed (a readable regular file).
bool DefaultGeoipDbExists() {
  const int fd = open(VG_DEFAULT_GEOIP_DB, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  close(fd);
  return regular;
}

}  // namespace

std::string_view DefaultConfigYaml() {
  // Built once; never destroyed, so the view stays valid through static destruction.
  static const std::string* const kYaml =
      new std::string(std::string(kBeforeGeoipDb) + std::string(kGeoipDbLine) + std::string(kAfterGeoipDb));
  return *kYaml;
}

Config DefaultConfig() {
  // Without the database the default config still has to load: leave geoip_db unset (no location).
  const std::string yaml = DefaultGeoipDbExists() ? std::string(DefaultConfigYaml())
                                                  : std::string(kBeforeGeoipDb) + std::string(kAfterGeoipDb);
  StatusOr<Config> config = ParseConfig(yaml, "<default>");
  if (!config.ok()) {
    // A bug in the embedded text, caught by config_test; checked in release builds too.
    std::fprintf(stderr, "vendorguard: embedded default config is invalid: %s\n",
                 config.status().message().c_str());
    std::abort();
  }
  return std::move(config).value();
}

}  // namespace vg
