#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vg {
namespace {

using Strings = std::vector<std::string>;

const Strings kStrictAllow = {"distinct_id", "$distinct_id", "$user_id", "$device_id", "$insert_id",
                              "time",        "$time",        "token",    "$token",     "$browser",
                              "$os",         "mp_country_code",          "$group_key", "$group_id"};
const Strings kDefaultPseudonymize = {"distinct_id", "$distinct_id", "$user_id", "$device_id", "$group_id"};
const Strings kDefaultUrlProperties = {"$current_url", "$referrer", "$initial_referrer",
                                       "url",          "referrer",  "*_url"};

// A file that exists, standing in for an mmdb (the config only checks that it is there).
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("config_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    geoip_ = (dir_ / "country.mmdb").string();
    std::ofstream(geoip_) << "not really an mmdb";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
  std::string geoip_;
};

// The message of a config that must fail, or a marker that it parsed.
std::string ErrorOf(const std::string& yaml) {
  StatusOr<Config> config = ParseConfig(yaml, "test.yaml");
  if (config.ok()) return "<parsed ok>";
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
  return config.status().message();
}

constexpr char kVendor[] = "vendors:\n  - name: mp\n    kind: mixpanel\n";

void ExpectStrictDefaultPolicy(const PolicyConfig& p) {
  EXPECT_TRUE(p.is_default);
  EXPECT_EQ(p.allow, kStrictAllow);
  EXPECT_EQ(p.drop, Strings{});
  EXPECT_EQ(p.pseudonymize, kDefaultPseudonymize);
  EXPECT_EQ(p.url_properties, kDefaultUrlProperties);
  EXPECT_EQ(p.ip, IpRule::kDrop);
  EXPECT_EQ(p.location, LocationRule::kCountry);
  EXPECT_EQ(p.urls, UrlRule::kOrigin);
  EXPECT_EQ(p.user_agent, UserAgentRule::kFamily);
}

TEST_F(ConfigTest, DefaultConfigIsShadowModeMixpanelWithStrictPolicy) {
  const Config config = DefaultConfig();
  EXPECT_EQ(config.source, "<default>");
  EXPECT_EQ(config.listen_host, "127.0.0.1");
  EXPECT_EQ(config.listen_port, 8080);
  EXPECT_EQ(config.data_dir, "./vendorguard-data");
  EXPECT_TRUE(config.trusted_proxies.empty());
  EXPECT_EQ(config.max_body_bytes, size_t{1} << 20);
  EXPECT_EQ(config.max_json_depth, 32);
  EXPECT_EQ(config.threads, 0);
  ASSERT_EQ(config.vendors.size(), 1u);
  const VendorConfig& v = config.vendors[0];
  EXPECT_EQ(v.name, "mixpanel");
  EXPECT_EQ(v.kind, VendorKind::kMixpanel);
  EXPECT_FALSE(v.endpoint.has_value());  // shadow mode
  EXPECT_EQ(v.api, "track");
  EXPECT_FALSE(v.token.has_value());
  EXPECT_FALSE(v.api_secret_env.has_value());
  EXPECT_FALSE(v.key_epoch.has_value());
  EXPECT_TRUE(v.gzip);
  ExpectStrictDefaultPolicy(v.policy);
}

TEST_F(ConfigTest, DefaultConfigUsesTheGeoipDbOnlyWhenItExists) {
  const std::string path = YAML::Load(std::string(DefaultConfigYaml()))["geoip_db"].as<std::string>();
  EXPECT_TRUE(path.ends_with("dbip-country.mmdb")) << path;
  const Config config = DefaultConfig();
  if (std::filesystem::is_regular_file(path)) {
    EXPECT_EQ(config.geoip_db, path);
  } else {
    EXPECT_FALSE(config.geoip_db.has_value());
  }
}

TEST_F(ConfigTest, DefaultConfigYamlLoadsAsAFileWhenTheGeoipDbExists) {
  const std::string path = YAML::Load(std::string(DefaultConfigYaml()))["geoip_db"].as<std::string>();
  if (!std::filesystem::is_regular_file(path)) GTEST_SKIP() << "default geoip db not installed: " << path;
  StatusOr<Config> config = LoadConfig(WriteFile("default.yaml", std::string(DefaultConfigYaml())));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->geoip_db, path);
  ExpectStrictDefaultPolicy(config->vendors[0].policy);
}

