// The notice signing key (issue #6): one Ed25519 key per installation that signs every breach notice, so a
// recipient (or the company's help desk) can tell a genuine notice from phishing that imitates it.
//
//   <data_dir>/keys/notice.key   secret key, PKCS#8 "PRIVATE KEY" PEM (RFC 8410), mode 0600, created on first
//                                use; a file that group or others may read, or a symbolic link, is refused
//   <data_dir>/keys/notice.pub   public key, SubjectPublicKeyInfo "PUBLIC KEY" PEM, mode 0644, rewritten
//                                whenever the key is opened; stock tools read it:
//       openssl pkeyutl -verify -pubin -inkey notice.pub -rawin -in notice.msg -sigfile notice.sig
//
// Key id: the first 16 hex digits of SHA-256 over the 32 raw public key bytes. A notice names the key id
// that signed it, so a verifier can say "signed by another key" instead of just "bad signature".
//
// Thread-safety: NoticeKey is immutable after construction; Sign may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vg::notify {

using NoticeSignature = std::array<uint8_t, 64>;

// A public key as a verifier holds it.
struct NoticePublicKey {
  std::array<uint8_t, 32> bytes{};
  std::string key_id;  // 16 lowercase hex digits

  static NoticePublicKey FromBytes(std::span<const uint8_t, 32> raw);
  // Parses a SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----", Ed25519). InvalidArgument says why not.
  [[nodiscard]] static StatusOr<NoticePublicKey> FromPem(std::string_view pem);
  std::string Pem() const;
  bool Verify(std::string_view message, const NoticeSignature& sig) const;
};

// The key id of a raw Ed25519 public key.
std::string NoticeKeyId(std::span<const uint8_t, 32> raw);

class NoticeKey {
 public:
  static std::string SecretKeyPath(const std::string& data_dir) { return data_dir + "/keys/notice.key"; }
  static std::string PublicKeyPath(const std::string& data_dir) { return data_dir + "/keys/notice.pub"; }

  // Opens <data_dir>/keys/notice.key, creating it (and keys/, mode 0700) when absent, and (re)writes
  // notice.pub beside it. Errors: IOError (unwritable), InvalidArgument (bad mode, symlink, not Ed25519).
  [[nodiscard]] static StatusOr<NoticeKey> OpenOrCreate(const std::string& data_dir);
  // A key from a 32-byte seed (tests, benchmarks).
  static NoticeKey FromSeed(std::span<const uint8_t, 32> seed);

  NoticeKey(NoticeKey&& other) noexcept;
  NoticeKey& operator=(NoticeKey&& other) noexcept;
  NoticeKey(const NoticeKey&) = delete;
  NoticeKey& operator=(const NoticeKey&) = delete;
  ~NoticeKey();

  NoticeSignature Sign(std::string_view message) const;
  const NoticePublicKey& public_key() const { return public_; }
  const std::string& key_id() const { return public_.key_id; }

 private:
  NoticeKey() = default;
  std::array<uint8_t, 64> secret_{};  // libsodium's seed || public key
  NoticePublicKey public_;
};

}  // namespace vg::notify
