#include "auth/account_store.h"

#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "auth/qr_svg.h"
#include "auth/totp.h"
#include "common/files.h"
#include "common/sqlite_stmt.h"
#include "common/time_text.h"

namespace vg::auth {
namespace {

constexpr char kLoginFailed[] = "invalid user name, password or code";
constexpr char kSessionUnknown[] = "session expired or unknown";
constexpr char kTokenInvalid[] = "invalid or expired API token";
constexpr int kRecoveryCodes = 10;
constexpr char kRecoveryAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";  // 32 symbols, no 0/O/1/I
constexpr size_t kTotpSecretBytes = 20;
constexpr int64_t kTotpPeriodS = 30;
constexpr int64_t kFailureRetentionUs = 24LL * 3600 * 1'000'000;

using Stmt = SqliteStmt;

std::string Base64Url(std::span<const uint8_t> bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string RandomBase64Url(size_t n) {
  std::vector<uint8_t> b(n);
  randombytes_buf(b.data(), b.size());
  std::string s = Base64Url(b);
  sodium_memzero(b.data(), b.size());
  return s;
}

std::array<uint8_t, crypto_hash_sha256_BYTES> Sha256(std::string_view s) {
  std::array<uint8_t, crypto_hash_sha256_BYTES> h;
  crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return h;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status CheckName(std::string_view name) {
  if (!ValidName(name)) {
    return Status::InvalidArgument("invalid user name: use 1 to 64 characters from A-Z a-z 0-9 . _ @ -");
  }
  return Status::Ok();
}

Status CheckPassword(std::string_view pw) {
  if (pw.size() < 12) return Status::InvalidArgument("password too short: at least 12 bytes are required");
  if (pw.size() > 1024) return Status::InvalidArgument("password too long: at most 1024 bytes are allowed");
  return Status::Ok();
}

// Names and labels as they appear in audit details and messages: printable ASCII, others as '?', cut.
std::string Printable(std::string_view s, size_t max = 80) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > max) out += "...";
  return out;
}

// A recovery code as typed, normalized: upper case, without spaces and dashes.
std::string NormalizeRecoveryCode(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

// The key failures are counted under: the name as typed, cut so that made-up long names (which can never
// exist) cannot bloat the table.
std::string_view FailureKey(std::string_view name) { return name.substr(0, 128); }

bool IsTotpCode(std::string_view code) {
  if (code.size() != 6) return false;
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status MakeDirs(const std::filesystem::path& dir) {
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::Ok();
  if (Status s = MakeDirs(dir.parent_path()); !s.ok()) return s;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError(dir.string() + ": cannot create directory: " + std::strerror(errno));
  }
  return Status::Ok();
}

// The secretbox key next to the database: read it, or create it atomically (write a temporary file, then
// link(2) it into place, which fails if another process was first; then read the winner).
Status LoadOrCreateKey(const std::string& path, std::array<uint8_t, crypto_secretbox_KEYBYTES>* key) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto data = ReadWholeFile(path);
    if (data.ok()) {
      if (data->size() != key->size()) {
        sodium_memzero(data->data(), data->size());
        return Status::InvalidArgument(path + ": not an account key file (expected " + std::to_string(key->size()) +
                                       " bytes)");
      }
      std::memcpy(key->data(), data->data(), key->size());
      sodium_memzero(data->data(), data->size());
      return Status::Ok();
    }
    if (data.status().code() != Status::Code::kNotFound) return data.status();
    std::array<uint8_t, crypto_secretbox_KEYBYTES> fresh;
    crypto_secretbox_keygen(fresh.data());
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
    Status w = WriteAllTo(fd, tmp, std::string_view(reinterpret_cast<const char*>(fresh.data()), fresh.size()));
    sodium_memzero(fresh.data(), fresh.size());
    if (w.ok() && ::fsync(fd) != 0) w = Status::IOError(tmp + ": fsync: " + std::strerror(errno));
    ::close(fd);
    if (!w.ok()) {
      ::unlink(tmp.c_str());
      return w;
    }
    const int linked = ::link(tmp.c_str(), path.c_str());
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (linked != 0 && link_errno != EEXIST) return Status::IOError(path + ": " + std::strerror(link_errno));
    (void)SyncDirectory(std::filesystem::path(path).parent_path().string());
  }
  return Status::IOError(path + ": cannot create the account key file");
}

}  // namespace

std::string HostActor() {
  const uid_t uid = ::getuid();
  std::string name = "uid" + std::to_string(uid);
  struct passwd pw;
  struct passwd* result = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result != nullptr) name = result->pw_name;
  return name + " (uid " + std::to_string(uid) + ") on the host";
}