TEST_F(ConfigTest, FullConfigRoundTripsEveryKey) {
  const std::string yaml = R"(
listen: "[::1]:0"
data_dir: /var/lib/vg
trusted_proxies: [10.0.0.0/8, 192.0.2.7, "2001:db8::/32", "::1"]
geoip_db: )" + geoip_ + R"(
max_body_bytes: 65536
max_json_depth: 1024
threads: 3
vendors:
  - name: mixpanel-eu
    kind: mixpanel
    endpoint: https://api-eu.mixpanel.com/
    api: import
    token: abc123
    api_secret_env: MP_SECRET
    key_epoch: 7
    gzip: false
    linger_ms: 0
    batch_max_events: 50
    batch_max_bytes: 64KiB
    connections: 1
    policy:
      allow: [distinct_id, "$*", "utm_?"]
      drop: [$email]
      pseudonymize: [distinct_id]
      url_properties: [page]
      ip: truncate
      location: region
      urls: keep
      user_agent: keep
  - name: shadow_2
    kind: mixpanel
    endpoint: http://127.0.0.1:9000/mp//
    policy:
      allow: []
      location: none
)";
  StatusOr<Config> parsed = ParseConfig(yaml, "full.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const Config& c = *parsed;
  EXPECT_EQ(c.source, "full.yaml");
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.data_dir, "/var/lib/vg");
  EXPECT_EQ(c.trusted_proxies, (Strings{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"}));
  EXPECT_EQ(c.geoip_db, geoip_);
  EXPECT_EQ(c.max_body_bytes, 65536u);
  EXPECT_EQ(c.max_json_depth, 1024);
  EXPECT_EQ(c.threads, 3);
  ASSERT_EQ(c.vendors.size(), 2u);

  const VendorConfig& v = c.vendors[0];
  EXPECT_EQ(v.name, "mixpanel-eu");
  EXPECT_EQ(v.kind, VendorKind::kMixpanel);
  EXPECT_EQ(v.endpoint, "https://api-eu.mixpanel.com");
  EXPECT_EQ(v.api, "import");
  EXPECT_EQ(v.token, "abc123");
  EXPECT_EQ(v.api_secret_env, "MP_SECRET");
  EXPECT_EQ(v.key_epoch, 7u);
  EXPECT_FALSE(v.gzip);
  EXPECT_EQ(v.linger_ms, 0u);
  EXPECT_EQ(v.batch_max_events, 50u);
  EXPECT_EQ(v.batch_max_bytes, 65536u);
  EXPECT_EQ(v.connections, 1u);
  EXPECT_FALSE(v.policy.is_default);
  EXPECT_EQ(v.policy.allow, (Strings{"distinct_id", "$*", "utm_?"}));
  EXPECT_EQ(v.policy.drop, Strings{"$email"});
  EXPECT_EQ(v.policy.pseudonymize, Strings{"distinct_id"});
  EXPECT_EQ(v.policy.url_properties, Strings{"page"});
  EXPECT_EQ(v.policy.ip, IpRule::kTruncate);
  EXPECT_EQ(v.policy.location, LocationRule::kRegion);
  EXPECT_EQ(v.policy.urls, UrlRule::kKeep);
  EXPECT_EQ(v.policy.user_agent, UserAgentRule::kKeep);

  // A policy that leaves lists out: empty, except the identifier and URL lists, which keep their defaults.
  const VendorConfig& w = c.vendors[1];
  EXPECT_EQ(w.endpoint, "http://127.0.0.1:9000/mp");
  EXPECT_EQ(w.api, "track");
  EXPECT_TRUE(w.gzip);
  EXPECT_EQ(w.linger_ms, 10u);  // the default
  EXPECT_EQ(w.batch_max_events, 2000u);
  EXPECT_EQ(w.batch_max_bytes, 2'000'000u);
  EXPECT_EQ(w.connections, 4u);
  EXPECT_FALSE(w.policy.is_default);
  EXPECT_TRUE(w.policy.allow.empty());
  EXPECT_TRUE(w.policy.drop.empty());
  EXPECT_EQ(w.policy.pseudonymize, kDefaultPseudonymize);
  EXPECT_EQ(w.policy.url_properties, kDefaultUrlProperties);
  EXPECT_EQ(w.policy.ip, IpRule::kDrop);
  EXPECT_EQ(w.policy.location, LocationRule::kNone);
}

TEST_F(ConfigTest, MinimalConfigTakesDefaults) {
  StatusOr<Config> c = ParseConfig(kVendor, "min.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_FALSE(c->geoip_db.has_value());
  ExpectStrictDefaultPolicy(c->vendors[0].policy);
}

TEST_F(ConfigTest, ListenAcceptsLocalhostAndIpv4) {
  StatusOr<Config> c = ParseConfig(std::string("listen: localhost:65535\n") + kVendor, "t");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->listen_host, "localhost");
  EXPECT_EQ(c->listen_port, 65535);
  c = ParseConfig(std::string("listen: 0.0.0.0:80\n") + kVendor, "t");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->listen_host, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 80);
}

TEST_F(ConfigTest, EnumsPrintTheirYamlSpelling) {
  EXPECT_EQ(ToString(IpRule::kDrop), "drop");
  EXPECT_EQ(ToString(IpRule::kTruncate), "truncate");
  EXPECT_EQ(ToString(LocationRule::kNone), "none");
  EXPECT_EQ(ToString(LocationRule::kCountry), "country");
  EXPECT_EQ(ToString(LocationRule::kRegion), "region");
  EXPECT_EQ(ToString(UrlRule::kOrigin), "origin");
  EXPECT_EQ(ToString(UrlRule::kKeep), "keep");
  EXPECT_EQ(ToString(UserAgentRule::kFamily), "family");
  EXPECT_EQ(ToString(UserAgentRule::kKeep), "keep");
}

// --- One test per class of error, each pinning the position and the reason. ---

TEST_F(ConfigTest, SyntaxErrorGivesParserPosition) {
  EXPECT_EQ(ErrorOf("vendors:\n  - name: a\n   kind: mixpanel\n"),
            "test.yaml:3:4: end of sequence not found");
  EXPECT_EQ(ErrorOf("listen: [1\n"), "test.yaml:2:1: end of sequence flow not found");
}

TEST_F(ConfigTest, EmptyOrNonMappingTopLevel) {
  EXPECT_EQ(ErrorOf(""), "test.yaml:1:1: the config is empty");
  EXPECT_EQ(ErrorOf("# only a comment\n"), "test.yaml:1:1: the config is empty");
  EXPECT_EQ(ErrorOf("- a\n- b\n"), "test.yaml:1:1: the config must be a YAML mapping of keys to values");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "---\nlisten: 1.2.3.4:5\n"),
            "test.yaml:5:1: the config must be a single YAML document");
  EXPECT_EQ(ErrorOf("listen: 127.0.0.1:1\n"), "test.yaml:1:1: missing required key 'vendors'");
}

