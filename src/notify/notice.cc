#include "notify/notice.h"

#include "common/time_text.h"

#include <ctemplate/template.h>
#include <ctemplate/template_cache.h>
#include <ctemplate/template_dictionary.h>
#include <sodium.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/ascii.h"
#include "common/files.h"

namespace vg::notify {
namespace {

constexpr std::string_view kBegin = "-----BEGIN VENDORGUARD NOTICE SIGNATURE-----";
constexpr std::string_view kEnd = "-----END VENDORGUARD NOTICE SIGNATURE-----";
constexpr std::string_view kCanonicalMagic = "vendorguard-notice-v1\n";
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  out->assign(text.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out->data()), out->size(), text.data(), text.size(),
                        " \t\r\n", &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return false;
  }
  out->resize(len);
  return true;
}

// A control character other than tab: what must never reach a header.
bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}


int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

constexpr const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};

// ---- Links ----

bool HostOnDomain(std::string_view host, std::string_view domain) {
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || domain.empty()) return false;
  if (AsciiIEquals(host, domain)) return true;
  return host.size() > domain.size() + 1 && host[host.size() - domain.size() - 1] == '.' &&
         AsciiIEquals(host.substr(host.size() - domain.size()), domain);
}

bool EndsAuthority(char c) {
  return c == '/' || c == '?' || c == '#' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' ||
         c == '\'' || c == '<' || c == '>' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
         c == '\\' || c == ',' || c == ';' || c == '|' || c == '`';
}

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// The host (lower case) of the authority that starts at `text[at]`.
std::string HostAt(std::string_view lower, size_t at) {
  size_t end = at;
  while (end < lower.size() && !EndsAuthority(lower[end])) ++end;
  std::string_view authority = lower.substr(at, end - at);
  if (const size_t userinfo = authority.rfind('@'); userinfo != std::string_view::npos) {
    authority.remove_prefix(userinfo + 1);
  }
  if (const size_t colon = authority.find(':'); colon != std::string_view::npos) authority = authority.substr(0, colon);
  while (!authority.empty() && (authority.back() == '.' || authority.back() == ':')) authority.remove_suffix(1);
  return AsciiLowered(authority);
}

std::string Excerpt(std::string_view s, size_t at) {
  size_t end = at;
  while (end < s.size() && end - at < 80 && s[end] != ' ' && s[end] != '\n' && s[end] != '\r' && s[end] != '"' &&
         s[end] != '<' && s[end] != '>') {
    ++end;
  }
  return std::string(s.substr(at, end - at));
}

}  // namespace

// ---- Ids, words, dates ----

std::string NewNoticeId() {
  EnsureSodium();
  uint8_t b[8];
  randombytes_buf(b, sizeof b);
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  std::string id = "N-";
  for (int i = 0; i < 10; ++i) {
    id.push_back(kCrockford[v & 31]);
    v >>= 5;
  }
  return id;
}

bool IsNoticeId(std::string_view id) {
  if (id.size() != 12 || id.substr(0, 2) != "N-") return false;
  for (char c : id.substr(2)) {
    if (std::strchr(kCrockford, c) == nullptr || c == '\0') return false;
  }
  return true;
}

std::string_view CategoryDescription(uint32_t category_bit) {
  switch (category_bit) {
    case kCatIdentifier: return "an identifier that links your activity together (a user or device ID)";
    case kCatContact: return "your contact details, such as your email address or phone number";
    case kCatName: return "your name";
    case kCatLocation: return "your approximate location (such as your country or city)";
    case kCatNetwork: return "the IP address of your connection";
    case kCatDevice: return "the type of browser, operating system and device you used";
    case kCatReferrer: return "addresses (URLs) of pages you visited or came from";
    case kCatFreeText: return "text you typed into our product";
    case kCatSecret: return "credentials such as passwords, API keys or access tokens";
    case kCatActivity: return "what you did in our product and when (for example, which pages or features you used)";
    case kCatOther: return "other details about how you used our product";
    case kCatFinancial: return "payment card or bank account numbers";
    case kCatGovernmentId: return "a national identification number (such as a US Social Security number)";
    default: return "other personal data";
  }
}

namespace {

bool IsGerman(std::string_view language) { return language == "de"; }

std::string_view CategoryDescriptionDe(uint32_t category_bit) {
  // Nominative noun phrases: the German template lists them after "Übermittelt wurden:".
  switch (category_bit) {
    case kCatIdentifier: return "eine Kennung, die Ihre Aktivitäten miteinander verknüpft (eine Nutzer- oder Geräte-ID)";
    case kCatContact: return "Ihre Kontaktdaten, etwa Ihre E-Mail-Adresse oder Telefonnummer";
    case kCatName: return "Ihr Name";
    case kCatLocation: return "Ihr ungefährer Standort (etwa Ihr Land oder Ihre Stadt)";
    case kCatNetwork: return "die IP-Adresse Ihrer Verbindung";
    case kCatDevice: return "welchen Browser, welches Betriebssystem und welche Art von Gerät Sie verwendet haben";
    case kCatReferrer: return "Adressen (URLs) von Seiten, die Sie besucht haben oder von denen Sie kamen";
    case kCatFreeText: return "Text, den Sie in unser Produkt eingegeben haben";
    case kCatSecret: return "Zugangsdaten wie Passwörter, API-Schlüssel oder Zugriffstoken";
    case kCatActivity: return "was Sie in unserem Produkt getan haben und wann (zum Beispiel, welche Seiten oder Funktionen Sie genutzt haben)";
    case kCatOther: return "weitere Angaben dazu, wie Sie unser Produkt genutzt haben";
    case kCatFinancial: return "Nummern von Zahlungskarten oder Bankkonten";
    case kCatGovernmentId: return "eine staatliche Identifikationsnummer (etwa eine US-Sozialversicherungsnummer)";
    default: return "andere personenbezogene Daten";
  }
}

constexpr const char* kMonthsDe[] = {"Januar", "Februar", "März",      "April",   "Mai",      "Juni",
                                     "Juli",   "August",  "September", "Oktober", "November", "Dezember"};

}  // namespace

std::string_view CategoryDescription(uint32_t category_bit, std::string_view language) {
  return IsGerman(language) ? CategoryDescriptionDe(category_bit) : CategoryDescription(category_bit);
}

std::string HumanDate(int64_t us) { return HumanDate(us, "en"); }

