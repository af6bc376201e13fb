#include "pii/person_names.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pii/unicode_text.h"

#include "pii/no_sanitize.h"

namespace vg {

// Defined in the build-time generated names_dictionary_data.cc.
extern const char kNamesDictionaryData[];
extern const size_t kNamesDictionarySize;

namespace {

// Folds for look-up: lower case, typographic apostrophe as ASCII, no trailing period.
void FoldForLookup(std::string_view word, std::string* out) {
  out->clear();
  bool ascii = true;
  for (char c : word) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    out->resize(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
      char c = word[i];
      (*out)[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    }
  } else {
    unicode::AppendFolded(word, out);
    // The typographic apostrophe as ASCII: "O’Connell" is "o'connell".
    if (out->find("\xE2\x80\x99") != std::string::npos) {
      std::string plain;
      plain.reserve(out->size());
      for (size_t i = 0; i < out->size();) {
        if (out->compare(i, 3, "\xE2\x80\x99") == 0) {
          plain.push_back('\'');
          i += 3;
        } else {
          plain.push_back((*out)[i++]);
        }
      }
      out->swap(plain);
    }
  }
  while (!out->empty() && out->back() == '.') out->pop_back();
}

enum : uint8_t { kAsciiUpper = 1, kAsciiLower = 2, kAsciiDigit = 4, kAsciiWord = 7 };
constexpr std::array<uint8_t, 128> MakeAsciiClasses() {
  std::array<uint8_t, 128> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kAsciiUpper;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kAsciiLower;
  for (int c = '0'; c <= '9'; ++c) t[c] = kAsciiDigit;
  return t;
}
constexpr std::array<uint8_t, 128> kAsciiClass = MakeAsciiClasses();

#ifdef __SSE2__
// The 16 bytes of p[i, n) from i (i < n), and in `in_text` which of them lie inside the text (bits
// 0..15). The last, partial chunk is read in place when its 16 bytes lie in one page (the bytes past the
// end are readable then, and the caller masks them off), else through a zero-padded copy.
VG_NO_SANITIZE_ADDRESS inline __m128i LoadChunk16(const char* p, size_t i, size_t n, uint32_t* in_text) {
  if (i + 16 <= n) {
    *in_text = 0xFFFF;
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
  }
  *in_text = (1u << (n - i)) - 1;
  if (WithinOnePage(p + i, 16)) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
  }
  alignas(16) char tail[16] = {};
  memcpy(tail, p + i, n - i);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
}

// The ASCII classes of a chunk's bytes, as byte masks: capitals, small letters, digits, and the joiners
// ('-' and '\'') that may continue a word.
struct ChunkClasses {
  __m128i upper, lower, digit, joiner;
};
inline ChunkClasses ClassifyChunk16(__m128i v) {
  auto in_range = [](__m128i x, char lo, char span) {
    const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(span)), d);
  };
  return {in_range(v, 'A', 'Z' - 'A'), in_range(v, 'a', 'z' - 'a'), in_range(v, '0', 9),
          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\'')))};
}
#endif

// Whether `text` may hold a word that can start a name outside person-name keys: a word that begins with
// an ASCII capital, or any byte of a multi-byte UTF-8 sequence (other scripts are left to SplitWords). A
// word begins where SplitWords starts one: at a letter or digit whose previous byte is neither, and not
// right after an inner '-' or '\'' that continues a word ("user-bEws...", "org-QgvKT1..." are one
// lower-case word each). Exact for ASCII text, so skipping SplitWords when this is false changes nothing.
VG_NO_SANITIZE_ADDRESS bool MayHoldNameStart(std::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
#ifdef __SSE2__
  // Bits 0 and 1: whether the previous chunk's last two bytes were letters or digits, or joiners.
  uint32_t carry_alnum = 0, carry_joiner = 0;
  for (size_t i = 0; i < n; i += 16) {
    uint32_t in_text;  // bytes of this chunk inside the text (bits 0..15)
    const __m128i v = LoadChunk16(p, i, n, &in_text);
    if (static_cast<uint32_t>(_mm_movemask_epi8(v)) & in_text) return true;  // a byte >= 0x80
    const ChunkClasses c = ClassifyChunk16(v);
    const __m128i up = c.upper;
    const __m128i alnum = _mm_or_si128(_mm_or_si128(c.upper, c.lower), c.digit);
    const __m128i joiner = c.joiner;
    // Bit k+2 is byte k of this chunk; bits 0 and 1 the two bytes before it.
    const uint32_t a = static_cast<uint32_t>(_mm_movemask_epi8(alnum)) << 2 | carry_alnum;
    const uint32_t j = static_cast<uint32_t>(_mm_movemask_epi8(joiner)) << 2 | carry_joiner;
    const uint32_t u = static_cast<uint32_t>(_mm_movemask_epi8(up)) & in_text;
    // Byte k starts a capitalised word: a capital, the byte before not a letter or digit, and not a
    // joiner with a letter or digit before it.
    if (u & ~(a >> 1) & ~((j >> 1) & a)) return true;
    carry_alnum = a >> 16;
    carry_joiner = j >> 16;
  }
  return false;
#else
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (static_cast<unsigned char>(c) >= 0x80) return true;
    if (c < 'A' || c > 'Z') continue;
    if (i > 0 && alnum(p[i - 1])) continue;
    if (i > 1 && (p[i - 1] == '-' || p[i - 1] == '\'') && alnum(p[i - 2])) continue;
    return true;
  }
  return false;
#endif
}

// ASCII without a table look-up; the rest through unicode_text.
char32_t DecodeAt(std::string_view s, size_t i, size_t* len) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    *len = 1;
    return b;
  }
  return unicode::Decode(s, i, len);
}
bool IsLetterCp(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return unicode::IsLetter(cp);
}
bool IsUpperCp(char32_t cp) { return cp < 0x80 ? cp >= 'A' && cp <= 'Z' : unicode::IsUpper(cp); }
bool IsLowerCp(char32_t cp) { return cp < 0x80 ? cp >= 'a' && cp <= 'z' : unicode::IsLower(cp); }

bool IsParticle(std::string_view w);

void AddEntry(std::unordered_map<std::string, uint8_t>* map, std::string_view key, uint8_t flag) {
  if (key.empty() || key.size() > UINT16_MAX) return;
  (*map)[std::string(key)] |= flag;
}

}  // namespace