TEST_F(ConfigTest, UnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "foo: 1\n"), "test.yaml:4:1: unknown key 'foo'");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "lisen: 1.2.3.4:5\n"),
            "test.yaml:4:1: unknown key 'lisen' (did you mean 'listen'?)");
}

TEST_F(ConfigTest, DuplicateKey) {
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "threads: 1\nthreads: 2\n"),
            "test.yaml:5:1: duplicate key 'threads' (first at line 4)");
}

TEST_F(ConfigTest, UnknownVendorKey) {
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    foo: 1\n"),
            "test.yaml:4:5: unknown key 'foo' in vendor 'x'");
  // Before `name`, and with no usable name: the vendor is named by its position.
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n  - endpont: http://a\n"),
            "test.yaml:4:5: unknown key 'endpont' in vendor #2 (did you mean 'endpoint'?)");
}

TEST_F(ConfigTest, UnknownPolicyKey) {
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      allow: [a]\n      alow: [b]\n"),
            "test.yaml:6:7: unknown key 'alow' in policy of vendor 'x' (did you mean 'allow'?)");
}

TEST_F(ConfigTest, WrongTypes) {
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "max_body_bytes: 0\n"),
            "test.yaml:4:17: 'max_body_bytes' must be a positive integer");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "max_body_bytes: \"100\"\n"),
            "test.yaml:4:17: 'max_body_bytes' must be a positive integer");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "max_json_depth: 1\n"),
            "test.yaml:4:17: 'max_json_depth' must be an integer from 2 to 1024");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "threads: -1\n"),
            "test.yaml:4:10: 'threads' must be an integer from 0 to 4096");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "data_dir: [a]\n"),
            "test.yaml:4:11: 'data_dir' must be a non-empty string");
  // An empty value points at its key: yaml-cpp would place it on the next line.
  EXPECT_EQ(ErrorOf("data_dir:\n" + std::string(kVendor)), "test.yaml:1:1: 'data_dir' must be a non-empty string");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    gzip: yes\n"),
            "test.yaml:4:11: 'gzip' must be true or false");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    linger_ms: 1001\n"),
            "test.yaml:4:16: 'linger_ms' must be a number of milliseconds from 0 to 1000");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    linger_ms: -1\n"),
            "test.yaml:4:16: 'linger_ms' must be a number of milliseconds from 0 to 1000");
  for (const char* n : {"0", "2001", "-1", "ten"}) {
    EXPECT_EQ(ErrorOf(std::string("vendors:\n  - name: x\n    kind: mixpanel\n    batch_max_events: ") + n + "\n"),
              "test.yaml:4:23: 'batch_max_events' must be a number of events from 1 to 2000 (the vendor's limit per "
              "request)")
        << n;
  }
  for (const char* n : {"1023", "10000001", "10MiB", "1KB"}) {
    EXPECT_EQ(ErrorOf(std::string("vendors:\n  - name: x\n    kind: mixpanel\n    batch_max_bytes: ") + n + "\n"),
              "test.yaml:4:22: 'batch_max_bytes' must be a size in bytes, optionally with KiB, MiB or GiB (e.g. "
              "1GiB), from 1024 to 10000000")
        << n;
  }
  EXPECT_TRUE(ParseConfig("vendors:\n  - name: x\n    kind: mixpanel\n    batch_max_bytes: 1KiB\n", "t.yaml").ok());
  for (const char* n : {"0", "17", "-1", "many"}) {
    EXPECT_EQ(ErrorOf(std::string("vendors:\n  - name: x\n    kind: mixpanel\n    connections: ") + n + "\n"),
              "test.yaml:4:18: 'connections' must be a number of connections from 1 to 16")
        << n;
  }
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    key_epoch: 0\n"),
            "test.yaml:4:16: 'key_epoch' must be a positive integer");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy: [a]\n"),
            "test.yaml:4:13: 'policy' must be a mapping");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      allow: a\n"),
            "test.yaml:5:14: 'allow' must be a list of strings");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      drop: [a, {b: c}]\n"),
            "test.yaml:5:17: 'drop' must be a list of strings");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      drop: [a, \"\"]\n"),
            "test.yaml:5:17: 'drop' entries must not be empty");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    api_secret_env: 1SECRET\n"),
            "test.yaml:4:21: 'api_secret_env' must name an environment variable (letters, digits and '_', "
            "not starting with a digit); the secret itself never goes in the config");
}

