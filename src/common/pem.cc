#include "common/pem.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/files.h"

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

std::string Ed25519PublicKeyPem(std::span<const uint8_t, 32> key) {
  uint8_t der[sizeof kEd25519PublicKeyDerPrefix + 32];
  std::memcpy(der, kEd25519PublicKeyDerPrefix, sizeof kEd25519PublicKeyDerPrefix);
  std::memcpy(der + sizeof kEd25519PublicKeyDerPrefix, key.data(), key.size());
  return PemEncode("PUBLIC KEY", der);
}

Status ParseEd25519PublicKeyPem(std::string_view pem, std::span<uint8_t, 32> key) {
  return ParsePemKey(pem, "PUBLIC KEY", kEd25519PublicKeyDerPrefix, key);
}

namespace {

constexpr size_t kMaxKeyFileBytes = 64 * 1024;

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03o", static_cast<unsigned>(mode & 0777));
  return buf;
}

}  // namespace

StatusOr<std::array<uint8_t, 32>> ReadEd25519PrivateKeyFile(const std::string& path, std::string_view what) {
  const std::string name(what);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no " + name + " file");
    if (errno == ELOOP) return Status::InvalidArgument(path + ": " + name + " file is a symbolic link; refusing it");
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
    return Status::InvalidArgument(path + ": " + name + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::InvalidArgument(path + ": " + name + " file is accessible to group or others (mode " +
                                   ModeString(st.st_mode) + "); run chmod 600 on it");
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  size_t len = 0;
  int read_errno = 0;
  while (len < text.size()) {
    const ssize_t n = ::read(fd, text.data() + len, text.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_errno = errno;
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  std::array<uint8_t, 32> seed{};
  Status s = read_errno != 0         ? Status::IOError(std::strerror(read_errno))
             : len > kMaxKeyFileBytes ? Status::InvalidArgument("too large for a key file")
                                      : ParsePemKey(std::string_view(text.data(), len), "PRIVATE KEY",
                                                    kEd25519PrivateKeyDerPrefix, seed);
  sodium_memzero(text.data(), text.size());
  if (!s.ok()) return s.WithPrefix(path);
  return seed;
}

Status CreateEd25519PrivateKeyFile(const std::string& path, std::string_view comment, std::string_view what) {
  const std::string name(what);
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError(dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  uint8_t der[sizeof kEd25519PrivateKeyDerPrefix + 32];
  std::memcpy(der, kEd25519PrivateKeyDerPrefix, sizeof kEd25519PrivateKeyDerPrefix);
  randombytes_buf(der + sizeof kEd25519PrivateKeyDerPrefix, 32);
  std::string text(comment);
  text += PemEncode("PRIVATE KEY", der);
  sodium_memzero(der, sizeof der);
  // A fresh temporary file linked into place: link() fails rather than replace a key file another process
  // created meanwhile.
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
    return Status::IOError("cannot write the " + name + ": " + w.message());
  }
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return Status::AlreadyExists(path + ": created meanwhile by another process");
    return Status::IOError(path + ": cannot create the " + name + ": " + std::strerror(err));
  }
  return SyncDirectory(dir.empty() ? std::string(".") : dir.string());
}

}  // namespace vg