std::string HumanDate(int64_t us, std::string_view language) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(FloorDiv(us, kUsPerDay), &y, &m, &d);
  char buf[48];
  if (IsGerman(language)) {
    std::snprintf(buf, sizeof buf, "%u. %s %" PRId64, d, kMonthsDe[m - 1], y);
  } else {
    std::snprintf(buf, sizeof buf, "%u %s %" PRId64, d, kMonths[m - 1], y);
  }
  return buf;
}

std::string NormalizeLocale(std::string_view locale) {
  locale = Trim(locale);
  locale = locale.substr(0, locale.find_first_of(".@"));  // POSIX: de_AT.UTF-8@euro
  std::string out;
  out.reserve(locale.size());
  for (char c : locale) {
    if (c == '_') c = '-';
    if (!IsAlnum(c) && c != '-') return "";
    out.push_back(AsciiLower(c));
  }
  // A language subtag of two or three letters, then subtags of 1-8 letters or digits.
  size_t lang = 0;
  while (lang < out.size() && out[lang] >= 'a' && out[lang] <= 'z') ++lang;
  if (lang < 2 || lang > 3 || (lang < out.size() && out[lang] != '-') || out.size() > 35) return "";
  for (size_t pos = lang; pos < out.size();) {
    const size_t next = out.find('-', pos + 1);
    const size_t len = (next == std::string::npos ? out.size() : next) - pos - 1;
    if (len < 1 || len > 8) return "";
    pos = next == std::string::npos ? out.size() : next;
  }
  return out;
}

std::string MailDate(int64_t us) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  const int64_t days = FloorDiv(us, kUsPerDay);
  const int64_t secs = FloorDiv(us - days * kUsPerDay, 1'000'000);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %u %.3s %" PRId64 " %02d:%02d:%02d +0000", kDays[((days % 7) + 7) % 7], d,
                kMonths[m - 1], y, static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60));
  return buf;
}

// ---- Encodings ----

namespace {

// Bytes quoted-printable leaves as they are (in the middle of a line).
constexpr auto kQpPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x7f; ++c) t[c] = c != '=';
  t[' '] = t['\t'] = true;
  return t;
}();

}  // namespace

std::string QuotedPrintableEncode(std::string_view text) {
  std::string out;
  AppendQuotedPrintable(text, &out);
  return out;
}

void AppendQuotedPrintable(std::string_view text, std::string* dest) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  // Worst case: every byte =XX, and a soft break per 25 of those.
  std::string& out = *dest;
  const size_t start = out.size();
  out.resize(start + text.size() * 3 + text.size() / 24 * 3 + 8);
  char* w = out.data() + start;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool last = nl == std::string_view::npos;
    std::string_view line = text.substr(pos, last ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (last && line.empty()) break;
    size_t col = 0;
    const size_t size = line.size();
    // Most lines are short plain text: copied as they are.
    static constexpr auto kPlain = kQpPlain;
    if (size > 0 && size <= 76 && line[0] != '.' && !line.starts_with("From ") && line.back() != ' ' &&
        line.back() != '\t' &&
        std::all_of(line.begin(), line.end(), [](char ch) { return kPlain[static_cast<unsigned char>(ch)]; })) {
      std::memcpy(w, line.data(), size);
      w += size;
      *w++ = '\r';
      *w++ = '\n';
      if (last) break;
      pos = nl + 1;
      continue;
    }
    for (size_t i = 0; i < size; ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      // Long lines (paragraphs) are mostly plain too: copy the run of plain bytes that fits before the next
      // soft break in one go. Its last byte stays on the byte-wise path (a trailing space is encoded, and it
      // may use the 76th column), as does a byte at the start of a continuation line ("." and "From ").
      if (col < 75 && (col > 0 || (c != '.' && c != 'F'))) {
        const size_t limit = std::min(size - 1, i + (75 - col));
        size_t j = i;
        while (j < limit && kPlain[static_cast<unsigned char>(line[j])]) ++j;
        if (j > i) {
          std::memcpy(w, line.data() + i, j - i);
          w += j - i;
          col += j - i;
          i = j - 1;
          continue;
        }
      }
      const bool at_line_end = i + 1 == size;
      bool encode = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') || ((c == ' ' || c == '\t') && at_line_end);
      size_t n = encode ? 3 : 1;
      // Keep each encoded line within 76 characters, the soft break "=" included.
      if (col + n > 75 && !(at_line_end && col + n <= 76)) {
        *w++ = '=';
        *w++ = '\r';
        *w++ = '\n';
        col = 0;
      }
      // A line (or continuation line) never starts with "." or "From ": dot-stuffing and mbox quoting.
      if (col == 0 && !encode && (c == '.' || (c == 'F' && line.substr(i, 5) == "From "))) {
        encode = true;
        n = 3;
      }
      if (encode) {
        w[0] = '=';
        w[1] = kHex[c >> 4];
        w[2] = kHex[c & 15];
        w += 3;
      } else {
        *w++ = static_cast<char>(c);
      }
      col += n;
    }
    *w++ = '\r';
    *w++ = '\n';
    if (last) break;
    pos = nl + 1;
  }
  out.resize(static_cast<size_t>(w - out.data()));
}

std::string QuotedPrintableDecode(std::string_view encoded) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(encoded.size());
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t nl = encoded.find('\n', pos);
    const bool last = nl == std::string_view::npos;
    std::string_view line = encoded.substr(pos, last ? std::string_view::npos : nl - pos);
    // Transport may add trailing whitespace; RFC 2045 says to delete it.
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    bool soft = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] != '=') {
        out.push_back(line[i]);
        continue;
      }
      if (i + 1 == line.size()) {
        soft = true;
        break;
      }
      const int hi = i + 2 < line.size() ? hex(line[i + 1]) : -1;
      const int lo = i + 2 < line.size() ? hex(line[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        out.push_back('=');  // not an escape: kept as is (RFC 2045 6.7, note 1)
      }
    }
    if (!soft && !last) out.push_back('\n');
    if (last) break;
    pos = nl + 1;
  }
  return out;
}

std::string CanonicalBody(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  size_t first = 0, last = lines.size();
  while (first < last && lines[first].empty()) ++first;
  while (last > first && lines[last - 1].empty()) --last;
  std::string out;
  out.reserve(text.size());
  for (size_t i = first; i < last; ++i) {
    out.append(lines[i]);
    out.push_back('\n');
  }
  return out;
}

