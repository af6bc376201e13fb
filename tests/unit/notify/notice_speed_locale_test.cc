// The fast paths of the notice pipeline (issue #6, speed) against the straightforward versions they replaced,
// and per-locale templates.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <sstream>

#include "notify/campaign.h"
#include "notify/contacts.h"
#include "notify/notice.h"
#include "notify/notice_key.h"
#include "notify/outbox.h"
#include "notify_test_util.h"

namespace vg::notify {
namespace {

using namespace vg::notify::testing;

// ---- Reference implementations: the byte-by-byte code the fast paths replaced, kept here verbatim in
// behaviour so that any difference in output (or in the first problem reported) fails a test. ----

namespace ref {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}
bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool HostOnDomain(std::string_view host, std::string_view domain) {
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || domain.empty()) return false;
  if (IEquals(host, domain)) return true;
  return host.size() > domain.size() + 1 && host[host.size() - domain.size() - 1] == '.' &&
         IEquals(host.substr(host.size() - domain.size()), domain);
}
bool EndsAuthority(char c) { return std::strchr("/?# \t\r\n\"'<>()[]{}\\,;|`", c) != nullptr && c != '\0'; }
std::string HostAt(std::string_view lower, size_t at) {
  size_t end = at;
  while (end < lower.size() && !EndsAuthority(lower[end])) ++end;
  std::string_view authority = lower.substr(at, end - at);
  if (const size_t u = authority.rfind('@'); u != std::string_view::npos) authority.remove_prefix(u + 1);
  if (const size_t colon = authority.find(':'); colon != std::string_view::npos) authority = authority.substr(0, colon);
  while (!authority.empty() && (authority.back() == '.' || authority.back() == ':')) authority.remove_suffix(1);
  return LowerCopy(authority);
}
std::string Excerpt(std::string_view s, size_t at) {
  size_t end = at;
  while (end < s.size() && end - at < 80 && s[end] != ' ' && s[end] != '\n' && s[end] != '\r' && s[end] != '"' &&
         s[end] != '<' && s[end] != '>') {
    ++end;
  }
  return std::string(s.substr(at, end - at));
}

// Every position in turn: the pattern starting there, the first problem wins.
Status CheckLinksAndMarkup(std::string_view l, std::string_view domain, bool html) {
  auto starts = [](std::string_view r, std::string_view p) { return r.size() >= p.size() && IEquals(r.substr(0, p.size()), p); };
  auto at_word_start = [&](size_t i) { return i == 0 || !IsAlnum(l[i - 1]); };
  auto foreign = [&](size_t at, std::string_view host) {
    return Status::InvalidArgument("links to " + Excerpt(l, at) + " (host \"" + std::string(host) + "\"), which is not " +
                                   std::string(domain) +
                                   " or a subdomain of it; a notice links only to the organization's own domain");
  };
  auto attribute = [&](size_t i) -> Status {
    size_t v = i + l.substr(i).find('=') + 1;
    if (v < l.size() && (l[v] == '"' || l[v] == '\'')) ++v;
    const std::string_view value = l.substr(v);
    if (!(starts(value, "https://") || starts(value, "http://") || starts(value, "mailto:") || starts(value, "#"))) {
      return Status::InvalidArgument("has a link that is not an absolute https URL on " + std::string(domain) + ": " +
                                     Excerpt(l, i));
    }
    return Status::Ok();
  };
  for (size_t i = 0; i < l.size(); ++i) {
    const std::string_view rest = l.substr(i);
    if (starts(rest, "http://") || starts(rest, "https://")) {
      const std::string host = HostAt(l, i + (Lower(rest[4]) == 's' ? 8 : 7));
      if (!HostOnDomain(host, domain)) return foreign(i, host);
    } else if (html && starts(rest, "href=") && at_word_start(i)) {
      if (Status s = attribute(i); !s.ok()) return s;
    } else if (starts(rest, "www.") &&
               !(i > 0 && (IsAlnum(l[i - 1]) || l[i - 1] == '/' || l[i - 1] == '.' || l[i - 1] == '@'))) {
      const std::string host = HostAt(l, i);
      if (!HostOnDomain(host, domain)) return foreign(i, host);
    } else if (starts(rest, "mailto:")) {
      size_t end = i + 7;
      while (end < l.size() && !std::strchr("? \t\r\n\"'<>)", l[end])) ++end;
      std::string_view list = l.substr(i + 7, end - i - 7);
      if (list.empty()) return Status::InvalidArgument("has an empty mailto: link");
      while (!list.empty()) {
        const size_t comma = list.find(',');
        std::string_view addr = list.substr(0, comma);
        const size_t sign = addr.rfind('@');
        if (sign == std::string_view::npos || !HostOnDomain(addr.substr(sign + 1), domain)) {
          return Status::InvalidArgument("has a mailto: link to " + Excerpt(l, i) + ", which is not an address at " +
                                         std::string(domain) + "; a notice names only the organization's own addresses");
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    } else if (starts(rest, "javascript:")) {
      return Status::InvalidArgument("contains a javascript: URL");
    } else if (html && rest[0] == '<') {
      for (std::string_view tag : {"<form", "<input", "<button", "<textarea", "<select", "<script", "<iframe",
                                   "<object", "<embed"}) {
        if (starts(rest, tag) && (rest.size() == tag.size() || !IsAlnum(rest[tag.size()]))) {
          return Status::InvalidArgument("contains " + std::string(tag) +
                                         "> (forms, inputs and scripts are never part of a notice: a notice asks "
                                         "for nothing)");
        }
      }
    } else if (html && (starts(rest, "src=") || starts(rest, "action=")) && at_word_start(i)) {
      if (Status s = attribute(i); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

// Quoted-printable, one byte at a time.
std::string QuotedPrintableEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool last = nl == std::string_view::npos;
    std::string_view line = text.substr(pos, last ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (last && line.empty()) break;
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool at_line_end = i + 1 == line.size();
      bool encode = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') || ((c == ' ' || c == '\t') && at_line_end);
      size_t n = encode ? 3 : 1;
      if (col + n > 75 && !(at_line_end && col + n <= 76)) {
        out.append("=\r\n");
        col = 0;
      }
      if (col == 0 && !encode && (c == '.' || (c == 'F' && line.substr(i, 5) == "From "))) {
        encode = true;
        n = 3;
      }
      if (encode) {
        out.push_back('=');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      } else {
        out.push_back(static_cast<char>(c));
      }
      col += n;
    }
    out.append("\r\n");
    if (last) break;
    pos = nl + 1;
  }
  return out;
}

}  // namespace ref

// Text made of the pieces the checks look for, in random order and case, so that patterns touch, overlap
// and straddle the 16-byte blocks of the fast scan.
std::string RandomLinkText(std::mt19937& rng, bool html) {
  static const std::vector<std::string> kPieces = {
      "http://", "https://", "HTTPS://", "www.", "WWW.", "mailto:", "javascript:", "JavaScript:", "example.com",
      "help.example.com", "evil.example", "example.com.evil.net", "@", "/", ".", ":", "=", "<", ">", "\"", "'", " ",
      "\n", "a", "h", "w", "m", "s", "x", "ttp", "ref", "href=", "HREF=", "src=", "action=", "=\"//x\"", "=\"#top\"",
      "<form", "<FORM>", "<input", "<inputs", "<p>", "<br>", "<s", "<e", "<embed", "<iframe", "<b>", ",", "?", "#",
      "privacy@example.com", "x@evil.example", "wwww.", "1www.", "/www.", "Ü", "ß", "\t", "-", "mail", "java"};
  std::string out;
  const int n = std::uniform_int_distribution<int>(0, 40)(rng);
  for (int i = 0; i < n; ++i) {
    const std::string& p = kPieces[std::uniform_int_distribution<size_t>(0, kPieces.size() - 1)(rng)];
    if (!html && p[0] == '<' && rng() % 2) continue;
    out += p;
  }
  return out;
}

TEST(FastPathTest, LinkCheckFindsExactlyWhatTheBytewiseScanFound) {
  std::mt19937 rng(20261129);
  int problems = 0;
  for (int iter = 0; iter < 60000; ++iter) {
    const bool html = iter % 2 == 0;
    const std::string text = RandomLinkText(rng, html);
    const Status want = ref::CheckLinksAndMarkup(text, "example.com", html);
    const Status got = CheckLinksAndMarkup(text, "example.com", html);
    ASSERT_EQ(got.ok(), want.ok()) << (html ? "html: " : "text: ") << text << "\nwant: " << want.message()
                                   << "\ngot: " << got.message();
    ASSERT_EQ(got.message(), want.message()) << text;
    problems += !want.ok();
  }
  // The generator must exercise both outcomes, or the comparison proves little.
  EXPECT_GT(problems, 10000);
  EXPECT_LT(problems, 55000);
}

TEST(FastPathTest, LinkCheckAcrossBlockBoundariesAndAtTheEnds) {
  // Every offset of a foreign link and of a forbidden tag in a long plain run (the 16-byte scan's blocks).
  for (size_t pad = 0; pad < 40; ++pad) {
    const std::string lead = std::string(pad, 'a') + " ";  // "awww." is no link: a space before it
    for (const std::string& bad : {std::string("https://evil.example/x"), std::string("www.evil.example"),
                                   std::string("mailto:x@evil.example"), std::string("javascript:x()")}) {
      const std::string text = lead + bad + std::string(pad % 7, 'b');
      const Status s = CheckLinksAndMarkup(text, "example.com", false);
      ASSERT_FALSE(s.ok()) << text;
      EXPECT_EQ(s.message(), ref::CheckLinksAndMarkup(text, "example.com", false).message());
    }
    const std::string tag = lead + "<script>";
    EXPECT_FALSE(CheckLinksAndMarkup(tag, "example.com", true).ok()) << tag;
    EXPECT_TRUE(CheckLinksAndMarkup(tag, "example.com", false).ok()) << tag;  // text: not markup
    EXPECT_TRUE(CheckLinksAndMarkup(lead + "https://help.example.com/x.", "example.com", false).ok());
  }
  // The earliest problem is reported even when a later anchor finds it: "javascript:" starts 10 bytes
  // before its ':' and so before the "www." problem whose '.' comes first.
  const Status s = CheckLinksAndMarkup("javascriptwww.evil.example:", "example.com", false);
  EXPECT_EQ(s.message(), ref::CheckLinksAndMarkup("javascriptwww.evil.example:", "example.com", false).message());
  EXPECT_TRUE(CheckLinksAndMarkup("", "example.com", true).ok());
  EXPECT_TRUE(CheckLinksAndMarkup(":", "example.com", true).ok());
}

TEST(FastPathTest, QuotedPrintableIsByteIdenticalToTheBytewiseEncoder) {
  std::mt19937 rng(6);
  static const std::vector<std::string> kPieces = {"a", "word ", "x", ".", "From ", "F", "=", " ", "\t", "Ü", "\r",
                                                   "\n", "\n.", "\nFrom ", std::string(70, 'p'), std::string(74, 'q'),
                                                   std::string(75, 'r'), std::string(76, 's'), std::string(77, 't'),
                                                   std::string(151, 'u'), "\x01", "\x7f", "~"};
  for (int iter = 0; iter < 20000; ++iter) {
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 30)(rng);
    for (int i = 0; i < n; ++i) text += kPieces[std::uniform_int_distribution<size_t>(0, kPieces.size() - 1)(rng)];
    const std::string enc = QuotedPrintableEncode(text);
    ASSERT_EQ(enc, ref::QuotedPrintableEncode(text)) << "input: " << text;
  }
  // Long plain lines: soft breaks at 75, a final character in column 76, a trailing space encoded, and a
  // continuation line that would start with "." or "From ".
  for (size_t len = 70; len < 160; ++len) {
    for (const std::string& tail : {std::string(""), std::string(" "), std::string("\t"), std::string(".x"),
                                    std::string("From x")}) {
      std::string line(len, 'k');
      line.replace(len - std::min(len, tail.size()), tail.size(), tail);
      line[75 % len] = '.';
      const std::string text = line + "\n" + line;
      const std::string enc = QuotedPrintableEncode(text);
      ASSERT_EQ(enc, ref::QuotedPrintableEncode(text)) << len << " [" << tail << "]";
      EXPECT_EQ(QuotedPrintableDecode(enc), text + "\n");  // the encoder ends every line, the last too
      std::istringstream lines(enc);
      for (std::string l; std::getline(lines, l);) {
        EXPECT_LE(l.size(), 77u) << l;
        EXPECT_FALSE(l.starts_with(".")) << l;
        EXPECT_FALSE(l.starts_with("From ")) << l;
      }
    }
  }
}

// ---- Locales ----

TEST(LocaleTest, NormalizeLocale) {
  EXPECT_EQ(NormalizeLocale("de"), "de");
  EXPECT_EQ(NormalizeLocale("de-AT"), "de-at");
  EXPECT_EQ(NormalizeLocale("de_AT.UTF-8"), "de-at");
  EXPECT_EQ(NormalizeLocale("de_DE@euro"), "de-de");
  EXPECT_EQ(NormalizeLocale(" DE "), "de");
  EXPECT_EQ(NormalizeLocale("zh-Hant-TW"), "zh-hant-tw");
  EXPECT_EQ(NormalizeLocale(""), "");
  EXPECT_EQ(NormalizeLocale("d"), "");
  EXPECT_EQ(NormalizeLocale("../de"), "");
  EXPECT_EQ(NormalizeLocale("de/../../etc"), "");
  EXPECT_EQ(NormalizeLocale("de--at"), "");
  EXPECT_EQ(NormalizeLocale("images"), "");
}

TEST(LocaleTest, GermanDatesAndDescriptions) {
  EXPECT_EQ(HumanDate(kNov9), "9 November 2025");
  EXPECT_EQ(HumanDate(kNov9, "de"), "9. November 2025");
  EXPECT_EQ(HumanDate(kNov9 - 250 * kDay, "de"), "4. März 2025");
  EXPECT_EQ(HumanDate(kNov9, "fr"), "9 November 2025");  // a language the code does not know: English
  EXPECT_EQ(CategoryDescription(kCatName, "de"), "Ihr Name");
  EXPECT_EQ(CategoryDescription(kCatName, "en"), CategoryDescription(kCatName));
  for (uint32_t bit = 1; bit <= kCatGovernmentId; bit <<= 1) {
    EXPECT_NE(CategoryDescription(bit, "de"), CategoryDescription(bit)) << bit;
    EXPECT_NE(CategoryDescription(bit, "de"), CategoryDescription(0, "de")) << bit;  // each has its own text
  }
}

class LocaleNoticeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = NoticeTemplate::Load(DefaultTemplateDir());
    ASSERT_TRUE(t.ok()) << t.status().message();
    tmpl_ = *t;
  }
  Notice Render(const std::string& locale, CategorySet cats) {
    NoticeInput in = TestInput(&org_, cats);
    in.locale = locale;
    auto n = tmpl_->Render(in, key_);
    EXPECT_TRUE(n.ok()) << locale << ": " << n.status().message();
    return n.ok() ? *n : Notice{};
  }
  static std::string Canonical(const Notice& n) {
    auto sc = ExtractSignedContent(n.message);
    EXPECT_TRUE(sc.ok()) << sc.status().message();
    return sc.ok() ? sc->canonical : "";
  }
  static std::string Html(const std::string& message) {
    const size_t ct = message.find("Content-Type: text/html");
    if (ct == std::string::npos) return "";
    const size_t body = message.find("\r\n\r\n", ct) + 4;
    return QuotedPrintableDecode(std::string_view(message).substr(body, message.find("--=_vg_", body) - body));
  }
  Config::Organization org_ = TestOrg();
  NoticeKey key_ = TestKey();
  std::shared_ptr<const NoticeTemplate> tmpl_;
};

TEST_F(LocaleNoticeTest, TheDefaultTemplateShipsGerman) {
  EXPECT_EQ(tmpl_->locales(), std::vector<std::string>{"de"});
  EXPECT_EQ(tmpl_->language(), "en");
  EXPECT_EQ(tmpl_->ForLocale("de-AT").language(), "de");
  EXPECT_EQ(&tmpl_->ForLocale("fr"), tmpl_.get());
}

TEST_F(LocaleNoticeTest, GermanContactGetsTheGermanNoticeOthersEnglishAllGenuine) {
  const CategorySet cats = kCatIdentifier | kCatName | kCatNetwork | kCatSecret | kCatFinancial;
  for (const std::string locale : {"de", "de-AT", "de_CH.UTF-8", "DE"}) {
    const Notice n = Render(locale, cats);
    EXPECT_EQ(n.subject, "Wichtig: Ein Sicherheitsvorfall bei Mixpanel betrifft einige Ihrer Daten") << locale;
    const std::string text = Canonical(n);
    for (const std::string& want :
         {"Guten Tag Jane Doe,", "zwischen dem 9. November 2025\nund dem 25. November 2025",
          "hatten sie zwischen dem 10. Oktober 2025 und dem 11. November 2025 an Mixpanel übermittelt.", "Ihr Name",
          "die IP-Adresse Ihrer Verbindung", "Zugangsdaten wie Passwörter", "Kartenauszüge",
          "Die Kennung war ein Pseudonym", "Mit freundlichen Grüßen\nExample Inc.", "https://example.com/notices/"}) {
      EXPECT_NE(text.find(want), std::string::npos) << locale << ": missing \"" << want << "\"\n" << text;
    }
    for (uint32_t bit = 1; bit <= kCatGovernmentId; bit <<= 1) {
      EXPECT_EQ(text.find(std::string(CategoryDescription(bit))), std::string::npos) << "English: " << bit;
      if (!(cats & bit)) EXPECT_EQ(text.find(std::string(CategoryDescription(bit, "de"))), std::string::npos) << bit;
    }
    EXPECT_EQ(text.find("WHAT HAPPENED"), std::string::npos);
    const std::string html = Html(n.message);
    EXPECT_NE(html.find("<html lang=\"de\">"), std::string::npos) << html;
    EXPECT_NE(html.find("<li>Ihr Name</li>"), std::string::npos) << html;
    // The subject is not ASCII-safe to send raw: RFC 2047 is only used when needed, and it round-trips.
    const NoticeVerification v = VerifyNotice(n.message, key_.public_key(), "example.com");
    EXPECT_TRUE(v.genuine()) << locale << ": " << v.reason;
    EXPECT_EQ(v.subject, n.subject);
  }
  for (const std::string locale : {"en", "fr", "", "xx-yy", "not a locale", "dee"}) {
    const Notice n = Render(locale, cats);
    EXPECT_EQ(n.subject, "Important: a security incident at Mixpanel involved some of your data") << locale;
    const std::string text = Canonical(n);
    EXPECT_NE(text.find("WHAT HAPPENED"), std::string::npos) << locale;
    EXPECT_NE(text.find("between\n9 November 2025 and 25 November 2025"), std::string::npos) << text;
    EXPECT_NE(text.find(std::string(CategoryDescription(kCatName))), std::string::npos) << locale;
    EXPECT_EQ(text.find("Guten Tag"), std::string::npos) << locale;
    const NoticeVerification v = VerifyNotice(n.message, key_.public_key(), "example.com");
    EXPECT_TRUE(v.genuine()) << locale << ": " << v.reason;
  }
}

TEST_F(LocaleNoticeTest, GermanNoticeIsTamperEvidentToo) {
  const Notice n = Render("de", kCatContact);
  const std::string text_part = QuotedPrintableDecode(n.message.substr(n.message.find("\r\n\r\n", n.message.find("text/plain")) + 4));
  ASSERT_NE(text_part.find("Guten Tag Jane Doe"), std::string::npos);
  std::string forged = n.message;
  const size_t at = forged.find("nicht betroffen");
  ASSERT_NE(at, std::string::npos);
  forged.replace(at, 15, "sehr betroffen!");
  const NoticeVerification v = VerifyNotice(forged, key_.public_key(), "example.com");
  EXPECT_EQ(v.verdict, NoticeVerdict::kSignatureMismatch) << v.reason;
}

TEST(LocaleTemplateDirTest, MostSpecificSubdirectoryWinsAndBadOnesAreReported) {
  TempDir dir;
  const auto write_template = [](const std::filesystem::path& d, const std::string& word) {
    std::filesystem::create_directories(d);
    WriteFile(d / "subject.tpl", word + " subject");
    WriteFile(d / "body.txt.tpl", word + " body {{FIRST_DISCLOSURE}}\n{{#CATEGORY}}{{DESCRIPTION}}\n{{/CATEGORY}}");
  };
  write_template(dir.path(), "english");
  write_template(dir.path() / "de", "deutsch");
  write_template(dir.path() / "de_AT", "oesterreich");
  write_template(dir.path() / "fr", "francais");
  std::filesystem::create_directories(dir.path() / "images");  // not a locale
  std::filesystem::create_directories(dir.path() / "old");     // named like one, but holds no template
  auto t = NoticeTemplate::Load(dir.str());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->locales(), (std::vector<std::string>{"de", "de-at", "fr"}));
  const Config::Organization org = TestOrg();
  const NoticeKey key = TestKey();
  const auto subject_for = [&](const std::string& locale) {
    NoticeInput in = TestInput(&org, kCatName);
    in.locale = locale;
    auto n = (*t)->Render(in, key);
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? n->subject : "";
  };
  EXPECT_EQ(subject_for("de-AT"), "oesterreich subject");
  EXPECT_EQ(subject_for("de_at.UTF-8"), "oesterreich subject");
  EXPECT_EQ(subject_for("de-CH"), "deutsch subject");
  EXPECT_EQ(subject_for("de"), "deutsch subject");
  EXPECT_EQ(subject_for("fr-CA"), "francais subject");
  EXPECT_EQ(subject_for("es"), "english subject");
  EXPECT_EQ(subject_for(""), "english subject");
  // French is a language the code has no texts for: its descriptions and dates are English.
  NoticeInput in = TestInput(&org, kCatName);
  in.locale = "fr";
  auto n = (*t)->Render(in, key);
  ASSERT_TRUE(n.ok());
  EXPECT_NE(ExtractSignedContent(n->message)->canonical.find("francais body 10 October 2025\nyour name\n"),
            std::string::npos);