StatusOr<std::shared_ptr<const NamesDictionary>> NamesDictionary::Parse(std::string_view text) {
  auto dict = std::make_shared<NamesDictionary>();
  std::unordered_map<std::string, uint8_t> entries;
  entries.reserve(100000);
  std::string folded, part;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (line.size() < 3 || line[1] != '\t') {
      return Status::InvalidArgument("names dictionary line " + std::to_string(line_no) +
                                     ": expected '<tag>\\t<entry>'");
    }
    uint8_t flag;
    switch (line[0]) {
      case 'F': flag = kFirst; break;
      case 'L': flag = kLast; break;
      case 'P': flag = kPrefix; break;
      case 'S': flag = kSuffix; break;
      case 'C': flag = kPlace; break;
      case 'W': flag = kCommon; break;
      case 'X': flag = kStreet; break;
      case 'K': flag = kCompany; break;
      default:
        return Status::InvalidArgument("names dictionary line " + std::to_string(line_no) + ": unknown tag '" +
                                       std::string(1, line[0]) + "'");
    }
    std::string_view entry = line.substr(2);
    FoldForLookup(entry, &folded);
    AddEntry(&entries, folded, flag);
    // Multi-word entries: names ("Maria Clara", "Le gall") and titles ("Prof. Dr.") also count word by
    // word; short particles ("le", "de") do not become names on their own.
    if (entry.find(' ') != std::string_view::npos && (flag & (kFirst | kLast | kPrefix | kSuffix | kCompany))) {
      size_t start = 0;
      while (start < entry.size()) {
        size_t sp = entry.find(' ', start);
        std::string_view w = entry.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start);
        FoldForLookup(w, &part);
        bool company_filler = flag == kCompany && (part.size() < 3 || part == "and" || part == "und");
        if (!company_filler && (flag == kPrefix || flag == kSuffix || part.size() >= 3 ||
                                (part.size() == 2 && !IsParticle(part)))) {
          AddEntry(&entries, part, flag);
        }
        if (sp == std::string_view::npos) break;
        start = sp + 1;
      }
    }
  }
  dict->Build(entries);
  return std::shared_ptr<const NamesDictionary>(std::move(dict));
}

namespace {

// The hash of folded words, eight bytes at a time (the last eight zero-padded), then a final mix: the
// words are short, and a byte-at-a-time hash (FNV-1a) spent a multiply's latency per byte. The low 32
// bits pick and tag the slot; the high bits index the front filter. `kPadded`: the eight bytes after
// p[n - 1] may be read (the tokenizer's folded copy has room), so the last eight load in one go.
template <bool kPadded>
inline uint64_t HashFolded(const char* p, size_t n) {
  uint64_t h = (n + 1) * 0x9E3779B97F4A7C15ull;
  size_t i = 0;
  for (; i + 8 < n; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    h = (h ^ x) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t x = 0;
  if constexpr (kPadded) {
    memcpy(&x, p + i, 8);
    x &= ~uint64_t{0} >> (8 * (8 - (n - i)));  // n - i is 1..8 (n >= 1)
  } else if (n > i) {
    memcpy(&x, p + i, n - i);
  }
  h = (h ^ x) * 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h * 0x94d049bb133111ebull >> 32 << 32 | static_cast<uint32_t>(h);
}

}  // namespace

uint64_t NamesDictionary::Hash(std::string_view folded) { return HashFolded<false>(folded.data(), folded.size()); }

namespace {
// The two front-filter bits of a hash, for a filter of `words` 64-bit words (a power of two).
inline void FilterBits(uint64_t h, size_t words, size_t* w1, uint64_t* b1, size_t* w2, uint64_t* b2) {
  const size_t bits = words * 64;
  const size_t i1 = (h >> 32) & (bits - 1);
  const size_t i2 = (h >> 11) & (bits - 1);  // other bits than i1's (and mostly than the slot index's)
  *w1 = i1 / 64;
  *b1 = uint64_t{1} << (i1 % 64);
  *w2 = i2 / 64;
  *b2 = uint64_t{1} << (i2 % 64);
}
}  // namespace

void NamesDictionary::Build(const std::unordered_map<std::string, uint8_t>& entries) {
  size_t cap = 16;
  while (cap < entries.size() * 2) cap *= 2;
  slots_.assign(cap, Slot{});
  size_t filter_words = 1;
  while (filter_words * 64 < entries.size() * 8) filter_words *= 2;
  filter_.assign(filter_words, 0);
  pool_.clear();
  for (const auto& [word, flags] : entries) {
    const uint64_t h64 = Hash(word);
    const uint32_t h = static_cast<uint32_t>(h64);
    size_t i = h & (cap - 1);
    while (slots_[i].length != 0) i = (i + 1) & (cap - 1);
    Slot& slot = slots_[i];
    slot.hash = h;
    slot.length = static_cast<uint16_t>(word.size());
    slot.flags = flags;
    if (word.size() <= Slot::kInline) {
      memcpy(slot.bytes, word.data(), word.size());
    } else {
      slot.offset = pool_.size();
      pool_.append(word);
    }
    size_t w1, w2;
    uint64_t b1, b2;
    FilterBits(h64, filter_words, &w1, &b1, &w2, &b2);
    filter_[w1] |= b1;
    filter_[w2] |= b2;
  }
  count_ = entries.size();
}

std::shared_ptr<const NamesDictionary> NamesDictionary::Embedded() {
  static const std::shared_ptr<const NamesDictionary> dict = [] {
    auto parsed = Parse(std::string_view(kNamesDictionaryData, kNamesDictionarySize));
    // The embedded data is generated by our own script; a parse error is a build bug.
    assert(parsed.ok());
    return parsed.ok() ? *parsed : std::make_shared<const NamesDictionary>();
  }();
  return dict;
}

StatusOr<std::shared_ptr<const NamesDictionary>> NamesDictionary::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot read the names dictionary");
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = Parse(buf.str());
  if (!parsed.ok()) return parsed.status().WithPrefix(path);
  return parsed;
}

void NamesDictionary::Prefetch(uint64_t h64) const {
  if (slots_.empty()) return;
  size_t w1, w2;
  uint64_t b1, b2;
  FilterBits(h64, filter_.size(), &w1, &b1, &w2, &b2);
  if (!(filter_[w1] & b1) || !(filter_[w2] & b2)) return;  // Lookup stops at the filter
  __builtin_prefetch(&slots_[static_cast<uint32_t>(h64) & (slots_.size() - 1)]);
}

