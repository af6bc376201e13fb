#include "incident/leak_match.h"

#include <simdjson.h>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/files.h"
#include "common/json_text.h"
#include "crypto/pseudonymizer.h"
#include "pii/scanner.h"

namespace vg::incident {
namespace {

// "vg<epoch>-<32 lower-case hex digits>" -> epoch; 0 when `s` is not a pseudonym.
uint32_t PseudonymEpoch(std::string_view s) {
  if (s.size() < 36 || s.size() > 45 || s[0] != 'v' || s[1] != 'g') return 0;
  size_t i = 2;
  uint64_t epoch = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i < 12) epoch = epoch * 10 + static_cast<uint64_t>(s[i++] - '0');
  if (i == 2 || i >= s.size() || s[i] != '-' || s.size() - i - 1 != 32 || epoch == 0 || epoch > UINT32_MAX) return 0;
  for (size_t k = i + 1; k < s.size(); ++k) {
    const char c = s[k];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  }
  return static_cast<uint32_t>(epoch);
}

struct Row {
  uint64_t line = 0;
  std::vector<std::string> pseudonyms;
};

class Collector {
 public:
  explicit Collector(const PiiScanner& scanner) : scanner_(scanner) {}

  void Value(uint64_t line, const std::string& path, std::string_view value, Row* row) {
    if (PseudonymEpoch(value) != 0) {
      row->pseudonyms.emplace_back(value);
      return;
    }
    findings_.clear();
    scanner_.Scan(path, value, &findings_);
    for (const PiiFinding& f : findings_) {
      LeakPii& p = pii_[{path, std::string(PiiTypeName(f.type))}];
      if (p.count++ == 0) {
        p.path = path;
        p.type = PiiTypeName(f.type);
        p.first_line = line;
      }
    }
  }

  void Walk(uint64_t line, simdjson::dom::element e, std::string& path, Row* row) {
    switch (e.type()) {
      case simdjson::dom::element_type::OBJECT: {
        const simdjson::dom::object object = e.get_object().value_unsafe();
        for (auto field : object) {
          const size_t mark = path.size();
          if (!path.empty()) path += '.';
          path.append(field.key);
          Walk(line, field.value, path, row);
          path.resize(mark);
        }
        break;
      }
      case simdjson::dom::element_type::ARRAY: {
        const simdjson::dom::array array = e.get_array().value_unsafe();
        for (auto item : array) {
          const size_t mark = path.size();
          path += "[]";
          Walk(line, item, path, row);
          path.resize(mark);
        }
        break;
      }
      case simdjson::dom::element_type::STRING:
        Value(line, path, e.get_string().value_unsafe(), row);
        break;
      default:
        break;  // numbers, booleans, null: neither pseudonyms nor text
    }
  }

  std::vector<LeakPii> Pii() const {
    std::vector<LeakPii> out;
    for (const auto& [k, v] : pii_) out.push_back(v);
    std::sort(out.begin(), out.end(), [](const LeakPii& a, const LeakPii& b) {
      return a.count != b.count ? a.count > b.count : std::tie(a.path, a.type) < std::tie(b.path, b.type);
    });
    return out;
  }

 private:
  const PiiScanner& scanner_;
  std::vector<PiiFinding> findings_;
  std::map<std::pair<std::string, std::string>, LeakPii> pii_;
};

// RFC 4180 CSV: quoted fields with doubled quotes and embedded newlines. Calls `row(line, cells)` per
// record; a record with an unterminated quote is reported and ends the file.
template <typename RowFn>
void ParseCsv(std::string_view text, RowFn&& row, std::vector<LeakProblem>* problems) {
  size_t i = 0;
  uint64_t line = 1;
  while (i < text.size()) {
    const uint64_t start_line = line;
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false, in_quotes = false, end_of_record = false;
    while (i < text.size() && !end_of_record) {
      const char c = text[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          in_quotes = false;
          ++i;
          continue;
        }
        if (c == '\n') ++line;
        cell += c;
        ++i;
        continue;
      }
      if (c == '"' && cell.empty() && !quoted) {
        in_quotes = quoted = true;
        ++i;
      } else if (c == ',') {
        cells.push_back(std::move(cell));
        cell.clear();
        quoted = false;
        ++i;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        end_of_record = true;
      } else {
        cell += c;
        ++i;
      }
    }
    if (in_quotes) {
      problems->push_back({start_line, "a quoted field is not closed before the end of the file"});
      return;
    }
    cells.push_back(std::move(cell));
    if (cells.size() == 1 && cells[0].empty()) continue;  // blank line
    row(start_line, cells);
  }
}

