#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "server/gateway.h"

namespace vg::cli {

namespace {

// %* in a log pattern: the message as the inside of a JSON string.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (c == '\n') {
        dest.append(std::string_view("\\n"));
      } else if (u < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        dest.append(std::string_view(buf));
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

// Structured logs: one JSON object per line (time, level, thread, msg), for log shippers.
void UseJsonLogs() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%*"})");
  spdlog::set_formatter(std::move(formatter));
}

}  // namespace

std::function<int()> AddServe(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Run the gateway (with no --config: the embedded default, shadow mode)");
  auto config_path = std::make_shared<std::string>();
  auto port_file = std::make_shared<std::string>();
  cmd->add_option("--config,-c", *config_path, "YAML config file");
  cmd->add_option("--port-file", *port_file,
                  "write the bound port to this file once listening, and the admin listener's to FILE.admin (for tests)");
  auto log_format = std::make_shared<std::string>("text");
  cmd->add_option("--log-format", *log_format, "text, or json: one JSON object per log line")
      ->check(CLI::IsMember({"text", "json"}));
  return [config_path, port_file, log_format]() -> int {
    if (*log_format == "json") UseJsonLogs();
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
    if (!port_file->empty() && (*gateway)->admin_port() != 0) {
      // The admin port first, so a test that sees the ingest port finds the admin port too.
      const std::string admin_file = *port_file + ".admin", tmp = admin_file + ".tmp";
      FILE* f = std::fopen(tmp.c_str(), "w");
      if (f == nullptr || std::fprintf(f, "%u\n", (*gateway)->admin_port()) < 0 || std::fclose(f) != 0 ||
          std::rename(tmp.c_str(), admin_file.c_str()) != 0) {
        std::cerr << "vendorguard: cannot write " << admin_file << "\n";
        return 2;
      }
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
