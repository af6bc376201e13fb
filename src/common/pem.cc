#include "common/pem.h"

#include <sodium.h>

#include <cstring>

namespace vg {

std::string PemEncode(std::string_view label, std::span<const uint8_t> der) {
  std::string b64(sodium_base64_ENCODED_LEN(der.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), der.data(), der.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out.push_back('\n');
  }
  out += "-----END " + std::string(label) + "-----\n";
  sodium_memzero(b64.data(), b64.size());
  return out;
}

Status ParsePemKey(std::string_view text, std::string_view label, std::span<const uint8_t> prefix,
                   std::span<uint8_t, 32> key) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  const size_t b = text.find(begin);
  if (b == std::string_view::npos) return Status::InvalidArgument("no \"" + begin + "\" line");
  const size_t body = b + begin.size();
  const size_t e = text.find(end, body);
  if (e == std::string_view::npos) return Status::InvalidArgument("no \"" + end + "\" line");
  if (text.find("-----BEGIN", e) != std::string_view::npos) {
    return Status::InvalidArgument("more than one PEM block; want exactly one " + std::string(label));
  }
  uint8_t der[128];
  size_t der_len = 0;
  const char* b64_end = nullptr;
  const int rc = sodium_base642bin(der, sizeof der, text.data() + body, e - body, " \t\r\n", &der_len, &b64_end,
                                   sodium_base64_VARIANT_ORIGINAL);
  Status result = Status::Ok();
  if (rc != 0 || b64_end != text.data() + e) {
    result = Status::InvalidArgument(std::string(label) + " block is not plain base64 (an encrypted key?)");
  } else if (der_len != prefix.size() + key.size() || std::memcmp(der, prefix.data(), prefix.size()) != 0) {
    result = Status::InvalidArgument(std::string(label) + " is not an Ed25519 key in the RFC 8410 form (" +
                                     std::to_string(der_len) + " DER bytes; want " +
                                     std::to_string(prefix.size() + key.size()) + ")");
  } else {
    std::memcpy(key.data(), der + prefix.size(), key.size());
  }
  sodium_memzero(der, sizeof der);
  return result;
}

}  // namespace vg
