// `vendorguard scan`: finds personal data and secrets in files, like grep for PII. JSONL (one JSON value
// per line), JSON, CSV and plain text; every string value is scanned with its path as context. Exit status:
// 0 nothing found, 1 something found, 2 an error (a file that cannot be read, a line that is not valid
// JSON or UTF-8, a binary file); the rest of the input is still scanned after an error.
#include <simdjson.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "pii/json_strings.h"
#include "pii/scanner.h"

namespace vg::cli {

namespace {

enum class FileKind { kJsonl, kJson, kCsv, kText };

constexpr size_t kBinarySniffBytes = 64 * 1024;

bool EndsWith(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char c = s[s.size() - suffix.size() + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != suffix[i]) return false;
  }
  return true;
}

FileKind KindOf(std::string_view name, std::string_view content) {
  if (EndsWith(name, ".jsonl") || EndsWith(name, ".ndjson") || EndsWith(name, ".jsonlines")) return FileKind::kJsonl;
  if (EndsWith(name, ".json")) return FileKind::kJson;
  if (EndsWith(name, ".csv")) return FileKind::kCsv;
  if (EndsWith(name, ".txt") || EndsWith(name, ".log") || EndsWith(name, ".md")) return FileKind::kText;
  // Anything else (stdin, no extension): JSON lines when it starts like JSON.
  size_t i = content.find_first_not_of(" \t\r\n");
  if (i != std::string_view::npos && (content[i] == '{' || content[i] == '[')) return FileKind::kJsonl;
  return FileKind::kText;
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (u < 0x20 || u == 0x7F) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", u);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Collects findings and errors, writes them, and shows progress on a terminal.
class Reporter {
 public:
  Reporter(bool jsonl, bool show_values) : jsonl_(jsonl), show_values_(show_values), tty_(isatty(STDERR_FILENO)) {}
  ~Reporter() { Flush(); }

  void Finding(std::string_view file, size_t line, std::string_view path, std::string_view value, const PiiFinding& f) {
    ++findings_;
    char num[64];
    if (jsonl_) {
      out_.append("{\"file\":");
      AppendJsonString(file, &out_);
      snprintf(num, sizeof num, ",\"line\":%zu,\"path\":", line);
      out_.append(num);
      AppendJsonString(path, &out_);
      out_.append(",\"type\":\"");
      out_.append(PiiTypeName(f.type));
      snprintf(num, sizeof num, "\",\"start\":%zu,\"end\":%zu,\"confidence\":%.2f", f.start, f.end,
               static_cast<double>(f.confidence));
      out_.append(num);
      if (show_values_) {
        out_.append(",\"value\":");
        AppendJsonString(value.substr(f.start, f.end - f.start), &out_);
      }
      out_.append("}\n");
    } else {
      out_.append(file);
      snprintf(num, sizeof num, ":%zu: ", line);
      out_.append(num);
      if (!path.empty()) {
        out_.append(path);
        out_.append(": ");
      }
      out_.append(PiiTypeName(f.type));
      snprintf(num, sizeof num, " at bytes %zu-%zu (confidence %.2f)", f.start, f.end, static_cast<double>(f.confidence));
      out_.append(num);
      if (show_values_) {
        out_.append(": ");
        AppendJsonString(value.substr(f.start, f.end - f.start), &out_);
      }
      out_.push_back('\n');
    }
    if (out_.size() > (1 << 16)) Flush();
  }

  void Error(std::string_view file, size_t line, std::string_view message) {
    ++errors_;
    Flush();
    ClearProgress();
    if (line) {
      std::cerr << file << ":" << line << ": " << message << "\n";
    } else {
      std::cerr << file << ": " << message << "\n";
    }
  }

  void Progress(std::string_view file, size_t line) {
    if (!tty_ || (++ticks_ & 1023)) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < std::chrono::milliseconds(200)) return;
    last_progress_ = now;
    std::cerr << "\r\033[Kscanning " << file << ": line " << line << ", " << findings_ << " findings" << std::flush;
    progress_shown_ = true;
  }

  void ClearProgress() {
    if (progress_shown_) {
      std::cerr << "\r\033[K" << std::flush;
      progress_shown_ = false;
    }
  }

  void Flush() {
    if (!out_.empty()) {
      fwrite(out_.data(), 1, out_.size(), stdout);
      out_.clear();
    }
    fflush(stdout);
  }

  size_t findings() const { return findings_; }
  size_t errors() const { return errors_; }

 private:
  bool jsonl_, show_values_, tty_;
  std::string out_;
  size_t findings_ = 0, errors_ = 0, ticks_ = 0;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point last_progress_{};
};

// The whole stream, in blocks of 1 MiB (a byte at a time through istreambuf_iterator took a fifth of a
// scan's time). False on a read error.
bool ReadAll(std::istream& in, std::string* out) {
  out->clear();
  constexpr size_t kBlock = 1 << 20;
  for (;;) {
    const size_t size = out->size();
    out->resize(size + kBlock);
    in.read(out->data() + size, static_cast<std::streamsize>(kBlock));
    out->resize(size + static_cast<size_t>(in.gcount()));
    if (!in) return !in.bad();  // eof (with failbit) ends the stream; badbit is an error
  }
}

class FileScanner {
 public:
  FileScanner(const PiiScanner& scanner, Reporter* reporter) : scanner_(scanner), reporter_(reporter) {}

