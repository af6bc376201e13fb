#include "ledger/tree_head.h"

#include "common/files.h"
#include "common/pem.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

namespace vg::ledger {
namespace {

constexpr uint8_t kVersionV1 = 0;
constexpr uint8_t kSignatureTypeTreeHash = 1;

// RFC 8410: the DER encodings of an Ed25519 PrivateKeyInfo (PKCS#8 v1, no attributes) and
// SubjectPublicKeyInfo are a fixed prefix followed by the 32 key bytes.
constexpr uint8_t kPrivateKeyDerPrefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                            0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
constexpr uint8_t kPublicKeyDerPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr std::string_view kPrivateKeyLabel = "PRIVATE KEY";
constexpr std::string_view kPublicKeyLabel = "PUBLIC KEY";
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

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

std::string ModeString(mode_t mode) {
  std::ostringstream s;
  s << std::oct << (mode & 0777);
  return s.str();
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

std::string PublicKeyToPem(const PublicKey& key) {
  uint8_t der[sizeof kPublicKeyDerPrefix + 32];
  std::memcpy(der, kPublicKeyDerPrefix, sizeof kPublicKeyDerPrefix);
  std::memcpy(der + sizeof kPublicKeyDerPrefix, key.data(), key.size());
  return PemEncode(kPublicKeyLabel, der);
}

StatusOr<PublicKey> PublicKeyFromPem(std::string_view pem) {
  EnsureSodium();
  PublicKey key;
  if (Status s = ParsePemKey(pem, kPublicKeyLabel, kPublicKeyDerPrefix, key); !s.ok()) return s;
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
  EnsureSodium();
  // O_NOFOLLOW and fstat on the opened file: the checks apply to the file actually read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no ledger signing key file");
    if (errno == ELOOP) {
      return Status::InvalidArgument(path + ": ledger signing key file is a symbolic link; refusing it");
    }
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IOError(path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + ": ledger signing key is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::InvalidArgument(path + ": ledger signing key file is accessible to group or others (mode " +
                                   ModeString(st.st_mode) + "); run chmod 600 on it");
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  size_t len = 0;
  while (len < text.size()) {
    const ssize_t n = ::read(fd, text.data() + len, text.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      sodium_memzero(text.data(), text.size());
      return Status::IOError(path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  if (len > kMaxKeyFileBytes) {
    sodium_memzero(text.data(), text.size());
    return Status::InvalidArgument(path + ": too large for a key file");
  }
  std::array<uint8_t, 32> seed;
  Status s = ParsePemKey(std::string_view(text.data(), len), kPrivateKeyLabel, kPrivateKeyDerPrefix, seed);
  sodium_memzero(text.data(), text.size());
  if (!s.ok()) return s.WithPrefix(path);
  TreeHeadSigner signer = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return signer;
}

StatusOr<TreeHeadSigner> TreeHeadSigner::OpenOrCreate(const std::string& path) {
  EnsureSodium();
  auto existing = Open(path);
  if (existing.ok() || existing.status().code() != Status::Code::kNotFound) return existing;

  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError(dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }

  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  uint8_t der[sizeof kPrivateKeyDerPrefix + 32];
  std::memcpy(der, kPrivateKeyDerPrefix, sizeof kPrivateKeyDerPrefix);
  std::memcpy(der + sizeof kPrivateKeyDerPrefix, seed.data(), seed.size());
  std::string text =
      "# vendorguard disclosure-ledger signing key (Ed25519, PKCS#8). Secret: whoever holds it can sign tree\n"
      "# heads in the ledger's name. Keep it mode 0600, back it up, never commit it.\n";
  text += PemEncode(kPrivateKeyLabel, der);
  sodium_memzero(der, sizeof der);

  // Written to a fresh temporary file, then linked into place: link() fails rather than replace a key
  // file another process created meanwhile, and that file is then used instead.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    sodium_memzero(text.data(), text.size());
    sodium_memzero(seed.data(), seed.size());
    return Status::IOError(tmp + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);
  const bool written = WriteAllTo(fd, tmp, text).ok() && ::fsync(fd) == 0;
  const int write_errno = errno;
  sodium_memzero(text.data(), text.size());
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    sodium_memzero(seed.data(), seed.size());
    return Status::IOError(tmp + ": cannot write the ledger signing key: " + std::strerror(write_errno));
  }
  const int link_rc = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (link_rc != 0) {
    sodium_memzero(seed.data(), seed.size());
    if (link_errno == EEXIST) return Open(path);
    return Status::IOError(path + ": cannot create the ledger signing key: " + std::strerror(link_errno));
  }
  if (Status s = SyncDirectory(dir.string()); !s.ok()) {
    sodium_memzero(seed.data(), seed.size());
    return s;
  }
  TreeHeadSigner signer = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return signer;
}

Status TreeHeadSigner::WritePublicKeyFile(const std::string& path) const {
  const std::string pem = PublicKeyPem();
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  ::fchmod(fd, 0644);
  const bool written = WriteAllTo(fd, tmp, pem).ok() && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = written ? errno : err;
    ::unlink(tmp.c_str());
    return Status::IOError(path + ": cannot write the public key: " + std::strerror(e));
  }
  return Status::Ok();
}

}  // namespace vg::ledger
