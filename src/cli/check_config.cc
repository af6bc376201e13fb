#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "wire/mixpanel.h"

namespace vg::cli {

std::function<int()> AddCheckConfig(CLI::App& app) {
  auto* cmd = app.add_subcommand("check-config", "Validate a config file: exit 0 if valid, else FILE:LINE:COL: reason and exit 1");
  auto path = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--config,-c", *path, "YAML config file (default: the embedded default config)");
  cmd->add_option("--format", *format, "output format")->check(CLI::IsMember({"text", "json"}));
  return [path, format]() -> int {
    auto config = path->empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(*path);
    std::string name = path->empty() ? "<default>" : *path;
    if (*format == "json") {
      std::string out;
      JsonWriter w(&out);
      w.BeginObject();
      w.Key("config");
      w.String(name);
      w.Key("ok");
      w.Bool(config.ok());
      if (!config.ok()) {
        w.Key("error");
        w.String(config.status().message());
      } else {
        w.Key("vendors");
        w.BeginArray();
        for (const auto& v : config->vendors) {
          w.BeginObject();
          w.Key("name");
          w.String(v.name);
          w.Key("mode");
          w.String(v.endpoint ? "forward" : "shadow");
          w.Key("policy");
          w.String(v.policy.is_default ? "strict-default" : "custom");
          w.EndObject();
        }
        w.EndArray();
        // The gateway's own retention of its disclosure records (null: kept forever).
        w.Key("ledger");
        w.BeginObject();
        w.Key("retention_days");
        config->ledger_retention_days ? w.Int(*config->ledger_retention_days) : w.Null();
        w.Key("retention_check_interval");
        w.Int(config->ledger_retention_check_interval_s);
        w.EndObject();
      }
      w.EndObject();
      std::cout << out << "\n";
      return config.ok() ? 0 : 1;
    }
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return 1;
    }
    std::cout << name << ": OK, " << config->vendors.size() << " vendor(s)\n";
    for (const auto& v : config->vendors) {
      std::cout << "  " << v.name << ": " << (v.endpoint ? "forwarding to " + *v.endpoint : std::string("shadow mode"))
                << ", " << (v.policy.is_default ? "strict default policy" : "custom policy") << "\n";
    }
    if (config->ledger_retention_days) {
      std::cout << "  ledger: disclosure records kept " << *config->ledger_retention_days
                << " day(s), checked every " << config->ledger_retention_check_interval_s << " s\n";
    } else {
      std::cout << "  ledger: disclosure records kept forever (no ledger.retention_days)\n";
    }
    return 0;
  };
}

}  // namespace vg::cli
