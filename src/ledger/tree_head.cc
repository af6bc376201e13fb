#include "ledger/tree_head.h"

#include "common/files.h"
#include "common/pem.h"

#include <sodium.h>

#include <cstring>
#include <sstream>
#include <vector>

namespace vg::ledger {
namespace {

constexpr uint8_t kVersionV1 = 0;
constexpr uint8_t kSignatureTypeTreeHash = 1;
constexpr std::string_view kKeyName = "ledger signing key";

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

void PutBigEndian64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

uint64_t GetBigEndian64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace

TreeHeadMessageBytes TreeHeadMessage(const TreeHead& head) {
  TreeHeadMessageBytes m;
  m[0] = kVersionV1;
  m[1] = kSignatureTypeTreeHash;
  PutBigEndian64(head.timestamp_ms, m.data() + 2);
  PutBigEndian64(head.tree_size, m.data() + 10);
  std::memcpy(m.data() + 18, head.root_hash.data(), kHashBytes);
  return m;
}

StatusOr<TreeHead> ParseTreeHeadMessage(std::span<const uint8_t> bytes) {
  if (bytes.size() != kTreeHeadMessageBytes) {
    return Status::InvalidArgument("a tree head message is 50 bytes, not " + std::to_string(bytes.size()));
  }
  if (bytes[0] != kVersionV1) {
    return Status::InvalidArgument("tree head version " + std::to_string(bytes[0]) + " is not supported (want 0)");
  }
  if (bytes[1] != kSignatureTypeTreeHash) {
    return Status::InvalidArgument("signature type " + std::to_string(bytes[1]) + " is not a tree head (1)");
  }
  TreeHead head;
  head.timestamp_ms = GetBigEndian64(bytes.data() + 2);
  head.tree_size = GetBigEndian64(bytes.data() + 10);
  std::memcpy(head.root_hash.data(), bytes.data() + 18, kHashBytes);
  return head;
}

std::string SignedTreeHead::Serialize() const {
  const TreeHeadMessageBytes m = TreeHeadMessage(head);
  std::string out(reinterpret_cast<const char*>(m.data()), m.size());
  out.append(reinterpret_cast<const char*>(signature.data()), signature.size());
  return out;
}

StatusOr<SignedTreeHead> SignedTreeHead::Parse(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSignedTreeHeadBytes) {
    return Status::InvalidArgument("a signed tree head is 114 bytes, not " + std::to_string(bytes.size()));
  }
  auto head = ParseTreeHeadMessage(bytes.first(kTreeHeadMessageBytes));
  if (!head.ok()) return head.status();
  SignedTreeHead sth;
  sth.head = *head;
  std::memcpy(sth.signature.data(), bytes.data() + kTreeHeadMessageBytes, kSignatureBytes);
  return sth;
}

Status VerifySignedTreeHead(const SignedTreeHead& sth, const PublicKey& key) {
  EnsureSodium();
  const TreeHeadMessageBytes m = TreeHeadMessage(sth.head);
  if (crypto_sign_verify_detached(sth.signature.data(), m.data(), m.size(), key.data()) != 0) {
    return Status::InvalidArgument("tree head signature (size " + std::to_string(sth.head.tree_size) +
                                   ") does not verify under this public key: the head was altered or "
                                   "signed by another key");
  }
  return Status::Ok();
}

std::string PublicKeyToPem(const PublicKey& key) { return Ed25519PublicKeyPem(key); }

StatusOr<PublicKey> PublicKeyFromPem(std::string_view pem) {
  PublicKey key;
  if (Status s = ParseEd25519PublicKeyPem(pem, key); !s.ok()) return s;
  return key;
}

// ---- TreeHeadSigner ----

TreeHeadSigner TreeHeadSigner::FromSeed(std::span<const uint8_t, 32> seed) {
  EnsureSodium();
  TreeHeadSigner signer;
  crypto_sign_seed_keypair(signer.public_key_.data(), signer.secret_.data(), seed.data());
  return signer;
}

TreeHeadSigner::TreeHeadSigner(TreeHeadSigner&& other) noexcept
    : secret_(other.secret_), public_key_(other.public_key_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

TreeHeadSigner& TreeHeadSigner::operator=(TreeHeadSigner&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_key_ = other.public_key_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

TreeHeadSigner::~TreeHeadSigner() { sodium_memzero(secret_.data(), secret_.size()); }

SignedTreeHead TreeHeadSigner::Sign(const TreeHead& head) const {
  SignedTreeHead sth;
  sth.head = head;
  const TreeHeadMessageBytes m = TreeHeadMessage(head);
  crypto_sign_detached(sth.signature.data(), nullptr, m.data(), m.size(), secret_.data());
  return sth;
}

StatusOr<TreeHeadSigner> TreeHeadSigner::Open(const std::string& path) {
  auto seed = ReadEd25519PrivateKeyFile(path, kKeyName);
  if (!seed.ok()) return seed.status();
  TreeHeadSigner signer = FromSeed(*seed);
  sodium_memzero(seed->data(), seed->size());
  return signer;
}

StatusOr<TreeHeadSigner> TreeHeadSigner::OpenOrCreate(const std::string& path) {
  auto existing = Open(path);
  if (existing.ok() || existing.status().code() != Status::Code::kNotFound) return existing;
  Status created = CreateEd25519PrivateKeyFile(
      path,
      "# vendorguard disclosure-ledger signing key (Ed25519, PKCS#8). Secret: whoever holds it can sign tree\n"
      "# heads in the ledger's name. Keep it mode 0600, back it up, never commit it.\n",
      kKeyName);
  // AlreadyExists: another process created it meanwhile; that key is the one to use.
  if (!created.ok() && created.code() != Status::Code::kAlreadyExists) return created;
  return Open(path);
}

Status TreeHeadSigner::WritePublicKeyFile(const std::string& path) const {
  return ReplaceFileDurably(path, PublicKeyPem(), 0644);
}

}  // namespace vg::ledger
