#include "pii/scanner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "pii/key_context.h"
#include "pii/person_names.h"
#include "pii/phone_numbers.h"

namespace vg {
namespace {

const PiiScanner& Scanner() {
  static const std::shared_ptr<const PiiScanner> scanner = [] {
    auto s = PiiScanner::Create();
    if (!s.ok()) {
      ADD_FAILURE() << s.status().message();
      std::abort();
    }
    return *s;
  }();
  return *scanner;
}

struct Found {
  std::string type;
  std::string text;
  size_t start, end;
  bool operator==(const Found&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Found& f) {
  return os << f.type << "[" << f.start << "," << f.end << ")\"" << f.text << "\"";
}

std::vector<Found> Scan(std::string_view key, std::string_view value) {
  std::vector<PiiFinding> out;
  Scanner().Scan(key, value, &out);
  std::vector<Found> found;
  for (const PiiFinding& f : out) {
    EXPECT_LE(f.start, f.end);
    EXPECT_LE(f.end, value.size());
    EXPECT_GT(f.confidence, 0.0f);
    EXPECT_LE(f.confidence, 1.0f);
    found.push_back({std::string(PiiTypeName(f.type)), std::string(value.substr(f.start, f.end - f.start)),
                     f.start, f.end});
  }
  return found;
}

// The value holds exactly one finding, of `type`, spanning `expected` (which occurs once in `value`).
void ExpectOnly(std::string_view key, std::string_view value, std::string_view type, std::string_view expected) {
  SCOPED_TRACE(std::string(value));
  size_t at = value.find(expected);
  ASSERT_NE(at, std::string_view::npos);
  std::vector<Found> want = {{std::string(type), std::string(expected), at, at + expected.size()}};
  EXPECT_EQ(Scan(key, value), want);
}

void ExpectNothing(std::string_view key, std::string_view value) {
  SCOPED_TRACE(std::string(key) + ": " + std::string(value));
  EXPECT_EQ(Scan(key, value), std::vector<Found>{});
}

// ---------------------------------------------------------------------------------------------------
// Each type in free text, with its offsets

TEST(PiiScanner, FindsEmailInFreeText) {
  ExpectOnly("properties.comment", "Please contact me at jane.doe+billing@example.co.uk about my invoice", "email",
             "jane.doe+billing@example.co.uk");
  ExpectOnly("properties.comment", "mailto:Max.Mustermann@uni-hamburg.de.", "email", "Max.Mustermann@uni-hamburg.de");
}

TEST(PiiScanner, FindsPhonesInInternationalAndNationalForms) {
  ExpectOnly("properties.comment", "Call me back on +49 171 2242258 after 5pm", "phone", "+49 171 2242258");
  ExpectOnly("properties.comment", "new number: +447400123456, thanks", "phone", "+447400123456");
  ExpectOnly("properties.note", "reach the office at (201) 555-0123 today", "phone", "(201) 555-0123");
  ExpectOnly("properties.note", "mobile 07400 123456", "phone", "07400 123456");
  ExpectOnly("properties.note", "appelez le 06 12 34 56 78 svp", "phone", "06 12 34 56 78");
}

TEST(PiiScanner, FindsIpAddresses) {
  ExpectOnly("properties.message", "Login from 203.0.113.54 failed 3 times", "ip_address", "203.0.113.54");
  ExpectOnly("properties.message", "request from 2001:db8:a81b:e67d::c8 was throttled", "ip_address",
             "2001:db8:a81b:e67d::c8");
  ExpectOnly("properties.message", "blocked client 198.51.100.7:8443", "ip_address", "198.51.100.7");
}

TEST(PiiScanner, FindsCreditCards) {
  ExpectOnly("properties.comment", "My card 4111 1111 1111 1111 was charged twice", "credit_card", "4111 1111 1111 1111");
  ExpectOnly("properties.comment", "cannot verify 378282246310005, exp 04/27", "credit_card", "378282246310005");
  ExpectOnly("properties.comment", "amex 3782-822463-10005 declined", "credit_card", "3782-822463-10005");
}

TEST(PiiScanner, FindsIbans) {
  ExpectOnly("properties.comment", "Refund to IBAN GB82 WEST 1234 5698 7654 32 please", "iban",
             "GB82 WEST 1234 5698 7654 32");
  ExpectOnly("properties.comment", "Refund to DE89370400440532013000.", "iban", "DE89370400440532013000");
}

TEST(PiiScanner, FindsUsSsns) {
  ExpectOnly("properties.comment", "my social is 536-22-1234", "us_ssn", "536-22-1234");
  // Without dashes only where context says so: the key, or a word nearby.
  ExpectOnly("properties.ssn", "536221234", "us_ssn", "536221234");
  ExpectOnly("properties.note", "SSN 536221234 on file", "us_ssn", "536221234");
  ExpectNothing("properties.note", "ticket 536221234 on file");
}

TEST(PiiScanner, FindsSecrets) {
  const std::string kSecrets[] = {
      "sk-proj-zBPOeLersSrGVdYMMCWgnjeSlmIRDjHdnICXhZzUctgj4Hrg",
      "sk-Og6D1RefATzwZZOJsBCMmZRK4ZtIrTIfBKm2wTU8Bqe2oEiz",
      "AKIAU2E7V2S5W2ZGEH47",
      "ghp_UhqeDLEGRey5szSpWM7K7JjKF7m8U5z0xmuO",
      "github_pat_11ABCDEFG0123456789abc_defGHIJKLmnopQRSTuvwxYZ0123456789abcdefghijklmnopqrstu",
      "xoxb-498591042269-4501738786078-FkrSipDXHDLniEGSsn7Yzmwd",
      "sk_live_pkkx8HmoOdEiN34bB9F7Rgsz",
      "rk_live_51HqLyjWDarjtT1zdp7dcXYZ",
      "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4ODQwMTcwMyJ9.aKc9hCifYcycmOjoTrJ0C6xnq2trXz0Ktr7GQLUfXam",
  };
  for (const std::string& secret : kSecrets) {
    ExpectOnly("properties.error_message", "Error: invalid key " + secret + " provided", "secret", secret);
  }
  const std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
      "aNq9bVSfpfoqa8JBG9M2dBLlnuLUYfTOYvLR8CLrQRMnCvCQ\n-----END RSA PRIVATE KEY-----";
  ExpectOnly("properties.note", "key:\n" + pem + "\nthanks", "secret", pem);
  ExpectOnly("properties.note", "config password=Hunter2!secure and more", "secret", "Hunter2!secure");
}

// Every token shape alone, as a whole value: no whitespace, ':' or '=' to make the scanner look, so each
// is found only through its first bytes (kTokenPrefixes in scanner.cc must list every token pattern).
TEST(PiiScanner, FindsEveryTokenShapeAsAWholeValue) {
  const std::string kTokens[] = {
      "sk-proj-zBPOeLersSrGVdYMMCWgnjeSlmIRDjHdnICXhZzUctgj4Hrg",
      "AKIAU2E7V2S5W2ZGEH47",
      "ASIAU2E7V2S5W2ZGEH47",
      "ghp_UhqeDLEGRey5szSpWM7K7JjKF7m8U5z0xmuO",
      "github_pat_11ABCDEFG0123456789abc_defGHIJKLmnopQRSTuvwxYZ0123456789abcdefghijklmnopqrstu",
      "xoxb-498591042269-4501738786078-FkrSipDXHDLniEGSsn7Yzmwd",
      "xapp-1-A0123BCDE45-6789012345678-abcdef0123456789abcdef",
      "hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdEFGH1234ijklMNOP5678",
      "sk_live_pkkx8HmoOdEiN34bB9F7Rgsz",
      "rk_live_51HqLyjWDarjtT1zdp7dcXYZ",
      "pk_live_51HqLyjWDarjtT1zdp7dcXYZ",
      "whsec_51HqLyjWDarjtT1zdp7dcXYZabcd",
      "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
      "ya29.a0AfH6SMBx7Yq2Zr9kLp3Vn8Tw",
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4ODQwMTcwMyJ9.aKc9hCifYcycmOjoTrJ0C6xnq2trXz0Ktr7GQLUfXam",
      "glpat-x7Yq2Zr9kLp3Vn8Tw4Ab",
      "npm_x7Yq2Zr9kLp3Vn8Tw4Abx7Yq2Zr9kLp3Vn8T",
      "hf_x7Yq2Zr9kLp3Vn8Tw4Abx7Yq2Zr9kLp3Vn",
      "SG.x7Yq2Zr9kLp3Vn8Tw4Ab_c.x7Yq2Zr9kLp3Vn8Tw4Abx7Yq2Zr9kLp3Vn8Tw4Abx7Y",
      "shpat_0123456789abcdef0123456789abcdef",
      "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "pypi-AgEIcHlwaS5vcmcx7Yq2Zr9kLp3Vn8Tw4Abx7Yq2Zr9kLp3Vn8Tw4Abx7Yq2Zr9kLp3Vn8Tw",
      "dapi0123456789abcdef0123456789abcdef",
      "sq0atp-x7Yq2Zr9kLp3Vn8Tw4Ab_c",
      "SK0123456789abcdef0123456789abcdef",
      "key-x7Yq2Zr9kLp3Vn8Tw4Abx7Yq2Zr9kLp3",
  };
  for (const std::string& token : kTokens) {
    SCOPED_TRACE(token);
    ExpectOnly("properties.ref_code", token, "secret", token);
  }
}

// The same tokens, and assignments and schemes, at every offset in a value (the look for their first
// bytes goes 64 bytes at a time), with nothing else in it that could make the scanner look.
TEST(PiiScanner, FindsTokensAssignmentsAndSchemesAtEveryOffset) {
  const std::string kShapes[] = {
      "sk-proj-zBPOeLersSrGVdYMMCWgnjeSlmIRDjHdnICXhZzUctgj4Hrg", "AKIAU2E7V2S5W2ZGEH47",
      "ghp_UhqeDLEGRey5szSpWM7K7JjKF7m8U5z0xmuO", "xoxb-498591042269-4501738786078-FkrSipDXHDLniEGSsn7Yzmwd",
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4ODQwMTcwMyJ9.aKc9hCifYcycmOjoTrJ0C6xnq2trXz0Ktr7GQLUfXam",
      "SK0123456789abcdef0123456789abcdef", "key-x7Yq2Zr9kLp3Vn8Tw4Abx7Yq2Zr9kLp3"};
  for (size_t pad = 0; pad < 140; ++pad) {
    SCOPED_TRACE(pad);
    const std::string before(pad, '.');
    for (const std::string& token : kShapes) ExpectOnly("properties.ref", before + token + "..", "secret", token);
    ExpectOnly("properties.ref", before + "PASSWORD\"\t=Hunter2!secure", "secret", "Hunter2!secure");
    ExpectOnly("properties.ref", before + "api_key:8f14e45fceea167a5a36dedd4bea2543zz", "secret",
               "8f14e45fceea167a5a36dedd4bea2543zz");
    ExpectOnly("properties.ref", before + "BEARER\n" + "x7Yq2Zr9kLp3Vn8Tw4Abx7Yq", "secret", "x7Yq2Zr9kLp3Vn8Tw4Abx7Yq");
  }
}

// OpenAI keys and JWTs are found by Hyperscan's shortest form and finished by hand (FinishTokenRegions):
// the regions must be those of the full patterns, a maximal run each, overlapping ones merged.
TEST(PiiScanner, TokenRegionsAreThoseOfTheFullPatterns) {
  const std::string tail20 = "zBPOeLersSrGVdYMMCWg";  // 20 bytes of [A-Za-z0-9_-], mixed case and digit-free
  const std::string body = "zBPOeLersSrGVdYMMCWgnjeSl9IRDjH";
  // sk- with its optional prefixes, and a second "sk-" inside the run: one region to the run's end.
  ExpectOnly("properties.note", "key sk-proj-" + body + " here", "secret", "sk-proj-" + body);
  ExpectOnly("properties.note", "key sk-" + body + "sk-" + body + ". done", "secret", "sk-" + body + "sk-" + body);
  // Nineteen bytes after "sk-" are not a key; twenty are.
  ExpectNothing("properties.note", "key sk-" + tail20.substr(0, 19) + " here");
  // Slack, Stripe and Google OAuth tokens: the shortest tail, longer ones to the end of the run, a second
  // prefix inside a run merged with the first, and one byte short of the shortest is nothing.
  ExpectOnly("properties.note", "slack xoxb-49859104Ab now", "secret", "xoxb-49859104Ab");
  ExpectOnly("properties.note", "slack xoxb-498591042-xoxp-45017387860-FkrSipD. ok", "secret",
             "xoxb-498591042-xoxp-45017387860-FkrSipD");
  ExpectNothing("properties.note", "slack xoxb-4985910Ab now");
  ExpectOnly("properties.note", "stripe sk_live_4eC39HqLyjWDarjt, ok", "secret", "sk_live_4eC39HqLyjWDarjt");
  ExpectOnly("properties.note", "stripe rk_test_4eC39HqLyjWDarjtT1zdp7dc9 ok", "secret", "rk_test_4eC39HqLyjWDarjtT1zdp7dc9");
  ExpectNothing("properties.note", "stripe sk_live_4eC39HqLyjWDarj ok");
  ExpectOnly("properties.note", "oauth ya29.a0AfH6SMBx3k9Lq2Zr7Tw4Vn8-_Yb ok", "secret", "ya29.a0AfH6SMBx3k9Lq2Zr7Tw4Vn8-_Yb");
  ExpectNothing("properties.note", "oauth ya29.a0AfH6SMBx3k9Lq2Zr7 ok");
  // JWTs: segments of 8 or more, each ended by '.'; the last segment may be empty.
  const std::string h = "eyJhbGciOiJIUzI1NiJ9", p = "eyJzdWIiOiI4ODQwMTcwMyJ9", sig = "aKc9hCifYcycmOjoTrJ0C6xn";
  ExpectOnly("properties.note", "auth " + h + "." + p + "." + sig + " ok", "secret", h + "." + p + "." + sig);
  ExpectOnly("properties.note", "auth " + h + "." + p + ". ok", "secret", h + "." + p + ".");
  ExpectNothing("properties.note", "auth eyJhbGci." + p + "." + sig);  // a first segment of 5
  ExpectNothing("properties.note", "auth " + h + ".eyJzdWIi." + sig);     // a second segment of 5
  ExpectNothing("properties.note", "auth " + h + "." + p + " " + sig);    // no second '.'
  // A JWT whose last segment starts another: one region over both.
  ExpectOnly("properties.note", "auth " + h + "." + h + "." + p + "." + sig + " ok", "secret",
             h + "." + h + "." + p + "." + sig);
  // Two in a row, apart: two regions.
  const std::string jwt = h + "." + p + "." + sig;
  EXPECT_EQ(Scan("properties.note", jwt + " " + jwt),
            (std::vector<Found>{{"secret", jwt, 0, jwt.size()}, {"secret", jwt, jwt.size() + 1, 2 * jwt.size() + 1}}));
}

// Every keyword of the assignment pattern, in three cases, before ':' or '=' (MayHoldSecret decides by
// the keyword's last word whether Hyperscan is asked at all); words that only end like one are not keys.
TEST(PiiScanner, FindsAssignmentsAfterEveryKeyword) {
  const std::string kKeywords[] = {"api_key",      "api-key",       "apikey",        "access_key",   "secret_key",
                                   "secret_access_key", "client_secret", "auth_token", "access-token",
                                   "refresh_token", "private_key",  "password",      "passwd",       "pwd",
                                   "secret",        "token"};
  for (const std::string& keyword : kKeywords) {
    std::string upper = keyword, capitalised = keyword;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    capitalised[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capitalised[0])));
    for (const std::string& k : {keyword, upper, capitalised}) {
      for (const char* sign : {"=", ": ", "\" = "}) {
        ExpectOnly("properties.ref", "config " + k + sign + "Xy7Zq2Lm9Np4Rt8Vw3", "secret", "Xy7Zq2Lm9Np4Rt8Vw3");
      }
    }
  }
  ExpectNothing("properties.ref", "Payment: Xy7Zq2Lm9Np4Rt8Vw3");
  ExpectNothing("properties.ref", "monkey=Xy7Zq2Lm9Np4Rt8Vw3x");
}

// A secret whose only letters outside a-f come after hex digits, at every length of that hex run (so
// they fall in every position of a value's last partial 16-byte chunk), in a heap string and ending at a
// page boundary (where the last chunk cannot be read in place).
TEST(PiiScanner, FindsSecretsWhoseOnlyNonHexLettersAreInTheLastChunk) {
  std::string page_buffer(3 * 4096, '.');
  const size_t page_end = 2 * 4096 - (reinterpret_cast<uintptr_t>(page_buffer.data()) & 4095);
  for (size_t pad = 0; pad < 48; ++pad) {
    SCOPED_TRACE(pad);
    const std::string value = std::string(pad, '0') + "pwd=Hunter2!";
    ExpectOnly("properties.ref", value, "secret", "Hunter2!");
    std::copy(value.begin(), value.end(), page_buffer.begin() + static_cast<ptrdiff_t>(page_end - value.size()));
    std::vector<PiiFinding> out;
    Scanner().Scan("properties.ref", std::string_view(page_buffer.data() + page_end - value.size(), value.size()),
                   &out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type, PiiType::kSecret);
    EXPECT_EQ(out[0].end, value.size());
  }
}

// A cue word counts up to 40 bytes before a candidate and 24 after it, with only spaces between (the
// scan for cue words is skipped where no cue could end in those bytes): an unformatted SSN is one only
// with context.
TEST(PiiScanner, CueWordsCountExactlyUpToTheirDistance) {
  for (const std::string cue : {"ssn", "SSN", "ss#", "taxpayer"}) {
    SCOPED_TRACE(cue);
    for (size_t gap = 1; gap <= 45; ++gap) {
      SCOPED_TRACE(gap);
      const std::string before = cue + std::string(gap, ' ') + "536904399";
      if (gap <= 40) {
        ExpectOnly("properties.note", before, "us_ssn", "536904399");
      } else {
        ExpectNothing("properties.note", before);
      }
      const std::string after = "536904399" + std::string(gap, ' ') + cue;
      if (gap + cue.size() <= 24) {
        ExpectOnly("properties.note", after, "us_ssn", "536904399");
      } else {
        ExpectNothing("properties.note", after);
      }
    }
  }
  ExpectNothing("properties.note", "536904399");
}

TEST(PiiScanner, FindsPersonNames) {
  ExpectOnly("properties.comment", "Hi, I'm Maria Rossi, the admin of our org.", "person_name", "Maria Rossi");
  ExpectOnly("properties.feedback", "Thanks!\nRegards,\nJan Kowalski", "person_name", "Jan Kowalski");
  ExpectOnly("properties.note", "Ticket opened by Dr. Ingrid Johansson via the widget", "person_name",
             "Dr. Ingrid Johansson");
  ExpectOnly("properties.note", "Meeting with Floortje van der Velde tomorrow", "person_name", "Floortje van der Velde");
  // Under a person-name key the whole value is the name, even when the dictionary does not know it.
  ExpectOnly("properties.full_name", "Zyxw Qwertyuiop", "person_name", "Zyxw Qwertyuiop");
  ExpectOnly("properties.$name", " Mr. Louis Wolff IV", "person_name", "Mr. Louis Wolff IV");
}

// ASCII text is split into words 64 bytes at a time, other text code point by code point: names at
// and across block boundaries, after non-ASCII text in any position, and words longer than a block
// count as they would anywhere else.
TEST(PiiScanner, FindsPersonNamesAtEveryOffset) {
  for (size_t pad = 0; pad < 140; ++pad) {
    SCOPED_TRACE(pad);
    const std::string spaces(pad, ' ');
    ExpectOnly("properties.comment", spaces + "Hi, I'm Maria Rossi, the admin of our org.", "person_name",
               "Maria Rossi");
    ExpectOnly("properties.comment", spaces + "Hi, I'm Maria Rossi, the admin of our café.", "person_name",
               "Maria Rossi");
    ExpectOnly("properties.comment", "Hi, I'm Maria Rossi, " + std::string(pad, 'x') + "é", "person_name",
               "Maria Rossi");
    ExpectOnly("properties.note", std::string(pad, 'x') + " opened by Dr. Ingrid Johansson via the widget",
               "person_name", "Dr. Ingrid Johansson");
    // Inner hyphens and apostrophes join a word wherever they fall.
    ExpectOnly("properties.feedback", spaces + "Thanks!\nRegards,\nLisa Considine-Crooks", "person_name",
               "Lisa Considine-Crooks");
    ExpectOnly("properties.feedback", spaces + "Thanks!\nRegards,\nLisa O'Connell", "person_name", "Lisa O'Connell");
  }
  // A digit far into a word longer than a block still makes it a non-name.
  const std::string long_word = "Ana " + std::string(100, 'b');
  ExpectOnly("properties.full_name", long_word + "x Silva", "person_name", long_word + "x Silva");
  std::vector<Found> split = Scan("properties.full_name", long_word + "1 Silva");
  EXPECT_EQ(split, (std::vector<Found>{{"person_name", "Ana", 0, 3}, {"person_name", "Silva", 106, 111}}));
}

// A lower-case word is looked up as written: "cOm" is not the cue "com" (Portuguese "with").
TEST(PiiScanner, MixedCaseLowerWordsAreNotCues) {
  ExpectOnly("properties.note", "com Mr. Smith", "person_name", "Mr. Smith");
  ExpectNothing("properties.note", "cOm Mr. Smith");
}

// Three pages of a filler text, for values written at offsets around a page boundary with the filler
// right after their end: the scanner reads past a value's end in whole chunks, and that must neither
// fault nor change what it finds.
class FilledPages {
 public:
  explicit FilledPages(std::string_view filler) {
    while (bytes_.size() < 3 * 4096) bytes_ += filler;
    clean_ = bytes_;
  }
  // The offset of the buffer's second page boundary.
  size_t page() const { return 4096 - (reinterpret_cast<uintptr_t>(bytes_.data()) & 4095) + 4096; }
  // Writes `value` at `shift`, scans it under `key`, and puts the filler back.
  std::vector<PiiFinding> ScanAt(size_t shift, std::string_view key, std::string_view value) {
    const auto at = static_cast<ptrdiff_t>(shift);
    std::copy(value.begin(), value.end(), bytes_.begin() + at);
    std::vector<PiiFinding> out;
    Scanner().Scan(key, std::string_view(bytes_.data() + shift, value.size()), &out);
    std::copy(clean_.begin() + at, clean_.begin() + at + static_cast<ptrdiff_t>(value.size()), bytes_.begin() + at);
    return out;
  }

