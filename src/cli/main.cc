#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"vendorguard: a privacy firewall between your products and the analytics vendors they send data to"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vendorguard 0.1.0");
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  auto add = [&](std::function<int()> (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    auto action = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(action));
  };
  add(vg::cli::AddServe);
  add(vg::cli::AddCheckConfig);
  add(vg::cli::AddExplain);
  add(vg::cli::AddKeys);
  add(vg::cli::AddScan);
  add(vg::cli::AddVendor);
  add(vg::cli::AddSpool);
  add(vg::cli::AddLedger);
  add(vg::cli::AddNotice);
  add(vg::cli::AddIncident);
  add(vg::cli::AddAdmin);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  // Logs go to stderr, one line each; stdout is for command output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("vendorguard"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  for (auto& [sub, action] : commands) {
    if (sub->parsed()) return action();
  }
  return 2;
}
