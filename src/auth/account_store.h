// Admin accounts (issue #7): users with a password AND a mandatory TOTP second factor, browser sessions,
// API tokens for automation, and the audit outbox of every account change and login.
//
// Storage: one SQLite database (WAL, busy_timeout) shared by the running gateway and the `vendorguard
// admin` CLI, which may both have it open at once; every state change is one transaction, and its audit
// entry is written in that same transaction. Next to the database, `accounts.key` (0600, created on the
// first Open) holds the libsodium secretbox key that encrypts the TOTP secrets and keys the recovery-code
// hashes, so a copied database alone yields neither. Passwords are Argon2id (crypto_pwhash_str); session
// and API token secrets are stored only as SHA-256; nothing secret is ever written to the audit outbox.
//
// Login: password AND a current TOTP code (steps now-1, now, now+1; each step at most once per account:
// a step at or before the last one accepted is refused) or an unused recovery code. Every failure gives
// the same Unauthenticated text and costs the same password-hash work whether the name exists or not.
// Failures are counted per name (existing or not); at `lockout_threshold` consecutive failures the name
// is locked for lockout_base_us, doubling with each further failure up to lockout_max_us. A locked name
// gets ResourceExhausted "too many failed attempts; try again in N s" before any password check; such
// refused attempts are neither counted nor audited one by one (the "lockout" audit entry stands for them),
// so hammering a locked name costs no hashing and cannot flood the audit outbox.
//
// Thread-safety: an AccountStore is thread-safe (one mutex around the connection; password hashing runs
// outside it). Several processes may open the same file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/roles.h"
#include "common/status.h"

namespace vg::auth {

struct AccountStoreOptions {
  std::string path;                                   // SQLite file, e.g. <data_dir>/admin/accounts.db; parent dirs created 0700, file 0600
  std::function<int64_t()> now_us;                    // default: system clock (tests inject)
  std::string issuer = "vendorguard";                 // otpauth issuer
  int64_t session_idle_us = 30LL * 60 * 1'000'000;    // a session unused this long expires
  int64_t session_absolute_us = 12LL * 3600 * 1'000'000;
  int lockout_threshold = 5;                          // consecutive failures (per account NAME, existing or not) before lockout
  int64_t lockout_base_us = 30'000'000;               // first lockout; doubles with each further failure, capped at lockout_max_us
  int64_t lockout_max_us = 15LL * 60 * 1'000'000;
  bool fast_password_hashing_for_tests = false;       // crypto_pwhash OPSLIMIT_MIN/MEMLIMIT_MIN instead of INTERACTIVE
};

struct Enrollment {                 // shown once
  std::string user;
  std::string totp_secret_base32;
  std::string otpauth_uri;
  std::string qr_svg;
  std::vector<std::string> recovery_codes;   // 10 codes "XXXX-XXXX-XXXX" (32-char alphabet without 0/O/1/I), stored hashed; each usable once instead of a TOTP code
};

struct UserInfo {
  std::string name;
  Role role;
  int64_t created_us;
  int64_t last_login_us;     // 0 = never
  int64_t locked_until_us;   // 0 = not locked
  int recovery_codes_left;
};

struct Principal {                  // who a request acts as
  std::string user;                 // account name, or "token:<label>" for an API token
  Role role;
  bool api_token = false;
  std::string csrf_token;           // sessions only (empty for API tokens, which need no CSRF token)
  int64_t expires_us = 0;           // absolute expiry (the session's, or the token's)
};

struct LoginResult {
  std::string session_token;
  Principal principal;
};

struct ApiTokenInfo {
  std::string id;
  std::string label;
  Role role;
  std::string created_by;
  int64_t created_us;
  int64_t expires_us;
  int64_t last_used_us;   // 0 = never
};

// One row of the audit outbox. `actor` is who did it (a user name, "token:<label>", or the CLI's
// "<unix user> (uid N) on the host"); `action` one of login, login_failed, lockout, logout, user_add,
// user_remove, mfa_reset, role_change, password_change, token_create, token_revoke; `detail` says
// who/what/from where, never a password, code, secret or token.
struct AuditEntry {
  int64_t id;
  int64_t time_us;
  std::string actor;
  std::string action;
  std::string detail;
};

class AccountStore {
 public:
  // Opens or creates the database (and the key file next to it). IOError naming the path when a file or
  // directory cannot be created or read; InvalidArgument when the key file is malformed.
  [[nodiscard]] static StatusOr<std::unique_ptr<AccountStore>> Open(AccountStoreOptions options);
  ~AccountStore();
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  // --- Accounts. Names: 1..64 chars [A-Za-z0-9._@-]; passwords 12..1024 bytes; else InvalidArgument
  // saying so. `actor` is recorded in the audit outbox.
  [[nodiscard]] StatusOr<Enrollment> AddUser(std::string_view name, std::string_view password, Role role,
                                             std::string_view actor);                     // AlreadyExists
  // NotFound; also ends the user's sessions and revokes the API tokens they created.
  [[nodiscard]] Status RemoveUser(std::string_view name, std::string_view actor);
  // A new TOTP secret and new recovery codes (the old ones stop working); ends the user's sessions and
  // clears a lockout of the name. NotFound.
  [[nodiscard]] StatusOr<Enrollment> ResetMfa(std::string_view name, std::string_view actor);
  // Takes effect on existing sessions at their next request. NotFound.
  [[nodiscard]] Status SetRole(std::string_view name, Role role, std::string_view actor);
  // Also ends the user's sessions. NotFound, InvalidArgument.
  [[nodiscard]] Status SetPassword(std::string_view name, std::string_view password, std::string_view actor);
  [[nodiscard]] StatusOr<std::vector<UserInfo>> ListUsers() const;

