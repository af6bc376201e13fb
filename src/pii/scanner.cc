#include "pii/scanner.h"

#include <hs.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __SSSE3__
#include <tmmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>

#include "common/ascii.h"
#include "common/short_hash.h"
#include "pii/key_context.h"
#include "pii/person_names.h"
#include "pii/phone_numbers.h"
#include "pii/validators.h"

#include "pii/no_sanitize.h"

namespace vg {

namespace {

// ---------------------------------------------------------------------------------------------------
// The pattern database

enum Pattern : unsigned {
  // Shapes. Those with kSom report start offsets; overlapping matches of one pattern are merged into
  // regions, which the pattern's handler then splits into candidates.
  kEmailAt,       // trigger: a local-part character, '@', a domain character
  kIpv4,
  kIpv6,          // trigger: two colons with at most four hex digits between
  kPhone,
  kCard,
  kSsn,
  kIban,
  kOpenAiKey,
  kAwsKey,
  kGithubToken,
  kSlackToken,
  kSlackWebhook,
  kStripeKey,
  kGoogleKey,
  kGoogleOauth,
  kJwt,
  kPemBegin,
  kPemEnd,
  kOtherToken,
  kSecretAssign,  // "api_key=", "password: ": the value starts at the match end
  kBearer,        // "Bearer ", "Basic "
  // Cue words: only the match end is kept. Every cue match ends in an ASCII letter or '#' (ScanText's
  // cue questions rely on it to answer without a scan where no such byte is near).
  kCuePhone,
  kCueSsn,
  kCueCard,
  kCueVersion,
  kPatternCount,
};

struct PatternDef {
  Pattern id;
  const char* expression;
  unsigned flags;
};

constexpr unsigned kSom = HS_FLAG_SOM_LEFTMOST;
constexpr unsigned kCaseless = HS_FLAG_CASELESS;

// Every repeat is bounded or anchored by a literal, so Hyperscan compiles each into automata without
// backtracking; unbounded tails are merged into one region per run.
constexpr bool IsCue(Pattern p) { return p >= kCuePhone && p <= kCueVersion; }

// Shapes found by hand (FindShapes below), not by Hyperscan: emails, IP addresses and the digit shapes
// (phone numbers, cards, SSNs, IBANs). On analytics data, which is full of digits (ids, timestamps,
// versions), digit-class automata cost Hyperscan more than all the literal-led patterns together; one
// pass over the bytes that jumps from digit run to digit run finds the same candidates several times
// faster. Their handlers below only see regions, whoever found them.
constexpr Pattern kHandFound[] = {kEmailAt, kIpv4, kIpv6, kPhone, kCard, kSsn, kIban};

constexpr PatternDef kPatterns[] = {
    // OpenAI keys: sk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,}, which is sk-[A-Za-z0-9_\-]{20,}
    // (the optional prefixes are made of the class's own bytes). Hyperscan finds "sk-" and the shortest
    // tail, and FinishTokenRegions extends each region over the rest of the run: the same regions as
    // the open repeat, without its cost (a start-of-match tracked across it, a report at every byte).
    {kOpenAiKey, R"(sk-[A-Za-z0-9_\-]{20})", kSom},
    {kAwsKey, R"((?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})", kSom},
    {kGithubToken, R"(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})", kSom},
    // Slack, Stripe and Google OAuth tokens (this line, kStripeKey and kGoogleOauth): their open tails
    // ({n,}) are written {n} and extended by hand over the same class to the run's end
    // (FinishTokenRegions), as for kOpenAiKey.
    {kSlackToken, R"(xox[abposr]-[A-Za-z0-9\-]{10}|xapp-\d-[A-Za-z0-9\-]{10})", kSom},
    {kSlackWebhook, R"(hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32})", kSom},
    {kStripeKey, R"((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16}|pk_live_[A-Za-z0-9]{16}|whsec_[A-Za-z0-9]{24})", kSom},
    {kGoogleKey, R"(AIza[0-9A-Za-z_\-]{35})", kSom},
    {kGoogleOauth, R"(ya29\.[0-9A-Za-z_\-]{20})", kSom},
    // JWTs: eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*. Hyperscan finds where one may
    // start; FinishTokenRegions checks the rest by hand, which from a given start is deterministic (each
    // segment runs to the first byte outside the class). Two open repeats with start-of-match tracking
    // were half the database's cost.
    {kJwt, R"(eyJ[A-Za-z0-9_\-]{8})", kSom},
    {kPemBegin, R"(-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)", kSom},
    {kPemEnd, R"(-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)", 0},
    {kOtherToken,
     R"(glpat-[A-Za-z0-9_\-]{20,}|npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{34,}|SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})"
     R"(|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|dop_v1_[a-f0-9]{64}|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})"
     R"(|dapi[0-9a-f]{32}|sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43}|SK[0-9a-fA-F]{32}|key-[0-9a-zA-Z]{32})",
     kSom},
    {kSecretAssign,
     R"((?:api[_\-]?key|apikey|access[_\-]?key|secret[_\-]?(?:access[_\-]?)?key|client[_\-]?secret|auth[_\-]?token)"
     R"(|access[_\-]?token|refresh[_\-]?token|private[_\-]?key|password|passwd|pwd|secret|token)["']?\s{0,3}[:=]\s{0,3}["']?)",
     kCaseless},
    {kBearer, R"(\b(?:bearer|basic)\s{1,3})", kCaseless},
    {kCuePhone,
     R"(\b(?:call(?:ed|ing)?|phone|tel|telephone|mobile|cell(?:phone)?|sms|text(?:ed)?\s+me|whats\s?app)"
     R"(|reach(?:ed)?\s+(?:me|us)|contact|fax|dial|ring|hotline|telefon|telefone|t(?:é|e)l(?:é|e)phone)"
     R"(|tel(?:é|e)fono|handy|portable|celular|m(?:ó|o)vil|cellulare|num(?:é|e)ro|n(?:ú|u)mero)\b)",
     kCaseless},
    {kCueSsn, R"(\b(?:ssn|social\s+security|social|soc\.?\s?sec|taxpayer|itin)\b|\bss#)", kCaseless},
    {kCueCard,
     R"(\b(?:card|cards|cc|visa|mastercard|master\s?card|amex|american\s+express|discover|diners|jcb|maestro)"
     R"(|unionpay|credit|debit|carte|tarjeta|cart(?:ã|a)o|karte|kreditkarte|carta|exp|expiry|expires|cvv|cvc)\b)",
     kCaseless},
    {kCueVersion, R"(\b(?:ver|version|versions|build|release|firmware|fw|sdk|(?:update|upgrade)[ds]?\s+to)\b)",
     kCaseless},
};
static_assert(std::size(kPatterns) + std::size(kHandFound) == kPatternCount);
// ScanText clears the Hyperscan lists by id range: the secrets kOpenAiKey..kBearer, the cues after them.
constexpr bool PatternsAreSecretsThenCues() {
  unsigned next = kOpenAiKey;
  for (const PatternDef& p : kPatterns) {
    if (p.id != next++) return false;
  }
  return next == kPatternCount && kBearer + 1 == kCuePhone && kCueVersion + 1 == kPatternCount;
}
static_assert(PatternsAreSecretsThenCues());

// How every token pattern above (kOpenAiKey .. kOtherToken) begins, case as written: a match of one of
// them starts with one of these literals. A value with none of them, no "bearer"/"basic" before a
// whitespace (kBearer) and no ':' or '=' right after a keyword's last letter (kSecretAssign) holds no
// secret match, and is not worth a Hyperscan call (~70 ns on a short value with the database in cache,
// several times that amid the rest of the scan). A new token pattern must add its first bytes here (three
// or more, ASCII); FindsEveryTokenShapeAsAWholeValue and FindsTokensAssignmentsAndSchemesAtEveryOffset in
// scanner_test.cc check each.
constexpr std::string_view kTokenPrefixes[] = {
    "sk-", "AKIA", "ASIA", "ABIA", "ACCA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "xapp-",
    "hooks.slack.com/", "sk_", "rk_", "pk_live_", "whsec_", "AIza", "ya29.", "eyJ", "-----", "glpat-", "npm_", "hf_",
    "SG.", "shp", "dop_v1_", "pypi-", "dapi", "sq0", "key-",
    // SK[0-9a-fA-F]{32}
    "SK0", "SK1", "SK2", "SK3", "SK4", "SK5", "SK6", "SK7", "SK8", "SK9", "SKa", "SKb", "SKc", "SKd", "SKe", "SKf",
    "SKA", "SKB", "SKC", "SKD", "SKE", "SKF"};

// \s as Hyperscan reads it: [\t\n\v\f\r ].
bool IsSpaceByte(unsigned c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Whether p[0, j) ends with `word`, in either case.
bool EndsWithFolded(const unsigned char* p, size_t j, std::string_view word) {
  if (j < word.size()) return false;
  return AsciiIEquals(std::string_view(reinterpret_cast<const char*>(p) + j - word.size(), word.size()), word);
}
// The three ways a secrets match can show itself (MayHoldSecret), each checked exactly at one position:
// p[i] is ':' or '=' right after a kSecretAssign keyword, an optional quote and at most three \s. Every
// keyword the pattern allows ends with "key", "secret", "token", "password", "passwd" or "pwd" (in either
// case), so a ':' after "Sent" or "Payment" needs no Hyperscan call.
bool AssignmentAt(const unsigned char* p, size_t i) {
  size_t j = i, spaces = 0;
  while (j > 0 && spaces < 3 && IsSpaceByte(p[j - 1])) --j, ++spaces;
  if (j > 0 && (p[j - 1] == '"' || p[j - 1] == '\'')) --j;
  if (j == 0) return false;
  switch (AsciiLower(static_cast<char>(p[j - 1]))) {
    case 'y':
      return EndsWithFolded(p, j, "key");
    case 't':
      return EndsWithFolded(p, j, "secret");
    case 'n':
      return EndsWithFolded(p, j, "token");
    case 'd':
      return EndsWithFolded(p, j, "pwd") || EndsWithFolded(p, j, "passwd") || EndsWithFolded(p, j, "password");
    default:
      return false;
  }
}
// p[i] is a \s right after "bearer" or "basic" (either case): kBearer.
bool SchemeAt(const unsigned char* p, size_t i) {
  const char last = i > 0 ? AsciiLower(static_cast<char>(p[i - 1])) : '\0';
  return (last == 'c' && EndsWithFolded(p, i, "basic")) || (last == 'r' && EndsWithFolded(p, i, "bearer"));
}
// Byte pairs of the token prefixes, as bitsets indexed by (first << 8 | second): their first two bytes,
// and their second and third.
struct TokenPrefixPairs {
  std::array<uint64_t, 65536 / 64> first{}, second{};
  constexpr TokenPrefixPairs() {
    for (std::string_view prefix : kTokenPrefixes) {
      const unsigned a = static_cast<unsigned char>(prefix[0]) << 8 | static_cast<unsigned char>(prefix[1]);
      const unsigned b = static_cast<unsigned char>(prefix[1]) << 8 | static_cast<unsigned char>(prefix[2]);
      first[a / 64] |= uint64_t{1} << (a % 64);
      second[b / 64] |= uint64_t{1} << (b % 64);
    }
  }
};
constexpr TokenPrefixPairs kTokenPrefixPairs;

// A token prefix starts at k.
bool TokenPrefixAt(std::string_view text, size_t k) {
  if (k + 3 > text.size()) return false;  // every prefix has three bytes or more
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + k;
  const unsigned a = p[0] << 8 | p[1], b = p[1] << 8 | p[2];
  if (!(kTokenPrefixPairs.first[a / 64] >> (a % 64) & 1) || !(kTokenPrefixPairs.second[b / 64] >> (b % 64) & 1)) {
    return false;
  }
  const std::string_view rest = text.substr(k);
  for (std::string_view prefix : kTokenPrefixes) {
    if (rest[0] == prefix[0] && rest[1] == prefix[1] && rest[2] == prefix[2] && rest.starts_with(prefix)) return true;
  }
  return false;
}
bool SecretSignAt(std::string_view text, size_t k) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned c = p[k];
  if (c == ':' || c == '=') return AssignmentAt(p, k);
  if (IsSpaceByte(c)) return SchemeAt(p, k);
  return TokenPrefixAt(text, k);
}

