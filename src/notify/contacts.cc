#include "notify/contacts.h"

#include <sqlite3.h>

#include <algorithm>

#include "common/ascii.h"
#include "common/files.h"
#include "notify/notice.h"

namespace vg::notify {
namespace {

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// One CSV record starting at *pos: its fields, the line it started on, and whether the quoting was broken.
// A quoted field may span lines; *line advances by the newlines consumed.
bool NextRecord(std::string_view text, size_t* pos, size_t* line, std::vector<std::string>* fields, std::string* error) {
  fields->clear();
  error->clear();
  std::string field;
  bool quoted = false, was_quoted = false;
  size_t i = *pos;
  while (i < text.size()) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          i += 2;
          continue;
        }
        quoted = false;
        ++i;
        continue;
      }
      if (c == '\n') ++*line;
      field.push_back(c);
      ++i;
      continue;
    }
    if (c == '"' && Trimmed(field).empty() && !was_quoted) {
      field.clear();
      quoted = was_quoted = true;
      ++i;
      continue;
    }
    if (c == ',') {
      fields->push_back(was_quoted ? field : Trimmed(field));
      field.clear();
      was_quoted = false;
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      ++*line;
      fields->push_back(was_quoted ? field : Trimmed(field));
      *pos = i;
      return true;
    }
    if (was_quoted && c != ' ' && c != '\t') {
      if (error->empty()) *error = "text after a closing quote";
    }
    if (!was_quoted) field.push_back(c);
    ++i;
  }
  if (quoted) *error = "a quoted field is not closed";
  fields->push_back(was_quoted ? field : Trimmed(field));
  *pos = i;
  return true;
}

Status AddContact(ContactDirectory* dir, std::string subject, Contact c, size_t line) {
  std::string where = line ? "" : "subject \"" + subject + "\": ";
  if (subject.empty()) {
    dir->problems.push_back({line, where + "empty subject"});
  } else if (!IsPlainEmail(c.email)) {
    dir->problems.push_back({line, where + "email \"" + c.email + "\" is not one plain address"});
  } else if (std::any_of(c.name.begin(), c.name.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; })) {
    dir->problems.push_back({line, where + "the name contains a line break or control character"});
  } else if (!dir->by_subject.emplace(subject, std::move(c)).second) {
    dir->problems.push_back({line, "subject \"" + subject + "\" appears more than once (the first is used)"});
  }
  return Status::Ok();
}

StatusOr<ContactDirectory> LoadSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = path + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return Status::IOError(msg);
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT subject, email, name, locale FROM contacts", -1, &st, nullptr) != SQLITE_OK) {
    std::string msg = path + ": want a table contacts(subject, email, name, locale): " + sqlite3_errmsg(db);
    sqlite3_close(db);
    return Status::InvalidArgument(msg);
  }
  ContactDirectory dir;
  dir.source = path;
  auto text = [st](int col) {
    const unsigned char* p = sqlite3_column_text(st, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st, col)))
             : std::string();
  };
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    Contact c{Trimmed(text(1)), Trimmed(text(2)), Trimmed(text(3))};
    (void)AddContact(&dir, Trimmed(text(0)), std::move(c), 0);
  }
  Status s = rc == SQLITE_DONE ? Status::Ok() : Status::IOError(path + ": " + sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (!s.ok()) return s;
  return dir;
}

}  // namespace

std::vector<std::string> ContactDirectory::Missing(const std::vector<std::string>& wanted) const {
  std::vector<std::string> out;
  for (const std::string& s : wanted) {
    if (!by_subject.contains(s)) out.push_back(s);
  }
  return out;
}

StatusOr<ContactDirectory> ParseContactsCsv(std::string_view text, std::string source) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  ContactDirectory dir;
  dir.source = std::move(source);
  size_t pos = 0, line = 1;
  std::vector<std::string> fields;
  std::string error;
  // The header row.
  while (pos < text.size()) {
    const size_t start_line = line;
    NextRecord(text, &pos, &line, &fields, &error);
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    int subject = -1, email = -1, name = -1, locale = -1;
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string f = AsciiLowered(fields[i]);
      int* slot = f == "subject" ? &subject : f == "email" ? &email : f == "name" ? &name : f == "locale" ? &locale : nullptr;
      if (slot) *slot = static_cast<int>(i);
    }
    if (subject < 0 || email < 0) {
      return Status::InvalidArgument(dir.source + ":" + std::to_string(start_line) +
                                     ": the header row must name the columns subject,email (and optionally name,locale)");
    }
    const size_t columns = fields.size();
    while (pos < text.size()) {
      const size_t record_line = line;
      NextRecord(text, &pos, &line, &fields, &error);
      if (fields.size() == 1 && fields[0].empty()) continue;
      if (!error.empty()) {
        dir.problems.push_back({record_line, error});
        continue;
      }
      if (fields.size() != columns) {
        dir.problems.push_back({record_line, std::to_string(fields.size()) + " fields; the header has " +
                                                 std::to_string(columns)});
        continue;
      }
      Contact c{fields[static_cast<size_t>(email)], name >= 0 ? fields[static_cast<size_t>(name)] : "",
                locale >= 0 ? fields[static_cast<size_t>(locale)] : ""};
      (void)AddContact(&dir, fields[static_cast<size_t>(subject)], std::move(c), record_line);
    }
    return dir;
  }
  return Status::InvalidArgument(dir.source + ": empty; want a header row subject,email,name,locale");
}

StatusOr<ContactDirectory> LoadContacts(const std::string& path) {
  auto bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->starts_with(std::string_view("SQLite format 3\0", 16))) return LoadSqlite(path);
  return ParseContactsCsv(*bytes, path);
}

}  // namespace vg::notify
