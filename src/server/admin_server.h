// The admin API (issue #4): the kill switch and delivery status over HTTP/1.1 on a Unix socket, for
// `vendorguard vendor ...`. Only local callers reach it, and only those the socket file's permissions let
// in: it is created with mode 0600, so only the gateway's user (and root) can connect. As a second
// guard, a connection whose peer (SO_PEERCRED) is neither the gateway's user nor root gets 403.
//
// Routes (JSON in and out; requests carry no body, except ledger/erase's):
//   GET  /v1/vendors                          {"vendors":[VENDOR...]}
//   GET  /v1/vendors/NAME                     VENDOR
//   POST /v1/vendors/NAME/pause|resume|cut    {"vendor":NAME,"state":"paused"} (cut adds "discarded":N)
//   GET  /v1/vendors/NAME/dead-letters?limit=N&data=1
//                                             {"vendor":NAME,"count":N,"items":[{seq,endpoint,http_status,
//                                              reason,at,data?}]}   (data: the event JSON, as a string)
//   POST /v1/vendors/NAME/redrive             {"vendor":NAME,"redriven":N}
//   GET  /v1/spool                            the spool's statistics
//   GET  /v1/notices/ID                       a breach notice (issue #6) by its id: whether the copy on
//                                             record verifies as genuine, its incident, subject line,
//                                             recipient (masked), key id
//   GET  /.well-known/vendorguard/notice-key.pem   the public key notices are signed with (PEM)
//   POST /v1/ledger/erase                     body {"subject":"ID"}: a deletion request; removes the
//                                             identifier's plaintext from the disclosure ledger (see
//                                             ledger.h: its keyed hash, categories, vendors and times stay)
//                                             {"subject_erased":true,"segments_rewritten":N,
//                                              "sealed_active":bool,"subject_hash":HEX}; 400 a body that is
//                                             not such an object (missing, empty or non-string subject,
//                                             other keys, bad JSON), 404 the ledger holds no records about
//                                             the identifier, 409 it was already erased (and nothing was
//                                             recorded about it since), 503 the gateway runs without a
//                                             ledger. The erase record's actor is the peer (as for cut).
// where VENDOR = {name,state,shadow,accepted,delivered,retries,dead_lettered,discarded,pending,
// pending_bytes,oldest_pending_age_s,delivered_per_s,accepted_per_s,dead_letters,last_error,last_error_at}
// (last_error and last_error_at are null when there was none).
// Errors are {"error":"..."}: 400 bad path encoding or query, 403 peer not allowed, 404 unknown vendor
// (naming the configured ones) or route, 405 wrong method (with Allow), 409 the vendor is already in that
// state, 500 the state file or spool failed, 503 unavailable (e.g. shutting down).
// Every state change (pause, resume, cut, redrive, erase) is logged at info with the vendor and the caller's
// uid and pid (an erasure with the keyed hash only, never the identifier).
//
// Thread-safety: Stop may be called from any thread, and is idempotent. The Delivery calls run on one
// admin thread of the server's own, never on the io_context's threads (a cut may wait up to a second for
// an in-flight request), so admin commands are executed one at a time. The Delivery must outlive the
// server (and so must the DisclosureLedger), and the server must be destroyed before the io_context.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace vg {

class Delivery;
class DisclosureLedger;

// Who is calling, from SO_PEERCRED; `known` is false when the kernel did not say.
struct AdminPeer {
  bool known = false;
  uid_t uid = 0;
  pid_t pid = 0;
  // Set by the HTTP admin API (issue #7): the account acting, recorded instead of the socket peer.
  std::string actor;
};

struct AdminResponse {
  unsigned status = 200;
  std::string body;   // JSON, ending in a newline
  std::string allow;  // the Allow header of a 405
  std::string content_type = "application/json";
};

// Where the notice routes find notices and the notice key; without one they answer 404.
struct AdminNotices {
  std::string data_dir;  // notices: <data_dir>/incidents/*/notices/<id>.eml; key: <data_dir>/keys/notice.pub
  std::string issuer;    // the organization's domain a genuine notice names
};

// The router, independent of the transport: answers one request. `target` is the request target
// (path and query), `body` the request body (ignored by every route but ledger/erase). Calls into
// `delivery` (and `ledger`: null when the gateway runs without one) and may block for as long as those
// calls do.
AdminResponse HandleAdminRequest(Delivery& delivery, std::string_view method, std::string_view target,
                                 const AdminPeer& peer, const AdminNotices* notices = nullptr,
                                 DisclosureLedger* ledger = nullptr, std::string_view body = {});

class AdminServer {
 public:
  // Listens on a Unix socket at `path` and serves the admin API on `ioc` (which the caller runs). The
  // socket file is created with mode 0600 (umask around bind, then chmod). A stale socket file (nobody
  // answering) is replaced; errors: InvalidArgument (path empty or longer than a Unix socket path may be),
  // FailedPrecondition (`path` exists and is not a socket), Unavailable (another gateway answers on it),
  // IOError (bind, chmod or listen failed).
  // `ledger` (may be null: the ledger route answers 503) must outlive the server, like the Delivery.
  [[nodiscard]] static StatusOr<std::unique_ptr<AdminServer>> Start(boost::asio::io_context& ioc,
                                                                    const std::string& path, Delivery& delivery,
                                                                    std::optional<AdminNotices> notices = std::nullopt,
                                                                    DisclosureLedger* ledger = nullptr);
  ~AdminServer();  // Stop(), then waits for an admin command in progress to finish

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Closes the acceptor and the open connections, and removes the socket file (if it is still the one
  // this server created). Idempotent; any thread.
  void Stop();

  const std::string& path() const;

  struct Shared;

 private:
  explicit AdminServer(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
};

}  // namespace vg
