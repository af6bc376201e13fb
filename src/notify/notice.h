// Breach notices (issue #6): one message per affected person, rendered from a template with exactly that
// person's exposed data categories, checked so that it cannot look like the phishing it warns about, and
// signed so that anyone can tell it from an imitation.
//
// TEMPLATES. A template directory holds subject.tpl, body.txt.tpl and optionally body.html.tpl, in Google
// ctemplate syntax (templates/notice/ at the repository root is the default and documents every variable).
// The HTML template is expanded with ctemplate's HTML auto-escaping ({{%AUTOESCAPE context="HTML"}} is
// added when the file does not start with it), so a name from the contact directory cannot inject markup.
// Render refuses, naming the template file: a rendered http(s)/www link or mailto: address whose host is
// not the organization's domain or a subdomain of it; in HTML, a link that is not absolute (href="//x",
// javascript:), and <form>, <input>, <button>, <textarea>, <select>, <script>, <iframe>, <object> or
// <embed>; CR or LF (or any control character) in the subject, the recipient or the name, which would let
// contact data inject mail headers.
//
// THE MESSAGE. RFC 5322 with CRLF line endings: From (the organization), To, Subject (RFC 2047 when not
// ASCII), Date, Message-ID <notice-id@domain>, X-Vendorguard-Notice, MIME 1.0; the text part is
// text/plain; charset=UTF-8 in quoted-printable (with a text/html alternative when the template has one,
// in a multipart/alternative). The quoted-printable encoder also encodes a line-leading "." (=2E) and
// "From " (=46rom), so SMTP dot-stuffing and mbox quoting cannot alter any line. The text part ends with
//
//   -----BEGIN VENDORGUARD NOTICE SIGNATURE-----
//   Notice: N-7KQ2M9X4TA
//   Issuer: example.com
//   To: jane@example.org
//   Subject: <the subject, UTF-8>
//   Key: 0123456789abcdef
//   Signature: <base64 of the 64-byte Ed25519 signature, in two halves; the
//    second on a continuation line starting with a space>
//   -----END VENDORGUARD NOTICE SIGNATURE-----
//
// THE SIGNED BYTES (canonical form, UTF-8, LF line endings) are
//
//   "vendorguard-notice-v1\n" "notice: " ID "\n" "issuer: " DOMAIN "\n" "key: " KEYID "\n"
//   "to: " RECIPIENT "\n" "subject: " SUBJECT "\n" "\n" BODY
//
// where BODY is the decoded text part before the BEGIN line, with CR removed, trailing spaces and tabs cut
// from every line, leading and trailing empty lines removed, and each line ended by "\n". So a notice
// verifies after CRLF/LF conversion, quoted-printable or base64 re-encoding, added headers (Received:...),
// trailing-whitespace trimming and dot-stuffing; a changed word, recipient, subject, id or issuer does not.
// The HTML alternative is not signed: a verifier reads the text part, and VerifyNotice refuses a message
// whose HTML part links outside the issuer's domain.
//
// LOCALES. A template directory may also hold one subdirectory per locale (de/, pt-br/, ...) with the same
// files. A notice is rendered from the subdirectory for the recipient's locale (NoticeInput::locale, from
// the contact directory): the whole tag first ("de-AT", "de_AT.UTF-8" -> de-at/), then its language ("de/"),
// else the top-level files, which are English. The texts the code supplies (the category DESCRIPTIONs and
// the dates) come in the template's language when it is one the code knows (English, German: "9. November
// 2025"), in English otherwise. MEASURES is inserted as given (`incident notify` writes it in English).
//
// Thread-safety: NoticeTemplate is immutable after Load and Render may be called from any thread; the free
// functions are pure (NewNoticeId uses libsodium's thread-safe random generator).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "notify/notice_key.h"
#include "policy/categories.h"

namespace ctemplate {
class TemplateCache;
}

