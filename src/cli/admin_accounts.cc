// `vendorguard admin ...` (issue #7): the admin accounts of the console and admin API, managed on the host.
//
//   admin user add NAME --role viewer|operator|admin [--password-stdin] [--qr-svg FILE]
//                                      a new account with a mandatory TOTP second factor: prints the
//                                      otpauth URI, the secret and ten recovery codes (shown once), and on a
//                                      terminal the QR code to scan
//   admin user remove NAME             also ends its sessions and revokes the API tokens it created
//   admin user list
//   admin user reset-mfa NAME [--qr-svg FILE]
//                                      a new TOTP secret and recovery codes (a lost phone); ends its sessions
//   admin token create --label L --role R --expires 30d|12h|ISO8601
//                                      an API token for automation, printed once
//   admin token list
//   admin token revoke ID
//
// Every subcommand takes --config FILE (the store is <data_dir>/admin/accounts.db) and --format text|json.
// Works while the gateway runs (both use the same SQLite file); the changes reach the gateway's ledger
// through the store's audit outbox, with the actor "<unix user> (uid N) on the host".
// Exit codes: 0 done, 1 refused (no such user or token, the name exists already), 2 usage, config or I/O
// error.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "auth/account_store.h"
#include "auth/qr_svg.h"
#include "cli/commands.h"
#include "common/files.h"
#include "common/time_text.h"
#include "config/config.h"
#include "wire/mixpanel.h"

namespace vg::cli {
namespace {

using auth::AccountStore;
using auth::Role;

struct Options {
  std::string config_path;
  std::string format = "text";
  std::string name;
  std::string role;
  bool password_stdin = false;
  std::string qr_svg;
  std::string label;
  std::string expires;
  std::string id;
};

int Fail(int code, const std::string& message) {
  std::cerr << "vendorguard: " << message << "\n";
  return code;
}

// 1 for a refusal of a well-formed request, 2 for everything else.
int ExitCode(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound:
    case Status::Code::kAlreadyExists:
    case Status::Code::kPermissionDenied:
    case Status::Code::kFailedPrecondition:
      return 1;
    default:
      return 2;
  }
}

StatusOr<std::unique_ptr<AccountStore>> OpenStore(const Options& o) {
  auto config = o.config_path.empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(o.config_path);
  if (!config.ok()) return config.status();
  auth::AccountStoreOptions opts;
  opts.path = (std::filesystem::path(config->data_dir) / "admin" / "accounts.db").string();
  return AccountStore::Open(std::move(opts));
}

// Reads one line from the terminal without echo. False when stdin is not a terminal or on EOF.
bool ReadHidden(const char* prompt, std::string* out) {
  std::cerr << prompt << std::flush;
  termios old{};
  if (tcgetattr(STDIN_FILENO, &old) != 0) return false;
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) return false;
  const bool ok = static_cast<bool>(std::getline(std::cin, *out));
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (!out->empty() && out->back() == '\r') out->pop_back();
  return ok;
}

// The new account's password: all of stdin (one trailing newline removed) with --password-stdin, else
// typed twice on the terminal.
StatusOr<std::string> ReadPassword(const Options& o) {
  std::string pw;
  if (o.password_stdin) {
    pw.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (!pw.empty() && pw.back() == '\n') pw.pop_back();
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
  }
  if (isatty(STDIN_FILENO) != 1) {
    return Status::InvalidArgument("stdin is not a terminal: pass the password with --password-stdin");
  }
  std::string again;
  if (!ReadHidden("Password for the new admin user: ", &pw) || !ReadHidden("Repeat it: ", &again)) {
    return Status::InvalidArgument("no password entered");
  }
  const bool same = pw == again;
  sodium_memzero(again.data(), again.size());
  if (!same) {
    sodium_memzero(pw.data(), pw.size());
    return Status::InvalidArgument("the two passwords differ");
  }
  return pw;
}

Status WritePrivateFile(const std::string& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  Status s = ::fchmod(fd, 0600) == 0 ? WriteAllTo(fd, path, data) : Status::IOError(path + ": " + std::strerror(errno));
  ::close(fd);
  return s;
}

