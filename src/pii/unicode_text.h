// Just enough Unicode for the PII scanner's word logic: decoding UTF-8 code points, telling letters from
// punctuation, upper case from lower case (Latin, Greek, Cyrillic, Armenian) and folding case for
// dictionary look-ups. Scripts without case (CJK, Arabic, Hebrew, Indic, Thai, Hangul, ...) are letters
// that are neither upper nor lower. Malformed UTF-8 decodes byte by byte as U+FFFD, so every function here
// is total over arbitrary bytes.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vg::unicode {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point starting at s[i] (i < s.size()) and stores its byte length in *len (1 for a
// malformed or truncated sequence, which decodes as kReplacement).
char32_t Decode(std::string_view s, size_t i, size_t* len);

// Appends the UTF-8 encoding of `cp` to `out`.
void Append(char32_t cp, std::string* out);

bool IsLetter(char32_t cp);  // letters of any script and combining marks
bool IsUpper(char32_t cp);
bool IsLower(char32_t cp);
// A letter of a script without case: such words carry no capitalisation signal.
inline bool IsCaseless(char32_t cp) { return IsLetter(cp) && !IsUpper(cp) && !IsLower(cp); }
char32_t ToLower(char32_t cp);

// Appends `word` to `out` with every letter lower-cased (malformed bytes copied as they are).
void AppendFolded(std::string_view word, std::string* out);

}  // namespace vg::unicode