  // A locale directory without its text is an error naming it, not a silent fallback to English.
  std::filesystem::remove(dir.path() / "fr" / "body.txt.tpl");
  auto bad = NoticeTemplate::Load(dir.str());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("fr/body.txt.tpl"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("locale fr"), std::string::npos) << bad.status().message();
  std::filesystem::remove_all(dir.path() / "fr");
  // Two directories for one locale.
  write_template(dir.path() / "DE", "zweimal");
  bad = NoticeTemplate::Load(dir.str());
  if (std::filesystem::exists(dir.path() / "de" / "subject.tpl") && std::filesystem::exists(dir.path() / "DE")) {
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("second template for locale de"), std::string::npos)
        << bad.status().message();
  }
  std::filesystem::remove_all(dir.path() / "DE");
  // An unsafe locale template is refused at load, naming its file.
  write_template(dir.path() / "it", "italiano");
  WriteFile(dir.path() / "it" / "body.html.tpl", "<form action=\"https://example.com\"></form>");
  bad = NoticeTemplate::Load(dir.str());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("it/body.html.tpl"), std::string::npos) << bad.status().message();
}

// Through the campaign: the locale column of the contact directory decides the notice's language.
TEST(LocaleCampaignTest, ContactsLocaleChoosesTheTemplate) {
  TempDir dir;
  auto t = NoticeTemplate::Load(DefaultTemplateDir());
  ASSERT_TRUE(t.ok()) << t.status().message();
  CampaignSpec spec;
  spec.incident_dir = (dir.path() / "INC-1").string();
  spec.vendor = "Mixpanel";
  spec.window_from_us = kNov9;
  spec.window_to_us = kNov9 + 16 * kDay;
  spec.organization = TestOrg();
  spec.now_us = kNov9 + 20 * kDay;
  const NoticeKey key = TestKey();
  auto contacts = ParseContactsCsv(
      "subject,email,name,locale\nu1,anna@example.org,Anna,de\nu2,bob@example.org,Bob,pt-BR\nu3,carl@example.org,,de-AT\n",
      "contacts.csv");
  ASSERT_TRUE(contacts.ok());
  std::vector<AffectedPerson> affected = {{"u1", kCatName, kNov9, kNov9}, {"u2", kCatName, kNov9, kNov9},
                                          {"u3", kCatName, kNov9, kNov9}};
  auto p = PrepareCampaign(spec, affected, *contacts, **t, key);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->notices_added, 3u);
  std::map<std::string, std::string> by_recipient;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "INC-1" / "notices")) {
    if (e.path().extension() != ".eml") continue;
    const std::string eml = ReadFile(e.path());
    const NoticeVerification v = VerifyNotice(eml, key.public_key(), "example.com");
    EXPECT_TRUE(v.genuine()) << e.path() << ": " << v.reason;
    by_recipient[v.recipient] = ExtractSignedContent(eml)->canonical;
  }
  ASSERT_EQ(by_recipient.size(), 3u);
  EXPECT_NE(by_recipient["anna@example.org"].find("Guten Tag Anna,\n\nwir möchten Sie"), std::string::npos)
      << by_recipient["anna@example.org"];
  EXPECT_NE(by_recipient["anna@example.org"].find("hatten sie am 9. November 2025 an Mixpanel übermittelt."), std::string::npos);
  EXPECT_NE(by_recipient["carl@example.org"].find("Guten Tag,\n\nwir möchten Sie"), std::string::npos);
  EXPECT_NE(by_recipient["bob@example.org"].find("Dear Bob,"), std::string::npos);
  EXPECT_NE(by_recipient["bob@example.org"].find("on 9 November 2025"), std::string::npos);
}

}  // namespace
}  // namespace vg::notify
