// `vendorguard ledger ...`: the disclosure ledger (src/ledger/ledger.h) from the command line. The queries
// are read-only, safe while a gateway holds the ledger open and appends to it:
//
//   ledger verify [--public-key FILE]                  recompute every leaf and root, check every head
//   ledger who --vendor V [--from T] [--to T]          every subject disclosed to V in [from, to)
//   ledger subject ID                                  every vendor that received something about ID
//   ledger vendors [--since T]                         what each vendor really received
//
// and one writes:
//
//   ledger erase ID                                    a deletion request: remove ID's plaintext
//
// erase goes through the running gateway's admin socket (POST /v1/ledger/erase; the gateway holds the
// ledger open exclusively) when one answers there, and otherwise opens the ledger itself, as the gateway
// does (LedgerOptionsFor, EraseSubject in server/disclosure_ledger.h).
//
// The ledger is --ledger DIR, or <data_dir>/ledger of --config FILE (the embedded default config without
// either; erase needs the config). Output: --format table (the default), json or csv (erase: text or
// json). Times are read as ISO 8601 dates or date-times with a zone (ParseTime) and written in UTC:
// seconds in tables, microseconds (the ledger's resolution) in json and csv.
//
// Exit codes: 0 done (verify: intact; erase: erased); 1 the negative answer (verify: a problem found;
// subject: the ledger holds nothing about the identifier; erase: nothing to erase, as it holds nothing
// about it or it was erased already); 2 usage errors (bad times, unknown vendor), a missing or unreadable
// ledger, and a failed erasure.
#include "ledger/ledger.h"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <simdjson.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "common/time_text.h"
#include "common/json_text.h"
#include "config/config.h"
#include "policy/categories.h"
#include "server/disclosure_ledger.h"
#include "wire/mixpanel.h"

namespace vg::cli {

namespace {

using ledger::Ledger;
using ledger::OutcomeCounts;
using ledger::OutcomeMask;

// ---- Values as text ---------------------------------------------------------------------------------------

// The category names of a bitmask, in bit order; bits the policy does not name (a newer gateway) show as
// "bit<N>" rather than being dropped.
std::vector<std::string> CategoryNames(uint32_t set) {
  std::vector<std::string> out;
  for (unsigned i = 0; i < 32; ++i) {
    if (!(set & (1u << i))) continue;
    if (i < std::size(kCategoryNames)) {
      out.emplace_back(kCategoryNames[i]);
    } else {
      out.push_back("bit" + std::to_string(i));
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string HashHex(const ledger::SubjectHash& h) { return ledger::SubjectHashHex(h); }

// Control characters would garble a terminal or a table's columns: shown as spaces.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return out;
}

size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

std::string OutcomeMaskText(OutcomeMask mask) {
  if (mask == ledger::kAllOutcomes) return "all outcomes (delivered, dead_lettered, cut)";
  std::vector<std::string> parts;
  for (int o = 0; o < ledger::kOutcomeCount; ++o) {
    if (mask & (1u << o)) parts.emplace_back(ledger::OutcomeName(static_cast<ledger::Outcome>(o)));
  }
  return Join(parts, " or ");
}

OutcomeMask ParseOutcome(const std::string& name) {
  if (name == "all") return ledger::kAllOutcomes;
  if (name == "delivered") return ledger::OutcomeBit(ledger::Outcome::kDelivered);
  if (name == "dead_lettered") return ledger::OutcomeBit(ledger::Outcome::kDeadLettered);
  if (name == "cut") return ledger::OutcomeBit(ledger::Outcome::kCut);
  return ledger::kReachedVendor;
}

// ---- Output -----------------------------------------------------------------------------------------------

enum class Format { kTable, kJson, kCsv };

// A result as rows of cells, printed as an aligned table or as CSV. `csv_header` and `table_header` name
// the same columns; `right` aligns numeric columns in tables.
struct Grid {
  std::vector<std::string> csv_header;
  std::vector<std::string> table_header;
  std::vector<bool> right;
  std::vector<std::vector<std::string>> rows;
};

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void PrintCsv(const Grid& g) {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvField(cells[i]);
    }
    out += "\r\n";  // RFC 4180
  };
  line(g.csv_header);
  for (const auto& row : g.rows) line(row);
  std::cout << out;
}

// Columns two spaces apart; the last column is never padded.
void PrintTable(const Grid& g) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back(g.table_header);
  for (const auto& row : g.rows) {
    std::vector<std::string> r;
    for (const auto& cell : row) r.push_back(cell.empty() ? "-" : Printable(cell));
    rows.push_back(std::move(r));
  }
  std::vector<size_t> width(g.table_header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const size_t pad = width[i] - DisplayWidth(row[i]);
      const bool right = i < g.right.size() && g.right[i];
      if (i > 0) line += "  ";
      if (right) line.append(pad, ' ');
      line += row[i];
      if (!right && i + 1 < row.size()) line.append(pad, ' ');
    }
    out += line + "\n";
  }
  std::cout << out;
}

