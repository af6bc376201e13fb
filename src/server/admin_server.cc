#include "server/admin_server.h"

#include "common/files.h"
#include "common/http_status.h"
#include "common/json_object.h"
#include "server/request_target.h"
#include "common/json_text.h"
#include "notify/notice.h"
#include "notify/notice_key.h"

#include <pwd.h>

#include <filesystem>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>

#include <simdjson.h>

#include "delivery/delivery.h"
#include "ledger/ledger.h"
#include "server/disclosure_ledger.h"
#include "spool/spool.h"

namespace vg {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_stream = net::local::stream_protocol;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr size_t kHeaderLimit = 8 * 1024;
// Admin requests carry no body (a small one is ignored), except ledger/erase's {"subject":...}: an
// identifier is at most 4 KiB in the ledger, and JSON escapes can make it up to six times longer.
constexpr size_t kBodyLimit = 32 * 1024;
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

// --- JSON output ---------------------------------------------------------------------------------------

std::string VendorJson(const VendorStatus& v) {
  JsonObject o;
  o.Str("name", v.name)
      .Str("state", VendorStateName(v.state))
      .Bool("shadow", v.shadow)
      .UInt("accepted", v.accepted)
      .UInt("delivered", v.delivered)
      .UInt("retries", v.retries)
      .UInt("splits", v.splits)
      .UInt("connections", v.connections)
      .UInt("in_flight", v.in_flight)
      .UInt("dead_lettered", v.dead_lettered)
      .UInt("discarded", v.discarded)
      .UInt("pending", v.pending)
      .UInt("pending_bytes", v.pending_bytes)
      .Num("oldest_pending_age_s", v.oldest_pending_age_s)
      .Num("delivered_per_s", v.delivered_per_s)
      .Num("accepted_per_s", v.accepted_per_s)
      .UInt("dead_letters", v.dead_letters_in_file);
  if (v.last_error.empty()) {
    o.Null("last_error");
  } else {
    o.Str("last_error", v.last_error);
  }
  if (v.last_error_unix_s == 0) {
    o.Null("last_error_at");
  } else {
    o.Int("last_error_at", v.last_error_unix_s);
  }
  return o.Finish();
}

std::string SpoolJson(const SpoolStats& s) {
  std::vector<std::string> vendors;
  for (const auto& v : s.vendors) {
    vendors.push_back(JsonObject()
                          .Str("vendor", v.vendor)
                          .UInt("acked_seq", v.acked_seq)
                          .UInt("pending_records", v.pending_records)
                          .UInt("pending_bytes", v.pending_bytes)
                          .Int("oldest_accept_unix_us", v.oldest_accept_unix_us)
                          .Finish());
  }
  return JsonObject()
      .UInt("disk_bytes", s.disk_bytes)
      .UInt("backlog_bytes", s.backlog_bytes)
      .UInt("quota_bytes", s.quota_bytes)
      .UInt("segments", s.segments)
      .UInt("last_seq", s.last_seq)
      .UInt("appended_units", s.appended_units)
      .UInt("appended_records", s.appended_records)
      .UInt("write_batches", s.write_batches)
      .UInt("fsyncs", s.fsyncs)
      .UInt("refused_quota", s.refused_quota)
      .UInt("refused_backlog", s.refused_backlog)
      .UInt("failed_units", s.failed_units)
      .UInt("segments_deleted", s.segments_deleted)
      .Bool("failed", s.failed)
      .Raw("vendors", JsonArray(vendors))
      .Finish();
}

// --- Responses -----------------------------------------------------------------------------------------

AdminResponse Json(unsigned status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  r.body.push_back('\n');
  return r;
}

AdminResponse Error(unsigned status, std::string_view message) {
  return Json(status, JsonObject().Str("error", message).Finish());
}

AdminResponse ErrorFromStatus(const Status& s) { return Error(HttpStatusOf(s), s.message()); }

AdminResponse MethodNotAllowed(std::string_view method, std::string_view path, std::string_view allow) {
  AdminResponse r =
      Error(405, std::string(method) + " is not allowed on " + std::string(path) + " (use " + std::string(allow) + ")");
  r.allow = std::string(allow);
  return r;
}

constexpr std::string_view kRoutes =
    "GET /v1/vendors, GET /v1/vendors/NAME, POST /v1/vendors/NAME/pause|resume|cut|redrive, "
    "GET /v1/vendors/NAME/dead-letters, GET /v1/spool, GET /v1/notices/ID, "
    "GET /.well-known/vendorguard/notice-key.pem, POST /v1/ledger/erase";

// --- Request target ------------------------------------------------------------------------------------

using Target = RequestTarget;

// Rejects query parameters other than `known` (a typo must not be silently ignored).
Status CheckQuery(const Target& t, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : t.query) {
    bool ok = false;
    for (auto k : known) ok = ok || key == k;
    if (!ok) {
      std::string names;
      for (auto k : known) names += (names.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidArgument(
          "unknown query parameter '" + key + "'" +
          (names.empty() ? std::string(" (this route takes none)") : " (known: " + names + ")"));
    }
  }
  return Status::Ok();
}

std::string PeerText(const AdminPeer& peer) {
  if (!peer.actor.empty()) return peer.actor;
  if (!peer.known) return "an unknown peer";
  return "uid " + std::to_string(peer.uid) + ", pid " + std::to_string(peer.pid);
}

// Who did it, for the ledger's admin record: the peer's user (by name when the system knows it) and pid.
std::string PeerActor(const AdminPeer& peer) {
  if (!peer.actor.empty()) return peer.actor;
  if (!peer.known) return "admin socket (unknown peer)";
  std::string user = "uid " + std::to_string(peer.uid);
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(peer.uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr && pw.pw_name != nullptr) {
    user = std::string(pw.pw_name) + " (" + user + ")";
  }
  return user + ", pid " + std::to_string(peer.pid) + " via the admin socket";
}

std::string UnknownVendor(const Delivery& d, std::string_view name) {
  std::string names;
  for (const auto& v : d.List()) names += (names.empty() ? "" : ", ") + v.name;
  return "unknown vendor '" + std::string(name) + "' (configured: " + names + ")";
}

// Pause/Resume's FailedPrecondition, said the same way whatever Delivery's wording: "already <state>"
// when the vendor is in the state asked for.
AdminResponse StateConflict(const Delivery& d, std::string_view name, VendorState wanted, const Status& s) {
  auto now = d.Get(name);
  if (now.ok() && now->state == wanted) {
    return Error(409, "vendor '" + std::string(name) + "' is already " + std::string(VendorStateName(wanted)));
  }
  return ErrorFromStatus(s);
}

AdminResponse VendorAction(Delivery& d, const std::string& name, std::string_view action, const AdminPeer& peer) {
  if (action == "pause" || action == "resume") {
    VendorState wanted = action == "pause" ? VendorState::kPaused : VendorState::kActive;
    Status s = action == "pause" ? d.Pause(name, PeerActor(peer)) : d.Resume(name, PeerActor(peer));
    if (!s.ok()) {
      if (s.code() == Status::Code::kFailedPrecondition) return StateConflict(d, name, wanted, s);
      spdlog::warn("admin: {} of vendor {} failed ({}): {}", action, name, PeerText(peer), s.message());
      return ErrorFromStatus(s);
    }
    spdlog::info("admin: vendor {} {} by {}", name, action == "pause" ? "paused" : "resumed", PeerText(peer));
    return Json(200, JsonObject().Str("vendor", name).Str("state", VendorStateName(wanted)).Finish());
  }
  if (action == "cut") {
    auto discarded = d.Cut(name, PeerActor(peer));
    if (!discarded.ok()) {
      if (discarded.status().code() == Status::Code::kFailedPrecondition) {
        return StateConflict(d, name, VendorState::kCut, discarded.status());
      }
      spdlog::warn("admin: cut of vendor {} failed ({}): {}", name, PeerText(peer), discarded.status().message());
      return ErrorFromStatus(discarded.status());
    }
    spdlog::info("admin: vendor {} cut by {}: nothing more is sent to it, {} queued event(s) discarded", name,
                 PeerText(peer), *discarded);
    return Json(200, JsonObject()
                         .Str("vendor", name)
                         .Str("state", VendorStateName(VendorState::kCut))
                         .UInt("discarded", *discarded)
                         .Finish());
  }
  // redrive
  auto redriven = d.Redrive(name, PeerActor(peer));
  if (!redriven.ok()) {
    spdlog::warn("admin: redrive of vendor {} failed ({}): {}", name, PeerText(peer), redriven.status().message());
    return ErrorFromStatus(redriven.status());
  }
  spdlog::info("admin: {} dead letter(s) of vendor {} re-driven by {}", *redriven, name, PeerText(peer));
  return Json(200, JsonObject().Str("vendor", name).UInt("redriven", *redriven).Finish());
}

AdminResponse DeadLetterList(Delivery& d, const std::string& name, const Target& t) {
  if (Status s = CheckQuery(t, {"limit", "data"}); !s.ok()) return Error(400, s.message());
  size_t limit = 100;
  bool with_data = false;
  for (const auto& [key, value] : t.query) {
    if (key == "limit") {
      uint64_t n = 0;
      auto r = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || r.ec != std::errc() || r.ptr != value.data() + value.size()) {
        return Error(400, "limit must be a non-negative integer (0 = all), not '" + value + "'");
      }
      limit = static_cast<size_t>(n);
    } else {
      if (value == "1" || value == "true" || value.empty()) {
        with_data = true;
      } else if (value == "0" || value == "false") {
        with_data = false;
      } else {
        return Error(400, "data must be 1 or 0, not '" + value + "'");
      }
    }
  }
  auto letters = d.DeadLetters(name, limit, with_data);
  if (!letters.ok()) return ErrorFromStatus(letters.status());
  std::vector<std::string> items;
  items.reserve(letters->size());
  for (const DeadLetter& l : *letters) {
    JsonObject o;
    o.UInt("seq", l.seq).Str("endpoint", l.endpoint).Int("http_status", l.http_status).Str("reason", l.reason);
    o.Int("at", l.at_unix_s);
    if (with_data) o.Str("data", l.data);
    items.push_back(o.Finish());
  }
  return Json(200,
              JsonObject().Str("vendor", name).UInt("count", items.size()).Raw("items", JsonArray(items)).Finish());
}

}  // namespace

