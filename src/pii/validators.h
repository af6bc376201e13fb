// Validators that confirm or reject a candidate found by the pattern scan. Each is a pure function over
// the candidate's bytes, linear in its length, with no allocation on the common path.
// Thread-safety: pure functions; the suffix list is loaded once and then read-only.
#pragma once

#include <string_view>

namespace vg {

// Payment card: 12-19 digits (spaces or dashes between groups allowed), Luhn-valid, and an issuer
// range that exists (Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover 6011/644-649/65,
// JCB 3528-3589, Diners 300-305/36/38-39, UnionPay 62, Maestro 50/56-69...) with that issuer's length.
bool IsValidCreditCard(std::string_view candidate);

// IBAN (ISO 13616): country code, two check digits, BBAN of the country's registered length; spaces
// allowed in groups of four; mod-97 == 1.
bool IsValidIban(std::string_view candidate);

// US SSN (SSA rules): AAA-GG-SSSS or 9 digits; area not 000, 666 or 900-999; group not 00; serial not
// 0000; and not one of the SSA's published never-issued/advertising numbers (078-05-1120, 219-09-9999...).
bool IsValidUsSsn(std::string_view candidate);

// IPv4 dotted quad with octets 0-255 and no leading zeros in multi-digit octets; IPv6 in any RFC 4291
// text form (with optional embedded IPv4).
bool IsValidIpv4(std::string_view candidate);
bool IsValidIpv6(std::string_view candidate);

// Email: RFC 5321-ish local part and a domain whose last label is a real top-level domain (from the
// Public Suffix List: Debian's publicsuffix package), so `logo@2x.png` and `user@host.local` are not
// emails.
bool IsValidEmail(std::string_view candidate);
// True when `tld` (without dot, any case) is a top-level domain in the Public Suffix List.
bool IsKnownTld(std::string_view tld);

}  // namespace vg
