#include "auth/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cassert>
#include <cctype>

namespace vg::auth {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace

std::string Base32Encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

StatusOr<std::vector<uint8_t>> Base32Decode(std::string_view text) {
  std::vector<uint8_t> out;
  uint32_t buffer = 0;
  int bits = 0;
  size_t symbols = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '=') continue;
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a';
    } else if (c >= '2' && c <= '7') {
      v = c - '2' + 26;
    } else {
      std::string shown = c >= 0x20 && c < 0x7f ? std::string("'") + static_cast<char>(c) + "'"
                                                 : "byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
                                                       std::string(1, "0123456789abcdef"[c & 0xf]);
      return Status::InvalidArgument("invalid base32 character " + shown + " at position " + std::to_string(i) +
                                     " (expected A-Z or 2-7)");
    }
    ++symbols;
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // 1, 3 and 6 trailing symbols cannot come from whole bytes.
  const size_t rem = symbols % 8;
  if (rem == 1 || rem == 3 || rem == 6) {
    return Status::InvalidArgument("invalid base32 length: " + std::to_string(symbols) +
                                   " symbols do not make up whole bytes");
  }
  return out;
}

std::string_view TotpHashName(TotpHash hash) {
  switch (hash) {
    case TotpHash::kSha1: return "SHA1";
    case TotpHash::kSha256: return "SHA256";
    case TotpHash::kSha512: return "SHA512";
  }
  return "SHA1";
}

uint32_t HotpCode(std::span<const uint8_t> secret, uint64_t counter, int digits, TotpHash hash) {
  assert(digits >= 6 && digits <= 8);
  uint8_t msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<uint8_t>(counter & 0xff);
    counter >>= 8;
  }
  const EVP_MD* md = hash == TotpHash::kSha256 ? EVP_sha256() : hash == TotpHash::kSha512 ? EVP_sha512() : EVP_sha1();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  static const uint8_t kEmpty = 0;
  const unsigned char* key = secret.empty() ? &kEmpty : secret.data();
  if (HMAC(md, key, static_cast<int>(secret.size()), msg, sizeof msg, mac, &mac_len) == nullptr || mac_len < 20) {
    assert(false && "HMAC failed");
    return 0;
  }
  const unsigned offset = mac[mac_len - 1] & 0x0f;
  const uint32_t bin = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) | (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                       (static_cast<uint32_t>(mac[offset + 2]) << 8) | static_cast<uint32_t>(mac[offset + 3]);
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  return bin % mod;
}

uint32_t TotpCode(std::span<const uint8_t> secret, int64_t unix_seconds, int digits, int period, TotpHash hash) {
  assert(period > 0);
  const uint64_t counter = unix_seconds <= 0 ? 0 : static_cast<uint64_t>(unix_seconds / period);
  return HotpCode(secret, counter, digits, hash);
}

std::string FormatTotpCode(uint32_t code, int digits) {
  std::string s = std::to_string(code);
  if (s.size() < static_cast<size_t>(digits)) s.insert(0, static_cast<size_t>(digits) - s.size(), '0');
  return s;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account, std::span<const uint8_t> secret) {
  const std::string enc_issuer = PercentEncode(issuer);
  return "otpauth://totp/" + enc_issuer + ":" + PercentEncode(account) + "?secret=" + Base32Encode(secret) +
         "&issuer=" + enc_issuer + "&algorithm=SHA1&digits=6&period=30";
}

}  // namespace vg::auth
