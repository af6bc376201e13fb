// Decoding of Mixpanel ingestion requests; see mixpanel_request.h for the contract.
//
// How `data` is decoded, and why '+' needs a rule of its own:
//   The two official SDKs put the payload in a form field `data` in incompatible ways.
//     - mixpanel-browser: `'data=' + encodeURIComponent(payload)`: '+' arrives as %2B, spaces as %20.
//     - mixpanel (Node), POST: `'data=' + base64` with no escaping at all: a '+' of the base64 arrives as '+'.
//     - mixpanel (Node), GET: querystring.stringify, so '+' arrives as %2B.
//   Form encoding says '+' means a space, and that is right for any client that form-encodes JSON (spaces in
//   JSON strings become '+'). Base64 never contains a space, so a '+' can only mean '+' there. Hence:
//     1. Percent-decode the value with '+' as space. If the result looks like JSON (first non-whitespace byte
//        is '{' or '['), that is the payload.
//     2. Otherwise the value is base64: decode it again with '+' kept as '+' (only when it holds a '+'; the
//        escapes are the same, so this cannot fail), then base64-decode it.
//   Both SDKs and form-encoding clients decode correctly, and no payload is ever guessed at twice.
#include "ingest/mixpanel_request.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <tmmintrin.h>
#define VG_BASE64_SSSE3 1
#endif

#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <limits>

namespace vg {
namespace {

constexpr size_t kNone = std::string_view::npos;
constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> MakeHexTable() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<uint8_t>(c - 'A' + 10);
  return t;
}
constexpr std::array<uint8_t, 256> kHexValue = MakeHexTable();

// Both alphabets at once: '+' and '-' are 62, '/' and '_' are 63. '=' is not in the table: padding is
// stripped from the end before decoding, so an '=' anywhere else is an invalid character.
constexpr std::array<uint8_t, 256> MakeBase64Table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<uint8_t>(c - 'A');
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 26);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0' + 52);
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  return t;
}
constexpr std::array<uint8_t, 256> kBase64Value = MakeBase64Table();

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The JSON the SDKs send is always an object or an array.
bool LooksLikeJson(std::string_view s) {
  for (char c : s) {
    if (IsJsonSpace(c)) continue;
    return c == '{' || c == '[';
  }
  return false;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

std::string_view TrimHttpSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Outside bytes quoted in an error message: printable ASCII as is, anything else as \xNN, at most `max` bytes.
std::string Quote(std::string_view s, size_t max = 32) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  if (s.size() > max) out += "...";
  out += '\'';
  return out;
}

// Appends the percent-decoding of `in` to `out`. Returns the offset in `in` of the first malformed escape
// ('%' not followed by two hex digits), or kNone. On error `out` holds a partial result.
size_t AppendPercentDecoded(std::string_view in, bool plus_as_space, std::string* out) {
  out->reserve(out->size() + in.size());
  size_t run = 0;  // start of the bytes not yet copied
  const char* p = in.data();
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
#ifdef __SSE2__
    // Skip 16 bytes at a time to the next '%' (or '+'): a base64 form body has one every few dozen bytes.
    const __m128i percent = _mm_set1_epi8('%');
    const __m128i plus = _mm_set1_epi8(plus_as_space ? '+' : '%');
    while (i + 16 <= n) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, percent), _mm_cmpeq_epi8(v, plus)));
      if (mask != 0) {
        i += static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
        break;
      }
      i += 16;
    }
    if (i >= n) break;
#endif
    const char c = p[i];
    if (c == '%') {
      if (i + 2 >= n) return i;
      uint8_t hi = kHexValue[static_cast<unsigned char>(p[i + 1])];
      uint8_t lo = kHexValue[static_cast<unsigned char>(p[i + 2])];
      if ((hi | lo) & 0xF0) return i;  // valid digits are 0..15
      out->append(p + run, i - run);
      out->push_back(static_cast<char>((hi << 4) | lo));
      i += 3;
      run = i;
    } else if (c == '+' && plus_as_space) {
      out->append(p + run, i - run);
      out->push_back(' ');
      ++i;
      run = i;
    } else {
      ++i;
    }
  }
  out->append(p + run, n - run);
  return kNone;
}

