// Parsing and validation of the YAML config. yaml-cpp throws; its exceptions are caught here, at the
// boundary, and every error (syntax or validation) becomes a Status `SOURCE:LINE:COL: reason`.

#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <span>
#include <system_error>
#include <utility>

namespace vg {
namespace {

// The strict default policy: what a vendor that names no `policy:` may receive. Identifiers, time,
// the project token, and coarse client facts (browser and OS family, country); nothing else.
constexpr std::string_view kStrictAllow[] = {
    "distinct_id", "$distinct_id", "$user_id", "$device_id", "$insert_id",  // identifiers
    "time", "$time",                                                         // when
    "token", "$token",                                                       // which project
    "$browser", "$os", "mp_country_code",                                    // coarse client facts
    "$group_key", "$group_id",                                               // group analytics
};

// Identifier properties replaced by keyed pseudonyms, unless a policy lists its own `pseudonymize`.
constexpr std::string_view kDefaultPseudonymize[] = {"distinct_id", "$distinct_id", "$user_id", "$device_id", "$group_id"};

// Properties that hold URLs or referrers, unless a policy lists its own `url_properties`.
constexpr std::string_view kDefaultUrlProperties[] = {
    "$current_url", "$referrer", "$initial_referrer", "url", "referrer", "*_url",
};

template <size_t N>
std::vector<std::string> ToVector(const std::string_view (&list)[N]) {
  return std::vector<std::string>(std::begin(list), std::end(list));
}

constexpr std::string_view kTopKeys[] = {
    "listen", "data_dir", "trusted_proxies", "geoip_db", "max_body_bytes", "max_json_depth", "threads", "vendors",
    "spool", "admin", "metrics_allow", "organization", "ledger",
};
constexpr std::string_view kOrganizationKeys[] = {"name", "contact", "domain", "notice_url"};
constexpr std::string_view kSpoolKeys[] = {"fsync", "quota", "segment_size"};
constexpr std::string_view kAdminKeys[] = {"socket", "listen", "tls_cert", "tls_key", "allow_insecure_remote",
                                           "session_idle_minutes", "session_max_hours"};
constexpr std::string_view kLedgerKeys[] = {"retention_days", "retention_check_interval"};
constexpr std::string_view kVendorKeys[] = {
    "name", "kind", "endpoint", "api", "token", "api_secret_env", "key_epoch", "gzip", "linger_ms",
    "batch_max_events", "batch_max_bytes", "connections", "tls_ca_file", "policy", "purpose", "legal_basis",
    "destination_country", "retention_days",
};
// GDPR Art. 6(1)'s lawful bases.
constexpr std::string_view kLegalBases[] = {"consent", "contract", "legal_obligation", "vital_interests",
                                            "public_task", "legitimate_interests"};
constexpr std::string_view kPolicyKeys[] = {
    "allow", "drop", "pseudonymize", "url_properties", "ip", "location", "urls", "user_agent", "pii",
};

template <typename E>
struct EnumSpelling {
  std::string_view name;
  E value;
};

constexpr EnumSpelling<PiiAction> kPiiActions[] = {{"redact", PiiAction::kRedact},
                                                   {"drop-property", PiiAction::kDropProperty},
                                                   {"block-event", PiiAction::kBlockEvent},
                                                   {"allow", PiiAction::kAllow}};
constexpr EnumSpelling<IpRule> kIpRules[] = {{"drop", IpRule::kDrop}, {"truncate", IpRule::kTruncate}};
constexpr EnumSpelling<LocationRule> kLocationRules[] = {
    {"none", LocationRule::kNone}, {"country", LocationRule::kCountry}, {"region", LocationRule::kRegion}};
constexpr EnumSpelling<UrlRule> kUrlRules[] = {{"origin", UrlRule::kOrigin}, {"keep", UrlRule::kKeep}};
constexpr EnumSpelling<UserAgentRule> kUserAgentRules[] = {{"family", UserAgentRule::kFamily},
                                                           {"keep", UserAgentRule::kKeep}};

template <typename E, size_t N>
std::string_view SpellingOf(const EnumSpelling<E> (&table)[N], E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

// Edit distance, for "did you mean" on unknown keys. Keys are short, so the quadratic table is fine.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool IsIpv4(const std::string& text) {
  in_addr addr;
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool IsIpv6(const std::string& text) {
  in6_addr addr;
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses a plain decimal number (no sign, no base prefix) into `out`.
template <typename T>
bool ParseDecimal(std::string_view s, T* out) {
  if (!IsDigits(s)) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "10.0.0.0/8", "2001:db8::/32", or a bare address (one host).
bool IsCidr(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  int max_prefix;
  if (IsIpv4(address)) {
    max_prefix = 32;
  } else if (IsIpv6(address)) {
    max_prefix = 128;
  } else {
    return false;
  }
  if (slash == std::string_view::npos) return true;
  const std::string_view prefix_text = text.substr(slash + 1);
  int prefix;
  return prefix_text.size() <= 3 && ParseDecimal(prefix_text, &prefix) && prefix <= max_prefix;
}

// Empty when `path` names a readable regular file, else why not.
std::string CheckReadableFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::error_code(errno, std::generic_category()).message();
  struct stat st;
  std::string problem;
  if (fstat(fd, &st) != 0) {
    problem = std::error_code(errno, std::generic_category()).message();
  } else if (!S_ISREG(st.st_mode)) {
    problem = "not a regular file";
  }
  close(fd);
  return problem;
}

// Empty when `path` is a readable file of at most 1 MiB holding at least one PEM certificate, else why not.
std::string CheckCaFile(const std::string& path) {
  if (std::string problem = CheckReadableFile(path); !problem.empty()) return problem;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::error_code(errno, std::generic_category()).message();
  std::string text(1 << 20, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  const bool more = std::fgetc(f) != EOF;
  std::fclose(f);
  if (more) return "larger than 1 MiB";
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return "no PEM certificate in it (a '-----BEGIN CERTIFICATE-----' block)";
  }
  return "";
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// One key/value pair of a mapping, with the key's node kept for its position.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// Walks one YAML document into a Config. Holds the source name so every error can carry a position.
class ConfigParser {
 public:
  explicit ConfigParser(std::string_view source) : source_(source) {}

  StatusOr<Config> Parse(const YAML::Node& root) {
    if (!root.IsMap()) {
      return Error(root.Mark(), "the config must be a YAML mapping of keys to values");
    }
    std::vector<Entry> entries;
    if (Status s = Entries(root, &entries); !s.ok()) return s;

    Config config;
    config.source = std::string(source_);
    bool have_vendors = false;
    for (const Entry& e : entries) {
      Status s;
      if (e.key == "listen") {
        s = ParseListen(e, &config);
      } else if (e.key == "data_dir") {
        s = String(e, &config.data_dir);
      } else if (e.key == "trusted_proxies") {
        s = ParseTrustedProxies(e, &config.trusted_proxies);
      } else if (e.key == "geoip_db") {
        s = ParseGeoipDb(e, &config.geoip_db);
      } else if (e.key == "max_body_bytes") {
        uint64_t n;
        s = Integer(e, 1, SIZE_MAX, "a positive integer", &n);
        config.max_body_bytes = static_cast<size_t>(n);
      } else if (e.key == "max_json_depth") {
        uint64_t n;
        s = Integer(e, 2, 1024, "an integer from 2 to 1024", &n);
        config.max_json_depth = static_cast<int>(n);
      } else if (e.key == "threads") {
        uint64_t n;
        s = Integer(e, 0, 4096, "an integer from 0 to 4096", &n);
        config.threads = static_cast<int>(n);
      } else if (e.key == "vendors") {
        have_vendors = true;
        s = ParseVendors(e, &config.vendors);
      } else if (e.key == "spool") {
        s = ParseSpool(e, &config);
      } else if (e.key == "admin") {
        s = ParseAdmin(e, &config);
      } else if (e.key == "metrics_allow") {
        s = ParseCidrList(e, &config.metrics_allow);
      } else if (e.key == "organization") {
        s = ParseOrganization(e, &config.organization);
      } else if (e.key == "ledger") {
        s = ParseLedger(e, &config);
      } else {
        s = UnknownKey(e, "", kTopKeys);
      }
      if (!s.ok()) return s;
    }
    if (!have_vendors) return Error(root.Mark(), "missing required key 'vendors'");
    return config;
  }

  Status Error(const YAML::Mark& mark, std::string_view reason) const {
    // yaml-cpp marks are 0-based; editors and compilers count from 1.
    const int line = mark.is_null() ? 1 : mark.line + 1;
    const int column = mark.is_null() ? 1 : mark.column + 1;
    return Status::InvalidArgument(std::string(source_) + ":" + std::to_string(line) + ":" +
                                   std::to_string(column) + ": " + std::string(reason));
  }

 private:
  // Where a complaint about a value points. An empty value (`key:` and nothing) has no position of its
  // own: yaml-cpp reports the next token, usually on a later line, so point at the key instead.
  static YAML::Mark ValueMark(const Entry& e) {
    const YAML::Mark mark = e.value.Mark();
    if (mark.is_null() || (e.value.IsNull() && mark.line != e.key_node.Mark().line)) {
      return e.key_node.Mark();
    }
    return mark;
  }

  Status ValueError(const Entry& e, std::string_view reason) const { return Error(ValueMark(e), reason); }

  // The pairs of a mapping, in document order. Keys must be scalars and unique: yaml-cpp keeps both
  // copies of a repeated key, and which one wins would be an accident.
  Status Entries(const YAML::Node& map, std::vector<Entry>* out) const {
    // yaml-cpp's iterator yields pairs by value; copy the nodes (cheap handles) before using them.
    for (const auto& pair : map) {
      const YAML::Node key = pair.first;
      if (!key.IsScalar()) return Error(key.Mark(), "keys must be plain strings");
      for (const Entry& seen : *out) {
        if (seen.key == key.Scalar()) {
          return Error(key.Mark(), "duplicate key " + Quoted(key.Scalar()) + " (first at line " +
                                       std::to_string(seen.key_node.Mark().line + 1) + ")");
        }
      }
      out->push_back(Entry{key.Scalar(), key, pair.second});
    }
    return Status::Ok();
  }

  Status UnknownKey(const Entry& e, const std::string& where,
                    std::span<const std::string_view> known) const {
    std::string reason = "unknown key " + Quoted(e.key) + where;
    std::string_view best;
    size_t best_distance = 3;  // suggest only near misses: a typo, not a different word
    for (std::string_view candidate : known) {
      const size_t d = EditDistance(e.key, candidate);
      if (d < best_distance && d < e.key.size()) {
        best = candidate;
        best_distance = d;
      }
    }
    if (!best.empty()) reason += " (did you mean " + Quoted(best) + "?)";
    return Error(e.key_node.Mark(), reason);
  }

  // A non-empty scalar. Any plain or quoted scalar counts as a string (`token: 123` is the text "123").
  Status String(const Entry& e, std::string* out) const {
    if (!e.value.IsScalar() || e.value.Scalar().empty()) {
      return ValueError(e, Quoted(e.key) + " must be a non-empty string");
    }
    *out = e.value.Scalar();
    return Status::Ok();
  }

  Status OptionalString(const Entry& e, std::optional<std::string>* out) const {
    std::string value;
    if (Status s = String(e, &value); !s.ok()) return s;
    *out = std::move(value);
    return Status::Ok();
  }

  // A plain (unquoted) decimal integer in [min, max]; `expected` completes "'key' must be ...".
  Status Integer(const Entry& e, uint64_t min, uint64_t max, std::string_view expected, uint64_t* out) const {
    uint64_t n;
    if (!e.value.IsScalar() || e.value.Tag() != "?" || !ParseDecimal(e.value.Scalar(), &n) || n < min ||
        n > max) {
      return ValueError(e, Quoted(e.key) + " must be " + std::string(expected));
    }
    *out = n;
    return Status::Ok();
  }

  // YAML 1.2's booleans only: yaml-cpp would also take yes/no/on/off/y/n, which YAML 1.2 reads as text.
  Status Bool(const Entry& e, bool* out) const {
    static constexpr std::string_view kTrue[] = {"true", "True", "TRUE"};
    static constexpr std::string_view kFalse[] = {"false", "False", "FALSE"};
    if (e.value.IsScalar() && e.value.Tag() == "?") {
      const std::string& s = e.value.Scalar();
      if (std::find(std::begin(kTrue), std::end(kTrue), s) != std::end(kTrue)) {
        *out = true;
        return Status::Ok();
      }
      if (std::find(std::begin(kFalse), std::end(kFalse), s) != std::end(kFalse)) {
        *out = false;
        return Status::Ok();
      }
    }
    return ValueError(e, Quoted(e.key) + " must be true or false");
  }

  template <typename E, size_t N>
  Status Enum(const Entry& e, const EnumSpelling<E> (&table)[N], E* out) const {
    if (e.value.IsScalar()) {
      for (const auto& entry : table) {
        if (entry.name == e.value.Scalar()) {
          *out = entry.value;
          return Status::Ok();
        }
      }
    }
    std::string reason = Quoted(e.key) + " must be one of";
    for (size_t i = 0; i < N; ++i) reason += std::string(i == 0 ? " " : ", ") + std::string(table[i].name);
    if (e.value.IsScalar()) reason += " (got " + Quoted(e.value.Scalar()) + ")";
    return ValueError(e, reason);
  }

  // A list of non-empty strings. Each bad element is reported at its own position.
  Status StringList(const Entry& e, std::vector<std::string>* out) const {
    if (!e.value.IsSequence()) return ValueError(e, Quoted(e.key) + " must be a list of strings");
    out->clear();
    for (const YAML::Node& item : e.value) {
      if (!item.IsScalar()) return Error(item.Mark(), Quoted(e.key) + " must be a list of strings");
      if (item.Scalar().empty()) return Error(item.Mark(), Quoted(e.key) + " entries must not be empty");
      out->push_back(item.Scalar());
    }
    return Status::Ok();
  }

  // A list of property globs: only `*` and `?` are wildcards, so reject the syntax of richer glob
  // dialects rather than let `$utm_[a-z]*` silently match nothing.
  Status GlobList(const Entry& e, std::vector<std::string>* out) const {
    if (Status s = StringList(e, out); !s.ok()) return s;
    size_t i = 0;
    for (const YAML::Node& item : e.value) {
      const std::string& glob = (*out)[i++];
      const size_t bad = glob.find_first_of("[]{}\\");
      if (bad != std::string::npos) {
        return Error(item.Mark(), Quoted(e.key) + " entry " + Quoted(glob) + " uses unsupported glob syntax " +
                                      Quoted(glob.substr(bad, 1)) + "; only '*' and '?' are wildcards");
      }
    }
    return Status::Ok();
  }

  // HOST:PORT with HOST an IPv4 address, a bracketed IPv6 address or `localhost`.
  Status ParseListen(const Entry& e, Config* config) const {
    return ParseHostPort(e, &config->listen_host, &config->listen_port);
  }
  Status ParseHostPort(const Entry& e, std::string* host_out, uint16_t* port_out) const {
    std::string text;
    if (Status s = String(e, &text); !s.ok()) return s;
    if (text.empty()) return ValueError(e, "'listen' must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (got \"\")");
    std::string host;
    std::string_view port_text;
    bool host_ok;
    if (text[0] == '[') {
      const size_t close = text.find(']');
      if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
        return ValueError(e, "'listen' must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (got " +
                                 Quoted(text) + ")");
      }
      host = text.substr(1, close - 1);
      port_text = std::string_view(text).substr(close + 2);
      host_ok = IsIpv6(host);
    } else {
      const size_t colon = text.rfind(':');
      if (colon == std::string::npos) {
        return ValueError(e, "'listen' must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (got " +
                                 Quoted(text) + ")");
      }
      host = text.substr(0, colon);
      port_text = std::string_view(text).substr(colon + 1);
      if (host.find(':') != std::string::npos) {
        return ValueError(e, "'listen' IPv6 host must be in brackets, e.g. [::1]:8080 (got " + Quoted(text) + ")");
      }
      host_ok = host == "localhost" || IsIpv4(host);
    }
    if (!host_ok) {
      return ValueError(e, "'listen' host " + Quoted(host) +
                               " is not an IPv4 address, a bracketed IPv6 address or localhost");
    }
    uint16_t port;
    if (port_text.size() > 5 || !ParseDecimal(port_text, &port)) {
      return ValueError(e, "'listen' port " + Quoted(port_text) + " must be an integer from 0 to 65535");
    }
    *host_out = std::move(host);
    *port_out = port;
    return Status::Ok();
  }

  // "1GiB", "512MiB", "64KiB", "1000000" (bytes).
  Status Bytes(const Entry& e, uint64_t min, uint64_t* out, uint64_t max = UINT64_MAX) const {
    const std::string expected =
        Quoted(e.key) + " must be a size in bytes, optionally with KiB, MiB or GiB (e.g. 1GiB), " +
        (max == UINT64_MAX ? "at least " + std::to_string(min)
                           : "from " + std::to_string(min) + " to " + std::to_string(max));
    if (!e.value.IsScalar()) return ValueError(e, expected);
    std::string_view text = e.value.Scalar();
    uint64_t unit = 1;
    for (auto [suffix, factor] : {std::pair<std::string_view, uint64_t>{"KiB", 1ull << 10}, {"MiB", 1ull << 20},
                                  {"GiB", 1ull << 30}, {"TiB", 1ull << 40}}) {
      if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
        text.remove_suffix(suffix.size());
        unit = factor;
        break;
      }
    }
    uint64_t n;
    if (!ParseDecimal(text, &n) || n > UINT64_MAX / unit || n * unit < min || n * unit > max) {
      return ValueError(e, expected);
    }
    *out = n * unit;
    return Status::Ok();
  }

  Status ParseSpool(const Entry& e, Config* config) const {
    if (!e.value.IsMap()) return ValueError(e, "'spool' must be a mapping (fsync, quota, segment_size)");
    std::vector<Entry> entries;
    if (Status s = Entries(e.value, &entries); !s.ok()) return s;
    for (const Entry& f : entries) {
      Status s;
      if (f.key == "fsync") {
        s = String(f, &config->spool_fsync);
        if (s.ok() && config->spool_fsync != "always" && config->spool_fsync != "interval" &&
            config->spool_fsync != "never") {
          s = ValueError(f, "'fsync' must be always, interval or never");
        }
      } else if (f.key == "quota") {
        s = Bytes(f, 1ull << 20, &config->spool_quota_bytes);
      } else if (f.key == "segment_size") {
        s = Bytes(f, 64ull << 10, &config->spool_segment_bytes);
      } else {
        s = UnknownKey(f, " in 'spool'", kSpoolKeys);
      }
      if (!s.ok()) return s;
    }
    if (config->spool_quota_bytes < 2 * config->spool_segment_bytes) {
      return ValueError(e, "'spool': quota must be at least twice segment_size");
    }
    return Status::Ok();
  }

  // `ledger:` — the gateway's own retention of its disclosure records (a vendor's `retention_days` is a
  // different thing: how long the vendor keeps the data).
  Status ParseLedger(const Entry& e, Config* config) const {
    if (!e.value.IsMap()) {
      return ValueError(e, "'ledger' must be a mapping (retention_days, retention_check_interval)");
    }
    std::vector<Entry> entries;
    if (Status s = Entries(e.value, &entries); !s.ok()) return s;
    for (const Entry& f : entries) {
      Status s;
      uint64_t n = 0;
      if (f.key == "retention_days") {
        s = Integer(f, 1, 36500, "a number of days from 1 to 36500 (leave it out to keep the ledger forever)", &n);
        if (s.ok()) config->ledger_retention_days = static_cast<uint32_t>(n);
      } else if (f.key == "retention_check_interval") {
        // Segments cover one UTC day, so checking less often than daily would only keep them longer.
        s = Integer(f, 1, 86400, "a number of seconds from 1 to 86400", &n);
        if (s.ok()) config->ledger_retention_check_interval_s = static_cast<uint32_t>(n);
      } else {
        s = UnknownKey(f, " in 'ledger'", kLedgerKeys);
      }
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Status ParseAdmin(const Entry& e, Config* config) const {
    if (!e.value.IsMap()) {
      return ValueError(e, "'admin' must be a mapping (socket, listen, tls_cert, tls_key, allow_insecure_remote, "
                           "session_idle_minutes, session_max_hours)");
    }
    std::vector<Entry> entries;
    if (Status s = Entries(e.value, &entries); !s.ok()) return s;
    Config::AdminHttp& a = config->admin_http;
    const Entry* listen_entry = nullptr;
    for (const Entry& f : entries) {
      Status s;
      if (f.key == "socket") {
        s = String(f, &config->admin_socket);
      } else if (f.key == "listen") {
        listen_entry = &f;
        if (f.value.IsScalar() && (f.value.Scalar() == "off" || f.value.Scalar() == "false")) {
          a.enabled = false;
        } else {
          a.enabled = true;
          s = ParseHostPort(f, &a.host, &a.port);
        }
      } else if (f.key == "tls_cert") {
        s = String(f, &a.tls_cert);
      } else if (f.key == "tls_key") {
        s = String(f, &a.tls_key);
      } else if (f.key == "allow_insecure_remote") {
        s = Bool(f, &a.allow_insecure_remote);
      } else if (f.key == "session_idle_minutes") {
        uint64_t n;
        s = Integer(f, 1, 24 * 60, "an integer from 1 to 1440", &n);
        a.session_idle_minutes = static_cast<uint32_t>(n);
      } else if (f.key == "session_max_hours") {
        uint64_t n;
        s = Integer(f, 1, 24 * 30, "an integer from 1 to 720", &n);
        a.session_max_hours = static_cast<uint32_t>(n);
      } else {
        s = UnknownKey(f, " in 'admin'", kAdminKeys);
      }
      if (!s.ok()) return s;
    }
    if (a.tls_cert.empty() != a.tls_key.empty()) {
      return ValueError(e, "'admin': tls_cert and tls_key go together (a certificate chain and its private key, PEM)");
    }
    if (a.enabled && a.tls_cert.empty() && !a.IsLoopback() && !a.allow_insecure_remote) {
      return ValueError(listen_entry != nullptr ? *listen_entry : e,
                        "'admin': the admin listener on " + Quoted(a.host) +
                            " (not a loopback address) needs TLS: set tls_cert and tls_key, or set "
                            "allow_insecure_remote: true if something else (a TLS proxy) protects it");
    }
    if (a.session_idle_minutes > a.session_max_hours * 60u) {
      return ValueError(e, "'admin': session_idle_minutes must not exceed session_max_hours");
    }
    return Status::Ok();
  }

  Status ParseOrganization(const Entry& e, Config::Organization* org) const {
    if (!e.value.IsMap()) return ValueError(e, "'organization' must be a mapping (name, contact, domain, notice_url)");
    std::vector<Entry> entries;
    if (Status s = Entries(e.value, &entries); !s.ok()) return s;
    const Entry* url_entry = nullptr;
    for (const Entry& f : entries) {
      Status s;
      if (f.key == "name") {
        s = String(f, &org->name);
        if (s.ok() && org->name.empty()) s = ValueError(f, "'organization': name must not be empty");
      } else if (f.key == "contact") {
        s = String(f, &org->contact);
        if (s.ok() && org->contact.empty()) s = ValueError(f, "'organization': contact must not be empty");
      } else if (f.key == "domain") {
        s = String(f, &org->domain);
        if (s.ok() && !IsHostName(org->domain)) {
          s = ValueError(f, "'organization': domain " + Quoted(org->domain) + " is not a host name such as example.com");
        }
      } else if (f.key == "notice_url") {
        s = String(f, &org->notice_url);
        url_entry = &f;
      } else {
        s = UnknownKey(f, " in 'organization'", kOrganizationKeys);
      }
      if (!s.ok()) return s;
    }
    if (url_entry != nullptr) {
      const std::string& url = org->notice_url;
      const std::string prefix = "https://";
      std::string host;
      if (url.rfind(prefix, 0) == 0) host = url.substr(prefix.size(), url.find_first_of("/?#", prefix.size()) - prefix.size());
      const bool on_domain = host == org->domain ||
                             (host.size() > org->domain.size() + 1 && host.ends_with("." + org->domain));
      if (!on_domain) {
        return ValueError(*url_entry, "'organization': notice_url must be an https URL on " + Quoted(org->domain) +
                                          " or a subdomain of it (notices link only to the company's own domain)");
      }
      if (url.find("{id}") == std::string::npos) {
        return ValueError(*url_entry, "'organization': notice_url must contain {id} (where the notice id goes)");
      }
    }
    return Status::Ok();
  }

  static bool IsHostName(std::string_view h) {
    if (h.empty() || h.size() > 253 || h.find('.') == std::string_view::npos) return false;
    size_t label = 0;
    for (size_t i = 0; i < h.size(); ++i) {
      const char c = h[i];
      if (c == '.') {
        if (label == 0 || h[i - 1] == '-') return false;
        label = 0;
        continue;
      }
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0);
      if (!ok || ++label > 63) return false;
    }
    return label > 0 && h.back() != '-';
  }

  Status ParseCidrList(const Entry& e, std::vector<std::string>* out) const {
    if (Status s = StringList(e, out); !s.ok()) return s;
    size_t i = 0;
    for (const YAML::Node& item : e.value) {
      const std::string& cidr = (*out)[i++];
      if (!IsCidr(cidr)) return Error(item.Mark(), Quoted(e.key) + " entry " + Quoted(cidr) + " is not an IPv4 or IPv6 CIDR");
    }
    return Status::Ok();
  }

  Status ParseTrustedProxies(const Entry& e, std::vector<std::string>* out) const {
    if (Status s = StringList(e, out); !s.ok()) return s;
    size_t i = 0;
    for (const YAML::Node& item : e.value) {
      const std::string& cidr = (*out)[i++];
      if (!IsCidr(cidr)) {
        return Error(item.Mark(), "'trusted_proxies' entry " + Quoted(cidr) +
                                      " is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, 2001:db8::/32, 192.0.2.1)");
      }
    }
    return Status::Ok();
  }

  Status ParseGeoipDb(const Entry& e, std::optional<std::string>* out) const {
    std::string path;
    if (Status s = String(e, &path); !s.ok()) return s;
    const std::string problem = CheckReadableFile(path);
    if (!problem.empty()) return ValueError(e, "'geoip_db' file " + Quoted(path) + ": " + problem);
    *out = std::move(path);
    return Status::Ok();
  }

  Status ParseVendors(const Entry& e, std::vector<VendorConfig>* out) const {
    if (!e.value.IsSequence() || e.value.size() == 0) {
      return ValueError(e, "'vendors' must be a non-empty list of vendors");
    }
    std::vector<YAML::Mark> name_marks;  // parallel to *out, for duplicate reports
    size_t index = 0;
    for (const YAML::Node& item : e.value) {
      ++index;
      VendorConfig vendor;
      YAML::Mark name_mark;
      if (Status s = ParseVendor(item, index, &vendor, &name_mark); !s.ok()) return s;
      for (size_t i = 0; i < out->size(); ++i) {
        if ((*out)[i].name == vendor.name) {
          return Error(name_mark, "duplicate vendor name " + Quoted(vendor.name) + " (first defined at line " +
                                      std::to_string(name_marks[i].line + 1) + ")");
        }
      }
      out->push_back(std::move(vendor));
      name_marks.push_back(name_mark);
    }
    return Status::Ok();
  }

  static bool IsVendorName(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
  }

  static bool IsEnvVarName(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
  }

  Status ParseVendor(const YAML::Node& node, size_t index, VendorConfig* vendor, YAML::Mark* name_mark) const {
    if (!node.IsMap()) return Error(node.Mark(), "each entry of 'vendors' must be a mapping with 'name' and 'kind'");
    std::vector<Entry> entries;
    if (Status s = Entries(node, &entries); !s.ok()) return s;

    // Name the vendor in messages by its `name` when it has a usable one, else by position, so an error
    // in a key written before `name` still says which vendor it is in.
    std::string label = "vendor #" + std::to_string(index);
    for (const Entry& e : entries) {
      if (e.key == "name" && e.value.IsScalar() && IsVendorName(e.value.Scalar())) {
        label = "vendor " + Quoted(e.value.Scalar());
      }
    }

    bool have_name = false;
    bool have_kind = false;
    bool have_policy = false;
    std::optional<YAML::Mark> ca_mark;  // where tls_ca_file's value is
    for (const Entry& e : entries) {
      Status s;
      if (e.key == "name") {
        have_name = true;
        s = String(e, &vendor->name);
        if (s.ok() && !IsVendorName(vendor->name)) {
          s = ValueError(e, "vendor name " + Quoted(vendor->name) +
                                " must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
        }
        *name_mark = ValueMark(e);
      } else if (e.key == "kind") {
        have_kind = true;
        std::string kind;
        s = String(e, &kind);
        if (s.ok() && kind != "mixpanel") {
          s = ValueError(e, "unknown vendor kind " + Quoted(kind) + " (supported: mixpanel)");
        }
        vendor->kind = VendorKind::kMixpanel;
      } else if (e.key == "endpoint") {
        std::string url;
        s = String(e, &url);
        if (s.ok()) s = ParseEndpoint(e, &url);
        if (s.ok()) vendor->endpoint = std::move(url);
      } else if (e.key == "api") {
        s = String(e, &vendor->api);
        if (s.ok() && vendor->api != "track" && vendor->api != "import") {
          s = ValueError(e, "'api' must be one of track, import (got " + Quoted(vendor->api) + ")");
        }
      } else if (e.key == "token") {
        s = OptionalString(e, &vendor->token);
      } else if (e.key == "api_secret_env") {
        s = OptionalString(e, &vendor->api_secret_env);
        if (s.ok() && !IsEnvVarName(*vendor->api_secret_env)) {
          s = ValueError(e, "'api_secret_env' must name an environment variable (letters, digits and '_', "
                            "not starting with a digit); the secret itself never goes in the config");
        }
      } else if (e.key == "key_epoch") {
        uint64_t n;
        s = Integer(e, 1, UINT32_MAX, "a positive integer", &n);
        vendor->key_epoch = static_cast<uint32_t>(n);
      } else if (e.key == "gzip") {
        s = Bool(e, &vendor->gzip);
      } else if (e.key == "linger_ms") {
        uint64_t n;
        s = Integer(e, 0, 1000, "a number of milliseconds from 0 to 1000", &n);
        vendor->linger_ms = static_cast<uint32_t>(n);
      } else if (e.key == "batch_max_events") {
        uint64_t n;
        s = Integer(e, 1, 2000, "a number of events from 1 to 2000 (the vendor's limit per request)", &n);
        vendor->batch_max_events = static_cast<uint32_t>(n);
      } else if (e.key == "batch_max_bytes") {
        s = Bytes(e, 1024, &vendor->batch_max_bytes, 10'000'000);
      } else if (e.key == "tls_ca_file") {
        std::string path;
        s = String(e, &path);
        if (s.ok()) {
          if (std::string problem = CheckCaFile(path); !problem.empty()) {
            s = ValueError(e, "'tls_ca_file' " + Quoted(path) + ": " + problem);
          }
        }
        if (s.ok()) {
          vendor->tls_ca_file = std::move(path);
          ca_mark = ValueMark(e);
        }
      } else if (e.key == "connections") {
        uint64_t n;
        s = Integer(e, 1, 16, "a number of connections from 1 to 16", &n);
        vendor->connections = static_cast<uint32_t>(n);
      } else if (e.key == "purpose") {
        s = String(e, &vendor->purpose);
      } else if (e.key == "legal_basis") {
        s = String(e, &vendor->legal_basis);
        if (s.ok() && std::find(std::begin(kLegalBases), std::end(kLegalBases), vendor->legal_basis) ==
                          std::end(kLegalBases)) {
          s = ValueError(e, "'legal_basis' must be one of consent, contract, legal_obligation, vital_interests, "
                            "public_task, legitimate_interests (GDPR Art. 6(1))");
        }
      } else if (e.key == "destination_country") {
        s = String(e, &vendor->destination_country);
        const std::string& c = vendor->destination_country;
        if (s.ok() && !(c.size() == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z')) {
          s = ValueError(e, "'destination_country' must be an ISO 3166-1 alpha-2 code in capitals, e.g. US or DE");
        }
      } else if (e.key == "retention_days") {
        uint64_t n;
        s = Integer(e, 1, 36500, "a number of days from 1 to 36500", &n);
        vendor->retention_days = static_cast<uint32_t>(n);
      } else if (e.key == "policy") {
        have_policy = true;
        s = ParsePolicy(e, label, &vendor->policy);
      } else {
        s = UnknownKey(e, " in " + label, kVendorKeys);
      }
      if (!s.ok()) return s;
    }
    if (ca_mark && !(vendor->endpoint && vendor->endpoint->starts_with("https://"))) {
      return Error(*ca_mark, "'tls_ca_file' needs an https:// endpoint (it says whom to trust for TLS)");
    }
    if (!have_name) return Error(node.Mark(), label + " is missing required key 'name'");
    if (!have_kind) return Error(node.Mark(), label + " is missing required key 'kind'");
    if (!have_policy) {
      PolicyConfig& p = vendor->policy;
      p = PolicyConfig();
      p.allow = ToVector(kStrictAllow);
      p.pseudonymize = ToVector(kDefaultPseudonymize);
      p.url_properties = ToVector(kDefaultUrlProperties);
      p.is_default = true;
    }
    return Status::Ok();
  }

  // http(s)://HOST[:PORT][/PATH], no credentials, query or fragment. A trailing slash is dropped so that
  // delivery can append "/track" without doubling it.
  Status ParseEndpoint(const Entry& e, std::string* url) const {
    const std::string bad_url =
        "'endpoint' must be an http:// or https:// URL with a host, e.g. https://api.mixpanel.com (got " +
        Quoted(*url) + ")";
    std::string_view rest;
    if (url->starts_with("https://")) {
      rest = std::string_view(*url).substr(8);
    } else if (url->starts_with("http://")) {
      rest = std::string_view(*url).substr(7);
    } else {
      return ValueError(e, bad_url);
    }
    for (char c : *url) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
        return ValueError(e, "'endpoint' must not contain spaces or control characters");
      }
    }
    if (url->find_first_of("?#") != std::string::npos) {
      return ValueError(e, "'endpoint' must not have a query or fragment (got " + Quoted(*url) + ")");
    }
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != std::string_view::npos) {
      return ValueError(e, "'endpoint' must not contain credentials; give the secret with 'api_secret_env'");
    }
    std::string_view host = authority;
    std::string_view port;
    bool has_port = false;  // a ':' after the host, so a port must follow
    if (authority.starts_with("[")) {
      const size_t close = authority.find(']');
      if (close == std::string_view::npos || !IsIpv6(std::string(authority.substr(1, close - 1)))) {
        return ValueError(e, bad_url);
      }
      host = authority.substr(0, close + 1);
      const std::string_view after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after[0] != ':') return ValueError(e, bad_url);
        has_port = true;
        port = after.substr(1);
      }
    } else {
      const size_t colon = authority.find(':');
      if (colon != std::string_view::npos) {
        has_port = true;
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
      }
      const bool host_chars_ok = std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-' || c == '_';
      });
      if (!host_chars_ok) return ValueError(e, bad_url);
    }
    if (host.empty()) return ValueError(e, bad_url);
    if (has_port) {
      uint16_t n;
      if (port.size() > 5 || !ParseDecimal(port, &n) || n == 0) {
        return ValueError(e, "'endpoint' port " + Quoted(port) + " must be an integer from 1 to 65535");
      }
    }
    while (url->ends_with('/')) url->pop_back();
    return Status::Ok();
  }

  // `pii: {default: redact, email: block-event, ...}`: `default` first sets every type, then named types
  // override it, whatever their order in the file.
  Status ParsePii(const Entry& e, const std::string& vendor_label, std::array<PiiAction, kPiiTypeCount>* out) const {
    if (!e.value.IsMap()) return ValueError(e, "'pii' must be a mapping of PII types to actions");
    std::vector<Entry> entries;
    if (Status s = Entries(e.value, &entries); !s.ok()) return s;
    for (const Entry& t : entries) {
      if (t.key != "default") continue;
      PiiAction a;
      if (Status s = Enum(t, kPiiActions, &a); !s.ok()) return s;
      out->fill(a);
    }
    for (const Entry& t : entries) {
      if (t.key == "default") continue;
      auto type = PiiTypeFromName(t.key);
      if (!type) {
        std::string known = "default";
        for (int i = 0; i < kPiiTypeCount; ++i) known += ", " + std::string(PiiTypeName(static_cast<PiiType>(i)));
        return Error(t.key_node.Mark(), "unknown PII type " + Quoted(t.key) + " in policy of " + vendor_label + " (known: " + known + ")");
      }
      if (Status s = Enum(t, kPiiActions, &(*out)[static_cast<int>(*type)]); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status ParsePolicy(const Entry& e, const std::string& vendor_label, PolicyConfig* policy) const {
    if (!e.value.IsMap()) return ValueError(e, "'policy' must be a mapping");
    std::vector<Entry> entries;
    if (Status s = Entries(e.value, &entries); !s.ok()) return s;

    *policy = PolicyConfig();
    policy->is_default = false;
    bool have_pseudonymize = false;
    bool have_url_properties = false;
    for (const Entry& p : entries) {
      Status s;
      if (p.key == "allow") {
        s = GlobList(p, &policy->allow);
      } else if (p.key == "drop") {
        s = GlobList(p, &policy->drop);
      } else if (p.key == "pseudonymize") {
        have_pseudonymize = true;
        s = GlobList(p, &policy->pseudonymize);
      } else if (p.key == "url_properties") {
        have_url_properties = true;
        s = GlobList(p, &policy->url_properties);
      } else if (p.key == "ip") {
        s = Enum(p, kIpRules, &policy->ip);
      } else if (p.key == "location") {
        s = Enum(p, kLocationRules, &policy->location);
      } else if (p.key == "urls") {
        s = Enum(p, kUrlRules, &policy->urls);
      } else if (p.key == "user_agent") {
        s = Enum(p, kUserAgentRules, &policy->user_agent);
      } else if (p.key == "pii") {
        s = ParsePii(p, vendor_label, &policy->pii);
      } else {
        s = UnknownKey(p, " in policy of " + vendor_label, kPolicyKeys);
      }
      if (!s.ok()) return s;
    }
    // Identifiers are pseudonymized and URLs recognized unless the policy says otherwise; an `allow` list
    // that names distinct_id should not ship the raw identifier because `pseudonymize` was left out.
    if (!have_pseudonymize) policy->pseudonymize = ToVector(kDefaultPseudonymize);
    if (!have_url_properties) policy->url_properties = ToVector(kDefaultUrlProperties);
    return Status::Ok();
  }

  std::string_view source_;
};

}  // namespace

StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view source) {
  ConfigParser parser(source);
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    if (documents.empty()) return parser.Error(YAML::Mark(), "the config is empty");
    if (documents.size() > 1) {
      return parser.Error(documents[1].Mark(), "the config must be a single YAML document");
    }
    return parser.Parse(documents[0]);
  } catch (const YAML::Exception& e) {
    return parser.Error(e.mark, e.msg);
  }
}

StatusOr<Config> LoadConfig(const std::string& path) {
  auto io_error = [&path](int err) {
    return Status::IOError(path + ": cannot read config: " + std::error_code(err, std::generic_category()).message());
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return io_error(errno);
  std::string text;
  char buffer[8192];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  const int err = errno;
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return io_error(err);
  return ParseConfig(text, path);
}

std::string_view ToString(IpRule r) { return SpellingOf(kIpRules, r); }
std::string_view ToString(LocationRule r) { return SpellingOf(kLocationRules, r); }
std::string_view ToString(UrlRule r) { return SpellingOf(kUrlRules, r); }
std::string_view ToString(UserAgentRule r) { return SpellingOf(kUserAgentRules, r); }
std::string_view ToString(PiiAction a) { return SpellingOf(kPiiActions, a); }

std::string Config::Organization::NoticeUrl(std::string_view id) const {
  std::string url = notice_url.empty() ? "https://" + domain + "/notices/{id}" : notice_url;
  const size_t at = url.find("{id}");
  if (at != std::string::npos) url.replace(at, 4, id);
  return url;
}

}  // namespace vg