// JSON through the wire writer, with every text from the ledger escaped lossily (an identifier is
// whatever bytes a product sent; the output must stay valid JSON).
void JsonText(JsonWriter& w, std::string_view s) {
  std::string escaped;
  AppendJsonStringLossy(&escaped, s);
  w.Raw(escaped);
}

void JsonCategories(JsonWriter& w, uint32_t set) {
  w.BeginArray();
  for (const auto& name : CategoryNames(set)) w.String(name);
  w.EndArray();
}

void JsonTimeOrNull(JsonWriter& w, std::optional<int64_t> us) {
  if (us) {
    w.String(IsoTime(*us, true));
  } else {
    w.Null();
  }
}

void JsonCounts(JsonWriter& w, const OutcomeCounts& c) {
  w.BeginObject();
  w.Key("delivered");
  w.Int(static_cast<int64_t>(c.delivered));
  w.Key("dead_lettered");
  w.Int(static_cast<int64_t>(c.dead_lettered));
  w.Key("cut");
  w.Int(static_cast<int64_t>(c.cut));
  w.Key("total");
  w.Int(static_cast<int64_t>(c.total()));
  w.EndObject();
}

// "categories", "first", "last" and "counts" of one who/subject answer row.
void JsonDisclosed(JsonWriter& w, uint32_t categories, int64_t first_us, int64_t last_us, const OutcomeCounts& c) {
  w.Key("categories");
  JsonCategories(w, categories);
  w.Key("first");
  w.String(IsoTime(first_us, true));
  w.Key("last");
  w.String(IsoTime(last_us, true));
  w.Key("counts");
  JsonCounts(w, c);
}

void JsonOutcomes(JsonWriter& w, OutcomeMask mask) {
  w.Key("outcomes");
  w.BeginArray();
  for (int o = 0; o < ledger::kOutcomeCount; ++o) {
    if (mask & (1u << o)) w.String(ledger::OutcomeName(static_cast<ledger::Outcome>(o)));
  }
  w.EndArray();
}

void JsonVendorInfo(JsonWriter& w, uint16_t id, const ledger::VendorInfo& v) {
  w.Key("vendor");
  JsonText(w, v.name);
  w.Key("vendor_id");
  w.Int(id);
  w.Key("purpose");
  JsonText(w, v.purpose);
  w.Key("legal_basis");
  JsonText(w, v.legal_basis);
  w.Key("destination_country");
  JsonText(w, v.destination_country);
}

std::vector<std::string> CountCells(const OutcomeCounts& c) {
  return {std::to_string(c.delivered), std::to_string(c.dead_lettered), std::to_string(c.cut),
          std::to_string(c.total())};
}

// ---- The command ------------------------------------------------------------------------------------------

struct Options {
  std::string ledger_dir;
  std::string config_path;
  std::string format = "table";
  std::string public_key_path;
  std::string vendor;
  std::string from, to, since;
  std::string outcome = "reached";
  std::string subject;
};

int Fail(int code, const std::string& message) {
  std::cerr << "vendorguard: " << message << "\n";
  return code;
}

// The ledger directory: --ledger, or <data_dir>/ledger of the config. Exit code in *error_code on failure.
std::optional<std::string> LedgerDir(const Options& o, int* error_code) {
  if (!o.ledger_dir.empty()) return o.ledger_dir;
  auto config = o.config_path.empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(o.config_path);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    *error_code = 2;
    return std::nullopt;
  }
  return (std::filesystem::path(config->data_dir) / "ledger").string();
}