TEST_F(ConfigTest, BadListen) {
  EXPECT_EQ(ErrorOf(std::string("listen: 8080\n") + kVendor),
            "test.yaml:1:9: 'listen' must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (got '8080')");
  EXPECT_EQ(ErrorOf(std::string("listen: example.com:80\n") + kVendor),
            "test.yaml:1:9: 'listen' host 'example.com' is not an IPv4 address, a bracketed IPv6 address or "
            "localhost");
  EXPECT_EQ(ErrorOf(std::string("listen: 127.0.0.1:65536\n") + kVendor),
            "test.yaml:1:9: 'listen' port '65536' must be an integer from 0 to 65535");
  EXPECT_EQ(ErrorOf(std::string("listen: \"127.0.0.1:\"\n") + kVendor),
            "test.yaml:1:9: 'listen' port '' must be an integer from 0 to 65535");
  EXPECT_EQ(ErrorOf(std::string("listen: \"::1:80\"\n") + kVendor),
            "test.yaml:1:9: 'listen' IPv6 host must be in brackets, e.g. [::1]:8080 (got '::1:80')");
  EXPECT_EQ(ErrorOf(std::string("listen: \"[::g]:80\"\n") + kVendor),
            "test.yaml:1:9: 'listen' host '::g' is not an IPv4 address, a bracketed IPv6 address or localhost");
}

TEST_F(ConfigTest, BadCidr) {
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "trusted_proxies:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n"),
            "test.yaml:6:5: 'trusted_proxies' entry '10.0.0.0/33' is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, "
            "2001:db8::/32, 192.0.2.1)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "trusted_proxies: [\"fe80::1%eth0\"]\n"),
            "test.yaml:4:19: 'trusted_proxies' entry 'fe80::1%eth0' is not an IPv4 or IPv6 CIDR (e.g. "
            "10.0.0.0/8, 2001:db8::/32, 192.0.2.1)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "trusted_proxies: [\"::/129\"]\n"),
            "test.yaml:4:19: 'trusted_proxies' entry '::/129' is not an IPv4 or IPv6 CIDR (e.g. "
            "10.0.0.0/8, 2001:db8::/32, 192.0.2.1)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "trusted_proxies: [10.0.0/8]\n"),
            "test.yaml:4:19: 'trusted_proxies' entry '10.0.0/8' is not an IPv4 or IPv6 CIDR (e.g. "
            "10.0.0.0/8, 2001:db8::/32, 192.0.2.1)");
}

TEST_F(ConfigTest, MissingGeoipFile) {
  const std::string missing = (dir_ / "nope.mmdb").string();
  EXPECT_EQ(ErrorOf("geoip_db: " + missing + "\n" + kVendor),
            "test.yaml:1:11: 'geoip_db' file '" + missing + "': No such file or directory");
  EXPECT_EQ(ErrorOf("geoip_db: " + dir_.string() + "\n" + kVendor),
            "test.yaml:1:11: 'geoip_db' file '" + dir_.string() + "': not a regular file");
}

TEST_F(ConfigTest, TlsCaFileIsAReadablePemFileForAnHttpsEndpoint) {
  const std::string ca = WriteFile("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const std::string vendor = "vendors:\n  - name: x\n    kind: mixpanel\n    endpoint: https://mp.internal\n";
  StatusOr<Config> parsed = ParseConfig(vendor + "    tls_ca_file: " + ca + "\n", "t.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->vendors[0].tls_ca_file, ca);
  EXPECT_FALSE(ParseConfig(vendor, "t.yaml")->vendors[0].tls_ca_file.has_value());  // the system's store

  const std::string missing = (dir_ / "nope.pem").string();
  EXPECT_EQ(ErrorOf(vendor + "    tls_ca_file: " + missing + "\n"),
            "test.yaml:5:18: 'tls_ca_file' '" + missing + "': No such file or directory");
  const std::string key = WriteFile("key.pem", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
  EXPECT_EQ(ErrorOf(vendor + "    tls_ca_file: " + key + "\n"),
            "test.yaml:5:18: 'tls_ca_file' '" + key +
                "': no PEM certificate in it (a '-----BEGIN CERTIFICATE-----' block)");
  EXPECT_EQ(ErrorOf(vendor + "    tls_ca_file: " + dir_.string() + "\n"),
            "test.yaml:5:18: 'tls_ca_file' '" + dir_.string() + "': not a regular file");
  const std::string big = WriteFile("big.pem", std::string((1 << 20) + 1, 'x'));
  EXPECT_EQ(ErrorOf(vendor + "    tls_ca_file: " + big + "\n"),
            "test.yaml:5:18: 'tls_ca_file' '" + big + "': larger than 1 MiB");
  // Plain HTTP has no certificate to check; shadow mode has no endpoint at all.
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    endpoint: http://127.0.0.1:9000\n"
                    "    tls_ca_file: " + ca + "\n"),
            "test.yaml:5:18: 'tls_ca_file' needs an https:// endpoint (it says whom to trust for TLS)");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    tls_ca_file: " + ca + "\n"),
            "test.yaml:4:18: 'tls_ca_file' needs an https:// endpoint (it says whom to trust for TLS)");
}