uint8_t NamesDictionary::Lookup(std::string_view folded, uint64_t h64) const {
  if (slots_.empty() || folded.empty()) return 0;
  {
    size_t w1, w2;
    uint64_t b1, b2;
    FilterBits(h64, filter_.size(), &w1, &b1, &w2, &b2);
    if (!(filter_[w1] & b1) || !(filter_[w2] & b2)) return 0;
  }
  const uint32_t h = static_cast<uint32_t>(h64);
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.length == 0) return 0;
    if (slot.hash == h && slot.length == folded.size()) {
      // Words are short: an inline compare beats a call to memcmp.
      const char* a = folded.size() <= Slot::kInline ? slot.bytes : pool_.data() + slot.offset;
      bool same = true;
      for (size_t k = 0; k < folded.size(); ++k) same &= a[k] == folded[k];
      if (same) return slot.flags;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Finding names

namespace {

enum class Case : uint8_t { kCapitalised, kUpper, kLower, kCaseless };

struct Token {
  uint64_t hash;                 // NamesDictionary::Hash of the folded word, when looked_up
  uint32_t start, end;           // bytes in the text
  uint32_t fold_start, fold_len;  // in State::folded, or in the text when fold_in_text
  bool fold_in_text;
  Case letter_case;
  bool digits;                   // contains a digit: "Gerrit44", not a name
  bool blocked;                  // overlaps a span another detector claimed
  bool joined;                   // separated from the next token by one space (or ". " after a title)
  bool looked_up;                // its flags come from the dictionary
  uint16_t flags;                // dictionary flags, and kCompoundName
};

// Byte classes of 64 bytes of ASCII text, one bit per byte (bit k: byte 64 * block + k).
struct AsciiBlock {
  uint64_t upper, lower, digit, joiner;
  uint64_t word;  // bytes of words: letters, digits, and the joiners inside a word
};

// Token flag beside the dictionary's: a Han or Hangul word that is a family name followed by a given name.
constexpr uint16_t kCompoundName = 0x100;

bool IsHanOrHangul(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
         (cp >= 0xF900 && cp <= 0xFAFF);
}

// Scores: a candidate is a name at kAccept or more.
constexpr int kAccept = 4;
constexpr size_t kMaxNameTokens = 5;  // core words, without title and suffix
constexpr size_t kMaxChain = 9;       // longer runs of capitalised words are headlines, not names

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Word sequences that introduce a name; the last word stands right before it.
struct Cue {
  std::array<std::string_view, 3> words;  // in text order, unused slots empty
  int weight;
  bool needs_break;  // the name must follow after ',' ':' or a line break ("Regards,\nAna Silva")
};

constexpr int kStrong = 3;
constexpr int kWeak = 1;

constexpr Cue kCues[] = {
    {{"my", "name", "is"}, kStrong, false}, {{"name", "is"}, kStrong, false}, {{"i'm"}, kStrong, false},
    {{"i", "am"}, kStrong, false}, {{"this", "is"}, kStrong, false}, {{"it's"}, kStrong, false},
    {{"call", "me"}, kStrong, false}, {{"named"}, kStrong, false}, {{"name"}, kStrong, true},
    {{"names"}, kStrong, true}, {{"regards"}, kStrong, true}, {{"thanks"}, kStrong, true},
    {{"thank", "you"}, kStrong, true}, {{"cheers"}, kStrong, true}, {{"best"}, kStrong, true},
    {{"sincerely"}, kStrong, true}, {{"signed"}, kStrong, false}, {{"dear"}, kStrong, false},
    {{"attn"}, kStrong, false}, {{"attention"}, kStrong, true}, {{"yours"}, kStrong, true},
    {{"signature"}, kStrong, true}, {{"contact", "person"}, kStrong, false}, {{"contact"}, kStrong, true},
    {{"from"}, kStrong, true}, {{"to"}, kStrong, true}, {{"cc"}, kStrong, true}, {{"by"}, kStrong, true},
    {{"m'appelle"}, kStrong, false}, {{"je", "suis"}, kStrong, false}, {{"me", "llamo"}, kStrong, false},
    {{"soy"}, kStrong, false}, {{"mi", "chiamo"}, kStrong, false}, {{"ich", "bin"}, kStrong, false},
    {{"heiße"}, kStrong, false}, {{"name", "ist"}, kStrong, false}, {{"nome", "é"}, kStrong, false},
    {{"me", "chamo"}, kStrong, false}, {{"chamo-me"}, kStrong, false}, {{"naam", "is"}, kStrong, false},
    {{"ik", "ben"}, kStrong, false}, {{"nazywam", "się"}, kStrong, false}, {{"jestem"}, kStrong, false},
    {{"cordialement"}, kStrong, true}, {{"saludos"}, kStrong, true}, {{"atenciosamente"}, kStrong, true},
    {{"grüße"}, kStrong, true}, {{"gruß"}, kStrong, true}, {{"groeten"}, kStrong, true},
    {{"pozdrawiam"}, kStrong, true}, {{"obrigado"}, kStrong, true}, {{"obrigada"}, kStrong, true},
    {{"gracias"}, kStrong, true}, {{"danke"}, kStrong, true}, {{"merci"}, kStrong, true},
    {{"grazie"}, kStrong, true}, {{"saluti"}, kStrong, true}, {{"hälsningar"}, kStrong, true},
    {{"mvh"}, kStrong, true}, {{"abraços"}, kStrong, true},
    {{"from"}, kWeak, false}, {{"to"}, kWeak, false}, {{"by"}, kWeak, false}, {{"for"}, kWeak, false},
    {{"with"}, kWeak, false}, {{"hi"}, kWeak, false}, {{"hello"}, kWeak, false}, {{"hey"}, kWeak, false},
    {{"contact"}, kWeak, false}, {{"customer"}, kWeak, false}, {{"client"}, kWeak, false},
    {{"user"}, kWeak, false}, {{"agent"}, kWeak, false}, {{"cc"}, kWeak, false}, {{"and"}, kWeak, false},
    {{"ask", "for"}, kWeak, false}, {{"per"}, kWeak, false}, {{"de"}, kWeak, false}, {{"para"}, kWeak, false},
    {{"von"}, kWeak, false}, {{"an"}, kWeak, false}, {{"à"}, kWeak, false}, {{"mit"}, kWeak, false},
    {{"met"}, kWeak, false}, {{"con"}, kWeak, false}, {{"com"}, kWeak, false}, {{"owner"}, kWeak, false},
    {{"manager"}, kWeak, false}, {{"spoke"}, kWeak, false}, {{"member"}, kWeak, false},
};

// The cues whose last word is `word` (nullptr: none).
const std::vector<const Cue*>* CuesEndingWith(std::string_view word) {
  static const auto* index = [] {
    auto* m = new std::unordered_map<std::string_view, std::vector<const Cue*>>();
    for (const Cue& cue : kCues) {
      size_t len = 0;
      while (len < 3 && !cue.words[len].empty()) ++len;
      (*m)[cue.words[len - 1]].push_back(&cue);
    }
    return m;
  }();
  auto it = index->find(word);
  return it == index->end() ? nullptr : &it->second;
}

// Words right after a name that say it is one: "Ana Silva here", "Ana Silva wrote:".
constexpr std::string_view kAfterCues[] = {"here", "wrote", "said", "says", "writes", "asked", "called",
                                           "replied", "signed"};

// Lower-case particles inside names: "Maria da Silva", "Ludwig van Beethoven".
constexpr std::string_view kParticles[] = {"da", "de", "del", "della", "der", "den", "di", "do", "dos",
                                           "das", "du", "la", "le", "van", "von", "vom", "zu", "ten",
                                           "ter", "bin", "ibn", "al", "el", "st"};

// A word of at most 7 bytes packed into an integer with its length, so that set membership is a few
// integer compares instead of a memcmp per entry (the tokenizer asks for every short lower-case word).
constexpr uint64_t PackShortWord(std::string_view w) {
  uint64_t x = static_cast<uint64_t>(w.size()) << 56;
  for (size_t i = 0; i < w.size(); ++i) x |= static_cast<uint64_t>(static_cast<unsigned char>(w[i])) << (8 * i);
  return x;
}
constexpr size_t kLongestParticle = 5;
constexpr bool ParticlesFit() {
  for (std::string_view p : kParticles) {
    if (p.size() < 2 || p.size() > kLongestParticle) return false;
  }
  return true;
}
static_assert(ParticlesFit(), "IsParticle's length bounds must cover every particle");

// The first bytes of the particles, as bits (c - 'a'): most short words are rejected by one test.
constexpr uint32_t kParticleFirstBytes = [] {
  uint32_t bits = 0;
  for (std::string_view p : kParticles) bits |= uint32_t{1} << (p[0] - 'a');
  return bits;
}();
constexpr bool ParticlesStartLowerAscii() {
  for (std::string_view p : kParticles) {
    if (p[0] < 'a' || p[0] > 'z') return false;
  }
  return true;
}
static_assert(ParticlesStartLowerAscii(), "kParticleFirstBytes needs particles that start with a-z");

// A set of words of at most 7 bytes, each packed with its length (PackShortWord), in an open-addressing
// table of 2^kBits integers: a look-up is a multiply and a compare or two, where a scan of the words was
// a compare per word (particles) or a binary search with a memcmp per step (stop words). Longer words
// are left out; the caller handles them.
template <unsigned kBits>
class PackedWordSet {
 public:
  template <size_t N>
  constexpr explicit PackedWordSet(const std::string_view (&words)[N]) {
    static_assert(N * 2 <= kSize, "at most half full");
    for (std::string_view w : words) {
      if (w.size() > 7) continue;
      const uint64_t x = PackShortWord(w);
      size_t i = SlotOf(x);
      while (slots_[i] != 0 && slots_[i] != x) i = (i + 1) & (kSize - 1);
      slots_[i] = x;
    }
  }
  // `packed`: PackShortWord of a word of 1-7 bytes.
  constexpr bool Contains(uint64_t packed) const {
    for (size_t i = SlotOf(packed);; i = (i + 1) & (kSize - 1)) {
      if (slots_[i] == packed) return true;
      if (slots_[i] == 0) return false;
    }
  }

 private:
  static constexpr size_t kSize = size_t{1} << kBits;
  static constexpr size_t SlotOf(uint64_t packed) {
    return static_cast<size_t>((packed * 0x9E3779B97F4A7C15ull) >> (64 - kBits));
  }
  std::array<uint64_t, kSize> slots_{};  // 0: empty (a packed word holds its length, at least 1)
};

constexpr PackedWordSet<6> kParticleSet(kParticles);

bool IsParticle(std::string_view w) {
  if (w.size() < 2 || w.size() > kLongestParticle) return false;
  const unsigned first = static_cast<unsigned char>(w[0]) - 'a';
  if (first >= 26 || !(kParticleFirstBytes >> first & 1)) return false;
  return kParticleSet.Contains(PackShortWord(w));
}

// Function words and greetings: never part of a name, even capitalised at a sentence start.
constexpr std::string_view kStopWords[] = {
    "the", "a", "an", "and", "or", "but", "if", "then", "so", "to", "from", "for", "of", "in", "on",
    "at", "by", "with", "my", "your", "our", "their", "his", "her", "its", "this", "that", "these",
    "those", "i", "i'm", "we", "you", "he", "she", "they", "it", "is", "are", "was", "were", "be",
    "please", "thanks", "thank", "hi", "hello", "hey", "dear", "regards", "best", "cheers", "yes",
    "no", "not", "ok", "okay", "sincerely", "kind", "warm", "good", "hope", "all", "any", "some",
    "name", "mr", "mrs", "ms", "dr", "new", "old", "re", "fw", "fwd", "via", "per", "team", "support",
    "customer", "user", "admin", "order", "invoice", "account", "error", "warning", "note", "dear",
    // Dates: "Thu Mar 05 1970".
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday"};

// kStopWords membership (the finder asks for every chain word): the words of up to 7 bytes in a
// PackedWordSet, the few longer ones compared one by one.
constexpr PackedWordSet<8> kStopSet(kStopWords);
constexpr size_t kLongStopWordCount = [] {
  size_t n = 0;
  for (std::string_view w : kStopWords) n += w.size() > 7;
  return n;
}();
constexpr auto kLongStopWords = [] {
  std::array<std::string_view, kLongStopWordCount> t{};
  size_t n = 0;
  for (std::string_view w : kStopWords) {
    if (w.size() > 7) t[n++] = w;
  }
  return t;
}();

bool IsStopWord(std::string_view w) {
  if (w.empty()) return false;
  if (w.size() > 7) {
    for (std::string_view s : kLongStopWords) {
      if (s == w) return true;
    }
    return false;
  }
  return kStopSet.Contains(PackShortWord(w));
}

bool Contains(const std::string_view* begin, const std::string_view* end, std::string_view w) {
  return std::find(begin, end, w) != end;
}
template <size_t N>
bool Contains(const std::string_view (&set)[N], std::string_view w) {
  return Contains(set, set + N, w);
}

}  // namespace

struct PersonNameFinder::Scratch::State {
  std::vector<Token> tokens;
  std::string folded;
  std::string tmp;
  std::vector<AsciiBlock> blocks;
};

PersonNameFinder::Scratch::Scratch() : state_(std::make_unique<State>()) {}
PersonNameFinder::Scratch::~Scratch() = default;
PersonNameFinder::Scratch::Scratch(Scratch&&) noexcept = default;
PersonNameFinder::Scratch& PersonNameFinder::Scratch::operator=(Scratch&&) noexcept = default;

PersonNameFinder::PersonNameFinder(std::shared_ptr<const NamesDictionary> dictionary)
    : dictionary_(std::move(dictionary)) {}

namespace {

// Whether a word is looked up in the dictionary. `lookup_lowercase`: lower-case words too (a person-name
// key: "bryan oliveira"); otherwise only capitalised, upper-case and caseless words and name particles
// are, as only they can be part of a name.
bool WantsLookup(const Token& t, std::string_view folded, bool lookup_lowercase) {
  return !t.digits && (lookup_lowercase || t.letter_case != Case::kLower || (folded.size() <= 5 && IsParticle(folded)));
}

Case CaseOf(bool first_upper, bool any_upper, bool any_lower, size_t length) {
  if (first_upper) return any_lower ? Case::kCapitalised : (length > 1 ? Case::kUpper : Case::kCapitalised);
  return any_upper && !any_lower ? Case::kUpper : Case::kLower;
}

// Classifies ASCII `text` into `blocks` and writes its lower-case copy to the start of `folded` (which then
// holds at least 8 bytes past the copy, for HashFolded<true>). Returns false, with `blocks` and `folded`
// unspecified, when the text has a byte >= 0x80 (or the build has no SSE2): SplitText's case.
VG_NO_SANITIZE_ADDRESS bool ClassifyAscii(std::string_view text, std::vector<AsciiBlock>* blocks, std::string* folded) {
#ifndef __SSE2__
  return false;  // SplitText splits any text
#else
  const char* p = text.data();
  const size_t n = text.size();
  const size_t block_count = (n + 63) / 64;
  if (blocks->size() < block_count) blocks->resize(block_count);
  // Every chunk of 16 is stored whole; not shrunk between calls, so that it is not zero-filled each time.
  if (folded->size() < block_count * 64 + 8) folded->resize(block_count * 64 + 8);
  char* lower_copy = folded->data();
  const __m128i case_bit = _mm_set1_epi8(0x20);
  for (size_t i = 0; i < n; i += 16) {
    uint32_t in_text;
    const __m128i v = LoadChunk16(p, i, n, &in_text);
    if (static_cast<uint32_t>(_mm_movemask_epi8(v)) & in_text) return false;
    const ChunkClasses c = ClassifyChunk16(v);
    const __m128i up = c.upper, lo = c.lower, dg = c.digit, jn = c.joiner;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lower_copy + i), _mm_add_epi8(v, _mm_and_si128(up, case_bit)));
    AsciiBlock& b = (*blocks)[i / 64];
    const unsigned shift = i % 64;
    auto bits = [&](__m128i m) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(m)) & in_text) << shift;
    };
    if (shift == 0) b = {};
    b.upper |= bits(up);
    b.lower |= bits(lo);
    b.digit |= bits(dg);
    b.joiner |= bits(jn);
  }
  // Word bytes: letters and digits, and a joiner between a letter or digit and a letter ("O'Connell",
  // "user-bEws"), as in SplitText ("a--b" and "x-1" are two words each).
  uint64_t carry_word = 0;  // bit 0: the byte before this block is a letter or digit
  for (size_t k = 0; k < block_count; ++k) {
    AsciiBlock& b = (*blocks)[k];
    const uint64_t alnum = b.upper | b.lower | b.digit;
    uint64_t letter_next = (b.upper | b.lower) >> 1;
    if (k + 1 < block_count) letter_next |= ((*blocks)[k + 1].upper | (*blocks)[k + 1].lower) << 63;
    b.word = alnum | (b.joiner & (alnum << 1 | carry_word) & letter_next);
    carry_word = alnum >> 63;
  }
  return true;