// The bytes that occur at index `at` (0, 1 or 2) of a token prefix, as nibble tables for a SIMD
// membership test: byte c is one iff lo[c & 15] & (1 << (c >> 4)), exact for ASCII (every prefix byte
// is ASCII), never for c >= 0x80.
struct PrefixByteSet {
  std::array<uint8_t, 16> lo{};
  constexpr explicit PrefixByteSet(size_t at) {
    for (std::string_view prefix : kTokenPrefixes) {
      const auto c = static_cast<unsigned char>(prefix[at]);
      lo[c & 15] |= static_cast<uint8_t>(1u << (c >> 4));
    }
  }
  constexpr bool Has(unsigned char c) const { return c < 0x80 && (lo[c & 15] >> (c >> 4) & 1); }
};
constexpr bool TokenPrefixesAreAsciiAndLong() {
  for (std::string_view prefix : kTokenPrefixes) {
    if (prefix.size() < 3) return false;
    for (char c : prefix) {
      if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
  }
  return true;
}
static_assert(TokenPrefixesAreAsciiAndLong(), "MayHoldSecret's tables need ASCII prefixes of 3 bytes or more");
constexpr PrefixByteSet kPrefixByte0(0), kPrefixByte1(1), kPrefixByte2(2);

// Whether the secrets database can match anywhere in `text`. False means hs_scan would report nothing:
//   - a token pattern's match begins with one of kTokenPrefixes;
//   - kSecretAssign's ends with a keyword, an optional quote, at most three \s and then ':' or '='
//     (AssignmentAt);
//   - kBearer's is "bearer" or "basic" right before a \s (SchemeAt).
// 64 bytes at a time: the positions where a prefix's first three bytes could be, or a ':', '=' or \s,
// by SIMD, then the exact check (SecretSignAt) at each.
VG_NO_SANITIZE_ADDRESS bool MayHoldSecret(std::string_view text) {
  const size_t n = text.size();
#ifdef __SSSE3__
  const __m128i nibble = _mm_set1_epi8(0x0F);
  const __m128i hi_bits = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, static_cast<char>(128), 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i set0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kPrefixByte0.lo.data()));
  const __m128i set1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kPrefixByte1.lo.data()));
  const __m128i set2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kPrefixByte2.lo.data()));
  const __m128i zero = _mm_setzero_si128();
  const __m128i colon = _mm_set1_epi8(':'), equals = _mm_set1_epi8('='), space = _mm_set1_epi8(' ');
  const __m128i tab = _mm_set1_epi8('\t'), four = _mm_set1_epi8(4);
  const __m128i case_bit = _mm_set1_epi8(0x20), lower_c = _mm_set1_epi8('c'), lower_r = _mm_set1_epi8('r');
  // Blocks of 64 bytes, 62 apart: a position's three bytes are all in its block for the first 62.
  for (size_t block = 0; block < n; block += 62) {
    const char* src = text.data() + block;
    const size_t valid = n - block;
    alignas(16) char tail[64];
    if (valid < 64 && !WithinOnePage(src, 64)) {
      memset(tail, 0, sizeof tail);
      memcpy(tail, src, valid);
      src = tail;
    }
    uint64_t m0 = 0, m1 = 0, m2 = 0, sign = 0, space_bits = 0, c_or_r = 0;
    const int chunks = valid >= 64 ? 4 : static_cast<int>((valid + 15) / 16);  // those holding text
    for (int k = 0; k < chunks; ++k) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * k));
      const __m128i lo = _mm_and_si128(v, nibble);
      const __m128i hi = _mm_shuffle_epi8(hi_bits, _mm_and_si128(_mm_srli_epi16(v, 4), nibble));
      auto member = [&](__m128i set) {
        const __m128i hit = _mm_and_si128(_mm_shuffle_epi8(set, lo), hi);
        return static_cast<uint64_t>(static_cast<uint16_t>(~_mm_movemask_epi8(_mm_cmpeq_epi8(hit, zero))));
      };
      m0 |= member(set0) << (16 * k);
      m1 |= member(set1) << (16 * k);
      m2 |= member(set2) << (16 * k);
      const __m128i t = _mm_sub_epi8(v, tab);  // \t..\r -> 0..4
      const __m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(_mm_min_epu8(t, four), t));
      const __m128i folded = _mm_or_si128(v, case_bit);
      const __m128i cr = _mm_or_si128(_mm_cmpeq_epi8(folded, lower_c), _mm_cmpeq_epi8(folded, lower_r));
      const __m128i s = _mm_or_si128(_mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, equals));
      sign |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(s))) << (16 * k);
      space_bits |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(ws))) << (16 * k);
      c_or_r |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(cr))) << (16 * k);
    }
    // A \s counts only after a 'c' or 'r' ("basic", "bearer"); the block's first byte always (the byte
    // before it is in the block before).
    sign |= space_bits & (c_or_r << 1 | 1);
    uint64_t candidates = (m0 & (m1 >> 1) & (m2 >> 2)) | sign;
    const size_t span = std::min<size_t>(valid, 62);
    candidates &= (uint64_t{1} << span) - 1;
    while (candidates) {
      const size_t k = block + static_cast<size_t>(__builtin_ctzll(candidates));
      if (SecretSignAt(text, k)) return true;
      candidates &= candidates - 1;
    }
  }
  return false;
#else
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t k = 0; k < n; ++k) {
    const unsigned char c = p[k];
    const bool sign = c == ':' || c == '=' || IsSpaceByte(c);
    if ((sign || (kPrefixByte0.Has(c) && k + 2 < n && kPrefixByte1.Has(p[k + 1]) && kPrefixByte2.Has(p[k + 2]))) &&
        SecretSignAt(text, k)) {
      return true;
    }
  }
  return false;
#endif
}

bool HasNonHexLetter(std::string_view text);

// Whether the secrets database may report anything in `text`: secrets are 15 bytes or more, "pwd="
// assignments 10 or more, and every one of them has a letter that is not a hex digit (so ids, UUIDs,
// hashes and numbers need no look).
bool MaySecretsMatch(std::string_view text) {
  return text.size() >= 10 && HasNonHexLetter(text) && MayHoldSecret(text);
}

constexpr std::array<bool, kPatternCount> SomById() {
  std::array<bool, kPatternCount> t{};
  for (const PatternDef& p : kPatterns) t[p.id] = (p.flags & kSom) != 0;
  return t;
}
constexpr std::array<bool, kPatternCount> kSomById = SomById();

// Where a cue must be, relative to the candidate, to count.
constexpr size_t kCueBefore = 40;
constexpr size_t kCueAfter = 24;

// Overlaps between types: the stronger (more specific validation) wins.
int Priority(PiiType t) {
  switch (t) {
    case PiiType::kSecret: return 8;
    case PiiType::kEmail: return 7;
    case PiiType::kIban: return 6;
    case PiiType::kCreditCard: return 5;
    case PiiType::kUsSsn: return 4;
    case PiiType::kIpAddress: return 4;
    case PiiType::kPhone: return 3;
    case PiiType::kPersonName: return 1;
  }
  return 0;
}