// Shows "verifying: n of m records (p%)" on stderr while it is a terminal, at most five times a second.
class VerifyProgress {
 public:
  explicit VerifyProgress(std::string dir) : dir_(std::move(dir)), tty_(isatty(STDERR_FILENO) == 1) {}
  ~VerifyProgress() { Clear(); }
  bool enabled() const { return tty_; }
  void Update(uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const int pct = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    std::cerr << "\r\033[Kverifying " << dir_ << ": " << done << " of " << total << " records (" << pct << "%)"
              << std::flush;
    shown_ = true;
  }
  void Clear() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  std::string dir_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

int RunVerify(const Options& o, const std::string& dir, Format format) {
  ledger::VerifyOptions vo;
  if (!o.public_key_path.empty()) {
    auto status = [&]() -> StatusOr<ledger::PublicKey> {
      std::string pem;
      FILE* f = std::fopen(o.public_key_path.c_str(), "rb");
      if (f == nullptr) return Status::IOError(std::string("cannot read: ") + std::strerror(errno));
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && pem.size() < (1 << 20)) pem.append(buf, n);
      std::fclose(f);
      return ledger::PublicKeyFromPem(pem);
    }();
    if (!status.ok()) return Fail(2, "--public-key " + o.public_key_path + ": " + status.status().message());
    vo.public_key = *status;
  }
  // A directory that holds no ledger at all is a usage error (a wrong path), not a failed check.
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return Fail(2, "no ledger at " + dir + ": " +
                       (errno == ENOENT ? std::string("the directory does not exist") : std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) return Fail(2, "no ledger at " + dir + ": not a directory");
  bool any = false;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == "heads.log" || name == "subject.key" || name == "head.pub" || name.starts_with("seg-") ||
        name.starts_with("wal-")) {
      any = true;
      break;
    }
  }
  if (ec) return Fail(2, "cannot read the ledger at " + dir + ": " + ec.message());
  if (!any) return Fail(2, "no ledger at " + dir + ": the directory holds no ledger files");

  VerifyProgress progress(dir);
  if (progress.enabled()) {
    vo.progress = [&progress](uint64_t done, uint64_t total) { progress.Update(done, total); };
  }
  const ledger::VerifyReport r = ledger::Verify(dir, vo);
  progress.Clear();

  if (format == Format::kJson) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Key("ledger");
    JsonText(w, dir);
    w.Key("ok");
    w.Bool(r.ok);
    auto text_or_null = [&](std::string_view s) { s.empty() ? w.Null() : JsonText(w, s); };
    auto int_or_null = [&](int64_t v) { v < 0 ? w.Null() : w.Int(v); };
    w.Key("problem");
    text_or_null(r.ok ? "" : r.problem);
    w.Key("file");
    text_or_null(r.file);
    w.Key("offset");
    int_or_null(r.offset);
    w.Key("record");
    int_or_null(r.record);
    w.Key("segments");
    w.Int(static_cast<int64_t>(r.segments));
    w.Key("records");
    w.Int(static_cast<int64_t>(r.records));
    w.Key("first_record");
    w.Int(static_cast<int64_t>(r.first_record));
    w.Key("heads");
    w.Int(static_cast<int64_t>(r.heads));
    w.Key("heads_matched");
    w.Int(static_cast<int64_t>(r.heads_matched));
    w.Key("names_checked");
    w.Int(static_cast<int64_t>(r.names_checked));
    w.Key("public_key");
    JsonText(w, o.public_key_path.empty() ? dir + "/head.pub" : o.public_key_path);
    w.Key("notes");
    w.BeginArray();
    for (const auto& n : r.notes) JsonText(w, n);
    w.EndArray();
    w.EndObject();
    std::cout << out << "\n";
  } else if (format == Format::kCsv) {
    Grid g;
    g.csv_header = {"ledger",   "ok",      "problem",      "file",  "offset",        "record",
                    "segments", "records", "first_record", "heads", "heads_matched", "names_checked"};
    g.rows.push_back({dir, r.ok ? "true" : "false", r.problem, r.file, r.offset < 0 ? "" : std::to_string(r.offset),
                      r.record < 0 ? "" : std::to_string(r.record), std::to_string(r.segments),
                      std::to_string(r.records), std::to_string(r.first_record), std::to_string(r.heads),
                      std::to_string(r.heads_matched), std::to_string(r.names_checked)});
    PrintCsv(g);
  } else {
    std::string out = "ledger " + dir + ": " + (r.ok ? "OK" : "FAILED") + "\n";
    if (!r.ok) {
      out += "  problem:  " + r.problem + "\n";
      if (!r.file.empty()) out += "  file:     " + r.file + "\n";
      if (r.offset >= 0) out += "  offset:   " + std::to_string(r.offset) + "\n";
      if (r.record >= 0) out += "  record:   " + std::to_string(r.record) + "\n";
      out += "checked before the problem:\n";
    }
    out += "  segments: " + std::to_string(r.segments) + "\n";
    out += "  records:  " + std::to_string(r.records) + " leaves recomputed";
    if (r.first_record > 0)
      out += " (from record " + std::to_string(r.first_record) + "; earlier ones dropped by retention)";
    out += "\n";
    out += "  heads:    " + std::to_string(r.heads) + " signatures checked with " +
           (o.public_key_path.empty() ? dir + "/head.pub" : o.public_key_path) + ", " +
           std::to_string(r.heads_matched) + " roots recomputed and matched\n";
    out += "  names:    " + std::to_string(r.names_checked) + " identifiers checked against their keyed hashes\n";
    for (const auto& n : r.notes) out += "  note:     " + n + "\n";
    std::cout << out;
  }
  return r.ok ? 0 : 1;
}

// Sorted for reading: by identifier, erased ones last (by hash, their only name).
void SortWho(std::vector<ledger::WhoEntry>* entries) {
  std::stable_sort(entries->begin(), entries->end(), [](const ledger::WhoEntry& a, const ledger::WhoEntry& b) {
    if (a.erased != b.erased) return !a.erased;
    if (a.subject != b.subject) return a.subject < b.subject;
    return a.subject_hash < b.subject_hash;
  });
}

