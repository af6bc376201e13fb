// Validators that confirm or reject a candidate found by the pattern scan. Each is a pure function over
// the candidate's bytes, linear in its length, with no allocation on the common path.
// Thread-safety: pure functions; the suffix list is loaded once and then read-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vg {

// Payment card: 12-19 digits, Luhn-valid, not all one digit, and an issuer range that exists with one of
// that issuer's lengths:
//   Visa 4 (13, 16, 19); Mastercard 51-55, 2221-2720 (16); Amex 34, 37 (15);
//   Discover 6011, 644-649, 65, 622126-622925 (16-19); JCB 3528-3589 (16-19);
//   Diners 300-305, 36, 38-39 (14-19); UnionPay 62 (16-19);
//   Maestro 5018, 5020, 5038, 5893, 6304, 6759, 6761-6763 (12-19).
// Separators: either none, or single spaces or single dashes (one kind, not mixed) between groups as
// cards print them: a first group of 4 digits, middle groups of 4-6, a last group of 1-6
// ("4111 1111 1111 1111", "3782-822463-10005").
bool IsValidCreditCard(std::string_view candidate);

enum class CardIssuer : uint8_t {
  kVisa,
  kMastercard,
  kAmex,
  kDiscover,
  kJcb,
  kDiners,
  kUnionPay,
  kMaestro,
};
// The issuer of a valid card number (same rules as IsValidCreditCard), or nullopt when it is not one.
// 622126-622925 is co-branded Discover/UnionPay and reported as Discover.
std::optional<CardIssuer> CreditCardIssuer(std::string_view candidate);
// "visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "maestro".
std::string_view CardIssuerName(CardIssuer issuer);

// IBAN (ISO 13616): a country code from the SWIFT IBAN registry, two check digits 02-98, and a BBAN of
// the country's registered length; upper-case letters and digits only; mod-97 == 1. Either no spaces,
// or the print form: groups of four separated by single spaces, the last group 1-4 characters
// ("GB82 WEST 1234 5698 7654 32").
bool IsValidIban(std::string_view candidate);
// The registered IBAN length (country code and check digits included) for an upper-case ISO 3166
// country code, or 0 when the country does not use IBANs. Territories that use their parent's format
// (AX; GF, GP, MQ, RE, PF, TF, YT, NC, BL, MF, PM, WF; IM, JE, GG) have the parent's length.
int IbanLengthForCountry(std::string_view country_code);

// US SSN (SSA rules): AAA-GG-SSSS, AAA GG SSSS or 9 digits; area not 000, 666 or 900-999; group not 00;
// serial not 0000; and not one of the SSA's published never-issued/advertising numbers (078-05-1120,
// 219-09-9999, 457-55-5462) or the placeholder 123-45-6789.
bool IsValidUsSsn(std::string_view candidate);

// IPv4 dotted quad with octets 0-255 and no leading zeros in multi-digit octets; IPv6 in any RFC 4291
// text form (with optional embedded IPv4). No zone ids, brackets or prefix lengths.
bool IsValidIpv4(std::string_view candidate);
bool IsValidIpv6(std::string_view candidate);

// Email: RFC 5321-ish local part (1-64 characters of atext and dots, no leading, trailing or double
// dot), '@', and a domain of at least two LDH labels (1-63 characters, no leading or trailing hyphen,
// at most 253 characters) whose last label is a real top-level domain (IsKnownTld), so `logo@2x.png`
// and `user@host.local` are not emails.
bool IsValidEmail(std::string_view candidate);
// True when `tld` (without dot, any ASCII case) is a top-level domain in TopLevelDomains::Default().
// Unicode TLDs match as UTF-8 bytes or in their punycode form ("рф" and "xn--p1ai"). No allocation.
bool IsKnownTld(std::string_view tld);

// The set of top-level domains: the rightmost label of every rule in a Public Suffix List file.
class TopLevelDomains {
 public:
  // Reads the list at `path` (comments skipped; "!" and "*." prefixes ignored; unicode rules kept as
  // UTF-8 and also added in punycode). If the file cannot be read or holds no rules, the table is a small
  // built-in list of common TLDs instead (com, net, org, edu, gov, io, co, uk, de, fr, ...) and
  // from_public_suffix_list() is false: newer or rarer TLDs are then not recognised, so emails under
  // them are missed.
  static TopLevelDomains Load(const char* path);
  // The process-wide table from the file named by the compile-time macro VG_PUBLIC_SUFFIX_LIST (Debian's
  // publicsuffix package), loaded on first use (thread-safe) and never freed. When it falls back to the
  // built-in list it says so once on stderr; callers can export from_public_suffix_list() as a metric.
  static const TopLevelDomains& Default();

  // `tld` without dot, any ASCII case. No allocation.
  bool Contains(std::string_view tld) const;
  bool from_public_suffix_list() const { return from_public_suffix_list_; }
  size_t size() const { return sorted_.size(); }

 private:
  TopLevelDomains() = default;
  static uint64_t HashOf(std::string_view lower);
  void BuildIndex();

  std::vector<std::string> sorted_;  // lower-case, sorted, unique
  // Contains' index: open addressing over sorted_ (a position + 1 per slot, 0 empty; a power of two, at
  // most half full), so that a look-up is a hash and a compare or two instead of a binary search.
  std::vector<uint32_t> index_;
  bool from_public_suffix_list_ = false;
};

}  // namespace vg