struct AccountStore::Impl {
  AccountStoreOptions opt;
  std::array<uint8_t, crypto_secretbox_KEYBYTES> key{};
  mutable std::mutex mu;  // guards db
  sqlite3* db = nullptr;
  std::once_flag dummy_once;
  std::string dummy_hash;  // a password hash no password matches, for the same work on unknown names

  ~Impl() {
    sqlite3_close(db);
    sodium_memzero(key.data(), key.size());
  }

  int64_t Now() const { return opt.now_us(); }

  Status DbError(std::string_view what = {}) const {
    std::string msg = opt.path + ": ";
    if (!what.empty()) msg += std::string(what) + ": ";
    return Status::IOError(msg + sqlite3_errmsg(db));
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = opt.path + ": " + (err ? err : sqlite3_errmsg(db));
      sqlite3_free(err);
      return Status::IOError(msg);
    }
    return Status::Ok();
  }

  // Runs `body` in a write transaction (BEGIN IMMEDIATE); commits when it returns OK, rolls back otherwise.
  // Requires mu held.
  Status InTransaction(const std::function<Status()>& body) {
    if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    Status s = body();
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
    if (Status c = Exec("COMMIT"); !c.ok()) {
      (void)Exec("ROLLBACK");
      return c;
    }
    return Status::Ok();
  }

  // A statement that must finish (INSERT/UPDATE/DELETE).
  Status Run(Stmt& st) {
    if (st.Step() != SQLITE_DONE) return DbError();
    return Status::Ok();
  }

  Status Audit(int64_t now, std::string_view actor, std::string_view action, std::string_view detail) {
    Stmt st(db, "INSERT INTO audit(time_us, actor, action, detail) VALUES(?1, ?2, ?3, ?4)");
    st.Bind(1, now).Bind(2, Printable(actor, 200)).Bind(3, action).Bind(4, detail);
    return Run(st);
  }

  std::string HashPassword(std::string_view pw) const {
    char out[crypto_pwhash_STRBYTES];
    const auto ops = opt.fast_password_hashing_for_tests ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
    const auto mem = opt.fast_password_hashing_for_tests ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
    if (crypto_pwhash_str_alg(out, pw.data(), pw.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0) return "";
    return out;
  }

  bool VerifyPassword(const std::string& hash, std::string_view pw) const {
    return crypto_pwhash_str_verify(hash.c_str(), pw.data(), pw.size()) == 0;
  }

  const std::string& DummyHash() {
    std::call_once(dummy_once, [this] {
      std::string pw = RandomBase64Url(32);
      dummy_hash = HashPassword(pw);
      sodium_memzero(pw.data(), pw.size());
    });
    return dummy_hash;
  }

  std::vector<uint8_t> Seal(std::span<const uint8_t> plain) const {
    std::vector<uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
    randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plain.data(), plain.size(), out.data(), key.data());
    return out;
  }

  std::optional<std::vector<uint8_t>> Open(std::span<const uint8_t> sealed) const {
    if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) return std::nullopt;
    std::vector<uint8_t> plain(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES);
    if (crypto_secretbox_open_easy(plain.data(), sealed.data() + crypto_secretbox_NONCEBYTES,
                                   sealed.size() - crypto_secretbox_NONCEBYTES, sealed.data(), key.data()) != 0) {
      return std::nullopt;
    }
    return plain;
  }

  // Recovery codes are hashed with BLAKE2b keyed by the account key, over the user name and the code, so
  // the database alone does not allow guessing them offline.
  std::vector<uint8_t> RecoveryHash(std::string_view user, std::string_view normalized_code) const {
    std::string msg(user);
    msg.push_back('\0');
    msg.append(normalized_code);
    std::vector<uint8_t> h(crypto_generichash_BYTES);
    crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), key.data(),
                       key.size());
    sodium_memzero(msg.data(), msg.size());
    return h;
  }

  // New secret and recovery codes for `name`, replacing the old ones (in the caller's transaction).
  StatusOr<Enrollment> Enroll(std::string_view name) {
    std::array<uint8_t, kTotpSecretBytes> secret;
    randombytes_buf(secret.data(), secret.size());
    Enrollment e;
    e.user = std::string(name);
    e.totp_secret_base32 = Base32Encode(secret);
    e.otpauth_uri = OtpauthUri(opt.issuer, name, secret);
    auto svg = QrSvg(e.otpauth_uri);
    if (!svg.ok()) {
      sodium_memzero(secret.data(), secret.size());
      return svg.status();
    }
    e.qr_svg = std::move(*svg);
    const std::vector<uint8_t> sealed = Seal(secret);
    sodium_memzero(secret.data(), secret.size());
    {
      Stmt st(db, "UPDATE users SET totp_secret = ?2, last_totp_step = 0 WHERE name = ?1");
      st.Bind(1, name).BindBlob(2, sealed);
      if (Status s = Run(st); !s.ok()) return s;
    }
    {
      Stmt st(db, "DELETE FROM recovery_codes WHERE user = ?1");
      st.Bind(1, name);
      if (Status s = Run(st); !s.ok()) return s;
    }
    for (int i = 0; i < kRecoveryCodes; ++i) {
      std::string code;
      for (int k = 0; k < 12; ++k) {
        if (k == 4 || k == 8) code.push_back('-');
        code.push_back(kRecoveryAlphabet[randombytes_uniform(32)]);
      }
      Stmt st(db, "INSERT INTO recovery_codes(user, code_hash, used_us) VALUES(?1, ?2, 0)");
      st.Bind(1, name).BindBlob(2, RecoveryHash(name, NormalizeRecoveryCode(code)));
      if (Status s = Run(st); !s.ok()) return s;
      e.recovery_codes.push_back(std::move(code));
    }
    return e;
  }

  Status EndSessions(std::string_view name) {
    Stmt st(db, "DELETE FROM sessions WHERE user = ?1");
    st.Bind(1, name);
    return Run(st);
  }

  StatusOr<std::optional<Role>> UserRole(std::string_view name) {
    Stmt st(db, "SELECT role FROM users WHERE name = ?1");
    st.Bind(1, name);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<Role>(static_cast<Role>(st.Int(0)));
    if (rc == SQLITE_DONE) return std::optional<Role>();
    return DbError();
  }

  Status RequireUser(std::string_view name) {
    auto r = UserRole(name);
    if (!r.ok()) return r.status();
    if (!r->has_value()) return Status::NotFound("no admin user named '" + Printable(name) + "'");
    return Status::Ok();
  }

  // Seconds until the name's lockout ends (rounded up), or 0.
  StatusOr<int64_t> LockedForUs(std::string_view name, int64_t now) {
    Stmt st(db, "SELECT locked_until_us FROM login_failures WHERE name = ?1");
    st.Bind(1, FailureKey(name));
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return st.Int(0) > now ? st.Int(0) - now : 0;
    if (rc == SQLITE_DONE) return int64_t{0};
    return DbError();
  }

  static Status LockedStatus(int64_t remaining_us) {
    const int64_t s = (remaining_us + 999'999) / 1'000'000;
    return Status::ResourceExhausted("too many failed attempts; try again in " + std::to_string(s) + " s");
  }

  // Counts a failed login for `name` (in the caller's transaction) and locks it at the threshold.
  Status RecordFailure(std::string_view name, std::string_view source, std::string_view reason, int64_t now) {
    {
      Stmt prune(db, "DELETE FROM login_failures WHERE last_failure_us < ?1 AND locked_until_us < ?2");
      prune.Bind(1, now - kFailureRetentionUs).Bind(2, now);
      if (Status s = Run(prune); !s.ok()) return s;
    }
    int64_t count = 0;
    {
      Stmt st(db,
              "INSERT INTO login_failures(name, count, locked_until_us, last_failure_us) VALUES(?1, 1, 0, ?2)"
              " ON CONFLICT(name) DO UPDATE SET count = count + 1, last_failure_us = ?2 RETURNING count");
      st.Bind(1, FailureKey(name)).Bind(2, now);
      if (st.Step() != SQLITE_ROW) return DbError();
      count = st.Int(0);
    }
    const std::string who = "user=" + Printable(name) + " source=" + Printable(source);
    if (Status s = Audit(now, name, "login_failed", who + " reason=" + std::string(reason)); !s.ok()) return s;
    if (count >= opt.lockout_threshold) {
      int64_t lock = opt.lockout_base_us;
      for (int64_t i = opt.lockout_threshold; i < count && lock < opt.lockout_max_us; ++i) lock *= 2;
      lock = std::min(lock, opt.lockout_max_us);
      Stmt st(db, "UPDATE login_failures SET locked_until_us = ?2 WHERE name = ?1");
      st.Bind(1, FailureKey(name)).Bind(2, now + lock);
      if (Status s = Run(st); !s.ok()) return s;
      if (Status s = Audit(now, name, "lockout",
                           who + " failures=" + std::to_string(count) + " locked_for_s=" + std::to_string(lock / 1'000'000));
          !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }
};

AccountStore::AccountStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccountStore::~AccountStore() = default;
const std::string& AccountStore::path() const { return impl_->opt.path; }

StatusOr<std::unique_ptr<AccountStore>> AccountStore::Open(AccountStoreOptions options) {
  if (sodium_init() < 0) return Status::Internal("libsodium could not be initialized");
  if (options.path.empty()) return Status::InvalidArgument("account store: no database path given");
  if (!options.now_us) options.now_us = SystemNowUs;
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  const std::string& path = impl->opt.path;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (Status s = MakeDirs(dir); !s.ok()) return s;
  if (Status s = LoadOrCreateKey((dir / "accounts.key").string(), &impl->key); !s.ok()) return s;
  // Create the file 0600 ourselves: SQLite gives its -wal and -shm files the database file's mode.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  ::close(fd);
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return Status::IOError(path + ": " + (impl->db ? sqlite3_errmsg(impl->db) : "cannot open the account database"));
  }
  sqlite3_busy_timeout(impl->db, 5000);
  if (Status s = impl->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !s.ok()) {
    return s;
  }
  Status s = impl->InTransaction([&] {
    return impl->Exec(
        "CREATE TABLE IF NOT EXISTS users(name TEXT PRIMARY KEY, role INTEGER NOT NULL, password_hash TEXT NOT NULL,"
        " totp_secret BLOB NOT NULL, last_totp_step INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL,"
        " last_login_us INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS recovery_codes(user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
        " code_hash BLOB NOT NULL, used_us INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS recovery_codes_user ON recovery_codes(user);"
        "CREATE TABLE IF NOT EXISTS login_failures(name TEXT PRIMARY KEY, count INTEGER NOT NULL,"
        " locked_until_us INTEGER NOT NULL, last_failure_us INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sessions(token_hash BLOB PRIMARY KEY, user TEXT NOT NULL, csrf_token TEXT NOT NULL,"
        " created_us INTEGER NOT NULL, last_seen_us INTEGER NOT NULL, source TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user);"
        "CREATE TABLE IF NOT EXISTS api_tokens(id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL, label TEXT NOT NULL,"
        " role INTEGER NOT NULL, created_by TEXT NOT NULL, created_us INTEGER NOT NULL, expires_us INTEGER NOT NULL,"
        " last_used_us INTEGER NOT NULL DEFAULT 0, revoked_us INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL,"
        " actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, recorded INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS audit_pending ON audit(recorded, id);");
  });
  if (!s.ok()) return s;
  return std::unique_ptr<AccountStore>(new AccountStore(std::move(impl)));
}

// --- Accounts ------------------------------------------------------------------------------------------

StatusOr<Enrollment> AccountStore::AddUser(std::string_view name, std::string_view password, Role role,
                                           std::string_view actor) {
  if (Status s = CheckName(name); !s.ok()) return s;
  if (Status s = CheckPassword(password); !s.ok()) return s;
  const std::string hash = impl_->HashPassword(password);  // outside the lock: it takes a while
  if (hash.empty()) return Status::Internal("password hashing failed (out of memory?)");
  std::lock_guard lock(impl_->mu);
  const int64_t now = impl_->Now();
  std::optional<Enrollment> enrollment;
  Status s = impl_->InTransaction([&]() -> Status {
    auto existing = impl_->UserRole(name);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return Status::AlreadyExists("an admin user named '" + std::string(name) + "' exists already");
    Stmt st(impl_->db, "INSERT INTO users(name, role, password_hash, totp_secret, created_us) VALUES(?1, ?2, ?3, x'', ?4)");
    st.Bind(1, name).Bind(2, static_cast<int64_t>(role)).Bind(3, hash).Bind(4, now);
    if (Status r = impl_->Run(st); !r.ok()) return r;
    auto e = impl_->Enroll(name);
    if (!e.ok()) return e.status();
    enrollment = std::move(*e);
    return impl_->Audit(now, actor, "user_add", "user=" + std::string(name) + " role=" + std::string(RoleName(role)));
  });
  if (!s.ok()) return s;
  return std::move(*enrollment);
}

Status AccountStore::RemoveUser(std::string_view name, std::string_view actor) {
  std::lock_guard lock(impl_->mu);
  const int64_t now = impl_->Now();
  return impl_->InTransaction([&]() -> Status {
    if (Status r = impl_->RequireUser(name); !r.ok()) return r;
    if (Status r = impl_->EndSessions(name); !r.ok()) return r;
    int revoked = 0;
    {
      Stmt st(impl_->db, "UPDATE api_tokens SET revoked_us = ?2 WHERE created_by = ?1 AND revoked_us = 0");
      st.Bind(1, name).Bind(2, now);
      if (Status r = impl_->Run(st); !r.ok()) return r;
      revoked = sqlite3_changes(impl_->db);
    }
    {
      Stmt st(impl_->db, "DELETE FROM recovery_codes WHERE user = ?1");
      st.Bind(1, name);
      if (Status r = impl_->Run(st); !r.ok()) return r;
    }
    {
      Stmt st(impl_->db, "DELETE FROM users WHERE name = ?1");
      st.Bind(1, name);
      if (Status r = impl_->Run(st); !r.ok()) return r;
    }
    return impl_->Audit(now, actor, "user_remove",
                        "user=" + std::string(name) + " tokens_revoked=" + std::to_string(revoked));
  });
}

StatusOr<Enrollment> AccountStore::ResetMfa(std::string_view name, std::string_view actor) {
  std::lock_guard lock(impl_->mu);
  const int64_t now = impl_->Now();
  std::optional<Enrollment> enrollment;
  Status s = impl_->InTransaction([&]() -> Status {
    if (Status r = impl_->RequireUser(name); !r.ok()) return r;
    auto e = impl_->Enroll(name);
    if (!e.ok()) return e.status();
    enrollment = std::move(*e);
    if (Status r = impl_->EndSessions(name); !r.ok()) return r;
    Stmt st(impl_->db, "DELETE FROM login_failures WHERE name = ?1");
    st.Bind(1, name);
    if (Status r = impl_->Run(st); !r.ok()) return r;
    return impl_->Audit(now, actor, "mfa_reset", "user=" + std::string(name));
  });
  if (!s.ok()) return s;
  return std::move(*enrollment);
}

Status AccountStore::SetRole(std::string_view name, Role role, std::string_view actor) {
  std::lock_guard lock(impl_->mu);
  const int64_t now = impl_->Now();
  return impl_->InTransaction([&]() -> Status {
    auto old = impl_->UserRole(name);
    if (!old.ok()) return old.status();
    if (!old->has_value()) return Status::NotFound("no admin user named '" + Printable(name) + "'");
    Stmt st(impl_->db, "UPDATE users SET role = ?2 WHERE name = ?1");
    st.Bind(1, name).Bind(2, static_cast<int64_t>(role));
    if (Status r = impl_->Run(st); !r.ok()) return r;
    return impl_->Audit(now, actor, "role_change",
                        "user=" + std::string(name) + " from=" + std::string(RoleName(**old)) +
                            " to=" + std::string(RoleName(role)));
  });
}

Status AccountStore::SetPassword(std::string_view name, std::string_view password, std::string_view actor) {
  if (Status s = CheckPassword(password); !s.ok()) return s;
  const std::string hash = impl_->HashPassword(password);
  if (hash.empty()) return Status::Internal("password hashing failed (out of memory?)");
  std::lock_guard lock(impl_->mu);
  const int64_t now = impl_->Now();
  return impl_->InTransaction([&]() -> Status {
    if (Status r = impl_->RequireUser(name); !r.ok()) return r;
    Stmt st(impl_->db, "UPDATE users SET password_hash = ?2 WHERE name = ?1");
    st.Bind(1, name).Bind(2, hash);
    if (Status r = impl_->Run(st); !r.ok()) return r;
    if (Status r = impl_->EndSessions(name); !r.ok()) return r;
    return impl_->Audit(now, actor, "password_change", "user=" + std::string(name));
  });
}

StatusOr<std::vector<UserInfo>> AccountStore::ListUsers() const {
  std::lock_guard lock(impl_->mu);
  const int64_t now = impl_->Now();
  Stmt st(impl_->db,
          "SELECT u.name, u.role, u.created_us, u.last_login_us, COALESCE(f.locked_until_us, 0),"
          " (SELECT COUNT(*) FROM recovery_codes r WHERE r.user = u.name AND r.used_us = 0)"
          " FROM users u LEFT JOIN login_failures f ON f.name = u.name ORDER BY u.name");
  std::vector<UserInfo> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    UserInfo u;
    u.name = st.Text(0);
    u.role = static_cast<Role>(st.Int(1));
    u.created_us = st.Int(2);
    u.last_login_us = st.Int(3);
    u.locked_until_us = st.Int(4) > now ? st.Int(4) : 0;
    u.recovery_codes_left = static_cast<int>(st.Int(5));
    out.push_back(std::move(u));
  }
  if (rc != SQLITE_DONE) return impl_->DbError();
  return out;
}