// "j***@example.com": enough for a person to recognise their address, not enough to harvest it.
std::string MaskEmail(std::string_view email) {
  const size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0) return "***";
  return std::string(email.substr(0, 1)) + "***" + std::string(email.substr(at));
}

bool IsNoticeId(std::string_view id) {
  if (id.size() != 12 || id.substr(0, 2) != "N-") return false;
  for (char c : id.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

AdminResponse NoticeRoute(const AdminNotices* notices, const Target& t, std::string_view method) {
  const auto& seg = t.segments;
  if (method != "GET") return MethodNotAllowed(method, t.path, "GET");
  if (Status s = CheckQuery(t, {}); !s.ok()) return Error(400, s.message());
  if (notices == nullptr) return Error(404, "notices are not served by this gateway");
  auto pem = ReadWholeFile(notify::NoticeKey::PublicKeyPath(notices->data_dir));
  if (seg[0] == ".well-known") {
    if (!pem.ok()) return Error(404, "no notice key yet (it is created by the first `incident notify`)");
    AdminResponse r;
    r.body = *pem;
    r.content_type = "application/x-pem-file";
    return r;
  }
  const std::string& id = seg[2];
  if (!IsNoticeId(id)) return Error(404, "no notice '" + id + "' (notice ids look like N-7K3M9Q2X4D)");
  std::error_code ec;
  const std::string root = notices->data_dir + "/incidents";
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string file = entry.path().string() + "/notices/" + id + ".eml";
    auto bytes = ReadWholeFile(file);
    if (!bytes.ok()) continue;
    if (!pem.ok()) return ErrorFromStatus(pem.status());
    auto key = notify::NoticePublicKey::FromPem(*pem);
    if (!key.ok()) return ErrorFromStatus(key.status());
    const notify::NoticeVerification v = notify::VerifyNotice(*bytes, *key, notices->issuer);
    return Json(200, JsonObject()
                         .Str("notice_id", id)
                         .Str("incident", entry.path().filename().string())
                         .Bool("genuine", v.genuine())
                         .Str("verdict", notify::ToString(v.verdict))
                         .Str("reason", v.reason)
                         .Str("issuer", v.issuer)
                         .Str("subject", v.subject)
                         .Str("recipient", MaskEmail(v.recipient))
                         .Str("key_id", v.key_id)
                         .Finish());
  }
  return Error(404, "no notice '" + id + "' was issued by this gateway");
}

// POST /v1/ledger/erase with {"subject":"..."}: a deletion request (see the header comment). The
// identifier itself is never logged: only its keyed hash, which the ledger keeps anyway.
AdminResponse LedgerErase(DisclosureLedger* ledger, const Target& t, std::string_view method, std::string_view body,
                          const AdminPeer& peer) {
  if (method != "POST") return MethodNotAllowed(method, t.path, "POST");
  if (Status s = CheckQuery(t, {}); !s.ok()) return Error(400, s.message());
  if (ledger == nullptr) return Error(503, "this gateway runs without a disclosure ledger");
  constexpr std::string_view kShape = "the body must be a JSON object {\"subject\":\"IDENTIFIER\"}";
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::object obj;
  if (parser.parse(padded).get_object().get(obj) != simdjson::SUCCESS) {
    return Error(400, std::string(body.empty() ? "no body: " : "not a JSON object: ") + std::string(kShape));
  }
  std::optional<std::string_view> subject;
  for (auto field : obj) {
    if (field.key != "subject") {
      return Error(400, "unknown key '" + std::string(field.key) + "' in the body: " + std::string(kShape));
    }
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) {
      return Error(400, "'subject' must be a string: " + std::string(kShape));
    }
    subject = value;
  }
  if (!subject) return Error(400, "'subject' is missing: " + std::string(kShape));
  if (subject->empty()) return Error(400, "'subject' is empty: " + std::string(kShape));
  auto erased = ledger->Erase(*subject, PeerActor(peer));
  if (!erased.ok()) {
    spdlog::warn("admin: ledger erasure ({}) failed: {}", PeerText(peer), erased.status().message());
    // A closed ledger (shutting down) is not the 409 that means "already erased".
    if (erased.status().code() == Status::Code::kFailedPrecondition) return Error(503, erased.status().message());
    return ErrorFromStatus(erased.status());
  }
  switch (erased->outcome) {
    case ErasureOutcome::kNoRecords:
      return Error(404, "the ledger holds no records about this identifier");
    case ErasureOutcome::kAlreadyErased:
      return Error(409, "this identifier was already erased from the ledger (its records remain, as the accounting "
                        "of disclosures)");
    case ErasureOutcome::kErased:
      break;
  }
  const ledger::EraseResult& r = erased->result;
  spdlog::info("admin: ledger erasure by {}: the identifier with keyed hash {} was removed from {} segment name "
               "table(s){}",
               PeerText(peer), ledger::SubjectHashHex(r.subject_hash), r.segments,
               r.sealed_active ? " (the active segment was sealed first)" : "");
  return Json(200, JsonObject()
                       .Bool("subject_erased", true)
                       .UInt("segments_rewritten", r.segments)
                       .Bool("sealed_active", r.sealed_active)
                       .Str("subject_hash", ledger::SubjectHashHex(r.subject_hash))
                       .Finish());
}