  void ScanFile(const std::string& name) {
    std::string content;
    if (name == "-") {
      if (!ReadAll(std::cin, &content)) {
        reporter_->Error("<stdin>", 0, "read error");
        return;
      }
    } else {
      std::ifstream in(name, std::ios::binary);
      if (!in) {
        reporter_->Error(name, 0, std::string("cannot read: ") + std::strerror(errno));
        return;
      }
      if (!ReadAll(in, &content)) {
        reporter_->Error(name, 0, "read error");
        return;
      }
    }
    file_ = name == "-" ? "<stdin>" : name;
    // A NUL byte near the start: a binary file, not text we can attribute to lines.
    std::string_view head(content.data(), std::min(content.size(), kBinarySniffBytes));
    if (size_t nul = head.find('\0'); nul != std::string_view::npos) {
      size_t line = 1 + static_cast<size_t>(std::count(head.begin(), head.begin() + static_cast<ptrdiff_t>(nul), '\n'));
      reporter_->Error(file_, line, "binary data (NUL byte): not a text, JSON or CSV file; skipped");
      return;
    }
    switch (KindOf(name, content)) {
      case FileKind::kJsonl: ScanJsonLines(content); break;
      case FileKind::kJson: ScanJsonDocument(content); break;
      case FileKind::kCsv: ScanCsv(content); break;
      case FileKind::kText: ScanText(content); break;
    }
    reporter_->ClearProgress();
  }

 private:
  void ScanValue(size_t line, std::string_view path, std::string_view value) {
    if (!report_) return;
    findings_.clear();
    scanner_.Scan(path, value, &scratch_, &findings_);
    for (const PiiFinding& f : findings_) reporter_->Finding(file_, line, path, value, f);
  }

  // Calls fn(line_number, line) for each line (without the line break).
  template <typename Fn>
  static void ForEachLine(std::string_view content, Fn fn) {
    size_t line_no = 0;
    while (!content.empty()) {
      ++line_no;
      size_t nl = content.find('\n');
      std::string_view line = content.substr(0, nl);
      content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      fn(line_no, line);
    }
  }

  static std::string_view Describe(simdjson::error_code e) {
    switch (e) {
      case simdjson::UTF8_ERROR: return "invalid UTF-8";
      case simdjson::UNCLOSED_STRING: return "invalid JSON: unclosed string (truncated line?)";
      case simdjson::INCOMPLETE_ARRAY_OR_OBJECT: return "invalid JSON: unclosed object or array (truncated line?)";
      case simdjson::TAPE_ERROR:
        return "invalid JSON: unexpected structure (a truncated line, or more than one value?)";
      case simdjson::EMPTY: return "invalid JSON: empty";
      default: return simdjson::error_message(e);
    }
  }