struct Region {
  uint32_t from, to;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsUpperAscii(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLowerAscii(char c) { return c >= 'a' && c <= 'z'; }
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

std::atomic<uint64_t> g_next_scanner_id{1};

constexpr size_t kKeyCacheSlots = 256;  // a power of two
// A key path and what it says. The path is kept and compared (key paths are names of properties, not
// values), so its hash needs no key and no second lane: a collision costs a compare, never a wrong answer.
// One cache line per entry: the look-up of a hot path touches one line.
struct alignas(64) KeyCacheEntry {
  static constexpr size_t kInline = 36;  // paths up to this long are kept in the entry itself
  uint64_t hash = 0;
  uint32_t length = 0;  // a path longer than UINT32_MAX never matches (and is classified every time)
  uint32_t packed_context = 0;  // PackKeyContext(context), the clean-value cache's key
  KeyContext context;
  bool used = false;
  char inline_path[kInline];
};
static_assert(sizeof(KeyCacheEntry) == 64, "a key-context cache entry is one cache line");

// The clean-value cache (Scratch::State::clean): sets of four 64-bit tags in half a cache line, 32 KiB
// in all. A tag is one lane of a 128-bit keyed hash and the set is picked by the other, so a value is
// taken for another only when 74 bits of a keyed hash collide; 64-bit tags hold twice the values of
// 128-bit entries in the same memory.
constexpr size_t kCleanCacheSets = 1024;  // a power of two
constexpr size_t kCleanCacheWays = 4;
constexpr size_t kCleanCacheMaxValue = 256;
struct alignas(32) CleanSet {
  uint64_t tags[kCleanCacheWays] = {};  // 0: empty (CacheHash's tag lane is never 0); newest first
  bool Has(uint64_t tag) const {
    return (tags[0] == tag) | (tags[1] == tag) | (tags[2] == tag) | (tags[3] == tag);
  }
  void Add(uint64_t tag) {
    tags[3] = tags[2];
    tags[2] = tags[1];
    tags[1] = tags[0];
    tags[0] = tag;
  }
};
static_assert(sizeof(CleanSet) == 32 && kCleanCacheWays == 4, "Has and Add know four ways");

// A 128-bit keyed hash of (context, value) for the clean-value cache: two independent multiply-mix
// lanes over 8-byte words. Not a MAC; the random per-thread seed only keeps collisions unpredictable.
void CacheHash(uint64_t seed, uint32_t context, std::string_view v, uint64_t* h1, uint64_t* h2) {
  uint64_t a = seed ^ 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(context) << 32) ^ v.size();
  uint64_t b = (seed * 0xD6E8FEB86659FD93ull) ^ context ^ (static_cast<uint64_t>(v.size()) << 40);
  size_t i = 0;
  for (; i + 16 <= v.size(); i += 16) {
    uint64_t w0, w1;
    memcpy(&w0, v.data() + i, 8);
    memcpy(&w1, v.data() + i + 8, 8);
    a = MulFold(a ^ w0, 0xA0761D6478BD642Full ^ w1);
    b = MulFold(b ^ w1, 0xE7037ED1A0B428DBull ^ w0);
  }
  // The last 0-15 bytes, by fixed-size loads that may overlap (the length is already mixed in, so the
  // words still determine the bytes): no call to memcpy with a variable size.
  uint64_t w0 = 0, w1 = 0;
  const char* tail = v.data() + i;
  const size_t rest = v.size() - i;
  if (rest >= 8) {
    memcpy(&w0, tail, 8);
    memcpy(&w1, tail + rest - 8, 8);
  } else if (rest >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, tail, 4);
    memcpy(&hi, tail + rest - 4, 4);
    w0 = static_cast<uint64_t>(hi) << 32 | lo;
  } else if (rest > 0) {
    w0 = static_cast<uint64_t>(static_cast<unsigned char>(tail[0])) << 16 |
         static_cast<uint64_t>(static_cast<unsigned char>(tail[rest / 2])) << 8 |
         static_cast<unsigned char>(tail[rest - 1]);
  }
  a = MulFold(a ^ w0 ^ 0x8EBC6AF09C88C6E3ull, 0x589965CC75374CC3ull ^ w1);
  b = MulFold(b ^ w1 ^ 0x1D8E4E27C47D124Full, 0xA0761D6478BD642Full ^ w0);
  *h1 = MulFold(a, b ^ 0xE7037ED1A0B428DBull) | 1;  // the tag: never 0, which marks an empty way
  *h2 = MulFold(b, a ^ 0x589965CC75374CC3ull);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

struct PiiScanner::Scratch::State {
  ~State() {
    if (hs) hs_free_scratch(hs);
  }
  hs_scratch_t* hs = nullptr;
  uint64_t fitted_for = 0;  // the scanner id hs was last grown for
  std::array<std::vector<Region>, kPatternCount> matches;
  std::string decoded;
  std::vector<uint32_t> offsets;  // decoded byte -> original byte, plus one past the end
  std::vector<PiiFinding> found;
  std::vector<PiiFinding> resolved;
  std::vector<std::pair<size_t, size_t>> taken;
  std::vector<Region> groups;  // FindShapes' digit groups
  // Whether the secrets' and the cue words' lists in `matches` may hold regions of an earlier scan.
  bool secret_lists_used = true, cue_lists_used = true;
  bool id_like_text = false;  // set by ScanText: an id without a secrets scan (see Scan's end)
  PersonNameFinder::Scratch names;
  // What each key path says (ClassifyKey), for the paths seen lately; two-way set associative.
  std::vector<KeyCacheEntry> key_contexts;
  std::vector<std::string> key_long_paths;  // per slot of key_contexts: a path longer than kInline
  std::vector<uint8_t> key_victim;  // per set of key_contexts: the way to replace on a miss
  // Values seen lately in which nothing was found, by hash (never the values themselves): analytics
  // properties repeat ("Safari", "Page View", "https://app.example.com/pricing"), and a repeat costs
  // one hash instead of a scan. Set associative, so bounded; cleared when the scanner changes.
  std::vector<CleanSet> clean;
  uint64_t seed = 0;
  std::string tmp;
};

PiiScanner::Scratch::Scratch() : state_(std::make_unique<State>()) {}
PiiScanner::Scratch::~Scratch() = default;
PiiScanner::Scratch::Scratch(Scratch&&) noexcept = default;
PiiScanner::Scratch& PiiScanner::Scratch::operator=(Scratch&&) noexcept = default;

struct PiiScanner::Impl {
  ~Impl() {
    if (db) hs_free_database(db);
    if (cue_db) hs_free_database(cue_db);
  }
  hs_database_t* db = nullptr;      // secrets
  hs_database_t* cue_db = nullptr;  // cue words
  uint64_t id = 0;
  float min_confidence = 0.5f;
  bool cache_clean_values = true;
  PhoneNumberConfirmer phones;
  std::unique_ptr<PersonNameFinder> names;

  // One scan of `text` (already percent-decoded), findings with offsets into `text`.
  void ScanText(const KeyContext& key, std::string_view text, Scratch::State* st) const;
};

PiiScanner::PiiScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PiiScanner::~PiiScanner() = default;

StatusOr<std::shared_ptr<const PiiScanner>> PiiScanner::Create(Options options) {
  auto impl = std::make_unique<Impl>();
  // Two databases: the secrets (scanned in every value that could hold one) and the cue words (only
  // in values where a digit shape wants context).
  auto compile = [](bool cues, hs_database_t** db) -> Status {
    std::vector<const char*> expressions;
    std::vector<unsigned> flags, ids;
    for (const PatternDef& p : kPatterns) {
      if (IsCue(p.id) != cues) continue;
      expressions.push_back(p.expression);
      flags.push_back(p.flags);
      ids.push_back(p.id);
    }
    hs_compile_error_t* error = nullptr;
    hs_error_t rc = hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                                     static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK, nullptr, db, &error);
    if (rc == HS_SUCCESS) return Status::Ok();
    std::string msg = "PII pattern database: ";
    if (error) {
      msg += error->message;
      if (error->expression >= 0) msg += " (pattern " + std::to_string(error->expression) + ")";
      hs_free_compile_error(error);
    }
    return Status::Internal(msg);
  };
  if (Status st = compile(false, &impl->db); !st.ok()) return st;
  if (Status st = compile(true, &impl->cue_db); !st.ok()) return st;
  impl->id = g_next_scanner_id.fetch_add(1);
  impl->min_confidence = options.min_confidence;
  impl->cache_clean_values = options.cache_clean_values;
  impl->phones = PhoneNumberConfirmer(std::move(options.phone_regions));
  impl->names = std::make_unique<PersonNameFinder>(options.names ? options.names : NamesDictionary::Embedded());
  // Fail now, not on the first scan, if scratch space cannot be had.
  hs_scratch_t* probe = nullptr;
  bool ok = hs_alloc_scratch(impl->db, &probe) == HS_SUCCESS && hs_alloc_scratch(impl->cue_db, &probe) == HS_SUCCESS;
  if (probe) hs_free_scratch(probe);
  if (!ok) return Status::Internal("Hyperscan scratch allocation failed");
  return std::shared_ptr<const PiiScanner>(new PiiScanner(std::move(impl)));
}

void PiiScanner::Scan(std::string_view key_path, std::string_view value, std::vector<PiiFinding>* out) const {
  thread_local Scratch scratch;
  Scan(key_path, value, &scratch, out);
}

namespace {

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int, void* ctx) {
  auto& matches = *static_cast<std::array<std::vector<Region>, kPatternCount>*>(ctx);
  std::vector<Region>& list = matches[id];
  const bool som = kSomById[id];
  if (!som) from = to;
  // Hyperscan reports each end offset of a pattern in increasing order; overlapping matches of one
  // pattern merge into one region, so a run of 10 MB of digits is one region, not millions.
  // JWT starts are candidates, each checked by FinishTokenRegions: kept apart.
  if (som && id != kJwt && !list.empty() && from < list.back().to) {
    list.back().from = std::min<uint32_t>(list.back().from, static_cast<uint32_t>(from));
    list.back().to = std::max<uint32_t>(list.back().to, static_cast<uint32_t>(to));
    return 0;
  }
  list.push_back({static_cast<uint32_t>(from), static_cast<uint32_t>(to)});
  return 0;
}

