// Times as people type and read them: ISO 8601 (the RFC 3339 profile) in UTC, microsecond resolution,
// shared by every command that takes or prints a time (ledger, incident) and by reports.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vg {

inline constexpr int64_t kUsPerSecond = 1'000'000;
inline constexpr int64_t kUsPerDay = 86'400 * kUsPerSecond;

// The system clock now, in microseconds since the Unix epoch.
int64_t SystemNowUs();

// The proleptic Gregorian date of a day number (days since 1970-01-01; Howard Hinnant's civil_from_days).
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);

// "2025-11-09T12:00:00Z" (fraction false) or "2025-11-09T12:00:00.000000Z" (true), UTC.
std::string IsoTime(int64_t us, bool fraction);

struct ParsedTime {
  int64_t us = 0;          // microseconds since the Unix epoch
  bool date_only = false;  // "2025-11-09": midnight UTC of that day
};

// ISO 8601 (RFC 3339 profile): YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.fraction]] with Z or an offset
// (+hh:mm, +hhmm, +hh). A date alone is midnight UTC. A date-time without a zone is refused: the local
// time zone of whoever runs the command is not a safe guess for a legal record. Fractions beyond
// microseconds are cut. Errors name `arg` (e.g. "--from") and say what is wrong.
[[nodiscard]] StatusOr<ParsedTime> ParseTime(std::string_view arg, std::string_view text);

}  // namespace vg
