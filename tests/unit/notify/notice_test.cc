#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <regex>
#include <set>

#include "notify/contacts.h"
#include "notify/notice.h"
#include "notify/notice_key.h"
#include "notify_test_util.h"

namespace vg::notify {
namespace {

using namespace vg::notify::testing;

std::string ReplaceFirst(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "\"" << from << "\" not found";
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::string ToLf(std::string s) {
  std::string out;
  for (char c : s) {
    if (c != '\r') out.push_back(c);
  }
  return out;
}

// The decoded text of the HTML part.
std::string HtmlPart(const std::string& message) {
  const size_t ct = message.find("Content-Type: text/html");
  if (ct == std::string::npos) return "";
  const size_t body = message.find("\r\n\r\n", ct) + 4;
  const size_t end = message.find("--=_vg_", body);
  return QuotedPrintableDecode(std::string_view(message).substr(body, end - body));
}

class NoticeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = NoticeTemplate::Load(DefaultTemplateDir());
    ASSERT_TRUE(t.ok()) << t.status().message();
    tmpl_ = *t;
  }
  Notice Render(CategorySet cats, NoticeInput* used = nullptr) {
    NoticeInput in = TestInput(&org_, cats);
    auto n = tmpl_->Render(in, key_);
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (used) *used = in;
    return n.ok() ? *n : Notice{};
  }
  // The signed text (canonical form) of a rendered notice.
  std::string Text(const Notice& n) {
    auto sc = ExtractSignedContent(n.message);
    EXPECT_TRUE(sc.ok()) << sc.status().message();
    return sc.ok() ? sc->canonical : "";
  }
  Config::Organization org_ = TestOrg();
  NoticeKey key_ = TestKey();
  std::shared_ptr<const NoticeTemplate> tmpl_;
};

// ---- Ids, keys ----

TEST(NoticeIdTest, ShortUnambiguousAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewNoticeId();
    ASSERT_TRUE(IsNoticeId(id)) << id;
    EXPECT_EQ(id.find_first_of("ILOU"), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(IsNoticeId("N-0123456789A"));
  EXPECT_FALSE(IsNoticeId("N-01234567IL"));
}

TEST(NoticeKeyTest, CreatedOnFirstUseWithModesAndReopened) {
  TempDir dir;
  auto k1 = NoticeKey::OpenOrCreate(dir.str());
  ASSERT_TRUE(k1.ok()) << k1.status().message();
  struct stat st;
  ASSERT_EQ(::stat(NoticeKey::SecretKeyPath(dir.str()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(NoticeKey::PublicKeyPath(dir.str()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0044u & (st.st_mode & 0077));
  auto k2 = NoticeKey::OpenOrCreate(dir.str());
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(k1->key_id(), k2->key_id());
  EXPECT_EQ(k1->key_id().size(), 16u);
  auto pub = NoticePublicKey::FromPem(ReadFile(NoticeKey::PublicKeyPath(dir.str())));
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  EXPECT_EQ(pub->key_id, k1->key_id());
  // A key file others can read is refused.
  ::chmod(NoticeKey::SecretKeyPath(dir.str()).c_str(), 0644);
  auto k3 = NoticeKey::OpenOrCreate(dir.str());
  ASSERT_FALSE(k3.ok());
  EXPECT_NE(k3.status().message().find("chmod 600"), std::string::npos) << k3.status().message();
}

// ---- Rendering ----

TEST_F(NoticeTest, DefaultTemplateNamesExactlyThePersonsCategoriesInWords) {
  const CategorySet cats = kCatIdentifier | kCatContact | kCatDevice | kCatActivity;
  NoticeInput in;
  const Notice n = Render(cats, &in);
  const std::string text = Text(n);
  for (uint32_t bit = 1; bit <= kCatGovernmentId; bit <<= 1) {
    const std::string desc(CategoryDescription(bit));
    if (cats & bit) {
      EXPECT_NE(text.find(desc), std::string::npos) << "missing: " << desc << "\n" << text;
    } else {
      EXPECT_EQ(text.find(desc), std::string::npos) << "not this person's category: " << desc;
    }
  }
  // Said once, after the list, not once per category.
  const size_t pseudonym = text.find("a pseudonym");
  EXPECT_NE(pseudonym, std::string::npos);
  EXPECT_EQ(text.find("a pseudonym", pseudonym + 1), std::string::npos) << text;
  EXPECT_NE(text.find("Dear Jane Doe,"), std::string::npos);
  EXPECT_NE(text.find("Mixpanel"), std::string::npos);
  EXPECT_NE(text.find("9 November 2025 and 25 November 2025"), std::string::npos) << text;
  EXPECT_NE(text.find("10 October 2025 and 11 November 2025"), std::string::npos) << text;
  EXPECT_NE(text.find("We stopped sending any data to Mixpanel"), std::string::npos);
  EXPECT_NE(text.find("never ask you for your password"), std::string::npos);
  EXPECT_NE(text.find("multi-factor authentication"), std::string::npos);
  EXPECT_NE(text.find("https://example.com/notices/" + in.notice_id), std::string::npos);
  EXPECT_NE(text.find("privacy@example.com"), std::string::npos);
  // No advice about credentials or banks when neither was exposed.
  EXPECT_EQ(text.find("change the affected passwords"), std::string::npos);
  EXPECT_EQ(text.find("bank and card statements"), std::string::npos);
  // Every link is on the organization's domain.
  const std::regex url(R"(https?://([^/\s"<>]+))");
  int links = 0;
  for (const std::string& part : {text, HtmlPart(n.message)}) {
    for (std::sregex_iterator it(part.begin(), part.end(), url), end; it != end; ++it, ++links) {
      EXPECT_EQ((*it)[1].str(), "example.com");
    }
  }
  EXPECT_GE(links, 3);
  // Headers.
  EXPECT_NE(n.message.find("From: \"Example Inc.\" <privacy@example.com>\r\n"), std::string::npos);
  EXPECT_NE(n.message.find("To: \"Jane Doe\" <jane@example.org>\r\n"), std::string::npos);
  EXPECT_NE(n.message.find("Message-ID: <" + in.notice_id + "@example.com>\r\n"), std::string::npos);
  EXPECT_NE(n.message.find("Date: Sat, 29 Nov 2025 00:00:00 +0000\r\n"), std::string::npos) << n.message.substr(0, 400);
  EXPECT_NE(n.message.find("multipart/alternative"), std::string::npos);
}

TEST_F(NoticeTest, SecretsAndFinancialDataGetTheirAdvice) {
  const std::string text = Text(Render(kCatSecret | kCatFinancial));
  EXPECT_NE(text.find("change the affected passwords"), std::string::npos) << text;
  EXPECT_NE(text.find("bank and card statements"), std::string::npos);
  EXPECT_EQ(text.find("a pseudonym"), std::string::npos);  // no identifier exposed
}

TEST_F(NoticeTest, HtmlPartEscapesContactData) {
  NoticeInput in = TestInput(&org_, kCatName);
  in.name = "Jane <script>alert(1)</script> & Co";
  auto n = tmpl_->Render(in, key_);
  ASSERT_TRUE(n.ok()) << n.status().message();
  const std::string html = HtmlPart(n->message);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("Jane &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"), std::string::npos) << html;
}

TEST_F(NoticeTest, NonAsciiNameAndSubjectSurviveEncoding) {
  auto t = NoticeTemplate::FromStrings("Wichtig für {{NAME}}: ein Vorfall bei {{VENDOR}} — bitte lesen, es betrifft Ihre Daten",
                                       "Hallo {{NAME}},\n\nÄrger bei {{VENDOR}}. {{VERIFY_URL}}\n", "");
  ASSERT_TRUE(t.ok()) << t.status().message();
  NoticeInput in = TestInput(&org_, kCatName);
  in.name = "Jürgen Müller";
  auto n = (*t)->Render(in, key_);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_NE(n->message.find("Subject: =?UTF-8?B?"), std::string::npos);
  const NoticeVerification v = VerifyNotice(n->message, key_.public_key(), "example.com");
  EXPECT_TRUE(v.genuine()) << v.reason;
  EXPECT_EQ(v.subject, "Wichtig für Jürgen Müller: ein Vorfall bei Mixpanel — bitte lesen, es betrifft Ihre Daten");
}

// ---- Unsafe templates ----

Status RenderWith(std::string_view subject, std::string_view text, std::string_view html, const std::string& name = "Jane") {
  auto t = NoticeTemplate::FromStrings(subject, text, html, "tpl/");
  if (!t.ok()) return t.status();
  const Config::Organization org = TestOrg();
  NoticeInput in = TestInput(&org, kCatContact);
  in.name = name;
  auto n = (*t)->Render(in, TestKey());
  return n.ok() ? Status::Ok() : n.status();
}

TEST(UnsafeTemplateTest, ForeignLinksAreRefusedNamingTheFile) {
  struct Case {
    std::string text;
    std::string host;
  };
  for (const Case& c : std::vector<Case>{{"Log in at https://evil.example/login now", "evil.example"},
                                         {"See http://example.com.evil.net/x", "example.com.evil.net"},
                                         {"See https://example.com@evil.example/", "evil.example"},
                                         {"See HTTPS://EVIL.EXAMPLE", "evil.example"},
                                         {"Visit www.evil.example today", "www.evil.example"},
                                         {"Mail mailto:help@evil.example", "evil.example"}}) {
    Status s = RenderWith("Subject", c.text, "");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.message().find("tpl/body.txt.tpl"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.host), std::string::npos) << s.message();
  }
  // The organization's domain and its subdomains are fine.
  EXPECT_TRUE(RenderWith("Subject", "https://example.com/a https://help.example.com/b mailto:privacy@example.com "
                         "www.example.com {{VERIFY_URL}}", "").ok());
  // A link in the subject or the HTML part is checked too.
  Status s = RenderWith("Go to https://evil.example", "text", "");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tpl/subject.tpl"), std::string::npos) << s.message();
  s = RenderWith("Subject", "text", "<p><a href=\"https://evil.example/\">here</a></p>");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tpl/body.html.tpl"), std::string::npos) << s.message();
  s = RenderWith("Subject", "text", "<p><a href=\"//evil.example/\">here</a></p>");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not an absolute https URL"), std::string::npos) << s.message();
}

TEST(UnsafeTemplateTest, FormsInputsAndScriptsAreRefused) {
  for (std::string html : {"<form action=\"https://example.com/x\"><input name=password></form>",
                           "<p>Enter your code: <INPUT type=text></p>", "<script>steal()</script>",
                           "<button>Confirm</button>"}) {
    Status s = RenderWith("Subject", "text", html);
    ASSERT_FALSE(s.ok()) << html;
    EXPECT_NE(s.message().find("body.html.tpl"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("asks for nothing"), std::string::npos) << s.message();
  }
}

TEST(UnsafeTemplateTest, HeaderInjectionIsImpossible) {
  Status s = RenderWith("Hello\r\nBcc: everyone@evil.example", "text", "");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("subject.tpl"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("header injection"), std::string::npos) << s.message();
  // Through contact data: a name with a line break.
  s = RenderWith("Notice for {{NAME}}", "text", "", "Jane\r\nBcc: everyone@evil.example");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line break"), std::string::npos) << s.message();
  // A recipient address with a line break or a second address.
  auto t = NoticeTemplate::FromStrings("Subject", "text", "");
  ASSERT_TRUE(t.ok());
  const Config::Organization org = TestOrg();
  for (std::string bad : {"jane@example.org\r\nBcc: x@evil.example", "jane@example.org, x@evil.example", "jane"}) {
    NoticeInput in = TestInput(&org, kCatContact);
    in.email = bad;
    EXPECT_FALSE((*t)->Render(in, TestKey()).ok()) << bad;
  }
}

TEST(UnsafeTemplateTest, SyntaxErrorsNameTheFile) {
  auto t = NoticeTemplate::FromStrings("Subject", "{{#OPEN}}never closed", "", "tpl/");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tpl/body.txt.tpl"), std::string::npos) << t.status().message();
  auto missing = NoticeTemplate::Load("/nonexistent/dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("subject.tpl"), std::string::npos) << missing.status().message();
}

// ---- Signing and verification ----

TEST_F(NoticeTest, SignedNoticeVerifiesAsGenuine) {
  const Notice n = Render(kCatContact | kCatName);
  const NoticeVerification v = VerifyNotice(n.message, key_.public_key(), "example.com");
  EXPECT_EQ(v.verdict, NoticeVerdict::kGenuine) << v.reason;
  EXPECT_EQ(v.notice_id, n.id);
  EXPECT_EQ(v.recipient, "jane@example.org");
  EXPECT_EQ(v.issuer, "example.com");
  EXPECT_EQ(v.key_id, key_.key_id());
  EXPECT_EQ(v.subject, n.subject);
  // Without an issuer to check, the key decides.
  EXPECT_TRUE(VerifyNotice(n.message, key_.public_key(), "").genuine());
}

TEST_F(NoticeTest, EveryTamperIsRefusedWithItsReason) {
  const Notice n = Render(kCatContact | kCatName);
  const NoticePublicKey& pub = key_.public_key();
  auto verdict = [&](const std::string& m) { return VerifyNotice(m, pub, "example.com"); };

  // A word of the body changed.
  NoticeVerification v = verdict(ReplaceFirst(n.message, "WHAT HAPPENED", "WHAT HAPPENS!"));
  EXPECT_EQ(v.verdict, NoticeVerdict::kSignatureMismatch) << v.reason;
  EXPECT_NE(v.reason.find("changed"), std::string::npos);
  // The recipient changed in the header...
  v = verdict(ReplaceFirst(n.message, "<jane@example.org>", "<mallory@example.net>"));
  EXPECT_EQ(v.verdict, NoticeVerdict::kHeaderMismatch) << v.reason;
  EXPECT_NE(v.reason.find("mallory@example.net"), std::string::npos) << v.reason;
  // ...and in the signature block too.
  std::string both = ReplaceFirst(n.message, "<jane@example.org>", "<mallory@example.net>");
  both = ReplaceFirst(both, "To: jane@example.org", "To: mallory@example.net");
  v = verdict(both);
  EXPECT_EQ(v.verdict, NoticeVerdict::kSignatureMismatch) << v.reason;
  // The subject changed.
  v = verdict(ReplaceFirst(n.message, "Subject: Important", "Subject: Urgent"));
  EXPECT_EQ(v.verdict, NoticeVerdict::kHeaderMismatch) << v.reason;
  // The signature block removed.
  const size_t begin = n.message.find("-----BEGIN VENDORGUARD");
  const size_t end = n.message.find("\r\n", n.message.find("-----END VENDORGUARD")) + 2;
  v = verdict(n.message.substr(0, begin) + n.message.substr(end));
  EXPECT_EQ(v.verdict, NoticeVerdict::kNoSignatureBlock) << v.reason;
  // The block cut short.
  v = verdict(n.message.substr(0, end - 2 - std::string_view("-----END VENDORGUARD NOTICE SIGNATURE-----").size()));
  EXPECT_EQ(v.verdict, NoticeVerdict::kMalformedBlock) << v.reason;
  // Another key (one that is not ours).
  const NoticeKey other = TestKey(9);
  v = VerifyNotice(n.message, other.public_key(), "example.com");
  EXPECT_EQ(v.verdict, NoticeVerdict::kUnknownKey) << v.reason;
  EXPECT_NE(v.reason.find(key_.key_id()), std::string::npos);
  // An imitation signed by someone else's key with their own domain as issuer.
  Config::Organization evil = TestOrg();
  evil.domain = "examp1e.com";
  evil.contact = "privacy@examp1e.com";
  NoticeInput in = TestInput(&evil, kCatContact);
  auto fake = tmpl_->Render(in, other);
  ASSERT_TRUE(fake.ok()) << fake.status().message();
  v = verdict(fake->message);
  EXPECT_EQ(v.verdict, NoticeVerdict::kWrongIssuer) << v.reason;
  // A forged signature in the right shape.
  const size_t sig = n.message.find("Signature: ") + 11;
  std::string forged = n.message;
  forged[sig + 3] = forged[sig + 3] == 'A' ? 'B' : 'A';
  v = verdict(forged);
  EXPECT_EQ(v.verdict, NoticeVerdict::kSignatureMismatch) << v.reason;
  // Text added after the block.
  std::string text_only = ExtractSignedContent(n.message).ok() ? QuotedPrintableDecode(n.message.substr(n.message.find("\r\n\r\n", n.message.find("text/plain")) + 4)) : "";
  text_only = text_only.substr(0, text_only.find("-----END VENDORGUARD NOTICE SIGNATURE-----") + 43);
  EXPECT_TRUE(VerifyNotice(text_only, pub, "example.com").genuine()) << VerifyNotice(text_only, pub, "example.com").reason;
  v = verdict(text_only + "\nP.S. Confirm your password at our partner's site.\n");
  EXPECT_EQ(v.verdict, NoticeVerdict::kUnsignedContent) << v.reason;
}

TEST_F(NoticeTest, VerifiesAfterTransportChanges) {
  const Notice n = Render(kCatContact | kCatDevice);
  const NoticePublicKey& pub = key_.public_key();
  // LF line endings, as many tools save messages.
  EXPECT_TRUE(VerifyNotice(ToLf(n.message), pub, "example.com").genuine());
  // Headers added by relays, and an mbox separator line.
  const std::string relayed = "From MAILER-DAEMON Sat Nov 29 00:00:01 2025\n"
                              "Return-Path: <privacy@example.com>\r\n"
                              "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n\tby mx.example.org with ESMTPS id 1;"
                              " Sat, 29 Nov 2025 00:00:01 +0000\r\n" +
                              n.message;
  NoticeVerification v = VerifyNotice(relayed, pub, "example.com");
  EXPECT_TRUE(v.genuine()) << v.reason;
  // Trailing whitespace added to lines of the body.
  std::string padded;
  for (size_t i = 0; i < n.message.size(); ++i) {
    if (n.message.compare(i, 2, "\r\n") == 0 && i > n.message.find("\r\n\r\n")) padded += "  ";
    padded.push_back(n.message[i]);
  }
  v = VerifyNotice(padded, pub, "example.com");
  EXPECT_TRUE(v.genuine()) << v.reason;
  // Just the text, as a person would paste it from their mail program.
  auto sc = ExtractSignedContent(n.message);
  ASSERT_TRUE(sc.ok());
  const size_t text_at = n.message.find("\r\n\r\n", n.message.find("Content-Type: text/plain")) + 4;
  const std::string text = QuotedPrintableDecode(n.message.substr(text_at, n.message.find("--=_vg_", text_at) - text_at));
  v = VerifyNotice(text, pub, "example.com");
  EXPECT_TRUE(v.genuine()) << v.reason;
}

TEST(QuotedPrintableTest, RoundTripAndTransportSafety) {
  const std::string text = ".hidden line\nFrom here on\nplain = sign\ttab \n" + std::string(200, 'x') +
                           "\nÜmlaut ünd ß\n..\n";
  const std::string enc = QuotedPrintableEncode(text);
  EXPECT_EQ(QuotedPrintableDecode(enc), text);
  std::istringstream lines(enc);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 77u) << line;  // 76 and the CR
    EXPECT_FALSE(line.starts_with(".")) << line;
    EXPECT_FALSE(line.starts_with("From ")) << line;
  }
}

TEST_F(NoticeTest, OpensslVerifiesTheExportedSignature) {
  if (RunShell("command -v openssl >/dev/null") != 0) GTEST_SKIP() << "openssl is not installed: independent check not run";
  TempDir dir;
  auto key = NoticeKey::OpenOrCreate(dir.str());
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto n = tmpl_->Render(TestInput(&org_, kCatContact | kCatLocation), *key);
  ASSERT_TRUE(n.ok()) << n.status().message();
  auto sc = ExtractSignedContent(ToLf(n->message));
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  const auto msg = dir.path() / "notice.msg", sig = dir.path() / "notice.sig";
  WriteFile(msg, sc->canonical);
  WriteFile(sig, sc->signature);
  const std::string cmd = "openssl pkeyutl -verify -pubin -inkey '" + NoticeKey::PublicKeyPath(dir.str()) +
                          "' -rawin -in '" + msg.string() + "' -sigfile '" + sig.string() + "'";
  std::string out;
  ASSERT_EQ(RunShell(cmd, &out), 0) << cmd << "\n" << out;
  EXPECT_NE(out.find("Signature Verified Successfully"), std::string::npos) << out;
  // openssl refuses the canonical form of a tampered notice.
  WriteFile(msg, ReplaceFirst(sc->canonical, "WHAT HAPPENED", "WHAT HAPPENS!"));
  EXPECT_NE(RunShell(cmd, &out), 0) << out;
}

// ---- Contacts ----

TEST(ContactsTest, CsvWithQuotingBadLinesAndMissingSubjects) {
  const std::string csv =
      "\xEF\xBB\xBFsubject,email,name,locale\r\n"
      "user-1,jane@example.org,\"Doe, Jane\",en\r\n"
      "user-2,bob@example.org,\"Bob \"\"the builder\"\"\",de\n"
      "user-3,not-an-email,Carol,en\n"
      "user-4,dave@example.org,Dave\n"
      "user-5,\"multi\nline@example.org\",Eve,en\n"
      "\n"
      "user-6,frank@example.org,\"Frank,fr\n"
      "user-1,again@example.org,Dup,en\n";
  auto dir = ParseContactsCsv(csv, "contacts.csv");
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  ASSERT_NE(dir->Find("user-1"), nullptr);
  EXPECT_EQ(dir->Find("user-1")->name, "Doe, Jane");
  EXPECT_EQ(dir->Find("user-1")->email, "jane@example.org");
  ASSERT_NE(dir->Find("user-2"), nullptr);
  EXPECT_EQ(dir->Find("user-2")->name, "Bob \"the builder\"");
  EXPECT_EQ(dir->Find("user-2")->locale, "de");
  EXPECT_EQ(dir->Find("user-3"), nullptr);
  EXPECT_EQ(dir->Find("user-4"), nullptr);
  EXPECT_EQ(dir->Find("user-5"), nullptr);
  std::vector<size_t> lines;
  for (const ContactProblem& p : dir->problems) lines.push_back(p.line);
  // 4: bad email, 5: 3 fields, 6: an email with a line break, 9: unclosed quote, 10 is inside it.
  ASSERT_GE(dir->problems.size(), 4u);
  EXPECT_EQ(lines[0], 4u);
  EXPECT_NE(dir->problems[0].reason.find("not-an-email"), std::string::npos);
  EXPECT_EQ(lines[1], 5u);
  EXPECT_NE(dir->problems[1].reason.find("3 fields"), std::string::npos) << dir->problems[1].reason;
  EXPECT_EQ(lines[2], 6u);
  EXPECT_EQ(lines[3], 9u);
  const auto missing = dir->Missing({"user-1", "user-3", "user-2", "user-99"});
  EXPECT_EQ(missing, (std::vector<std::string>{"user-3", "user-99"}));
  auto no_header = ParseContactsCsv("id,mail\n1,a@b.c\n", "x.csv");
  ASSERT_FALSE(no_header.ok());
  EXPECT_NE(no_header.status().message().find("x.csv:1"), std::string::npos);
}

TEST(ContactsTest, SqliteDirectory) {
  TempDir dir;
  const std::string path = (dir.path() / "contacts.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE contacts(subject TEXT, email TEXT, name TEXT, locale TEXT);"
                         "INSERT INTO contacts VALUES('u1', 'a@example.org', 'Ann', 'en'), ('u2', 'b@example.org', NULL, NULL),"
                         "('u3', 'broken', 'C', 'en');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto c = LoadContacts(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->by_subject.size(), 2u);
  EXPECT_EQ(c->Find("u2")->name, "");
  ASSERT_EQ(c->problems.size(), 1u);
  EXPECT_NE(c->problems[0].reason.find("u3"), std::string::npos);
  // And a CSV by the same entry point.
  WriteFile(dir.path() / "c.csv", "email,subject\nx@example.org,s1\n");
  auto csv = LoadContacts((dir.path() / "c.csv").string());
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  EXPECT_EQ(csv->Find("s1")->email, "x@example.org");
}

}  // namespace
}  // namespace vg::notify