// Decodes %XX escapes into `decoded`, with offsets[i] = the original offset of decoded byte i (and
// offsets[decoded.size()] = original size). False (and nothing decoded) when there is no escape.
bool PercentDecode(std::string_view in, std::string* decoded, std::vector<uint32_t>* offsets) {
  const char* p = static_cast<const char*>(memchr(in.data(), '%', in.size()));
  bool any = false;
  while (p) {
    size_t i = static_cast<size_t>(p - in.data());
    if (i + 2 < in.size() && IsHex(in[i + 1]) && IsHex(in[i + 2])) {
      any = true;
      break;
    }
    p = static_cast<const char*>(memchr(p + 1, '%', in.size() - i - 1));
  }
  if (!any) return false;
  decoded->clear();
  offsets->clear();
  for (size_t i = 0; i < in.size();) {
    offsets->push_back(static_cast<uint32_t>(i));
    if (in[i] == '%' && i + 2 < in.size() && IsHex(in[i + 1]) && IsHex(in[i + 2])) {
      decoded->push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 3;
    } else {
      decoded->push_back(in[i]);
      ++i;
    }
  }
  offsets->push_back(static_cast<uint32_t>(in.size()));
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Hand-found shapes (kHandFound)

enum : uint8_t {
  kClsEmailLocal = 1,   // [A-Za-z0-9._%+\-'\x80-\xff]: may stand right before an email's '@'
  kClsDomainStart = 2,  // [A-Za-z0-9\x80-\xff]: may stand right after it
  kClsNumSep = 4,       // " -.()/": separators inside written numbers
  kClsWord = 8,         // [A-Za-z0-9_]
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || c >= 0x80 || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'') {
      t[c] |= kClsEmailLocal;
    }
    if (alnum || c >= 0x80) t[c] |= kClsDomainStart;
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/') t[c] |= kClsNumSep;
    if (alnum || c == '_') t[c] |= kClsWord;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClasses = MakeClasses();
uint8_t ClassOf(char c) { return kClasses[static_cast<unsigned char>(c)]; }

// Two bitmaps over the text, 64 bytes at a time, computed once per block instead of once per question:
// where the digits, ':' and '@' are (FindShapes jumps from one to the next) and where the word bytes
// [A-Za-z0-9_] are (it skips words glued to digits whole). Short values are one block, so a hex id or
// a UUID costs one classification instead of one SIMD search and tail copy per digit run.
class ShapeBytes {
 public:
  ShapeBytes(const char* p, size_t n) : p_(p), n_(n) {}

  // The next position at or after `i` holding a digit, ':' or '@' (n when none).
  size_t NextDigitColonOrAt(size_t i) { return Next(i, &ShapeBytes::interesting_); }
  // The next position at or after `i` holding a byte that is not [A-Za-z0-9_] (n when none).
  size_t NextNonWord(size_t i) { return Next(i, &ShapeBytes::non_word_); }
  // The run of digit groups and separators that starts at the digit at `i` (a position of the block the
  // last Next() answer came from), as FindShapes' byte loop counts it: the end of its last digit group,
  // its digits and its groups. From the bitmaps, when the run ends inside that block and has no four
  // separators in a row; false otherwise (the caller then counts it byte by byte).
  bool CountRun(size_t i, size_t* run_end, size_t* digits, size_t* groups) const {
    const size_t offset = i - base_;
    const uint64_t d = digit_ >> offset, s = separator_ >> offset;
    const uint64_t outside = ~(d | s);
    if (outside == 0) return false;  // the whole block from i: the run may go on in the next one
    const size_t len = static_cast<size_t>(__builtin_ctzll(outside));  // >= 1: bit 0 is the digit at i
    if (offset + len >= 64) return false;  // the run may go on in the next block
    const uint64_t span = (uint64_t{1} << len) - 1;
    const uint64_t ds = d & span, ss = s & span;
    if (ss & (ss >> 1) & (ss >> 2) & (ss >> 3)) return false;  // the loop stops at a fourth separator
    *run_end = i + 64 - static_cast<size_t>(__builtin_clzll(ds));
    *digits = static_cast<size_t>(__builtin_popcountll(ds));
    *groups = static_cast<size_t>(__builtin_popcountll(ds & ~(ds << 1)));
    return true;
  }

  // The digit groups of [i, run_end), a run CountRun counted (so inside the block loaded last), in order.
  void CollectGroups(size_t i, size_t run_end, std::vector<Region>* groups) const {
    const size_t offset = i - base_;
    const size_t len = run_end - i;  // <= 63
    uint64_t d = (digit_ >> offset) & ((uint64_t{1} << len) - 1);
    uint64_t starts = d & ~(d << 1), ends = d & ~(d >> 1);  // a group's first and last digit
    while (starts != 0) {
      const size_t s = static_cast<size_t>(__builtin_ctzll(starts)), e = static_cast<size_t>(__builtin_ctzll(ends));
      groups->push_back({static_cast<uint32_t>(i + s), static_cast<uint32_t>(i + e + 1)});
      starts &= starts - 1;
      ends &= ends - 1;
    }
  }

  // Whether the text is one block (at most 64 bytes) of the shape of ids and slugs, from which no digit
  // shape can come ("1d7b83a9-0ebc-41b0-ad78-282192864bbb", "user-bEwsYrcd9u", "792fd89322cb8eb4"):
  //   - only ASCII letters, digits and '-', and at least one letter;
  //   - every '-' between two letters or digits (none first, none last, never two in a row);
  //   - no two capitals right before two digits (where an IBAN would start: FindShapes' `iban`).
  // Every digit-shape candidate (IPv4, card, SSN, phone) lies in a run of digits and " -.()/" with at
  // most a '+', '(' or ')' added, and must pass StandsAlone: at its start the byte before is neither a
  // letter or digit nor a '-' after one, and at its end the byte after is neither a letter or digit nor
  // a '-' before one. In such a text that leaves only a candidate that is the whole text, which then
  // holds no letter. An IPv4 region needs a '.', an email an '@', an IPv6 address a ':'. So FindShapes
  // would fill its lists only with regions that ScanText rejects, and can leave them empty.
  bool IdLikeBlock() {
    if (n_ == 0 || n_ > 64) return false;
    if (base_ != 0) Load(0);
    const uint64_t in_text = n_ == 64 ? ~uint64_t{0} : (uint64_t{1} << n_) - 1;
    const uint64_t last = uint64_t{1} << (n_ - 1);
    return (digit_ | letter_ | hyphen_) == in_text && letter_ != 0 && !(hyphen_ & (1 | last | hyphen_ >> 1)) &&
           !(upper_ & upper_ >> 1 & digit_ >> 2 & digit_ >> 3);
  }
  // Whether the block loaded last holds a digit.
  bool HasDigit() const { return digit_ != 0; }

 private:
  size_t Next(size_t i, uint64_t ShapeBytes::*bits) {
    while (i < n_) {
      const size_t block = i & ~size_t{63};
      if (block != base_) Load(block);
      const uint64_t m = (this->*bits) >> (i - block);
      if (m) return i + static_cast<size_t>(__builtin_ctzll(m));
      i = block + 64;
    }
    return n_;
  }

  VG_NO_SANITIZE_ADDRESS void Load(size_t block) {
    base_ = block;
    const char* src = p_ + block;
    alignas(16) char tail[64];
    // The last, partial block: read in place when its 64 bytes lie in one page (bytes past the end are
    // then readable, and their bits are masked off below), else through a zero-padded copy.
    const size_t valid = n_ - block;
    if (valid < 64 && !WithinOnePage(src, 64)) {
      memset(tail, 0, sizeof tail);
      memcpy(tail, src, valid);
      src = tail;
    }
    interesting_ = 0;
    digit_ = 0;
    separator_ = 0;
    letter_ = 0;
    upper_ = 0;
    hyphen_ = 0;
    uint64_t word = 0;
#ifdef __SSE2__
    const __m128i zero = _mm_set1_epi8('0');
    const __m128i ten = _mm_set1_epi8(10);
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i at = _mm_set1_epi8('@');
    const __m128i lower_a = _mm_set1_epi8('a');
    const __m128i z_span = _mm_set1_epi8('z' - 'a');
    const __m128i case_bit = _mm_set1_epi8(0x20);
    const __m128i underscore = _mm_set1_epi8('_');
    const __m128i space = _mm_set1_epi8(' ');
    const __m128i open_paren = _mm_set1_epi8('(');  // '(' and ')'
    const __m128i one = _mm_set1_epi8(1);
    const __m128i hyphen = _mm_set1_epi8('-');  // '-', '.' and '/'
    const __m128i two = _mm_set1_epi8(2);
    const __m128i upper_a = _mm_set1_epi8('A');
    // Only the 16-byte chunks that hold text: most values are short, and the bits past the end are
    // masked off below anyway.
    const int chunks = valid >= 64 ? 4 : static_cast<int>((valid + 15) / 16);
    for (int k = 0; k < chunks; ++k) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * k));
      const __m128i d = _mm_sub_epi8(v, zero);                                 // '0'..':' -> 0..10
      const __m128i digit_or_colon = _mm_cmpeq_epi8(_mm_min_epu8(d, ten), d);  // unsigned d <= 10
      const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, nine), d);
      const __m128i l = _mm_sub_epi8(_mm_or_si128(v, case_bit), lower_a);     // letters of either case
      const __m128i letter = _mm_cmpeq_epi8(_mm_min_epu8(l, z_span), l);
      const __m128i w = _mm_or_si128(_mm_or_si128(digit, letter), _mm_cmpeq_epi8(v, underscore));
      interesting_ |= static_cast<uint64_t>(static_cast<uint16_t>(
                          _mm_movemask_epi8(_mm_or_si128(digit_or_colon, _mm_cmpeq_epi8(v, at)))))
                      << (16 * k);
      word |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(w))) << (16 * k);
      digit_ |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(digit))) << (16 * k);
      const __m128i paren = _mm_sub_epi8(v, open_paren);
      const __m128i dash = _mm_sub_epi8(v, hyphen);
      const __m128i sep = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(_mm_min_epu8(paren, one), paren)),
          _mm_cmpeq_epi8(_mm_min_epu8(dash, two), dash));
      separator_ |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(sep))) << (16 * k);
      const __m128i u = _mm_sub_epi8(v, upper_a);
      letter_ |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(letter))) << (16 * k);
      const __m128i up = _mm_cmpeq_epi8(_mm_min_epu8(u, z_span), u);
      upper_ |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(up))) << (16 * k);
      const __m128i dash_only = _mm_cmpeq_epi8(v, hyphen);
      hyphen_ |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(dash_only))) << (16 * k);
    }
#else
    for (size_t k = 0; k < 64; ++k) {
      const char c = src[k];
      if ((c >= '0' && c <= ':') || c == '@') interesting_ |= uint64_t{1} << k;
      if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_') word |= uint64_t{1} << k;
      if (c >= '0' && c <= '9') digit_ |= uint64_t{1} << k;
      if (kClasses[static_cast<unsigned char>(c)] & kClsNumSep) separator_ |= uint64_t{1} << k;
      if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') letter_ |= uint64_t{1} << k;
      if (c >= 'A' && c <= 'Z') upper_ |= uint64_t{1} << k;
      if (c == '-') hyphen_ |= uint64_t{1} << k;
    }
#endif
    if (valid < 64) {  // nothing past the end is interesting or a digit, and all of it is a non-word byte
      const uint64_t in_text = (uint64_t{1} << valid) - 1;
      interesting_ &= in_text;
      digit_ &= in_text;
      separator_ &= in_text;
      letter_ &= in_text;
      upper_ &= in_text;
      hyphen_ &= in_text;
      word &= in_text;
    }
    non_word_ = ~word;  // past the end counts as a non-word byte, so Next stops at n
  }

  const char* p_;
  size_t n_;
  size_t base_ = SIZE_MAX;
  uint64_t interesting_ = 0, non_word_ = 0, digit_ = 0, separator_ = 0, letter_ = 0, upper_ = 0, hyphen_ = 0;
};

#ifdef __SSE2__
// The ASCII letters other than a-f/A-F among q[0, 16), one bit per byte.
VG_NO_SANITIZE_ADDRESS unsigned NonHexLetters16(const char* q) {
  const __m128i v = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)), _mm_set1_epi8(0x20));
  const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('g'));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8('z' - 'g')), d)));
}
#endif

// Whether `text` has an ASCII letter other than a-f/A-F.
bool HasNonHexLetter(std::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
  size_t i = 0;
#ifdef __SSE2__
  for (; i + 16 <= n; i += 16) {
    if (NonHexLetters16(p + i)) return true;
  }
  // The last 1-15 bytes in place when their 16 lie in one page (the bits past the end masked off), as
  // in ShapeBytes::Load; else by the byte loop below.
  if (i < n && WithinOnePage(p + i, 16)) return (NonHexLetters16(p + i) & ((1u << (n - i)) - 1)) != 0;
#endif
  for (; i < n; ++i) {
    char c = static_cast<char>(p[i] | 0x20);
    if (c >= 'g' && c <= 'z') return true;
  }
  return false;
}

