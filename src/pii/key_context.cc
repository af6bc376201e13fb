#include "pii/key_context.h"

#include <algorithm>
#include <array>
#include <string>

namespace vg {

namespace {

// Keys are short; longer ones are cut (their last words still count most).
constexpr size_t kMaxWords = 12;

struct KeyWords {
  std::array<std::string, kMaxWords> words;
  size_t n = 0;

  bool Has(std::string_view w) const {
    return std::find(words.begin(), words.begin() + n, w) != words.begin() + n;
  }
  template <size_t N>
  bool HasAny(const std::array<std::string_view, N>& set) const {
    for (size_t i = 0; i < n; ++i) {
      if (std::find(set.begin(), set.end(), words[i]) != set.end()) return true;
    }
    return false;
  }
  std::string_view Last() const { return n ? std::string_view(words[n - 1]) : std::string_view(); }
};

bool IsLowerAscii(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpperAscii(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigitAscii(char c) { return c >= '0' && c <= '9'; }

// Splits one key into lower-case words on punctuation and camelCase boundaries ("phoneNumber",
// "IPAddress" -> ip, address; "$app_version_string").
void SplitWords(std::string_view key, KeyWords* out) {
  std::string cur;
  auto flush = [&] {
    if (!cur.empty() && out->n < kMaxWords) out->words[out->n++] = cur;
    cur.clear();
  };
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (IsUpperAscii(c)) {
      bool prev_lower = i > 0 && (IsLowerAscii(key[i - 1]) || IsDigitAscii(key[i - 1]));
      bool next_lower = i + 1 < key.size() && IsLowerAscii(key[i + 1]);
      bool prev_upper = i > 0 && IsUpperAscii(key[i - 1]);
      if (prev_lower || (prev_upper && next_lower)) flush();
      cur.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (IsLowerAscii(c) || IsDigitAscii(c)) {
      cur.push_back(c);
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      cur.push_back(c);
    } else {
      flush();
    }
  }
  flush();
}

// The last object key of a path, and the one before it: "a.b[2].c[0]" -> "c", "b".
void LastKeys(std::string_view path, std::string_view* last, std::string_view* parent) {
  auto strip_indices = [](std::string_view s) {
    while (!s.empty() && s.back() == ']') {
      size_t open = s.rfind('[');
      if (open == std::string_view::npos) break;
      s = s.substr(0, open);
    }
    return s;
  };
  path = strip_indices(path);
  size_t dot = path.rfind('.');
  *last = dot == std::string_view::npos ? path : path.substr(dot + 1);
  *parent = {};
  if (dot != std::string_view::npos) {
    std::string_view rest = strip_indices(path.substr(0, dot));
    size_t d2 = rest.rfind('.');
    *parent = d2 == std::string_view::npos ? rest : rest.substr(d2 + 1);
  }
}

constexpr std::array<std::string_view, 52> kIdentifierWords = {
    "version", "ver", "build", "release", "revision", "rev", "sku", "invoice", "inv", "order",
    "id", "ids", "uuid", "guid", "ref", "reference", "tracking", "hash", "sha", "checksum",
    "commit", "serial", "timestamp", "ts", "time", "date", "amount", "price", "total", "count",
    "qty", "quantity", "size", "duration", "lat", "lon", "lng", "latitude", "longitude", "isbn",
    "ean", "upc", "gtin", "asin", "barcode", "batch", "lot", "ticket", "nonce", "seq", "sequence",
    "offset"};
constexpr std::array<std::string_view, 8> kVersionWords = {"version", "ver", "build", "release",
                                                           "revision", "rev", "firmware", "fw"};
constexpr std::array<std::string_view, 16> kPhoneWords = {
    "phone", "phones", "mobile", "cell", "cellphone", "tel", "telephone", "fax", "msisdn", "sms",
    "whatsapp", "landline", "telefon", "telefone", "telefono", "handy"};
constexpr std::array<std::string_view, 3> kSsnWords = {"ssn", "ssns", "socialsecurity"};
constexpr std::array<std::string_view, 6> kCardWords = {"card", "cc", "pan", "ccnum", "creditcard", "cardnumber"};
constexpr std::array<std::string_view, 8> kIpWords = {"ip", "ips", "ipv4", "ipv6", "ipaddr", "ipaddress",
                                                      "forwarded", "remoteaddr"};
constexpr std::array<std::string_view, 4> kEmailWords = {"email", "emails", "mail", "e"};
// A key ending in one of these holds a credential.
constexpr std::array<std::string_view, 14> kSecretLastWords = {
    "apikey", "token", "tokens", "secret", "secrets", "credential", "credentials", "auth",
    "authorization", "bearer", "jwt", "privatekey", "secretkey", "accesskey"};
// "<qualifier>_key" is a credential for these qualifiers.
constexpr std::array<std::string_view, 14> kKeyQualifiers = {
    "api", "access", "secret", "private", "signing", "encryption", "license", "client",
    "auth", "master", "service", "app", "write", "admin"};
constexpr std::array<std::string_view, 7> kPasswordWords = {"password", "passwd", "pwd", "passphrase",
                                                            "passcode", "pin", "pass"};
// "<qualifier> name" is a person's name for these qualifiers.
constexpr std::array<std::string_view, 30> kPersonQualifiers = {
    "full", "first", "last", "given", "family", "middle", "sur", "real", "legal", "customer",
    "contact", "person", "cardholder", "holder", "billing", "shipping", "recipient", "sender",
    "patient", "employee", "member", "buyer", "guest", "passenger", "maiden", "client",
    "applicant", "student", "parent", "emergency"};
constexpr std::array<std::string_view, 10> kPersonWords = {
    "firstname", "lastname", "fullname", "surname", "forename", "givenname", "familyname",
    "fname", "lname", "middlename"};
// Often a person: confirmed against the names dictionary.
constexpr std::array<std::string_view, 22> kMaybePersonWords = {
    "account", "user", "username", "display", "owner", "author", "assignee", "reporter",
    "creator", "customer", "contact", "cardholder", "signer", "manager", "agent", "nickname",
    "recipient", "sender", "invitee", "inviter", "profile", "person"};

// Keys whose values are places, organisations or things.
constexpr std::array<std::string_view, 30> kNotPersonWords = {
    "city", "country", "region", "state", "street", "town", "place", "location", "venue", "company",
    "org", "organization", "organisation", "product", "brand", "team", "workspace", "event", "title", "page",
    "plan", "category", "campaign", "store", "shop", "merchant", "vendor", "bank", "browser", "os"};

void ClassifyName(const KeyWords& last, const KeyWords& parent, bool dollar, KeyContext* ctx) {
  if (last.HasAny(kNotPersonWords)) {
    ctx->not_person = true;
    return;
  }
  if (last.HasAny(kPersonWords)) {
    ctx->name = NameKey::kPerson;
    return;
  }
  if (last.Has("name") || last.Has("names")) {
    if (dollar && last.n == 1) {
      ctx->name = NameKey::kPerson;  // Mixpanel's reserved $name is the person's name
    } else if (last.HasAny(kPersonQualifiers)) {
      ctx->name = NameKey::kPerson;
    } else if (last.n == 1) {
      // "customer.name" vs "product.name": the parent key qualifies a bare "name".
      if (parent.HasAny(kPersonQualifiers) || parent.HasAny(kMaybePersonWords)) {
        ctx->name = NameKey::kPerson;
      } else if (parent.n == 0 || parent.Has("properties") || parent.Has("user") || parent.Has("people")) {
        ctx->name = NameKey::kMaybePerson;
      }
    } else if (last.HasAny(kMaybePersonWords)) {
      ctx->name = NameKey::kMaybePerson;
    }
    return;
  }
  if (last.n >= 1 && last.n <= 2 && last.HasAny(kMaybePersonWords) && !last.Has("id") &&
      !last.Has("type") && !last.Has("count")) {
    ctx->name = NameKey::kMaybePerson;
  }
}

}  // namespace

KeyContext ClassifyKey(std::string_view key_path) {
  KeyContext ctx;
  std::string_view last_key, parent_key;
  LastKeys(key_path, &last_key, &parent_key);
  if (last_key.empty()) return ctx;
  KeyWords last, parent;
  SplitWords(last_key, &last);
  SplitWords(parent_key, &parent);
  if (last.n == 0) return ctx;

  ctx.phone = last.HasAny(kPhoneWords);
  ctx.ssn = last.HasAny(kSsnWords) || (last.Has("social") && last.Has("security"));
  ctx.card = last.HasAny(kCardWords) || (last.Has("credit") && last.Has("card"));
  ctx.ip = last.HasAny(kIpWords) || (last.Has("remote") && last.Has("addr"));
  ctx.email = last.HasAny(kEmailWords) && !last.Has("id");
  ctx.version = last.HasAny(kVersionWords);
  ctx.identifier = last.HasAny(kIdentifierWords) && !ctx.phone && !ctx.ssn && !ctx.card && !ctx.ip;

  std::string_view tail = last.Last();
  bool key_credential = (tail == "key" || tail == "keys") && last.n >= 2 &&
                        std::find(kKeyQualifiers.begin(), kKeyQualifiers.end(), last.words[last.n - 2]) !=
                            kKeyQualifiers.end();
  ctx.password = std::find(kPasswordWords.begin(), kPasswordWords.end(), tail) != kPasswordWords.end();
  ctx.secret = ctx.password || key_credential ||
               std::find(kSecretLastWords.begin(), kSecretLastWords.end(), tail) != kSecretLastWords.end();
  if (ctx.secret) ctx.identifier = false;

  ClassifyName(last, parent, last_key.front() == '$', &ctx);
  return ctx;
}

}  // namespace vg
