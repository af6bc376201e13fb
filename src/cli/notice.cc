// `vendorguard notice verify FILE`: is this breach notice genuine? Reads a whole message (.eml, as a mail
// server or client saves it) or just its text, and checks the signature block against our notice key.
//
//   notice verify FILE... [--public-key PEM] [--config FILE] [--format text|json] [--export PREFIX]
//
// Several files are checked in one run (a campaign's worth of received messages); each line (or JSON line)
// then starts with / carries the file name.
// The key is --public-key, or <data_dir>/keys/notice.pub of --config (the embedded default config without
// either). The issuer must be the config's organization.domain; with --public-key and no --config the
// issuer is shown but not checked (the key decides). --export writes PREFIX.msg (the exact signed bytes) and
// PREFIX.sig (the raw signature) for an independent check:
//   openssl pkeyutl -verify -pubin -inkey notice.pub -rawin -in PREFIX.msg -sigfile PREFIX.sig
//
// Exit codes: 0 every notice genuine; 1 one or more not genuine (the reason is printed); 2 usage errors, an
// unreadable file or key.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/files.h"
#include "common/json_text.h"
#include "config/config.h"
#include "notify/notice.h"
#include "notify/notice_key.h"

namespace vg::cli {

std::function<int()> AddNotice(CLI::App& app) {
  auto* cmd = app.add_subcommand("notice", "Breach notices: check that a notice is genuine");
  cmd->require_subcommand(1);
  auto* verify = cmd->add_subcommand(
      "verify", "Check a notice (.eml or its text): exit 0 genuine, 1 not genuine (and why), 2 unreadable");
  auto files = std::make_shared<std::vector<std::string>>();
  auto public_key = std::make_shared<std::string>();
  auto config_path = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("text");
  auto export_prefix = std::make_shared<std::string>();
  verify->add_option("FILE", *files, "the notice(s): saved messages (.eml) or their text; - for standard input")
      ->required();
  verify->add_option("--public-key", *public_key, "the notice public key (PEM); default <data_dir>/keys/notice.pub");
  verify->add_option("--config,-c", *config_path, "YAML config (data_dir and organization.domain)");
  verify->add_option("--format", *format, "output format")->check(CLI::IsMember({"text", "json"}));
  verify->add_option("--export", *export_prefix, "write PREFIX.msg and PREFIX.sig for openssl pkeyutl -verify");
  return [=]() -> int {
    auto config = config_path->empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(*config_path);
    if (!config.ok()) {
      std::cerr << "vendorguard: " << config.status().message() << "\n";
      return 2;
    }
    const std::string key_path =
        public_key->empty() ? notify::NoticeKey::PublicKeyPath(config->data_dir) : *public_key;
    auto pem = ReadWholeFile(key_path);
    if (!pem.ok()) {
      std::cerr << "vendorguard: notice public key: " << pem.status().message() << "\n";
      return 2;
    }
    auto key = notify::NoticePublicKey::FromPem(*pem);
    if (!key.ok()) {
      std::cerr << "vendorguard: " << key_path << ": " << key.status().message() << "\n";
      return 2;
    }
    // With an explicit key and no config, the key alone decides; otherwise the issuer must be ours.
    const std::string issuer = public_key->empty() || !config_path->empty() ? config->organization.domain : "";
    if (!export_prefix->empty() && files->size() != 1) {
      std::cerr << "vendorguard: --export takes exactly one notice\n";
      return 2;
    }
    const bool many = files->size() > 1;
    int code = 0;
    for (const std::string& file : *files) {
      std::string bytes;
      if (file == "-") {
        bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        auto read = ReadWholeFile(file);
        if (!read.ok()) {
          std::cerr << "vendorguard: " << read.status().message() << "\n";
          code = 2;
          continue;
        }
        bytes = std::move(*read);
      }
      const notify::NoticeVerification v = notify::VerifyNotice(bytes, *key, issuer);
      if (!v.genuine() && code == 0) code = 1;

      if (!export_prefix->empty()) {
        auto sc = notify::ExtractSignedContent(bytes);
        if (!sc.ok()) {
          std::cerr << "vendorguard: nothing to export: " << sc.status().message() << "\n";
          return 2;
        }
        for (const auto& [suffix, data] : {std::pair<std::string, const std::string*>{".msg", &sc->canonical},
                                           {".sig", &sc->signature}}) {
          if (Status s = ReplaceFileDurably(*export_prefix + suffix, *data, 0644); !s.ok()) {
            std::cerr << "vendorguard: " << s.message() << "\n";
            return 2;
          }
        }
      }

      if (*format == "json") {
        std::string out = "{";
        if (many) {
          out += "\"file\":";
          AppendJsonStringLossy(&out, file);
          out += ",";
        }
        out += "\"genuine\":";
        out += v.genuine() ? "true" : "false";
        out += ",\"verdict\":";
        AppendJsonStringLossy(&out, notify::ToString(v.verdict));
        for (const auto& [name, value] :
             {std::pair<const char*, const std::string*>{"reason", &v.reason}, {"notice_id", &v.notice_id},
              {"issuer", &v.issuer}, {"recipient", &v.recipient}, {"subject", &v.subject}, {"key_id", &v.key_id}}) {
          out += ",\"";
          out += name;
          out += "\":";
          AppendJsonStringLossy(&out, *value);
        }
        out += ",\"our_key_id\":";
        AppendJsonStringLossy(&out, key->key_id);
        out += "}";
        std::cout << out << "\n";
        continue;
      }
      const std::string prefix = many ? file + ": " : "";
      if (v.genuine()) {
        std::cout << prefix << "genuine: notice " << v.notice_id << " from " << v.issuer << " to " << v.recipient
                  << ", signed with key " << v.key_id << "\n";
        if (!many) std::cout << "subject: " << v.subject << "\n";
      } else {
        std::cout << prefix << "NOT GENUINE (" << notify::ToString(v.verdict) << "): " << v.reason << "\n";
      }
    }
    return code;
  };
}

}  // namespace vg::cli