// Fills the region lists of kHandFound in increasing order, as Hyperscan would have reported these
// patterns (start-of-match patterns as merged regions, the others as match ends):
//   kEmailAt  [A-Za-z0-9._%+\-'\x80-\xff]@[A-Za-z0-9\x80-\xff]     (end only)
//   kIpv6     :[0-9A-Fa-f]{0,4}:                                    (end only)
//   kIpv4     four dotted groups of 1-3 digits
//   kPhone    a run of digits and " -.()/" (at most 3 separators in a row) with 7+ digits, with a '+',
//             '(' or "+(" right before it
//   kCard     digit groups joined by single ' ' or '-', 12+ digits
//   kSsn      AAA-GG-SSSS, AAA GG SSSS, or 9 digits
//   kIban     [A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}
// Each byte is looked at a bounded number of times, so this is linear in the text.
// Returns whether the text was an id (ShapeBytes::IdLikeBlock, with a digit), with nothing to look at.
bool FindShapes(std::string_view text, std::array<std::vector<Region>, kPatternCount>& m,
                std::vector<Region>& groups) {
  const size_t n = text.size();
  const char* p = text.data();
  size_t i = 0;
  ShapeBytes bytes(p, n);
  if (bytes.IdLikeBlock()) return bytes.HasDigit();
  while ((i = bytes.NextDigitColonOrAt(i)) < n) {
    const char c = p[i];
    if (c == '@') {
      if (i > 0 && (ClassOf(p[i - 1]) & kClsEmailLocal) && i + 1 < n && (ClassOf(p[i + 1]) & kClsDomainStart)) {
        m[kEmailAt].push_back({static_cast<uint32_t>(i + 2), static_cast<uint32_t>(i + 2)});
      }
      ++i;
      continue;
    }
    if (c == ':') {
      size_t j = i + 1;
      while (j < n && j - i <= 4 && IsHex(p[j])) ++j;
      if (j < n && p[j] == ':') m[kIpv6].push_back({static_cast<uint32_t>(j + 1), static_cast<uint32_t>(j + 1)});
      ++i;
      continue;
    }

    // A digit: the run of digit groups and separators it starts. Most runs in analytics data are short
    // pieces of hex ids and versions, which no digit shape can come from: count before collecting.
    const bool iban = i >= 2 && IsUpperAscii(p[i - 1]) && IsUpperAscii(p[i - 2]) && i + 1 < n && IsDigit(p[i + 1]);
    // The run counted from the block's bitmaps (the common case: it ends inside the block), else byte by
    // byte.
    size_t digits = 0, ngroups = 0, run_end = i;
    const bool in_block = bytes.CountRun(i, &run_end, &digits, &ngroups);
    if (!in_block) {
      size_t j = i, seps = 0;
      while (j < n) {
        if (IsDigit(p[j])) {
          size_t s = j;
          while (j < n && IsDigit(p[j])) ++j;
          digits += j - s;
          ++ngroups;
          run_end = j;
          seps = 0;
        } else if ((ClassOf(p[j]) & kClsNumSep) && ++seps <= 3) {
          ++j;
        } else {
          break;
        }
      }
    }
    if (digits < 7 && ngroups < 4 && !iban) {
      // A digit group glued to a letter on its right is part of a word ("fd89322cb8", "v2beta"):
      // no digit shape starts or ends inside a word, so the rest of it can be skipped too.
      i = run_end;
      if (ngroups == 1 && i < n && (ClassOf(p[i]) & kClsWord)) {
        i = bytes.NextNonWord(i);
      }
      continue;
    }
    groups.clear();
    if (in_block) {
      bytes.CollectGroups(i, run_end, &groups);
    } else {
      for (size_t q = i; q < run_end;) {
        if (IsDigit(p[q])) {
          size_t s = q;
          while (q < run_end && IsDigit(p[q])) ++q;
          groups.push_back({static_cast<uint32_t>(s), static_cast<uint32_t>(q)});
        } else {
          ++q;
        }
      }
    }
    auto gap = [&](size_t g) {  // the separator between groups g and g+1, or 0 when not a single char
      return groups[g + 1].from - groups[g].to == 1 ? p[groups[g].to] : '\0';
    };
    auto push = [&](Pattern id, size_t from, size_t to) {
      std::vector<Region>& list = m[id];
      if (!list.empty() && from < list.back().to) {  // overlapping: merge, as OnMatch does
        list.back().to = std::max<uint32_t>(list.back().to, static_cast<uint32_t>(to));
        return;
      }
      list.push_back({static_cast<uint32_t>(from), static_cast<uint32_t>(to)});
    };

    // IBAN: two capital letters right before the run's first two digits.
    if (iban) {
      size_t k = i + 2, count = 0;
      auto iban_char = [&](size_t q) { return q < n && (IsUpperAscii(p[q]) || IsDigit(p[q])); };
      while (count < 30) {
        if (iban_char(k)) {
          ++k;
        } else if (k < n && p[k] == ' ' && iban_char(k + 1)) {
          k += 2;
        } else {
          break;
        }
        ++count;
      }
      if (count >= 11) push(kIban, i - 2, k);
    }
    if (digits >= 7) {
      size_t rs = i;
      if (rs > 0 && p[rs - 1] == '(') {
        --rs;
        if (rs > 0 && p[rs - 1] == '+') --rs;
      } else if (rs > 0 && p[rs - 1] == '+') {
        --rs;
      }
      push(kPhone, rs, run_end);
    }
    const size_t ng = groups.size();
    for (size_t g = 0; g < ng; ++g) {
      // Cards: groups joined by single spaces or dashes.
      if (g == 0 || (gap(g - 1) != ' ' && gap(g - 1) != '-')) {
        size_t h = g, card_digits = groups[g].to - groups[g].from;
        while (h + 1 < ng && (gap(h) == ' ' || gap(h) == '-')) {
          ++h;
          card_digits += groups[h].to - groups[h].from;
        }
        if (card_digits >= 12) push(kCard, groups[g].from, groups[h].to);
      }
      // SSNs.
      const size_t len = groups[g].to - groups[g].from;
      if (len == 9) push(kSsn, groups[g].from, groups[g].to);
      if (len == 3 && g + 2 < ng && groups[g + 1].to - groups[g + 1].from == 2 &&
          groups[g + 2].to - groups[g + 2].from == 4 && (gap(g) == '-' || gap(g) == ' ') && gap(g + 1) == gap(g)) {
        push(kSsn, groups[g].from, groups[g + 2].to);
      }
      // IPv4: exactly four dotted groups of 1-3 digits.
      if ((g == 0 || gap(g - 1) != '.' || groups[g - 1].to - groups[g - 1].from > 3) && len <= 3) {
        size_t h = g;
        while (h + 1 < ng && gap(h) == '.' && groups[h + 1].to - groups[h + 1].from <= 3) ++h;
        if (h - g == 3 && !(h + 1 < ng && gap(h) == '.')) push(kIpv4, groups[g].from, groups[h].to);
      }
    }
    i = run_end;
  }
  return false;
}

// Whether `text` is an id: ShapeBytes::IdLikeBlock with a digit (FindShapes then fills no list).
constexpr size_t kIdMinSize = 16;  // Scan asks only about values this long: shorter ones are words
bool IsIdText(std::string_view text) {
  ShapeBytes bytes(text.data(), text.size());
  return bytes.IdLikeBlock() && bytes.HasDigit();
}

// Everything of a KeyContext that the scan depends on, as bits (the clean-value cache's key).
// A new KeyContext field must be added here too.
static_assert(sizeof(KeyContext) == 11, "PackKeyContext must cover every KeyContext field");
uint32_t PackKeyContext(const KeyContext& k) {
  return static_cast<uint32_t>(k.identifier) | k.version << 1 | k.phone << 2 | k.ssn << 3 | k.card << 4 |
         k.ip << 5 | k.email << 6 | k.secret << 7 | k.password << 8 | k.not_person << 9 |
         static_cast<uint32_t>(k.name) << 10;
}

// Cue positions (match ends, increasing) near a candidate.
bool CueBefore(const std::vector<Region>& cues, size_t start) {
  // The last cue ending at or before `start`.
  auto it = std::upper_bound(cues.begin(), cues.end(), start, [](size_t v, const Region& r) { return v < r.to; });
  if (it == cues.begin()) return false;
  --it;
  return start - it->to <= kCueBefore;
}
bool CueAfter(const std::vector<Region>& cues, size_t end) {
  auto it = std::upper_bound(cues.begin(), cues.end(), end, [](size_t v, const Region& r) { return v < r.to; });
  return it != cues.end() && it->to - end <= kCueAfter;
}
bool CueNear(const std::vector<Region>& cues, size_t start, size_t end) {
  return !cues.empty() && (CueBefore(cues, start) || CueAfter(cues, end));
}

// A numeric candidate must stand on its own: not glued to letters ("v1.2.3.4", "ORD-884118-8521"), and
// not one piece of a longer dotted or dashed number ("1.2.3.4.5", "123-45-6789-0").
// `port_ok`: ":8443" or "/24" may follow (IP addresses).
bool StandsAlone(std::string_view text, size_t s, size_t e, bool port_ok = false) {
  if (s > 0) {
    char p = text[s - 1];
    if (IsAlnum(p) || p == '_' || p == '@' || static_cast<unsigned char>(p) >= 0x80) return false;
    if ((p == '-' || p == '.' || p == '/' || p == '#' || p == '+' || p == ',') && s >= 2 &&
        (IsAlnum(text[s - 2]) || text[s - 2] == '_')) {
      return false;
    }
    // "12:30", but not "tel:", "Phone:".
    if (p == ':' && s >= 2 && IsDigit(text[s - 2])) return false;
  }
  if (e < text.size()) {
    char q = text[e];
    if (IsAlnum(q) || q == '_' || q == '@' || static_cast<unsigned char>(q) >= 0x80) return false;
    if (port_ok && (q == ':' || q == '/') && e + 1 < text.size() && IsDigit(text[e + 1])) return true;
    if ((q == '-' || q == '.' || q == '/' || q == ',' || q == ':') && e + 1 < text.size() &&
        (IsAlnum(text[e + 1]) || text[e + 1] == '_')) {
      return false;
    }
  }
  return true;
}