#endif
}

// The bits of bytes [s, e) (s < e) of each class, shifted as they are in their blocks: only whether
// they are zero says something.
struct ClassesIn {
  uint64_t upper = 0, lower = 0, digit = 0;
};
inline ClassesIn ClassesOf(const AsciiBlock* blocks, size_t s, size_t e) {
  ClassesIn c;
  const size_t first = s / 64, last = (e - 1) / 64;
  for (size_t k = first; k <= last; ++k) {
    uint64_t m = ~uint64_t{0};
    if (k == first) m &= ~uint64_t{0} << (s % 64);
    if (k == last) m &= ~uint64_t{0} >> (63 - (e - 1) % 64);
    c.upper |= blocks[k].upper & m;
    c.lower |= blocks[k].lower & m;
    c.digit |= blocks[k].digit & m;
  }
  return c;
}

// SplitWords for ASCII text: from the bit masks of ClassifyAscii instead of byte by byte, the
// same tokens as SplitText. A word that is not lower case is folded in the lower-case copy at its offset.
void SplitAscii(std::string_view text, const NamesDictionary& dict, bool lookup_lowercase,
                const std::vector<AsciiBlock>& block_vector, std::vector<Token>* tokens, const std::string& folded) {
  const AsciiBlock* blocks = block_vector.data();
  const size_t block_count = (text.size() + 63) / 64;
  uint64_t carry_word = 0;  // bit 0: the byte before this block is a word byte
  for (size_t k = 0; k < block_count; ++k) {
    const uint64_t word = blocks[k].word;
    uint64_t starts = word & ~(word << 1 | carry_word);
    carry_word = word >> 63;
    while (starts != 0) {
      const size_t s = k * 64 + static_cast<size_t>(__builtin_ctzll(starts));
      starts &= starts - 1;
      // The word ends at the next byte that is not a word byte (the masks are 0 past the text's end).
      size_t end_block = k;
      uint64_t rest = ~word & (~uint64_t{0} << (s % 64));
      while (rest == 0 && ++end_block < block_count) rest = ~blocks[end_block].word;
      const size_t e = end_block < block_count ? end_block * 64 + static_cast<size_t>(__builtin_ctzll(rest))
                                               : block_count * 64;
      Token& t = tokens->emplace_back();
      t.start = static_cast<uint32_t>(s);
      t.end = static_cast<uint32_t>(e);
      const ClassesIn classes = ClassesOf(blocks, s, e);
      t.digits = classes.digit != 0;
      const bool first_upper = blocks[s / 64].upper >> (s % 64) & 1;
      const bool any_upper = classes.upper != 0;
      t.letter_case = CaseOf(first_upper, any_upper, classes.lower != 0, e - s);
      t.fold_start = t.start;
      t.fold_len = t.end - t.start;
      // A lower-case word stands for itself, as in SplitText: "iPhone" is looked up and compared as
      // written. Only then do its bytes differ from the lower-case copy's.
      t.fold_in_text = t.letter_case == Case::kLower;
      const bool as_written = t.fold_in_text && any_upper;
      const std::string_view f((t.fold_in_text ? text.data() : folded.data()) + s, e - s);
      t.looked_up = WantsLookup(t, f, lookup_lowercase);
      if (t.looked_up) {
        t.hash = as_written ? NamesDictionary::Hash(f) : HashFolded<true>(folded.data() + s, e - s);
        dict.Prefetch(t.hash);
      }
    }
  }
}