  void ScanJsonLines(std::string_view content) {
    ForEachLine(content, [&](size_t line_no, std::string_view line) {
      reporter_->Progress(file_, line_no);
      if (line.find_first_not_of(" \t") == std::string_view::npos) return;
      if (line.find('\0') != std::string_view::npos) {
        reporter_->Error(file_, line_no, "binary data (NUL byte); line skipped");
        return;
      }
      padded_.assign(line.data(), line.size());
      padded_.reserve(line.size() + simdjson::SIMDJSON_PADDING);
      // The DOM parser checks the whole line (its UTF-8 too) before anything in it is scanned, so a bad
      // line reports its error and no findings.
      simdjson::dom::element root;
      if (auto e = dom_parser_.parse(padded_.data(), line.size(), /*realloc_if_needed=*/false).get(root)) {
        reporter_->Error(file_, line_no, Describe(e));
        return;
      }
      auto scan = [&](std::string_view path, std::string_view value) { ScanValue(line_no, path, value); };
      path_.Truncate(0);
      ForEachJsonString(root, &path_, scan);
    });
  }

  // A JSON document is checked whole first (the DOM parser), so that a bad one reports its error and
  // none of its findings, and then walked on-demand, which knows where each value sits (its line). When
  // the check fails, the same walk, reporting nothing, finds the line of the error.
  void ScanJsonDocument(std::string_view content) {
    padded_.assign(content.data(), content.size());
    padded_.reserve(content.size() + simdjson::SIMDJSON_PADDING);
    line_base_ = padded_.data();
    newlines_.clear();
    for (size_t i = 0; i < content.size(); ++i) {
      if (content[i] == '\n') newlines_.push_back(i);
    }
    simdjson::dom::element root;
    const simdjson::error_code invalid =
        dom_parser_.parse(padded_.data(), content.size(), /*realloc_if_needed=*/false).get(root);
    report_ = !invalid;
    const simdjson::error_code e = ParseAndWalk(padded_.data(), content.size(), padded_.capacity(), !invalid);
    report_ = true;
    if (invalid || e) reporter_->Error(file_, LineAt(last_location_), Describe(e ? e : invalid));
  }

  size_t LineAt(size_t offset) const {
    return 1 + static_cast<size_t>(std::lower_bound(newlines_.begin(), newlines_.end(), offset) - newlines_.begin());
  }

  // `checked`: the document is known to be valid JSON, so what follows a scalar root value (which the
  // on-demand walk does not consume) is not taken for trailing content.
  simdjson::error_code ParseAndWalk(const char* data, size_t len, size_t capacity, bool checked) {
    last_location_ = 0;
    if (!simdjson::validate_utf8(data, len)) return simdjson::UTF8_ERROR;
    simdjson::ondemand::document doc;
    if (auto e = parser_.iterate(data, len, capacity).get(doc)) return e;
    path_.Truncate(0);
    simdjson::ondemand::json_type type;
    if (auto e = doc.type().get(type)) return e;
    simdjson::error_code e = simdjson::SUCCESS;
    if (type == simdjson::ondemand::json_type::object || type == simdjson::ondemand::json_type::array) {
      simdjson::ondemand::value root;
      if ((e = doc.get_value().get(root))) return e;
      e = Walk(root);
    } else if (type == simdjson::ondemand::json_type::string) {
      std::string_view raw;
      if ((e = doc.raw_json_token().get(raw))) return e;
      last_location_ = static_cast<size_t>(raw.data() - line_base_);
      std::string_view s;
      if ((e = doc.get_string().get(s))) return e;
      ScanValue(LineAt(last_location_), path_.view(), s);
    } else {
      // A bare number, boolean or null: nothing to scan, but it must be well-formed.
      std::string_view raw;
      if ((e = doc.raw_json_token().get(raw))) return e;
    }
    if (e) return e;
    // Anything after the root value ("{...} x", two values on one line) is an error too.
    const char* rest;
    if (!checked && doc.current_location().get(rest) == simdjson::SUCCESS) return simdjson::TRAILING_CONTENT;
    return simdjson::SUCCESS;
  }