namespace {

// `canonical_body` is CanonicalBody() of the text.
std::string Canonical(std::string_view id, std::string_view issuer, std::string_view key_id,
                      std::string_view recipient, std::string_view subject, std::string_view canonical_body) {
  std::string out;
  out.reserve(canonical_body.size() + 160);
  out.append(kCanonicalMagic);
  out.append("notice: ").append(id).append("\nissuer: ").append(issuer).append("\nkey: ").append(key_id);
  out.append("\nto: ").append(recipient).append("\nsubject: ").append(subject).append("\n\n");
  out.append(canonical_body);
  return out;
}

// RFC 2047 B-encoded words of at most 75 characters, never splitting a UTF-8 sequence, folded with CRLF SP.
std::string EncodedWords(std::string_view text) {
  std::string out;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    // 75 - len("=?UTF-8?B?" "?=") = 63 encoded chars = 45 bytes (multiple of 3 keeps words independent).
    size_t take = std::min<size_t>(45, text.size() - pos);
    while (take > 0 && pos + take < text.size() && (static_cast<unsigned char>(text[pos + take]) & 0xC0) == 0x80) {
      --take;
    }
    if (!first) out.append("\r\n ");
    out.append("=?UTF-8?B?").append(Base64(text.substr(pos, take))).append("?=");
    pos += take;
    first = false;
  }
  return out;
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// An unstructured header value (Subject): folded at spaces when ASCII, RFC 2047 words otherwise.
std::string HeaderText(std::string_view name, std::string_view value) {
  if (!IsAscii(value) || value.find("=?") != std::string_view::npos) {
    return std::string(name) + ": " + EncodedWords(value) + "\r\n";
  }
  std::string out = std::string(name) + ":";
  size_t col = out.size();
  size_t pos = 0;
  while (pos < value.size()) {
    size_t sp = value.find(' ', pos + 1);
    std::string_view word = value.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    if (pos == 0) {
      out.push_back(' ');
      ++col;
    }
    if (col + word.size() > 76 && col > name.size() + 2) {
      out.append("\r\n");  // the word keeps its leading space: unfolding restores the value exactly
      col = 0;
    }
    out.append(word);
    col += word.size();
    pos += word.size();
  }
  out.append("\r\n");
  return out;
}

std::string Mailbox(std::string_view display, std::string_view addr) {
  if (display.empty()) return std::string(addr);
  std::string out;
  if (IsAscii(display)) {
    out.push_back('"');
    for (char c : display) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  } else {
    out = EncodedWords(display);
  }
  return out + " <" + std::string(addr) + ">";
}

}  // namespace

bool IsPlainEmail(std::string_view a) {
  const size_t at = a.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= a.size() || a.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::none_of(a.begin(), a.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' || c == '(' ||
           c == ')' || c == '\\' || c == '[' || c == ']' || c == ':';
  });
}

namespace {

std::string SignatureBlock(std::string_view id, std::string_view issuer, std::string_view recipient,
                           std::string_view subject, std::string_view key_id, const NoticeSignature& sig) {
  const std::string b64 = Base64(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
  std::string out;
  out.append(kBegin).append("\n");
  out.append("Notice: ").append(id).append("\n");
  out.append("Issuer: ").append(issuer).append("\n");
  out.append("To: ").append(recipient).append("\n");
  out.append("Subject: ").append(subject).append("\n");
  out.append("Key: ").append(key_id).append("\n");
  out.append("Signature: ").append(b64.substr(0, 44)).append("\n ").append(b64.substr(44)).append("\n");
  out.append(kEnd).append("\n");
  return out;
}

}  // namespace

// ---- Link and markup checks ----

namespace {

// Every pattern the check looks for contains one of a few punctuation bytes at a fixed distance from its
// start: ':' (http://, https://, mailto:, javascript:), '.' (www.) and, in HTML, '<' (tags) and '=' (href=,
// src=, action=). Text has few of them, so the scan jumps from one to the next, 16 bytes at a time, and
// looks back from there. kMaxLookBack is the longest such distance ("javascript" before ':').
constexpr size_t kMaxLookBack = 10;

size_t NextAnchor(std::string_view s, size_t from, bool html) {
#if defined(__SSE2__)
  const __m128i colon = _mm_set1_epi8(':');
  const __m128i dot = _mm_set1_epi8('.');
  const __m128i lt = _mm_set1_epi8(html ? '<' : ':');
  const __m128i eq = _mm_set1_epi8(html ? '=' : ':');
  while (from + 16 <= s.size()) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + from));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, dot)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, eq)));
    if (const int mask = _mm_movemask_epi8(hit); mask != 0) return from + static_cast<size_t>(__builtin_ctz(mask));
    from += 16;
  }
#endif
  for (; from < s.size(); ++from) {
    const char c = s[from];
    if (c == ':' || c == '.' || (html && (c == '<' || c == '='))) return from;
  }
  return std::string_view::npos;
}

}  // namespace