namespace vg::notify {

// "N-" and 10 Crockford base32 characters (50 random bits): short, no I/L/O/U to misread.
std::string NewNoticeId();
bool IsNoticeId(std::string_view id);

// One plain addr-spec: one "@", no spaces, brackets, quotes, commas or control characters.
bool IsPlainEmail(std::string_view email);

// What a category of personal data means to the person, in plain English ("your name", "your IP address"),
// or in `language` ("de": "Ihr Name"; a language the code does not know: English).
std::string_view CategoryDescription(uint32_t category_bit);
std::string_view CategoryDescription(uint32_t category_bit, std::string_view language);

// "25 November 2025" (UTC); in German ("de") "25. November 2025".
std::string HumanDate(int64_t us);
std::string HumanDate(int64_t us, std::string_view language);

// A locale tag as templates are looked up by: lower case, "_" as "-", without an encoding or modifier
// ("de_AT.UTF-8@euro" -> "de-at"). Empty when it is not a tag (letters, digits and "-" only, starting with
// two or three letters).
std::string NormalizeLocale(std::string_view locale);

// "Tue, 25 Nov 2025 10:00:00 +0000" (RFC 5322 date-time, UTC).
std::string MailDate(int64_t us);

// Everything one notice says. Strings are UTF-8.
struct NoticeInput {
  std::string notice_id;  // NewNoticeId()
  std::string email;      // the recipient's address (no display name)
  std::string name;       // may be empty: the greeting is then generic
  std::string locale;     // from the contact directory (available to templates as {{LOCALE}})
  CategorySet categories = 0;  // this person's exposed categories (policy/categories.h)
  int64_t first_disclosure_us = 0;  // first and last disclosure of their data the vendor held
  int64_t last_disclosure_us = 0;
  int64_t window_from_us = 0;  // the incident window
  int64_t window_to_us = 0;
  std::string vendor;                      // the breached vendor as people know it ("Mixpanel")
  bool identifiers_pseudonymized = false;  // the vendor received keyed pseudonyms, not account ids
  std::string measures;                    // what the company did (may be empty)
  const Config::Organization* organization = nullptr;  // required; outlives the call
  std::string from_address;  // default: the organization's contact if it is on its domain, else privacy@domain
  int64_t date_us = 0;       // the Date: header
};

struct Notice {
  std::string id;
  std::string recipient;
  std::string subject;
  std::string message;  // the whole RFC 5322 message, CRLF line endings
};

class NoticeTemplate {
 public:
  static constexpr std::string_view kSubjectFile = "subject.tpl";
  static constexpr std::string_view kTextFile = "body.txt.tpl";
  static constexpr std::string_view kHtmlFile = "body.html.tpl";

  // Reads and compiles DIR/subject.tpl, DIR/body.txt.tpl and DIR/body.html.tpl (if present), and the same
  // in every subdirectory named like a locale tag (de/, de-at/, pt_BR/; others are ignored). NotFound or
  // InvalidArgument name the file (a syntax error, forbidden HTML in the template source, a locale
  // subdirectory without subject.tpl or body.txt.tpl, two subdirectories for the same locale).
  [[nodiscard]] static StatusOr<std::shared_ptr<const NoticeTemplate>> Load(const std::string& dir);
  // The same from strings (`html` empty: no HTML part); `origin` names them in errors; `language` is the
  // language of the code-supplied texts (see LOCALES). No locale variants.
  [[nodiscard]] static StatusOr<std::shared_ptr<const NoticeTemplate>> FromStrings(std::string_view subject,
                                                                                   std::string_view text,
                                                                                   std::string_view html,
                                                                                   std::string origin = "",
                                                                                   std::string language = "en");
  ~NoticeTemplate();

  bool has_html() const { return has_html_; }
  const std::string& language() const { return language_; }
  // The locales this template has variants for (normalized, sorted); empty for a variant itself.
  std::vector<std::string> locales() const;
  // The template a person with `locale` gets: see LOCALES. Valid as long as this template.
  const NoticeTemplate& ForLocale(std::string_view locale) const;