  simdjson::error_code Walk(simdjson::ondemand::value v) {
    using simdjson::ondemand::json_type;
    json_type type;
    if (auto e = v.type().get(type)) return e;
    switch (type) {
      case json_type::object: {
        simdjson::ondemand::object obj;
        if (auto e = v.get_object().get(obj)) return e;
        for (auto field : obj) {
          std::string_view key;
          if (auto e = field.unescaped_key().get(key)) return e;
          size_t old = path_.size();
          path_.PushKey(key);
          simdjson::ondemand::value child;
          simdjson::error_code e = field.value().get(child);
          if (!e) e = Walk(child);
          path_.Truncate(old);
          if (e) return e;
        }
        return simdjson::SUCCESS;
      }
      case json_type::array: {
        simdjson::ondemand::array arr;
        if (auto e = v.get_array().get(arr)) return e;
        size_t index = 0;
        for (auto element : arr) {
          size_t old = path_.size();
          path_.PushIndex(index++);
          simdjson::ondemand::value child;
          simdjson::error_code e = element.get(child);
          if (!e) e = Walk(child);
          path_.Truncate(old);
          if (e) return e;
        }
        return simdjson::SUCCESS;
      }
      case json_type::string: {
        std::string_view raw = v.raw_json_token();
        last_location_ = static_cast<size_t>(raw.data() - line_base_);
        std::string_view s;
        if (auto e = v.get_string().get(s)) return e;
        ScanValue(LineAt(last_location_), path_.view(), s);
        return simdjson::SUCCESS;
      }
      default: {
        // Numbers, booleans, null: check they are well-formed so truncation is caught.
        std::string_view raw = v.raw_json_token();
        last_location_ = static_cast<size_t>(raw.data() - line_base_);
        if (type == json_type::number) {
          simdjson::ondemand::number num;
          if (auto e = v.get_number().get(num)) return e;
        } else if (type == json_type::boolean) {
          bool b;
          if (auto e = v.get_bool().get(b)) return e;
        } else {
          bool is_null;
          if (auto e = v.is_null().get(is_null)) return e;
          if (!is_null) return simdjson::N_ATOM_ERROR;
        }
        return simdjson::SUCCESS;
      }
    }
  }

  void ScanText(std::string_view content) {
    ForEachLine(content, [&](size_t line_no, std::string_view line) {
      reporter_->Progress(file_, line_no);
      if (line.find('\0') != std::string_view::npos) {
        reporter_->Error(file_, line_no, "binary data (NUL byte); line skipped");
        return;
      }
      if (!simdjson::validate_utf8(line.data(), line.size())) {
        reporter_->Error(file_, line_no, "invalid UTF-8; line skipped");
        return;
      }
      ScanValue(line_no, "", line);
    });
  }

