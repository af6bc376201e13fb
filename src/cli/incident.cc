// `vendorguard incident ...` (issue #6): from "vendor V was breached between T1 and T2" to an assessment.
//
//   incident open --vendor V --from T1 --to T2 [--aware-at T] [--cut [--yes]]
//                                      persist the incident, optionally cut the vendor (through the running
//                                      gateway's admin socket), and assess it
//   incident assess ID [--format text|json|csv|markdown|html]
//                                      everyone whose data the vendor held during the window, from the ledger
//   incident match ID --leak FILE [--format text|json]
//                                      map the vendor's exported dataset back to subjects: confirmed, at
//                                      risk, other vendors' pseudonyms, personal data the policy let through
//   incident notify ID --contacts FILE --template DIR [--smtp URL [--starttls M] [--rate N] [--resend-unknown]]
//                                      one signed notice per affected person with a contact, stored in the
//                                      incident's outbox; with --smtp, sent (resumable: run again to continue)
//   incident status ID                 the incident, its cut, its assessment's totals, its notices
//   incident list                      every incident
//
// Every assessment writes <data_dir>/incidents/<id>/{assessment.json, affected.csv, report.md, report.html};
// a match writes match.json there.
// The ledger is opened read-only, so this works while the gateway runs. Exit codes: 0 done, 1 the gateway
// refused the cut, 2 usage, bad input or I/O error.
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <bit>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
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
#include "incident/leak_match.h"
#include "notify/campaign.h"
#include "crypto/pseudonymizer.h"
#include "pii/scanner.h"
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
  std::string leak;
  std::string contacts, template_dir, smtp_url, starttls = "required", from_address;
  double rate = 5;
  bool resend_unknown = false;
};

std::atomic<bool> g_stop{false};
extern "C" void OnInterrupt(int) { g_stop.store(true); }

int Fail(int code, const std::string& message) {
  std::cerr << "vendorguard: " << message << "\n";
  return code;
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
  incident->cut_at_us = SystemNowUs();
  if (r.status == 200) {
    uint64_t discarded = 0;
    if (json && doc["discarded"].get(discarded) != simdjson::SUCCESS) discarded = 0;
    incident->cut_discarded = discarded;
    return 0;
  }
  std::string_view error;
  if (json && doc["error"].get(error) != simdjson::SUCCESS) error = {};
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
  auto a = incident::Assess(**ledger, i, SystemNowUs());
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

int RunNotify(const Options& o, const Config& config, const IncidentStore& store, const Incident& i) {
  auto tmpl = notify::NoticeTemplate::Load(o.template_dir);
  if (!tmpl.ok()) return Fail(2, tmpl.status().message());
  auto contacts = notify::LoadContacts(o.contacts);
  if (!contacts.ok()) return Fail(2, contacts.status().message());
  for (const auto& p : contacts->problems) {
    std::cerr << "vendorguard: " << o.contacts << (p.line ? ":" + std::to_string(p.line) : std::string()) << ": "
              << p.reason << " (skipped)\n";
  }
  auto a = AssessAndWrite(config, store, i);
  if (!a.ok()) return Fail(2, a.status().message());
  std::vector<notify::AffectedPerson> affected;
  uint64_t erased = 0;
  for (const auto& s : a->subjects) {
    if (s.erased) {
      ++erased;  // no identifier left to look a contact up by
      continue;
    }
    affected.push_back({s.subject, s.categories, s.first_us, s.last_us});
  }
  auto key = notify::NoticeKey::OpenOrCreate(config.data_dir);
  if (!key.ok()) return Fail(2, key.status().message());
  notify::CampaignSpec spec;
  spec.incident_dir = store.Dir(i.id);
  spec.vendor = i.vendor;
  spec.window_from_us = i.from_us;
  spec.window_to_us = i.to_us;
  for (const VendorConfig& v : config.vendors) {
    if (v.name != i.vendor) continue;
    for (const std::string& g : v.policy.pseudonymize) spec.identifiers_pseudonymized |= g == "distinct_id";
  }
  if (i.cut) {
    spec.measures = "We stopped sending any data to " + i.vendor + " on " + IsoTime(i.cut_at_us, false).substr(0, 10) +
                    ".";
  }
  spec.organization = config.organization;
  spec.from_address = o.from_address;
  spec.now_us = SystemNowUs();
  auto prepared = notify::PrepareCampaign(spec, affected, *contacts, **tmpl, *key);
  if (!prepared.ok()) return Fail(2, prepared.status().message());
  std::cout << "incident " << i.id << ": " << prepared->notices_added << " notice(s) prepared now, "
            << prepared->notices_total << " in the outbox (" << notify::OutboxPath(spec.incident_dir) << ")\n";
  if (!prepared->missing_contacts.empty()) {
    std::cout << "  " << prepared->missing_contacts.size() << " affected subject(s) have no contact in " << o.contacts
              << " and get no notice; listed in " << spec.incident_dir << "/notices/missing-contacts.txt:\n";
    for (size_t k = 0; k < prepared->missing_contacts.size() && k < 20; ++k) {
      std::cout << "    " << prepared->missing_contacts[k] << "\n";
    }
    if (prepared->missing_contacts.size() > 20) std::cout << "    ...\n";
  }
  for (const auto& [subject, why] : prepared->not_prepared) std::cout << "  not prepared: " << subject << ": " << why << "\n";
  if (erased > 0) std::cout << "  " << erased << " affected subject(s) were erased from the ledger and cannot be notified\n";
  int code = prepared->missing_contacts.empty() && prepared->not_prepared.empty() ? 0 : 1;
  if (o.smtp_url.empty()) {
    std::cout << "  not sent: pass --smtp smtp://HOST:PORT to send (credentials from $VG_SMTP_USERNAME and "
                 "$VG_SMTP_PASSWORD)\n";
    return code;
  }
  notify::SmtpOptions smtp;
  smtp.url = o.smtp_url;
  smtp.starttls = o.starttls == "off" ? notify::SmtpOptions::StartTls::kOff
                  : o.starttls == "optional" ? notify::SmtpOptions::StartTls::kOptional
                                             : notify::SmtpOptions::StartTls::kRequired;
  smtp.rate_per_second = o.rate;
  smtp.resend_unknown = o.resend_unknown;
  auto transport = notify::MakeSmtpTransport(smtp);
  if (!transport.ok()) return Fail(2, transport.status().message());
  auto outbox = notify::Outbox::Open(notify::OutboxPath(spec.incident_dir), SystemNowUs());
  if (!outbox.ok()) return Fail(2, outbox.status().message());
  const bool tty = isatty(STDERR_FILENO) == 1;
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  auto report = notify::SendCampaign(**outbox, **transport, smtp, [tty](const notify::SendProgress& p) {
    if (tty) std::cerr << "\r\033[K" << notify::ProgressBarLine(p, 80) << std::flush;
  }, &g_stop);
  if (tty) std::cerr << "\r\033[K" << std::flush;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!report.ok()) return Fail(2, report.status().message());
  const auto& p = report->progress;
  std::cout << "  sent " << p.sent << ", failed " << p.failed << ", to retry " << p.retry << ", fate unknown "
            << p.unknown << (report->interrupted ? " (interrupted: run again to continue)" : "") << "\n";
  if (!report->stopped_because.ok()) std::cout << "  stopped: " << report->stopped_because.message() << "\n";
  auto summary = notify::CampaignStatus(spec.incident_dir);
  if (summary.ok()) std::cout << notify::FormatCampaignStatus(*summary);
  if (report->interrupted) return 130;
  if (p.failed > 0 || !report->stopped_because.ok()) code = 1;
  return code;
}

