// The outbox of one notice campaign (issue #6): a SQLite database (WAL, synchronous=FULL) with one row per
// notice, so a campaign survives a crash or Ctrl-C and re-running it sends every notice the mail server
// has not accepted, and never one it has.
//
//   pending ──claim──> sending ──server's final 250──> sent
//      ^                  │ ──permanent 5xx─────────> failed (reason kept)
//      └──transient──────┘ ──connection lost after the data went out──> unknown
//   a row still `sending` when an outbox is opened: the process died mid-transaction, the server may or may
//   not have the message -> unknown (listed; resent only when the caller asks: ClaimNext(true)).
//
// Every transition is a committed transaction before the function returns; Claim commits `sending` before
// the caller starts the SMTP transaction, so a crash can leave a notice `sending` (then unknown) but never
// `pending` after the server accepted it.
//
// Only one process may send a campaign at a time: a writable Outbox holds an exclusive lock (flock on
// <path>.lock) for its lifetime, and only that holder turns `sending` rows into unknown. A read-only Outbox
// (status) takes no lock and changes nothing, so it shows a live sender's current notice as `sending`.
//
// Thread-safety: one Outbox per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct sqlite3;

namespace vg::notify {

enum class NoticeState { kPending, kSending, kSent, kFailed, kUnknown };
std::string_view ToString(NoticeState s);

struct OutboxEntry {
  std::string notice_id;
  std::string subject;    // the data subject as the product identified them
  std::string recipient;  // the email address
  NoticeState state = NoticeState::kPending;
  int attempts = 0;       // SMTP transactions started
  std::string reason;     // the last failure (failed, unknown, or a transient error left pending)
  int64_t updated_us = 0;
};

struct CampaignSummary {
  uint64_t total = 0, pending = 0, sending = 0, sent = 0, failed = 0, unknown = 0;
  std::vector<OutboxEntry> failed_notices;   // with reasons
  std::vector<OutboxEntry> unknown_notices;  // fate unknown: listed, resent only when asked
  std::vector<OutboxEntry> retrying;         // pending with the reason of a transient failure
};

class Outbox {
 public:
  // Opens or creates the database at `path` (its directory must exist) and takes the sender's lock; rows
  // found `sending` become unknown (see recovered()). FailedPrecondition when another process holds the
  // lock; IOError names the path.
  [[nodiscard]] static StatusOr<std::unique_ptr<Outbox>> Open(const std::string& path, int64_t now_us);
  // Opens an existing outbox to read (Summary, List, GetMeta): no lock, no recovery, no writes.
  [[nodiscard]] static StatusOr<std::unique_ptr<Outbox>> OpenReadOnly(const std::string& path);
  ~Outbox();

  // Adds notices in one transaction. A subject that already has a notice is left alone (a campaign can be
  // prepared again after its contacts were fixed without changing what was already prepared).
  struct NewNotice {
    std::string notice_id, subject, recipient;
    std::string message;  // the signed RFC 5322 message
  };
  [[nodiscard]] Status Add(const std::vector<NewNotice>& notices, int64_t now_us, size_t* added = nullptr);
  [[nodiscard]] StatusOr<bool> HasSubject(const std::string& subject);

  // Campaign-wide values (sender address, incident id...).
  [[nodiscard]] Status SetMeta(const std::string& key, const std::string& value);
  [[nodiscard]] StatusOr<std::string> GetMeta(const std::string& key);  // "" when unset

  // The next notice to send, moved to `sending` durably (attempts + 1), with its message; nullopt when none
  // is left. `include_unknown`: unknown notices are claimed too (after every pending one).
  struct Claimed {
    OutboxEntry entry;
    std::string message;
  };
  // `max_seq`: only notices queued at or before that position (MaxSeq() when a run starts), so a notice sent
  // back by MarkRetry or MarkUnknown, which requeue it at the end, is not claimed again in the same run.
  [[nodiscard]] StatusOr<std::optional<Claimed>> ClaimNext(bool include_unknown, int64_t now_us,
                                                          int64_t max_seq = INT64_MAX);
  [[nodiscard]] StatusOr<int64_t> MaxSeq();

  [[nodiscard]] Status MarkSent(const std::string& notice_id, const std::string& reply, int64_t now_us);
  [[nodiscard]] Status MarkFailed(const std::string& notice_id, const std::string& reason, int64_t now_us);
  [[nodiscard]] Status MarkUnknown(const std::string& notice_id, const std::string& reason, int64_t now_us);
  // Not delivered, can be retried: back to pending, the reason kept for status.
  [[nodiscard]] Status MarkRetry(const std::string& notice_id, const std::string& reason, int64_t now_us);

  [[nodiscard]] StatusOr<CampaignSummary> Summary();
  [[nodiscard]] StatusOr<std::vector<OutboxEntry>> List();
  // Notices this Open found in `sending` and marked unknown.
  const std::vector<std::string>& recovered() const { return recovered_; }
  const std::string& path() const { return path_; }

 private:
  Outbox() = default;
  Status Exec(const char* sql);
  Status Transition(const std::string& id, NoticeState to, const std::string& reason, int64_t now_us,
                    bool requeue = false);
  sqlite3* db_ = nullptr;
  int lock_fd_ = -1;
  std::string path_;
  std::vector<std::string> recovered_;
};

}  // namespace vg::notify
