// `vendorguard vendor ...`: the kill switch and delivery status of a running gateway, through its admin
// endpoint (server/admin_server.h: HTTP on a Unix socket only the gateway's user may open).
//
//   vendor list                      every vendor: state, queue, rates, last error
//   vendor show NAME                 one vendor
//   vendor pause NAME                hold its events in the spool
//   vendor resume NAME               send them again
//   vendor cut NAME [--yes]          stop all sending to it and discard its queued events
//   vendor dead-letters NAME [--limit N] [--show-data]
//   vendor redrive NAME              send its dead letters again
//
// The socket is the config's admin socket (--config; the embedded default config without it), or
// --socket. Exit codes: 0 done, 1 the gateway said no (unknown vendor, already in that state) or a cut
// was not confirmed, 2 usage or I/O error (no gateway answering, permission denied).
#include <simdjson.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "config/config.h"

namespace vg::cli {

namespace {

// --- JSON replies --------------------------------------------------------------------------------------

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view s;
  if (e[key].get(s) != simdjson::SUCCESS) return "";
  return std::string(s);
}
uint64_t UInt(simdjson::dom::element e, const char* key) {
  uint64_t v = 0;
  if (e[key].get(v) != simdjson::SUCCESS) return 0;
  return v;
}
int64_t Int(simdjson::dom::element e, const char* key) {
  int64_t v = 0;
  if (e[key].get(v) != simdjson::SUCCESS) return 0;
  return v;
}
double Num(simdjson::dom::element e, const char* key) {
  double v = 0;
  if (e[key].get(v) != simdjson::SUCCESS) return 0;
  return v;
}
bool Bool(simdjson::dom::element e, const char* key) {
  bool v = false;
  if (e[key].get(v) != simdjson::SUCCESS) return false;
  return v;
}

// The error a non-2xx reply carries, and the exit code for it: 1 when the gateway said no to a valid
// question (unknown vendor, already in that state), 2 otherwise.
Outcome ReplyError(const AdminReply& reply) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(reply.body);
  simdjson::dom::element doc;
  std::string message;
  if (parser.parse(padded).get(doc) == simdjson::SUCCESS) message = Str(doc, "error");
  if (message.empty()) message = "the gateway answered HTTP " + std::to_string(reply.status);
  int code = reply.status == 404 || reply.status == 409 ? 1 : 2;
  return Outcome{code, message};
}

// --- Text output ---------------------------------------------------------------------------------------

