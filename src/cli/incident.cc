// `vendorguard incident ...` (issue #6): from "vendor V was breached between T1 and T2" to an assessment.
//
//   incident open --vendor V --from T1 --to T2 [--aware-at T] [--cut [--yes]]
//                                      persist the incident, optionally cut the vendor (through the running
//                                      gateway's admin socket), and assess it
//   incident assess ID [--format text|json|csv|markdown|html]
//                                      everyone whose data the vendor held during the window, from the ledger
//   incident status ID                 the incident, its cut, its assessment's totals
//   incident list                      every incident
//
// Every assessment writes <data_dir>/incidents/<id>/{assessment.json, affected.csv, report.md, report.html}.
// The ledger is opened read-only, so this works while the gateway runs. Exit codes: 0 done, 1 the gateway
// refused the cut, 2 usage, bad input or I/O error.
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <bit>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <simdjson.h>
#include <string>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "common/files.h"
#include "common/time_text.h"
#include "config/config.h"
#include "incident/assessment.h"
#include "incident/incident.h"
#include "ledger/ledger.h"
#include "policy/categories.h"

namespace vg::cli {
namespace {

using incident::Incident;
using incident::IncidentStore;

struct Options {
  std::string config_path;
  std::string format = "text";
  std::string vendor, from, to, aware_at;
  bool cut = false;
  bool yes = false;
  std::string id;
};

int Fail(int code, const std::string& message) {
  std::cerr << "vendorguard: " << message << "\n";
  return code;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string CurrentUser() {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  std::string user = "uid " + std::to_string(::getuid());
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr && pw.pw_name != nullptr) {
    user = std::string(pw.pw_name) + " (" + user + ")";
  }
  return user;
}

// Cuts the vendor through the running gateway. Already cut is fine (noted); anything else fails.
int CutVendor(const Config& config, Incident* incident) {
  const std::string socket = config.AdminSocketPath();
  std::string target = "/v1/vendors/";
  for (char c : incident->vendor) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      target.push_back(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      target += hex;
    }
  }
  target += "/cut";
  auto reply = CallAdmin(socket, "POST", target);
  if (auto* o = std::get_if<Outcome>(&reply)) {
    return Fail(2, "--cut: " + o->message + "; the incident was not opened (open it without --cut, or start the "
                   "gateway first)");
  }
  const AdminReply& r = std::get<AdminReply>(reply);
  simdjson::dom::parser parser;
  simdjson::padded_string body(r.body);
  simdjson::dom::element doc;
  const bool json = parser.parse(body).get(doc) == simdjson::SUCCESS;
  incident->cut = true;
  incident->cut_at_us = NowUs();
  if (r.status == 200) {
    uint64_t discarded = 0;
    if (json) (void)doc["discarded"].get(discarded);
    incident->cut_discarded = discarded;
    return 0;
  }
  std::string_view error;
  if (json) (void)doc["error"].get(error);
  if (r.status == 409) {
    incident->cut_note = "the vendor was already cut when the incident was opened";
    return 0;
  }
  return Fail(r.status == 404 ? 1 : 2, "--cut: the gateway refused: " +
                                           (error.empty() ? "HTTP " + std::to_string(r.status) : std::string(error)) +
                                           "; the incident was not opened");
}

// Runs the assessment and writes its files into the incident's directory.
StatusOr<incident::Assessment> AssessAndWrite(const Config& config, const IncidentStore& store, const Incident& i) {
  const std::string ledger_dir = (std::filesystem::path(config.data_dir) / "ledger").string();
  auto ledger = ledger::Ledger::OpenReadOnly(ledger_dir);
  if (!ledger.ok()) return ledger.status().WithPrefix("ledger");
  auto a = incident::Assess(**ledger, i, NowUs());
  if (!a.ok()) {
    if (a.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("the ledger in " + ledger_dir + " has no records for vendor '" + i.vendor + "'");
    }
    return a.status();
  }
  const std::string dir = store.Dir(i.id);
  for (const auto& [name, text] : {std::pair<std::string, std::string>{"assessment.json", incident::AssessmentJson(*a)},
                                   {"affected.csv", incident::AffectedSubjectsCsv(*a)},
                                   {"report.md", incident::ReportMarkdown(*a, config.organization)},
                                   {"report.html", incident::ReportHtml(*a, config.organization)}}) {
    if (Status s = ReplaceFileDurably(dir + "/" + name, text, 0600); !s.ok()) return s;
  }
  return a;
}

void PrintSummary(const Incident& i, const incident::Assessment* a, const std::string& dir) {
  std::cout << "incident " << i.id << ": " << i.vendor << " breached from " << IsoTime(i.from_us, false) << " to "
            << IsoTime(i.to_us, false) << "\n";
  std::cout << "  aware at " << IsoTime(i.aware_at_us, false) << "; notify the supervisory authority by "
            << IsoTime(incident::NotificationDeadlineUs(i), false) << " (72 hours)\n";
  std::cout << "  opened " << IsoTime(i.opened_at_us, false) << " by " << i.opened_by << "\n";
  if (i.cut) {
    std::cout << "  vendor cut at " << IsoTime(i.cut_at_us, false) << ": " << i.cut_discarded
              << " queued event(s) discarded" << (i.cut_note.empty() ? "" : " (" + i.cut_note + ")") << "\n";
  } else {
    std::cout << "  vendor NOT cut (vendorguard vendor cut " << i.vendor << ")\n";
  }
  if (a != nullptr) {
    std::cout << "  affected: " << a->subjects.size() << " people (" << a->subjects_in_window
              << " with data disclosed inside the window, " << a->subjects_before_only << " only before it), "
              << (a->records_in_window + a->records_before) << " records\n";
    for (const auto& c : a->categories) {
      std::cout << "    " << kCategoryNames[std::countr_zero(c.category)] << ": " << c.subjects << " people (" << c.subjects_in_window
                << " inside the window)\n";
    }
    std::cout << "  not exposed: " << a->cut_records << " disclosures cut, " << a->dead_lettered_records
              << " refused by the vendor (" << a->not_exposed.size() << " people)\n";
  }
  std::cout << "  files: " << dir << "/{incident.json,assessment.json,affected.csv,report.md,report.html}\n";
}

}  // namespace