// --- Sessions ------------------------------------------------------------------------------------------

StatusOr<LoginResult> AccountStore::Login(std::string_view user, std::string_view password, std::string_view code,
                                          std::string_view source) {
  Impl& im = *impl_;
  // Made on the first login of any name, so that it does not make the first unknown name slower.
  const std::string& dummy_hash = im.DummyHash();
  // Phase 1 (under the lock, no transaction): refuse a locked name early; read the account.
  bool exists = false;
  std::string password_hash;
  std::vector<uint8_t> sealed_secret;
  {
    std::lock_guard lock(im.mu);
    const int64_t now = im.Now();
    auto locked = im.LockedForUs(user, now);
    if (!locked.ok()) return locked.status();
    if (*locked > 0) return Impl::LockedStatus(*locked);
    Stmt st(im.db, "SELECT password_hash, totp_secret FROM users WHERE name = ?1");
    st.Bind(1, user);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) {
      exists = true;
      password_hash = st.Text(0);
      sealed_secret = st.Blob(1);
    } else if (rc != SQLITE_DONE) {
      return im.DbError();
    }
  }
  // Phase 2 (no lock): the slow part, with the same work whether the name exists or not.
  const bool password_ok = im.VerifyPassword(exists ? password_hash : dummy_hash, password) && exists;
  const int64_t now = im.Now();
  const int64_t step_now = now / 1'000'000 / kTotpPeriodS;
  int64_t matched_step = 0;  // > 0: a TOTP code matched this step
  std::string recovery;      // normalized recovery code to look up
  if (IsTotpCode(code)) {
    if (exists) {
      auto secret = im.Open(sealed_secret);
      if (secret) {
        for (int64_t step = step_now - 1; step <= step_now + 1; ++step) {
          const std::string expected = FormatTotpCode(TotpCode(*secret, step * kTotpPeriodS), 6);
          if (sodium_memcmp(expected.data(), code.data(), 6) == 0 && step > 0) matched_step = step;
        }
        sodium_memzero(secret->data(), secret->size());
      }
    }
  } else {
    recovery = NormalizeRecoveryCode(code);
  }
  // Phase 3 (one transaction): re-check the lockout, consume the code, or count the failure.
  std::lock_guard lock(im.mu);
  std::optional<LoginResult> result;
  Status refusal;  // returned after the transaction commits (the failure count must be kept)
  Status s = im.InTransaction([&]() -> Status {
    auto locked = im.LockedForUs(user, now);
    if (!locked.ok()) return locked.status();
    if (*locked > 0) {
      refusal = Impl::LockedStatus(*locked);
      return Status::Ok();
    }
    std::string reason;
    Role role = Role::kViewer;
    if (!exists) {
      reason = "unknown user";
    } else if (!password_ok) {
      reason = "wrong password";
    } else {
      // The account may have changed since phase 1 (removed, MFA reset, new password): re-read it.
      Stmt st(im.db, "SELECT role, last_totp_step, totp_secret, password_hash FROM users WHERE name = ?1");
      st.Bind(1, user);
      const int rc = st.Step();
      if (rc == SQLITE_DONE) {
        reason = "unknown user";
      } else if (rc != SQLITE_ROW) {
        return im.DbError();
      } else if (st.Blob(2) != sealed_secret || st.Text(3) != password_hash) {
        reason = "account changed during login";
      } else {
        role = static_cast<Role>(st.Int(0));
        const int64_t last_step = st.Int(1);
        if (matched_step > 0) {
          if (matched_step <= last_step) {
            reason = "code already used";
          } else {
            Stmt up(im.db, "UPDATE users SET last_totp_step = ?2 WHERE name = ?1");
            up.Bind(1, user).Bind(2, matched_step);
            if (Status r = im.Run(up); !r.ok()) return r;
          }
        } else if (!recovery.empty()) {
          Stmt up(im.db,
                  "UPDATE recovery_codes SET used_us = ?3 WHERE rowid = (SELECT rowid FROM recovery_codes"
                  " WHERE user = ?1 AND code_hash = ?2 AND used_us = 0 LIMIT 1)");
          up.Bind(1, user).BindBlob(2, im.RecoveryHash(user, recovery)).Bind(3, now);
          if (Status r = im.Run(up); !r.ok()) return r;
          if (sqlite3_changes(im.db) != 1) reason = "wrong code";
        } else {
          reason = "wrong code";
        }
      }
    }
    if (!reason.empty()) {
      refusal = Status::Unauthenticated(kLoginFailed);
      return im.RecordFailure(user, source, reason, now);
    }
    // Success.
    {
      Stmt st(im.db, "DELETE FROM login_failures WHERE name = ?1");
      st.Bind(1, FailureKey(user));
      if (Status r = im.Run(st); !r.ok()) return r;
    }
    {
      Stmt st(im.db, "UPDATE users SET last_login_us = ?2 WHERE name = ?1");
      st.Bind(1, user).Bind(2, now);
      if (Status r = im.Run(st); !r.ok()) return r;
    }
    LoginResult lr;
    lr.session_token = RandomBase64Url(32);
    lr.principal.user = std::string(user);
    lr.principal.role = role;
    lr.principal.csrf_token = RandomBase64Url(32);
    lr.principal.expires_us = now + im.opt.session_absolute_us;
    {
      const auto hash = Sha256(lr.session_token);
      Stmt st(im.db,
              "INSERT INTO sessions(token_hash, user, csrf_token, created_us, last_seen_us, source)"
              " VALUES(?1, ?2, ?3, ?4, ?4, ?5)");
      st.BindBlob(1, hash).Bind(2, user).Bind(3, lr.principal.csrf_token).Bind(4, now).Bind(5, Printable(source));
      if (Status r = im.Run(st); !r.ok()) return r;
    }
    if (Status r = im.Audit(now, user, "login",
                            "user=" + std::string(user) + " source=" + Printable(source) +
                                (recovery.empty() ? " factor=totp" : " factor=recovery_code"));
        !r.ok()) {
      return r;
    }
    result = std::move(lr);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!refusal.ok()) return refusal;
  return std::move(*result);
}