// A digit sequence cut out of a longer space- or dash-grouped one ("4419 9268 0323 4326" is not the
// phone number "0323 4326"; "FR38 2900 2251 5977 6337 8228 955" holds no card): the neighbouring group,
// joined by a single separator, holds digits too.
bool FragmentOfLongerNumber(std::string_view text, size_t s, size_t e, bool check_before) {
  if (check_before && s >= 2 && (text[s - 1] == ' ' || text[s - 1] == '-' || text[s - 1] == '.') &&
      IsAlnum(text[s - 2])) {
    for (size_t k = s - 1; k-- > 0 && IsAlnum(text[k]);) {
      if (IsDigit(text[k])) return true;
    }
  }
  if (e + 1 < text.size() && (text[e] == ' ' || text[e] == '-' || text[e] == '.') && IsDigit(text[e + 1])) {
    return true;
  }
  return false;
}

// A token is random enough to be a credential: letters and digits mixed, no spaces, and enough entropy
// that it is not a word or a counter. `password`: a password's rules (shorter, any mix of classes).
bool LooksLikeCredential(std::string_view t, bool password) {
  if (t.size() < (password ? 6u : 12u) || t.size() > 4096) return false;
  int lower = 0, upper = 0, digit = 0, other = 0;
  std::array<uint16_t, 256> counts{};
  for (char c : t) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7F) return false;
    ++counts[u];
    if (IsLowerAscii(c)) {
      ++lower;
    } else if (IsUpperAscii(c)) {
      ++upper;
    } else if (IsDigit(c)) {
      ++digit;
    } else {
      ++other;
    }
  }
  double entropy = 0;
  for (uint16_t n : counts) {
    if (!n) continue;
    double p = static_cast<double>(n) / static_cast<double>(t.size());
    entropy -= p * std::log2(p);
  }
  // Placeholders: "********", "xxxxxxxx", "<redacted>", "${API_KEY}".
  if (t.front() == '<' || t.front() == '$' || t.front() == '{' || t.front() == '[' || t.front() == '*') return false;
  int classes = (lower > 0) + (upper > 0) + (digit > 0) + (other > 0);
  if (password) return classes >= 2 && entropy >= 2.0;
  return (lower + upper) > 0 && digit > 0 && entropy >= 3.0;
}

bool IsPlaceholderValue(std::string_view v) {
  static constexpr std::string_view kPlaceholders[] = {
      "null", "none", "nil", "undefined", "true", "false", "n/a", "na", "redacted", "[redacted]", "<redacted>",
      "hidden", "secret", "password", "changeme", "xxx", "***", "-", "0", "empty", "unset", "not set"};
  std::string lower;
  for (char c : v) lower.push_back(static_cast<char>(IsUpperAscii(c) ? c + 32 : c));
  for (std::string_view p : kPlaceholders) {
    if (lower == p) return true;
  }
  return v.find_first_not_of("*xX•.") == std::string_view::npos;
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\n' || v.front() == '\r')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

}  // namespace

// What the kOpenAiKey, kSlackToken, kStripeKey, kGoogleOauth and kJwt patterns leave to be done by hand
// (see kPatterns), so that their lists hold the regions the full regular expressions would have given:
// each a maximal run, overlapping matches merged as OnMatch merges them.
//
// A pattern P = prefix, then C{n,} for a byte class C, matches from a start s at every end from the
// shortest up to the end of the run of C bytes after the prefix; written C{n}, it reports the shortest,
// and extending that to the run's end gives the same region. A second start inside the run (the prefix
// made of C bytes, as "sk-" is of [A-Za-z0-9_-]) has its ends in the same run, so its region merges with
// the first, as OnMatch merged the original's overlapping matches; where the prefix has a byte outside C
// ('_' in "sk_live_", '.' in "ya29."), no start lies inside another's run.
bool IsTokenByte(char c) { return IsAlnum(c) || c == '_' || c == '-'; }  // [A-Za-z0-9_\-]
bool IsAlnumOrHyphen(char c) { return IsAlnum(c) || c == '-'; }          // [A-Za-z0-9\-]
template <typename InClass>
size_t RunEnd(std::string_view text, size_t i, InClass in_class) {
  while (i < text.size() && in_class(text[i])) ++i;
  return i;
}
size_t TokenRunEnd(std::string_view text, size_t i) { return RunEnd(text, i, IsTokenByte); }
void MergeOverlapping(std::vector<Region>& list) {
  size_t kept = 0;
  for (size_t k = 0; k < list.size(); ++k) {
    if (kept > 0 && list[k].from < list[kept - 1].to) {
      list[kept - 1].from = std::min(list[kept - 1].from, list[k].from);
      list[kept - 1].to = std::max(list[kept - 1].to, list[k].to);
    } else {
      list[kept++] = list[k];
    }
  }
  list.resize(kept);
}
template <typename InClass>
void ExtendToRunEnds(std::string_view text, std::vector<Region>& list, InClass in_class) {
  if (list.empty()) return;
  for (Region& r : list) r.to = static_cast<uint32_t>(RunEnd(text, r.to, in_class));
  MergeOverlapping(list);
}
void FinishTokenRegions(std::string_view text, std::array<std::vector<Region>, kPatternCount>& m) {
  ExtendToRunEnds(text, m[kOpenAiKey], IsTokenByte);
  ExtendToRunEnds(text, m[kSlackToken], IsAlnumOrHyphen);
  ExtendToRunEnds(text, m[kStripeKey], IsAlnum);
  ExtendToRunEnds(text, m[kGoogleOauth], IsTokenByte);
  // eyJ[...]{8,} '.' eyJ[...]{8,} '.' [...]*: from a start, each segment is the run up to the first byte
  // outside the class, and the match ends anywhere in the last run (so the region ends at its end).
  std::vector<Region>& jwt = m[kJwt];
  if (!jwt.empty()) {
    const size_t n = text.size();
    size_t kept = 0;
    for (const Region& candidate : jwt) {
      const size_t s = candidate.from;
      const size_t r1 = TokenRunEnd(text, s + 3);
      if (r1 - (s + 3) < 8 || r1 + 4 > n || text[r1] != '.' || text.substr(r1 + 1, 3) != "eyJ") continue;
      const size_t r2 = TokenRunEnd(text, r1 + 4);
      if (r2 - (r1 + 4) < 8 || r2 >= n || text[r2] != '.') continue;
      jwt[kept++] = {static_cast<uint32_t>(s), static_cast<uint32_t>(TokenRunEnd(text, r2 + 1))};
    }
    jwt.resize(kept);
    MergeOverlapping(jwt);
  }
}