  // RFC 4180: the first record names the columns; quoted fields may hold separators, "" and line breaks.
  void ScanCsv(std::string_view content) {
    std::vector<std::string> header;
    std::vector<std::pair<size_t, std::string>> fields;  // (line, value)
    size_t pos = 0, line = 1;
    bool first = true;
    while (pos < content.size()) {
      size_t record_line = line;
      fields.clear();
      bool error = false;
      // One record.
      while (true) {
        std::string value;
        size_t field_line = line;
        if (pos < content.size() && content[pos] == '"') {
          ++pos;
          bool closed = false;
          while (pos < content.size()) {
            char c = content[pos];
            if (c == '"') {
              if (pos + 1 < content.size() && content[pos + 1] == '"') {
                value.push_back('"');
                pos += 2;
                continue;
              }
              ++pos;
              closed = true;
              break;
            }
            if (c == '\n') ++line;
            value.push_back(c);
            ++pos;
          }
          if (!closed) {
            reporter_->Error(file_, field_line, "invalid CSV: unterminated quoted field; rest of the record skipped");
            // Resume on the line after the one where the quote opened.
            pos = LineStart(content, field_line + 1);
            line = field_line + 1;
            error = true;
            break;
          }
          // Anything between the closing quote and the separator is kept as written.
          while (pos < content.size() && content[pos] != ',' && content[pos] != '\n' && content[pos] != '\r') {
            value.push_back(content[pos++]);
          }
        } else {
          while (pos < content.size() && content[pos] != ',' && content[pos] != '\n' && content[pos] != '\r') {
            value.push_back(content[pos++]);
          }
        }
        fields.emplace_back(field_line, std::move(value));
        if (pos < content.size() && content[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < content.size() && content[pos] == '\r') ++pos;
        if (pos < content.size() && content[pos] == '\n') {
          ++pos;
          ++line;
        }
        break;
      }
      if (error) continue;
      reporter_->Progress(file_, record_line);
      bool bad_utf8 = false;
      for (const auto& [l, v] : fields) bad_utf8 |= !simdjson::validate_utf8(v.data(), v.size());
      if (bad_utf8) {
        reporter_->Error(file_, record_line, "invalid UTF-8; record skipped");
        if (first) first = false;
        continue;
      }
      if (first) {
        for (auto& f : fields) header.push_back(std::move(f.second));
        first = false;
        continue;
      }
      if (fields.size() == 1 && fields[0].second.empty()) continue;  // blank line
      for (size_t c = 0; c < fields.size(); ++c) {
        std::string path = c < header.size() ? header[c] : "[" + std::to_string(c) + "]";
        ScanValue(fields[c].first, path, fields[c].second);
      }
    }
  }

  static size_t LineStart(std::string_view content, size_t line) {
    size_t pos = 0;
    for (size_t l = 1; l < line && pos < content.size(); ++l) {
      size_t nl = content.find('\n', pos);
      if (nl == std::string_view::npos) return content.size();
      pos = nl + 1;
    }
    return pos;
  }

  const PiiScanner& scanner_;
  Reporter* reporter_;
  PiiScanner::Scratch scratch_;
  std::vector<PiiFinding> findings_;
  simdjson::dom::parser dom_parser_;  // JSON lines: parsed whole, then walked; JSON documents: checked
  simdjson::ondemand::parser parser_;  // a JSON document: walked while parsed, for each value's line
  std::string padded_;
  JsonPath path_;  // the key path of the value being walked
  std::string file_;
  const char* line_base_ = nullptr;
  size_t last_location_ = 0;
  bool report_ = true;  // false while a walk only looks for the line of an error
  std::vector<size_t> newlines_;
};

}  // namespace

std::function<int()> AddScan(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "scan",
      "Find personal data and secrets (emails, phones, IPs, cards, IBANs, SSNs, API keys, names) in JSONL, JSON, CSV "
      "and text files; exit 0 when nothing is found, 1 when something is, 2 on error");
  struct Args {
    std::vector<std::string> files;
    std::string format = "text";
    bool show_values = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--format", a->format, "output: one line per finding as text, or one JSON object per line")
      ->check(CLI::IsMember({"text", "jsonl"}));
  cmd->add_flag("--show-values", a->show_values, "include the matched text in the output (off: never print it)");
  cmd->add_option("files", a->files, "files to scan (.jsonl/.ndjson, .json, .csv, anything else as text; '-' = stdin)")
      ->required();
  return [a]() -> int {
    auto scanner = PiiScanner::Create();
    if (!scanner.ok()) {
      std::cerr << scanner.status().message() << "\n";
      return 2;
    }
    Reporter reporter(a->format == "jsonl", a->show_values);
    FileScanner files(**scanner, &reporter);
    for (const std::string& f : a->files) files.ScanFile(f);
    reporter.Flush();
    if (reporter.errors() > 0) return 2;
    return reporter.findings() > 0 ? 1 : 0;
  };
}

}  // namespace vg::cli