int RunWho(const Options& o, const Ledger& l, Format format) {
  std::optional<ParsedTime> from, to;
  if (!o.from.empty()) {
    auto t = ParseTime("--from", o.from);
    if (!t.ok()) return Fail(2, t.status().message());
    from = *t;
  }
  if (!o.to.empty()) {
    auto t = ParseTime("--to", o.to);
    if (!t.ok()) return Fail(2, t.status().message());
    if (t->date_only) t->us += kUsPerDay;  // through the end of that day
    to = *t;
  }
  const int64_t from_us = from ? from->us : INT64_MIN;
  const int64_t to_us = to ? to->us : INT64_MAX;
  if (from && to && from_us >= to_us) {
    auto shown = [](int64_t us) { return IsoTime(us, us % kUsPerSecond != 0); };
    return Fail(2, "--from " + o.from + " (" + shown(from_us) + ") is not before --to " + o.to + " (" +
                       (to->date_only ? "through that day: until " : "") + shown(to_us) +
                       "): the window [from, to) is empty");
  }
  const std::vector<ledger::VendorInfo> vendors = l.vendors();
  std::vector<std::string> names;
  for (const auto& v : vendors) {
    if (std::find(names.begin(), names.end(), v.name) == names.end()) names.push_back(v.name);
  }
  if (std::find(names.begin(), names.end(), o.vendor) == names.end()) {
    return Fail(
        2, "unknown vendor '" + o.vendor + "' (" +
               (names.empty() ? std::string("the ledger knows no vendors") : "the ledger knows: " + Join(names, ", ")) +
               ")");
  }
  const OutcomeMask mask = ParseOutcome(o.outcome);
  auto result = l.Who(o.vendor, from_us, to_us, mask);
  if (!result.ok()) return Fail(2, result.status().message());
  std::vector<ledger::WhoEntry> entries = std::move(*result);
  SortWho(&entries);

  if (format == Format::kJson) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Key("vendor");
    JsonText(w, o.vendor);
    w.Key("from");
    JsonTimeOrNull(w, from ? std::optional<int64_t>(from_us) : std::nullopt);
    w.Key("to");
    JsonTimeOrNull(w, to ? std::optional<int64_t>(to_us) : std::nullopt);
    JsonOutcomes(w, mask);
    w.Key("count");
    w.Int(static_cast<int64_t>(entries.size()));
    w.Key("subjects");
    w.BeginArray();
    for (const auto& e : entries) {
      w.BeginObject();
      w.Key("subject");
      e.erased ? w.Null() : JsonText(w, e.subject);
      w.Key("erased");
      w.Bool(e.erased);
      w.Key("subject_hash");
      w.String(HashHex(e.subject_hash));
      JsonDisclosed(w, e.categories, e.first_us, e.last_us, e.counts);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::cout << out << "\n";
    return 0;
  }
  const bool csv = format == Format::kCsv;
  Grid g;
  g.csv_header = {"subject", "erased",    "subject_hash",  "categories", "first",
                  "last",    "delivered", "dead_lettered", "cut",        "total"};
  g.table_header = {"SUBJECT",   "SUBJECT HASH",  "CATEGORIES", "FIRST", "LAST",
                    "DELIVERED", "DEAD-LETTERED", "CUT",        "TOTAL"};
  g.right = {false, false, false, false, false, true, true, true, true};
  for (const auto& e : entries) {
    std::vector<std::string> row;
    if (csv) {
      row = {e.erased ? "" : e.subject, e.erased ? "true" : "false"};
    } else {
      row = {e.erased ? "(erased)" : e.subject};
    }
    for (std::string cell : {HashHex(e.subject_hash), Join(CategoryNames(e.categories), ","), IsoTime(e.first_us, csv),
                             IsoTime(e.last_us, csv)}) {
      row.push_back(std::move(cell));
    }
    for (auto& c : CountCells(e.counts)) row.push_back(std::move(c));
    g.rows.push_back(std::move(row));
  }
  if (csv) {
    PrintCsv(g);
    return 0;
  }
  std::cout << entries.size() << " subject(s) disclosed to " << Printable(o.vendor) << ", "
            << (from ? "from " + IsoTime(from_us, false) : std::string("from the first record")) << " "
            << (to ? "to " + IsoTime(to_us, false) + " (exclusive)" : std::string("to the last record")) << ", "
            << OutcomeMaskText(mask) << "\n";
  if (!entries.empty()) PrintTable(g);
  return 0;
}