// SplitWords for any text, by code point.
void SplitText(std::string_view text, const NamesDictionary& dict, bool lookup_lowercase, std::vector<Token>* tokens,
               std::string* folded, std::string* tmp) {
  folded->clear();
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // Between words: ASCII that is neither letter nor digit is skipped by table.
    if (static_cast<unsigned char>(text[i]) < 0x80 && !(kAsciiClass[static_cast<unsigned char>(text[i])] & kAsciiWord)) {
      ++i;
      continue;
    }
    size_t len;
    char32_t cp = DecodeAt(text, i, &len);
    bool digit = cp >= '0' && cp <= '9';
    if (!IsLetterCp(cp) && !digit) {
      i += len;
      continue;
    }
    // Built in place: a copy assembled on the stack cost a store-forwarding stall per word.
    Token& t = tokens->emplace_back();
    t.start = static_cast<uint32_t>(i);
    bool first = true, any_lower = false, any_upper = false, first_upper = false, caseless = false, ascii = true;
    while (i < n) {
      const auto byte = static_cast<unsigned char>(text[i]);
      if (byte < 0x80 && (kAsciiClass[byte] & (kAsciiUpper | kAsciiLower))) {  // the common case, by table
        const bool up = kAsciiClass[byte] & kAsciiUpper;
        if (first) first_upper = up;
        any_upper |= up;
        any_lower |= !up;
        first = false;
        ++i;
        continue;
      }
      cp = DecodeAt(text, i, &len);
      ascii &= cp < 0x80;
      if (IsLetterCp(cp)) {
        bool up = IsUpperCp(cp), lo = IsLowerCp(cp);
        if (first) first_upper = up;
        if (first && !up && !lo) caseless = true;
        any_upper |= up;
        any_lower |= lo;
        first = false;
        i += len;
      } else if (cp >= '0' && cp <= '9') {
        t.digits = true;
        first = false;
        i += len;
      } else if ((cp == '\'' || cp == 0x2019 || cp == '-') && !first && i + len < n) {
        size_t len2;
        char32_t next = DecodeAt(text, i + len, &len2);
        if (!IsLetterCp(next)) break;
        i += len;
      } else {
        break;
      }
    }
    t.end = static_cast<uint32_t>(i);
    t.letter_case = caseless ? Case::kCaseless : CaseOf(first_upper, any_upper, any_lower, t.end - t.start);
    // Lower-case ASCII words are their own folded form: point into the text instead of copying.
    std::string_view f;
    if (ascii && t.letter_case == Case::kLower) {
      t.fold_in_text = true;
      t.fold_start = t.start;
      t.fold_len = t.end - t.start;
      f = text.substr(t.start, t.end - t.start);
    } else {
      FoldForLookup(text.substr(t.start, t.end - t.start), tmp);
      t.fold_start = static_cast<uint32_t>(folded->size());
      t.fold_len = static_cast<uint32_t>(tmp->size());
      folded->append(*tmp);
      f = *tmp;
    }
    t.looked_up = WantsLookup(t, f, lookup_lowercase);
    if (t.looked_up) {
      t.hash = NamesDictionary::Hash(f);
      dict.Prefetch(t.hash);
    }
  }
}

