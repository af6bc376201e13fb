#include "crypto/pseudonymizer.h"

#define OPENSSL_SUPPRESS_DEPRECATED  // the low-level SHA256_* API is the fastest way to reuse a midstate
#include <fcntl.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vg {
namespace {

static_assert(sizeof(SHA256_CTX) <= 128, "SHA-256 state must fit the reserved space");

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

std::string Hex(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 0xf];
  }
  return s;
}

bool ParseHexKey(std::string_view hex, SecretKey* key) {
  if (hex.size() != 64) return false;
  size_t bin_len = 0;
  return sodium_hex2bin(key->data(), key->size(), hex.data(), hex.size(), nullptr, &bin_len, nullptr) == 0 &&
         bin_len == key->size();
}

}  // namespace

StatusOr<PseudonymKeyFile> PseudonymKeyFile::Open(const std::string& path) {
  EnsureSodium();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no key file");
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 0777);
    return Status::InvalidArgument(path + ": key file is readable by group or others (mode " + mode.str() +
                                   "); run chmod 600 on it");
  }
  std::ifstream in(path);
  if (!in) return Status::IOError(path + ": cannot read key file");
  PseudonymKeyFile f;
  f.path_ = path;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string word;
    ls >> word;
    if (word == "current") {
      if (!(ls >> f.current_)) return Status::InvalidArgument(path + ":" + std::to_string(lineno) + ": bad 'current' line");
    } else if (word == "epoch") {
      uint32_t epoch = 0;
      std::string hex;
      SecretKey key;
      if (!(ls >> epoch >> hex) || epoch == 0 || !ParseHexKey(hex, &key)) {
        return Status::InvalidArgument(path + ":" + std::to_string(lineno) + ": bad 'epoch' line");
      }
      f.secrets_[epoch] = key;
    } else {
      return Status::InvalidArgument(path + ":" + std::to_string(lineno) + ": unknown line");
    }
  }
  if (f.secrets_.empty() || !f.has_epoch(f.current_)) {
    return Status::InvalidArgument(path + ": key file has no secret for its current epoch");
  }
  return f;
}

StatusOr<PseudonymKeyFile> PseudonymKeyFile::OpenOrCreate(const std::string& path) {
  EnsureSodium();
  auto existing = Open(path);
  if (existing.ok() || existing.status().code() != Status::Code::kNotFound) return existing;
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError(dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  PseudonymKeyFile f;
  f.path_ = path;
  f.current_ = 1;
  SecretKey key;
  randombytes_buf(key.data(), key.size());
  f.secrets_[1] = key;
  Status s = f.Write();
  if (!s.ok()) return s;
  return f;
}

Status PseudonymKeyFile::Rotate() {
  SecretKey key;
  randombytes_buf(key.data(), key.size());
  uint32_t next = secrets_.empty() ? 1 : secrets_.rbegin()->first + 1;
  secrets_[next] = key;
  uint32_t previous = current_;
  current_ = next;
  Status s = Write();
  if (!s.ok()) {
    secrets_.erase(next);
    current_ = previous;
  }
  return s;
}

Status PseudonymKeyFile::Write() const {
  std::string text =
      "# vendorguard pseudonym keys. Secret: whoever holds this file can link every vendor's pseudonyms\n"
      "# back to your users. Keep it mode 0600, back it up, never commit it.\n";
  text += "current " + std::to_string(current_) + "\n";
  for (const auto& [epoch, key] : secrets_) {
    text += "epoch " + std::to_string(epoch) + " " + Hex(key.data(), key.size()) + "\n";
  }
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  sodium_memzero(text.data(), text.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(path_ + ": cannot write key file: " + std::strerror(errno));
  }
  return Status::Ok();
}

SecretKey PseudonymKeyFile::VendorKey(std::string_view vendor, uint32_t epoch) const {
  const SecretKey& master = secrets_.at(epoch);
  static constexpr std::string_view kLabel = "vendorguard pseudonym key v1";
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, master.data(), master.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size());
  const unsigned char zero = 0;
  crypto_auth_hmacsha256_update(&st, &zero, 1);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(vendor.data()), vendor.size());
  SecretKey out;
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

Pseudonymizer::Pseudonymizer(const SecretKey& key, uint32_t epoch) : epoch_(epoch) {
  // The key is 32 bytes, shorter than SHA-256's 64-byte block, so it is used as is, zero-padded.
  unsigned char ipad[64], opad[64];
  for (size_t i = 0; i < 64; ++i) {
    unsigned char k = i < key.size() ? key[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  auto* inner = reinterpret_cast<SHA256_CTX*>(inner_);
  auto* outer = reinterpret_cast<SHA256_CTX*>(outer_);
  SHA256_Init(inner);
  SHA256_Update(inner, ipad, sizeof ipad);
  SHA256_Init(outer);
  SHA256_Update(outer, opad, sizeof opad);
  sodium_memzero(ipad, sizeof ipad);
  sodium_memzero(opad, sizeof opad);
}

Pseudonymizer::~Pseudonymizer() {
  sodium_memzero(inner_, sizeof inner_);
  sodium_memzero(outer_, sizeof outer_);
}

void Pseudonymizer::AppendPseudonym(std::string_view value, std::string* out) const {
  SHA256_CTX ctx;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  std::memcpy(&ctx, inner_, sizeof ctx);
  SHA256_Update(&ctx, value.data(), value.size());
  SHA256_Final(digest, &ctx);
  std::memcpy(&ctx, outer_, sizeof ctx);
  SHA256_Update(&ctx, digest, sizeof digest);
  unsigned char mac[SHA256_DIGEST_LENGTH];
  SHA256_Final(mac, &ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("vg");
  out->append(std::to_string(epoch_));
  out->push_back('-');
  for (int i = 0; i < 16; ++i) {
    out->push_back(kHex[mac[i] >> 4]);
    out->push_back(kHex[mac[i] & 0xf]);
  }
}

std::string Pseudonymizer::Pseudonymize(std::string_view value) const {
  std::string out;
  AppendPseudonym(value, &out);
  return out;
}

}  // namespace vg