 private:
  std::string bytes_, clean_;
};

// The last block of a value is read in place past its end (within a page): letters and joiners there
// must not extend its last word, just before, at and across a page boundary.
TEST(PiiScanner, PersonNamesEndingAtEveryLengthAndAlignment) {
  FilledPages pages("owalski-Nowak Smith ");
  const size_t page = pages.page();
  for (size_t pad = 0; pad < 70; ++pad) {
    for (size_t shift : {size_t{0}, size_t{5}, page - 80, page - 16 - pad, page - 22 - pad, page - 30 - pad,
                         page - 37 - pad, page - 1 - pad}) {
      for (const char* end : {"", "-", "'"}) {
        SCOPED_TRACE(std::to_string(pad) + "/" + std::to_string(shift) + end);
        const std::string value = std::string(pad, 'x') + " Regards,\nJan Kowalski" + end;
        const std::vector<PiiFinding> out = pages.ScanAt(shift, "properties.note", value);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].type, PiiType::kPersonName);
        EXPECT_EQ(out[0].start, pad + 10);
        EXPECT_EQ(out[0].end, pad + 22);
      }
    }
  }
}

TEST(PiiScanner, FindsSeveralTypesInOneValueInOrder) {
  std::string v = "Hi, I'm Ana Souza. Reach me at ana.souza@example.com or +55 21 91531-3016.";
  std::vector<Found> found = Scan("properties.message", v);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0], (Found{"person_name", "Ana Souza", 8, 17}));
  EXPECT_EQ(found[1].type, "email");
  EXPECT_EQ(found[1].text, "ana.souza@example.com");
  EXPECT_EQ(found[2].type, "phone");
  EXPECT_EQ(found[2].text, "+55 21 91531-3016");
}

