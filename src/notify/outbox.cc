#include "notify/outbox.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/sqlite_stmt.h"

namespace vg::notify {
namespace {

using Stmt = SqliteStmt;

NoticeState ParseState(std::string_view s) {
  if (s == "sending") return NoticeState::kSending;
  if (s == "sent") return NoticeState::kSent;
  if (s == "failed") return NoticeState::kFailed;
  if (s == "unknown") return NoticeState::kUnknown;
  return NoticeState::kPending;
}

OutboxEntry ReadEntry(const Stmt& st) {
  OutboxEntry e;
  e.notice_id = st.Text(0);
  e.subject = st.Text(1);
  e.recipient = st.Text(2);
  e.state = ParseState(st.Text(3));
  e.attempts = static_cast<int>(st.Int(4));
  e.reason = st.Text(5);
  e.updated_us = st.Int(6);
  return e;
}

constexpr const char* kColumns = "notice_id, subject, recipient, state, attempts, reason, updated_us";

}  // namespace

std::string_view ToString(NoticeState s) {
  switch (s) {
    case NoticeState::kPending: return "pending";
    case NoticeState::kSending: return "sending";
    case NoticeState::kSent: return "sent";
    case NoticeState::kFailed: return "failed";
    case NoticeState::kUnknown: return "unknown";
  }
  return "pending";
}

Status Outbox::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = path_ + ": " + (err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    return Status::IOError(msg);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Outbox>> Outbox::Open(const std::string& path, int64_t now_us) {
  std::unique_ptr<Outbox> o(new Outbox());
  o->path_ = path;
  const std::string lock = path + ".lock";
  o->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (o->lock_fd_ < 0) return Status::IOError(lock + ": " + std::strerror(errno));
  if (::flock(o->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::FailedPrecondition(path + ": another process is sending or preparing this campaign (" + lock +
                                        " is locked); wait for it to finish or stop it first");
    }
    return Status::IOError(lock + ": flock: " + std::strerror(errno));
  }
  if (sqlite3_open_v2(path.c_str(), &o->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return Status::IOError(path + ": " + (o->db_ ? sqlite3_errmsg(o->db_) : "cannot open the outbox"));
  }
  sqlite3_busy_timeout(o->db_, 5000);
  if (Status s = o->Exec(
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
          "CREATE TABLE IF NOT EXISTS notices(notice_id TEXT PRIMARY KEY, subject TEXT NOT NULL UNIQUE,"
          " recipient TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
          " reason TEXT NOT NULL DEFAULT '', updated_us INTEGER NOT NULL, seq INTEGER NOT NULL, message BLOB NOT NULL);"
          "CREATE INDEX IF NOT EXISTS notices_state ON notices(state, seq);"
          "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);");
      !s.ok()) {
    return s;
  }
  // Crash recovery: whatever is still `sending` was interrupted mid-transaction.
  if (Status s = o->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  {
    Stmt st(o->db_, "SELECT notice_id FROM notices WHERE state = 'sending' ORDER BY seq");
    while (st.Step() == SQLITE_ROW) o->recovered_.push_back(st.Text(0));
  }
  {
    Stmt up(o->db_,
            "UPDATE notices SET state = 'unknown', updated_us = ?1, reason = 'interrupted during the SMTP transaction: "
            "the server may or may not have accepted it' WHERE state = 'sending'");
    up.Bind(1, now_us);
    if (up.Step() != SQLITE_DONE) {
      (void)o->Exec("ROLLBACK");
      return Status::IOError(path + ": " + sqlite3_errmsg(o->db_));
    }
  }
  if (Status s = o->Exec("COMMIT"); !s.ok()) return s;
  return o;
}

StatusOr<std::unique_ptr<Outbox>> Outbox::OpenReadOnly(const std::string& path) {
  std::unique_ptr<Outbox> o(new Outbox());
  o->path_ = path;
  if (sqlite3_open_v2(path.c_str(), &o->db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return Status::IOError(path + ": " + (o->db_ ? sqlite3_errmsg(o->db_) : "cannot open the outbox"));
  }
  sqlite3_busy_timeout(o->db_, 5000);
  return o;
}

Outbox::~Outbox() {
  sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status Outbox::Add(const std::vector<NewNotice>& notices, int64_t now_us, size_t* added) {
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  int64_t seq = 0;
  {
    Stmt st(db_, "SELECT COALESCE(MAX(seq), 0) FROM notices");
    if (st.Step() == SQLITE_ROW) seq = st.Int(0);
  }
  size_t n = 0;
  Stmt ins(db_,
           "INSERT INTO notices(notice_id, subject, recipient, state, updated_us, seq, message)"
           " VALUES(?1, ?2, ?3, 'pending', ?4, ?5, ?6) ON CONFLICT DO NOTHING");
  for (const NewNotice& nn : notices) {
    sqlite3_reset(ins.get());
    ins.Bind(1, nn.notice_id).Bind(2, nn.subject).Bind(3, nn.recipient).Bind(4, now_us).Bind(5, ++seq).BindBlob(6, nn.message);
    if (ins.Step() != SQLITE_DONE) {
      std::string msg = path_ + ": " + sqlite3_errmsg(db_);
      (void)Exec("ROLLBACK");
      return Status::IOError(msg);
    }
    n += static_cast<size_t>(sqlite3_changes(db_));
  }
  if (Status s = Exec("COMMIT"); !s.ok()) return s;
  if (added) *added = n;
  return Status::Ok();
}

StatusOr<bool> Outbox::HasSubject(const std::string& subject) {
  Stmt st(db_, "SELECT 1 FROM notices WHERE subject = ?1");
  st.Bind(1, subject);
  const int rc = st.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  return rc == SQLITE_ROW;
}

Status Outbox::SetMeta(const std::string& key, const std::string& value) {
  Stmt st(db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  st.Bind(1, key).Bind(2, value);
  if (st.Step() != SQLITE_DONE) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  return Status::Ok();
}

StatusOr<std::string> Outbox::GetMeta(const std::string& key) {
  Stmt st(db_, "SELECT value FROM meta WHERE key = ?1");
  st.Bind(1, key);
  const int rc = st.Step();
  if (rc == SQLITE_ROW) return st.Text(0);
  if (rc == SQLITE_DONE) return std::string();
  return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
}

StatusOr<int64_t> Outbox::MaxSeq() {
  Stmt st(db_, "SELECT COALESCE(MAX(seq), 0) FROM notices");
  if (st.Step() != SQLITE_ROW) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  return st.Int(0);
}

StatusOr<std::optional<Outbox::Claimed>> Outbox::ClaimNext(bool include_unknown, int64_t now_us, int64_t max_seq) {
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  std::optional<Claimed> claimed;
  {
    Stmt st(db_, include_unknown
                     ? "SELECT notice_id, subject, recipient, state, attempts, reason, updated_us, message FROM notices"
                       " WHERE state IN ('pending', 'unknown') AND seq <= ?1 ORDER BY state = 'unknown', seq LIMIT 1"
                     : "SELECT notice_id, subject, recipient, state, attempts, reason, updated_us, message FROM notices"
                       " WHERE state = 'pending' AND seq <= ?1 ORDER BY seq LIMIT 1");
    st.Bind(1, max_seq);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) {
      claimed.emplace();
      claimed->entry = ReadEntry(st);
      claimed->message = st.Text(7);
    } else if (rc != SQLITE_DONE) {
      std::string msg = path_ + ": " + sqlite3_errmsg(db_);
      (void)Exec("ROLLBACK");
      return Status::IOError(msg);
    }
  }
  if (claimed) {
    Stmt up(db_, "UPDATE notices SET state = 'sending', attempts = attempts + 1, updated_us = ?2 WHERE notice_id = ?1");
    up.Bind(1, claimed->entry.notice_id).Bind(2, now_us);
    if (up.Step() != SQLITE_DONE) {
      std::string msg = path_ + ": " + sqlite3_errmsg(db_);
      (void)Exec("ROLLBACK");
      return Status::IOError(msg);
    }
    claimed->entry.state = NoticeState::kSending;
    claimed->entry.attempts += 1;
  }
  // synchronous=FULL: when COMMIT returns, `sending` is on disk.
  if (Status s = Exec("COMMIT"); !s.ok()) return s;
  return claimed;
}

Status Outbox::Transition(const std::string& id, NoticeState to, const std::string& reason, int64_t now_us,
                          bool requeue) {
  Stmt st(db_, requeue ? "UPDATE notices SET state = ?2, reason = ?3, updated_us = ?4,"
                         " seq = (SELECT MAX(seq) + 1 FROM notices) WHERE notice_id = ?1 AND state = 'sending'"
                       : "UPDATE notices SET state = ?2, reason = ?3, updated_us = ?4 WHERE notice_id = ?1 AND state = 'sending'");
  const std::string_view state = ToString(to);
  st.Bind(1, id).Bind(2, state).Bind(3, reason).Bind(4, now_us);
  if (st.Step() != SQLITE_DONE) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  if (sqlite3_changes(db_) != 1) {
    return Status::FailedPrecondition(path_ + ": notice " + id + " is not being sent; cannot mark it " + std::string(state));
  }
  return Status::Ok();
}

Status Outbox::MarkSent(const std::string& id, const std::string& reply, int64_t now_us) {
  return Transition(id, NoticeState::kSent, reply, now_us);
}
Status Outbox::MarkFailed(const std::string& id, const std::string& reason, int64_t now_us) {
  return Transition(id, NoticeState::kFailed, reason, now_us);
}
Status Outbox::MarkUnknown(const std::string& id, const std::string& reason, int64_t now_us) {
  return Transition(id, NoticeState::kUnknown, reason, now_us, /*requeue=*/true);
}
Status Outbox::MarkRetry(const std::string& id, const std::string& reason, int64_t now_us) {
  return Transition(id, NoticeState::kPending, reason, now_us, /*requeue=*/true);
}

StatusOr<std::vector<OutboxEntry>> Outbox::List() {
  std::vector<OutboxEntry> out;
  Stmt st(db_, (std::string("SELECT ") + kColumns + " FROM notices ORDER BY seq").c_str());
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadEntry(st));
  if (rc != SQLITE_DONE) return Status::IOError(path_ + ": " + sqlite3_errmsg(db_));
  return out;
}

StatusOr<CampaignSummary> Outbox::Summary() {
  auto all = List();
  if (!all.ok()) return all.status();
  CampaignSummary s;
  for (OutboxEntry& e : *all) {
    ++s.total;
    switch (e.state) {
      case NoticeState::kPending:
        ++s.pending;
        if (!e.reason.empty()) s.retrying.push_back(std::move(e));
        break;
      case NoticeState::kSending: ++s.sending; break;
      case NoticeState::kSent: ++s.sent; break;
      case NoticeState::kFailed:
        ++s.failed;
        s.failed_notices.push_back(std::move(e));
        break;
      case NoticeState::kUnknown:
        ++s.unknown;
        s.unknown_notices.push_back(std::move(e));
        break;
    }
  }
  return s;
}

}  // namespace vg::notify