// The offset of the first malformed escape in `in`, or kNone; checks without decoding.
size_t FindBadEscape(std::string_view in) {
  for (size_t i = in.find('%'); i != kNone; i = in.find('%', i + 1)) {
    if (i + 2 >= in.size() || kHexValue[static_cast<unsigned char>(in[i + 1])] == kInvalid ||
        kHexValue[static_cast<unsigned char>(in[i + 2])] == kInvalid) {
      return i;
    }
    i += 2;
  }
  return kNone;
}

// `where` is empty or names the part of the request, e.g. "of the query string".
Status BadPercentEncoding(std::string_view in, size_t at, std::string_view where) {
  std::string msg = "invalid percent-encoding at byte " + std::to_string(at);
  if (!where.empty()) {
    msg += ' ';
    msg += where;
  }
  msg += ": '%' must be followed by two hex digits, found " + Quote(in.substr(at, 3));
  return Status::InvalidArgument(std::move(msg));
}

#ifdef VG_BASE64_SSSE3
// __builtin_cpu_init first: this initializer may run before the compiler runtime's own constructor.
const bool kHaveSsse3 = (__builtin_cpu_init(), __builtin_cpu_supports("ssse3"));

// Decodes the 16 base64 characters at `in` (either alphabet) into 12 bytes at `out`, writing 16 bytes there
// (the last 4 zero); returns false, writing nothing, when one of them is not a base64 character. The
// technique is Wojciech Muła's (https://arxiv.org/abs/1704.00605): the characters' nibbles index two
// 16-byte tables whose AND is zero exactly for valid characters; a third table gives each class's offset to
// its 6-bit value; two multiply-adds pack four 6-bit values into three bytes.
__attribute__((target("ssse3"))) bool Base64DecodeBlock16(const unsigned char* in, unsigned char* out) {
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
  // The URL-safe alphabet's '-' and '_' become '+' and '/'; nothing else maps onto those two.
  const __m128i minus = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
  const __m128i underscore = _mm_cmpeq_epi8(v, _mm_set1_epi8('_'));
  v = _mm_add_epi8(v, _mm_and_si128(minus, _mm_set1_epi8('+' - '-')));
  v = _mm_add_epi8(v, _mm_and_si128(underscore, _mm_set1_epi8('/' - '_')));
  // Bit per high-nibble class (0x2_, 0x3_, 0x4_/0x6_, 0x5_/0x7_, anything else); a low nibble's entry holds
  // the classes in which that low nibble is NOT a base64 character.
  const __m128i lut_lo = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B,
                                       0x1B, 0x1B, 0x1A);
  const __m128i lut_hi = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10,
                                       0x10, 0x10, 0x10);
  // Offsets to add: '/' (index 1, see below) +16, '+' (0x2_) +19, digits +4, 'A'-'Z' -65, 'a'-'z' -71.
  const __m128i lut_roll = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i nibble = _mm_set1_epi8(0x0F);
  const __m128i hi = _mm_and_si128(_mm_srli_epi32(v, 4), nibble);
  const __m128i lo = _mm_and_si128(v, nibble);
  const __m128i bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo), _mm_shuffle_epi8(lut_hi, hi));
  if (_mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())) != 0xFFFF) return false;
  // '/' shares the high nibble 2 with '+': step it to index 1 (the compare gives -1).
  const __m128i slash = _mm_cmpeq_epi8(v, _mm_set1_epi8('/'));
  const __m128i sextets = _mm_add_epi8(v, _mm_shuffle_epi8(lut_roll, _mm_add_epi8(slash, hi)));
  // Per 4 sextets a b c d: (a << 6 | b) and (c << 6 | d) in 16-bit lanes, then (ab << 12 | cd) in 32 bits.
  const __m128i pairs = _mm_maddubs_epi16(sextets, _mm_set1_epi32(0x01400140));
  const __m128i words = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
  // Each 32-bit lane holds the 3 bytes little-endian: take them high byte first.
  const __m128i order = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(words, order));
  return true;
}
#endif

