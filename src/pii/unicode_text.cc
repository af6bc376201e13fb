#include "pii/unicode_text.h"

namespace vg::unicode {

char32_t Decode(std::string_view s, size_t i, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *len = 1;
  if (b0 < 0x80) return b0;
  size_t need;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
  } else {
    return kReplacement;
  }
  if (i + need >= s.size()) return kReplacement;  // truncated
  for (size_t k = 1; k <= need; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return kReplacement;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF.
  if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return kReplacement;
  }
  *len = need + 1;
  return cp;
}

void Append(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsLetter(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
  if (cp < 0x100) return (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7) || cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp <= 0x036F) return true;                      // Latin extended, IPA, modifiers, combining marks
  if (cp <= 0x03FF) return cp != 0x037E && cp != 0x0387;  // Greek (minus its question mark, ano teleia)
  if (cp <= 0x052F) return cp < 0x0482 || cp > 0x0489;    // Cyrillic (minus thousands sign, marks)
  if (cp >= 0x0531 && cp <= 0x058F) return cp < 0x0559 || cp > 0x055F;  // Armenian letters
  if (cp >= 0x0591 && cp <= 0x05F2) return true;                         // Hebrew
  if (cp >= 0x0600 && cp <= 0x06FF) {                                    // Arabic, minus its punctuation
    return !(cp <= 0x060F || cp == 0x061B || cp == 0x061F || (cp >= 0x066A && cp <= 0x066D) ||
             cp == 0x06D4 || (cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06F0 && cp <= 0x06F9));
  }
  if (cp >= 0x0700 && cp <= 0x07BF) return true;   // Syriac, Thaana
  if (cp >= 0x0900 && cp <= 0x0DFF) {              // Indic scripts, minus danda and digits
    return cp != 0x0964 && cp != 0x0965 && (cp & 0x7F) < 0x66;
  }
  if (cp >= 0x0E00 && cp <= 0x0EFF) return (cp & 0x7F) < 0x50 || (cp & 0x7F) > 0x59;  // Thai, Lao
  if (cp >= 0x10A0 && cp <= 0x11FF) return cp != 0x10FB;                              // Georgian, Jamo
  if (cp >= 0x1C90 && cp <= 0x1CBF) return true;                                      // Georgian Mtavruli
  if (cp >= 0x1E00 && cp <= 0x1FFF) return true;   // Latin extended additional, Greek extended
  if (cp >= 0x3040 && cp <= 0x30FF) return cp != 0x30FB;  // kana (minus the middle dot)
  if (cp >= 0x3400 && cp <= 0x4DBF) return true;
  if (cp >= 0x4E00 && cp <= 0x9FFF) return true;
  if (cp >= 0xAC00 && cp <= 0xD7AF) return true;   // Hangul syllables
  if (cp >= 0xF900 && cp <= 0xFAFF) return true;
  if (cp >= 0xFF21 && cp <= 0xFF3A) return true;   // full-width Latin
  if (cp >= 0xFF41 && cp <= 0xFF5A) return true;
  return false;
}

namespace {

// Latin Extended-A pairs upper/lower as (even, odd) except in three stretches that pair (odd, even).
bool LatinExtAUpper(char32_t cp) {
  if (cp == 0x0130) return true;   // İ
  if (cp == 0x0131 || cp == 0x0138 || cp == 0x0149 || cp == 0x017F) return false;
  if ((cp >= 0x0139 && cp <= 0x0148) || (cp >= 0x0179 && cp <= 0x017E)) return cp & 1;
  if (cp == 0x0178) return true;   // Ÿ
  return !(cp & 1);
}

}  // namespace

bool IsUpper(char32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
  if (cp < 0x100) return cp >= 0xC0 && cp <= 0xDE && cp != 0xD7;
  if (cp <= 0x017F) return LatinExtAUpper(cp);
  if (cp >= 0x0180 && cp <= 0x024F) {
    // Latin Extended-B is irregular; these are the capitals that occur in names (Ș, Ț, Ǎ, ...).
    return (cp >= 0x01CD && cp <= 0x01DC && (cp & 1)) || (cp >= 0x01DE && cp <= 0x01EF && !(cp & 1)) ||
           (cp >= 0x01F8 && cp <= 0x024F && !(cp & 1)) || cp == 0x0181 || cp == 0x0186 || cp == 0x0189 ||
           cp == 0x018A || cp == 0x018E || cp == 0x018F || cp == 0x0190 || cp == 0x0193 || cp == 0x0194 ||
           cp == 0x0196 || cp == 0x0197 || cp == 0x019C || cp == 0x019D || cp == 0x019F || cp == 0x01A0 ||
           cp == 0x01AF || cp == 0x01B3 || cp == 0x01B5 || cp == 0x01B7 || cp == 0x01C4 || cp == 0x01C7 ||
           cp == 0x01CA || cp == 0x01F1;
  }
  if (cp >= 0x0370 && cp <= 0x03FF) {
    return cp == 0x0386 || (cp >= 0x0388 && cp <= 0x038F && cp != 0x038B && cp != 0x038D) ||
           (cp >= 0x0391 && cp <= 0x03AB && cp != 0x03A2);
  }
  if (cp >= 0x0400 && cp <= 0x042F) return true;
  if ((cp >= 0x0460 && cp <= 0x0481) || (cp >= 0x048A && cp <= 0x04BF) || (cp >= 0x04D0 && cp <= 0x052F)) {
    return !(cp & 1);
  }
  if (cp >= 0x04C1 && cp <= 0x04CE) return cp & 1;
  if (cp >= 0x0531 && cp <= 0x0556) return true;
  if (cp >= 0x10A0 && cp <= 0x10C5) return true;
  if (cp >= 0x1C90 && cp <= 0x1CBF) return true;
  if (cp >= 0x1E00 && cp <= 0x1EFF) return !(cp & 1) && cp != 0x1E9C && cp != 0x1E9A && cp != 0x1E98 && cp != 0x1E96;
  if (cp >= 0xFF21 && cp <= 0xFF3A) return true;
  return false;
}

