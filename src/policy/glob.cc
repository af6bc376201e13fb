#include "policy/glob.h"

namespace vg {

bool GlobMatch(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

GlobSet::GlobSet(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (p.find_first_of("*?") == std::string::npos) {
      exact_.insert(p);
    } else {
      globs_.push_back(p);
    }
  }
}

bool GlobSet::MatchesExactly(std::string_view key) const { return exact_.find(key) != exact_.end(); }

bool GlobSet::Matches(std::string_view key) const {
  if (MatchesExactly(key)) return true;
  for (const auto& g : globs_) {
    if (GlobMatch(g, key)) return true;
  }
  return false;
}

}  // namespace vg