// Decodes base64 from `in[0, n)` into `out`, which needs room for n / 4 * 3 + 2 bytes and may be `in` itself
// (every 4 input bytes are read before their 3 output bytes are written, and output never overtakes input).
// On success sets *out_len. On error returns a message without the "invalid base64" prefix.
Status Base64DecodeRaw(const char* in, size_t n, char* out, size_t* out_len) {
  // An invalid character is the more useful thing to report, so it is looked for before a length error.
  auto bad_char = [&](size_t from, size_t to) -> std::optional<Status> {
    for (size_t at = from; at < to; ++at) {
      if (kBase64Value[static_cast<unsigned char>(in[at])] == kInvalid) {
        return Status::InvalidArgument("character " + Quote(std::string_view(in + at, 1)) + " at byte " +
                                       std::to_string(at));
      }
    }
    return std::nullopt;
  };
  const size_t total = n;
  size_t pad = 0;
  while (n > 0 && pad < 2 && in[n - 1] == '=') {
    --n;
    ++pad;
  }
  if (pad > 0 && total % 4 != 0) {
    if (auto s = bad_char(0, n)) return *s;
    return Status::InvalidArgument("padding '=' does not complete a group of 4 characters (length " +
                                   std::to_string(total) + ")");
  }
  if (n % 4 == 1) {
    if (auto s = bad_char(0, n)) return *s;
    return Status::InvalidArgument("length " + std::to_string(total) +
                                   " leaves a final group of one character, which cannot encode a byte");
  }
  const auto* src = reinterpret_cast<const unsigned char*>(in);
  auto* dst = reinterpret_cast<unsigned char*>(out);
  size_t i = 0, j = 0;
#ifdef VG_BASE64_SSSE3
  if (kHaveSsse3) {
    // 16 characters at a time while 16 more follow (the block's 16-byte store then stays inside what the
    // caller's n / 4 * 3 + 2 bytes allow, and in place it only overwrites characters already read). A block
    // with anything else than the two alphabets is left to the loop below, which finds and reports it.
    while (i + 32 <= n && Base64DecodeBlock16(src + i, dst + j)) {
      i += 16;
      j += 12;
    }
  }
#endif
  for (; i + 4 <= n; i += 4) {
    uint32_t a = kBase64Value[src[i]], b = kBase64Value[src[i + 1]];
    uint32_t c = kBase64Value[src[i + 2]], d = kBase64Value[src[i + 3]];
    if ((a | b | c | d) & 0x80) return *bad_char(i, i + 4);
    uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    dst[j] = static_cast<unsigned char>(v >> 16);
    dst[j + 1] = static_cast<unsigned char>(v >> 8);
    dst[j + 2] = static_cast<unsigned char>(v);
    j += 3;
  }
  size_t rem = n - i;  // 0, 2 or 3; the unused low bits of the last character are ignored, as most decoders do
  if (rem >= 2) {
    uint32_t a = kBase64Value[src[i]], b = kBase64Value[src[i + 1]];
    uint32_t c = rem == 3 ? kBase64Value[src[i + 2]] : 0;
    if ((a | b | c) & 0x80) return *bad_char(i, n);
    uint32_t v = (a << 18) | (b << 12) | (c << 6);
    dst[j++] = static_cast<unsigned char>(v >> 16);
    if (rem == 3) dst[j++] = static_cast<unsigned char>(v >> 8);
  }
  *out_len = j;
  return Status::Ok();
}

// Calls fn(raw_name, raw_value, name_offset, value_offset) for each `name=value` piece of `in` (split on '&';
// empty pieces skipped; a piece without '=' has an empty value). Stops at the first error fn returns.
template <typename Fn>
Status ForEachFormField(std::string_view in, Fn&& fn) {
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t end = in.find('&', pos);
    if (end == kNone) end = in.size();
    std::string_view piece = in.substr(pos, end - pos);
    if (!piece.empty()) {
      size_t eq = piece.find('=');
      std::string_view name = piece.substr(0, eq);
      std::string_view value = eq == kNone ? std::string_view() : piece.substr(eq + 1);
      size_t value_offset = eq == kNone ? end : pos + eq + 1;
      Status s = fn(name, value, pos, value_offset);
      if (!s.ok()) return s;
    }
    pos = end + 1;
  }
  return Status::Ok();
}

// The fields of one part of a request (query string or form body) that the decoder acts on. Within a part the
// first occurrence of a name wins. `data` stays raw (see the rule at the top of this file).
struct RequestFields {
  std::optional<std::string_view> data;
  std::optional<std::string> ip, verbose, img, callback;
};