// Tokenizing is two steps, so that the dictionary's memory is fetched while the scanner does other work:
// SplitWords splits `text` into words (letters of any script with inner apostrophes and hyphens,
// "O'Connell", "Considine-Crooks"; digits make a word a non-name) and starts the look-ups of the words
// that can be part of a name (WantsLookup); AnswerWords then marks the words that overlap other
// findings, takes the dictionary's answers and marks the words joined to the next.
void SplitWords(std::string_view text, const NamesDictionary& dict, bool lookup_lowercase, std::vector<Token>* tokens,
                std::string* folded, std::string* tmp, std::vector<AsciiBlock>* blocks) {
  tokens->clear();
  if (tokens->capacity() < 64) tokens->reserve(64);
  if (ClassifyAscii(text, blocks, folded)) {
    SplitAscii(text, dict, lookup_lowercase, *blocks, tokens, *folded);
  } else {
    SplitText(text, dict, lookup_lowercase, tokens, folded, tmp);
  }
}

void AnswerWords(std::string_view text, const std::vector<std::pair<size_t, size_t>>& taken,
                 const NamesDictionary& dict, std::vector<Token>* tokens, const std::string& folded) {
  size_t taken_i = 0;
  for (Token& t : *tokens) {
    while (taken_i < taken.size() && taken[taken_i].second <= t.start) ++taken_i;
    t.blocked = taken_i < taken.size() && taken[taken_i].first < t.end;
  }
  // The dictionary's answers, once every word is split off and its look-up under way.
  for (Token& t : *tokens) {
    if (!t.looked_up) continue;  // flags stay 0
    const std::string_view f = (t.fold_in_text ? text : std::string_view(folded)).substr(t.fold_start, t.fold_len);
    t.flags = dict.Lookup(f, t.hash);
    if (t.letter_case == Case::kCaseless &&
        !(t.flags & (NamesDictionary::kFirst | NamesDictionary::kLast))) {
      // Chinese and Korean names are written without a space: a one- or two-character family name, then
      // the given name ("卢晓博", "令狐义轩", "권도훈").
      std::string_view w(f);
      size_t cps = 0, cut[3] = {0, 0, 0};
      bool han = true;
      for (size_t q = 0; q < w.size() && han;) {
        size_t l;
        char32_t c = unicode::Decode(w, q, &l);
        han = IsHanOrHangul(c);
        q += l;
        if (++cps <= 2) cut[cps] = q;
      }
      if (han && cps >= 2 && cps <= 4) {
        for (size_t c = 1; c <= 2 && cut[c] < w.size(); ++c) {
          if ((dict.Lookup(w.substr(0, cut[c])) & NamesDictionary::kLast) &&
              (dict.Lookup(w.substr(cut[c])) & NamesDictionary::kFirst)) {
            t.flags |= kCompoundName;
            break;
          }
        }
      }
    }
    if (!(t.flags & (NamesDictionary::kFirst | NamesDictionary::kLast)) && f.find('-') != std::string_view::npos) {
      // Double-barrelled names: "Considine-Crooks" is a last name when its parts are.
      uint16_t all = 0xFF;
      size_t s = 0;
            while (s <= f.size()) {
        size_t h = f.find('-', s);
        std::string_view part = f.substr(s, h == std::string_view::npos ? std::string_view::npos : h - s);
        all &= dict.Lookup(part);
        if (h == std::string_view::npos) break;
        s = h + 1;
      }
      t.flags |= all & (NamesDictionary::kFirst | NamesDictionary::kLast);
    }
  }
  // Joins: one space (or no-break space) between words; "Dr. Ana", "J. Smith" after a title or initial.
  for (size_t k = 0; k + 1 < tokens->size(); ++k) {
    Token& a = (*tokens)[k];
    const Token& b = (*tokens)[k + 1];
    std::string_view gap = text.substr(a.end, b.start - a.end);
    bool title_or_initial = (a.flags & NamesDictionary::kPrefix) || (a.end - a.start == 1);
    a.joined = gap == " " || gap == "\xC2\xA0" || (title_or_initial && (gap == ". " || gap == ".\xC2\xA0"));
  }
}

}  // namespace

bool PersonNameFinder::MayFind(const KeyContext& key, std::string_view text) {
  return key.name != NameKey::kNone || MayHoldNameStart(text);
}

bool PersonNameFinder::Prepare(const KeyContext& key, std::string_view text, Scratch* scratch) const {
  // Outside person-name keys a name needs a word that starts with a capital, or a word of another
  // script: ASCII text without such a word start has none.
  if (!MayFind(key, text)) return false;
  Scratch::State& st = *scratch->state_;
  SplitWords(text, *dictionary_, key.name == NameKey::kPerson, &st.tokens, &st.folded, &st.tmp, &st.blocks);
  return true;
}