bool LooksBinary(std::string_view text) {
  const size_t n = std::min<size_t>(text.size(), 4096);
  return std::memchr(text.data(), '\0', n) != nullptr;
}

}  // namespace

StatusOr<MatchReport> MatchLeak(const std::string& leak_path, const Assessment& assessment,
                                const std::map<std::string, std::vector<std::string>>& subjects_by_vendor,
                                const PseudonymKeyFile& keys, const PiiScanner& scanner) {
  auto content = ReadWholeFile(leak_path);
  if (!content.ok()) return content.status();
  const std::string& text = *content;
  MatchReport r;
  const size_t first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (first == std::string::npos) return Status::InvalidArgument(leak_path + ": the file is empty");
  if (LooksBinary(text)) {
    return Status::InvalidArgument(leak_path + ": not a leak format vendorguard reads (binary data; expected JSON "
                                   "lines, a JSON array or CSV with a header row)");
  }
  Collector collector(scanner);
  std::vector<Row> rows;
  simdjson::dom::parser parser;
  std::string path;
  if (text[first] == '[') {
    r.format = "json";
    simdjson::dom::array items;
    const simdjson::padded_string padded(text);
    if (auto e = parser.parse(padded).get_array().get(items); e != simdjson::SUCCESS) {
      return Status::InvalidArgument(leak_path + ": starts with '[' but is not a JSON array: " +
                                     simdjson::error_message(e));
    }
    uint64_t n = 0;
    for (auto item : items) {
      Row row;
      row.line = ++n;  // the record's position in the array
      path.clear();
      collector.Walk(row.line, item, path, &row);
      rows.push_back(std::move(row));
    }
  } else if (text[first] == '{') {
    r.format = "jsonl";
    size_t pos = 0;
    uint64_t line = 0;
    simdjson::padded_string buffer;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view l(text.data() + pos, end - pos);
      pos = end + 1;
      ++line;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
      simdjson::dom::element doc;
      if (auto e = parser.parse(l.data(), l.size(), true).get(doc); e != simdjson::SUCCESS) {
        r.problems.push_back({line, std::string("not a JSON value: ") + simdjson::error_message(e)});
        continue;
      }
      if (!doc.is_object()) {
        r.problems.push_back({line, "not a JSON object (an event or profile)"});
        continue;
      }
      Row row;
      row.line = line;
      path.clear();
      collector.Walk(line, doc, path, &row);
      rows.push_back(std::move(row));
    }
  } else {
    r.format = "csv";
    std::vector<std::string> header;
    ParseCsv(text, [&](uint64_t line, const std::vector<std::string>& cells) {
      if (header.empty()) {
        header = cells;
        return;
      }
      if (cells.size() != header.size()) {
        r.problems.push_back({line, "has " + std::to_string(cells.size()) + " fields, the header has " +
                                        std::to_string(header.size())});
        return;
      }
      Row row;
      row.line = line;
      for (size_t k = 0; k < cells.size(); ++k) collector.Value(line, header[k], cells[k], &row);
      rows.push_back(std::move(row));
    }, &r.problems);
    if (header.size() < 2 && rows.empty()) {
      return Status::InvalidArgument(leak_path + ": not a leak format vendorguard reads (expected JSON lines, a "
                                     "JSON array or CSV with a header row)");
    }
  }
  r.rows = rows.size();
  r.pii = collector.Pii();

  // Pseudonym -> (vendor, subject), for every vendor and every epoch that appears in the leak.
  std::set<uint32_t> epochs;
  for (const Row& row : rows) {
    for (const std::string& p : row.pseudonyms) epochs.insert(PseudonymEpoch(p));
  }
  struct Owner {
    const std::string* vendor;
    const std::string* subject;
  };
  std::unordered_map<std::string, Owner> owners;
  for (uint32_t epoch : epochs) {
    if (!keys.has_epoch(epoch)) continue;  // not ours: those rows stay unmatched
    for (const auto& [vendor, subjects] : subjects_by_vendor) {
      Pseudonymizer p(keys.VendorKey(vendor, epoch), epoch);
      for (const std::string& s : subjects) owners.emplace(p.Pseudonymize(s), Owner{&vendor, &s});
    }
  }

  const std::string& breached = assessment.incident.vendor;
  std::unordered_set<std::string> affected;
  for (const AffectedSubject& s : assessment.subjects) {
    if (!s.erased) affected.insert(s.subject);
  }
  std::set<std::string> confirmed, confirmed_not_assessed;
  for (const Row& row : rows) {
    if (row.pseudonyms.empty()) {
      ++r.rows_without_pseudonym;
      continue;
    }
    bool matched = false;
    const Owner* other = nullptr;
    for (const std::string& p : row.pseudonyms) {
      auto it = owners.find(p);
      if (it == owners.end()) continue;
      if (*it->second.vendor == breached) {
        matched = true;
        (affected.count(*it->second.subject) ? confirmed : confirmed_not_assessed).insert(*it->second.subject);
      } else if (other == nullptr) {
        other = &it->second;
      }
    }
    if (matched) {
      ++r.rows_matched;
    } else if (other != nullptr) {
      r.other_vendor.push_back({row.line, *other->vendor, *other->subject});
    } else {
      ++r.unmatched_rows;
      if (r.unmatched_lines.size() < 100) r.unmatched_lines.push_back(row.line);
    }
  }
  r.confirmed.assign(confirmed.begin(), confirmed.end());
  r.confirmed_not_assessed.assign(confirmed_not_assessed.begin(), confirmed_not_assessed.end());
  for (const AffectedSubject& s : assessment.subjects) {
    if (!s.erased && !confirmed.count(s.subject)) r.at_risk.push_back(s.subject);
  }
  std::sort(r.at_risk.begin(), r.at_risk.end());
  return r;
}