TEST_F(ConfigTest, BadKind) {
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: segment\n"),
            "test.yaml:3:11: unknown vendor kind 'segment' (supported: mixpanel)");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n"), "test.yaml:2:5: vendor 'x' is missing required key 'kind'");
}

TEST_F(ConfigTest, DuplicateVendor) {
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n  - kind: mixpanel\n    name: x\n"),
            "test.yaml:5:11: duplicate vendor name 'x' (first defined at line 2)");
}

TEST_F(ConfigTest, MissingOrBadVendorName) {
  EXPECT_EQ(ErrorOf("vendors:\n  - kind: mixpanel\n"), "test.yaml:2:5: vendor #1 is missing required key 'name'");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: Mixpanel\n    kind: mixpanel\n"),
            "test.yaml:2:11: vendor name 'Mixpanel' must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: " + std::string(65, 'a') + "\n    kind: mixpanel\n"),
            "test.yaml:2:11: vendor name '" + std::string(65, 'a') +
                "' must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
  EXPECT_EQ(ErrorOf("vendors:\n  - just-a-string\n"),
            "test.yaml:2:5: each entry of 'vendors' must be a mapping with 'name' and 'kind'");
}

TEST_F(ConfigTest, BadEndpointUrl) {
  auto with_endpoint = [](const std::string& url) {
    return ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    endpoint: " + url + "\n");
  };
  const std::string prefix = "test.yaml:4:15: ";
  const auto bad = [&](const std::string& url) {
    return prefix + "'endpoint' must be an http:// or https:// URL with a host, e.g. https://api.mixpanel.com (got '" +
           url + "')";
  };
  EXPECT_EQ(with_endpoint("ftp://api.mixpanel.com"), bad("ftp://api.mixpanel.com"));
  EXPECT_EQ(with_endpoint("api.mixpanel.com"), bad("api.mixpanel.com"));
  EXPECT_EQ(with_endpoint("https:///track"), bad("https:///track"));
  EXPECT_EQ(with_endpoint("https://"), bad("https://"));
  EXPECT_EQ(with_endpoint("\"https://a b\""), prefix + "'endpoint' must not contain spaces or control characters");
  EXPECT_EQ(with_endpoint("https://api.mixpanel.com/?x=1"),
            prefix + "'endpoint' must not have a query or fragment (got 'https://api.mixpanel.com/?x=1')");
  EXPECT_EQ(with_endpoint("\"https://api.mixpanel.com/#f\""),
            prefix + "'endpoint' must not have a query or fragment (got 'https://api.mixpanel.com/#f')");
  EXPECT_EQ(with_endpoint("https://u:p@api.mixpanel.com"),
            prefix + "'endpoint' must not contain credentials; give the secret with 'api_secret_env'");
  EXPECT_EQ(with_endpoint("https://api.mixpanel.com:99999"),
            prefix + "'endpoint' port '99999' must be an integer from 1 to 65535");
  EXPECT_EQ(with_endpoint("https://[::1]:8443/"), "<parsed ok>");
}

TEST_F(ConfigTest, BadGlob) {
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      allow:\n        - ok_*\n"
                    "        - \"$utm_[a-z]*\"\n"),
            "test.yaml:7:11: 'allow' entry '$utm_[a-z]*' uses unsupported glob syntax '['; only '*' and '?' are "
            "wildcards");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      drop: [\"{a,b}\"]\n"),
            "test.yaml:5:14: 'drop' entry '{a,b}' uses unsupported glob syntax '{'; only '*' and '?' are "
            "wildcards");
}