// ---------------------------------------------------------------------------------------------------
// Hard negatives

TEST(PiiScanner, IgnoresFileNamesThatLookLikeEmails) {
  ExpectNothing("properties.label", "logo@2x.png");
  ExpectNothing("properties.asset", "sprite@3x.webp");
  ExpectNothing("properties.note", "user@host.local");
}

TEST(PiiScanner, IgnoresLuhnInvalidCardsAndWrongIbanCheckDigits) {
  ExpectNothing("properties.comment", "My card 4111 1111 1111 1112 was charged twice");
  ExpectNothing("properties.reference", "ref 2221973265078787");
  ExpectNothing("properties.comment", "Refund to IBAN GB83 WEST 1234 5698 7654 32 please");
  ExpectNothing("properties.order_id", "tracking GB65BRBI92786649350064");
}

TEST(PiiScanner, KeyContextDecidesVersionsVersusIps) {
  ExpectNothing("properties.app_version", "2.1.4.13");
  ExpectNothing("properties.$app_version_string", "7.5.8.59");
  ExpectNothing("properties.note", "upgraded to version 2.1.4.13 yesterday");
  ExpectOnly("properties.ip", "2.1.4.13", "ip_address", "2.1.4.13");
  ExpectNothing("properties.note", "release 1.2.3.4.5 is out");
}

