// Admin roles. Ordered: a higher role may do everything a lower one may (compare with <, >=).
//   viewer    read status, ledgers and settings
//   operator  also act on delivery (pause, resume, redrive)
//   admin     also manage accounts, tokens and destructive actions
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vg::auth {

enum class Role : uint8_t { kViewer = 0, kOperator = 1, kAdmin = 2 };

std::string_view RoleName(Role r);                       // "viewer" | "operator" | "admin"
std::optional<Role> ParseRole(std::string_view name);    // exact, lower case; nullopt otherwise

}  // namespace vg::auth