StatusOr<Principal> AccountStore::Authenticate(std::string_view session_token) {
  Impl& im = *impl_;
  const auto hash = Sha256(session_token);
  std::lock_guard lock(im.mu);
  const int64_t now = im.Now();
  // A read first, so that unknown tokens (anyone can send them) never take the database's write lock.
  Principal pr;
  int64_t created = 0, last_seen = 0;
  {
    Stmt st(im.db,
            "SELECT s.user, u.role, s.csrf_token, s.created_us, s.last_seen_us FROM sessions s"
            " JOIN users u ON u.name = s.user WHERE s.token_hash = ?1");
    st.BindBlob(1, hash);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::Unauthenticated(kSessionUnknown);
    if (rc != SQLITE_ROW) return im.DbError();
    pr.user = st.Text(0);
    pr.role = static_cast<Role>(st.Int(1));
    pr.csrf_token = st.Text(2);
    created = st.Int(3);
    last_seen = st.Int(4);
  }
  if (now - last_seen >= im.opt.session_idle_us || now - created >= im.opt.session_absolute_us) {
    Stmt del(im.db, "DELETE FROM sessions WHERE token_hash = ?1");
    del.BindBlob(1, hash);
    if (Status r = im.Run(del); !r.ok()) return r;
    return Status::Unauthenticated(kSessionUnknown);
  }
  pr.expires_us = created + im.opt.session_absolute_us;
  // One statement, atomic on its own; no row changed: the session ended meanwhile (another process).
  Stmt touch(im.db, "UPDATE sessions SET last_seen_us = MAX(last_seen_us, ?2) WHERE token_hash = ?1");
  touch.BindBlob(1, hash).Bind(2, now);
  if (Status r = im.Run(touch); !r.ok()) return r;
  if (sqlite3_changes(im.db) != 1) return Status::Unauthenticated(kSessionUnknown);
  return pr;
}

