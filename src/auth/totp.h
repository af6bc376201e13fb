// Time-based one-time passwords (RFC 6238) for the admin accounts' mandatory second factor, and the
// base32 text and otpauth:// URI that authenticator apps read.
//
// TotpCode is RFC 4226 HOTP of the counter floor(unix_seconds / period); the HMAC is OpenSSL's (libcrypto),
// nothing here is hand-written crypto. Comparing a code a user typed is the caller's business (see
// AccountStore::Login, which accepts a window of steps and each step once).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vg::auth {

// RFC 4648 base32 (alphabet A-Z2-7), upper case, without '=' padding.
std::string Base32Encode(std::span<const uint8_t> bytes);
// Case-insensitive; spaces and '=' padding are ignored. InvalidArgument naming the first bad character (and
// its position) otherwise, or when the trailing bits do not make up a whole number of bytes.
[[nodiscard]] StatusOr<std::vector<uint8_t>> Base32Decode(std::string_view text);

enum class TotpHash { kSha1, kSha256, kSha512 };
std::string_view TotpHashName(TotpHash hash);  // "SHA1" | "SHA256" | "SHA512" (as otpauth URIs spell them)

// The HOTP value (RFC 4226, dynamic truncation) of counter floor(unix_seconds / period), reduced to
// `digits` decimal digits. Requires 6 <= digits <= 8 and period > 0 (asserted). Times before the epoch
// count as step 0.
uint32_t TotpCode(std::span<const uint8_t> secret, int64_t unix_seconds, int digits = 6, int period = 30,
                  TotpHash hash = TotpHash::kSha1);
// The HOTP value of an explicit counter (what TotpCode computes for its step).
uint32_t HotpCode(std::span<const uint8_t> secret, uint64_t counter, int digits = 6, TotpHash hash = TotpHash::kSha1);
// `code` as exactly `digits` characters, zero-padded on the left.
std::string FormatTotpCode(uint32_t code, int digits = 6);

// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// The label parts and the issuer parameter are percent-encoded (RFC 3986 unreserved characters stay).
std::string OtpauthUri(std::string_view issuer, std::string_view account, std::span<const uint8_t> secret);

}  // namespace vg::auth