void PersonNameFinder::Find(const KeyContext& key, std::string_view text,
                            const std::vector<std::pair<size_t, size_t>>& taken, Scratch* scratch,
                            std::vector<PiiFinding>* out) const {
  Scratch::State& st = *scratch->state_;
  const NamesDictionary& dict = *dictionary_;
  AnswerWords(text, taken, dict, &st.tokens, st.folded);
  const std::vector<Token>& tok = st.tokens;
  if (tok.empty()) return;
  auto fold = [&](size_t k) {
    return (tok[k].fold_in_text ? text : std::string_view(st.folded)).substr(tok[k].fold_start, tok[k].fold_len);
  };
  auto is_name_word = [&](size_t k) {
    return (tok[k].flags & (NamesDictionary::kFirst | NamesDictionary::kLast | kCompoundName)) != 0;
  };
  auto is_stop = [&](size_t k) { return IsStopWord(fold(k)); };

  // A value under a person-name key is a name as a whole when it is written like one.
  if (key.name == NameKey::kPerson) {
    size_t a = 0, b = text.size();
    while (a < b && (IsSpace(text[a]) || text[a] == '\n' || text[a] == '\r')) ++a;
    while (b > a && (IsSpace(text[b - 1]) || text[b - 1] == '\n' || text[b - 1] == '\r' || text[b - 1] == ',')) --b;
    bool ok = b > a && b - a <= 120 && tok.size() <= 8;
    bool any_name_like = false;
    for (size_t k = 0; ok && k < tok.size(); ++k) {
      if (tok[k].digits || tok[k].blocked) ok = false;
      if (tok[k].letter_case != Case::kLower || is_name_word(k)) any_name_like = true;
    }
    for (size_t p = a; ok && p < b; ++p) {
      char c = text[p];
      if (c == '@' || c == '/' || c == ':' || c == '_' || c == '=' || c == '<' || c == '>' || c == '{' ||
          c == '[' || c == '#' || c == '?' || c == '&' || c == '|' || c == '\\') {
        ok = false;
      }
    }
    // Placeholders ("anonymous", "Guest") are common words, not names.
    if (ok && tok.size() == 1 && (tok[0].flags & NamesDictionary::kCommon) && !is_name_word(0)) ok = false;
    if (ok && any_name_like) {
      out->push_back({PiiType::kPersonName, a, b, 0.95f});
      return;
    }
  }

  const size_t n = tok.size();
  size_t k = 0;
  while (k < n) {
    // A chain: consecutive joined words that could be part of a name.
    auto chainable = [&](size_t j) {
      const Token& t = tok[j];
      if (t.digits || t.blocked) return false;
      if (t.letter_case == Case::kCapitalised) return true;
      if (t.letter_case == Case::kUpper) return is_name_word(j) || (t.flags & (NamesDictionary::kSuffix | NamesDictionary::kPrefix));
      if (t.letter_case == Case::kCaseless) return is_name_word(j) || (t.flags & kCompoundName);
      return false;
    };
    if (!chainable(k)) {
      ++k;
      continue;
    }
    size_t end = k + 1;  // exclusive
    while (end < n && tok[end - 1].joined && end - k < kMaxChain + 1) {
      if (chainable(end)) {
        ++end;
      } else if (tok[end].letter_case == Case::kLower && IsParticle(fold(end))) {
        // "van der Velde", "de la Cruz": up to three particles, then a capitalised word.
        size_t q = end;
        while (q < n && q - end < 3 && tok[q].letter_case == Case::kLower && IsParticle(fold(q)) &&
               tok[q].joined) {
          ++q;
        }
        if (q < n && q > end && chainable(q)) {
          end = q + 1;
        } else {
          break;
        }
      } else {
        break;
      }
    }
    const size_t chain_begin = k, chain_end = end;
    k = end;
    if (chain_end - chain_begin > kMaxChain) continue;

    // Title, core words, suffix.
    size_t b = chain_begin, e = chain_end;
    // Drop leading words that cannot start a name ("Thanks", "Order", "GPT"); titles stay.
    auto droppable = [&](size_t j) {
      if (tok[j].flags & NamesDictionary::kPrefix) return false;
      if (is_stop(j)) return true;
      if (is_name_word(j)) return false;
      return (tok[j].flags & NamesDictionary::kCommon) || tok[j].letter_case == Case::kUpper;
    };
    while (b < e && droppable(b)) ++b;
    bool title = false;
    while (b < e && (tok[b].flags & NamesDictionary::kPrefix) && !is_name_word(b)) {
      title = true;
      ++b;
    }
    if (b < e && (tok[b].flags & NamesDictionary::kPrefix) && b + 1 < e && !(tok[b].flags & NamesDictionary::kFirst)) {
      title = true;
      ++b;
    }
    bool suffix = false;
    while (e > b + 1 && (tok[e - 1].flags & NamesDictionary::kSuffix) && !(tok[e - 1].flags & NamesDictionary::kLast)) {
      suffix = true;
      --e;
    }
    // Drop trailing words that are neither names nor particles.
    while (e > b && !is_name_word(e - 1) && (is_stop(e - 1) || (tok[e - 1].flags & NamesDictionary::kCommon) ||
                                             tok[e - 1].letter_case == Case::kUpper)) {
      --e;
      suffix = false;
    }
    if (e <= b || e - b > kMaxNameTokens) continue;
    size_t core = e - b;
    bool has_stop = false;
    for (size_t j = b; j < e; ++j) has_stop |= is_stop(j) && !is_name_word(j);
    if (has_stop) continue;

    int score = 0;
    const uint16_t f1 = tok[b].flags, fl = tok[e - 1].flags;
    const bool first_is_first = f1 & NamesDictionary::kFirst;
    const bool caseless = tok[b].letter_case == Case::kCaseless;
    // Given name first ("Ana Silva"), or family name first as in Chinese, Japanese, Korean and Hungarian
    // ("森下 清子", "Nagy Anna"): weaker evidence where capitalised scripts usually put the given name first.
    const bool reversed = core >= 2 && (f1 & NamesDictionary::kLast) && (fl & NamesDictionary::kFirst);
    int forward = (first_is_first ? 2 : (f1 & NamesDictionary::kLast) ? 1 : 0);
    if (core >= 2) forward += (fl & NamesDictionary::kLast) ? 2 : (fl & NamesDictionary::kFirst) ? 1 : 0;
    int backward = reversed ? (caseless ? 4 : 3) : 0;
    if (core == 1 && (f1 & kCompoundName)) forward = 4;  // "卢晓博": family and given name in one word
    score += std::max(forward, backward);
    for (size_t j = b + 1; j + 1 < e; ++j) {
      if (!is_name_word(j) && !IsParticle(fold(j))) score -= 1;
    }
    if (core >= 2 && !is_name_word(b)) score -= 1;  // "Mr Tambourine Man"
    for (size_t j = b; j < e; ++j) {
      if ((tok[j].flags & NamesDictionary::kCommon) && !is_name_word(j)) score -= 1;
      if (tok[j].letter_case == Case::kUpper && !is_name_word(j)) score -= 2;
    }
    if (title) score += 2;
    if (suffix) score += 1;

    // Context before the name (or its title).
    const size_t first_tok = title ? b - 1 : b;
    int context = 0;
    {
      // The words before `first_tok`, nearest last: only the cues ending in the word right before.
      const std::vector<const Cue*>* cues = first_tok > 0 ? CuesEndingWith(fold(first_tok - 1)) : nullptr;
      for (size_t c = 0; cues != nullptr && c < cues->size(); ++c) {
        const Cue& cue = *(*cues)[c];
        size_t len = 0;
        while (len < 3 && !cue.words[len].empty()) ++len;
        if (first_tok < len) continue;
        bool match = true;
        for (size_t w = 0; w < len && match; ++w) {
          match = fold(first_tok - len + w) == cue.words[w];
        }
        if (!match) continue;
        // Gap between the cue and the name.
        std::string_view gap = text.substr(tok[first_tok - 1].end, tok[first_tok].start - tok[first_tok - 1].end);
        bool has_break = gap.find_first_of(",:\n-") != std::string_view::npos ||
                         gap.find("\xE2\x80\x94") != std::string_view::npos;
        bool sentence_end = gap.find_first_of(".!?;") != std::string_view::npos;
        if (cue.needs_break ? !has_break : (sentence_end || gap.size() > 3)) continue;
        context = std::max(context, cue.weight);
      }
    }
    // After the name.
    {
      size_t last = chain_end;  // suffix included
      if (last < n) {
        std::string_view gap = text.substr(tok[last - 1].end, tok[last].start - tok[last - 1].end);
        if ((gap == " " || gap == ", ") && Contains(kAfterCues, fold(last))) context = std::max(context, kStrong);
      }
      // Contact details right after the name: "Ana Silva (+1 415 ...)", "Ana Silva <ana@...>".
      size_t end_byte = tok[last - 1].end;
      auto span = std::lower_bound(taken.begin(), taken.end(), std::make_pair(end_byte, size_t{0}));
      if (span != taken.end() && span->first <= end_byte + 3) {
        std::string_view gap = text.substr(end_byte, span->first - end_byte);
        if (gap.find_first_not_of(" (<,:") == std::string_view::npos) context = std::max(context, kWeak + 1);
      }
    }
    // A signature: the name alone on the last line of a multi-line text, or on a line after a closing
    // line ("Thanks,").
    {
      size_t s = tok[first_tok].start, t_end = tok[chain_end - 1].end;
      size_t ls = s;
      while (ls > 0 && IsSpace(text[ls - 1])) --ls;
      bool line_start = ls == 0 || text[ls - 1] == '\n';
      size_t le = t_end;
      while (le < text.size() && (IsSpace(text[le]) || text[le] == '.' || text[le] == ',')) ++le;
      bool line_end = le == text.size() || text[le] == '\n' || text[le] == '\r';
      if (line_start && line_end && ls > 0) {
        size_t prev_end = ls - 1;  // the '\n'
        while (prev_end > 0 && (text[prev_end - 1] == '\r' || IsSpace(text[prev_end - 1]))) --prev_end;
        bool closing = prev_end > 0 && (text[prev_end - 1] == ',' || text[prev_end - 1] == '!');
        bool last_line = le == text.size();
        context = std::max(context, closing ? kStrong : last_line ? kWeak + 1 : 0);
      }
    }
    if (key.name == NameKey::kPerson || key.name == NameKey::kMaybePerson) context = std::max(context, kStrong);
    if (key.not_person && context < kStrong) continue;
    // Streets and towns named after people: "Rua Júlia Neto", "Diyor Komilov bulvari", "Lake John".
    if (context < kStrong) {
      auto street_word = [&](size_t j) {
        constexpr uint16_t kNamePart = NamesDictionary::kFirst | NamesDictionary::kLast | NamesDictionary::kPrefix |
                                       NamesDictionary::kSuffix | kCompoundName;
        return (tok[j].flags & NamesDictionary::kStreet) && !(tok[j].flags & kNamePart) &&
               tok[j].letter_case != Case::kLower;
      };
      const size_t after = suffix ? chain_end : e;
      bool street = (first_tok > 0 && tok[first_tok - 1].joined && street_word(first_tok - 1)) ||
                    (after < n && tok[after - 1].joined && street_word(after));
      if (street) continue;
    }
    // Companies: "Vela Pizarro y Niño Zepeda Asociados", "Müller & Söhne GmbH".
    {
      bool company = false;
      for (size_t j = e; j < n && j < e + 6 && !company; ++j) {
        if (j > e) {
          std::string_view gap = text.substr(tok[j - 1].end, tok[j].start - tok[j - 1].end);
          if (gap.find_first_of("!?;:\n") != std::string_view::npos) break;
        }
        company = (tok[j].flags & NamesDictionary::kCompany) && tok[j].letter_case != Case::kLower;
      }
      if (company) continue;
    }
    // Scripts without case give no capitalisation signal: the dictionary alone is not enough.
    if (caseless && context == 0) continue;
    // Several family names in a row are a company ("Arenas Tejada y Salas"), unless something says person.
    if (core >= 2 && !first_is_first && !reversed && !(f1 & kCompoundName) && !title && context < kStrong) continue;
    // A number right after it: a date or an address ("Mar 05 1970", "Rua Júlia Neto 3").
    if (chain_end < n && tok[chain_end - 1].joined && tok[chain_end].digits && context < kStrong) continue;
    // A house number before it: a street ("3545 Kayla Knoll").
    if (first_tok > 0 && tok[first_tok - 1].digits && tok[first_tok - 1].joined &&
        text.substr(tok[first_tok - 1].start, tok[first_tok - 1].end - tok[first_tok - 1].start)
                .find_first_not_of("0123456789") == std::string_view::npos) {
      continue;
    }

    if (core == 1 && !(tok[b].flags & kCompoundName)) {
      // One word is a name only when something says so: a title ("Mr. Smith") or a strong cue.
      if (!is_name_word(b) || (tok[b].flags & NamesDictionary::kCommon) || (!title && context < kStrong)) continue;
      if (tok[b].letter_case == Case::kUpper) continue;
    }
    score += context;
    if (score < kAccept) continue;
    // Place names: "San Francisco", "Paris". Looked up last (a cache miss each): the penalty can only
    // turn a candidate down, and most are turned down before.
    st.tmp.clear();
    for (size_t j = b; j < e; ++j) {
      if (j > b) st.tmp.push_back(' ');
      st.tmp.append(fold(j));
    }
    if (dict.Lookup(st.tmp) & NamesDictionary::kPlace) score -= 3;
    if (score < kAccept) continue;
    float confidence = std::min(0.99f, 0.5f + 0.08f * static_cast<float>(score));
    size_t name_end = suffix ? tok[chain_end - 1].end : tok[e - 1].end;
    out->push_back({PiiType::kPersonName, tok[first_tok].start, name_end, confidence});
  }
}

}  // namespace vg
