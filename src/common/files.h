// Whole-file reads and crash-safe file replacement, shared by the components that keep small state files
// (incidents, notices, vendor states) and the storage engines.
// Thread-safety: plain functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace vg {

// The whole file. NotFound (naming the path) when it does not exist; IOError otherwise.
[[nodiscard]] StatusOr<std::string> ReadWholeFile(const std::string& path);
// Writes all of `data` to `fd`, retrying short writes and EINTR; IOError names `path`.
[[nodiscard]] Status WriteAllTo(int fd, const std::string& path, std::string_view data);
// Replaces `path` so that a crash leaves the old or the new content, never a mix: a temporary file in the
// same directory, synced, renamed over it, then the directory synced. The file gets `mode`.
[[nodiscard]] Status ReplaceFileDurably(const std::string& path, std::string_view data, int mode = 0600);
// fsync of a directory (after a rename or unlink in it).
[[nodiscard]] Status SyncDirectory(const std::string& dir);

}  // namespace vg
