#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "crypto/pseudonymizer.h"
#include "wire/mixpanel.h"

namespace vg::cli {

// `keys status` and `keys rotate`: the pseudonym key file under DATA_DIR/keys. Rotation adds a new epoch
// and makes it current; vendors that pin `key_epoch` keep their pseudonyms, the others change at the
// next start. Old epochs stay in the file so earlier pseudonyms can still be mapped back to users.
std::function<int()> AddKeys(CLI::App& app) {
  auto* cmd = app.add_subcommand("keys", "Inspect or rotate the pseudonym keys");
  cmd->require_subcommand(1);
  auto config_path = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--config,-c", *config_path, "YAML config file (default: the embedded default config)");
  cmd->add_option("--format", *format, "output format")->check(CLI::IsMember({"text", "json"}));
  auto* status = cmd->add_subcommand("status", "Show the key file's current epoch (never the keys)");
  auto* rotate = cmd->add_subcommand("rotate", "Add a new key epoch and make it current");
  return [=]() -> int {
    auto config = config_path->empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(*config_path);
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return 1;
    }
    std::string path = (std::filesystem::path(config->data_dir) / "keys" / "pseudonym.keys").string();
    auto keys = rotate->parsed() ? PseudonymKeyFile::OpenOrCreate(path) : PseudonymKeyFile::Open(path);
    if (!keys.ok()) {
      std::cerr << keys.status().message() << "\n";
      return keys.status().code() == Status::Code::kNotFound ? 1 : 2;
    }
    uint32_t before = keys->current_epoch();
    if (rotate->parsed()) {
      Status s = keys->Rotate();
      if (!s.ok()) {
        std::cerr << s.message() << "\n";
        return 2;
      }
    }
    (void)status;
    if (*format == "json") {
      std::string out;
      JsonWriter w(&out);
      w.BeginObject();
      w.Key("key_file");
      w.String(path);
      w.Key("current_epoch");
      w.Int(keys->current_epoch());
      if (rotate->parsed()) {
        w.Key("previous_epoch");
        w.Int(before);
      }
      w.EndObject();
      std::cout << out << "\n";
    } else if (rotate->parsed()) {
      std::cout << path << ": rotated from epoch " << before << " to " << keys->current_epoch()
                << "; restart the gateway to use it (vendors with key_epoch set keep theirs)\n";
    } else {
      std::cout << path << ": current epoch " << keys->current_epoch() << "\n";
    }
    return 0;
  };
}

}  // namespace vg::cli
