// Signed tree heads of the disclosure ledger: a statement "the ledger had tree_size records with this
// Merkle root at this time", signed with the ledger's Ed25519 key so that a copy handed to an auditor can
// later be checked against the ledger (inclusion and consistency proofs, merkle.h) by anyone holding the
// public key, with this code or with stock tools:
//
//   openssl pkeyutl -verify -pubin -inkey ledger-pub.pem -rawin -in head.msg -sigfile head.sig
//
// The signed message (TreeHeadMessage, 50 bytes) is RFC 6962's TreeHeadSignature (section 3.5) in its TLS
// encoding, all integers big-endian:
//
//   offset size field
//   0      1    version          0 (v1)
//   1      1    signature_type   1 (tree_hash)
//   2      8    timestamp        milliseconds since the Unix epoch (uint64)
//   10     8    tree_size        number of records (uint64)
//   18     32   sha256_root_hash MTH of the first tree_size records (merkle.h)
//
// The signature is PureEdDSA Ed25519 (RFC 8032) over those 50 bytes: 64 bytes. A SignedTreeHead is stored
// and exchanged as the message followed by the signature (114 bytes). The ledger key signs nothing but
// this structure, so the version and signature_type bytes are its whole domain separation.
//
// Key files are PEM, as OpenSSL writes them, so operators can use openssl on them directly:
//   secret key: PKCS#8 "PRIVATE KEY" (RFC 8410: the 16-byte DER prefix 302e020100300506032b657004220420 and
//               the 32-byte seed), preceded by a comment line; mode 0600; a file that group or others may
//               read or write is refused, as is a symbolic link.
//   public key: SubjectPublicKeyInfo "PUBLIC KEY" (the 12-byte DER prefix 302a300506032b6570032100 and the
//               32-byte key).
//
// The signer takes the timestamp from its caller (the ledger's injected clock); it reads no clock.
// Thread-safety: TreeHeadSigner is immutable after construction; Sign may be called from any thread.
// The free functions are pure.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ledger/merkle.h"

namespace vg::ledger {

inline constexpr size_t kTreeHeadMessageBytes = 50;
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kSignedTreeHeadBytes = kTreeHeadMessageBytes + kSignatureBytes;

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, kSignatureBytes>;
using TreeHeadMessageBytes = std::array<uint8_t, kTreeHeadMessageBytes>;

struct TreeHead {
  uint64_t tree_size = 0;
  Hash root_hash{};
  uint64_t timestamp_ms = 0;  // milliseconds since the Unix epoch
  bool operator==(const TreeHead&) const = default;
};

// The 50 signed bytes (layout above).
TreeHeadMessageBytes TreeHeadMessage(const TreeHead& head);
// InvalidArgument unless `bytes` is 50 bytes with version 0 and signature_type 1.
[[nodiscard]] StatusOr<TreeHead> ParseTreeHeadMessage(std::span<const uint8_t> bytes);

struct SignedTreeHead {
  TreeHead head;
  Signature signature{};

  // TreeHeadMessage(head) followed by the signature: 114 bytes.
  std::string Serialize() const;
  // InvalidArgument unless `bytes` is 114 bytes whose first 50 are a valid message. Does not verify the
  // signature: call VerifySignedTreeHead.
  [[nodiscard]] static StatusOr<SignedTreeHead> Parse(std::span<const uint8_t> bytes);
  bool operator==(const SignedTreeHead&) const = default;
};

// OK iff `sth.signature` is a valid Ed25519 signature of TreeHeadMessage(sth.head) under `key`;
// otherwise InvalidArgument (the head was altered, or signed by another key).
[[nodiscard]] Status VerifySignedTreeHead(const SignedTreeHead& sth, const PublicKey& key);

// SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----" ...), as `openssl pkey -pubout` writes it.
std::string PublicKeyToPem(const PublicKey& key);
// InvalidArgument unless `pem` holds exactly one PUBLIC KEY block with an Ed25519 key.
[[nodiscard]] StatusOr<PublicKey> PublicKeyFromPem(std::string_view pem);

class TreeHeadSigner {
 public:
  // Opens the secret key file at `path`, creating it (mode 0600; a missing parent directory is created
  // with mode 0700) with a fresh random key if it does not exist. An existing file is never overwritten.
  [[nodiscard]] static StatusOr<TreeHeadSigner> OpenOrCreate(const std::string& path);
  // Opens an existing key file: NotFound if absent; InvalidArgument if it is a symbolic link, not a
  // regular file, accessible to group or others, or not an Ed25519 PKCS#8 PEM key; IOError if unreadable.
  [[nodiscard]] static StatusOr<TreeHeadSigner> Open(const std::string& path);
  // A signer from a 32-byte Ed25519 seed (RFC 8032 secret key), for tests and key import.
  static TreeHeadSigner FromSeed(std::span<const uint8_t, 32> seed);

  TreeHeadSigner(TreeHeadSigner&& other) noexcept;
  TreeHeadSigner& operator=(TreeHeadSigner&& other) noexcept;
  TreeHeadSigner(const TreeHeadSigner&) = delete;
  TreeHeadSigner& operator=(const TreeHeadSigner&) = delete;
  ~TreeHeadSigner();  // wipes the secret key

  const PublicKey& public_key() const { return public_key_; }
  std::string PublicKeyPem() const { return PublicKeyToPem(public_key_); }
  // Writes PublicKeyPem() to `path` (mode 0644, replacing the file atomically).
  [[nodiscard]] Status WritePublicKeyFile(const std::string& path) const;

  SignedTreeHead Sign(const TreeHead& head) const;

 private:
  TreeHeadSigner() = default;
  std::array<uint8_t, 64> secret_{};  // libsodium's Ed25519 secret key: seed || public key
  PublicKey public_key_{};
};

}  // namespace vg::ledger
