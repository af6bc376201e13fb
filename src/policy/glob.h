// Property-name globs: `*` matches any run of characters, `?` one character. Matching never
// backtracks more than linearly (the classic two-pointer algorithm), so a hostile key cannot stall it.
// Thread-safety: a compiled GlobSet is immutable.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace vg {

bool GlobMatch(std::string_view pattern, std::string_view text);

class GlobSet {
 public:
  GlobSet() = default;
  explicit GlobSet(const std::vector<std::string>& patterns);
  bool Matches(std::string_view key) const;
  // Matches only by exact name (a pattern without wildcards), not by a glob.
  bool MatchesExactly(std::string_view key) const;
  bool empty() const { return exact_.empty() && globs_.empty(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> exact_;
  std::vector<std::string> globs_;
};

}  // namespace vg