TEST(PiiScanner, IgnoresInvalidSsnsAndIdentifiers) {
  ExpectNothing("properties.note", "my social is 666-12-3456");
  ExpectNothing("properties.note", "my social is 000-12-3456");
  ExpectNothing("properties.label", "998-63-8037");
  ExpectNothing("properties.order_id", "ORD-884118-8521");
  ExpectNothing("properties.invoice", "INV-2025-841096");
  ExpectNothing("properties.build", "1203271297");
  ExpectNothing("properties.sku", "4111111111111111");
  ExpectNothing("properties.amount", "1087.45 USD");
  ExpectNothing("properties.ts_hint", "2025-10-06T12:00:00Z");
}

// Clean values are remembered (by hash) per key context: a repeat must give what a first scan gives,
// under every key, and values with findings are never skipped.
TEST(PiiScanner, RepeatedValuesGiveTheSameFindingsUnderEachKey) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    ExpectNothing("properties.app_version", "2.1.4.13");
    ExpectOnly("properties.ip", "2.1.4.13", "ip_address", "2.1.4.13");
    ExpectOnly("properties.comment", "mail me: jane.doe@example.com", "email", "jane.doe@example.com");
    ExpectNothing("properties.sku", "4111111111111111");
    ExpectOnly("properties.comment", "4111111111111111", "credit_card", "4111111111111111");
  }
}