void PiiScanner::Impl::ScanText(const KeyContext& key, std::string_view text, Scratch::State* st) const {
  auto& m = st->matches;
  // Only the lists a scan filled: FindShapes' always, Hyperscan's when it ran last time.
  for (Pattern p : kHandFound) m[p].clear();
  if (st->secret_lists_used) {
    for (unsigned id = kOpenAiKey; id <= kBearer; ++id) m[id].clear();
  }
  if (st->cue_lists_used) {
    for (unsigned id = kCuePhone; id <= kCueVersion; ++id) m[id].clear();
  }
  st->secret_lists_used = st->cue_lists_used = false;
  std::vector<PiiFinding>& found = st->found;
  found.clear();
  st->id_like_text = false;
  if (text.empty()) return;
  if (text.size() > UINT_MAX) text = text.substr(0, UINT_MAX);
  const bool id_like = FindShapes(text, m, st->groups);
  const bool secrets_scanned = MaySecretsMatch(text);
  st->id_like_text = id_like && !secrets_scanned;
  if (secrets_scanned) {
    st->secret_lists_used = true;
    hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, st->hs, OnMatch, &m);
    FinishTokenRegions(text, m);
  }
  // Cue words matter only beside a digit shape that wants context: scanned for on the first question
  // about them, which most values (ids, timestamps, amounts whose candidates fail validation first)
  // never ask.
  bool cues_scanned = false;
  auto cues = [&](Pattern p) -> const std::vector<Region>& {
    if (!cues_scanned) {
      cues_scanned = true;
      st->cue_lists_used = true;
      hs_scan(cue_db, text.data(), static_cast<unsigned>(text.size()), 0, st->hs, OnMatch, &m);
    }
    return m[p];
  };
  const size_t n = text.size();
  // The cue words near [s, e), for CueNear / CueBefore: a cue counts when it ends at most kCueBefore
  // before s or kCueAfter after e, so its last byte, an ASCII letter or '#', lies in text[s - 41, s) or
  // text[e, e + 24) (`after`: CueAfter is asked too). With no such byte there, no cue can count: an
  // empty list answers, without a scan.
  static const std::vector<Region> kNoCues;
  auto cue_lists = [&](Pattern p, size_t s, size_t e, bool after = true) -> const std::vector<Region>& {
    if (cues_scanned) return m[p];
    auto cue_end_in = [&](size_t from, size_t to) {
      for (size_t k = from; k < to; ++k) {
        if (IsAlpha(text[k]) || text[k] == '#') return true;
      }
      return false;
    };
    if (cue_end_in(s > kCueBefore + 1 ? s - kCueBefore - 1 : 0, s) ||
        (after && cue_end_in(e, std::min(n, e + kCueAfter)))) {
      return cues(p);
    }
    return kNoCues;
  };
  auto add = [&](PiiType type, size_t s, size_t e, float confidence) {
    found.push_back({type, s, e, confidence});
  };

  // Emails: expand around each '@' over the characters a local part and a domain may hold.
  {
    size_t consumed = 0;
    for (const Region& r : m[kEmailAt]) {
      size_t at = r.to - 2;
      if (at < consumed) continue;
      size_t ls = at;
      auto local_char = [](char c) {
        return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'' ||
               static_cast<unsigned char>(c) >= 0x80;
      };
      while (ls > consumed && at - ls < 64 && local_char(text[ls - 1])) --ls;
      while (ls < at && (text[ls] == '.' || text[ls] == '\'')) ++ls;
      size_t de = at + 1;
      auto domain_char = [](char c) {
        return IsAlnum(c) || c == '.' || c == '-' || static_cast<unsigned char>(c) >= 0x80;
      };
      while (de < n && de - at <= 253 && domain_char(text[de])) ++de;
      consumed = de;
      while (de > at + 1 && (text[de - 1] == '.' || text[de - 1] == '-')) --de;
      // Drop trailing labels until the domain ends in a real TLD ("jane@example.com.Next" -> .com).
      while (de > at + 1) {
        std::string_view cand = text.substr(ls, de - ls);
        if (IsValidEmail(cand)) {
          // Image density descriptors ("logo@2x.png") are file names even under a real TLD.
          std::string_view domain = text.substr(at + 1, de - at - 1);
          size_t dot = domain.find('.');
          std::string_view sld = domain.substr(0, dot);
          bool density = sld.size() >= 2 && (sld.back() == 'x' || sld.back() == 'X') &&
                         sld.substr(0, sld.size() - 1).find_first_not_of("0123456789.") == std::string_view::npos;
          if (!density) add(PiiType::kEmail, ls, de, 0.99f);
          break;
        }
        size_t dot = text.substr(at + 1, de - at - 1).rfind('.');
        if (dot == std::string_view::npos) break;
        de = at + 1 + dot;
      }
    }
  }

  // IPv4: a region must be exactly four dotted numbers.
  for (const Region& r : m[kIpv4]) {
    std::string_view cand = text.substr(r.from, r.to - r.from);
    if (std::count(cand.begin(), cand.end(), '.') != 3) continue;
    if (!StandsAlone(text, r.from, r.to, /*port_ok=*/true) || !IsValidIpv4(cand)) continue;
    if (key.version || (key.identifier && !key.ip)) continue;
    if (CueBefore(cue_lists(kCueVersion, r.from, r.from, /*after=*/false), r.from)) continue;
    add(PiiType::kIpAddress, r.from, r.to, key.ip ? 0.99f : 0.95f);
  }

  // IPv6: expand each trigger to its run of hex digits, colons and dots.
  {
    size_t consumed = 0;
    auto v6_char = [](char c) { return IsHex(c) || c == ':' || c == '.'; };
    for (const Region& r : m[kIpv6]) {
      size_t pos = r.to - 1;
      if (pos < consumed) continue;
      size_t a = pos, b = pos + 1;
      while (a > consumed && v6_char(text[a - 1])) --a;
      while (b < n && v6_char(text[b])) ++b;
      consumed = b;
      if (b - a > 64) continue;
      while (b > a && text[b - 1] == '.') --b;
      if (b - a >= 2 && text[b - 1] == ':' && text[b - 2] != ':') --b;
      if (b - a >= 2 && text[a] == ':' && text[a + 1] != ':') ++a;
      if (a > 0 && (IsAlnum(text[a - 1]) || text[a - 1] == '_')) continue;
      if (b < n && (IsAlnum(text[b]) || text[b] == '_')) continue;
      std::string_view cand = text.substr(a, b - a);
      if (cand.find_first_of("0123456789abcdefABCDEF") == std::string_view::npos) continue;
      if (!IsValidIpv6(cand)) continue;
      add(PiiType::kIpAddress, a, b, 0.95f);
    }
  }

  // Payment cards: the longest Luhn- and issuer-valid group sequences.
  if (!(key.identifier && !key.card) && !key.phone && !key.version) {
    for (const Region& r : m[kCard]) {
      std::array<uint32_t, 64> starts, ends;
      size_t g = 0;
      auto try_groups = [&](size_t count) {
        size_t i = 0;
        while (i < count) {
          bool emitted = false;
          size_t digits = 0, j_max = i;
          for (size_t j = i; j < count; ++j) {
            digits += ends[j] - starts[j];
            if (digits > 19) break;
            j_max = j;
          }
          for (size_t j = j_max + 1; j-- > i;) {
            size_t s = starts[i], e = ends[j];
            std::string_view cand = text.substr(s, e - s);
            if (!StandsAlone(text, s, e) || FragmentOfLongerNumber(text, s, e, true) || !IsValidCreditCard(cand)) {
              continue;
            }
            bool context = key.card || CueNear(cue_lists(kCueCard, s, e), s, e);
            add(PiiType::kCreditCard, s, e, context ? 0.99f : 0.9f);
            emitted = true;
            i = j + 1;
            break;
          }
          if (!emitted) ++i;
        }
      };
      for (size_t p = r.from; p < r.to;) {
        if (IsDigit(text[p])) {
          size_t s = p;
          while (p < r.to && IsDigit(text[p])) ++p;
          if (g == starts.size()) {
            try_groups(g - 19);
            std::copy(starts.end() - 19, starts.end(), starts.begin());
            std::copy(ends.end() - 19, ends.end(), ends.begin());
            g = 19;
          }
          starts[g] = static_cast<uint32_t>(s);
          ends[g] = static_cast<uint32_t>(p);
          ++g;
        } else {
          ++p;
        }
      }
      try_groups(g);
    }
  }

  // US SSNs: exactly one SSN-shaped run per region.
  if (!(key.identifier && !key.ssn) && !key.phone && !key.card && !key.version) {
    for (const Region& r : m[kSsn]) {
      size_t len = r.to - r.from;
      if (len != 9 && len != 11) continue;
      std::string_view cand = text.substr(r.from, len);
      if (!StandsAlone(text, r.from, r.to) || !IsValidUsSsn(cand)) continue;
      bool context = key.ssn || CueNear(cue_lists(kCueSsn, r.from, r.to), r.from, r.to);
      if (len == 11 && cand[3] == '-') {
        add(PiiType::kUsSsn, r.from, r.to, context ? 0.99f : 0.85f);
      } else if (context) {
        add(PiiType::kUsSsn, r.from, r.to, len == 11 ? 0.9f : 0.85f);
      }
    }
  }

  // IBANs: the longest prefix of the region (ending at a group boundary) that passes mod-97.
  for (const Region& r : m[kIban]) {
    if (r.from > 0 && (IsAlnum(text[r.from - 1]) || text[r.from - 1] == '_')) continue;
    std::string_view region = text.substr(r.from, r.to - r.from);
    bool found_one = false;
    if (region.find(' ') == std::string_view::npos) {
      int len = IbanLengthForCountry(region.substr(0, 2));
      if (len > 0 && static_cast<size_t>(len) <= region.size() &&
          IsValidIban(region.substr(0, static_cast<size_t>(len))) &&
          (static_cast<size_t>(len) == region.size() || !IsAlnum(region[static_cast<size_t>(len)]))) {
        add(PiiType::kIban, r.from, r.from + static_cast<size_t>(len), 0.99f);
        found_one = true;
      }
    }
    for (size_t e = region.size(); !found_one && e >= 15;) {
      std::string_view cand = region.substr(0, e);
      if ((r.from + e == n || !IsAlnum(text[r.from + e])) && IsValidIban(cand)) {
        add(PiiType::kIban, r.from, r.from + e, 0.99f);
        break;
      }
      size_t sp = cand.rfind(' ');
      if (sp == std::string_view::npos) break;
      e = sp;
    }
  }

  // Secrets with a recognisable shape (nothing to look at when Hyperscan had no reason to run).
  if (secrets_scanned) {
    auto token_secret = [&](Pattern p, size_t prefix_len, bool need_random) {
      for (const Region& r : m[p]) {
        if (r.from > 0 && IsTokenByte(text[r.from - 1])) continue;
        if (r.to < n && (IsAlnum(text[r.to]) || text[r.to] == '_')) continue;
        std::string_view body = text.substr(r.from + prefix_len, r.to - r.from - prefix_len);
        if (need_random) {
          bool upper = false, lower = false, digit = false;
          for (char c : body) {
            upper |= IsUpperAscii(c);
            lower |= IsLowerAscii(c);
            digit |= IsDigit(c);
          }
          if (!(digit && (upper || lower) && (upper + lower + digit) >= 2)) continue;
          if (!(upper && lower && digit) && body.size() < 32) continue;
        }
        add(PiiType::kSecret, r.from, r.to, 0.99f);
      }
    };
    token_secret(kOpenAiKey, 3, true);
    token_secret(kAwsKey, 4, false);
    token_secret(kGithubToken, 4, false);
    token_secret(kSlackToken, 5, true);
    token_secret(kSlackWebhook, 0, false);
    token_secret(kStripeKey, 8, true);
    token_secret(kGoogleKey, 4, false);
    token_secret(kGoogleOauth, 5, false);
    token_secret(kJwt, 0, false);
    token_secret(kOtherToken, 0, true);
    // PEM private key blocks: BEGIN to the next END (or to the end of the base64 body).
    {
      size_t end_i = 0;
      size_t consumed = 0;
      for (const Region& r : m[kPemBegin]) {
        if (r.from < consumed) continue;
        while (end_i < m[kPemEnd].size() && m[kPemEnd][end_i].to <= r.to) ++end_i;
        size_t e;
        if (end_i < m[kPemEnd].size()) {
          e = m[kPemEnd][end_i].to;
        } else {
          e = r.to;
          while (e < n && (IsAlnum(text[e]) || text[e] == '+' || text[e] == '/' || text[e] == '=' || text[e] == '\n' ||
                           text[e] == '\r' || text[e] == ' ' || text[e] == '\\')) {
            ++e;
          }
          while (e > r.to && (text[e - 1] == '\n' || text[e - 1] == ' ' || text[e - 1] == '\r')) --e;
        }
        consumed = e;
        add(PiiType::kSecret, r.from, e, 0.99f);
      }
    }
    // "password=hunter2!", "api_key: 8f14e45f...", "Authorization: Bearer eyJ...".
    auto assigned_value = [&](size_t p, bool password, size_t min_len) {
      size_t e = p;
      while (e < n && e - p < 512) {
        char c = text[e];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == ',' || c == ';' ||
            c == '&' || c == '<' || c == '>' || c == ')' || c == ']' || c == '}' || c == '`') {
          break;
        }
        ++e;
      }
      while (e > p && (text[e - 1] == '.' || text[e - 1] == ':')) --e;
      std::string_view tok = text.substr(p, e - p);
      if (tok.size() < min_len || IsPlaceholderValue(tok) || !LooksLikeCredential(tok, password)) return;
      add(PiiType::kSecret, p, e, password ? 0.85f : 0.9f);
    };
    for (const Region& r : m[kSecretAssign]) {
      // Which keyword: look back over the match for "pass"/"pwd" (the match is at most ~30 bytes).
      size_t back = r.to >= 32 ? r.to - 32 : 0;
      std::string_view head = text.substr(back, r.to - back);
      const std::string lower = AsciiLowered(head);
      bool password = lower.find("pass") != std::string::npos || lower.find("pwd") != std::string::npos;
      assigned_value(r.to, password, password ? 6 : 12);
    }
    for (const Region& r : m[kBearer]) assigned_value(r.to, false, 16);
  }

  // A value under a credential key is a secret as a whole.
  if (key.secret) {
    bool have = false;
    for (const PiiFinding& f : found) have |= f.type == PiiType::kSecret;
    if (!have) {
      std::string_view v = Trim(text);
      size_t offset = static_cast<size_t>(v.data() - text.data());
      for (std::string_view scheme : {"Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "}) {
        if (v.substr(0, scheme.size()) == scheme) {
          v.remove_prefix(scheme.size());
          offset += scheme.size();
          break;
        }
      }
      if (!v.empty() && !IsPlaceholderValue(v)) {
        if (key.password && v.size() >= 4 && v.find('\n') == std::string_view::npos) {
          add(PiiType::kSecret, offset, offset + v.size(), 0.9f);
        } else if (LooksLikeCredential(v, false) || (v.size() >= 16 && LooksLikeCredential(v, true))) {
          add(PiiType::kSecret, offset, offset + v.size(), 0.85f);
        }
      }
    }
  }

  // Phones last: a run of digits that another detector already claimed (an IP, a card, an IBAN) is not
  // worth libphonenumber's time.
  std::vector<std::pair<size_t, size_t>>& claimed = st->taken;
  claimed.clear();
  for (const PiiFinding& f : found) claimed.emplace_back(f.start, f.end);
  std::sort(claimed.begin(), claimed.end());
  auto overlaps_claimed = [&](size_t s, size_t e) {
    auto it = std::upper_bound(claimed.begin(), claimed.end(), std::make_pair(s, SIZE_MAX));
    if (it != claimed.end() && it->first < e) return true;
    return it != claimed.begin() && std::prev(it)->second > s;
  };
  const bool phone_context_key = key.phone;
  // Phones: split each run of digits and separators into the longest candidates libphonenumber accepts.
  if (!key.version && !key.ssn && !key.card) {
    for (const Region& r : m[kPhone]) {
      // Digit groups of the region.
      struct Group {
        uint32_t s, e;
      };
      std::array<Group, 64> groups;
      size_t g = 0;
      size_t p = r.from;
      auto flush_groups = [&](size_t count) {
        // Try candidates over groups[0..count).
        size_t i = 0;
        while (i < count) {
          bool emitted = false;
          size_t digits_total = 0;
          size_t j_max = i;
          for (size_t j = i; j < count && j < i + 8; ++j) {
            digits_total += groups[j].e - groups[j].s;
            if (digits_total > 15) break;
            j_max = j;
          }
          for (size_t j = j_max + 1; j-- > i && !emitted;) {
            size_t digits = 0;
            for (size_t k = i; k <= j; ++k) digits += groups[k].e - groups[k].s;
            if (digits < 7) break;
            size_t s = groups[i].s, e = groups[j].e;
            // Variants: with a leading '+' / '(' and a closing ')'.
            size_t starts[3] = {s, s, s};
            size_t ns = 1;
            if (s > r.from && (text[s - 1] == '+' || text[s - 1] == '(')) {
              starts[0] = s - 1;
              starts[1] = s;
              ns = 2;
              if (s - 1 > r.from && text[s - 2] == '+' && text[s - 1] == '(') {
                starts[0] = s - 2;
                starts[1] = s - 1;
                starts[2] = s;
                ns = 3;
              }
            }
            for (size_t v = 0; v < ns && !emitted; ++v) {
              size_t cs = starts[v];
              size_t ce = e;
              std::string_view cand = text.substr(cs, ce - cs);
              if (ce < n && text[ce] == ')' &&
                  std::count(cand.begin(), cand.end(), '(') > std::count(cand.begin(), cand.end(), ')')) {
                cand = text.substr(cs, ++ce - cs);
              }
              if (!StandsAlone(text, cs, ce) || overlaps_claimed(cs, ce)) continue;
              bool plus = cand.front() == '+';
              if (FragmentOfLongerNumber(text, cs, ce, !plus && cand.front() != '(')) continue;
              if (key.identifier && !phone_context_key && !plus) continue;
              float conf = phones.Confirm(
                  cand, [&] { return phone_context_key || CueNear(cue_lists(kCuePhone, cs, ce), cs, ce); });
              if (conf > 0) {
                add(PiiType::kPhone, cs, ce, conf);
                emitted = true;
                i = j + 1;
              }
            }
          }
          if (!emitted) ++i;
        }
      };
      while (p < r.to) {
        if (IsDigit(text[p])) {
          size_t s = p;
          while (p < r.to && IsDigit(text[p])) ++p;
          if (g == groups.size()) {
            // Keep the window bounded on long runs: process what we have, keep the tail for overlap.
            flush_groups(g - 8);
            std::copy(groups.end() - 8, groups.end(), groups.begin());
            g = 8;
          }
          groups[g++] = {static_cast<uint32_t>(s), static_cast<uint32_t>(p)};
        } else {
          ++p;
        }
      }
      flush_groups(g);
    }
  }

}