std::string When(int64_t us) { return us <= 0 ? "-" : IsoTime(us, false); }

// The enrollment as shown once, after add and reset-mfa.
int ShowEnrollment(const Options& o, const auth::Enrollment& e, Role role, bool reset) {
  if (!o.qr_svg.empty()) {
    if (Status s = WritePrivateFile(o.qr_svg, e.qr_svg); !s.ok()) {
      return Fail(2, s.message() + " (the account was " + (reset ? "reset" : "created") +
                         "; run admin user reset-mfa to get a new secret)");
    }
  }
  if (o.format == "json") {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Key("user");
    w.String(e.user);
    w.Key("role");
    w.String(auth::RoleName(role));
    w.Key("otpauth_uri");
    w.String(e.otpauth_uri);
    w.Key("totp_secret");
    w.String(e.totp_secret_base32);
    w.Key("recovery_codes");
    w.BeginArray();
    for (const std::string& c : e.recovery_codes) w.String(c);
    w.EndArray();
    if (!o.qr_svg.empty()) {
      w.Key("qr_svg_file");
      w.String(o.qr_svg);
    }
    w.EndObject();
    std::cout << out << "\n";
    return 0;
  }
  std::cout << (reset ? "New second factor for admin user '" : "Admin user '") << e.user << "' ("
            << auth::RoleName(role) << ")" << (reset ? "; the old secret, recovery codes and sessions no longer work.\n"
                                                     : " added.\n");
  std::cout << "Add it to an authenticator app (scan the QR code, or enter the secret by hand):\n";
  if (isatty(STDOUT_FILENO) == 1) {
    auto qr = auth::QrTerminalText(e.otpauth_uri);
    if (qr.ok()) std::cout << *qr;
  }
  std::cout << "  otpauth URI: " << e.otpauth_uri << "\n";
  std::cout << "  secret:      " << e.totp_secret_base32 << "\n";
  if (!o.qr_svg.empty()) std::cout << "  QR code:     " << o.qr_svg << "\n";
  std::cout << "Recovery codes (shown once; store them safely; each works once in place of a code):\n";
  for (const std::string& c : e.recovery_codes) std::cout << "  " << c << "\n";
  return 0;
}

// "30d", "12h", "90m" from now, or an ISO 8601 time.
StatusOr<int64_t> ParseExpiry(const std::string& text, int64_t now_us) {
  if (text.size() >= 2 && (text.back() == 'd' || text.back() == 'h' || text.back() == 'm')) {
    const std::string digits = text.substr(0, text.size() - 1);
    if (digits.find_first_not_of("0123456789") == std::string::npos && digits.size() <= 6) {
      const int64_t n = std::stoll(digits);
      const int64_t unit = text.back() == 'd' ? kUsPerDay : text.back() == 'h' ? 3600 * kUsPerSecond : 60 * kUsPerSecond;
      if (n <= 0) return Status::InvalidArgument("--expires: the duration must be positive");
      return now_us + n * unit;
    }
  }
  auto t = ParseTime("--expires", text);
  if (!t.ok()) {
    return Status::InvalidArgument(t.status().message() + " (or give a duration such as 30d, 12h or 90m)");
  }
  return t->us;
}

void AddCommon(CLI::App* cmd, Options* o) {
  cmd->add_option("--config,-c", o->config_path, "YAML config file (default: the embedded default config)");
  cmd->add_option("--format", o->format, "output format")->check(CLI::IsMember({"text", "json"}));
}

const std::vector<std::string> kRoles = {"viewer", "operator", "admin"};

}  // namespace

