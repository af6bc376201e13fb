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

}  // namespace vg::ledger::format