Status CheckLinksAndMarkup(std::string_view rendered, std::string_view domain, bool html) {
  const std::string_view l = rendered;
  // `word` (lower case) ends right before `end`.
  auto before = [&](size_t end, std::string_view word) {
    // The last letter first: most anchors have none of the words before them.
    return end >= word.size() && AsciiLower(l[end - 1]) == word.back() &&
           AsciiIEquals(l.substr(end - word.size(), word.size()), word);
  };
  auto starts = [](std::string_view r, std::string_view prefix) {
    return r.size() >= prefix.size() && AsciiIEquals(r.substr(0, prefix.size()), prefix);
  };
  auto at_word_start = [&](size_t i) { return i == 0 || !IsAlnum(l[i - 1]); };
  auto foreign = [&](size_t at, std::string_view host) {
    return Status::InvalidArgument("links to " + Excerpt(rendered, at) + " (host \"" + std::string(host) +
                                   "\"), which is not " + std::string(domain) +
                                   " or a subdomain of it; a notice links only to the organization's own domain");
  };
  static constexpr std::string_view kForbiddenTags[] = {"<form", "<input", "<button", "<textarea", "<select",
                                                        "<script", "<iframe", "<object", "<embed"};
  // Every link target must be absolute: href="//evil" or a relative path could go anywhere. `eq` is the
  // position of the attribute's "=", `at` of its name.
  auto attribute = [&](size_t at, size_t eq) -> Status {
    size_t v = eq + 1;
    if (v < l.size() && (l[v] == '"' || l[v] == '\'')) ++v;
    const std::string_view value = l.substr(v);
    if (!(starts(value, "https://") || starts(value, "http://") || starts(value, "mailto:") || starts(value, "#"))) {
      return Status::InvalidArgument("has a link that is not an absolute https URL on " + std::string(domain) + ": " +
                                     Excerpt(rendered, at));
    }
    return Status::Ok();
  };
  // What is wrong with the pattern around the anchor at `a`, if anything; *start is where it begins.
  auto check = [&](size_t a, size_t* start) -> Status {
    switch (l[a]) {
      case ':': {
        if (l.substr(a, 3) == "://") {
          const size_t at = before(a, "http") ? a - 4 : before(a, "https") ? a - 5 : std::string_view::npos;
          if (at != std::string_view::npos) {
            *start = at;
            const std::string host = HostAt(l, a + 3);
            if (!HostOnDomain(host, domain)) return foreign(at, host);
            return Status::Ok();
          }
        }
        if (before(a, "mailto")) {
          *start = a - 6;
          size_t end = a + 1;
          while (end < l.size() && !std::strchr("? \t\r\n\"'<>)", l[end])) ++end;
          std::string_view list = l.substr(a + 1, end - a - 1);
          if (list.empty()) return Status::InvalidArgument("has an empty mailto: link");
          while (!list.empty()) {
            const size_t comma = list.find(',');
            std::string_view addr = list.substr(0, comma);
            const size_t sign = addr.rfind('@');
            if (sign == std::string_view::npos || !HostOnDomain(addr.substr(sign + 1), domain)) {
              return Status::InvalidArgument("has a mailto: link to " + Excerpt(rendered, a - 6) +
                                             ", which is not an address at " + std::string(domain) +
                                             "; a notice names only the organization's own addresses");
            }
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
          }
          return Status::Ok();
        }
        if (before(a, "javascript")) {
          *start = a - 10;
          return Status::InvalidArgument("contains a javascript: URL");
        }
        return Status::Ok();
      }
      case '.': {
        // Bare "www." names, which mail clients turn into links.
        if (!before(a, "www")) return Status::Ok();
        const size_t i = a - 3;
        if (i > 0 && (IsAlnum(l[i - 1]) || l[i - 1] == '/' || l[i - 1] == '.' || l[i - 1] == '@')) return Status::Ok();
        *start = i;
        const std::string host = HostAt(l, i);
        if (!HostOnDomain(host, domain)) return foreign(i, host);
        return Status::Ok();
      }
      case '<': {
        if (a + 1 == l.size() || !std::strchr("fibtsoe", AsciiLower(l[a + 1]))) return Status::Ok();
        const std::string_view rest = l.substr(a);
        for (std::string_view tag : kForbiddenTags) {
          if (starts(rest, tag) && (rest.size() == tag.size() || !IsAlnum(rest[tag.size()]))) {
            *start = a;
            return Status::InvalidArgument("contains " + std::string(tag) +
                                           "> (forms, inputs and scripts are never part of a notice: a notice "
                                           "asks for nothing)");
          }
        }
        return Status::Ok();
      }
      case '=':
        for (std::string_view name : {std::string_view("href"), std::string_view("src"), std::string_view("action")}) {
          if (before(a, name) && at_word_start(a - name.size())) {
            *start = a - name.size();
            return attribute(a - name.size(), a);
          }
        }
        return Status::Ok();
    }
    return Status::Ok();
  };
  // The first problem in text order: a pattern found later may start up to kMaxLookBack bytes earlier.
  Status first = Status::Ok();
  size_t first_start = std::string_view::npos;
  for (size_t a = NextAnchor(l, 0, html); a != std::string_view::npos; a = NextAnchor(l, a + 1, html)) {
    if (first_start != std::string_view::npos && a > first_start + kMaxLookBack) break;
    size_t start = a;
    if (Status s = check(a, &start); !s.ok() && start < first_start) {
      first = std::move(s);
      first_start = start;
    }
  }
  return first;
}

// ---- Templates ----

NoticeTemplate::NoticeTemplate() : cache_(std::make_unique<ctemplate::TemplateCache>()) {}
NoticeTemplate::~NoticeTemplate() = default;

StatusOr<std::shared_ptr<const NoticeTemplate>> NoticeTemplate::FromStrings(std::string_view subject,
                                                                           std::string_view text,
                                                                           std::string_view html,
                                                                           std::string origin,
                                                                           std::string language) {
  std::shared_ptr<NoticeTemplate> t(new NoticeTemplate());
  t->origin_ = std::move(origin);
  t->language_ = std::move(language);
  auto add = [&](std::string_view file, std::string_view content) -> Status {
    if (content.find("{{>") != std::string_view::npos) {
      return Status::InvalidArgument(t->origin_ + std::string(file) +
                                     ": includes another template ({{>...}}); a notice template is self-contained");
    }
    if (!t->cache_->StringToTemplateCache(ctemplate::TemplateString(file.data(), file.size()),
                                          ctemplate::TemplateString(content.data(), content.size()),
                                          ctemplate::DO_NOT_STRIP)) {
      return Status::InvalidArgument(t->origin_ + std::string(file) +
                                     ": not a valid ctemplate template (unbalanced {{#SECTION}}/{{/SECTION}} or a "
                                     "bad marker; ctemplate's log line above says where)");
    }
    return Status::Ok();
  };
  if (Status s = add(kSubjectFile, subject); !s.ok()) return s;
  if (Status s = add(kTextFile, text); !s.ok()) return s;
  if (!html.empty()) {
    // Forbidden markup in the source is reported now, before any notice is rendered.
    if (Status s = CheckLinksAndMarkup(std::string(html), "invalid.", true);
        !s.ok() && s.message().find("contains") == 0) {
      return s.WithPrefix(t->origin_ + std::string(kHtmlFile));
    }
    std::string source(html);
    if (!Trim(source).starts_with("{{%AUTOESCAPE")) source = "{{%AUTOESCAPE context=\"HTML\"}}" + source;
    if (Status s = add(kHtmlFile, source); !s.ok()) return s;
    t->has_html_ = true;
  }
  t->cache_->Freeze();
  return std::shared_ptr<const NoticeTemplate>(std::move(t));
}

namespace {

StatusOr<std::shared_ptr<const NoticeTemplate>> LoadOne(const std::string& prefix, std::string language) {
  auto subject = ReadWholeFile(prefix + std::string(NoticeTemplate::kSubjectFile));
  if (!subject.ok()) return subject.status().WithPrefix("notice template");
  auto text = ReadWholeFile(prefix + std::string(NoticeTemplate::kTextFile));
  if (!text.ok()) return text.status().WithPrefix("notice template");
  auto html = ReadWholeFile(prefix + std::string(NoticeTemplate::kHtmlFile));
  if (!html.ok() && html.status().code() != Status::Code::kNotFound) return html.status();
  return NoticeTemplate::FromStrings(*subject, *text, html.ok() ? *html : std::string(), prefix, std::move(language));
}

}  // namespace

