#include "pii/validators.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>

#ifndef VG_PUBLIC_SUFFIX_LIST
// Debian's publicsuffix package; the build normally passes the path explicitly.
#define VG_PUBLIC_SUFFIX_LIST "/usr/share/publicsuffix/public_suffix_list.dat"
#endif

namespace vg {

namespace {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
constexpr bool IsLetterOrDigit(char c) { return IsDigit(c) || IsUpper(c) || (c >= 'a' && c <= 'z'); }
constexpr char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// ---------------------------------------------------------------------------------------------------
// Payment cards

constexpr size_t kMinCardDigits = 12;
constexpr size_t kMaxCardDigits = 19;

// Bit n set: n digits allowed.
constexpr uint32_t CardLengths(int lo, int hi) {
  uint32_t mask = 0;
  for (int n = lo; n <= hi; ++n) mask |= 1u << n;
  return mask;
}

struct IssuerRange {
  CardIssuer issuer;
  int prefix_digits;  // how many leading digits `lo` and `hi` cover
  uint32_t lo, hi;    // inclusive
  uint32_t lengths;   // CardLengths mask
};

// First match wins: the co-branded Discover range 622126-622925 comes before UnionPay's 62.
constexpr IssuerRange kIssuerRanges[] = {
    {CardIssuer::kVisa, 1, 4, 4, CardLengths(13, 13) | CardLengths(16, 16) | CardLengths(19, 19)},
    {CardIssuer::kMastercard, 2, 51, 55, CardLengths(16, 16)},
    {CardIssuer::kMastercard, 4, 2221, 2720, CardLengths(16, 16)},
    {CardIssuer::kAmex, 2, 34, 34, CardLengths(15, 15)},
    {CardIssuer::kAmex, 2, 37, 37, CardLengths(15, 15)},
    {CardIssuer::kDiscover, 4, 6011, 6011, CardLengths(16, 19)},
    {CardIssuer::kDiscover, 3, 644, 649, CardLengths(16, 19)},
    {CardIssuer::kDiscover, 2, 65, 65, CardLengths(16, 19)},
    {CardIssuer::kDiscover, 6, 622126, 622925, CardLengths(16, 19)},
    {CardIssuer::kJcb, 4, 3528, 3589, CardLengths(16, 19)},
    {CardIssuer::kDiners, 3, 300, 305, CardLengths(14, 19)},
    {CardIssuer::kDiners, 2, 36, 36, CardLengths(14, 19)},
    {CardIssuer::kDiners, 2, 38, 39, CardLengths(14, 19)},
    {CardIssuer::kUnionPay, 2, 62, 62, CardLengths(16, 19)},
    {CardIssuer::kMaestro, 4, 5018, 5018, CardLengths(12, 19)},
    {CardIssuer::kMaestro, 4, 5020, 5020, CardLengths(12, 19)},
    {CardIssuer::kMaestro, 4, 5038, 5038, CardLengths(12, 19)},
    {CardIssuer::kMaestro, 4, 5893, 5893, CardLengths(12, 19)},
    {CardIssuer::kMaestro, 4, 6304, 6304, CardLengths(12, 19)},
    {CardIssuer::kMaestro, 4, 6759, 6759, CardLengths(12, 19)},
    {CardIssuer::kMaestro, 4, 6761, 6763, CardLengths(12, 19)},
};

// Copies the digits of a card candidate into `digits` and returns how many there are, or 0 when the
// candidate is not card-shaped: a character other than a digit or separator, more than 19 digits, or
// separators that are not single, not of one kind, or not between groups as printed on cards (first
// group 4 digits, middle groups 4-6, last group 1-6). A group of 0 digits catches leading, trailing
// and doubled separators.
size_t CardDigits(std::string_view candidate, char (&digits)[kMaxCardDigits]) {
  size_t n = 0;
  size_t group = 0;   // digits in the current group
  size_t groups = 0;  // groups closed by a separator
  char separator = 0;
  for (char c : candidate) {
    if (IsDigit(c)) {
      if (n == kMaxCardDigits) return 0;
      digits[n++] = c;
      ++group;
      continue;
    }
    if (c != ' ' && c != '-') return 0;
    if (separator == 0) separator = c;
    if (c != separator) return 0;
    if (groups == 0 ? group != 4 : (group < 4 || group > 6)) return 0;
    ++groups;
    group = 0;
  }
  if (group == 0) return 0;
  if (groups > 0 && group > 6) return 0;
  return n;
}

bool LuhnValid(const char* digits, size_t n) {
  int sum = 0;
  bool twice = false;  // every second digit from the right, the check digit excluded
  for (size_t i = n; i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// ---------------------------------------------------------------------------------------------------
// IBAN

constexpr size_t kMaxIbanLength = 34;  // ISO 13616

struct IbanCountry {
  std::string_view code;
  int length;
};

// SWIFT IBAN registry (release 100, 2025): every country with its total IBAN length, plus the
// territories the registry lists under a parent country (same format and length). Sorted by code.
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24},  // Andorra
    {"AE", 23},  // United Arab Emirates
    {"AL", 28},  // Albania
    {"AT", 20},  // Austria
    {"AX", 18},  // Aland Islands (Finland)
    {"AZ", 28},  // Azerbaijan
    {"BA", 20},  // Bosnia and Herzegovina
    {"BE", 16},  // Belgium
    {"BG", 22},  // Bulgaria
    {"BH", 22},  // Bahrain
    {"BI", 27},  // Burundi
    {"BL", 27},  // Saint Barthelemy (France)
    {"BR", 29},  // Brazil
    {"BY", 28},  // Belarus
    {"CH", 21},  // Switzerland
    {"CR", 22},  // Costa Rica
    {"CY", 28},  // Cyprus
    {"CZ", 24},  // Czechia
    {"DE", 22},  // Germany
    {"DJ", 27},  // Djibouti
    {"DK", 18},  // Denmark
    {"DO", 28},  // Dominican Republic
    {"EE", 20},  // Estonia
    {"EG", 29},  // Egypt
    {"ES", 24},  // Spain
    {"FI", 18},  // Finland
    {"FK", 18},  // Falkland Islands
    {"FO", 18},  // Faroe Islands
    {"FR", 27},  // France
    {"GB", 22},  // United Kingdom
    {"GE", 22},  // Georgia
    {"GF", 27},  // French Guiana (France)
    {"GG", 22},  // Guernsey (United Kingdom)
    {"GI", 23},  // Gibraltar
    {"GL", 18},  // Greenland
    {"GP", 27},  // Guadeloupe (France)
    {"GR", 27},  // Greece
    {"GT", 28},  // Guatemala
    {"HN", 28},  // Honduras
    {"HR", 21},  // Croatia
    {"HU", 28},  // Hungary
    {"IE", 22},  // Ireland
    {"IL", 23},  // Israel
    {"IM", 22},  // Isle of Man (United Kingdom)
    {"IQ", 23},  // Iraq
    {"IS", 26},  // Iceland
    {"IT", 27},  // Italy
    {"JE", 22},  // Jersey (United Kingdom)
    {"JO", 30},  // Jordan
    {"KW", 30},  // Kuwait
    {"KZ", 20},  // Kazakhstan
    {"LB", 28},  // Lebanon
    {"LC", 32},  // Saint Lucia
    {"LI", 21},  // Liechtenstein
    {"LT", 20},  // Lithuania
    {"LU", 20},  // Luxembourg
    {"LV", 21},  // Latvia
    {"LY", 25},  // Libya
    {"MC", 27},  // Monaco
    {"MD", 24},  // Moldova
    {"ME", 22},  // Montenegro
    {"MF", 27},  // Saint Martin (France)
    {"MK", 19},  // North Macedonia
    {"MN", 20},  // Mongolia
    {"MQ", 27},  // Martinique (France)
    {"MR", 27},  // Mauritania
    {"MT", 31},  // Malta
    {"MU", 30},  // Mauritius
    {"NC", 27},  // New Caledonia (France)
    {"NI", 28},  // Nicaragua
    {"NL", 18},  // Netherlands
    {"NO", 15},  // Norway
    {"OM", 23},  // Oman
    {"PF", 27},  // French Polynesia (France)
    {"PK", 24},  // Pakistan
    {"PL", 28},  // Poland
    {"PM", 27},  // Saint Pierre and Miquelon (France)
    {"PS", 29},  // Palestine
    {"PT", 25},  // Portugal
    {"QA", 29},  // Qatar
    {"RE", 27},  // Reunion (France)
    {"RO", 24},  // Romania
    {"RS", 22},  // Serbia
    {"RU", 33},  // Russia
    {"SA", 24},  // Saudi Arabia
    {"SC", 31},  // Seychelles
    {"SD", 18},  // Sudan
    {"SE", 24},  // Sweden
    {"SI", 19},  // Slovenia
    {"SK", 24},  // Slovakia
    {"SM", 27},  // San Marino
    {"SO", 23},  // Somalia
    {"ST", 25},  // Sao Tome and Principe
    {"SV", 28},  // El Salvador
    {"TF", 27},  // French Southern Territories (France)
    {"TL", 23},  // Timor-Leste
    {"TN", 24},  // Tunisia
    {"TR", 26},  // Turkey
    {"UA", 29},  // Ukraine
    {"VA", 22},  // Vatican City State
    {"VG", 24},  // British Virgin Islands
    {"WF", 27},  // Wallis and Futuna (France)
    {"XK", 20},  // Kosovo
    {"YE", 30},  // Yemen
    {"YT", 27},  // Mayotte (France)
};

constexpr bool IbanCountriesSortedAndSane() {
  for (size_t i = 0; i < std::size(kIbanCountries); ++i) {
    const IbanCountry& c = kIbanCountries[i];
    if (c.code.size() != 2 || !IsUpper(c.code[0]) || !IsUpper(c.code[1])) return false;
    if (c.length < 15 || c.length > static_cast<int>(kMaxIbanLength)) return false;
    if (i > 0 && !(kIbanCountries[i - 1].code < c.code)) return false;
  }
  return true;
}
static_assert(IbanCountriesSortedAndSane(), "kIbanCountries must be sorted, unique and well-formed");

// ISO 7064 MOD 97-10 over the rearranged IBAN (BBAN, then country and check digits), one character at a
// time so no big number is needed: a letter is two decimal digits (A = 10 ... Z = 35).
int IbanMod97(const char* iban, size_t n) {
  int r = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = iban[(k + 4) % n];
    r = IsDigit(c) ? (r * 10 + (c - '0')) % 97 : (r * 100 + (c - 'A' + 10)) % 97;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------
// Email

// RFC 5322 atext: letters, digits and these.
constexpr std::string_view kAtextSymbols = "!#$%&'*+-/=?^_`{|}~";

constexpr std::array<bool, 256> MakeAtextTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = IsLetterOrDigit(static_cast<char>(c));
  for (char c : kAtextSymbols) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kAtext = MakeAtextTable();

constexpr size_t kMaxLocalPart = 64;
constexpr size_t kMaxDomain = 253;
constexpr size_t kMaxLabel = 63;

bool IsValidLocalPart(std::string_view local) {
  if (local.empty() || local.size() > kMaxLocalPart) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  char prev = 0;
  for (char c : local) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!kAtext[static_cast<unsigned char>(c)]) {
      return false;
    }
    prev = c;
  }
  return true;
}

// Checks the LDH labels of `domain` and returns its last label, or an empty view when the domain is not
// a host name of at least two labels.
std::string_view LastLabelOfDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomain) return {};
  size_t labels = 0;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    size_t end = dot == std::string_view::npos ? domain.size() : dot;
    std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > kMaxLabel) return {};
    if (label.front() == '-' || label.back() == '-') return {};
    for (char c : label) {
      if (!IsLetterOrDigit(c) && c != '-') return {};
    }
    ++labels;
    if (dot == std::string_view::npos) return labels >= 2 ? label : std::string_view();
    start = dot + 1;
  }
}