enum class FieldName { kData, kIp, kVerbose, kImg, kCallback, kOther };

FieldName ClassifyName(std::string_view name) {
  if (name == "data") return FieldName::kData;
  if (name == "ip") return FieldName::kIp;
  if (name == "verbose") return FieldName::kVerbose;
  if (name == "img") return FieldName::kImg;
  if (name == "callback") return FieldName::kCallback;
  return FieldName::kOther;
}

// Scans a form-encoded part of the request. Every escape is checked, so a broken one anywhere is an error.
// When `all` is given, every field is also decoded into it (the query string keeps them all).
Status ScanFields(std::string_view in, std::string_view where, RequestFields* fields,
                  std::vector<std::pair<std::string, std::string>>* all) {
  std::string name_buf;
  return ForEachFormField(in, [&](std::string_view raw_name, std::string_view raw_value, size_t name_offset,
                                  size_t value_offset) -> Status {
    std::string_view name = raw_name;
    std::string* decoded_value = nullptr;
    if (all != nullptr) {
      auto& [n, v] = all->emplace_back();
      if (size_t bad = AppendPercentDecoded(raw_name, true, &n); bad != kNone) {
        return BadPercentEncoding(in, name_offset + bad, where);
      }
      if (size_t bad = AppendPercentDecoded(raw_value, true, &v); bad != kNone) {
        return BadPercentEncoding(in, value_offset + bad, where);
      }
      name = n;
      decoded_value = &v;
    } else {
      if (raw_name.find_first_of("%+") != kNone) {
        name_buf.clear();
        if (size_t bad = AppendPercentDecoded(raw_name, true, &name_buf); bad != kNone) {
          return BadPercentEncoding(in, name_offset + bad, where);
        }
        name = name_buf;
      }
      if (size_t bad = FindBadEscape(raw_value); bad != kNone) {
        return BadPercentEncoding(in, value_offset + bad, where);
      }
    }
    std::optional<std::string>* flag = nullptr;
    switch (ClassifyName(name)) {
      case FieldName::kData:
        if (!fields->data) fields->data = raw_value;
        return Status::Ok();
      case FieldName::kIp: flag = &fields->ip; break;
      case FieldName::kVerbose: flag = &fields->verbose; break;
      case FieldName::kImg: flag = &fields->img; break;
      case FieldName::kCallback: flag = &fields->callback; break;
      case FieldName::kOther: return Status::Ok();
    }
    if (!flag->has_value()) {
      if (decoded_value != nullptr) {
        *flag = *decoded_value;
      } else {
        std::string v;
        (void)AppendPercentDecoded(raw_value, true, &v);  // escapes were checked above
        *flag = std::move(v);
      }
    }
    return Status::Ok();
  });
}

// Decodes a raw `data` value into `out` (see the rule at the top of this file). Requires that ScanFields has
// checked the value's escapes.
Status DecodeDataValue(std::string_view raw, std::string* out) {
  out->clear();
  if (raw.find('%') == kNone) {
    // No escapes (the Node SDK's raw base64): decoding with '+' kept is the identity, so the base64 is
    // decoded straight from `raw` — the same bytes and offsets as the general path below, one copy fewer.
    bool json = false;
    for (char c : raw) {
      if (IsJsonSpace(c) || c == '+') continue;  // '+' would be a space in step 1
      json = c == '{' || c == '[';
      break;
    }
    if (!json) {
      out->resize(raw.size() / 4 * 3 + 2);
      size_t n = 0;
      if (Status s = Base64DecodeRaw(raw.data(), raw.size(), out->data(), &n); !s.ok()) {
        out->clear();
        return Status::InvalidArgument("data is neither JSON nor valid base64 (" + s.message() +
                                       " of the decoded value)");
      }
      out->resize(n);
      return Status::Ok();
    }
  }
  [[maybe_unused]] size_t bad = AppendPercentDecoded(raw, true, out);
  assert(bad == kNone);
  if (LooksLikeJson(*out)) return Status::Ok();
  if (raw.find('+') != kNone) {
    out->clear();
    (void)AppendPercentDecoded(raw, false, out);  // same escapes as above: cannot fail
  }
  size_t n = 0;
  Status s = Base64DecodeRaw(out->data(), out->size(), out->data(), &n);
  if (!s.ok()) {
    return Status::InvalidArgument("data is neither JSON nor valid base64 (" + s.message() +
                                   " of the decoded value)");
  }
  out->resize(n);
  return Status::Ok();
}

