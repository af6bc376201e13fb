#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "server/gateway.h"

namespace vg::cli {

std::function<int()> AddServe(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Run the gateway (with no --config: the embedded default, shadow mode)");
  auto config_path = std::make_shared<std::string>();
  auto port_file = std::make_shared<std::string>();
  cmd->add_option("--config,-c", *config_path, "YAML config file");
  cmd->add_option("--port-file", *port_file, "write the bound port to this file once listening (for tests)");
  return [config_path, port_file]() -> int {
    auto config = config_path->empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(*config_path);
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return 1;
    }
    auto gateway = Gateway::Create(*config);
    if (!gateway.ok()) {
      std::cerr << "vendorguard: " << gateway.status().message() << "\n";
      return 1;
    }
    Status s = (*gateway)->Listen();
    if (!s.ok()) {
      std::cerr << "vendorguard: " << s.message() << "\n";
      return 1;
    }
    if (!port_file->empty()) {
      std::string tmp = *port_file + ".tmp";
      FILE* f = std::fopen(tmp.c_str(), "w");
      if (f == nullptr || std::fprintf(f, "%u\n", (*gateway)->port()) < 0 || std::fclose(f) != 0 ||
          std::rename(tmp.c_str(), port_file->c_str()) != 0) {
        std::cerr << "vendorguard: cannot write " << *port_file << "\n";
        return 2;
      }
    }
    (*gateway)->Run(/*handle_signals=*/true);
    return 0;
  };
}

}  // namespace vg::cli
