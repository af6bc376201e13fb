#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sodium.h>

#include "cli/commands.h"
#include "config/config.h"
#include "geo/geo_locator.h"
#include "pii/scanner.h"
#include "policy/explain.h"

namespace vg::cli {

std::function<int()> AddExplain(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "explain", "Show what a vendor would receive for Mixpanel-format events, which rule did what, and which data categories leave");
  struct Args {
    std::string config, vendor, input = "-", ip, format = "text";
    bool no_geolocate = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--config,-c", a->config, "YAML config file (default: the embedded default config)");
  cmd->add_option("--vendor", a->vendor, "vendor name from the config")->required();
  cmd->add_option("--ip", a->ip, "the client address the request would come from (default: none)");
  cmd->add_flag("--no-geolocate", a->no_geolocate, "as if the SDK sent ip=0 (the Node SDK's default)");
  cmd->add_option("--format", a->format, "output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("events", a->input, "JSON file with an event, a profile update, or an array of them ('-' = stdin)");
  return [a]() -> int {
    auto config = a->config.empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(a->config);
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return 1;
    }
    std::string text;
    if (a->input == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(a->input, std::ios::binary);
      if (!in) {
        std::cerr << a->input << ": cannot read\n";
        return 2;
      }
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ExplainOptions opts;
    opts.json = a->format == "json";
    opts.geolocate_request_ip = !a->no_geolocate;
    if (!a->ip.empty()) {
      opts.client_ip = IpAddress::Parse(a->ip);
      if (!opts.client_ip) {
        std::cerr << "--ip: '" << a->ip << "' is not an IP address\n";
        return 2;
      }
    }
    std::unique_ptr<GeoLocator> geo;
    if (config->geoip_db) {
      auto g = GeoLocator::Open(*config->geoip_db);
      if (!g.ok()) {
        std::cerr << g.status().message() << "\n";
        return 2;
      }
      geo = std::move(*g);
    }
    // Use the gateway's own key file when there is one, so pseudonyms match what `serve` sends; never
    // create one here. Without it, a throwaway key shows the shape of the output.
    auto key_path = std::filesystem::path(config->data_dir) / "keys" / "pseudonym.keys";
    auto keys = PseudonymKeyFile::Open(key_path.string());
    std::unique_ptr<Pseudonymizer> pseudonymizer;
    if (keys.ok()) {
      const VendorConfig* vendor = nullptr;
      for (const auto& v : config->vendors) {
        if (v.name == a->vendor) vendor = &v;
      }
      uint32_t epoch = vendor && vendor->key_epoch ? *vendor->key_epoch : keys->current_epoch();
      if (!keys->has_epoch(epoch)) {
        std::cerr << "key epoch " << epoch << " is not in " << key_path.string() << "\n";
        return 2;
      }
      pseudonymizer = std::make_unique<Pseudonymizer>(keys->VendorKey(a->vendor, epoch), epoch);
    } else if (keys.status().code() == Status::Code::kNotFound) {
      if (!opts.json) {
        std::cerr << "note: no key file at " << key_path.string()
                  << " (the gateway creates it on first start); pseudonyms below use a throwaway key\n";
      }
      SecretKey k;
      if (sodium_init() < 0) return 2;
      randombytes_buf(k.data(), k.size());
      pseudonymizer = std::make_unique<Pseudonymizer>(k, 1);
    } else {
      std::cerr << keys.status().message() << "\n";
      return 2;
    }
    auto scanner = PiiScanner::Create();
    if (!scanner.ok()) {
      std::cerr << scanner.status().message() << "\n";
      return 2;
    }
    opts.scanner = *scanner;
    auto out = Explain(*config, a->vendor, text, *pseudonymizer, geo.get(), opts);
    if (!out.ok()) {
      std::cerr << out.status().message() << "\n";
      return out.status().code() == Status::Code::kNotFound ? 1 : 2;
    }
    std::cout << *out;
    return 0;
  };
}

}  // namespace vg::cli