Status AccountStore::Logout(std::string_view session_token) {
  Impl& im = *impl_;
  const auto hash = Sha256(session_token);
  std::lock_guard lock(im.mu);
  const int64_t now = im.Now();
  return im.InTransaction([&]() -> Status {
    Stmt st(im.db, "DELETE FROM sessions WHERE token_hash = ?1 RETURNING user, source");
    st.BindBlob(1, hash);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return im.DbError();
    const std::string user = st.Text(0), source = st.Text(1);
    while (st.Step() == SQLITE_ROW) {
    }
    return im.Audit(now, user, "logout", "user=" + user + " source=" + source);
  });
}

// --- API tokens ----------------------------------------------------------------------------------------

StatusOr<std::string> AccountStore::CreateApiToken(std::string_view label, Role role, int64_t expires_us,
                                                   std::string_view created_by) {
  if (label.empty() || label.size() > 64) return Status::InvalidArgument("token label must be 1 to 64 characters");
  for (char c : label) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("token label must not contain control characters");
    }
  }
  Impl& im = *impl_;
  std::lock_guard lock(im.mu);
  const int64_t now = im.Now();
  if (expires_us <= now) return Status::InvalidArgument("token expiry must be in the future");
  std::string token;
  Status s = im.InTransaction([&]() -> Status {
    auto creator_role = im.UserRole(created_by);
    if (!creator_role.ok()) return creator_role.status();
    if (creator_role->has_value() && role > **creator_role) {
      return Status::PermissionDenied("a token's role cannot exceed its creator's: '" + Printable(created_by) + "' is " +
                                      std::string(RoleName(**creator_role)) + ", the token asked for " +
                                      std::string(RoleName(role)));
    }
    std::string id;
    for (int attempt = 0;; ++attempt) {
      uint8_t raw[4];
      randombytes_buf(raw, sizeof raw);
      char hex[9];
      sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
      id = hex;
      Stmt st(im.db, "SELECT 1 FROM api_tokens WHERE id = ?1");
      st.Bind(1, id);
      if (st.Step() == SQLITE_DONE) break;
      if (attempt > 16) return Status::Internal("could not pick an unused token id");
    }
    const std::string secret = RandomBase64Url(32);
    const auto hash = Sha256(secret);
    Stmt st(im.db,
            "INSERT INTO api_tokens(id, secret_hash, label, role, created_by, created_us, expires_us)"
            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.Bind(1, id).BindBlob(2, hash).Bind(3, label).Bind(4, static_cast<int64_t>(role)).Bind(5, created_by).Bind(6, now).Bind(7, expires_us);
    if (Status r = im.Run(st); !r.ok()) return r;
    token = "vgt_" + id + "_" + secret;
    return im.Audit(now, created_by, "token_create",
                    "id=" + id + " label=" + Printable(label) + " role=" + std::string(RoleName(role)) +
                        " expires_us=" + std::to_string(expires_us));
  });
  if (!s.ok()) return s;
  return token;
}