// ---------------------------------------------------------------------------------------------------
// Top-level domains

// Longest TLD accepted by Contains(): a DNS label is at most 63 octets in its ASCII (punycode) form; the
// UTF-8 form of a unicode label can be longer, so leave room for that.
constexpr size_t kMaxTldBytes = 255;

// Used when the Public Suffix List cannot be read: the generic TLDs that carry most mail, and the most
// common country codes.
constexpr std::string_view kBuiltInTlds[] = {
    "ae",     "aero", "ai",     "app",  "ar",   "asia", "at",     "au",   "be",    "biz",  "blog", "br",
    "ca",     "cat",  "ch",     "cl",   "cloud", "cn",  "co",     "com",  "coop",  "cz",   "de",   "dev",
    "dk",     "edu",  "es",     "eu",   "fi",   "fr",   "gov",    "gr",   "hk",    "hu",   "id",   "ie",
    "il",     "in",   "info",   "int",  "io",   "it",   "jobs",   "jp",   "kr",    "me",   "mil",  "mobi",
    "museum", "mx",   "my",     "name", "net",  "nl",   "no",     "nz",   "online", "org", "ph",   "pl",
    "pro",    "pt",   "ro",     "ru",   "sa",   "se",   "sg",     "shop", "site",  "tech", "th",   "tr",
    "travel", "tv",   "tw",     "ua",   "uk",   "us",   "vn",     "xyz",  "za",
};