int RunSubject(const Options& o, const Ledger& l, Format format) {
  if (o.subject.empty()) return Fail(2, "subject: the identifier is empty");
  const OutcomeMask mask = ParseOutcome(o.outcome);
  auto result = l.Subject(o.subject, mask);
  if (!result.ok()) return Fail(2, result.status().message());
  const ledger::SubjectAnswer& a = *result;
  const int code = a.found ? 0 : 1;
  if (format == Format::kJson) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Key("subject");
    JsonText(w, o.subject);
    w.Key("found");
    w.Bool(a.found);
    w.Key("erased");
    w.Bool(a.erased);
    JsonOutcomes(w, mask);
    w.Key("vendors");
    w.BeginArray();
    for (const auto& v : a.vendors) {
      w.BeginObject();
      JsonVendorInfo(w, v.vendor_id, v.vendor);
      JsonDisclosed(w, v.categories, v.first_us, v.last_us, v.counts);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::cout << out << "\n";
    return code;
  }
  const bool csv = format == Format::kCsv;
  Grid g;
  g.csv_header = {"vendor",     "vendor_id", "purpose", "legal_basis", "destination_country",
                  "categories", "first",     "last",    "delivered",   "dead_lettered",
                  "cut",        "total"};
  g.table_header = {"VENDOR", "ID",   "PURPOSE",   "LEGAL BASIS",   "COUNTRY", "CATEGORIES",
                    "FIRST",  "LAST", "DELIVERED", "DEAD-LETTERED", "CUT",     "TOTAL"};
  g.right = {false, true, false, false, false, false, false, false, true, true, true, true};
  for (const auto& v : a.vendors) {
    std::vector<std::string> row = {v.vendor.name,
                                    std::to_string(v.vendor_id),
                                    v.vendor.purpose,
                                    v.vendor.legal_basis,
                                    v.vendor.destination_country,
                                    Join(CategoryNames(v.categories), ","),
                                    IsoTime(v.first_us, csv),
                                    IsoTime(v.last_us, csv)};
    for (auto& c : CountCells(v.counts)) row.push_back(std::move(c));
    g.rows.push_back(std::move(row));
  }
  if (csv) {
    PrintCsv(g);
  } else if (!a.found) {
    std::cerr << "vendorguard: the ledger holds no record about '" << Printable(o.subject) << "'\n";
  } else {
    std::cout << "subject '" << Printable(o.subject) << "': " << a.vendors.size() << " vendor(s), "
              << OutcomeMaskText(mask) << "\n";
    if (a.erased) {
      std::cout << "(its identifier was erased from the ledger on a deletion request; the records about it "
                   "remain, as the accounting of disclosures)\n";
    }
    if (!a.vendors.empty()) PrintTable(g);
  }
  return code;
}

int RunVendors(const Options& o, const Ledger& l, Format format) {
  std::optional<int64_t> since;
  if (!o.since.empty()) {
    auto t = ParseTime("--since", o.since);
    if (!t.ok()) return Fail(2, t.status().message());
    since = t->us;
  }
  const OutcomeMask mask = ParseOutcome(o.outcome);
  auto result = l.Vendors(since.value_or(INT64_MIN), mask);
  if (!result.ok()) return Fail(2, result.status().message());
  const std::vector<ledger::VendorSummary>& vendors = *result;
  // The current declaration of each name is its last one.
  auto current = [&](size_t i) {
    for (size_t j = i + 1; j < vendors.size(); ++j) {
      if (vendors[j].vendor.name == vendors[i].vendor.name) return false;
    }
    return true;
  };
  auto time_or_empty = [](const ledger::VendorSummary& v, int64_t us, bool fraction) {
    return v.counts.total() == 0 ? std::string() : IsoTime(us, fraction);
  };
  if (format == Format::kJson) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Key("since");
    JsonTimeOrNull(w, since);
    JsonOutcomes(w, mask);
    w.Key("vendors");
    w.BeginArray();
    for (size_t i = 0; i < vendors.size(); ++i) {
      const auto& v = vendors[i];
      w.BeginObject();
      JsonVendorInfo(w, v.vendor_id, v.vendor);
      w.Key("current");
      w.Bool(current(i));
      w.Key("categories");
      JsonCategories(w, v.categories);
      w.Key("distinct_subjects");
      w.Int(static_cast<int64_t>(v.distinct_subjects));
      w.Key("counts");
      JsonCounts(w, v.counts);
      w.Key("first");
      JsonTimeOrNull(w, v.counts.total() ? std::optional<int64_t>(v.first_us) : std::nullopt);
      w.Key("last");
      JsonTimeOrNull(w, v.counts.total() ? std::optional<int64_t>(v.last_us) : std::nullopt);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::cout << out << "\n";
    return 0;
  }
  const bool csv = format == Format::kCsv;
  Grid g;
  g.csv_header = {"vendor",      "vendor_id",
                  "current",     "purpose",
                  "legal_basis", "destination_country",
                  "categories",  "distinct_subjects",
                  "delivered",   "dead_lettered",
                  "cut",         "total",
                  "first",       "last"};
  g.table_header = {"VENDOR",        "ID",  "PURPOSE", "LEGAL BASIS", "COUNTRY", "CATEGORIES", "SUBJECTS", "DELIVERED",
                    "DEAD-LETTERED", "CUT", "TOTAL",   "FIRST",       "LAST"};
  g.right = {false, true, false, false, false, false, true, true, true, true, true, false, false};
  for (size_t i = 0; i < vendors.size(); ++i) {
    const auto& v = vendors[i];
    std::vector<std::string> row = {v.vendor.name, std::to_string(v.vendor_id)};
    if (csv) row.push_back(current(i) ? "true" : "false");
    for (std::string cell : {v.vendor.purpose, v.vendor.legal_basis, v.vendor.destination_country,
                             Join(CategoryNames(v.categories), ","), std::to_string(v.distinct_subjects)}) {
      row.push_back(std::move(cell));
    }
    for (auto& c : CountCells(v.counts)) row.push_back(std::move(c));
    row.push_back(time_or_empty(v, v.first_us, csv));
    row.push_back(time_or_empty(v, v.last_us, csv));
    if (!csv && !current(i)) row[0] += " (superseded)";
    g.rows.push_back(std::move(row));
  }
  if (csv) {
    PrintCsv(g);
    return 0;
  }
  std::cout << vendors.size() << " vendor declaration(s), "
            << (since ? "records since " + IsoTime(*since, false) : std::string("all records")) << ", "
            << OutcomeMaskText(mask) << "\n";
  if (!vendors.empty()) PrintTable(g);
  return 0;
}

