#include "notify/notice_key.h"

#include "common/pem.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/files.h"

namespace vg::notify {
namespace {

// RFC 8410: Ed25519 PrivateKeyInfo and SubjectPublicKeyInfo are a fixed DER prefix and the 32 key bytes.
constexpr uint8_t kPrivateKeyDerPrefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                            0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
constexpr uint8_t kPublicKeyDerPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03o", static_cast<unsigned>(mode & 0777));
  return buf;
}

// Reads the secret key file with the checks of tree_head.cc: no symlink, regular, mode 0600 or stricter.
StatusOr<std::array<uint8_t, 32>> ReadSeed(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no notice signing key file");
    if (errno == ELOOP) return Status::InvalidArgument(path + ": notice signing key file is a symbolic link; refusing it");
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + ": notice signing key is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::InvalidArgument(path + ": notice signing key file is accessible to group or others (mode " +
                                   ModeString(st.st_mode) + "); run chmod 600 on it");
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  size_t len = 0;
  while (len < text.size()) {
    const ssize_t n = ::read(fd, text.data() + len, text.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  std::array<uint8_t, 32> seed{};
  Status s = len > kMaxKeyFileBytes
                 ? Status::InvalidArgument("too large for a key file")
                 : ParsePemKey(std::string_view(text.data(), len), "PRIVATE KEY", kPrivateKeyDerPrefix, seed);
  sodium_memzero(text.data(), text.size());
  if (!s.ok()) return s.WithPrefix(path);
  return seed;
}

Status CreateSecretKeyFile(const std::string& path) {
  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  uint8_t der[sizeof kPrivateKeyDerPrefix + 32];
  std::memcpy(der, kPrivateKeyDerPrefix, sizeof kPrivateKeyDerPrefix);
  std::memcpy(der + sizeof kPrivateKeyDerPrefix, seed.data(), seed.size());
  sodium_memzero(seed.data(), seed.size());
  std::string text =
      "# vendorguard breach-notice signing key (Ed25519, PKCS#8). Secret: whoever holds it can sign notices\n"
      "# in the company's name. Keep it mode 0600, back it up, never commit it.\n";
  text += PemEncode("PRIVATE KEY", der);
  sodium_memzero(der, sizeof der);
  // A temporary file linked into place: link() fails rather than replace a key another process created.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    sodium_memzero(text.data(), text.size());
    return Status::IOError(tmp + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);
  Status w = WriteAllTo(fd, tmp, text);
  sodium_memzero(text.data(), text.size());
  if (w.ok() && ::fsync(fd) != 0) w = Status::IOError(tmp + ": fsync: " + std::strerror(errno));
  ::close(fd);
  if (!w.ok()) {
    ::unlink(tmp.c_str());
    return w;
  }
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) return Status::IOError(path + ": cannot create the notice key: " + std::strerror(err));
  return SyncDirectory(std::filesystem::path(path).parent_path().string());
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
  if (Status s = ParsePemKey(pem, "PUBLIC KEY", kPublicKeyDerPrefix, raw); !s.ok()) return s;
  return FromBytes(raw);
}

std::string NoticePublicKey::Pem() const {
  uint8_t der[sizeof kPublicKeyDerPrefix + 32];
  std::memcpy(der, kPublicKeyDerPrefix, sizeof kPublicKeyDerPrefix);
  std::memcpy(der + sizeof kPublicKeyDerPrefix, bytes.data(), 32);
  return PemEncode("PUBLIC KEY", der);
}

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
  const std::string dir = data_dir + "/keys";
  const std::string path = SecretKeyPath(data_dir);
  auto seed = ReadSeed(path);
  if (!seed.ok() && seed.status().code() == Status::Code::kNotFound) {
    std::error_code ec;
    if (!std::filesystem::exists(dir)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return Status::IOError(dir + ": " + ec.message());
      ::chmod(dir.c_str(), 0700);
    }
    if (Status s = CreateSecretKeyFile(path); !s.ok()) return s;
    seed = ReadSeed(path);
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