AdminResponse HandleAdminRequest(Delivery& delivery, std::string_view method, std::string_view target,
                                 const AdminPeer& peer, const AdminNotices* notices, DisclosureLedger* ledger,
                                 std::string_view body) {
  auto parsed = ParseRequestTarget(target);
  if (!parsed.ok()) return Error(400, parsed.status().message());
  const Target& t = *parsed;
  const auto& seg = t.segments;
  bool get = method == "GET";
  bool post = method == "POST";
  if ((seg.size() == 3 && seg[0] == "v1" && seg[1] == "notices") ||
      (seg.size() == 3 && seg[0] == ".well-known" && seg[1] == "vendorguard" && seg[2] == "notice-key.pem")) {
    return NoticeRoute(notices, t, method);
  }
  if (seg.size() == 3 && seg[0] == "v1" && seg[1] == "ledger" && seg[2] == "erase") {
    return LedgerErase(ledger, t, method, body, peer);
  }
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "spool" && seg.size() == 2) {
    if (!get) return MethodNotAllowed(method, t.path, "GET");
    if (Status s = CheckQuery(t, {}); !s.ok()) return Error(400, s.message());
    return Json(200, SpoolJson(delivery.SpoolStatistics()));
  }
  if (seg.size() < 2 || seg.size() > 4 || seg[0] != "v1" || seg[1] != "vendors") {
    return Error(404, "unknown route " + t.path + " (routes: " + std::string(kRoutes) + ")");
  }
  if (seg.size() == 2) {
    if (!get) return MethodNotAllowed(method, t.path, "GET");
    if (Status s = CheckQuery(t, {}); !s.ok()) return Error(400, s.message());
    std::vector<std::string> vendors;
    for (const VendorStatus& v : delivery.List()) vendors.push_back(VendorJson(v));
    return Json(200, JsonObject().Raw("vendors", JsonArray(vendors)).Finish());
  }
  const std::string& name = seg[2];
  std::string_view action = seg.size() == 4 ? std::string_view(seg[3]) : std::string_view();
  bool is_post_action = action == "pause" || action == "resume" || action == "cut" || action == "redrive";
  if (seg.size() == 4 && !is_post_action && action != "dead-letters") {
    return Error(404, "unknown route " + t.path + " (routes: " + std::string(kRoutes) + ")");
  }
  if (is_post_action ? !post : !get) return MethodNotAllowed(method, t.path, is_post_action ? "POST" : "GET");
  if (!delivery.VendorId(name)) return Error(404, UnknownVendor(delivery, name));
  if (action == "dead-letters") return DeadLetterList(delivery, name, t);
  if (Status s = CheckQuery(t, {}); !s.ok()) return Error(400, s.message());
  if (is_post_action) return VendorAction(delivery, name, action, peer);
  auto v = delivery.Get(name);
  if (!v.ok()) {
    if (v.status().code() == Status::Code::kNotFound) return Error(404, UnknownVendor(delivery, name));
    return ErrorFromStatus(v.status());
  }
  return Json(200, VendorJson(*v));
}