int RunMatch(const Options& o, const Config& config, const IncidentStore& store, const Incident& i) {
  const std::string ledger_dir = (std::filesystem::path(config.data_dir) / "ledger").string();
  auto ledger = ledger::Ledger::OpenReadOnly(ledger_dir);
  if (!ledger.ok()) return Fail(2, "ledger: " + ledger.status().message());
  auto a = incident::Assess(**ledger, i, SystemNowUs());
  if (!a.ok()) return Fail(2, a.status().message());
  std::map<std::string, std::vector<std::string>> subjects;
  for (const VendorConfig& v : config.vendors) {
    auto who = (*ledger)->Who(v.name, INT64_MIN, INT64_MAX, ledger::kAllOutcomes);
    if (!who.ok()) continue;  // never declared: no subjects
    auto& list = subjects[v.name];
    for (const auto& w : *who) {
      if (!w.erased) list.push_back(w.subject);
    }
  }
  const std::string key_path = (std::filesystem::path(config.data_dir) / "keys" / "pseudonym.keys").string();
  auto keys = PseudonymKeyFile::Open(key_path);
  if (!keys.ok()) return Fail(2, "the pseudonym keys: " + keys.status().message());
  auto scanner = PiiScanner::Create();
  if (!scanner.ok()) return Fail(2, scanner.status().message());
  auto r = incident::MatchLeak(o.leak, *a, subjects, *keys, **scanner);
  if (!r.ok()) return Fail(2, r.status().message());
  const std::string json = incident::MatchReportJson(*r, *a);
  if (Status s = ReplaceFileDurably(store.Dir(i.id) + "/match.json", json, 0600); !s.ok()) return Fail(2, s.message());
  for (const auto& p : r->problems) {
    std::cerr << "vendorguard: " << o.leak << ":" << p.line << ": " << p.reason << " (skipped)\n";
  }
  if (o.format == "json") {
    std::cout << json;
    return 0;
  }
  std::cout << "leak " << o.leak << " (" << r->format << ", " << r->rows << " rows) against incident " << i.id << ":\n";
  std::cout << "  confirmed in the leak: " << r->confirmed.size() << " of " << a->subjects.size() << " affected people\n";
  std::cout << "  at risk (affected, not in this leak): " << r->at_risk.size() << "\n";
  if (!r->confirmed_not_assessed.empty()) {
    std::cout << "  in the leak but not affected per the assessment: " << r->confirmed_not_assessed.size()
              << " (check the window and the vendor's retention)\n";
  }
  std::cout << "  rows whose pseudonym belongs to another vendor's key: " << r->other_vendor.size() << "\n";
  std::map<std::string, size_t> by_vendor;
  for (const auto& row : r->other_vendor) ++by_vendor[row.vendor];
  for (const auto& [vendor, n] : by_vendor) std::cout << "    " << vendor << ": " << n << " rows\n";
  std::cout << "  rows matching no known subject: " << r->unmatched_rows << "; rows without a pseudonym: "
            << r->rows_without_pseudonym << "; unreadable lines: " << r->problems.size() << "\n";
  if (r->pii.empty()) {
    std::cout << "  personal data found in the leak: none\n";
  } else {
    std::cout << "  personal data found in the leak (the policy should have stopped it):\n";
    for (const auto& p : r->pii) {
      std::cout << "    " << p.path << ": " << p.type << " x" << p.count << " (first at line " << p.first_line << ")\n";
    }
  }
  std::cout << "  written to " << store.Dir(i.id) << "/match.json\n";
  return 0;
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

  auto* match = cmd->add_subcommand("match", "Match the vendor's exported dataset (JSON lines, JSON array or CSV) "
                                             "back to subjects: confirmed, at risk, other vendors' pseudonyms, "
                                             "unreadable lines, and personal data the policy should have stopped");
  add_common(match);
  match->add_option("ID", o->id, "the incident id")->required();
  match->add_option("--leak", o->leak, "the leaked dataset the vendor handed over")->required();
  match->add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));

  auto* notify_cmd = cmd->add_subcommand(
      "notify", "One signed notice per affected person (exactly their exposed categories, the dates, what was done, "
                "what to do), kept in the incident's outbox; with --smtp, sent, rate-limited and resumable");
  add_common(notify_cmd);
  notify_cmd->add_option("ID", o->id, "the incident id")->required();
  notify_cmd->add_option("--contacts", o->contacts, "the contact directory: CSV (subject,email,name,locale) or SQLite "
                                                    "(table contacts)")->required();
  notify_cmd->add_option("--template", o->template_dir, "template directory (subject.tpl, body.txt.tpl, optional "
                                                        "body.html.tpl; see templates/notice)")->required();
  notify_cmd->add_option("--smtp", o->smtp_url, "send through this server: smtp://HOST[:PORT] or smtps://HOST[:PORT]; "
                                                "credentials from $VG_SMTP_USERNAME / $VG_SMTP_PASSWORD");
  notify_cmd->add_option("--starttls", o->starttls, "for smtp://: required (default), optional or off")
      ->check(CLI::IsMember({"required", "optional", "off"}));
  notify_cmd->add_option("--rate", o->rate, "at most this many messages per second (default 5; 0: unlimited)");
  notify_cmd->add_flag("--resend-unknown", o->resend_unknown,
                       "also send the notices whose fate is unknown (a crash hit their SMTP transaction)");
  notify_cmd->add_option("--from", o->from_address, "the From address (default: on the organization's domain)");

  auto* status = cmd->add_subcommand("status", "Show an incident: window, awareness and deadline, cut, totals");
  add_common(status);
  status->add_option("ID", o->id, "the incident id")->required();
  status->add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));

  auto* list = cmd->add_subcommand("list", "List the incidents");
  add_common(list);
  list->add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));

  return [o, open, assess, match, notify_cmd, list]() -> int {
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
      const int64_t now = SystemNowUs();
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
    if (match->parsed()) return RunMatch(*o, *config, store, *i);
    if (notify_cmd->parsed()) return RunNotify(*o, *config, store, *i);
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
        if (doc["totals"]["subjects_in_window"].get(in_window) != simdjson::SUCCESS) in_window = 0;
        if (doc["generated_at"].get(generated) != simdjson::SUCCESS) generated = "time unknown";
        std::cout << "  last assessment (" << generated << "): " << subjects << " people affected, " << in_window
                  << " inside the window\n";
      }
    } else {
      std::cout << "  not assessed yet (vendorguard incident assess " << i->id << ")\n";
    }
    if (std::filesystem::exists(notify::OutboxPath(store.Dir(i->id)))) {
      auto summary = notify::CampaignStatus(store.Dir(i->id));
      if (!summary.ok()) return Fail(2, summary.status().message());
      std::cout << "  notices:\n" << notify::FormatCampaignStatus(*summary);
    } else {
      std::cout << "  notices: none prepared (vendorguard incident notify " << i->id << " ...)\n";
    }
    return 0;
  };
}

}  // namespace vg::cli
