#include "notify/notice_key.h"

#include "common/pem.h"

#include <sodium.h>
#include <unistd.h>

#include <cstring>

#include "common/files.h"

namespace vg::notify {
namespace {

constexpr std::string_view kKeyName = "notice signing key";

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

}  // namespace

std::string NoticeKeyId(std::span<const uint8_t, 32> raw) {
  EnsureSodium();
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, raw.data(), raw.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 15]);
  }
  return id;
}

NoticePublicKey NoticePublicKey::FromBytes(std::span<const uint8_t, 32> raw) {
  NoticePublicKey k;
  std::memcpy(k.bytes.data(), raw.data(), 32);
  k.key_id = NoticeKeyId(raw);
  return k;
}

StatusOr<NoticePublicKey> NoticePublicKey::FromPem(std::string_view pem) {
  std::array<uint8_t, 32> raw;
  if (Status s = ParseEd25519PublicKeyPem(pem, raw); !s.ok()) return s;
  return FromBytes(raw);
}

std::string NoticePublicKey::Pem() const { return Ed25519PublicKeyPem(bytes); }

bool NoticePublicKey::Verify(std::string_view message, const NoticeSignature& sig) const {
  EnsureSodium();
  return crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), bytes.data()) == 0;
}

NoticeKey NoticeKey::FromSeed(std::span<const uint8_t, 32> seed) {
  EnsureSodium();
  NoticeKey key;
  std::array<uint8_t, 32> pub;
  crypto_sign_seed_keypair(pub.data(), key.secret_.data(), seed.data());
  key.public_ = NoticePublicKey::FromBytes(pub);
  return key;
}

StatusOr<NoticeKey> NoticeKey::OpenOrCreate(const std::string& data_dir) {
  EnsureSodium();
  const std::string path = SecretKeyPath(data_dir);
  auto seed = ReadEd25519PrivateKeyFile(path, kKeyName);
  if (!seed.ok() && seed.status().code() == Status::Code::kNotFound) {
    Status created = CreateEd25519PrivateKeyFile(
        path,
        "# vendorguard breach-notice signing key (Ed25519, PKCS#8). Secret: whoever holds it can sign notices\n"
        "# in the company's name. Keep it mode 0600, back it up, never commit it.\n",
        kKeyName);
    // AlreadyExists: another process created it meanwhile; that key is the one to use.
    if (!created.ok() && created.code() != Status::Code::kAlreadyExists) return created;
    seed = ReadEd25519PrivateKeyFile(path, kKeyName);
  }
  if (!seed.ok()) return seed.status();
  NoticeKey key = FromSeed(*seed);
  sodium_memzero(seed->data(), seed->size());
  // The published copy: rewritten each time, so it always matches the key in use.
  const std::string pub_path = PublicKeyPath(data_dir);
  auto existing = ReadWholeFile(pub_path);
  const std::string pem = key.public_key().Pem();
  if (!existing.ok() || *existing != pem) {
    if (Status s = ReplaceFileDurably(pub_path, pem, 0644); !s.ok()) return s;
  }
  return key;
}

NoticeKey::NoticeKey(NoticeKey&& other) noexcept : secret_(other.secret_), public_(std::move(other.public_)) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

NoticeKey& NoticeKey::operator=(NoticeKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_ = std::move(other.public_);
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

NoticeKey::~NoticeKey() { sodium_memzero(secret_.data(), secret_.size()); }

NoticeSignature NoticeKey::Sign(std::string_view message) const {
  NoticeSignature sig;
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_.data());
  return sig;
}

}  // namespace vg::notify
