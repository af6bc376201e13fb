#include "common/files.h"
#include "ledger/ledger_record.h"

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_* with saved pad states: no allocation per subject
#include <fcntl.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ledger/ledger_format.h"

namespace vg::ledger {

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kDelivered: return "delivered";
    case Outcome::kDeadLettered: return "dead_lettered";
    case Outcome::kCut: return "cut";
  }
  return "unknown";
}

std::string_view AdminActionName(AdminAction a) {
  switch (a) {
    case AdminAction::kPause: return "pause";
    case AdminAction::kResume: return "resume";
    case AdminAction::kCut: return "cut";
    case AdminAction::kPolicyChange: return "policy_change";
    case AdminAction::kRedrive: return "redrive";
    case AdminAction::kErase: return "erase";
    case AdminAction::kRetention: return "retention";
    case AdminAction::kOther: return "other";
    case AdminAction::kLogin: return "login";
    case AdminAction::kLoginFailed: return "login_failed";
    case AdminAction::kLogout: return "logout";
    case AdminAction::kAccount: return "account";
  }
  return "unknown";
}

void EncodeLeaf(const LeafFields& f, std::string* out) {
  using namespace format;
  PutU8(out, kLeafFormat);
  PutU8(out, static_cast<uint8_t>(f.kind));
  PutI64(out, f.time_us);
  PutU16(out, f.vendor);
  if (f.subject != nullptr) {
    PutU8(out, 1);
    PutBytes(out, f.subject->data(), f.subject->size());
  } else {
    PutU8(out, 0);
  }
  PutU32(out, f.key_epoch);
  PutU32(out, f.categories);
  PutU8(out, f.outcome);
  PutU8(out, static_cast<uint8_t>(f.insert_id.size()));
  out->append(f.insert_id);
  if (f.payload_hash != nullptr) {
    PutBytes(out, f.payload_hash->data(), kHashBytes);
  } else {
    out->append(kHashBytes, '\0');
  }
  PutU8(out, static_cast<uint8_t>(f.texts.size()));
  for (std::string_view t : f.texts) PutStr16(out, t);
}

Hash RecordLeafHash(const LeafFields& f, std::string* scratch) {
  scratch->clear();
  EncodeLeaf(f, scratch);
  return LeafHash({reinterpret_cast<const uint8_t*>(scratch->data()), scratch->size()});
}

struct SubjectKeyer::State {
  SHA256_CTX inner;  // after the key XOR ipad block
  SHA256_CTX outer;  // after the key XOR opad block
};

SubjectKeyer::SubjectKeyer(std::span<const uint8_t, kSubjectKeyBytes> key) : state_(new State) {
  uint8_t ipad[64], opad[64];
  std::memset(ipad, 0x36, sizeof ipad);
  std::memset(opad, 0x5c, sizeof opad);
  for (size_t i = 0; i < key.size(); ++i) {
    ipad[i] ^= key[i];
    opad[i] ^= key[i];
  }
  SHA256_Init(&state_->inner);
  SHA256_Update(&state_->inner, ipad, sizeof ipad);
  SHA256_Init(&state_->outer);
  SHA256_Update(&state_->outer, opad, sizeof opad);
  sodium_memzero(ipad, sizeof ipad);
  sodium_memzero(opad, sizeof opad);
}

SubjectKeyer::SubjectKeyer(const SubjectKeyer& other) : state_(new State(*other.state_)) {}
SubjectKeyer& SubjectKeyer::operator=(const SubjectKeyer& other) {
  if (this != &other) *state_ = *other.state_;
  return *this;
}
SubjectKeyer::~SubjectKeyer() {
  sodium_memzero(state_, sizeof *state_);
  delete state_;
}

SubjectHash SubjectKeyer::Hash(std::string_view subject) const {
  SHA256_CTX ctx = state_->inner;
  SHA256_Update(&ctx, subject.data(), subject.size());
  uint8_t inner[32];
  SHA256_Final(inner, &ctx);
  ctx = state_->outer;
  SHA256_Update(&ctx, inner, sizeof inner);
  uint8_t full[32];
  SHA256_Final(full, &ctx);
  SubjectHash out;
  std::memcpy(out.data(), full, out.size());
  return out;
}

std::string SubjectHashHex(const SubjectHash& h) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : h) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 0xf]);
  }
  return s;
}

namespace {

StatusOr<std::array<uint8_t, kSubjectKeyBytes>> ParseKeyFile(const std::string& path, int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(path + ": stat: " + format::ErrnoText(errno));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": the subject key is not a regular file");
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Status::InvalidArgument(path + ": the subject key file is accessible to group or others (mode " +
                                   std::string(mode) + "); chmod 600 it");
  }
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0) return Status::IOError(path + ": read: " + format::ErrnoText(errno));
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::array<uint8_t, kSubjectKeyBytes> key{};
  size_t len = 0;
  if (text.size() != 2 * kSubjectKeyBytes ||
      sodium_hex2bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, nullptr) != 0 ||
      len != kSubjectKeyBytes) {
    sodium_memzero(buf, sizeof buf);
    return Status::InvalidArgument(path + ": not a subject key (want 64 hex digits)");
  }
  sodium_memzero(buf, sizeof buf);
  return key;
}

}  // namespace

StatusOr<std::array<uint8_t, kSubjectKeyBytes>> ReadSubjectKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no subject key file");
    if (errno == ELOOP) return Status::InvalidArgument(path + ": the subject key is a symbolic link; refused");
    return Status::IOError(path + ": " + format::ErrnoText(errno));
  }
  auto key = ParseKeyFile(path, fd);
  ::close(fd);
  return key;
}

StatusOr<std::array<uint8_t, kSubjectKeyBytes>> OpenOrCreateSubjectKey(const std::string& path) {
  auto existing = ReadSubjectKey(path);
  if (existing.ok() || existing.status().code() != Status::Code::kNotFound) return existing;
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialize");
  std::array<uint8_t, kSubjectKeyBytes> key;
  randombytes_buf(key.data(), key.size());
  char hex[2 * kSubjectKeyBytes + 1];
  sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
  std::string text(hex, 2 * kSubjectKeyBytes);
  text.push_back('\n');
  sodium_memzero(hex, sizeof hex);
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(tmp + ": create: " + format::ErrnoText(errno));
  Status s = WriteAllTo(fd, tmp, text);
  sodium_memzero(text.data(), text.size());
  if (s.ok() && ::fsync(fd) != 0) s = Status::IOError(tmp + ": sync: " + format::ErrnoText(errno));
  ::close(fd);
  // link() rather than rename(): never replaces a key another process created meanwhile.
  if (s.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    if (e == EEXIST) return ReadSubjectKey(path);
    return Status::IOError(path + ": create: " + format::ErrnoText(e));
  }
  ::unlink(tmp.c_str());
  if (!s.ok()) return s;
  return key;
}

}  // namespace vg::ledger