// Appends the code points of UTF-8 `s` to `out`; false when `s` is not well-formed UTF-8.
bool DecodeUtf8(std::string_view s, std::vector<uint32_t>* out) {
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (b < 0x80) {
      extra = 0;
      cp = b;
    } else if ((b & 0xe0) == 0xc0) {
      extra = 1;
      cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      extra = 2;
      cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      extra = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cont & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    out->push_back(cp);
    i += 1 + extra;
  }
  return true;
}

// RFC 3492 (Punycode) parameters and helpers.
constexpr uint32_t kPunyBase = 36, kPunyTMin = 1, kPunyTMax = 26, kPunySkew = 38, kPunyDamp = 700;
constexpr uint32_t kPunyInitialBias = 72, kPunyInitialN = 0x80;

char PunycodeDigit(uint32_t d) { return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26)); }

uint32_t PunycodeAdapt(uint32_t delta, uint32_t num_points, bool first_time) {
  delta = first_time ? delta / kPunyDamp : delta / 2;
  delta += delta / num_points;
  uint32_t k = 0;
  while (delta > ((kPunyBase - kPunyTMin) * kPunyTMax) / 2) {
    delta /= kPunyBase - kPunyTMin;
    k += kPunyBase;
  }
  return k + (kPunyBase - kPunyTMin + 1) * delta / (delta + kPunySkew);
}