std::function<int()> AddIncident(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "incident", "Respond to a vendor breach: open an incident (optionally cutting the vendor), assess who was exposed");
  cmd->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto add_common = [o](CLI::App* app) {
    app->add_option("--config,-c", o->config_path, "YAML config file (default: the embedded default config)");
  };
  const std::string times =
      "Times: ISO 8601, a date (2025-11-09, midnight UTC) or a date-time with a zone (2025-11-09T12:00:00Z, "
      "2025-11-09T12:00:00+02:00). A date alone as --to means through the end of that day.";

  auto* open = cmd->add_subcommand("open", "Open an incident for a vendor breach window, optionally cut the vendor, "
                                           "and assess it");
  open->footer(times);
  add_common(open);
  open->add_option("--vendor", o->vendor, "the breached vendor, as named in the config")->required();
  open->add_option("--from", o->from, "when unauthorized access began (inclusive)")->required();
  open->add_option("--to", o->to, "when it ended or was contained (exclusive; a date: through that day)")->required();
  open->add_option("--aware-at", o->aware_at,
                   "when the company became aware (the GDPR 72-hour clock starts here; default: now)");
  open->add_flag("--cut", o->cut, "cut the vendor off now, through the running gateway (the kill switch)");
  open->add_flag("--yes,-y", o->yes, "do not ask before cutting");
  open->add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));

  auto* assess = cmd->add_subcommand("assess", "Assess an incident from the ledger: every affected person, their "
                                               "categories, totals, and what was never exposed");
  add_common(assess);
  assess->add_option("ID", o->id, "the incident id (incident list shows them)")->required();
  assess->add_option("--format", o->format, "what to print: text (a summary; default), json, csv (affected people), "
                                            "markdown or html (the report for the regulator)")
      ->check(CLI::IsMember({"text", "json", "csv", "markdown", "html"}));

  auto* status = cmd->add_subcommand("status", "Show an incident: window, awareness and deadline, cut, totals");
  add_common(status);
  status->add_option("ID", o->id, "the incident id")->required();
  status->add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));

  auto* list = cmd->add_subcommand("list", "List the incidents");
  add_common(list);
  list->add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));

  return [o, open, assess, status, list]() -> int {
    auto config = o->config_path.empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(o->config_path);
    if (!config.ok()) return Fail(2, config.status().message());
    IncidentStore store(config->data_dir);

    if (list->parsed()) {
      auto all = store.List();
      if (!all.ok()) return Fail(2, all.status().message());
      if (o->format == "json") {
        std::cout << "[";
        for (size_t k = 0; k < all->size(); ++k) std::cout << (k ? "," : "") << incident::IncidentJson((*all)[k]);
        std::cout << "]\n";
        return 0;
      }
      if (all->empty()) std::cout << "no incidents\n";
      for (const Incident& i : *all) {
        std::cout << i.id << "  " << i.vendor << "  " << IsoTime(i.from_us, false) << " .. " << IsoTime(i.to_us, false)
                  << (i.cut ? "  cut" : "") << "\n";
      }
      return 0;
    }

    if (open->parsed()) {
      const VendorConfig* vendor = nullptr;
      std::string known;
      for (const VendorConfig& v : config->vendors) {
        if (v.name == o->vendor) vendor = &v;
        known += (known.empty() ? "" : ", ") + v.name;
      }
      if (vendor == nullptr) return Fail(2, "unknown vendor '" + o->vendor + "' (configured: " + known + ")");
      auto from = ParseTime("--from", o->from);
      if (!from.ok()) return Fail(2, from.status().message());
      auto to = ParseTime("--to", o->to);
      if (!to.ok()) return Fail(2, to.status().message());
      if (to->date_only) to->us += kUsPerDay;
      if (from->us >= to->us) {
        return Fail(2, "--from " + o->from + " is not before --to " + o->to + " (until " + IsoTime(to->us, false) +
                           "): the breach window is empty or inverted");
      }
      Incident i;
      i.vendor = vendor->name;
      i.from_us = from->us;
      i.to_us = to->us;
      const int64_t now = NowUs();
      i.opened_at_us = now;
      i.aware_at_us = now;
      if (!o->aware_at.empty()) {
        auto aware = ParseTime("--aware-at", o->aware_at);
        if (!aware.ok()) return Fail(2, aware.status().message());
        if (aware->us > now) return Fail(2, "--aware-at " + o->aware_at + " is in the future");
        i.aware_at_us = aware->us;
      }
      i.opened_by = CurrentUser();
      i.retention_days = vendor->retention_days;
      if (o->cut) {
        if (!o->yes && isatty(STDIN_FILENO) != 1) {
          return Fail(2, "--cut stops all sending to '" + i.vendor +
                             "' and discards its queued events; stdin is not a terminal to confirm on, so pass --yes");
        }
        if (!o->yes) {
          std::cerr << "Cut vendor '" << i.vendor << "' now? Nothing more will be sent to it. [y/N] " << std::flush;
          std::string answer;
          std::getline(std::cin, answer);
          if (answer != "y" && answer != "Y" && answer != "yes") return Fail(1, "not cut; the incident was not opened");
        }
        if (int code = CutVendor(*config, &i); code != 0) return code;
      }
      if (Status s = store.Create(&i, now); !s.ok()) return Fail(2, s.message());
      auto a = AssessAndWrite(*config, store, i);
      if (o->format == "json") {
        std::cout << incident::IncidentJson(i);
        if (a.ok()) std::cout << incident::AssessmentJson(*a, false);
      } else {
        PrintSummary(i, a.ok() ? &*a : nullptr, store.Dir(i.id));
      }
      if (!a.ok()) {
        return Fail(2, "incident " + i.id + " is open, but the assessment failed: " + a.status().message() +
                           " (run `vendorguard incident assess " + i.id + "` once that is fixed)");
      }
      return 0;
    }

    auto i = store.Load(o->id);
    if (!i.ok()) return Fail(2, i.status().message());
    if (assess->parsed()) {
      auto a = AssessAndWrite(*config, store, *i);
      if (!a.ok()) return Fail(2, a.status().message());
      if (o->format == "json") std::cout << incident::AssessmentJson(*a);
      else if (o->format == "csv") std::cout << incident::AffectedSubjectsCsv(*a);
      else if (o->format == "markdown") std::cout << incident::ReportMarkdown(*a, config->organization);
      else if (o->format == "html") std::cout << incident::ReportHtml(*a, config->organization);
      else PrintSummary(*i, &*a, store.Dir(i->id));
      return 0;
    }
    // status: the incident and the totals of its last assessment.
    auto saved = ReadWholeFile(store.Dir(i->id) + "/assessment.json");
    if (o->format == "json") {
      std::cout << "{\"incident\":" << incident::IncidentJson(*i) << ",\"assessment\":"
                << (saved.ok() ? *saved : std::string("null")) << "}\n";
      return 0;
    }
    PrintSummary(*i, nullptr, store.Dir(i->id));
    if (saved.ok()) {
      simdjson::dom::parser parser;
      simdjson::padded_string body(*saved);
      simdjson::dom::element doc;
      uint64_t subjects = 0, in_window = 0;
      std::string_view generated;
      if (parser.parse(body).get(doc) == simdjson::SUCCESS && doc["totals"]["subjects"].get(subjects) == simdjson::SUCCESS) {
        (void)doc["totals"]["subjects_in_window"].get(in_window);
        (void)doc["generated_at"].get(generated);
        std::cout << "  last assessment (" << generated << "): " << subjects << " people affected, " << in_window
                  << " inside the window\n";
      }
    } else {
      std::cout << "  not assessed yet (vendorguard incident assess " << i->id << ")\n";
    }
    return 0;
  };
}

}  // namespace vg::cli
