#include "ledger/ledger_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vg::ledger::format {
namespace {

std::string IndexedName(std::string_view prefix, uint64_t index, std::string_view suffix) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(index));
  std::string s(prefix);
  s += digits;
  s += suffix;
  return s;
}

}  // namespace

std::string SegmentFileName(uint64_t first_index) { return IndexedName("seg-", first_index, ".vgl"); }
std::string NamesFileName(uint64_t first_index) { return IndexedName("seg-", first_index, ".names"); }
std::string WalFileName(uint64_t first_index) { return IndexedName("wal-", first_index, ".log"); }

bool ParseIndexedName(std::string_view name, std::string_view prefix, std::string_view suffix, uint64_t* index) {
  if (name.size() != prefix.size() + 20 + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) {
    return false;
  }
  uint64_t v = 0;
  for (char c : name.substr(prefix.size(), 20)) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (~uint64_t{0} - d) / 10) return false;
    v = v * 10 + d;
  }
  *index = v;
  return true;
}

std::string ErrnoText(int err) { return std::strerror(err); }

StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": " + ErrnoText(errno));
  }
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::IOError(path + ": read: " + ErrnoText(e));
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

Status PreadExact(int fd, const std::string& path, uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(path + ": read at offset " + std::to_string(offset + done) + ": " + ErrnoText(errno));
    }
    if (r == 0) {
      return Status::IOError(path + ": file ends at offset " + std::to_string(offset + done) + ", expected " +
                             std::to_string(n) + " bytes at offset " + std::to_string(offset));
    }
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& path, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(path + ": write: " + ErrnoText(errno));
    }
    data.remove_prefix(static_cast<size_t>(w));
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(dir + ": open directory: " + ErrnoText(errno));
  Status s;
  if (::fsync(fd) != 0) s = Status::IOError(dir + ": sync directory: " + ErrnoText(errno));
  ::close(fd);
  return s;
}

Status ReplaceFile(const std::string& dir, const std::string& path, std::string_view data, int mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError(tmp + ": create: " + ErrnoText(errno));
  Status s = WriteAll(fd, tmp, data);
  if (s.ok() && ::fdatasync(fd) != 0) s = Status::IOError(tmp + ": sync: " + ErrnoText(errno));
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::IOError(tmp + ": rename to " + path + ": " + ErrnoText(errno));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDir(dir);
}

}  // namespace vg::ledger::format