StatusOr<std::shared_ptr<const NoticeTemplate>> NoticeTemplate::Load(const std::string& dir) {
  const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  auto base = LoadOne(prefix, "en");
  if (!base.ok()) return base.status();
  // Locale subdirectories, in name order so that errors and the variant list do not depend on the file system.
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(prefix.empty() ? "." : prefix, ec), end; !ec && it != end;
       it.increment(ec)) {
    // A subdirectory named like a locale that holds none of the template files (images/, old/) is not one.
    const std::filesystem::path& sub = it->path();
    std::error_code ignored;
    if (it->is_directory(ignored) && !NormalizeLocale(sub.filename().string()).empty() &&
        (std::filesystem::exists(sub / kSubjectFile, ignored) || std::filesystem::exists(sub / kTextFile, ignored) ||
         std::filesystem::exists(sub / kHtmlFile, ignored))) {
      names.push_back(sub.filename().string());
    }
  }
  if (ec) return Status::IOError(prefix + ": " + ec.message());
  if (names.empty()) return base;
  std::sort(names.begin(), names.end());
  // Made non-const by FromStrings and not shared yet: the variants are added before anyone sees it.
  std::shared_ptr<NoticeTemplate> t = std::const_pointer_cast<NoticeTemplate>(*base);
  for (const std::string& name : names) {
    const std::string tag = NormalizeLocale(name);
    auto variant = LoadOne(prefix + name + "/", tag.substr(0, tag.find('-')));
    if (!variant.ok()) {
      return variant.status().WithPrefix("locale " + tag + " (a subdirectory named like a locale holds that locale's template)");
    }
    for (const auto& [have, _] : t->variants_) {
      if (have == tag) return Status::InvalidArgument(prefix + name + ": a second template for locale " + tag);
    }
    t->variants_.emplace_back(tag, std::move(*variant));
  }
  std::sort(t->variants_.begin(), t->variants_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return std::shared_ptr<const NoticeTemplate>(std::move(t));
}

std::vector<std::string> NoticeTemplate::locales() const {
  std::vector<std::string> out;
  for (const auto& [tag, _] : variants_) out.push_back(tag);
  return out;
}

const NoticeTemplate& NoticeTemplate::ForLocale(std::string_view locale) const {
  if (variants_.empty() || locale.empty()) return *this;
  std::string tag = NormalizeLocale(locale);
  // The whole tag, then without its last subtag: de-latn-at, de-latn, de.
  while (!tag.empty()) {
    for (const auto& [have, variant] : variants_) {
      if (have == tag) return *variant;
    }
    const size_t dash = tag.rfind('-');
    tag.resize(dash == std::string::npos ? 0 : dash);
  }
  return *this;
}

StatusOr<Notice> NoticeTemplate::Render(const NoticeInput& in, const NoticeKey& key) const {
  return ForLocale(in.locale).RenderThis(in, key);
}