TEST_F(ConfigTest, BadEnumValue) {
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      ip: keep\n"),
            "test.yaml:5:11: 'ip' must be one of drop, truncate (got 'keep')");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      location: city\n"),
            "test.yaml:5:17: 'location' must be one of none, country, region (got 'city')");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      urls: [keep]\n"),
            "test.yaml:5:13: 'urls' must be one of origin, keep");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    policy:\n      user_agent: raw\n"),
            "test.yaml:5:19: 'user_agent' must be one of family, keep (got 'raw')");
  EXPECT_EQ(ErrorOf("vendors:\n  - name: x\n    kind: mixpanel\n    api: engage\n"),
            "test.yaml:4:10: 'api' must be one of track, import (got 'engage')");
}

TEST_F(ConfigTest, EmptyVendors) {
  EXPECT_EQ(ErrorOf("vendors: []\n"), "test.yaml:1:10: 'vendors' must be a non-empty list of vendors");
  EXPECT_EQ(ErrorOf("vendors:\n"), "test.yaml:1:1: 'vendors' must be a non-empty list of vendors");
}

TEST_F(ConfigTest, LoadConfigReadsAFileAndNamesItInErrors) {
  const std::string good = WriteFile("good.yaml", kVendor);
  StatusOr<Config> config = LoadConfig(good);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->source, good);
  EXPECT_EQ(config->vendors[0].name, "mp");

  const std::string bad = WriteFile("bad.yaml", std::string(kVendor) + "colour: blue\n");
  config = LoadConfig(bad);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), bad + ":4:1: unknown key 'colour'");
}

TEST_F(ConfigTest, MissingFile) {
  const std::string missing = (dir_ / "missing.yaml").string();
  StatusOr<Config> config = LoadConfig(missing);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kIOError);
  EXPECT_EQ(config.status().message(), missing + ": cannot read config: No such file or directory");

  config = LoadConfig(dir_.string());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), dir_.string() + ": cannot read config: Is a directory");
}

}  // namespace
}  // namespace vg

namespace vg {
namespace {

TEST(ConfigPii, DefaultThenPerTypeActions) {
  auto c = ParseConfig(
      "vendors:\n  - name: m\n    kind: mixpanel\n    policy:\n      pii:\n        email: block-event\n        default: drop-property\n        secret: allow\n",
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const auto& pii = c->vendors[0].policy.pii;
  EXPECT_EQ(pii[static_cast<int>(PiiType::kEmail)], PiiAction::kBlockEvent);
  EXPECT_EQ(pii[static_cast<int>(PiiType::kSecret)], PiiAction::kAllow);
  EXPECT_EQ(pii[static_cast<int>(PiiType::kPhone)], PiiAction::kDropProperty);
  EXPECT_EQ(ToString(PiiAction::kDropProperty), "drop-property");
}

TEST(ConfigPii, StrictDefaultRedactsEveryType) {
  const Config config = DefaultConfig();
  for (PiiAction a : config.vendors[0].policy.pii) EXPECT_EQ(a, PiiAction::kRedact);
}

TEST(ConfigPii, UnknownTypeAndActionAreErrors) {
  auto c = ParseConfig("vendors:\n  - name: m\n    kind: mixpanel\n    policy:\n      pii:\n        emial: redact\n", "t.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("t.yaml:6:9: unknown PII type 'emial'", 0), 0u) << c.status().message();
  c = ParseConfig("vendors:\n  - name: m\n    kind: mixpanel\n    policy:\n      pii:\n        email: scrub\n", "t.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("t.yaml:6:16: 'email' must be one of redact, drop-property, block-event, allow", 0), 0u)
      << c.status().message();
}

}  // namespace
}  // namespace vg

namespace vg {
namespace {

TEST(ConfigSpoolAdmin, DefaultsAndEveryKey) {
  StatusOr<Config> c = ParseConfig(kVendor, "min.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->spool_fsync, "always");
  EXPECT_EQ(c->spool_quota_bytes, 1ull << 30);
  EXPECT_EQ(c->spool_segment_bytes, 64ull << 20);
  EXPECT_EQ(c->AdminSocketPath(), "./vendorguard-data/admin.sock");
  EXPECT_EQ(c->metrics_allow, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));

  c = ParseConfig(std::string(kVendor) +
                      "data_dir: /var/lib/vg\nspool:\n  fsync: interval\n  quota: 2GiB\n  segment_size: 512KiB\n"
                      "admin:\n  socket: /run/vg/admin.sock\nmetrics_allow: [10.0.0.0/8]\n",
                  "full.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->spool_fsync, "interval");
  EXPECT_EQ(c->spool_quota_bytes, 2ull << 30);
  EXPECT_EQ(c->spool_segment_bytes, 512ull << 10);
  EXPECT_EQ(c->AdminSocketPath(), "/run/vg/admin.sock");
  EXPECT_EQ(c->metrics_allow, (std::vector<std::string>{"10.0.0.0/8"}));
  c = ParseConfig(std::string(kVendor) + "data_dir: /d\nspool:\n  quota: 10000000\n  segment_size: 65536\n", "b.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->spool_quota_bytes, 10000000u);
  EXPECT_EQ(c->AdminSocketPath(), "/d/admin.sock");
}

TEST(ConfigSpoolAdmin, ErrorsNameThePosition) {
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "spool:\n  fsync: sometimes\n"),
            "test.yaml:5:10: 'fsync' must be always, interval or never");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "spool:\n  quota: lots\n"),
            "test.yaml:5:10: 'quota' must be a size in bytes, optionally with KiB, MiB or GiB (e.g. 1GiB), at least "
            "1048576");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "spool:\n  quota: 100MiB\n  segment_size: 64MiB\n"),
            "test.yaml:5:3: 'spool': quota must be at least twice segment_size");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "spool:\n  fsycn: always\n"),
            "test.yaml:5:3: unknown key 'fsycn' in 'spool' (did you mean 'fsync'?)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "spool: 5\n"),
            "test.yaml:4:8: 'spool' must be a mapping (fsync, quota, segment_size)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "admin:\n  sock: /x\n"),
            "test.yaml:5:3: unknown key 'sock' in 'admin' (did you mean 'socket'?)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "metrics_allow: [10.0.0.0/33]\n"),
            "test.yaml:4:17: 'metrics_allow' entry '10.0.0.0/33' is not an IPv4 or IPv6 CIDR");
}

}  // namespace
}  // namespace vg