// The ACE form ("xn--...") of a lower-case unicode label, or an empty string when `label` is not
// well-formed UTF-8. Used at load time only.
std::string ToPunycode(std::string_view label) {
  std::vector<uint32_t> cps;
  if (!DecodeUtf8(label, &cps)) return {};
  std::string out = "xn--";
  uint32_t basic = 0;
  for (uint32_t cp : cps) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
      ++basic;
    }
  }
  if (basic > 0) out.push_back('-');
  uint32_t n = kPunyInitialN, bias = kPunyInitialBias, delta = 0, handled = basic;
  while (handled < cps.size()) {
    uint32_t m = UINT32_MAX;
    for (uint32_t cp : cps) {
      if (cp >= n && cp < m) m = cp;
    }
    delta += (m - n) * (handled + 1);  // labels are short: no overflow
    n = m;
    for (uint32_t cp : cps) {
      if (cp < n) ++delta;
      if (cp != n) continue;
      uint32_t q = delta;
      for (uint32_t k = kPunyBase;; k += kPunyBase) {
        uint32_t t = k <= bias ? kPunyTMin : (k >= bias + kPunyTMax ? kPunyTMax : k - bias);
        if (q < t) break;
        out.push_back(PunycodeDigit(t + (q - t) % (kPunyBase - t)));
        q = (q - t) / (kPunyBase - t);
      }
      out.push_back(PunycodeDigit(q));
      bias = PunycodeAdapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return out;
}

// The rightmost label of one Public Suffix List line, or empty for comments, blank lines and wildcards.
// A rule is read up to the first whitespace.
std::string_view RightmostLabelOfRule(std::string_view line) {
  size_t end = line.find_first_of(" \t\r");
  std::string_view rule = line.substr(0, end);
  if (rule.empty() || rule.starts_with("//")) return {};
  if (rule.front() == '!') rule.remove_prefix(1);
  size_t dot = rule.rfind('.');
  std::string_view label = dot == std::string_view::npos ? rule : rule.substr(dot + 1);
  if (label.find_first_of("*!") != std::string_view::npos) return {};
  return label;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

std::optional<CardIssuer> CreditCardIssuer(std::string_view candidate) {
  char digits[kMaxCardDigits];
  size_t n = CardDigits(candidate, digits);
  if (n < kMinCardDigits) return std::nullopt;
  if (std::all_of(digits + 1, digits + n, [&](char d) { return d == digits[0]; })) return std::nullopt;
  if (!LuhnValid(digits, n)) return std::nullopt;
  for (const IssuerRange& r : kIssuerRanges) {
    uint32_t prefix = 0;
    for (int i = 0; i < r.prefix_digits; ++i) prefix = prefix * 10 + (digits[i] - '0');
    if (prefix >= r.lo && prefix <= r.hi && (r.lengths & (1u << n)) != 0) return r.issuer;
  }
  return std::nullopt;
}

bool IsValidCreditCard(std::string_view candidate) { return CreditCardIssuer(candidate).has_value(); }

std::string_view CardIssuerName(CardIssuer issuer) {
  switch (issuer) {
    case CardIssuer::kVisa: return "visa";
    case CardIssuer::kMastercard: return "mastercard";
    case CardIssuer::kAmex: return "amex";
    case CardIssuer::kDiscover: return "discover";
    case CardIssuer::kJcb: return "jcb";
    case CardIssuer::kDiners: return "diners";
    case CardIssuer::kUnionPay: return "unionpay";
    case CardIssuer::kMaestro: return "maestro";
  }
  return {};
}

int IbanLengthForCountry(std::string_view country_code) {
  auto it = std::lower_bound(std::begin(kIbanCountries), std::end(kIbanCountries), country_code,
                             [](const IbanCountry& c, std::string_view code) { return c.code < code; });
  return it != std::end(kIbanCountries) && it->code == country_code ? it->length : 0;
}

bool IsValidIban(std::string_view candidate) {
  char iban[kMaxIbanLength];
  size_t n = 0;
  size_t group = 0;  // characters in the current print group
  bool spaced = false;
  for (char c : candidate) {
    if (c == ' ') {
      if (group != 4) return false;  // also a leading or doubled space
      spaced = true;
      group = 0;
      continue;
    }
    if (!IsDigit(c) && !IsUpper(c)) return false;
    if (n == kMaxIbanLength) return false;
    iban[n++] = c;
    ++group;
  }
  if (group == 0 || (spaced && group > 4)) return false;
  if (n < 4 || !IsUpper(iban[0]) || !IsUpper(iban[1]) || !IsDigit(iban[2]) || !IsDigit(iban[3])) return false;
  if (static_cast<size_t>(IbanLengthForCountry(std::string_view(iban, 2))) != n) return false;
  int check = (iban[2] - '0') * 10 + (iban[3] - '0');
  if (check < 2 || check > 98) return false;
  return IbanMod97(iban, n) == 1;
}

bool IsValidUsSsn(std::string_view candidate) {
  char d[9];
  if (candidate.size() == 9) {
    std::copy(candidate.begin(), candidate.end(), d);
  } else if (candidate.size() == 11) {
    char sep = candidate[3];
    if ((sep != '-' && sep != ' ') || candidate[6] != sep) return false;
    std::copy(candidate.begin(), candidate.begin() + 3, d);
    std::copy(candidate.begin() + 4, candidate.begin() + 6, d + 3);
    std::copy(candidate.begin() + 7, candidate.end(), d + 5);
  } else {
    return false;
  }
  int value = 0;
  for (char c : d) {
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  int area = value / 1000000, group = value / 10000 % 100, serial = value % 10000;
  if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return false;
  // Numbers the SSA says were never validly issued (a wallet insert, ads, a company's own marketing) and
  // the textbook placeholder: they appear in data as examples, not as someone's SSN.
  static constexpr int kNeverIssued[] = {78051120, 219099999, 457555462, 123456789};
  return std::find(std::begin(kNeverIssued), std::end(kNeverIssued), value) == std::end(kNeverIssued);
}

bool IsValidIpv4(std::string_view candidate) {
  size_t i = 0;
  int octets = 0;
  while (true) {
    size_t start = i;
    int value = 0;
    while (i < candidate.size() && IsDigit(candidate[i])) {
      if (i - start == 3) return false;
      value = value * 10 + (candidate[i] - '0');
      ++i;
    }
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && candidate[start] == '0')) return false;
    ++octets;
    if (i == candidate.size()) return octets == 4;
    if (candidate[i] != '.' || octets == 4) return false;
    ++i;
  }
}

bool IsValidIpv6(std::string_view s) {
  // The longest form: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
  if (s.size() < 2 || s.size() > 45) return false;
  int groups = 0;  // 16-bit groups written out; an embedded IPv4 counts as two
  bool compressed = false;
  size_t i = 0;
  if (s[0] == ':') {
    if (s[1] != ':') return false;
    compressed = true;
    i = 2;
    if (i == s.size()) return true;  // "::"
  }
  while (true) {
    size_t start = i;
    while (i < s.size() && IsHexDigit(s[i])) ++i;
    if (i < s.size() && s[i] == '.') {
      // Only the last 32 bits may be written as a dotted quad.
      if (!IsValidIpv4(s.substr(start))) return false;
      groups += 2;
      break;
    }
    if (i == start || i - start > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i == s.size()) return false;  // a single trailing colon
    if (s[i] == ':') {
      if (compressed) return false;  // "::" at most once
      compressed = true;
      ++i;
      if (i == s.size()) break;
    }
  }
  // "::" stands for at least one group of zeros.
  return compressed ? groups <= 7 : groups == 8;
}

bool IsValidEmail(std::string_view candidate) {
  size_t at = candidate.find('@');
  if (at == std::string_view::npos) return false;
  if (!IsValidLocalPart(candidate.substr(0, at))) return false;
  std::string_view tld = LastLabelOfDomain(candidate.substr(at + 1));
  return !tld.empty() && IsKnownTld(tld);
}

bool IsKnownTld(std::string_view tld) { return TopLevelDomains::Default().Contains(tld); }

TopLevelDomains TopLevelDomains::Load(const char* path) {
  TopLevelDomains t;
  std::ifstream in(path);
  std::string line;
  while (in && std::getline(in, line)) {
    std::string_view label = RightmostLabelOfRule(line);
    if (label.empty()) continue;
    std::string lower(label);
    bool ascii = true;
    for (char& c : lower) {
      c = ToLower(c);
      if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
    }
    if (!ascii) {
      // Domains in mail and URLs carry unicode labels in their ACE form.
      std::string ace = ToPunycode(lower);
      if (!ace.empty()) t.sorted_.push_back(std::move(ace));
    }
    t.sorted_.push_back(std::move(lower));
  }
  t.from_public_suffix_list_ = !t.sorted_.empty();
  if (!t.from_public_suffix_list_) t.sorted_.assign(std::begin(kBuiltInTlds), std::end(kBuiltInTlds));
  std::sort(t.sorted_.begin(), t.sorted_.end());
  t.sorted_.erase(std::unique(t.sorted_.begin(), t.sorted_.end()), t.sorted_.end());
  t.BuildIndex();
  return t;
}

uint64_t TopLevelDomains::HashOf(std::string_view lower) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then a final mix
  for (char c : lower) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  h ^= h >> 31;
  return h * 0x94d049bb133111ebull;
}