StatusOr<Notice> NoticeTemplate::RenderThis(const NoticeInput& in, const NoticeKey& key) const {
  assert(in.organization != nullptr);
  const Config::Organization& org = *in.organization;
  if (!IsNoticeId(in.notice_id)) return Status::InvalidArgument("notice id \"" + in.notice_id + "\" is not N-XXXXXXXXXX");
  if (!IsPlainEmail(in.email)) {
    return Status::InvalidArgument("recipient address \"" + in.email +
                                   "\" is not a plain address (one @, no spaces, brackets or line breaks)");
  }
  if (HasControl(in.name)) return Status::InvalidArgument("the recipient's name contains a line break or control character");
  std::string from = in.from_address;
  if (from.empty()) {
    const size_t at = org.contact.rfind('@');
    from = at != std::string::npos && IsPlainEmail(org.contact) && HostOnDomain(org.contact.substr(at + 1), org.domain)
               ? org.contact
               : "privacy@" + org.domain;
  }
  if (!IsPlainEmail(from) || HasControl(org.name)) {
    return Status::InvalidArgument("sender address \"" + from + "\" or organization name is not usable in a header");
  }
  const std::string verify_url = org.NoticeUrl(in.notice_id);

  ctemplate::TemplateDictionary dict("notice");
  auto set = [&dict](const char* name, std::string_view value) {
    dict.SetValue(name, ctemplate::TemplateString(value.data(), value.size()));
  };
  set("NOTICE_ID", in.notice_id);
  set("EMAIL", in.email);
  set("NAME", in.name);
  dict.ShowSection(in.name.empty() ? "NO_NAME" : "HAS_NAME");
  set("LOCALE", in.locale);
  set("VENDOR", in.vendor);
  set("ORG_NAME", org.name);
  set("ORG_CONTACT", org.contact);
  set("ORG_DOMAIN", org.domain);
  set("VERIFY_URL", verify_url);
  const std::string first = HumanDate(in.first_disclosure_us, language_);
  const std::string last = HumanDate(in.last_disclosure_us, language_);
  const std::string wfrom = HumanDate(in.window_from_us, language_), wto = HumanDate(in.window_to_us, language_);
  set("FIRST_DISCLOSURE", first);
  set("LAST_DISCLOSURE", last);
  set("WINDOW_FROM", wfrom);
  set("WINDOW_TO", wto);
  dict.ShowSection(first == last ? "SAME_DAY" : "DATE_RANGE");
  const std::string date = HumanDate(in.date_us, language_);
  set("DATE", date);
  if (!in.measures.empty()) {
    set("MEASURES", in.measures);
    dict.ShowSection("HAS_MEASURES");
  }
  if (in.identifiers_pseudonymized && (in.categories & kCatIdentifier)) dict.ShowSection("PSEUDONYMIZED");
  for (size_t i = 0; i < std::size(kCategoryNames); ++i) {
    const uint32_t bit = 1u << i;
    if (!(in.categories & bit)) continue;
    ctemplate::TemplateDictionary* c = dict.AddSectionDictionary("CATEGORY");
    const std::string_view desc = CategoryDescription(bit, language_);
    c->SetValue("DESCRIPTION", ctemplate::TemplateString(desc.data(), desc.size()));
    c->SetValue("CATEGORY_NAME", ctemplate::TemplateString(kCategoryNames[i].data(), kCategoryNames[i].size()));
    static const std::vector<std::string> kExposedSections = [] {
      std::vector<std::string> v;
      for (std::string_view name : kCategoryNames) {
        std::string upper = "EXPOSED_";
        for (char ch : name) upper.push_back(ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 32) : ch);
        v.push_back(std::move(upper));
      }
      return v;
    }();
    dict.ShowSection(ctemplate::TemplateString(kExposedSections[i]));
  }

  auto expand = [&](std::string_view file, std::string* out) -> Status {
    if (!cache_->ExpandNoLoad(ctemplate::TemplateString(file.data(), file.size()), ctemplate::DO_NOT_STRIP, &dict,
                              nullptr, out)) {
      return Status::InvalidArgument(origin_ + std::string(file) + ": ctemplate could not expand it");
    }
    return Status::Ok();
  };
  std::string subject_raw, text, html;
  if (Status s = expand(kSubjectFile, &subject_raw); !s.ok()) return s;
  if (Status s = expand(kTextFile, &text); !s.ok()) return s;
  if (has_html_) {
    if (Status s = expand(kHtmlFile, &html); !s.ok()) return s;
  }
  const std::string subject(Trim(subject_raw));
  if (subject.empty()) return Status::InvalidArgument(origin_ + std::string(kSubjectFile) + ": renders an empty subject");
  if (HasControl(subject)) {
    return Status::InvalidArgument(origin_ + std::string(kSubjectFile) +
                                   ": the subject contains a line break or control character (header injection)");
  }
  if (Status s = CheckLinksAndMarkup(subject, org.domain, false); !s.ok()) {
    return s.WithPrefix(origin_ + std::string(kSubjectFile));
  }
  if (Status s = CheckLinksAndMarkup(text, org.domain, false); !s.ok()) return s.WithPrefix(origin_ + std::string(kTextFile));
  if (text.find(kBegin) != std::string::npos || text.find(kEnd) != std::string::npos) {
    return Status::InvalidArgument(origin_ + std::string(kTextFile) + ": contains a notice signature line");
  }
  if (has_html_) {
    if (Status s = CheckLinksAndMarkup(html, org.domain, true); !s.ok()) return s.WithPrefix(origin_ + std::string(kHtmlFile));
  }

  // Sign the canonical form; the block then closes the text part.
  const std::string issuer = AsciiLowered(org.domain);
  std::string signed_text = CanonicalBody(text);
  const std::string canonical = Canonical(in.notice_id, issuer, key.key_id(), in.email, subject, signed_text);
  const NoticeSignature sig = key.Sign(canonical);
  signed_text.append("\n").append(SignatureBlock(in.notice_id, issuer, in.email, subject, key.key_id(), sig));

  Notice n;
  n.id = in.notice_id;
  n.recipient = in.email;
  n.subject = subject;
  std::string& m = n.message;
  // The headers and AppendQuotedPrintable's worst case for both parts: the message is never reallocated.
  m.reserve(1024 + (signed_text.size() + html.size()) * 3 + (signed_text.size() + html.size()) / 24 * 3 + 16);
  m.append("From: ").append(Mailbox(org.name, from)).append("\r\n");
  m.append("To: ").append(Mailbox(in.name, in.email)).append("\r\n");
  m.append(HeaderText("Subject", subject));
  m.append("Date: ").append(MailDate(in.date_us)).append("\r\n");
  m.append("Message-ID: <").append(in.notice_id).append("@").append(issuer).append(">\r\n");
  m.append("X-Vendorguard-Notice: ").append(in.notice_id).append("\r\n");
  m.append("MIME-Version: 1.0\r\n");
  const std::string text_headers = "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n";
  if (!has_html_) {
    m.append(text_headers).append("\r\n");
    AppendQuotedPrintable(signed_text, &m);
  } else {
    const std::string boundary = "=_vg_" + in.notice_id;  // "=_" never occurs in quoted-printable output
    m.append("Content-Type: multipart/alternative; boundary=\"").append(boundary).append("\"\r\n\r\n");
    m.append("--").append(boundary).append("\r\n").append(text_headers).append("\r\n");
    AppendQuotedPrintable(signed_text, &m);
    m.append("--").append(boundary).append("\r\n");
    m.append("Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    AppendQuotedPrintable(html, &m);
    m.append("--").append(boundary).append("--\r\n");
  }
  return n;
}

// ---- Reading a notice back ----

namespace {

struct Header {
  std::string name;   // as written
  std::string value;  // unfolded
};

struct Part {
  std::vector<Header> headers;
  std::string_view body;
};

const Header* Find(const std::vector<Header>& hs, std::string_view name) {
  for (const Header& h : hs) {
    if (AsciiIEquals(h.name, name)) return &h;
  }
  return nullptr;
}

// Splits `bytes` into headers and body when it starts with a header section; false if it does not.
bool ParseHeaders(std::string_view bytes, Part* part) {
  size_t pos = 0;
  // An mbox separator line ("From sender date") as some servers store messages.
  if (bytes.starts_with("From ")) {
    const size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) return false;
    pos = nl + 1;
  }
  std::vector<Header> hs;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    std::string_view line = bytes.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t next = nl == std::string_view::npos ? bytes.size() : nl + 1;
    // The empty line ends the headers; one that a relay padded with whitespace too.
    if (Trim(line).empty()) {
      part->headers = std::move(hs);
      part->body = bytes.substr(next);
      return true;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (hs.empty()) return false;
      hs.back().value.append(line);  // unfolding: CRLF removed, the whitespace kept
    } else {
      const size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos) return false;
      for (char c : line.substr(0, colon)) {
        if (static_cast<unsigned char>(c) <= 32 || static_cast<unsigned char>(c) >= 127) return false;
      }
      hs.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    }
    pos = next;
  }
  part->headers = std::move(hs);
  part->body = {};
  return true;
}