// Far more clean values than the clean-value cache holds, so that every set fills and evicts: each is
// still answered as a first scan would, and a value with a finding under the same key is never taken
// for one of them.
TEST(PiiScanner, CleanValueCacheUnderEvictionKeepsFindings) {
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 6000; ++i) {
      const std::string n = std::to_string(i);
      ExpectNothing("properties.note", "plan tier " + n);
      if (i % 97 == 0) {
        SCOPED_TRACE(i);
        ExpectOnly("properties.note", "plan tier " + n + " for jane" + n + "@example.com", "email",
                   "jane" + n + "@example.com");
      }
    }
  }
}

// The key-context cache compares paths: many paths (more than it holds, some sharing a hash set, some
// longer than an entry keeps inline), interleaved, each keep their own context.
TEST(PiiScanner, KeyContextCacheKeepsEachPathApart) {
  const std::string long_prefix = "properties.nested_object_with_a_rather_long_name.items[12].";
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 600; ++i) {
      SCOPED_TRACE(i);
      const std::string n = std::to_string(i);
      ExpectNothing("properties.app_version_" + n + ".app_version", "2.1.4.13");
      ExpectOnly("properties.f" + n + ".ip", "2.1.4.13", "ip_address", "2.1.4.13");
      ExpectNothing(long_prefix + n + ".app_version", "2.1.4.13");
      ExpectOnly(long_prefix + n + ".ip", "2.1.4.13", "ip_address", "2.1.4.13");
    }
  }
}

// Short values are read in blocks past their end (within a page); what lies beyond must not count.
// Each finding is checked at every length and alignment of a value that ends with it.
TEST(PiiScanner, ValuesEndingInAShapeAtEveryLengthAndAlignment) {
  // Past each value's end: capitalised words, digits, ':' and '@'.
  FilledPages pages(" Ana Oliveira 4111 1111 1111 1111 12:@x");
  // Offsets from a page boundary, so that values end just before, at and after one.
  const size_t page = pages.page();
  for (size_t pad = 0; pad < 70; ++pad) {
    for (size_t shift : {size_t{0}, size_t{1}, page - 80, page - 17 - pad, page - 3 - pad, page - 40 - pad}) {
      SCOPED_TRACE(std::to_string(pad) + "/" + std::to_string(shift));
      const std::string value = std::string(pad, 'x') + " jane@example.com";
      const std::vector<PiiFinding> out = pages.ScanAt(shift, "properties.comment", value);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].type, PiiType::kEmail);
      EXPECT_EQ(out[0].end, value.size());
      // Lower-case text followed by names and numbers: nothing may be found past the end.
      EXPECT_TRUE(pages.ScanAt(shift, "properties.comment", std::string(pad, 'x') + " and more").empty());
    }
  }
}

// The digit shapes wherever they fall relative to the 64-byte blocks FindShapes reads its bitmaps from:
// inside one block (groups taken from the bitmaps), across a block boundary and with four separators in a
// row (counted byte by byte). Each is found with its exact offsets.
TEST(PiiScanner, FindsDigitShapesAtEveryOffsetAcrossBlocks) {
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"credit_card", "4111 1111 1111 1111"}, {"credit_card", "5500-0000-0000-0004"},
      {"us_ssn", "536-22-1234"},             {"ip_address", "192.168.10.42"},
      {"phone", "+1 415 555 2671"},          {"iban", "DE89 3704 0044 0532 0130 00"},
      {"phone", "+44 20    7946 0958"}};
  for (const auto& [type, shape] : shapes) {
    for (size_t pad = 0; pad < 140; ++pad) {
      std::string value = std::string(pad, 'x') + " " + shape + " ok";
      SCOPED_TRACE(type + " at " + std::to_string(pad + 1));
      if (shape == "+44 20    7946 0958") {
        // Four spaces split the run: "+44 20" alone is too short, and "7946 0958" has no context.
        EXPECT_EQ(Scan("properties.note", value), std::vector<Found>{});
        continue;
      }
      std::vector<Found> want = {{type, shape, pad + 1, pad + 1 + shape.size()}};
      EXPECT_EQ(Scan("properties.note", value), want);
    }
  }
}

// Digit groups glued to letters (hex ids, "v2beta") are skipped as words; what follows them is not.
TEST(PiiScanner, FindsShapesRightAfterWordsWithDigits) {
  ExpectOnly("properties.note", "ticket a1b2c3 call +1 415 555 2671", "phone", "+1 415 555 2671");
  ExpectOnly("properties.note", "v2beta, card 4111 1111 1111 1111", "credit_card", "4111 1111 1111 1111");
  ExpectOnly("properties.note", "x9y 10.0.0.42 connected", "ip_address", "10.0.0.42");
  ExpectOnly("properties.note", "ab12cd DE89 3704 0044 0532 0130 00", "iban", "DE89 3704 0044 0532 0130 00");
  ExpectNothing("properties.note", "abc4111111111111111");
  ExpectNothing("properties.note", "4111111111111111abc");
}

TEST(PiiScanner, IgnoresUuidsAndHexIds) {
  ExpectNothing("properties.$device_id", "f1f53ebe-714c-46b9-81c5-4b5763e68b30");
  ExpectNothing("properties.request_id", "12345678-1234-5678-1234-567812345678");
  ExpectNothing("properties.ts_hint", "build 28107a5a9ad5bf4e6c60df52487360ef0c92fdd8");
  ExpectNothing("properties.$insert_id", "792fd89322cb8eb493fd1a8e4dd3c9a2");
}