  // --- Sessions. See the top of this file for the rules. `code` is a TOTP code or a recovery code
  // (case, spaces and dashes ignored). `source` is the client address (for the audit outbox).
  // Unauthenticated "invalid user name, password or code"; ResourceExhausted while the name is locked.
  [[nodiscard]] StatusOr<LoginResult> Login(std::string_view user, std::string_view password, std::string_view code,
                                            std::string_view source);
  // Session tokens are 32 random bytes, base64url, stored as SHA-256. Checks idle and absolute expiry,
  // then touches last-seen. The role is the user's current one. Unauthenticated "session expired or
  // unknown" otherwise.
  [[nodiscard]] StatusOr<Principal> Authenticate(std::string_view session_token);
  // Ends the session. OK also for an unknown or expired token (nothing to end).
  [[nodiscard]] Status Logout(std::string_view session_token);

  // --- API tokens: "vgt_<id>_<secret>" (id 8 hex, secret 32 random bytes base64url), stored hashed.
  // `expires_us` must be > now (InvalidArgument). When `created_by` names an existing user, `role` may not
  // exceed that user's role (PermissionDenied), and the token never acts above its creator's current role.
  // Label: 1..64 printable characters. Returns the token (shown once).
  [[nodiscard]] StatusOr<std::string> CreateApiToken(std::string_view label, Role role, int64_t expires_us,
                                                     std::string_view created_by);
  // Unauthenticated "invalid or expired API token" for malformed, unknown, revoked or expired tokens;
  // updates last_used.
  [[nodiscard]] StatusOr<Principal> AuthenticateApiToken(std::string_view token);
  [[nodiscard]] Status RevokeApiToken(std::string_view id, std::string_view actor);  // NotFound (unknown or revoked)
  // Tokens not revoked (expired ones included), oldest first.
  [[nodiscard]] StatusOr<std::vector<ApiTokenInfo>> ListApiTokens() const;

  // --- Audit outbox: entries not yet marked recorded, oldest first, at most `limit`.
  [[nodiscard]] StatusOr<std::vector<AuditEntry>> PendingAudit(size_t limit = 1000) const;
  [[nodiscard]] Status MarkAuditRecorded(std::span<const int64_t> ids);

  const std::string& path() const;

 private:
  struct Impl;
  explicit AccountStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "<unix user> (uid N) on the host": the actor the CLI records for changes made on the host.
std::string HostActor();

}  // namespace vg::auth