std::optional<bool> ParseFlag(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  if (*v == "1" || *v == "true") return true;
  if (*v == "0" || *v == "false") return false;
  return std::nullopt;
}

// JSONP callbacks are echoed into a script: only a dotted identifier path, or the browser SDK's no-op.
bool IsSafeCallback(std::string_view cb) {
  if (cb == "(function(){})") return true;
  if (cb.empty() || cb.size() > 128) return false;
  auto ident_start = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$';
  };
  if (!ident_start(cb[0])) return false;
  for (char c : cb.substr(1)) {
    if (!ident_start(c) && !(c >= '0' && c <= '9') && c != '.') return false;
  }
  return true;
}

bool RequiresData(MixpanelEndpoint e) {
  return e == MixpanelEndpoint::kTrack || e == MixpanelEndpoint::kEngage || e == MixpanelEndpoint::kGroups ||
         e == MixpanelEndpoint::kImport;
}

// A proxy may send the absolute form ("http://host/track?x"); the path starts at the first '/' after the host.
std::string_view StripAbsoluteForm(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (StartsWithIgnoreCase(target, scheme)) {
      size_t slash = target.find_first_of("/?", scheme.size());
      return slash == kNone ? std::string_view() : target.substr(slash);
    }
  }
  return target;
}

}  // namespace

MixpanelEndpoint EndpointFromPath(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/track") return MixpanelEndpoint::kTrack;
  if (path == "/engage") return MixpanelEndpoint::kEngage;
  if (path == "/groups") return MixpanelEndpoint::kGroups;
  if (path == "/import") return MixpanelEndpoint::kImport;
  if (path == "/flags") return MixpanelEndpoint::kFlags;
  if (path == "/decide") return MixpanelEndpoint::kDecide;
  if (path == "/settings") return MixpanelEndpoint::kSettings;
  if (path == "/record") return MixpanelEndpoint::kRecord;
  return MixpanelEndpoint::kUnknown;
}

std::string_view EndpointName(MixpanelEndpoint e) {
  switch (e) {
    case MixpanelEndpoint::kTrack: return "track";
    case MixpanelEndpoint::kEngage: return "engage";
    case MixpanelEndpoint::kGroups: return "groups";
    case MixpanelEndpoint::kImport: return "import";
    case MixpanelEndpoint::kFlags: return "flags";
    case MixpanelEndpoint::kDecide: return "decide";
    case MixpanelEndpoint::kSettings: return "settings";
    case MixpanelEndpoint::kRecord: return "record";
    case MixpanelEndpoint::kUnknown: break;
  }
  return "unknown";
}