std::function<int()> AddAdmin(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("admin", "Manage the admin accounts (TOTP required) and API tokens");
  cmd->require_subcommand(1);
  auto* user = cmd->add_subcommand("user", "Admin user accounts");
  user->require_subcommand(1);
  auto* add = user->add_subcommand("add", "Add an admin user; prints its TOTP secret and recovery codes once");
  add->add_option("NAME", o->name, "user name: 1 to 64 characters from A-Z a-z 0-9 . _ @ -")->required();
  add->add_option("--role", o->role, "viewer, operator or admin")->required()->check(CLI::IsMember(kRoles));
  add->add_flag("--password-stdin", o->password_stdin, "read the password from stdin (else typed twice on the terminal)");
  add->add_option("--qr-svg", o->qr_svg, "also write the enrollment QR code as an SVG file (mode 0600)");
  AddCommon(add, o.get());
  auto* remove = user->add_subcommand("remove", "Remove an admin user, end its sessions and revoke its API tokens");
  remove->add_option("NAME", o->name, "user name")->required();
  AddCommon(remove, o.get());
  auto* list = user->add_subcommand("list", "List the admin users");
  AddCommon(list, o.get());
  auto* reset = user->add_subcommand("reset-mfa", "Give a user a new TOTP secret and recovery codes (ends its sessions)");
  reset->add_option("NAME", o->name, "user name")->required();
  reset->add_option("--qr-svg", o->qr_svg, "also write the enrollment QR code as an SVG file (mode 0600)");
  AddCommon(reset, o.get());

  auto* token = cmd->add_subcommand("token", "API tokens for automation");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "Create an API token; prints it once");
  create->add_option("--label", o->label, "what the token is for (1 to 64 characters)")->required();
  create->add_option("--role", o->role, "viewer, operator or admin")->required()->check(CLI::IsMember(kRoles));
  create->add_option("--expires", o->expires, "30d, 12h, 90m from now, or an ISO 8601 time")->required();
  AddCommon(create, o.get());
  auto* tlist = token->add_subcommand("list", "List the API tokens that are not revoked");
  AddCommon(tlist, o.get());
  auto* revoke = token->add_subcommand("revoke", "Revoke an API token");
  revoke->add_option("ID", o->id, "the token id (8 hex digits; token list shows them)")->required();
  AddCommon(revoke, o.get());

  return [=]() -> int {
    // Read the password before opening the store, so a refused password touches nothing.
    std::string password;
    if (add->parsed()) {
      auto pw = ReadPassword(*o);
      if (!pw.ok()) return Fail(2, pw.status().message());
      password = std::move(*pw);
    }
    auto store = OpenStore(*o);
    if (!store.ok()) {
      sodium_memzero(password.data(), password.size());
      return Fail(2, store.status().message());
    }
    const std::string actor = auth::HostActor();
    const Role role = auth::ParseRole(o->role).value_or(Role::kViewer);
    const bool json = o->format == "json";

    if (add->parsed() || reset->parsed()) {
      auto e = add->parsed() ? (*store)->AddUser(o->name, password, role, actor) : (*store)->ResetMfa(o->name, actor);
      sodium_memzero(password.data(), password.size());
      if (!e.ok()) return Fail(ExitCode(e.status()), e.status().message());
      Role shown = role;
      if (reset->parsed()) {
        auto users = (*store)->ListUsers();
        if (users.ok()) {
          for (const auto& u : *users) {
            if (u.name == o->name) shown = u.role;
          }
        }
      }
      return ShowEnrollment(*o, *e, shown, reset->parsed());
    }
    if (remove->parsed()) {
      if (Status s = (*store)->RemoveUser(o->name, actor); !s.ok()) return Fail(ExitCode(s), s.message());
      if (json) {
        std::string out;
        JsonWriter w(&out);
        w.BeginObject();
        w.Key("removed");
        w.String(o->name);
        w.EndObject();
        std::cout << out << "\n";
      } else {
        std::cout << "Admin user '" << o->name << "' removed; its sessions ended and its API tokens revoked.\n";
      }
      return 0;
    }
    if (list->parsed()) {
      auto users = (*store)->ListUsers();
      if (!users.ok()) return Fail(2, users.status().message());
      std::string out;
      if (json) {
        JsonWriter w(&out);
        w.BeginArray();
        for (const auto& u : *users) {
          w.BeginObject();
          w.Key("name");
          w.String(u.name);
          w.Key("role");
          w.String(auth::RoleName(u.role));
          w.Key("created");
          w.String(When(u.created_us));
          w.Key("last_login");
          if (u.last_login_us > 0) w.String(When(u.last_login_us)); else w.Null();
          w.Key("locked_until");
          if (u.locked_until_us > 0) w.String(When(u.locked_until_us)); else w.Null();
          w.Key("recovery_codes_left");
          w.Int(u.recovery_codes_left);
          w.EndObject();
        }
        w.EndArray();
        std::cout << out << "\n";
      } else if (users->empty()) {
        std::cout << "no admin users (add one with: vendorguard admin user add NAME --role admin)\n";
      } else {
        std::printf("%-24s %-9s %-21s %-21s %-21s %s\n", "NAME", "ROLE", "CREATED", "LAST LOGIN", "LOCKED UNTIL",
                    "RECOVERY CODES");
        for (const auto& u : *users) {
          std::printf("%-24s %-9s %-21s %-21s %-21s %d\n", u.name.c_str(), std::string(auth::RoleName(u.role)).c_str(),
                      When(u.created_us).c_str(), When(u.last_login_us).c_str(), When(u.locked_until_us).c_str(),
                      u.recovery_codes_left);
        }
      }
      return 0;
    }
    if (create->parsed()) {
      auto expires = ParseExpiry(o->expires, SystemNowUs());
      if (!expires.ok()) return Fail(2, expires.status().message());
      auto t = (*store)->CreateApiToken(o->label, role, *expires, actor);
      if (!t.ok()) return Fail(ExitCode(t.status()), t.status().message());
      const std::string id = t->substr(4, 8);
      if (json) {
        std::string out;
        JsonWriter w(&out);
        w.BeginObject();
        w.Key("id");
        w.String(id);
        w.Key("token");
        w.String(*t);
        w.Key("label");
        w.String(o->label);
        w.Key("role");
        w.String(auth::RoleName(role));
        w.Key("expires");
        w.String(When(*expires));
        w.EndObject();
        std::cout << out << "\n";
      } else {
        std::cerr << "API token " << id << " (" << auth::RoleName(role) << ", expires " << When(*expires)
                  << "); shown once, store it safely:\n";
        std::cout << *t << "\n";
      }
      sodium_memzero(t->data(), t->size());
      return 0;
    }
    if (tlist->parsed()) {
      auto tokens = (*store)->ListApiTokens();
      if (!tokens.ok()) return Fail(2, tokens.status().message());
      const int64_t now = SystemNowUs();
      if (json) {
        std::string out;
        JsonWriter w(&out);
        w.BeginArray();
        for (const auto& t : *tokens) {
          w.BeginObject();
          w.Key("id");
          w.String(t.id);
          w.Key("label");
          w.String(t.label);
          w.Key("role");
          w.String(auth::RoleName(t.role));
          w.Key("created_by");
          w.String(t.created_by);
          w.Key("created");
          w.String(When(t.created_us));
          w.Key("expires");
          w.String(When(t.expires_us));
          w.Key("expired");
          w.Bool(t.expires_us <= now);
          w.Key("last_used");
          if (t.last_used_us > 0) w.String(When(t.last_used_us)); else w.Null();
          w.EndObject();
        }
        w.EndArray();
        std::cout << out << "\n";
      } else if (tokens->empty()) {
        std::cout << "no API tokens\n";
      } else {
        std::printf("%-8s  %-20s %-9s %-21s %-21s %s\n", "ID", "LABEL", "ROLE", "EXPIRES", "LAST USED", "CREATED BY");
        for (const auto& t : *tokens) {
          std::string exp = When(t.expires_us) + (t.expires_us <= now ? " (expired)" : "");
          std::printf("%-8s  %-20s %-9s %-21s %-21s %s\n", t.id.c_str(), t.label.c_str(),
                      std::string(auth::RoleName(t.role)).c_str(), exp.c_str(), When(t.last_used_us).c_str(),
                      t.created_by.c_str());
        }
      }
      return 0;
    }
    if (revoke->parsed()) {
      if (Status s = (*store)->RevokeApiToken(o->id, actor); !s.ok()) return Fail(ExitCode(s), s.message());
      if (json) {
        std::string out;
        JsonWriter w(&out);
        w.BeginObject();
        w.Key("revoked");
        w.String(o->id);
        w.EndObject();
        std::cout << out << "\n";
      } else {
        std::cout << "API token " << o->id << " revoked.\n";
      }
      return 0;
    }
    return 2;
  };
}

}  // namespace vg::cli