void TopLevelDomains::BuildIndex() {
  size_t cap = 16;
  while (cap < sorted_.size() * 2) cap *= 2;
  index_.assign(cap, 0);
  for (size_t k = 0; k < sorted_.size(); ++k) {
    size_t i = HashOf(sorted_[k]) & (cap - 1);
    while (index_[i] != 0) i = (i + 1) & (cap - 1);
    index_[i] = static_cast<uint32_t>(k + 1);
  }
}

const TopLevelDomains& TopLevelDomains::Default() {
  // Built once (C++ guarantees thread-safe initialisation of function statics) and never destroyed, so
  // lookups during shutdown stay valid.
  static const TopLevelDomains* const kDefault = [] {
    auto* t = new TopLevelDomains(Load(VG_PUBLIC_SUFFIX_LIST));
    if (!t->from_public_suffix_list()) {
      std::fprintf(stderr,
                   "vendorguard: cannot read the Public Suffix List at %s; email detection falls back to %zu "
                   "built-in TLDs and will miss addresses under other TLDs (install the publicsuffix package)\n",
                   VG_PUBLIC_SUFFIX_LIST, t->size());
    }
    return t;
  }();
  return *kDefault;
}

bool TopLevelDomains::Contains(std::string_view tld) const {
  if (tld.empty() || tld.size() > kMaxTldBytes) return false;
  char lower[kMaxTldBytes];
  for (size_t i = 0; i < tld.size(); ++i) lower[i] = ToLower(tld[i]);
  std::string_view key(lower, tld.size());
  if (index_.empty()) return false;
  const size_t mask = index_.size() - 1;
  for (size_t i = HashOf(key) & mask; index_[i] != 0; i = (i + 1) & mask) {
    const std::string& entry = sorted_[index_[i] - 1];
    if (entry.size() != key.size()) continue;
    bool same = true;  // short: inline, not a call to memcmp
    for (size_t k = 0; k < key.size(); ++k) same &= entry[k] == key[k];
    if (same) return true;
  }
  return false;
}

}  // namespace vg