void PiiScanner::Scan(std::string_view key_path, std::string_view value, Scratch* scratch,
                      std::vector<PiiFinding>* out) const {
  Scratch::State* st = scratch->state_.get();
  const Impl& impl = *impl_;
  if (value.empty()) return;
  if (st->fitted_for != impl.id) {
    // Out of memory: Create() checked once.
    if (hs_alloc_scratch(impl.db, &st->hs) != HS_SUCCESS || hs_alloc_scratch(impl.cue_db, &st->hs) != HS_SUCCESS) return;
    st->clean.assign(kCleanCacheSets, CleanSet{});
    st->key_contexts.assign(kKeyCacheSlots, KeyCacheEntry{});
    st->key_long_paths.assign(kKeyCacheSlots, std::string());
    st->key_victim.assign(kKeyCacheSlots / 2, 0);
    if (st->seed == 0) st->seed = std::random_device()() | (static_cast<uint64_t>(std::random_device()()) << 32) | 1;
    st->fitted_for = impl.id;
  }
  // The key-context cache is two-way set associative (a set is two adjacent slots) and replaces the slot
  // that was not hit last; the clean-value cache (CleanSet) is four-way and keeps the newest first.
  const uint64_t path_hash = ShortKeyHash(key_path);
  const size_t key_set_index = (path_hash >> 40) & (kKeyCacheSlots / 2 - 1);
  KeyCacheEntry* key_set = &st->key_contexts[key_set_index * 2];
  auto same_path = [&](size_t w) {
    const KeyCacheEntry& e = key_set[w];
    if (!e.used || e.hash != path_hash || e.length != key_path.size()) return false;
    const char* kept =
        e.length <= KeyCacheEntry::kInline ? e.inline_path : st->key_long_paths[key_set_index * 2 + w].data();
    return SameShortBytes(kept, key_path.data(), key_path.size());
  };
  size_t way;
  if (same_path(0)) {
    way = 0;
  } else if (same_path(1)) {
    way = 1;
  } else {
    way = st->key_victim[key_set_index];
    KeyCacheEntry& e = key_set[way];
    e.hash = path_hash;
    e.length = static_cast<uint32_t>(key_path.size());
    if (key_path.size() <= KeyCacheEntry::kInline) {
      if (!key_path.empty()) memcpy(e.inline_path, key_path.data(), key_path.size());
    } else {
      st->key_long_paths[key_set_index * 2 + way].assign(key_path.data(), key_path.size());
    }
    e.context = ClassifyKey(key_path);
    e.packed_context = PackKeyContext(e.context);
    e.used = true;
  }
  st->key_victim[key_set_index] = static_cast<uint8_t>(way ^ 1);
  const KeyContext key = key_set[way].context;
  // Ids ("1d7b83a9-0ebc-41b0-ad78-282192864bbb", "user-bEwsYrcdNlKYihpFnLhanr9u"; most analytics events
  // carry a few, and they never repeat) in which nothing can be found, answered before the clean-value
  // hash and look-up: the full scan below would find no digit shape (IsIdText), email or IPv6 address
  // in them, no secret (MaySecretsMatch: no Hyperscan call; not a credential key), no name
  // (PersonNameFinder::MayFind), and would not remember them either (see the end).
  if (value.size() >= kIdMinSize && !key.secret && IsIdText(value) && !MaySecretsMatch(value) &&
      !PersonNameFinder::MayFind(key, value)) {
    return;
  }
  uint64_t h1 = 0, h2 = 0;
  CleanSet* clean_set = nullptr;
  if (impl.cache_clean_values && value.size() <= kCleanCacheMaxValue) {
    CacheHash(st->seed, key_set[way].packed_context, value, &h1, &h2);
    clean_set = &st->clean[h2 & (kCleanCacheSets - 1)];
    if (clean_set->Has(h1)) return;
  }
  const size_t out_before = out->size();
  const bool decoded = PercentDecode(value, &st->decoded, &st->offsets);
  std::string_view text = decoded ? std::string_view(st->decoded) : value;
  // Words split and their dictionary look-ups started before the other detectors run, so that the
  // answers are in cache when the names are found below.
  const bool names_tokenized = impl.names->Prepare(key, text, &st->names);
  impl.ScanText(key, text, st);

  // Overlaps: keep the higher-priority type, then the more confident, then the longer finding.
  std::vector<PiiFinding>& found = st->found;
  std::sort(found.begin(), found.end(), [](const PiiFinding& a, const PiiFinding& b) {
    return a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  auto beats = [](const PiiFinding& a, const PiiFinding& b) {
    int pa = Priority(a.type), pb = Priority(b.type);
    if (pa != pb) return pa > pb;
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    return a.end - a.start > b.end - b.start;
  };
  std::vector<PiiFinding>& kept = st->resolved;
  kept.clear();
  for (const PiiFinding& f : found) {
    if (f.confidence < impl.min_confidence) continue;
    bool keep = true;
    while (!kept.empty() && f.start < kept.back().end) {
      if (beats(f, kept.back())) {
        kept.pop_back();
      } else {
        keep = false;
        break;
      }
    }
    if (keep) kept.push_back(f);
  }

  // Person names, around what the other detectors claimed.
  st->taken.clear();
  for (const PiiFinding& f : kept) st->taken.emplace_back(f.start, f.end);
  size_t before_names = kept.size();
  if (names_tokenized) impl.names->Find(key, text, st->taken, &st->names, &kept);
  kept.erase(std::remove_if(kept.begin() + static_cast<ptrdiff_t>(before_names), kept.end(),
                            [&](const PiiFinding& f) { return f.confidence < impl.min_confidence; }),
             kept.end());
  if (kept.size() > before_names) {
    std::inplace_merge(kept.begin(), kept.begin() + static_cast<ptrdiff_t>(before_names), kept.end(),
                       [](const PiiFinding& a, const PiiFinding& b) { return a.start < b.start; });
  }
  for (PiiFinding f : kept) {
    if (decoded) {
      f.start = st->offsets[f.start];
      f.end = st->offsets[f.end];
    }
    out->push_back(f);
  }
  // An id (letters and digits, maybe joined by '-') that neither the secrets database nor the names
  // tokenizer had to look at was cheap to scan, and ids do not repeat: not worth a clean-value cache
  // slot (it would evict values that do). Words without digits ("web") are still remembered.
  if (clean_set != nullptr && out->size() == out_before && !(st->id_like_text && !names_tokenized)) {
    clean_set->Add(h1);
  }
}

}  // namespace vg