// --- Transport -----------------------------------------------------------------------------------------

class AdminSession;

struct AdminServer::Shared {
  Shared(net::io_context& ioc, Delivery& d, std::string p)
      : delivery(d), path(std::move(p)), strand(net::make_strand(ioc)), acceptor(strand) {}

  Delivery& delivery;
  const std::string path;
  std::optional<AdminNotices> notices;
  DisclosureLedger* ledger = nullptr;
  net::strand<net::io_context::executor_type> strand;  // the acceptor's
  unix_stream::acceptor acceptor;
  dev_t socket_dev = 0;  // the socket file this server created, so Stop removes only that one
  ino_t socket_ino = 0;
  uid_t owner_uid = 0;           // the gateway's effective uid
  net::thread_pool commands{1};  // runs the Delivery calls, one at a time, off the io threads

  std::mutex mu;
  bool stopped = false;
  std::list<std::weak_ptr<AdminSession>> sessions;

  void Accept(std::shared_ptr<Shared> self);
};

namespace {

AdminPeer PeerOf(unix_stream::socket& socket) {
  AdminPeer peer;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred) {
    peer.known = true;
    peer.uid = cred.uid;
    peer.pid = cred.pid;
  }
  return peer;
}

}  // namespace

class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(unix_stream::socket&& socket, std::shared_ptr<AdminServer::Shared> shared)
      : peer_(PeerOf(socket)), stream_(std::move(socket)), shared_(std::move(shared)) {
    // The socket file's mode already keeps others out; this guards against it being loosened.
    allowed_ = peer_.known && (peer_.uid == 0 || peer_.uid == shared_->owner_uid);
    if (!allowed_) {
      spdlog::warn("admin: refusing a connection from {}: not the gateway's user (uid {}) or root", PeerText(peer_),
                   shared_->owner_uid);
    }
  }

  void Start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&AdminSession::Read, shared_from_this()));
  }

  // Ends the connection once no request is in flight.
  void Close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->DoClose();
    });
  }

 private:
  void Read() {
    if (closing_) return DoClose();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kIdleTimeout);
    busy_ = false;
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&AdminSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != net::error::operation_aborted &&
          ec != net::error::eof && ec != net::error::connection_reset) {
        // A malformed request: answer once, then close.
        busy_ = true;
        return Write(Error(400, "malformed HTTP request: " + ec.message()), false, 11);
      }
      return DoClose();
    }
    busy_ = true;
    stream_.expires_never();  // a command may take a while (a cut waits for an in-flight request)
    const auto& req = parser_->get();
    bool keep_alive = req.keep_alive();
    unsigned version = req.version();
    if (!allowed_) {
      return Write(Error(403, "permission denied: " + PeerText(peer_) + " is not the gateway's user (uid " +
                                  std::to_string(shared_->owner_uid) + ")"),
                   false, version);
    }
    std::string method(req.method_string());
    std::string target(req.target());
    std::string body = req.body();
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (shared_->stopped) return Write(Error(503, "the gateway is shutting down"), false, version);
      // The work guard keeps the io_context running until the answer is written, so a shutdown that
      // starts meanwhile still answers the command it ran.
      net::post(
          shared_->commands, [self = shared_from_this(), method = std::move(method), target = std::move(target),
                              body = std::move(body), work = net::make_work_guard(stream_.get_executor()),
                              keep_alive, version]() mutable {
            AdminResponse resp = HandleAdminRequest(self->shared_->delivery, method, target, self->peer_,
                                                    self->shared_->notices ? &*self->shared_->notices : nullptr,
                                                    self->shared_->ledger, body);
            auto executor = self->stream_.get_executor();
            net::post(executor,
                      [self = std::move(self), resp = std::move(resp), work = std::move(work), keep_alive,
                       version]() mutable { self->Write(std::move(resp), keep_alive && !self->closing_, version); });
          });
    }
  }

  void Write(AdminResponse resp, bool keep_alive, unsigned version) {
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(static_cast<http::status>(resp.status));
    res_.set(http::field::server, "vendorguard");
    res_.set(http::field::content_type, resp.content_type);
    if (!resp.allow.empty()) res_.set(http::field::allow, resp.allow);
    res_.body() = std::move(resp.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&AdminSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    busy_ = false;
    if (ec || !res_.keep_alive() || closing_) return DoClose();
    Read();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(unix_stream::socket::shutdown_send, ec);
    stream_.close();
  }

  AdminPeer peer_;
  bool allowed_ = false;
  beast::basic_stream<unix_stream> stream_;
  std::shared_ptr<AdminServer::Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool busy_ = false;  // a request is being answered
  bool closing_ = false;
};