// The short cuts for ids and slugs (ShapeBytes::IdLikeBlock; Scan answering an id before the
// clean-value cache), for runs of digits counted from bitmaps (ShapeBytes::CountRun) and for words
// split 16 letters at a time (Tokenize), each at the edge of its conditions: a hyphen first, last or
// doubled, two capitals before two digits (an IBAN), a token prefix, credential and person-name keys,
// runs that reach a block's end, four separators in a row. The expected findings are those of the scan
// before the short cuts ("type@start-end", in order).
TEST(PiiScanner, ShortCutsKeepTheFindingsAtTheirEdges) {
  struct Case {
    std::string_view key, value, expected;
  };
  const Case kCases[] = {
      {"properties.note", "1d7b83a9-0ebc-41b0-ad78-282192864bbb", ""},
      {"properties.note", "user-bEwsYrcdNlKYihpFnLhanr9u", ""},
      {"properties.note", "4111-1111-1111-1111", "credit_card@0-19"},
      {"properties.note", "a-4111-1111-1111-1111", ""},
      {"properties.note", "4111-1111-1111-1111-a", ""},
      {"properties.note", "-4111-1111-1111-1111x", ""},
      {"properties.note", "x4111-1111-1111-1111-", ""},
      {"properties.note", "ab--123-45-6789", ""},
      {"properties.note", "123-45-6789--ab", ""},
      {"properties.note", "-123-45-6789", ""},
      {"properties.note", "123-45-6789-", ""},
      {"properties.note", "ref-123-45-6789", ""},
      {"properties.note", "405-31-5751", "us_ssn@0-11"},
      {"properties.note", "a-405-31-5751", ""},
      {"properties.note", "-405-31-5751", "us_ssn@1-12"},
      {"properties.note", "405-31-5751-", "us_ssn@0-11"},
      {"properties.note", "ab--405-31-5751", "us_ssn@4-15"},
      {"properties.note", "405-31-5751--ab", "us_ssn@0-11"},
      {"properties.note", "405-31-5751-ab", ""},
      {"properties.ssn", "x-405315751", ""},
      {"properties.ssn", "405315751", "us_ssn@0-9"},
      {"properties.note", "GB82WEST12345698765432", "iban@0-22"},
      {"properties.note", "x-GB82WEST12345698765432", "iban@2-24"},
      {"properties.note", "GB82WEST12345698765432-x", "iban@0-22"},
      {"properties.note", "iban-DE89370400440532013000-ok", "iban@5-27"},
      {"properties.note", "sk-proj-abcdefghij1234567890ABCDEFGH", "secret@0-36"},
      {"properties.note", "key-0123456789abcdefABCDEF0123456789", "secret@0-36"},
      {"properties.note", "xoxb-1234567890-abcdefghijKLMN", "secret@0-30"},
      {"properties.note", "dapi0123456789abcdef0123456789abcdef", "secret@0-36"},
      {"properties.api_key", "1d7b83a9-0ebc-41b0-ad78-282192864bbb", "secret@0-36"},
      {"properties.password", "user-12345678abcdef", "secret@0-19"},
      {"properties.full_name", "Jean-Luc", "person_name@0-8"},
      {"properties.full_name", "Mary-Jane1234567890abcdef", ""},
      {"properties.$name", "Bryan-Oliveira", "person_name@0-14"},
      {"properties.account_name", "Oliveira-Bryan-2024-account", ""},
      {"properties.note", "Bryan-Oliveira-2024-account", ""},
      {"properties.phone", "tel-14155552671-home", ""},
      {"properties.phone", "14155552671", "phone@0-11"},
      {"properties.note", "0123456789012345678901234567890123456789012345678901234567890123456789", ""},
      {"properties.note", "0123456789012345678901234567890123456789012345678901234567890123", ""},
      {"properties.note", "ab01234567890123456789012345678901234567890123456789012345678901", ""},
      {"properties.note", "111111111111111111111111111111111111111111111111111111111111111-", ""},
      {"properties.note", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx +1 415 555 2671", "phone@41-56"},
      {"properties.note", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-4111-1111-1111-1111", ""},
      {"properties.note",
       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
       "aaaaaaaaaaaaaaaaaaaa 4111-1111-1111-1111",
       "credit_card@61-80"},
      {"properties.note", "ab 12-34 cd", ""},
      {"properties.note", "call 415 555 2671 now", "phone@5-17"},
      {"properties.note", "call 415-555-2671", "phone@5-17"},
      {"properties.note", "call (415) 555-2671", "phone@5-19"},
      {"properties.note", "ssn 078 05 1120", ""},
      {"properties.note", "ssn 078-05-1120.", ""},
      {"properties.note", "a 1 2 3 4 b", ""},
      {"properties.note", "1.2.3.4", "ip_address@0-7"},
      {"properties.note", "from 10.0.0.1/24 ok", "ip_address@5-13"},
      {"properties.note", "v1.2.3.4", ""},
      {"properties.note", "4111    1111 1111 1111", ""},
      {"properties.note", "4111   1111 1111 1111", ""},
      {"properties.note",
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxx 415 555 2671 and more",
       "phone@59-71"},
      {"properties.note",
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxx 4111 1111 1111 1111 and more",
       "credit_card@56-75"},
      {"properties.note", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 078-05-1120", ""},
      {"properties.note", "DE89 3704 0044 0532 0130 00", "iban@0-27"},
      {"properties.note",
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxDE89 3704 0044 0532 0130 00",
       ""},
      {"properties.note",
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxx DE89 3704 0044 0532 0130 00",
       "iban@62-89"},
      {"properties.note", "Regards,\nBryan Oliveira", "person_name@9-23"},
      {"properties.note", "Thanks, Abcdefghijklmnopqrstuvwxyz Oliveira", "person_name@8-43"},
      {"properties.note", "Hi, I am Bryan Oliveira", "person_name@9-23"},
      {"properties.note", "Hi, I'm Bryanbryanbryanbr Oliveira", "person_name@8-34"},
      {"properties.note", "Hi, I'm Bryan O'Connell", "person_name@8-23"},
      {"properties.note", "Hi, I'm Bryan Considine-Crooks", "person_name@8-30"},
      {"properties.note", "Hi, I'm Bryan Considine-Crooksxxxxxxxxxxxxxxxxx", "person_name@8-47"},
      {"properties.note", "Hi, I'm BRYAN OLIVEIRA", "person_name@8-22"},
      {"properties.note", "Hi, I'm José Müller", "person_name@8-21"},
      {"properties.note", "Hi, I'm Zoë Éloïse Saint-Exupéry", "person_name@8-36"},
      {"properties.note", "Hi, I'm 卢晓博", "person_name@8-17"},
      {"properties.note", "Hello Maria da Silva here", "person_name@6-20"},
      {"properties.note", "Thursday Bryan Oliveira wrote", "person_name@9-23"},
      {"properties.note", "Wednesday customer Bryan Oliveira", "person_name@19-33"},
      {"properties.note", "dear Customer Bryan Oliveira", "person_name@14-28"},
      {"properties.note", "Contact person: Dr. Faith Grady (+55 21 91392-3310)", "person_name@16-31 phone@33-50"},
      {"properties.full_name", "bryan oliveira", "person_name@0-14"},
      {"properties.full_name", "abcdefghijklmnopqrstuvwxyz oliveira", "person_name@0-35"},
      {"properties.note", "ABCDEFGHIJKLMNOPQRSTUV Bryan Oliveira", "person_name@23-37"},
      {"properties.note", "Sent from Bryanxyzabcdefghijkl", ""},
      {"properties.note", "Signed by AbAbAbAbAbAbAbAbc", ""},
      {"properties.note", "Thanks,\nBryan Oliveiraxxxxxxxxxxx", "person_name@8-33"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string(c.key) + ": " + std::string(c.value));
    // Twice: the second scan may be answered by the clean-value cache.
    for (int round = 0; round < 2; ++round) {
      std::string got;
      for (const Found& f : Scan(c.key, c.value)) {
        if (!got.empty()) got += ' ';
        got += f.type + "@" + std::to_string(f.start) + "-" + std::to_string(f.end);
      }
      EXPECT_EQ(got, c.expected);
    }
  }
}

// Ids read in one 64-byte block past their end: what lies beyond (a hyphen, digits, capitals) must
// neither spoil the id test nor count, just before, at and across a page boundary.
TEST(PiiScanner, IdsEndingAtEveryLengthAndAlignment) {
  FilledPages pages("-4111-1111-1111-1111 GB82WEST12345698765432 Ana Oliveira -");
  const size_t page = pages.page();
  for (size_t pad = 0; pad < 66; ++pad) {
    for (size_t shift : {size_t{0}, size_t{3}, page - 80, page - 16 - pad, page - 12 - pad, page - 1 - pad}) {
      SCOPED_TRACE(std::to_string(pad) + "/" + std::to_string(shift));
      auto scan_at = [&](const std::string& value) { return pages.ScanAt(shift, "properties.note", value); };
      // An id: nothing, whatever follows it.
      EXPECT_TRUE(scan_at(std::string(pad, 'a') + "9f-078").empty());
      // Digits and hyphens only (no letter): the SSN is found.
      std::vector<PiiFinding> ssn = scan_at(std::string(pad / 8, '-') + "405-31-5751");
      ASSERT_EQ(ssn.size(), 1u);
      EXPECT_EQ(ssn[0].type, PiiType::kUsSsn);
      // An IBAN in letters and digits: found.
      std::vector<PiiFinding> iban = scan_at(std::string(pad % 40, 'x') + "-GB82WEST12345698765432");
      ASSERT_EQ(iban.size(), 1u);
      EXPECT_EQ(iban[0].type, PiiType::kIban);
    }
  }
}

TEST(PiiScanner, IgnoresPlacesAndProducts) {
  ExpectNothing("properties.region", "San Francisco");
  ExpectNothing("properties.note", "Shipped from our New York warehouse");
  ExpectNothing("properties.plan", "Team Workspace");
  ExpectNothing("properties.title", "GPT Store");
  ExpectNothing("event", "Page View");
}

// ---------------------------------------------------------------------------------------------------
// Context from keys

TEST(PiiScanner, CredentialKeysPromoteSecrets) {
  ExpectOnly("properties.api_key", "8f14e45fceea167a5a36dedd4bea2543", "secret", "8f14e45fceea167a5a36dedd4bea2543");
  ExpectOnly("properties.password", "hunter22", "secret", "hunter22");
  ExpectOnly("properties.authorization", "Bearer a8F3kL09QzXw72mNpR4tYb", "secret", "a8F3kL09QzXw72mNpR4tYb");
  // The same hex string under an ordinary key is an id.
  ExpectNothing("properties.checksum", "8f14e45fceea167a5a36dedd4bea2543");
  ExpectNothing("properties.api_key", "null");
}

TEST(PiiScanner, PhoneKeysPromoteUnformattedNumbers) {
  ExpectOnly("properties.phone_number", "2015550123", "phone", "2015550123");
  ExpectNothing("properties.asset", "2015550123");
}

TEST(KeyContext, ClassifiesKeys) {
  EXPECT_TRUE(ClassifyKey("properties.app_version").version);
  EXPECT_TRUE(ClassifyKey("properties.order_id").identifier);
  EXPECT_TRUE(ClassifyKey("properties.contact.phoneNumber").phone);
  EXPECT_TRUE(ClassifyKey("properties.api_key").secret);
  EXPECT_FALSE(ClassifyKey("properties.token_count").secret);
  EXPECT_EQ(ClassifyKey("properties.$name").name, NameKey::kPerson);
  EXPECT_EQ(ClassifyKey("properties.customer.name").name, NameKey::kPerson);
  EXPECT_EQ(ClassifyKey("properties.product.name").name, NameKey::kNone);
  EXPECT_EQ(ClassifyKey("properties.file_name").name, NameKey::kNone);
  EXPECT_EQ(ClassifyKey("properties.tags[2]").name, NameKey::kNone);
  EXPECT_TRUE(ClassifyKey("properties.phones[1]").phone);
}

// ---------------------------------------------------------------------------------------------------
// Percent-encoded URLs

TEST(PiiScanner, FindsPercentEncodedEmailsWithOffsetsIntoTheOriginal) {
  ExpectOnly("properties.$current_url", "https://platform.example.com/reset-password?email=jane%40example.com&ref=8fX",
             "email", "jane%40example.com");
  ExpectOnly("properties.$current_url", "https://example.com/login?user=oxwagp%2Bbilling%40gmail.com&ref=1", "email",
             "oxwagp%2Bbilling%40gmail.com");
  ExpectOnly("properties.$current_url", "https://example.com/login?login_hint=cgbgiw+billing@fastmail.com&ref=nV",
             "email", "cgbgiw+billing@fastmail.com");
}

// ---------------------------------------------------------------------------------------------------
// Scratch and threads

TEST(PiiScanner, ExplicitScratchesInThreadsGiveTheSameFindings) {
  const std::string v = "Reach me at jane@example.com or +49 171 2242258, card 4111 1111 1111 1111";
  std::vector<PiiFinding> reference;
  Scanner().Scan("properties.note", v, &reference);
  ASSERT_EQ(reference.size(), 3u);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      PiiScanner::Scratch scratch;
      for (int i = 0; i < 50; ++i) {
        std::vector<PiiFinding> out;
        Scanner().Scan("properties.note", v, &scratch, &out);
        bool same = out.size() == reference.size();
        for (size_t k = 0; same && k < out.size(); ++k) {
          same = out[k].type == reference[k].type && out[k].start == reference[k].start && out[k].end == reference[k].end;
        }
        ok[t] += same;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, std::vector<int>(4, 50));
}

TEST(NamesDictionary, EmbeddedDictionaryIsLocaleRich) {
  auto dict = NamesDictionary::Embedded();
  EXPECT_GT(dict->size(), 50000u);
  EXPECT_TRUE(dict->Lookup("maria") & NamesDictionary::kFirst);
  EXPECT_TRUE(dict->Lookup("kowalski") & NamesDictionary::kLast);  // Polish
  EXPECT_TRUE(dict->Lookup("иван") & NamesDictionary::kFirst);     // Russian
  EXPECT_TRUE(dict->Lookup("san francisco") & NamesDictionary::kPlace);
  EXPECT_TRUE(dict->Lookup("dr") & NamesDictionary::kPrefix);
}

// The front filter before the slot array must never turn away a word that is in the dictionary.
TEST(NamesDictionary, FindsEveryEntryThroughItsFrontFilter) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "L\tname" + std::to_string(i) + "x\n";
  auto dict = NamesDictionary::Parse(text);
  ASSERT_TRUE(dict.ok());
  size_t found = 0, unknown_found = 0;
  for (int i = 0; i < 20000; ++i) {
    found += (*dict)->Lookup("name" + std::to_string(i) + "x") == NamesDictionary::kLast;
    unknown_found += (*dict)->Lookup("name" + std::to_string(i) + "y") != 0;
  }
  EXPECT_EQ(found, 20000u);
  EXPECT_EQ(unknown_found, 0u);
  auto embedded = NamesDictionary::Embedded();
  EXPECT_EQ(embedded->Lookup("zzqxjv"), 0);
}

// Prefetch is a hint: look-ups give the same answers with or without it, and it accepts any word.
TEST(NamesDictionary, PrefetchChangesNoAnswer) {
  auto dict = NamesDictionary::Parse("F\tAna\nL\tSilva\n");
  ASSERT_TRUE(dict.ok());
  for (std::string_view w : {"ana", "silva", "", "zzqxjv", "an"}) (*dict)->Prefetch(NamesDictionary::Hash(w));
  EXPECT_EQ((*dict)->Lookup("ana"), NamesDictionary::kFirst);
  EXPECT_EQ((*dict)->Lookup("silva"), NamesDictionary::kLast);
  EXPECT_EQ((*dict)->Lookup("zzqxjv"), 0);
  NamesDictionary empty;
  empty.Prefetch(NamesDictionary::Hash("ana"));
  EXPECT_EQ(empty.Lookup("ana"), 0);
}

TEST(NamesDictionary, ParseRejectsMalformedLines) {
  EXPECT_FALSE(NamesDictionary::Parse("F\tAna\nbroken line\n").ok());
  EXPECT_FALSE(NamesDictionary::Parse("Q\tAna\n").ok());
  auto ok = NamesDictionary::Parse("F\tAna\nL\tSilva\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->Lookup("ana"), NamesDictionary::kFirst);
}

TEST(PhoneNumberConfirmer, RequiresTheWayPhonesAreWritten) {
  PhoneNumberConfirmer phones;
  EXPECT_GT(phones.Confirm("+49 171 2242258", false), 0.0f);
  EXPECT_GT(phones.Confirm("(201) 555-0123", false), 0.0f);
  // A random digit string is a valid number somewhere; without grouping or context it is not a phone.
  EXPECT_EQ(phones.Confirm("9974436123", false), 0.0f);
  EXPECT_GT(phones.Confirm("2015550123", true), 0.0f);
  EXPECT_EQ(phones.Confirm("2025-10-06", true), 0.0f);
  EXPECT_EQ(phones.Confirm("997-95-0124", false), 0.0f);
}

// Context asked lazily: the same answers as with it given, and not asked where it cannot matter (the
// scanner then saves a search for cue words).
TEST(PhoneNumberConfirmer, AsksForContextOnlyWhenTheAnswerDependsOnIt) {
  PhoneNumberConfirmer phones;
  struct Case {
    const char* candidate;
    bool asked;  // whether the answer depends on context
  };
  const Case cases[] = {
      {"+49 171 2242258", false},  // international, grouped as its country groups it
      {"+491712242258", false},    // international, one group
      {"+1 234", false},           // too short to be anything
      {"+999 12345678", false},    // no such calling code
      {"+49 17 12 24 22 58", true},  // international, grouped otherwise: context decides how sure
      {"(201) 555-0123", true},    // national forms always need it
      {"2015550123", true},
      {"997-95-0124", true},
  };
  for (const Case& c : cases) {
    for (bool context : {false, true}) {
      int asked = 0;
      const float lazy = phones.Confirm(c.candidate, [&] {
        ++asked;
        return context;
      });
      EXPECT_EQ(lazy, phones.Confirm(c.candidate, context)) << c.candidate << " context " << context;
      EXPECT_EQ(asked, c.asked ? 1 : 0) << c.candidate;
    }
  }
  // Where it matters, it changes the answer.
  EXPECT_LT(phones.Confirm("+49 17 12 24 22 58", false), phones.Confirm("+49 17 12 24 22 58", true));
}

// ---------------------------------------------------------------------------------------------------
// Cost grows linearly

// Best of `runs`: the first run also warms the scratch buffers.
// This thread's CPU time, so that other processes on the machine (ctest runs tests in parallel) do not
// count as the scanner's cost.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double SecondsToScan(const std::string& value, int runs) {
  PiiScanner::Scratch scratch;
  std::vector<PiiFinding> out;
  double best = 1e9;
  for (int run = 0; run < runs; ++run) {
    out.clear();
    const double t0 = ThreadCpuSeconds();
    Scanner().Scan("properties.comment", value, &scratch, &out);
    best = std::min(best, ThreadCpuSeconds() - t0);
  }
  return best;
}

std::string Repeat(std::string_view unit, size_t bytes) {
  std::string s;
  s.reserve(bytes + unit.size());
  while (s.size() < bytes) s.append(unit);
  s.resize(bytes);
  return s;
}

TEST(PiiScanner, CostGrowsLinearlyWithSize) {
  const std::vector<std::pair<std::string, std::string>> kInputs = {
      {"prose with PII",
       "Hi, I'm Maria Rossi. Reach me at maria.rossi@example.com or +49 171 2242258; card 4111 1111 1111 1111, "
       "IBAN GB82 WEST 1234 5698 7654 32, from 203.0.113.54, key AKIAU2E7V2S5W2ZGEH47. "},
      {"digits", "0123456789"},
      {"at signs", "@"},
      {"a-dot", "a."},
      {"spaced digits", "1 "},
      {"hex and colons", "a:"},
      {"capitalised words", "Ana "},
      {"email-like", "a@b."},
  };
  constexpr size_t kSmall = 1 << 20, kLarge = 10 << 20;
  for (const auto& [name, unit] : kInputs) {
    SCOPED_TRACE(name);
    double small = SecondsToScan(Repeat(unit, kSmall), 3);
    double large = SecondsToScan(Repeat(unit, kLarge), 2);
    // Ten times the bytes may take ten times as long, with slack for noise, never quadratic (100x).
    EXPECT_LT(large, 20 * std::max(small, 1e-3)) << name << ": 1 MB in " << small << " s, 10 MB in " << large << " s ("
                                                 << kLarge / large / 1e6 << " MB/s)";
  }
}

}  // namespace
}  // namespace vg