// ---- erase ------------------------------------------------------------------------------------------------

// What is left after an erasure, for --help and the text output (see Erase in ledger.h).
constexpr const char* kAfterErasure =
    "What remains after an erasure: the identifier's keyed hash (HMAC under the ledger's subject.key: whoever "
    "holds that key and the identifier can still confirm that the ledger has records about it, and `ledger "
    "subject ID` still answers, showing it as erased), and every record's vendor, data categories, times and "
    "outcome: the accounting of disclosures the controller must keep. The Merkle tree, signed heads and "
    "proofs stay valid (`ledger verify` still passes). The erasure itself is recorded in the ledger, with who "
    "asked for it.";

struct EraseReport {
  ErasureOutcome outcome = ErasureOutcome::kNoRecords;
  uint64_t segments = 0;
  bool sealed_active = false;
  std::string subject_hash;
  bool via_gateway = false;
};

int PrintErase(const EraseReport& r, bool json) {
  const bool erased = r.outcome == ErasureOutcome::kErased;
  if (json) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Key("subject_erased");
    w.Bool(erased);
    w.Key("via");
    w.String(r.via_gateway ? "gateway" : "ledger");
    if (erased) {
      w.Key("segments_rewritten");
      w.Int(static_cast<int64_t>(r.segments));
      w.Key("sealed_active");
      w.Bool(r.sealed_active);
      w.Key("subject_hash");
      r.subject_hash.empty() ? w.Null() : w.String(r.subject_hash);
    } else {
      w.Key("reason");
      w.String(r.outcome == ErasureOutcome::kNoRecords ? "no_records" : "already_erased");
    }
    w.EndObject();
    std::cout << out << "\n";
  }
  if (!erased) {
    return Fail(1, r.outcome == ErasureOutcome::kNoRecords
                       ? "nothing to erase: the ledger holds no records about this identifier"
                       : "nothing to erase: this identifier was already erased from the ledger (its records remain, "
                         "as the accounting of disclosures)");
  }
  if (!json) {
    std::cout << "erased the identifier from the disclosure ledger ("
              << (r.via_gateway ? "through the running gateway" : "directly: no gateway was running") << "): "
              << r.segments << " segment name table(s) rewritten"
              << (r.sealed_active ? ", after sealing the active segment" : "") << ".\n"
              << "kept: its keyed hash " << (r.subject_hash.empty() ? std::string("(not reported)") : r.subject_hash)
              << ", and its records' vendors, categories, times and outcomes (the accounting of disclosures); the "
                 "erasure is recorded in the ledger.\n";
  }
  return 0;
}