// The value of parameter `name` in a Content-Type value.
std::string Param(std::string_view value, std::string_view name) {
  const std::string lower = AsciiLowered(value);
  const std::string key = AsciiLowered(name) + "=";
  for (size_t at = lower.find(key); at != std::string::npos; at = lower.find(key, at + 1)) {
    if (at > 0 && lower[at - 1] != ';' && lower[at - 1] != ' ' && lower[at - 1] != '\t') continue;
    std::string_view v = value.substr(at + key.size());
    if (!v.empty() && v.front() == '"') {
      const size_t end = v.find('"', 1);
      return std::string(v.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
    }
    const size_t end = v.find_first_of("; \t");
    return std::string(Trim(v.substr(0, end)));
  }
  return "";
}

std::string DecodeBody(const Part& p) {
  const Header* cte = Find(p.headers, "Content-Transfer-Encoding");
  const std::string enc = cte ? AsciiLowered(Trim(cte->value)) : "";
  if (enc == "quoted-printable") return QuotedPrintableDecode(p.body);
  if (enc == "base64") {
    std::string out;
    if (Base64Decode(Trim(p.body), &out)) return out;
  }
  return std::string(p.body);
}

// Finds the first text/plain part and every text/html part (recursing into multiparts).
void FindParts(const Part& p, const Part** text, std::vector<const Part*>* htmls, std::vector<Part>* storage, int depth) {
  const Header* ct = Find(p.headers, "Content-Type");
  const std::string type = ct ? AsciiLowered(Trim(ct->value.substr(0, ct->value.find(';')))) : "text/plain";
  if (type.starts_with("multipart/") && depth < 8) {
    const std::string boundary = Param(ct->value, "boundary");
    if (boundary.empty()) return;
    const std::string delim = "--" + boundary;
    std::string_view body = p.body;
    std::vector<std::string_view> chunks;
    size_t pos = 0;
    size_t start = std::string_view::npos;
    while (pos <= body.size()) {
      const size_t nl = body.find('\n', pos);
      std::string_view line = body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      std::string_view tline = line;
      while (!tline.empty() && (tline.back() == '\r' || tline.back() == ' ' || tline.back() == '\t')) tline.remove_suffix(1);
      if (tline == delim || tline == delim + "--") {
        if (start != std::string_view::npos) chunks.push_back(body.substr(start, pos - start));
        start = nl == std::string_view::npos ? body.size() : nl + 1;
        if (tline == delim + "--") {
          start = std::string_view::npos;
          break;
        }
      }
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    // A message cut short (no closing delimiter): the last part is still read.
    if (start != std::string_view::npos && start < body.size()) chunks.push_back(body.substr(start));
    storage->reserve(storage->size() + chunks.size() + 16);
    for (std::string_view chunk : chunks) {
      Part sub;
      if (!ParseHeaders(chunk, &sub)) continue;
      storage->push_back(std::move(sub));
      FindParts(storage->back(), text, htmls, storage, depth + 1);
    }
    return;
  }
  if (type == "text/plain" && *text == nullptr) *text = &p;
  if (type == "text/html") htmls->push_back(&p);
}

// RFC 2047 decoding of an unstructured header value (B and Q, UTF-8 or ASCII; whitespace between adjacent
// encoded words dropped).
std::string DecodeHeaderText(std::string_view v) {
  std::string out;
  size_t pos = 0;
  bool last_was_word = false;
  while (pos < v.size()) {
    const size_t start = v.find("=?", pos);
    std::string_view plain = v.substr(pos, start == std::string_view::npos ? std::string_view::npos : start - pos);
    if (start == std::string_view::npos) {
      out.append(plain);
      break;
    }
    const size_t q1 = v.find('?', start + 2);
    const size_t q2 = q1 == std::string_view::npos ? q1 : v.find('?', q1 + 1);
    const size_t end = q2 == std::string_view::npos ? q2 : v.find("?=", q2 + 1);
    if (end == std::string_view::npos) {
      out.append(v.substr(pos));
      break;
    }
    if (!(last_was_word && Trim(plain).empty())) out.append(plain);
    const char enc = AsciiLower(v[q1 + 1]);
    std::string_view payload = v.substr(q2 + 1, end - q2 - 1);
    std::string decoded;
    if (enc == 'b') {
      if (!Base64Decode(payload, &decoded)) decoded = std::string(v.substr(start, end + 2 - start));
    } else {
      std::string q(payload);
      std::replace(q.begin(), q.end(), '_', ' ');
      decoded = QuotedPrintableDecode(q);
      if (!decoded.empty() && decoded.back() == '\n') decoded.pop_back();
    }
    out.append(decoded);
    last_was_word = true;
    pos = end + 2;
  }
  return std::string(Trim(out));
}

std::string AddrSpec(std::string_view to) {
  const size_t lt = to.rfind('<');
  if (lt != std::string_view::npos) {
    const size_t gt = to.find('>', lt);
    return std::string(Trim(to.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1)));
  }
  return std::string(Trim(to));
}

Status Fail(NoticeVerdict* verdict, NoticeVerdict v, std::string msg) {
  if (verdict) *verdict = v;
  return Status::InvalidArgument(std::move(msg));
}

}  // namespace