void AdminServer::Shared::Accept(std::shared_ptr<Shared> self) {
  auto& ioc = static_cast<net::io_context&>(strand.context());
  acceptor.async_accept(net::make_strand(ioc), [self](beast::error_code ec, unix_stream::socket socket) {
    if (ec) {
      if (!self->acceptor.is_open() || ec == net::error::operation_aborted) return;
      spdlog::warn("admin: accept on {} failed: {}", self->path, ec.message());
    } else {
      auto session = std::make_shared<AdminSession>(std::move(socket), self);
      {
        std::lock_guard<std::mutex> lock(self->mu);
        if (self->stopped) return;
        self->sessions.remove_if([](const std::weak_ptr<AdminSession>& w) { return w.expired(); });
        self->sessions.push_back(session);
      }
      session->Start();
    }
    self->Accept(self);
  });
}

AdminServer::AdminServer(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

AdminServer::~AdminServer() {
  Stop();
  // Waits for a command in progress; later requests are refused, since `stopped` is set.
  shared_->commands.join();
}

const std::string& AdminServer::path() const { return shared_->path; }

StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(net::io_context& ioc, const std::string& path,
                                                          Delivery& delivery, std::optional<AdminNotices> notices,
                                                          DisclosureLedger* ledger) {
  if (path.empty()) return Status::InvalidArgument("admin socket path is empty");
  if (path.size() > kMaxSocketPath) {
    return Status::InvalidArgument("admin socket path is too long for a Unix socket (" + std::to_string(path.size()) +
                                   " bytes, at most " + std::to_string(kMaxSocketPath) + "): " + path +
                                   "; set admin_socket to a shorter path");
  }
  auto shared = std::make_shared<Shared>(ioc, delivery, path);
  shared->notices = std::move(notices);
  shared->ledger = ledger;
  shared->owner_uid = geteuid();
  beast::error_code ec;
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::FailedPrecondition("admin socket path " + path + " exists and is not a socket; not replacing it");
    }
    // A socket file: another gateway's, or a stale one left by a crash. Ask it.
    unix_stream::socket probe(ioc);
    probe.open(unix_stream(), ec);
    if (!ec) probe.non_blocking(true, ec);  // a full backlog must not block the start
    if (!ec) probe.connect(unix_stream::endpoint(path), ec);
    if (!ec || ec == net::error::would_block || ec == net::error::try_again) {
      return Status::Unavailable("another gateway is answering on the admin socket " + path +
                                 " (is one already running with this data_dir?)");
    }
    if (ec != net::error::connection_refused) {
      return Status::IOError("cannot check the existing admin socket " + path + ": " + ec.message());
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::IOError("cannot remove the stale admin socket " + path + ": " + std::strerror(errno));
    }
    spdlog::info("admin: removed the stale socket file {}", path);
  } else if (errno != ENOENT) {
    return Status::IOError("cannot check the admin socket path " + path + ": " + std::strerror(errno));
  }

  shared->acceptor.open(unix_stream(), ec);
  if (ec) return Status::IOError("cannot create the admin socket: " + ec.message());
  // The file gets the process's umask at bind; a restrictive one closes the window before chmod. (The
  // umask is process-wide: a file another thread creates meanwhile comes out 0600, never more open.)
  mode_t old_mask = umask(0177);
  shared->acceptor.bind(unix_stream::endpoint(path), ec);
  umask(old_mask);
  if (ec) return Status::IOError("cannot bind the admin socket " + path + ": " + ec.message());
  auto fail = [&](std::string what) -> Status {
    int err = errno;
    beast::error_code ignored;
    shared->acceptor.close(ignored);
    unlink(path.c_str());
    return Status::IOError(what + " " + path + ": " + std::strerror(err));
  };
  if (chmod(path.c_str(), 0600) != 0) return fail("cannot chmod 0600 the admin socket");
  if (stat(path.c_str(), &st) != 0) return fail("cannot stat the admin socket");
  shared->socket_dev = st.st_dev;
  shared->socket_ino = st.st_ino;
  shared->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    errno = ec.value();
    return fail("cannot listen on the admin socket");
  }
  net::dispatch(shared->strand, [shared] { shared->Accept(shared); });
  spdlog::info("admin API listening on unix:{} (mode 0600, uid {})", path, shared->owner_uid);
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(shared)));
}

void AdminServer::Stop() {
  std::list<std::weak_ptr<AdminSession>> sessions;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->stopped) return;
    shared_->stopped = true;
    sessions.swap(shared_->sessions);
  }
  // Remove the file first: nobody can connect any more, even if the io_context no longer runs.
  struct stat st {};
  if (lstat(shared_->path.c_str(), &st) == 0 && st.st_dev == shared_->socket_dev && st.st_ino == shared_->socket_ino) {
    unlink(shared_->path.c_str());
  }
  net::dispatch(shared_->strand, [shared = shared_] {
    beast::error_code ec;
    shared->acceptor.close(ec);
  });
  for (auto& w : sessions) {
    if (auto s = w.lock()) s->Close();
  }
  spdlog::info("admin API on unix:{} stopped", shared_->path);
}

}  // namespace vg