// Through the running gateway. nullopt: nobody answers on the admin socket (erase directly instead).
std::optional<int> EraseThroughGateway(const Config& config, const std::string& subject, bool json) {
  std::string body = "{\"subject\":";
  AppendJsonStringLossy(&body, subject);
  body += "}";
  const std::string socket = config.AdminSocketPath();
  auto reply = CallAdmin(socket, "POST", "/v1/ledger/erase", body);
  if (auto* o = std::get_if<Outcome>(&reply)) {
    if (o->no_gateway) return std::nullopt;
    return Fail(o->exit_code, o->message);
  }
  const AdminReply& r = std::get<AdminReply>(reply);
  simdjson::dom::parser parser;
  simdjson::padded_string padded(r.body);
  simdjson::dom::element doc;
  const bool parsed = parser.parse(padded).get(doc) == simdjson::SUCCESS;
  EraseReport report;
  report.via_gateway = true;
  if (r.status == 200 && parsed) {
    report.outcome = ErasureOutcome::kErased;
    uint64_t segments = 0;
    bool sealed = false;
    std::string_view hash;
    // Absent fields (an older gateway) print as zero and empty; the erasure itself was done.
    if (doc["segments_rewritten"].get(segments) != simdjson::SUCCESS) segments = 0;
    if (doc["sealed_active"].get(sealed) != simdjson::SUCCESS) sealed = false;
    if (doc["subject_hash"].get(hash) != simdjson::SUCCESS) hash = {};
    report.segments = segments;
    report.sealed_active = sealed;
    report.subject_hash = std::string(hash);
    return PrintErase(report, json);
  }
  if (r.status == 404 || r.status == 409) {
    report.outcome = r.status == 404 ? ErasureOutcome::kNoRecords : ErasureOutcome::kAlreadyErased;
    return PrintErase(report, json);
  }
  std::string_view error;
  if (parsed && doc["error"].get(error) != simdjson::SUCCESS) error = {};
  return Fail(2, "the gateway at " + socket + " refused the erasure: " +
                     (error.empty() ? "HTTP " + std::to_string(r.status) : std::string(error)));
}

// Without a gateway: opens the ledger for writing (as the gateway would) and erases.
int EraseDirectly(const Config& config, const std::string& subject, bool json) {
  ledger::LedgerOptions options = LedgerOptionsFor(config, /*sync=*/true, nullptr);
  const std::string dir = options.dir;
  // Never create a ledger just to find it empty (a wrong --config would leave one behind).
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "subject.key", ec)) {
    return Fail(2, "no ledger at " + dir + " (is this the gateway's data_dir? --config FILE names it)");
  }
  auto opened = Ledger::Open(std::move(options));
  if (!opened.ok()) {
    if (opened.status().code() == Status::Code::kUnavailable) {
      return Fail(2, "cannot open the ledger: " + opened.status().message() + "; a gateway holds it but does not "
                     "answer on its admin socket " + config.AdminSocketPath() + " (is admin.socket the same in this "
                     "config?)");
    }
    return Fail(2, "cannot open the ledger: " + opened.status().message());
  }
  Ledger& l = **opened;
  const int64_t now_us = SystemNowUs();
  auto erased = EraseSubject(l, subject, CurrentUser() + " on the host", now_us);
  const Status closed = l.Close();
  if (!erased.ok()) return Fail(2, "erasure failed: " + erased.status().message());
  if (!closed.ok()) return Fail(2, "closing the ledger after the erasure failed: " + closed.message());
  EraseReport report;
  report.outcome = erased->outcome;
  report.segments = erased->result.segments;
  report.sealed_active = erased->result.sealed_active;
  report.subject_hash = ledger::SubjectHashHex(erased->result.subject_hash);
  return PrintErase(report, json);
}

int RunErase(const Options& o, bool json) {
  if (!o.ledger_dir.empty()) {
    return Fail(2, "erase takes --config FILE, not --ledger: it goes through the gateway's admin socket, or opens "
                   "the ledger with the configured vendors");
  }
  if (o.subject.empty()) return Fail(2, "erase: the identifier is empty");
  auto config = o.config_path.empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(o.config_path);
  if (!config.ok()) return Fail(2, config.status().message());
  if (auto code = EraseThroughGateway(*config, o.subject, json)) return *code;
  return EraseDirectly(*config, o.subject, json);
}

constexpr const char* kTimesHelp =
    "Times: ISO 8601, a date (2025-11-09, midnight UTC) or a date-time with a zone (2025-11-09T12:00:00Z, "
    "2025-11-09T12:00:00+02:00, 2025-11-09T12:00:00.123Z).";

}  // namespace

