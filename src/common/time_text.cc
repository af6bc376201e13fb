#include "common/time_text.h"

#include <chrono>

#include <cinttypes>
#include <cstdio>

namespace vg {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

std::string IsoTime(int64_t us, bool fraction) {
  const int64_t days = us >= 0 ? us / kUsPerDay : -((-us + kUsPerDay - 1) / kUsPerDay);
  const int64_t rest = us - days * kUsPerDay;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const int64_t secs = rest / kUsPerSecond;
  char buf[48];
  if (fraction) {
    std::snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60),
                  static_cast<int>(rest % kUsPerSecond));
  } else {
    std::snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02dZ", y, m, d, static_cast<int>(secs / 3600),
                  static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  }
  return buf;
}

namespace {

// Reads exactly `n` digits at *pos.
bool Digits(std::string_view s, size_t* pos, size_t n, int64_t* out) {
  if (s.size() - *pos < n) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

}  // namespace

StatusOr<ParsedTime> ParseTime(std::string_view arg, std::string_view text) {
  const std::string prefix = std::string(arg) + ": '" + std::string(text) + "' ";
  const std::string expected =
      " (expected an ISO 8601 date or date-time such as 2025-11-09, 2025-11-09T12:00:00Z or "
      "2025-11-09T12:00:00+02:00)";
  auto bad = [&](const std::string& what) { return Status::InvalidArgument(prefix + what + expected); };
  size_t pos = 0;
  int64_t y = 0, mo = 0, d = 0;
  if (!Digits(text, &pos, 4, &y) || pos >= text.size() || text[pos++] != '-' || !Digits(text, &pos, 2, &mo) ||
      pos >= text.size() || text[pos++] != '-' || !Digits(text, &pos, 2, &d)) {
    return bad("is not a date");
  }
  if (mo < 1 || mo > 12) return bad("has month " + std::to_string(mo));
  if (d < 1 || d > static_cast<int64_t>(DaysInMonth(y, static_cast<unsigned>(mo)))) {
    return bad("has day " + std::to_string(d) + ", which " + std::string(text.substr(0, 7)) + " does not have");
  }
  ParsedTime t;
  t.us = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kUsPerDay;
  if (pos == text.size()) {
    t.date_only = true;
    return t;
  }
  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return bad("has extra text after the date");
  ++pos;
  int64_t h = 0, mi = 0, s = 0, frac_us = 0;
  if (!Digits(text, &pos, 2, &h) || pos >= text.size() || text[pos++] != ':' || !Digits(text, &pos, 2, &mi)) {
    return bad("has no time of day hh:mm after the date");
  }
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!Digits(text, &pos, 2, &s)) return bad("has no seconds after the second ':'");
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      size_t n = 0;
      int64_t scale = 100'000;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (n < 6) frac_us += (text[pos] - '0') * scale;
        scale /= 10;
        ++n;
        ++pos;
      }
      if (n == 0) return bad("has no digits after the decimal point");
      if (n > 9) return bad("has more than 9 fractional digits");
    }
  }
  if (h > 23) return bad("has hour " + std::to_string(h));
  if (mi > 59) return bad("has minute " + std::to_string(mi));
  if (s > 59) return bad("has second " + std::to_string(s));
  if (pos == text.size()) return bad("has no time zone: add Z for UTC or an offset such as +02:00");
  int64_t offset_s = 0;
  const char z = text[pos++];
  if (z == 'Z' || z == 'z') {
    // UTC
  } else if (z == '+' || z == '-') {
    int64_t oh = 0, om = 0;
    if (!Digits(text, &pos, 2, &oh)) return bad("has a malformed offset (expected +hh:mm)");
    const bool colon = pos < text.size() && text[pos] == ':';
    if (colon) ++pos;
    if ((colon || pos < text.size()) && !Digits(text, &pos, 2, &om)) {
      return bad("has a malformed offset (expected +hh:mm)");
    }
    if (oh > 23 || om > 59) return bad("has an offset out of range");
    offset_s = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
  } else {
    return bad("has no time zone: add Z for UTC or an offset such as +02:00");
  }
  if (pos != text.size()) return bad("has extra text after the time zone");
  t.us += ((h * 60 + mi) * 60 + s - offset_s) * kUsPerSecond + frac_us;
  return t;
}

int64_t SystemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace vg