StatusOr<MixpanelPayload> DecodeMixpanelRequest(const IngestRequest& req, const DecodeLimits& limits) {
  MixpanelPayload p;
  std::string_view target = StripAbsoluteForm(req.target);
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == kNone ? std::string_view() : target.substr(q + 1);
  p.endpoint = EndpointFromPath(path);
  p.path.assign(path);
  // The server answers 404 without looking further; an unknown path's query or body is not ours to judge.
  if (p.endpoint == MixpanelEndpoint::kUnknown) return p;

  if (req.body.size() > limits.max_body_bytes) {
    return Status::TooLarge("request body of " + std::to_string(req.body.size()) + " bytes exceeds the limit of " +
                            std::to_string(limits.max_body_bytes) + " bytes");
  }

  RequestFields from_query, from_body;
  if (Status s = ScanFields(query, "of the query string", &from_query, &p.query); !s.ok()) return s;

  // Session recordings are discarded unread (and their gzip body carries no Content-Encoding anyway).
  std::string inflated;  // owns the body once decompressed
  std::string_view body = p.endpoint == MixpanelEndpoint::kRecord ? std::string_view() : req.body;
  bool body_is_json = false;
  if (!body.empty()) {
    if (StartsWithIgnoreCase(TrimHttpSpace(req.content_type), "multipart/")) {
      return Status::InvalidArgument(
          "multipart bodies are not supported: send data as application/x-www-form-urlencoded or as a JSON body");
    }
    std::string_view encoding = TrimHttpSpace(req.content_encoding);
    if (EqualsIgnoreCase(encoding, "gzip") || EqualsIgnoreCase(encoding, "x-gzip")) {
      auto out = Gunzip(body, limits.max_body_bytes);
      if (!out.ok()) return out.status();
      inflated = std::move(*out);
      body = inflated;
    } else if (!encoding.empty() && !EqualsIgnoreCase(encoding, "identity")) {
      return Status::InvalidArgument("unsupported Content-Encoding " + Quote(encoding) +
                                     ": send the body uncompressed or gzip-compressed");
    }
    // Sniffed, not taken from Content-Type: SDKs label form bodies text/plain (sendBeacon) or even
    // application/json, and a form body never starts with '{' or '['.
    if (LooksLikeJson(body)) {
      body_is_json = true;
      if (inflated.empty()) {
        p.json.assign(body);
      } else {
        p.json = std::move(inflated);
      }
    } else if (Status s = ScanFields(body, "of the form body", &from_body, nullptr); !s.ok()) {
      return s;
    }
  }

  // The body wins over the query string, field by field.
  const RequestFields* data_from = from_body.data ? &from_body : from_query.data ? &from_query : nullptr;
  bool data_empty = false;
  if (!body_is_json && data_from != nullptr) {
    if (Status s = DecodeDataValue(*data_from->data, &p.json); !s.ok()) return s;
    data_empty = p.json.empty();
  }
  auto pick = [](const std::optional<std::string>& body_v, const std::optional<std::string>& query_v) {
    return body_v ? body_v : query_v;
  };
  p.verbose = ParseFlag(pick(from_body.verbose, from_query.verbose)).value_or(false);
  p.img = ParseFlag(pick(from_body.img, from_query.img)).value_or(false);
  p.ip = ParseFlag(pick(from_body.ip, from_query.ip));
  const auto& callback = from_body.callback ? from_body.callback : from_query.callback;
  if (callback && IsSafeCallback(*callback)) p.callback = *callback;

  if (p.json.empty() && RequiresData(p.endpoint)) {
    if (data_empty) return Status::InvalidArgument("no data in request: the data parameter is empty");
    return Status::InvalidArgument(
        "no data in request: send a data parameter (query string or form body) or a JSON body");
  }
  return p;
}

