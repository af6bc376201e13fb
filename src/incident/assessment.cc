#include "incident/assessment.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cstdio>
#include <map>

#include "common/json_text.h"
#include "common/time_text.h"
#include "policy/categories.h"

namespace vg::incident {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;

std::string Names(uint32_t set, std::string_view sep = ",") {
  std::string out;
  for (size_t b = 0; b < std::size(kCategoryNames); ++b) {
    if (set & (1u << b)) {
      if (!out.empty()) out += sep;
      out += kCategoryNames[b];
    }
  }
  return out;
}

std::string Count(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// ---- A small document model, rendered as Markdown and as HTML ----

struct Block {
  enum Kind { kHeading, kPara, kBullets, kTable } kind;
  int level = 2;
  std::string text;
  std::vector<std::string> items;               // bullets; table header
  std::vector<std::vector<std::string>> rows;   // table rows
};

std::string MdEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '<' || c == '[' || c == ']') out.push_back('\\');
    if (c == '\n') {
      out += ' ';
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string RenderMarkdown(const std::vector<Block>& doc) {
  std::string out;
  for (const Block& b : doc) {
    switch (b.kind) {
      case Block::kHeading: out += std::string(static_cast<size_t>(b.level), '#') + " " + MdEscape(b.text) + "\n\n"; break;
      case Block::kPara: out += MdEscape(b.text) + "\n\n"; break;
      case Block::kBullets:
        for (const auto& i : b.items) out += "- " + MdEscape(i) + "\n";
        out += "\n";
        break;
      case Block::kTable: {
        out += "|";
        for (const auto& h : b.items) out += " " + MdEscape(h) + " |";
        out += "\n|";
        for (size_t i = 0; i < b.items.size(); ++i) out += " --- |";
        out += "\n";
        for (const auto& r : b.rows) {
          out += "|";
          for (const auto& c : r) out += " " + MdEscape(c) + " |";
          out += "\n";
        }
        out += "\n";
        break;
      }
    }
  }
  return out;
}

std::string RenderHtml(const std::vector<Block>& doc, std::string_view title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + HtmlEscape(title) +
                    "</title>\n<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
                    "line-height:1.5}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.25em .6em;"
                    "text-align:left}</style>\n</head>\n<body>\n";
  for (const Block& b : doc) {
    switch (b.kind) {
      case Block::kHeading: {
        const std::string h = "h" + std::to_string(b.level);
        out += "<" + h + ">" + HtmlEscape(b.text) + "</" + h + ">\n";
        break;
      }
      case Block::kPara: out += "<p>" + HtmlEscape(b.text) + "</p>\n"; break;
      case Block::kBullets:
        out += "<ul>\n";
        for (const auto& i : b.items) out += "<li>" + HtmlEscape(i) + "</li>\n";
        out += "</ul>\n";
        break;
      case Block::kTable:
        out += "<table>\n<tr>";
        for (const auto& h : b.items) out += "<th>" + HtmlEscape(h) + "</th>";
        out += "</tr>\n";
        for (const auto& r : b.rows) {
          out += "<tr>";
          for (const auto& c : r) out += "<td>" + HtmlEscape(c) + "</td>";
          out += "</tr>\n";
        }
        out += "</table>\n";
        break;
    }
  }
  return out + "</body>\n</html>\n";
}

// Whole seconds, UTC: what a report for people shows.
std::string ReportTime(int64_t us) { return IsoTime(us, false); }

std::vector<Block> BuildReport(const Assessment& a, const Config::Organization& org) {
  const Incident& i = a.incident;
  std::vector<Block> d;
  auto heading = [&](std::string text, int level = 2) { d.push_back({Block::kHeading, level, std::move(text), {}, {}}); };
  auto para = [&](std::string text) { d.push_back({Block::kPara, 0, std::move(text), {}, {}}); };
  auto bullets = [&](std::vector<std::string> items) { d.push_back({Block::kBullets, 0, "", std::move(items), {}}); };

  heading("Personal data breach at " + i.vendor + ": incident " + i.id, 1);
  para("Prepared by " + org.name + " on " + ReportTime(a.generated_at_us) +
       " from vendorguard's disclosure ledger, which records every disclosure to the vendor (who, which "
       "categories of data, when) but never the data itself.");

  heading("Nature of the breach");
  para("Unauthorized access to data held by our processor " + i.vendor + " (" +
       (a.vendor.purpose.empty() ? "purpose not declared" : a.vendor.purpose) + "; legal basis " +
       (a.vendor.legal_basis.empty() ? "not declared" : a.vendor.legal_basis) + "; processing in " +
       (a.vendor.destination_country.empty() ? "an undeclared country" : a.vendor.destination_country) +
       "), from " + ReportTime(i.from_us) + " until " + ReportTime(i.to_us) + ". Our own systems were not accessed.");
  para("We became aware of it at " + ReportTime(i.aware_at_us) + "; the 72-hour deadline to notify the supervisory "
       "authority (GDPR Art. 33(1)) is " + ReportTime(NotificationDeadlineUs(i)) + ".");
  para(std::string("The vendor held data disclosed to it ") +
       (a.held_from_us == INT64_MIN ? "at any time before the end of the window (no retention limit is declared)"
                                    : "from " + ReportTime(a.held_from_us) + " (its retention period of " +
                                          std::to_string(*i.retention_days) + " days) to the end of the window") +
       ".");

  heading("Data subjects and records concerned");
  const uint64_t people = a.subjects.size();
  bullets({Count(people) + " people (distinct identifiers) whose data the vendor held during the window",
           Count(a.subjects_in_window) + " of them with data disclosed inside the window, " +
               Count(a.subjects_before_only) + " only before it",
           Count(a.records_in_window + a.records_before) + " records (events and profile updates): " +
               Count(a.records_in_window) + " inside the window, " + Count(a.records_before) + " before it"});
  Block table{Block::kTable, 0, "", {"Category of data", "People", "Of which inside the window"}, {}};
  for (const CategoryTotal& c : a.categories) {
    table.rows.push_back({std::string(kCategoryNames[std::countr_zero(c.category)]), Count(c.subjects),
                          Count(c.subjects_in_window)});
  }
  if (table.rows.empty()) {
    para("No disclosures to this vendor fall in the period; nobody's data was held by it.");
  } else {
    d.push_back(std::move(table));
  }

  heading("Likely consequences");
  std::vector<std::string> consequences;
  for (const CategoryTotal& c : a.categories) {
    consequences.push_back(std::string(kCategoryNames[std::countr_zero(c.category)]) + ": " +
                           std::string(LikelyConsequence(c.category)));
  }
  if (consequences.empty()) consequences.push_back("None identified: no personal data was held by the vendor.");
  bullets(std::move(consequences));

  heading("Measures taken");
  std::vector<std::string> measures;
  if (i.cut) {
    measures.push_back("The vendor was cut off at " + ReportTime(i.cut_at_us) +
                       (i.cut_note.empty() ? "" : " (" + i.cut_note + ")") + ": nothing more is sent to it; " +
                       Count(i.cut_discarded) + " queued events were discarded instead of sent.");
  } else {
    measures.push_back("The vendor has not been cut off by this incident (vendorguard vendor cut " + i.vendor +
                       " stops all disclosures to it within a second).");
  }
  if (a.cut_records + a.dead_lettered_records > 0) {
    measures.push_back(Count(a.cut_records) + " disclosures were stopped by the cut and " +
                       Count(a.dead_lettered_records) + " were refused by the vendor: " +
                       Count(a.not_exposed.size()) + " people's data in them was not exposed.");
  }
  measures.push_back("Every affected person receives a signed notice naming exactly the categories of their data "
                     "that were exposed, which they can verify at " + org.NoticeUrl("<notice id>") +
                     "; it never asks for a password, key or code.");
  bullets(std::move(measures));

  heading("Contact point");
  para(org.name + ", " + org.contact);
  return d;
}

}  // namespace

std::string_view LikelyConsequence(uint32_t category) {
  switch (category) {
    case kCatIdentifier: return "identifiers let records about the same person be linked; where they were pseudonymized per vendor they cannot be linked to our other data without our key";
    case kCatContact: return "phishing and spam sent to their email address or phone number, possibly pretending to come from us";
    case kCatName: return "more convincing, personalised phishing when combined with contact data";
    case kCatLocation: return "their approximate location (country, region or city) is known, making phishing more believable";
    case kCatNetwork: return "IP addresses reveal approximate location and can be used to target their network";
    case kCatDevice: return "knowing their browser and operating system lets an attacker tailor phishing pages or exploits";
    case kCatReferrer: return "the sites they came from may reveal interests or other services they use";
    case kCatFreeText: return "whatever they typed into free-text fields, which may hold sensitive details";
    case kCatSecret: return "credentials or tokens could give access to their accounts: they must be revoked and rotated";
    case kCatActivity: return "what they did in the product and when is known, which can make phishing look legitimate";
    case kCatOther: return "custom properties of their events, whose sensitivity depends on what the product sent";
    case kCatFinancial: return "payment card or bank account numbers could be used for fraud";
    case kCatGovernmentId: return "national identifiers enable identity theft";
    default: return "unknown category";
  }
}

StatusOr<Assessment> Assess(const ledger::Ledger& l, const Incident& i, int64_t now_us) {
  if (i.from_us >= i.to_us) return Status::InvalidArgument("the incident's window is empty or inverted");
  Assessment a;
  a.incident = i;
  a.generated_at_us = now_us;
  a.held_from_us = i.retention_days ? i.from_us - static_cast<int64_t>(*i.retention_days) * kDayUs : INT64_MIN;
  if (auto id = l.VendorId(i.vendor)) {
    auto vendors = l.vendors();
    if (*id < vendors.size()) a.vendor = vendors[*id];
  }
  const auto delivered = ledger::OutcomeBit(ledger::Outcome::kDelivered);
  auto inside = l.Who(i.vendor, i.from_us, i.to_us, delivered);
  if (!inside.ok()) return inside.status();
  auto before = l.Who(i.vendor, a.held_from_us, i.from_us, delivered);
  if (!before.ok()) return before.status();
  auto stopped = l.Who(i.vendor, a.held_from_us, i.to_us,
                       ledger::OutcomeBit(ledger::Outcome::kCut) | ledger::OutcomeBit(ledger::Outcome::kDeadLettered));
  if (!stopped.ok()) return stopped.status();

  // Both lists are in SubjectHash order: merge.
  a.subjects.reserve(std::max(inside->size(), before->size()));
  size_t x = 0, y = 0;
  while (x < inside->size() || y < before->size()) {
    const ledger::WhoEntry* in = x < inside->size() ? &(*inside)[x] : nullptr;
    const ledger::WhoEntry* be = y < before->size() ? &(*before)[y] : nullptr;
    if (in && be && in->subject_hash != be->subject_hash) {
      if (in->subject_hash < be->subject_hash) be = nullptr; else in = nullptr;
    }
    AffectedSubject s;
    const ledger::WhoEntry& any = in ? *in : *be;
    s.subject = any.subject;
    s.erased = any.erased;
    s.hash = any.subject_hash;
    s.first_us = INT64_MAX;
    s.last_us = INT64_MIN;
    if (in) {
      s.categories |= in->categories;
      s.categories_in_window = in->categories;
      s.records_in_window = in->counts.delivered;
      s.first_us = std::min(s.first_us, in->first_us);
      s.last_us = std::max(s.last_us, in->last_us);
      ++x;
    }
    if (be) {
      s.categories |= be->categories;
      s.records_before = be->counts.delivered;
      s.first_us = std::min(s.first_us, be->first_us);
      s.last_us = std::max(s.last_us, be->last_us);
      ++y;
    }
    a.records_in_window += s.records_in_window;
    a.records_before += s.records_before;
    if (s.in_window()) ++a.subjects_in_window; else ++a.subjects_before_only;
    a.subjects.push_back(std::move(s));
  }
  std::sort(a.subjects.begin(), a.subjects.end(), [](const AffectedSubject& p, const AffectedSubject& q) {
    if (p.erased != q.erased) return q.erased;  // erased ones last
    return p.subject != q.subject ? p.subject < q.subject : p.hash < q.hash;
  });

  std::map<uint32_t, CategoryTotal> totals;
  for (const AffectedSubject& s : a.subjects) {
    for (uint32_t set = s.categories; set != 0; set &= set - 1) {
      const uint32_t bit = set & (~set + 1);
      CategoryTotal& t = totals[bit];
      t.category = bit;
      ++t.subjects;
      if (s.categories_in_window & bit) ++t.subjects_in_window;
    }
  }
  for (const auto& [bit, t] : totals) a.categories.push_back(t);

  for (const ledger::WhoEntry& w : *stopped) {
    a.not_exposed.push_back({w.subject, w.erased, w.subject_hash, w.counts.cut, w.counts.dead_lettered});
    a.cut_records += w.counts.cut;
    a.dead_lettered_records += w.counts.dead_lettered;
  }
  std::sort(a.not_exposed.begin(), a.not_exposed.end(),
            [](const NotExposedSubject& p, const NotExposedSubject& q) { return p.subject < q.subject; });
  return a;
}

std::string AssessmentJson(const Assessment& a, bool with_subjects) {
  const Incident& i = a.incident;
  std::string j;
  j.reserve(256 + (with_subjects ? a.subjects.size() * 200 : 0));
  j += "{\"incident\":";
  AppendJsonStringLossy(&j, i.id);
  j += ",\"vendor\":";
  AppendJsonStringLossy(&j, i.vendor);
  j += ",\"declaration\":{\"purpose\":";
  AppendJsonStringLossy(&j, a.vendor.purpose);
  j += ",\"legal_basis\":";
  AppendJsonStringLossy(&j, a.vendor.legal_basis);
  j += ",\"destination_country\":";
  AppendJsonStringLossy(&j, a.vendor.destination_country);
  j += "},\"window\":{\"from\":\"" + IsoUtc(i.from_us) + "\",\"to\":\"" + IsoUtc(i.to_us) + "\"}";
  j += ",\"held_from\":" + (a.held_from_us == INT64_MIN ? std::string("null") : "\"" + IsoUtc(a.held_from_us) + "\"");
  j += ",\"aware_at\":\"" + IsoUtc(i.aware_at_us) + "\",\"notify_authority_by\":\"" +
       IsoUtc(NotificationDeadlineUs(i)) + "\",\"generated_at\":\"" + IsoUtc(a.generated_at_us) + "\"";
  j += ",\"totals\":{\"subjects\":" + std::to_string(a.subjects.size()) +
       ",\"subjects_in_window\":" + std::to_string(a.subjects_in_window) +
       ",\"subjects_before_window_only\":" + std::to_string(a.subjects_before_only) +
       ",\"records_in_window\":" + std::to_string(a.records_in_window) +
       ",\"records_before_window\":" + std::to_string(a.records_before) + "}";
  j += ",\"categories\":[";
  for (size_t k = 0; k < a.categories.size(); ++k) {
    const CategoryTotal& c = a.categories[k];
    if (k) j += ",";
    j += "{\"category\":\"" + std::string(kCategoryNames[std::countr_zero(c.category)]) +
         "\",\"subjects\":" + std::to_string(c.subjects) + ",\"subjects_in_window\":" + std::to_string(c.subjects_in_window) + "}";
  }
  j += "],\"not_exposed\":{\"cut_records\":" + std::to_string(a.cut_records) +
       ",\"dead_lettered_records\":" + std::to_string(a.dead_lettered_records) +
       ",\"subjects\":" + std::to_string(a.not_exposed.size());
  if (with_subjects) {
    j += ",\"list\":[";
    for (size_t k = 0; k < a.not_exposed.size(); ++k) {
      const NotExposedSubject& s = a.not_exposed[k];
      if (k) j += ",";
      j += "{\"subject\":";
      if (s.erased) j += "null"; else AppendJsonStringLossy(&j, s.subject);
      j += ",\"subject_hash\":\"" + ledger::SubjectHashHex(s.hash) + "\",\"cut\":" + std::to_string(s.cut) +
           ",\"dead_lettered\":" + std::to_string(s.dead_lettered) + "}";
    }
    j += "]";
  }
  j += "}";
  if (with_subjects) {
    j += ",\"subjects\":[";
    for (size_t k = 0; k < a.subjects.size(); ++k) {
      const AffectedSubject& s = a.subjects[k];
      if (k) j += ",\n";
      j += "{\"subject\":";
      if (s.erased) j += "null"; else AppendJsonStringLossy(&j, s.subject);
      j += ",\"subject_hash\":\"" + ledger::SubjectHashHex(s.hash) + "\",\"exposure\":\"" +
           (s.in_window() ? "in_window" : "before_window") + "\",\"categories\":[";
      bool first = true;
      for (uint32_t set = s.categories; set != 0; set &= set - 1) {
        if (!first) j += ",";
        first = false;
        j += "\"" + std::string(kCategoryNames[std::countr_zero(set)]) + "\"";
      }
      j += "],\"categories_in_window\":[";
      first = true;
      for (uint32_t set = s.categories_in_window; set != 0; set &= set - 1) {
        if (!first) j += ",";
        first = false;
        j += "\"" + std::string(kCategoryNames[std::countr_zero(set)]) + "\"";
      }
      j += "],\"records_in_window\":" + std::to_string(s.records_in_window) +
           ",\"records_before_window\":" + std::to_string(s.records_before) + ",\"first\":\"" + IsoUtc(s.first_us) +
           "\",\"last\":\"" + IsoUtc(s.last_us) + "\"}";
    }
    j += "]";
  }
  j += "}\n";
  return j;
}

std::string AffectedSubjectsCsv(const Assessment& a) {
  auto field = [](std::string_view s) {
    // Quote always; neutralize spreadsheet formulas (a leading = + - @ is prefixed with ').
    std::string out = "\"";
    if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) out += '\'';
    for (char c : s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  std::string out = "subject,subject_hash,exposure,categories,categories_in_window,records_in_window,records_before_window,first,last\n";
  out.reserve(out.size() + a.subjects.size() * 160);
  for (const AffectedSubject& s : a.subjects) {
    out += field(s.erased ? "" : s.subject);
    out += "," + ledger::SubjectHashHex(s.hash) + "," + (s.in_window() ? "in_window" : "before_window") + ",";
    out += field(Names(s.categories, ";")) + "," + field(Names(s.categories_in_window, ";")) + ",";
    out += std::to_string(s.records_in_window) + "," + std::to_string(s.records_before) + "," + IsoUtc(s.first_us) +
           "," + IsoUtc(s.last_us) + "\n";
  }
  return out;
}

std::string ReportMarkdown(const Assessment& a, const Config::Organization& org) {
  return RenderMarkdown(BuildReport(a, org));
}

std::string ReportHtml(const Assessment& a, const Config::Organization& org) {
  return RenderHtml(BuildReport(a, org), "Incident " + a.incident.id);
}

}  // namespace vg::incident