namespace vg {
namespace {

TEST(ConfigVendorDeclarations, ParsedAndValidated) {
  StatusOr<Config> c = ParseConfig(
      "vendors:\n  - name: mp\n    kind: mixpanel\n    purpose: product analytics\n    legal_basis: consent\n"
      "    destination_country: US\n    retention_days: 365\n",
      "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->vendors[0].purpose, "product analytics");
  EXPECT_EQ(c->vendors[0].legal_basis, "consent");
  EXPECT_EQ(c->vendors[0].destination_country, "US");
  EXPECT_EQ(c->vendors[0].retention_days, 365u);
  c = ParseConfig(kVendor, "min.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->vendors[0].purpose, "");
  EXPECT_FALSE(c->vendors[0].retention_days.has_value());

  EXPECT_EQ(ErrorOf(std::string(kVendor) + "    legal_basis: because\n"),
            "test.yaml:4:18: 'legal_basis' must be one of consent, contract, legal_obligation, vital_interests, "
            "public_task, legitimate_interests (GDPR Art. 6(1))");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "    destination_country: usa\n"),
            "test.yaml:4:26: 'destination_country' must be an ISO 3166-1 alpha-2 code in capitals, e.g. US or DE");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "    retention_days: 0\n"),
            "test.yaml:4:21: 'retention_days' must be a number of days from 1 to 36500");
}

}  // namespace
}  // namespace vg