StatusOr<Principal> AccountStore::AuthenticateApiToken(std::string_view token) {
  // vgt_ + 8 hex + _ + 43 base64url characters.
  if (token.size() != 4 + 8 + 1 + 43 || token.substr(0, 4) != "vgt_" || token[12] != '_') {
    return Status::Unauthenticated(kTokenInvalid);
  }
  const std::string id(token.substr(4, 8));
  const auto hash = Sha256(token.substr(13));
  Impl& im = *impl_;
  std::lock_guard lock(im.mu);
  const int64_t now = im.Now();
  Principal pr;
  {
    Stmt st(im.db,
            "SELECT t.secret_hash, t.label, t.role, t.expires_us, t.revoked_us, u.role FROM api_tokens t"
            " LEFT JOIN users u ON u.name = t.created_by WHERE t.id = ?1");
    st.Bind(1, id);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::Unauthenticated(kTokenInvalid);
    if (rc != SQLITE_ROW) return im.DbError();
    const std::vector<uint8_t> stored = st.Blob(0);
    if (stored.size() != hash.size() || sodium_memcmp(stored.data(), hash.data(), hash.size()) != 0) {
      return Status::Unauthenticated(kTokenInvalid);
    }
    if (st.Int(4) != 0 || st.Int(3) <= now) return Status::Unauthenticated(kTokenInvalid);
    pr.user = "token:" + st.Text(1);
    pr.role = static_cast<Role>(st.Int(2));
    // A token never acts above its creator's current role (when a user created it).
    if (!st.IsNull(5) && static_cast<Role>(st.Int(5)) < pr.role) pr.role = static_cast<Role>(st.Int(5));
    pr.api_token = true;
    pr.expires_us = st.Int(3);
  }
  // One statement, atomic on its own; no row changed: revoked meanwhile (another process).
  Stmt touch(im.db, "UPDATE api_tokens SET last_used_us = MAX(last_used_us, ?2) WHERE id = ?1 AND revoked_us = 0");
  touch.Bind(1, id).Bind(2, now);
  if (Status r = im.Run(touch); !r.ok()) return r;
  if (sqlite3_changes(im.db) != 1) return Status::Unauthenticated(kTokenInvalid);
  return pr;
}