std::function<int()> AddLedger(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "ledger",
      "Query and verify the disclosure ledger (what left, to which vendor, about whom), read-only: safe while the "
      "gateway runs; and erase an identifier from it (a deletion request)");
  cmd->require_subcommand(1);
  auto o = std::make_shared<Options>();
  // The ledger and the format, on `ledger` and on each action (so each action's --help lists them, and
  // they may come before or after it).
  auto add_common = [o](CLI::App* app) {
    auto* ledger_opt = app->add_option("--ledger", o->ledger_dir, "the ledger directory (default: <data_dir>/ledger)");
    app->add_option("--config,-c", o->config_path,
                    "YAML config file whose data_dir holds the ledger (default: the embedded default config)")
        ->excludes(ledger_opt);
    app->add_option("--format", o->format,
                    "output format: table (the default: aligned columns for people), json or csv (times in "
                    "microseconds)")
        ->check(CLI::IsMember({"table", "text", "json", "csv"}));
  };
  add_common(cmd);
  const auto outcome_help =
      "which records count: reached (delivered or dead-lettered: what may have reached the vendor; the default), "
      "all, delivered, dead_lettered, cut (accepted but never sent)";
  const auto outcomes = CLI::IsMember({"reached", "all", "delivered", "dead_lettered", "cut"});

  auto* verify = cmd->add_subcommand(
      "verify",
      "Recompute every record's leaf and the Merkle root at every signed tree head, check every signature, the "
      "segments' checksums, bounds, indexes and name tables: exit 0 intact, 1 a problem (named with file, offset "
      "and record), 2 no readable ledger");
  add_common(verify);
  verify->add_option("--public-key", o->public_key_path,
                     "PEM public key the heads must be signed with (default: the ledger's head.pub, which whoever "
                     "can rewrite the ledger can also replace: pass the copy an auditor holds)");

  auto* who = cmd->add_subcommand(
      "who",
      "Every subject disclosed to a vendor in a time window: identifier (or \"(erased)\"), keyed hash, categories, "
      "first and last time, counts by outcome");
  who->footer(std::string(kTimesHelp) +
              " A date alone as --to means through the end of that day (the window ends at the next midnight UTC, "
              "exclusive); as --from, from its midnight UTC. The window is [--from, --to).");
  add_common(who);
  who->add_option("--vendor", o->vendor, "vendor name, as in the config")->required();
  who->add_option("--from", o->from, "start of the window, inclusive (default: the first record)");
  who->add_option("--to", o->to,
                  "end of the window, exclusive; a date alone means through that day (default: the "
                  "last record)");
  who->add_option("--outcome", o->outcome, outcome_help)->check(outcomes);

  auto* subject = cmd->add_subcommand(
      "subject",
      "Every vendor that received anything about one identifier, with purpose, legal basis, destination country, "
      "categories, first and last time: exit 0 found, 1 the ledger holds nothing about it");
  add_common(subject);
  subject->add_option("ID", o->subject, "the identifier as the product sent it (e.g. the distinct_id)")->required();
  subject->add_option("--outcome", o->outcome, outcome_help)->check(outcomes);

  auto* vendors = cmd->add_subcommand(
      "vendors",
      "Per vendor declaration: the data categories it really received, record counts by outcome, distinct "
      "subjects, first and last time (the vendor review)");
  vendors->footer(kTimesHelp);
  add_common(vendors);
  vendors->add_option("--since", o->since, "count only records at or after this time (a date: its midnight UTC)");
  vendors->add_option("--outcome", o->outcome, outcome_help)->check(outcomes);

  auto* erase = cmd->add_subcommand(
      "erase",
      "Deletion request: remove an identifier's plaintext from the ledger. Goes through the running gateway "
      "(its admin socket) when one answers, else opens the ledger directly: exit 0 erased, 1 nothing to erase "
      "(no records about it, or erased already), 2 an error");
  erase->footer(kAfterErasure);
  erase->add_option("--config,-c", o->config_path,
                    "YAML config file of the gateway: its admin socket and data_dir (default: the embedded default "
                    "config)");
  erase->add_option("--format", o->format, "output format: text (the default) or json")
      ->check(CLI::IsMember({"table", "text", "json"}));
  erase->add_option("ID", o->subject, "the identifier as the product sent it (e.g. the distinct_id)")->required();

  return [=]() -> int {
    if (!o->ledger_dir.empty() && !o->config_path.empty()) {
      return Fail(2, "--ledger and --config both name the ledger: give one");
    }
    if (erase->parsed()) {
      if (o->format == "csv") return Fail(2, "erase: --format is text or json");
      return RunErase(*o, o->format == "json");
    }
    const Format format = o->format == "json" ? Format::kJson : o->format == "csv" ? Format::kCsv : Format::kTable;
    int error_code = 0;
    const std::optional<std::string> dir = LedgerDir(*o, &error_code);
    if (!dir) return error_code;
    if (verify->parsed()) return RunVerify(*o, *dir, format);

    auto opened = Ledger::OpenReadOnly(*dir);
    if (!opened.ok()) {
      if (opened.status().code() == Status::Code::kNotFound) {
        return Fail(2, opened.status().message() +
                           " (is this the gateway's data_dir? --ledger DIR or --config FILE names the ledger)");
      }
      return Fail(2, "cannot read the ledger: " + opened.status().message());
    }
    const Ledger& l = **opened;
    if (who->parsed()) return RunWho(*o, l, format);
    if (subject->parsed()) return RunSubject(*o, l, format);
    if (vendors->parsed()) return RunVendors(*o, l, format);
    return 2;
  };
}

}  // namespace vg::cli