std::string MatchReportJson(const MatchReport& r, const Assessment& a) {
  std::string j = "{\"incident\":";
  AppendJsonStringLossy(&j, a.incident.id);
  j += ",\"vendor\":";
  AppendJsonStringLossy(&j, a.incident.vendor);
  j += ",\"format\":\"" + r.format + "\",\"rows\":" + std::to_string(r.rows) +
       ",\"rows_matched\":" + std::to_string(r.rows_matched) +
       ",\"rows_without_pseudonym\":" + std::to_string(r.rows_without_pseudonym) +
       ",\"unmatched_rows\":" + std::to_string(r.unmatched_rows);
  auto list = [&](const char* name, const std::vector<std::string>& v) {
    j += ",\"";
    j += name;
    j += "\":[";
    for (size_t k = 0; k < v.size(); ++k) {
      if (k) j += ",";
      AppendJsonStringLossy(&j, v[k]);
    }
    j += "]";
  };
  list("confirmed", r.confirmed);
  list("at_risk", r.at_risk);
  list("confirmed_not_assessed", r.confirmed_not_assessed);
  j += ",\"unmatched_lines\":[";
  for (size_t k = 0; k < r.unmatched_lines.size(); ++k) j += (k ? "," : "") + std::to_string(r.unmatched_lines[k]);
  j += "],\"other_vendor\":[";
  for (size_t k = 0; k < r.other_vendor.size(); ++k) {
    const AttributedRow& o = r.other_vendor[k];
    if (k) j += ",";
    j += "{\"line\":" + std::to_string(o.line) + ",\"vendor\":";
    AppendJsonStringLossy(&j, o.vendor);
    j += ",\"subject\":";
    AppendJsonStringLossy(&j, o.subject);
    j += "}";
  }
  j += "],\"problems\":[";
  for (size_t k = 0; k < r.problems.size(); ++k) {
    if (k) j += ",";
    j += "{\"line\":" + std::to_string(r.problems[k].line) + ",\"reason\":";
    AppendJsonStringLossy(&j, r.problems[k].reason);
    j += "}";
  }
  j += "],\"pii\":[";
  for (size_t k = 0; k < r.pii.size(); ++k) {
    const LeakPii& p = r.pii[k];
    if (k) j += ",";
    j += "{\"path\":";
    AppendJsonStringLossy(&j, p.path);
    j += ",\"type\":\"" + p.type + "\",\"count\":" + std::to_string(p.count) +
         ",\"first_line\":" + std::to_string(p.first_line) + "}";
  }
  j += "]}\n";
  return j;
}

}  // namespace vg::incident