Status AccountStore::RevokeApiToken(std::string_view id, std::string_view actor) {
  Impl& im = *impl_;
  std::lock_guard lock(im.mu);
  const int64_t now = im.Now();
  return im.InTransaction([&]() -> Status {
    Stmt st(im.db, "UPDATE api_tokens SET revoked_us = ?2 WHERE id = ?1 AND revoked_us = 0 RETURNING label");
    st.Bind(1, id).Bind(2, now);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no active API token with id '" + Printable(id) + "'");
    if (rc != SQLITE_ROW) return im.DbError();
    const std::string label = st.Text(0);
    while (st.Step() == SQLITE_ROW) {
    }
    return im.Audit(now, actor, "token_revoke", "id=" + std::string(id) + " label=" + Printable(label));
  });
}

StatusOr<std::vector<ApiTokenInfo>> AccountStore::ListApiTokens() const {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT id, label, role, created_by, created_us, expires_us, last_used_us FROM api_tokens"
          " WHERE revoked_us = 0 ORDER BY created_us, id");
  std::vector<ApiTokenInfo> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    ApiTokenInfo t;
    t.id = st.Text(0);
    t.label = st.Text(1);
    t.role = static_cast<Role>(st.Int(2));
    t.created_by = st.Text(3);
    t.created_us = st.Int(4);
    t.expires_us = st.Int(5);
    t.last_used_us = st.Int(6);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return impl_->DbError();
  return out;
}

// --- Audit outbox --------------------------------------------------------------------------------------

StatusOr<std::vector<AuditEntry>> AccountStore::PendingAudit(size_t limit) const {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db, "SELECT id, time_us, actor, action, detail FROM audit WHERE recorded = 0 ORDER BY id LIMIT ?1");
  st.Bind(1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<AuditEntry> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back(AuditEntry{st.Int(0), st.Int(1), st.Text(2), st.Text(3), st.Text(4)});
  }
  if (rc != SQLITE_DONE) return impl_->DbError();
  return out;
}

Status AccountStore::MarkAuditRecorded(std::span<const int64_t> ids) {
  std::lock_guard lock(impl_->mu);
  return impl_->InTransaction([&]() -> Status {
    for (int64_t id : ids) {
      Stmt one(impl_->db, "UPDATE audit SET recorded = 1 WHERE id = ?1");
      one.Bind(1, id);
      if (Status r = impl_->Run(one); !r.ok()) return r;
    }
    return Status::Ok();
  });
}

}  // namespace vg::auth