  // Renders ForLocale(in.locale), checks (see the file comment) and signs one notice. InvalidArgument names
  // the template file (or the input field) and the offending link, tag or character; nothing is returned then.
  [[nodiscard]] StatusOr<Notice> Render(const NoticeInput& in, const NoticeKey& key) const;

 private:
  NoticeTemplate();
  [[nodiscard]] StatusOr<Notice> RenderThis(const NoticeInput& in, const NoticeKey& key) const;
  std::unique_ptr<ctemplate::TemplateCache> cache_;
  std::string origin_;    // "DIR/" or "" in errors
  std::string language_;  // "en", "de", ...: the code-supplied texts
  bool has_html_ = false;
  // Normalized locale tag -> variant, sorted (a handful: a linear search is the fastest lookup).
  std::vector<std::pair<std::string, std::shared_ptr<const NoticeTemplate>>> variants_;
};

// ---- Verification --------------------------------------------------------------------------------------

enum class NoticeVerdict {
  kGenuine,
  kNoSignatureBlock,   // no BEGIN VENDORGUARD NOTICE SIGNATURE line
  kMalformedBlock,     // a field missing or unreadable, no END line, two blocks
  kWrongIssuer,        // the block names another domain than ours
  kUnknownKey,         // signed by a key that is not ours
  kSignatureMismatch,  // the signed content (text, recipient, subject, id) was changed
  kHeaderMismatch,     // the message's To:/Subject: headers differ from what was signed
  kUnsignedContent,    // text after the block, or an HTML part linking elsewhere
};
std::string_view ToString(NoticeVerdict v);  // "genuine", "no_signature_block", ...

struct NoticeVerification {
  NoticeVerdict verdict = NoticeVerdict::kNoSignatureBlock;
  std::string reason;  // one sentence a person can act on; for kGenuine a summary
  // What the block claims (filled as far as it could be read).
  std::string notice_id, issuer, recipient, subject, key_id;
  bool genuine() const { return verdict == NoticeVerdict::kGenuine; }
};

// The signed content of a notice, for an independent check:
//   openssl pkeyutl -verify -pubin -inkey notice.pub -rawin -in MSG -sigfile SIG
struct SignedContent {
  std::string canonical;  // the exact signed bytes (MSG)
  std::string signature;  // 64 raw bytes (SIG)
  std::string notice_id, issuer, recipient, subject, key_id;
};

// Reads a notice: a whole message (.eml as a mail server stores it: CRLF or LF, added headers, an mbox
// "From " line, quoted-printable/base64, multipart) or just its text. Fails with the verdict's reason
// (kNoSignatureBlock, kMalformedBlock, kHeaderMismatch, kUnsignedContent) in *verdict.
[[nodiscard]] StatusOr<SignedContent> ExtractSignedContent(std::string_view bytes, NoticeVerdict* verdict = nullptr);

// Genuine, or exactly why not. `expected_issuer` empty: the issuer domain is reported, not checked.
NoticeVerification VerifyNotice(std::string_view bytes, const NoticePublicKey& key,
                                std::string_view expected_issuer);

// ---- Building blocks, exposed for tests and the verifier -----------------------------------------------

// The canonical body: see the file comment.
std::string CanonicalBody(std::string_view text);
// Quoted-printable (RFC 2045) with CRLF, lines <= 76, and line-leading "." and "From " encoded.
std::string QuotedPrintableEncode(std::string_view text);
// The same appended to *out (one buffer for the whole message).
void AppendQuotedPrintable(std::string_view text, std::string* out);
std::string QuotedPrintableDecode(std::string_view encoded);
// Checks every link in `rendered` (see the file comment); `html` adds the HTML rules. InvalidArgument
// names what was found; the caller prefixes the template file.
[[nodiscard]] Status CheckLinksAndMarkup(std::string_view rendered, std::string_view domain, bool html);

}  // namespace vg::notify