std::string Age(double seconds) {
  if (seconds <= 0 || !std::isfinite(seconds)) return "-";
  auto s = static_cast<uint64_t>(seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  if (s < 86400) return std::to_string(s / 3600) + "h" + (s % 3600 / 60 ? std::to_string(s % 3600 / 60) + "m" : "");
  return std::to_string(s / 86400) + "d" + (s % 86400 / 3600 ? std::to_string(s % 86400 / 3600) + "h" : "");
}

std::string Rate(double per_s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", std::isfinite(per_s) ? per_s : 0.0);
  return buf;
}

std::string UtcTime(int64_t unix_s) {
  if (unix_s <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Control characters (from a vendor's answer) would garble the terminal: shown as spaces; long text cut.
std::string OneLine(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;  // not mid-character
    out.resize(cut);
    out += "...";
  }
  return out;
}

size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

// Prints rows as columns two spaces apart; columns flagged in `right` are right-aligned; the last column
// is never padded.
void PrintTable(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      size_t pad = width[i] - DisplayWidth(row[i]);
      bool last = i + 1 == row.size();
      if (i > 0) line += "  ";
      if (i < right.size() && right[i]) line.append(pad, ' ');
      line += row[i];
      if (!last && !(i < right.size() && right[i])) line.append(pad, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string LastError(simdjson::dom::element v) {
  std::string error = Str(v, "last_error");
  if (error.empty()) return "-";
  int64_t at = Int(v, "last_error_at");
  std::string when;
  if (at > 0) {
    int64_t ago = static_cast<int64_t>(std::time(nullptr)) - at;
    when = " (" + (ago > 0 ? Age(static_cast<double>(ago)) : std::string("0s")) + " ago)";
  }
  return OneLine(error, 80) + when;
}

void PrintVendorTable(simdjson::dom::array vendors) {
  std::vector<std::vector<std::string>> rows = {{"VENDOR", "STATE", "MODE", "PENDING", "OLDEST", "IN/S", "OUT/S",
                                                 "DELIVERED", "RETRIES", "DEAD", "DISCARDED", "LAST ERROR"}};
  for (simdjson::dom::element v : vendors) {
    rows.push_back({Str(v, "name"), Str(v, "state"), Bool(v, "shadow") ? "shadow" : "forward",
                    std::to_string(UInt(v, "pending")), Age(Num(v, "oldest_pending_age_s")),
                    Rate(Num(v, "accepted_per_s")), Rate(Num(v, "delivered_per_s")),
                    std::to_string(UInt(v, "delivered")), std::to_string(UInt(v, "retries")),
                    std::to_string(UInt(v, "dead_lettered")), std::to_string(UInt(v, "discarded")), LastError(v)});
  }
  PrintTable(rows, {false, false, false, true, true, true, true, true, true, true, true, false});
}

void PrintVendor(simdjson::dom::element v) {
  std::vector<std::vector<std::string>> rows = {
      {"vendor:", Str(v, "name")},
      {"state:", Str(v, "state")},
      {"mode:", Bool(v, "shadow") ? "shadow (writes to the outbox file)" : "forward"},
      {"pending:", std::to_string(UInt(v, "pending")) + " event(s), " + HumanBytes(UInt(v, "pending_bytes"))},
      {"oldest pending:", Age(Num(v, "oldest_pending_age_s"))},
      {"accepted:", std::to_string(UInt(v, "accepted")) + " (" + Rate(Num(v, "accepted_per_s")) + "/s)"},
      {"delivered:", std::to_string(UInt(v, "delivered")) + " (" + Rate(Num(v, "delivered_per_s")) + "/s)"},
      {"retries:", std::to_string(UInt(v, "retries"))},
      {"batch splits:", std::to_string(UInt(v, "splits")) + " (refused batches re-sent in halves)"},
      {"connections:", std::to_string(UInt(v, "connections")) + " (" + std::to_string(UInt(v, "in_flight")) +
                           " request(s) in flight)"},
      {"dead-lettered:", std::to_string(UInt(v, "dead_lettered")) + " (" + std::to_string(UInt(v, "dead_letters")) +
                             " in the dead-letter file)"},
      {"discarded:", std::to_string(UInt(v, "discarded"))},
      {"last error:", LastError(v)},
  };
  PrintTable(rows, {});
}

// Percent-encodes a path segment (a vendor name).
std::string PathSegment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

struct Options {
  std::string config_path;
  std::string socket_path;
  std::string format = "text";
  std::string name;
  bool yes = false;
  size_t limit = 20;
  bool show_data = false;
};

// Sends one request and, on a 2xx, parses the reply. Errors come back as the Outcome to exit with.
std::variant<simdjson::dom::element, Outcome> Request(const std::string& socket, std::string_view verb,
                                                      const std::string& target, simdjson::dom::parser& parser,
                                                      std::string* raw) {
  auto reply = CallAdmin(socket, verb, target);
  if (auto* o = std::get_if<Outcome>(&reply)) return *o;
  auto& r = std::get<AdminReply>(reply);
  if (r.status < 200 || r.status >= 300) return ReplyError(r);
  *raw = std::move(r.body);
  simdjson::dom::element doc;
  if (parser.parse(raw->data(), raw->size(), /*realloc_if_needed=*/true).get(doc) != simdjson::SUCCESS) {
    return Outcome{2, "the gateway's answer is not valid JSON"};
  }
  return doc;
}

int Report(const Outcome& o) {
  if (!o.message.empty()) std::cerr << "vendorguard: " << o.message << "\n";
  return o.exit_code;
}

void PrintRaw(const std::string& raw) {
  std::cout << raw;
  if (raw.empty() || raw.back() != '\n') std::cout << "\n";
}

}  // namespace

std::function<int()> AddVendor(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "vendor",
      "Show or change how a running gateway delivers to each vendor: list, pause, resume, cut (the kill switch)");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // the options below may follow the action (`vendor pause x --socket P`)
  auto o = std::make_shared<Options>();
  cmd->add_option("--config,-c", o->config_path,
                  "YAML config file of the gateway (default: the embedded default config)");
  cmd->add_option("--socket", o->socket_path, "the gateway's admin socket (overrides the config's)");
  cmd->add_option("--format", o->format, "output format: text, or json (the gateway's JSON)")
      ->check(CLI::IsMember({"text", "json"}));

  auto* list = cmd->add_subcommand("list", "Every vendor: state, queued events, rates, last error");
  auto* show = cmd->add_subcommand("show", "One vendor in detail");
  show->add_option("NAME", o->name, "vendor name")->required();
  auto* pause = cmd->add_subcommand("pause", "Hold the vendor's events in the spool (nothing is sent until resume)");
  pause->add_option("NAME", o->name, "vendor name")->required();
  auto* resume = cmd->add_subcommand("resume", "Send the vendor's held events and continue");
  resume->add_option("NAME", o->name, "vendor name")->required();
  auto* cut = cmd->add_subcommand(
      "cut", "Stop all sending to the vendor within a second and discard its queued events (kept across restarts)");
  cut->add_option("NAME", o->name, "vendor name")->required();
  cut->add_flag("--yes,-y", o->yes, "do not ask for confirmation (required when stdin is not a terminal)");
  auto* dead = cmd->add_subcommand("dead-letters", "Events the vendor refused for good (4xx), with its reasons");
  dead->add_option("NAME", o->name, "vendor name")->required();
  dead->add_option("--limit", o->limit, "show the newest N (0 = all; default 20)");
  dead->add_flag("--show-data", o->show_data, "include the events themselves");
  auto* redrive = cmd->add_subcommand("redrive", "Send the vendor's dead letters again");
  redrive->add_option("NAME", o->name, "vendor name")->required();

  return [=]() -> int {
    std::string socket = o->socket_path;
    if (socket.empty()) {
      auto config = o->config_path.empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(o->config_path);
      if (!config.ok()) {
        std::cerr << config.status().message() << "\n";
        return 1;
      }
      socket = config->AdminSocketPath();
    }
    bool json = o->format == "json";
    std::string vendor_path = "/v1/vendors/" + PathSegment(o->name);
    simdjson::dom::parser parser;
    std::string raw;

    if (list->parsed() || show->parsed()) {
      auto doc = Request(socket, "GET", list->parsed() ? "/v1/vendors" : vendor_path, parser, &raw);
      if (auto* err = std::get_if<Outcome>(&doc)) return Report(*err);
      if (json) {
        PrintRaw(raw);
        return 0;
      }
      auto element = std::get<simdjson::dom::element>(doc);
      if (show->parsed()) {
        PrintVendor(element);
        return 0;
      }
      simdjson::dom::array vendors;
      if (element["vendors"].get(vendors) != simdjson::SUCCESS)
        return Report({2, "the gateway's answer has no vendors"});
      PrintVendorTable(vendors);
      return 0;
    }

    if (dead->parsed()) {
      std::string target =
          vendor_path + "/dead-letters?limit=" + std::to_string(o->limit) + (o->show_data ? "&data=1" : "");
      auto doc = Request(socket, "GET", target, parser, &raw);
      if (auto* err = std::get_if<Outcome>(&doc)) return Report(*err);
      if (json) {
        PrintRaw(raw);
        return 0;
      }
      auto element = std::get<simdjson::dom::element>(doc);
      simdjson::dom::array items;
      if (element["items"].get(items) != simdjson::SUCCESS) return Report({2, "the gateway's answer has no items"});
      uint64_t count = UInt(element, "count");
      std::cout << o->name << ": " << count << " dead letter(s)"
                << (o->limit > 0 && count >= o->limit
                        ? " (the newest " + std::to_string(o->limit) + "; --limit 0 for all)"
                        : std::string())
                << "\n";
      if (items.size() == 0) return 0;
      std::vector<std::vector<std::string>> rows = {{"SEQ", "ENDPOINT", "HTTP", "AT", "REASON"}};
      for (simdjson::dom::element item : items) {
        int64_t status = Int(item, "http_status");
        rows.push_back({std::to_string(UInt(item, "seq")), Str(item, "endpoint"),
                        status == 0 ? "2xx" : std::to_string(status), UtcTime(Int(item, "at")),
                        OneLine(Str(item, "reason"), 200)});
        if (o->show_data) rows.push_back({"", "data:", Str(item, "data")});
      }
      PrintTable(rows, {true, false, false, false, false});
      return 0;
    }

    if (cut->parsed() && !o->yes) {
      if (!isatty(STDIN_FILENO)) {
        return Report(
            {2, "`vendor cut` stops all sending to '" + o->name +
                    "' and discards its queued events; stdin is not a terminal to confirm on, so pass --yes"});
      }
      auto doc = Request(socket, "GET", vendor_path, parser, &raw);
      if (auto* err = std::get_if<Outcome>(&doc)) return Report(*err);
      auto element = std::get<simdjson::dom::element>(doc);
      std::cerr << "Cut vendor '" << o->name << "'? Nothing more will be sent to it (also after restarts), and its "
                << UInt(element, "pending") << " queued event(s) will be discarded. [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes" && answer != "YES") {
        return Report({1, "not cut"});
      }
    }

    std::string action = pause->parsed() ? "pause" : resume->parsed() ? "resume" : cut->parsed() ? "cut" : "redrive";
    auto doc = Request(socket, "POST", vendor_path + "/" + action, parser, &raw);
    if (auto* err = std::get_if<Outcome>(&doc)) return Report(*err);
    if (json) {
      PrintRaw(raw);
      return 0;
    }
    auto element = std::get<simdjson::dom::element>(doc);
    if (pause->parsed()) {
      std::cout << "vendor '" << o->name
                << "' paused: its events are held in the spool until `vendorguard vendor resume " << o->name << "`\n";
    } else if (resume->parsed()) {
      std::cout << "vendor '" << o->name << "' resumed: its held events are being sent\n";
    } else if (cut->parsed()) {
      std::cout << "vendor '" << o->name << "' cut: nothing more is sent to it; " << UInt(element, "discarded")
                << " queued event(s) discarded\n";
    } else {
      std::cout << "vendor '" << o->name << "': " << UInt(element, "redriven") << " dead letter(s) re-driven\n";
    }
    return 0;
  };
}

}  // namespace vg::cli