StatusOr<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  if (size_t bad = AppendPercentDecoded(in, plus_as_space, &out); bad != kNone) {
    return BadPercentEncoding(in, bad, "");
  }
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseFormEncoded(std::string_view in) {
  std::vector<std::pair<std::string, std::string>> out;
  Status s = ForEachFormField(in, [&](std::string_view name, std::string_view value, size_t name_offset,
                                      size_t value_offset) -> Status {
    auto& [n, v] = out.emplace_back();
    if (size_t bad = AppendPercentDecoded(name, true, &n); bad != kNone) {
      return BadPercentEncoding(in, name_offset + bad, "");
    }
    if (size_t bad = AppendPercentDecoded(value, true, &v); bad != kNone) {
      return BadPercentEncoding(in, value_offset + bad, "");
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::string> Base64Decode(std::string_view in) {
  std::string out(in.size() / 4 * 3 + 2, '\0');
  size_t n = 0;
  Status s = Base64DecodeRaw(in.data(), in.size(), out.data(), &n);
  if (!s.ok()) return s.WithPrefix("invalid base64");
  out.resize(n);
  return out;
}

StatusOr<std::string> Gunzip(std::string_view in, size_t max_out) {
  z_stream zs{};
  // 15 + 32: the largest window, and detect a gzip or zlib header automatically.
  int rc = inflateInit2(&zs, 15 + 32);
  if (rc != Z_OK) return Status::Internal("cannot start zlib inflate (error " + std::to_string(rc) + ")");
  struct InflateEnd {
    z_stream* zs;
    ~InflateEnd() { inflateEnd(zs); }
  } end_guard{&zs};

  auto too_large = [&] {
    return Status::TooLarge("gzip body expands beyond the limit of " + std::to_string(max_out) + " bytes");
  };
  auto corrupt = [&](const char* what) {
    return Status::InvalidArgument(std::string("corrupt gzip body: ") + (zs.msg != nullptr ? zs.msg : what));
  };
  // Room for one byte more than the limit, so that producing it proves the body is too large.
  const size_t cap = max_out == std::numeric_limits<size_t>::max() ? max_out : max_out + 1;
  std::string out;
  out.resize(std::min(cap, std::max<size_t>(4096, in.size() * 4)));
  size_t produced = 0;
  const auto* next_in = reinterpret_cast<const Bytef*>(in.data());
  size_t left_in = in.size();
  for (;;) {
    if (zs.avail_in == 0 && left_in > 0) {
      auto chunk = static_cast<uInt>(std::min<size_t>(left_in, UINT_MAX));
      zs.next_in = const_cast<Bytef*>(next_in);
      zs.avail_in = chunk;
      next_in += chunk;
      left_in -= chunk;
    }
    if (produced == out.size()) {
      if (out.size() >= cap) return too_large();
      out.resize(std::min(cap, out.size() * 2));
    }
    auto room = static_cast<uInt>(std::min<size_t>(out.size() - produced, UINT_MAX));
    zs.next_out = reinterpret_cast<Bytef*>(out.data()) + produced;
    zs.avail_out = room;
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (produced > max_out) return too_large();
    switch (rc) {
      case Z_STREAM_END:
        if (zs.avail_in == 0 && left_in == 0) {
          out.resize(produced);
          return out;
        }
        // Another gzip member follows (RFC 1952 allows several); anything else fails its header check.
        if (inflateReset(&zs) != Z_OK) return Status::Internal("cannot reset zlib inflate");
        break;
      case Z_OK:
        break;
      case Z_BUF_ERROR:
        // No progress: fine if the output was full (it grows above), the end of input if not.
        if (zs.avail_out == 0) break;
        if (zs.avail_in == 0 && left_in == 0) {
          return Status::InvalidArgument("corrupt gzip body: truncated (the input ends before the gzip trailer)");
        }
        break;
      case Z_NEED_DICT:
        return Status::InvalidArgument("corrupt gzip body: the stream needs a preset dictionary");
      case Z_MEM_ERROR:
        return Status::Internal("out of memory while decompressing the gzip body");
      default:  // Z_DATA_ERROR, Z_STREAM_ERROR
        return corrupt("invalid deflate data");
    }
  }
}

std::string Gzip(std::string_view in, GzipLevel level) {
  // ISA-L's one-shot deflate: at level 1 about 3x faster than libdeflate's level 1 on an outgoing batch
  // of 2,000 events (1.2 GB/s against 390 MB/s, output 2.5 % larger), which took 15 % of the gateway's CPU
  // in bench/http_bench.sh. One level buffer per thread and level, reused.
  const int lvl = level == GzipLevel::kFast ? 1 : ISAL_DEF_MAX_LEVEL;
  thread_local std::vector<uint8_t> level_bufs[2];
  std::vector<uint8_t>& level_buf = level_bufs[level == GzipLevel::kFast ? 0 : 1];
  if (level_buf.empty()) {
    level_buf.resize(level == GzipLevel::kFast ? ISAL_DEF_LVL1_DEFAULT : ISAL_DEF_LVL3_DEFAULT);
  }
  // Incompressible input is sent as stored blocks of at most 64 KiB, 5 bytes of header each, plus the
  // gzip header and trailer and at most one block header of dynamic Huffman tables.
  const size_t bound = in.size() + 5 * (in.size() / 65535 + 1) + ISAL_DEF_MAX_HDR_SIZE + 64;
  std::string out(bound, '\0');
  isal_zstream stream;
  isal_deflate_stateless_init(&stream);
  stream.level = static_cast<uint32_t>(lvl);
  stream.level_buf = level_buf.data();
  stream.level_buf_size = static_cast<uint32_t>(level_buf.size());
  stream.gzip_flag = IGZIP_GZIP;
  stream.end_of_stream = 1;
  stream.flush = NO_FLUSH;
  stream.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uint32_t>(in.size());
  stream.next_out = reinterpret_cast<uint8_t*>(out.data());
  stream.avail_out = static_cast<uint32_t>(out.size());
  // The bound is always enough, and delivery's batches are far below 2 GiB: either failing is a bug.
  if (in.size() > UINT32_MAX / 2 || isal_deflate_stateless(&stream) != COMP_OK) std::abort();
  out.resize(stream.total_out);
  return out;
}

}  // namespace vg