bool IsLower(char32_t cp) {
  if (cp < 0x80) return cp >= 'a' && cp <= 'z';
  if (cp < 0x100) return (cp >= 0xDF && cp != 0xF7) || cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp <= 0x024F) return !IsUpper(cp);
  if (cp >= 0x0250 && cp <= 0x02AF) return true;
  if (cp >= 0x0370 && cp <= 0x03FF) return IsLetter(cp) && !IsUpper(cp) && cp != 0x0374;
  if (cp >= 0x0430 && cp <= 0x045F) return true;
  if (cp >= 0x0460 && cp <= 0x052F) return IsLetter(cp) && !IsUpper(cp) && cp != 0x04C0;
  if (cp >= 0x0561 && cp <= 0x0587) return true;
  if (cp >= 0x1E00 && cp <= 0x1EFF) return !IsUpper(cp);
  if (cp >= 0x1F00 && cp <= 0x1FFF) return true;
  if (cp >= 0xFF41 && cp <= 0xFF5A) return true;
  return false;
}

char32_t ToLower(char32_t cp) {
  if (!IsUpper(cp)) return cp;
  if (cp < 0x80) return cp + 32;
  if (cp < 0x100) return cp + 32;
  if (cp == 0x0130) return 'i';
  if (cp == 0x0178) return 0xFF;
  if (cp <= 0x024F) {
    switch (cp) {
      case 0x0181: return 0x0253;
      case 0x0186: return 0x0254;
      case 0x0189: return 0x0256;
      case 0x018A: return 0x0257;
      case 0x018E: return 0x01DD;
      case 0x018F: return 0x0259;
      case 0x0190: return 0x025B;
      case 0x0193: return 0x0260;
      case 0x0194: return 0x0263;
      case 0x0196: return 0x0269;
      case 0x0197: return 0x0268;
      case 0x019C: return 0x026F;
      case 0x019D: return 0x0272;
      case 0x019F: return 0x0275;
      case 0x01B7: return 0x0292;
      case 0x01C4: return 0x01C6;
      case 0x01C7: return 0x01C9;
      case 0x01CA: return 0x01CC;
      case 0x01F1: return 0x01F3;
      default: return cp + 1;
    }
  }
  if (cp == 0x0386) return 0x03AC;
  if (cp >= 0x0388 && cp <= 0x038A) return cp + 37;
  if (cp == 0x038C) return 0x03CC;
  if (cp == 0x038E || cp == 0x038F) return cp + 63;
  if (cp >= 0x0391 && cp <= 0x03AB) return cp + 32;
  if (cp >= 0x0400 && cp <= 0x040F) return cp + 80;
  if (cp >= 0x0410 && cp <= 0x042F) return cp + 32;
  if (cp >= 0x0460 && cp <= 0x052F) return cp + 1;
  if (cp >= 0x0531 && cp <= 0x0556) return cp + 48;
  if (cp >= 0x10A0 && cp <= 0x10C5) return cp + 0x1C60;  // Asomtavruli -> Nuskhuri
  if (cp >= 0x1C90 && cp <= 0x1CBF) return cp - 0x0BC0;  // Mtavruli -> Mkhedruli
  if (cp >= 0x1E00 && cp <= 0x1EFF) return cp + 1;
  if (cp >= 0xFF21 && cp <= 0xFF3A) return cp + 32;
  return cp;
}

void AppendFolded(std::string_view word, std::string* out) {
  for (size_t i = 0; i < word.size();) {
    const auto b = static_cast<unsigned char>(word[i]);
    if (b < 0x80) {
      out->push_back(b >= 'A' && b <= 'Z' ? static_cast<char>(b + 32) : static_cast<char>(b));
      ++i;
      continue;
    }
    size_t len;
    char32_t cp = Decode(word, i, &len);
    if (cp == kReplacement && len == 1) {
      out->push_back(word[i]);
    } else {
      Append(ToLower(cp), out);
    }
    i += len;
  }
}

}  // namespace vg::unicode