namespace vg {
namespace {

TEST(OrganizationConfigTest, ParsesAndBuildsNoticeUrls) {
  auto c = ParseConfig(std::string("organization:\n  name: Acme Ltd\n  contact: dpo@acme.test\n  domain: acme.test\n"
                                   "  notice_url: https://security.acme.test/n/{id}?v=1\n") + kVendor,
                       "test.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->organization.name, "Acme Ltd");
  EXPECT_EQ(c->organization.contact, "dpo@acme.test");
  EXPECT_EQ(c->organization.NoticeUrl("N-42"), "https://security.acme.test/n/N-42?v=1");
  auto d = ParseConfig(std::string("organization:\n  domain: acme.test\n") + kVendor, "test.yaml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->organization.NoticeUrl("N-1"), "https://acme.test/notices/N-1");
}

TEST(OrganizationConfigTest, NoticesLinkOnlyToTheCompanysOwnDomain) {
  const std::string org = "organization:\n  domain: acme.test\n  notice_url: ";
  EXPECT_NE(ErrorOf(org + "https://evil.test/{id}\n" + kVendor).find("notice_url must be an https URL on 'acme.test'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(org + "https://acme.test.evil.test/{id}\n" + kVendor).find("notice_url must be"), std::string::npos);
  EXPECT_NE(ErrorOf(org + "https://notacme.test/{id}\n" + kVendor).find("notice_url must be"), std::string::npos);
  EXPECT_NE(ErrorOf(org + "http://acme.test/{id}\n" + kVendor).find("notice_url must be"), std::string::npos);
  EXPECT_NE(ErrorOf(org + "https://acme.test/notices\n" + kVendor).find("must contain {id}"), std::string::npos);
  EXPECT_NE(ErrorOf("organization:\n  domain: Not A Host\n" + std::string(kVendor)).find("is not a host name"),
            std::string::npos);
  EXPECT_NE(ErrorOf("organization:\n  colour: red\n" + std::string(kVendor)).find("colour"), std::string::npos);
}

}  // namespace
}  // namespace vg

namespace vg {
namespace {

// `ledger:` is the gateway's own retention of its records, distinct from a vendor's retention_days.
TEST(ConfigLedger, RetentionDefaultsAndKeys) {
  StatusOr<Config> c = ParseConfig(kVendor, "min.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->ledger_retention_days.has_value());  // keep forever
  EXPECT_EQ(c->ledger_retention_check_interval_s, 3600u);

  c = ParseConfig(std::string(kVendor) + "    retention_days: 30\nledger:\n  retention_days: 730\n"
                                         "  retention_check_interval: 5\n",
                  "l.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ledger_retention_days, 730u);
  EXPECT_EQ(c->ledger_retention_check_interval_s, 5u);
  EXPECT_EQ(c->vendors[0].retention_days, 30u);  // the vendor's own, unaffected

  c = ParseConfig(std::string(kVendor) + "ledger:\n  retention_days: 1\n", "l.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ledger_retention_days, 1u);
  EXPECT_EQ(c->ledger_retention_check_interval_s, 3600u);
}

TEST(ConfigLedger, ErrorsNameThePosition) {
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "ledger:\n  retention_days: 0\n"),
            "test.yaml:5:19: 'retention_days' must be a number of days from 1 to 36500 (leave it out to keep the "
            "ledger forever)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "ledger:\n  retention_days: -3\n"),
            "test.yaml:5:19: 'retention_days' must be a number of days from 1 to 36500 (leave it out to keep the "
            "ledger forever)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "ledger:\n  retention_days: a year\n"),
            "test.yaml:5:19: 'retention_days' must be a number of days from 1 to 36500 (leave it out to keep the "
            "ledger forever)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "ledger:\n  retention_check_interval: 0\n"),
            "test.yaml:5:29: 'retention_check_interval' must be a number of seconds from 1 to 86400");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "ledger:\n  retention_check_interval: 86401\n"),
            "test.yaml:5:29: 'retention_check_interval' must be a number of seconds from 1 to 86400");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "ledger:\n  retention_day: 30\n"),
            "test.yaml:5:3: unknown key 'retention_day' in 'ledger' (did you mean 'retention_days'?)");
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "ledger: 30\n"),
            "test.yaml:4:9: 'ledger' must be a mapping (retention_days, retention_check_interval)");
}

TEST(ConfigAdminHttp, DefaultsLoopbackAndTls) {
  StatusOr<Config> c = ParseConfig(kVendor, "min.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->admin_http.enabled);
  EXPECT_EQ(c->admin_http.host, "127.0.0.1");
  EXPECT_EQ(c->admin_http.port, 8081);
  EXPECT_FALSE(c->admin_http.tls());
  EXPECT_EQ(c->admin_http.session_idle_minutes, 30u);
  EXPECT_EQ(c->admin_http.session_max_hours, 12u);

  c = ParseConfig(std::string(kVendor) + "admin:\n  listen: off\n", "off.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->admin_http.enabled);
  c = ParseConfig(std::string(kVendor) +
                      "admin:\n  listen: 0.0.0.0:9443\n  tls_cert: /etc/vg/cert.pem\n  tls_key: /etc/vg/key.pem\n"
                      "  session_idle_minutes: 10\n  session_max_hours: 8\n",
                  "tls.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->admin_http.host, "0.0.0.0");
  EXPECT_EQ(c->admin_http.port, 9443);
  EXPECT_TRUE(c->admin_http.tls());
  EXPECT_EQ(c->admin_http.session_idle_minutes, 10u);
  // Loopback addresses need no TLS; anything else does unless explicitly told otherwise.
  for (const char* host : {"127.0.0.1:0", "[::1]:8081", "localhost:8081", "127.0.0.2:8081"}) {
    EXPECT_TRUE(ParseConfig(std::string(kVendor) + "admin:\n  listen: \"" + host + "\"\n", "l.yaml").ok()) << host;
  }
  c = ParseConfig(std::string(kVendor) + "admin:\n  listen: 0.0.0.0:8081\n  allow_insecure_remote: true\n", "i.yaml");
  EXPECT_TRUE(c.ok()) << c.status().message();
}

TEST(ConfigAdminHttp, ANonLoopbackListenerWithoutTlsIsRefused) {
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "admin:\n  listen: 0.0.0.0:8081\n"),
            "test.yaml:5:11: 'admin': the admin listener on '0.0.0.0' (not a loopback address) needs TLS: set "
            "tls_cert and tls_key, or set allow_insecure_remote: true if something else (a TLS proxy) protects it");
  EXPECT_NE(ErrorOf(std::string(kVendor) + "admin:\n  listen: \"[2001:db8::1]:8081\"\n").find("needs TLS"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(std::string(kVendor) + "admin:\n  tls_cert: /c.pem\n"),
            "test.yaml:5:3: 'admin': tls_cert and tls_key go together (a certificate chain and its private key, PEM)");
  EXPECT_NE(ErrorOf(std::string(kVendor) + "admin:\n  listen: nowhere\n").find("HOST:PORT"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kVendor) + "admin:\n  session_idle_minutes: 0\n").find("from 1 to 1440"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kVendor) + "admin:\n  session_idle_minutes: 120\n  session_max_hours: 1\n")
                .find("must not exceed"),
            std::string::npos);
}

}  // namespace
}  // namespace vg
