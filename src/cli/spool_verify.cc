// `vendorguard spool verify`: a read-only check of the durable spool under <data_dir>/spool (every
// record's checksum, the unit structure, the cursor file), safe while a gateway runs (a tail being written
// may show as torn). Exit codes: 0 clean, 1 problems found (each with its file and offset), 2 the spool
// cannot be read (missing, unreadable, bad config).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/format.h"
#include "config/config.h"
#include "spool/spool.h"
#include "wire/mixpanel.h"

namespace vg::cli {

namespace {

void PrintJson(const std::string& dir, const SpoolVerifyReport& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("dir");
  w.String(dir);
  w.Key("ok");
  w.Bool(r.ok());
  w.Key("segments");
  w.Int(static_cast<int64_t>(r.segments));
  w.Key("records");
  w.Int(static_cast<int64_t>(r.records));
  w.Key("bytes");
  w.Int(static_cast<int64_t>(r.bytes));
  w.Key("first_seq");
  w.Int(static_cast<int64_t>(r.first_seq));
  w.Key("last_seq");
  w.Int(static_cast<int64_t>(r.last_seq));
  w.Key("has_cursor_file");
  w.Bool(r.has_cursor_file);
  w.Key("vendors");
  w.BeginArray();
  for (const auto& v : r.vendors) {
    w.BeginObject();
    w.Key("name");
    w.String(v.name);
    w.Key("acked_seq");
    w.Int(static_cast<int64_t>(v.acked_seq));
    w.Key("records");
    w.Int(static_cast<int64_t>(v.records));
    w.Key("pending_records");
    w.Int(static_cast<int64_t>(v.pending_records));
    w.Key("pending_bytes");
    w.Int(static_cast<int64_t>(v.pending_bytes));
    w.EndObject();
  }
  w.EndArray();
  w.Key("problems");
  w.BeginArray();
  for (const auto& p : r.problems) {
    w.BeginObject();
    w.Key("file");
    w.String(p.file);
    w.Key("offset");
    w.Int(static_cast<int64_t>(p.offset));
    w.Key("message");
    w.String(p.message);
    w.Key("torn_tail");
    w.Bool(p.torn_tail);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::cout << out << "\n";
}

void PrintText(const std::string& dir, const SpoolVerifyReport& r) {
  std::cout << dir << ": " << r.segments << " segment(s), " << r.records << " record(s), " << HumanBytes(r.bytes);
  if (r.records > 0) std::cout << ", sequence " << r.first_seq << ".." << r.last_seq;
  std::cout << (r.has_cursor_file ? "" : ", no cursor file") << "\n";
  if (!r.vendors.empty()) {
    size_t name_width = 6;
    for (const auto& v : r.vendors) name_width = std::max(name_width, v.name.size());
    char line[256];
    std::snprintf(line, sizeof line, "  %-*s  %10s  %10s  %10s  %s\n", static_cast<int>(name_width), "VENDOR",
                  "RECORDS", "ACKED SEQ", "PENDING", "PENDING BYTES");
    std::cout << line;
    for (const auto& v : r.vendors) {
      std::cout << "  " << v.name << std::string(name_width - v.name.size(), ' ');
      std::snprintf(line, sizeof line, "  %10llu  %10llu  %10llu  %s\n", static_cast<unsigned long long>(v.records),
                    static_cast<unsigned long long>(v.acked_seq), static_cast<unsigned long long>(v.pending_records),
                    HumanBytes(v.pending_bytes).c_str());
      std::cout << line;
    }
  }
  if (r.ok()) {
    std::cout << "OK: no damage found\n";
    return;
  }
  std::cout << r.problems.size() << " problem(s):\n";
  for (const auto& p : r.problems) {
    std::cout << "  " << p.file << ":" << p.offset << ": " << p.message;
    if (p.torn_tail) std::cout << " (a torn tail: the gateway truncates it when it starts)";
    std::cout << "\n";
  }
}

}  // namespace

std::function<int()> AddSpool(CLI::App& app) {
  auto* cmd = app.add_subcommand("spool", "Inspect the durable spool");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  auto config_path = std::make_shared<std::string>();
  auto data_dir = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  auto* config_opt = cmd->add_option("--config,-c", *config_path,
                                     "YAML config file whose data_dir holds the spool (default: the embedded default)");
  cmd->add_option("--data-dir", *data_dir, "the gateway's data directory (instead of --config)")->excludes(config_opt);
  cmd->add_option("--format", *format, "output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_subcommand("verify",
                      "Check every segment's records and checksums, read-only: exit 0 clean, 1 problems found "
                      "(file and offset), 2 cannot read");
  return [=]() -> int {
    std::string dir = *data_dir;
    if (dir.empty()) {
      auto config = config_path->empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(*config_path);
      if (!config.ok()) {
        std::cerr << config.status().message() << "\n";
        return 2;
      }
      dir = config->data_dir;
    }
    std::string spool_dir = (std::filesystem::path(dir) / "spool").string();
    auto report = VerifySpool(spool_dir);
    if (!report.ok()) {
      if (report.status().code() == Status::Code::kNotFound) {
        std::cerr << "vendorguard: no spool at " << spool_dir << " (has a gateway run with this data_dir?)\n";
      } else {
        std::cerr << "vendorguard: " << report.status().message() << "\n";
      }
      return 2;
    }
    if (*format == "json") {
      PrintJson(spool_dir, *report);
    } else {
      PrintText(spool_dir, *report);
    }
    return report->ok() ? 0 : 1;
  };
}

}  // namespace vg::cli
