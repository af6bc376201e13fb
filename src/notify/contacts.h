// The contact directory for breach notices (issue #6): the gateway never stores emails, so the company
// supplies subject id -> email, name, locale, as CSV or SQLite.
//
//   CSV: a header row naming the columns subject,email (required) and name,locale (optional), in any order;
//        RFC 4180 quoting ("a, b", "say ""hi"""), CRLF or LF, a UTF-8 BOM tolerated. A bad line (wrong
//        number of fields, empty subject, an email that is not one plain address, a duplicate subject) is
//        reported with its line number and skipped; the rest are read.
//   SQLite: a table contacts(subject, email, name, locale) (name and locale may be NULL).
// The format is chosen by content: a file starting with "SQLite format 3\0" is SQLite, anything else CSV.
//
// Thread-safety: plain functions and values.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace vg::notify {

struct Contact {
  std::string email;
  std::string name;
  std::string locale;
};

struct ContactProblem {
  size_t line = 0;  // 1-based line of the CSV (0 for SQLite rows: the subject is named instead)
  std::string reason;
};

struct ContactDirectory {
  std::unordered_map<std::string, Contact> by_subject;
  std::vector<ContactProblem> problems;  // bad lines, reported and skipped
  std::string source;                    // the file name, for messages

  const Contact* Find(const std::string& subject) const {
    auto it = by_subject.find(subject);
    return it == by_subject.end() ? nullptr : &it->second;
  }
  // The subjects of `wanted` that have no contact, in the order given: never skipped silently.
  std::vector<std::string> Missing(const std::vector<std::string>& wanted) const;
};

// NotFound / IOError for the file; InvalidArgument when it is not a directory at all (no subject or
// email column, no contacts table). Bad lines are not errors: they are in problems.
[[nodiscard]] StatusOr<ContactDirectory> LoadContacts(const std::string& path);
[[nodiscard]] StatusOr<ContactDirectory> ParseContactsCsv(std::string_view text, std::string source);

}  // namespace vg::notify