StatusOr<SignedContent> ExtractSignedContent(std::string_view bytes, NoticeVerdict* verdict) {
  // A whole message, or just the text?
  Part message;
  std::vector<Part> storage;
  const Part* text_part = nullptr;
  std::vector<const Part*> html_parts;
  std::string text;
  const bool is_message = ParseHeaders(bytes, &message) &&
                          (Find(message.headers, "From") || Find(message.headers, "To") ||
                           Find(message.headers, "Subject") || Find(message.headers, "Content-Type"));
  if (is_message) {
    FindParts(message, &text_part, &html_parts, &storage, 0);
    if (text_part == nullptr) {
      return Fail(verdict, NoticeVerdict::kNoSignatureBlock, "the message has no text/plain part, so no signature block");
    }
    text = DecodeBody(*text_part);
  } else {
    text = std::string(bytes);
  }

  // The block: BEGIN and END at line starts, exactly once.
  auto line_start_find = [&](std::string_view needle, size_t from) {
    for (size_t at = text.find(needle, from); at != std::string::npos; at = text.find(needle, at + 1)) {
      if (at == 0 || text[at - 1] == '\n') return at;
    }
    return std::string::npos;
  };
  const size_t begin = line_start_find(kBegin, 0);
  if (begin == std::string::npos) {
    return Fail(verdict, NoticeVerdict::kNoSignatureBlock,
                "no \"" + std::string(kBegin) + "\" line: this is not a signed vendorguard notice");
  }
  if (line_start_find(kBegin, begin + 1) != std::string::npos) {
    return Fail(verdict, NoticeVerdict::kMalformedBlock, "more than one signature block");
  }
  const size_t end = line_start_find(kEnd, begin);
  if (end == std::string::npos) {
    return Fail(verdict, NoticeVerdict::kMalformedBlock, "the signature block has no \"" + std::string(kEnd) + "\" line");
  }
  const size_t after_end = text.find('\n', end);
  if (after_end != std::string::npos && !Trim(std::string_view(text).substr(after_end)).empty()) {
    return Fail(verdict, NoticeVerdict::kUnsignedContent,
                "text follows the signature block, and the signature does not cover it: something was added to the notice");
  }

  // Fields, with continuation lines (a leading space) appended.
  SignedContent sc;
  std::string sig_b64;
  std::string_view block = std::string_view(text).substr(begin + kBegin.size(), end - begin - kBegin.size());
  std::string* last = nullptr;
  size_t pos = 0;
  while (pos < block.size()) {
    size_t nl = block.find('\n', pos);
    std::string_view line = block.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? block.size() : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {
      if (last == nullptr) return Fail(verdict, NoticeVerdict::kMalformedBlock, "the signature block starts with a continuation line");
      last->append(Trim(line));
      continue;
    }
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) {
      return Fail(verdict, NoticeVerdict::kMalformedBlock, "unreadable line in the signature block: \"" + std::string(line) + "\"");
    }
    const std::string_view name = line.substr(0, colon);
    const std::string value(line.substr(colon + 2));
    std::string* field = name == "Notice"      ? &sc.notice_id
                         : name == "Issuer"    ? &sc.issuer
                         : name == "To"        ? &sc.recipient
                         : name == "Subject"   ? &sc.subject
                         : name == "Key"       ? &sc.key_id
                         : name == "Signature" ? &sig_b64
                                               : nullptr;
    if (field == nullptr) {
      return Fail(verdict, NoticeVerdict::kMalformedBlock, "unknown field \"" + std::string(name) + "\" in the signature block");
    }
    if (!field->empty()) {
      return Fail(verdict, NoticeVerdict::kMalformedBlock, "field \"" + std::string(name) + "\" appears twice in the signature block");
    }
    *field = value;
    last = field;
  }
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"Notice", &sc.notice_id}, {"Issuer", &sc.issuer},
                             {"To", &sc.recipient}, {"Subject", &sc.subject}, {"Key", &sc.key_id},
                             {"Signature", &sig_b64}}) {
    if (value->empty()) {
      return Fail(verdict, NoticeVerdict::kMalformedBlock, std::string("the signature block has no ") + name + " field");
    }
  }
  if (!IsNoticeId(sc.notice_id)) {
    return Fail(verdict, NoticeVerdict::kMalformedBlock, "\"" + sc.notice_id + "\" is not a notice id (N-XXXXXXXXXX)");
  }
  if (!Base64Decode(sig_b64, &sc.signature) || sc.signature.size() != 64) {
    return Fail(verdict, NoticeVerdict::kMalformedBlock, "the signature is not 64 bytes of base64");
  }

  // In a whole message, the headers must say what was signed.
  if (is_message) {
    const Header* to = Find(message.headers, "To");
    if (to == nullptr || !AsciiIEquals(AddrSpec(to->value), sc.recipient)) {
      return Fail(verdict, NoticeVerdict::kHeaderMismatch,
                  "the message is addressed to " + (to ? AddrSpec(to->value) : std::string("nobody")) +
                      " but the notice was signed for " + sc.recipient);
    }
    const Header* subject = Find(message.headers, "Subject");
    if (subject == nullptr || DecodeHeaderText(subject->value) != sc.subject) {
      return Fail(verdict, NoticeVerdict::kHeaderMismatch,
                  "the Subject: header (\"" + (subject ? DecodeHeaderText(subject->value) : std::string()) +
                      "\") is not the signed subject (\"" + sc.subject + "\")");
    }
    for (const Part* h : html_parts) {
      if (Status s = CheckLinksAndMarkup(DecodeBody(*h), sc.issuer, true); !s.ok()) {
        return Fail(verdict, NoticeVerdict::kUnsignedContent,
                    "the HTML part, which the signature does not cover, " + s.message());
      }
    }
  }
  sc.canonical = Canonical(sc.notice_id, sc.issuer, sc.key_id, sc.recipient, sc.subject,
                           CanonicalBody(std::string_view(text).substr(0, begin)));
  return sc;
}

NoticeVerification VerifyNotice(std::string_view bytes, const NoticePublicKey& key, std::string_view expected_issuer) {
  NoticeVerification v;
  NoticeVerdict verdict = NoticeVerdict::kMalformedBlock;
  auto sc = ExtractSignedContent(bytes, &verdict);
  if (!sc.ok()) {
    v.verdict = verdict;
    v.reason = sc.status().message();
    return v;
  }
  v.notice_id = sc->notice_id;
  v.issuer = sc->issuer;
  v.recipient = sc->recipient;
  v.subject = sc->subject;
  v.key_id = sc->key_id;
  if (!expected_issuer.empty() && !AsciiIEquals(sc->issuer, expected_issuer)) {
    v.verdict = NoticeVerdict::kWrongIssuer;
    v.reason = "the notice claims to come from " + sc->issuer + ", not " + std::string(expected_issuer) +
               ": it was not issued by us";
    return v;
  }
  if (sc->key_id != key.key_id) {
    v.verdict = NoticeVerdict::kUnknownKey;
    v.reason = "signed with key " + sc->key_id + ", which is not our notice key " + key.key_id;
    return v;
  }
  NoticeSignature sig;
  std::memcpy(sig.data(), sc->signature.data(), sig.size());
  if (!key.Verify(sc->canonical, sig)) {
    v.verdict = NoticeVerdict::kSignatureMismatch;
    v.reason = "the signature does not match the content: the text, recipient, subject or notice id was changed "
               "after the notice was signed";
    return v;
  }
  v.verdict = NoticeVerdict::kGenuine;
  v.reason = "genuine: notice " + sc->notice_id + " from " + sc->issuer + " to " + sc->recipient + ", signed with key " +
             sc->key_id;
  return v;
}

std::string_view ToString(NoticeVerdict v) {
  switch (v) {
    case NoticeVerdict::kGenuine: return "genuine";
    case NoticeVerdict::kNoSignatureBlock: return "no_signature_block";
    case NoticeVerdict::kMalformedBlock: return "malformed_block";
    case NoticeVerdict::kWrongIssuer: return "wrong_issuer";
    case NoticeVerdict::kUnknownKey: return "unknown_key";
    case NoticeVerdict::kSignatureMismatch: return "signature_mismatch";
    case NoticeVerdict::kHeaderMismatch: return "header_mismatch";
    case NoticeVerdict::kUnsignedContent: return "unsigned_content";
  }
  return "unknown";
}

}  // namespace vg::notify
