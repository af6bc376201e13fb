#include "server/gateway.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <list>
#include <mutex>
#include <thread>

#include "admin/admin_api.h"
#include "admin/admin_http.h"
#include "auth/account_store.h"
#include "crypto/pseudonymizer.h"
#include "delivery/delivery.h"
#include "geo/geo_locator.h"
#include "pii/scanner.h"
#include "server/admin_server.h"
#include "server/disclosure_ledger.h"
#include "server/ingest_handler.h"
#include "server/metrics.h"
#include "common/thread_name.h"
#include "common/time_text.h"

namespace vg {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);

// Tests only: VENDORGUARD_TEST_CLOCK_FILE names a file holding the time the gateway takes for "now"
// (accept and disclosure times, the ledger's tree heads), as an ISO 8601 UTC time
// ("2025-11-09T10:00:00Z") or microseconds since the Unix epoch. It is read at every use, so a test can
// move time by rewriting it. Unset (always in production): the system clock.
std::function<int64_t()> TestClockFromEnvironment() {
  const char* path = std::getenv("VENDORGUARD_TEST_CLOCK_FILE");
  if (path == nullptr || *path == '\0') return nullptr;
  spdlog::warn("VENDORGUARD_TEST_CLOCK_FILE is set: the gateway's clock is read from {} (for tests only)", path);
  return [file = std::string(path)]() -> int64_t {
    const auto system_now = SystemNowUs;
    std::ifstream in(file);
    std::string text;
    if (!(in >> text)) return system_now();
    if (text.find_first_not_of("0123456789") == std::string::npos) return std::stoll(text);
    std::tm tm{};
    if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return system_now();
    return static_cast<int64_t>(::timegm(&tm)) * 1'000'000;
  };
}
constexpr size_t kHeaderLimit = 16 * 1024;
// The read buffer of a connection. Beast reads at most the buffer's free capacity (at least 512 bytes),
// and the body parser consumes what it reads, so a buffer left at its initial size reads a 64 KB batch
// in ~130 recvmsg calls of 512 bytes (15 % of the gateway's CPU in bench/http_bench.sh); 32 KiB makes it
// two or three (held per open connection: 32 MiB for a thousand keep-alive connections).
constexpr size_t kReadBuffer = 32 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const IngestHandler& handler, size_t body_limit, HttpMetrics& metrics)
      : stream_(std::move(socket)), handler_(handler), body_limit_(body_limit), metrics_(metrics) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      auto addr = ep.address();
      if (addr.is_v4()) {
        auto b = addr.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), peer_.bytes.begin());
      } else {
        peer_.v6 = true;
        auto b = addr.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), peer_.bytes.begin());
        peer_ = peer_.Unmapped();
      }
    }
  }

  void Start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

  // Ends the connection once no request is in flight.
  void Close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->writing_ && !self->busy_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void Read() {
    if (closing_) return DoClose();
    parser_.emplace();
    buffer_.reserve(kReadBuffer);
    parser_->header_limit(kHeaderLimit);
    // Read a little past the limit so an oversized body is recognized as such (413), then close.
    parser_->body_limit(body_limit_);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted) {
      return DoClose();
    }
    started_ = std::chrono::steady_clock::now();
    const auto& req = parser_->get();
    HttpRequestView view;
    view.method = std::string_view(req.method_string().data(), req.method_string().size());
    view.target = std::string_view(req.target().data(), req.target().size());
    auto header = [&](http::field f) {
      auto it = req.find(f);
      return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
    };
    view.content_type = header(http::field::content_type);
    view.content_encoding = header(http::field::content_encoding);
    view.origin = header(http::field::origin);
    view.access_control_request_headers = header(http::field::access_control_request_headers);
    auto named = [&](std::string_view name) {
      auto it = req.find(beast::string_view(name.data(), name.size()));
      return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
    };
    // Several X-Forwarded-For lines are one list, in order (RFC 9110 section 5.3).
    std::string forwarded_for;
    for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for.append(it->value().data(), it->value().size());
    }
    view.x_forwarded_for = forwarded_for;
    view.x_real_ip = named("X-Real-IP");
    view.peer = peer_;
    HttpResponse resp;
    bool keep_alive = req.keep_alive();
    if (ec == http::error::body_limit) {
      resp = handler_.TooLarge(view);
      keep_alive = false;
    } else if (ec) {
      if (ec != net::error::eof && ec != net::error::connection_reset) {
        spdlog::warn("malformed HTTP request from {}: {}", peer_.ToString(), ec.message());
        resp.status = 400;
        resp.body = "0";
        keep_alive = false;
      } else {
        return DoClose();
      }
    } else {
      view.body = std::string_view(req.body().data(), req.body().size());
      // Answered now, or once the events are durable (from the spool's writer thread): back onto this
      // connection's strand either way. The work guard keeps the io_context running until then, so a
      // drain on shutdown waits for accepted requests to be answered.
      busy_ = true;
      const unsigned version = req.version();
      handler_.Handle(view, [self = shared_from_this(), keep_alive, version,
                             guard = net::make_work_guard(stream_.get_executor())](HttpResponse r) mutable {
        net::dispatch(self->stream_.get_executor(), [self, keep_alive, version, r = std::move(r)]() mutable {
          self->busy_ = false;
          self->Write(std::move(r), keep_alive && !self->closing_, version);
        });
        guard.reset();
      });
      return;
    }
    Write(std::move(resp), keep_alive && !closing_, req.version());
  }

  void Write(HttpResponse resp, bool keep_alive, unsigned version) {
    metrics_.Observe(resp.status,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(static_cast<http::status>(resp.status));
    res_.set(http::field::server, "vendorguard");
    if (resp.status != 204) res_.set(http::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers) res_.set(k, v);
    res_.body() = std::move(resp.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    writing_ = true;
    http::async_write(stream_, res_, beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    writing_ = false;
    if (ec || !res_.keep_alive()) return DoClose();
    Read();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  const IngestHandler& handler_;
  size_t body_limit_;
  HttpMetrics& metrics_;
  IpAddress peer_;
  std::chrono::steady_clock::time_point started_;
  bool writing_ = false;
  bool busy_ = false;  // a request is being answered
  bool closing_ = false;
};

}  // namespace

struct Gateway::Impl {
  Config config;
  std::unique_ptr<GeoLocator> geo;
  std::vector<VendorRuntime> vendors;
  std::unique_ptr<DisclosureLedger> ledger;  // outlives delivery, which records into it
  std::unique_ptr<Delivery> delivery;
  HttpMetrics http_metrics;
  std::unique_ptr<IngestHandler> handler;
  std::unique_ptr<AdminServer> admin;
  // Applies ledger.retention_days at start and then every retention_check_interval, until stopped.
  std::thread retention;
  std::mutex retention_mu;
  std::condition_variable retention_cv;
  bool retention_stop = false;

  void StartRetention() {
    if (!ledger || !ledger->retention_days()) return;
    spdlog::info("ledger: keeping records for {} day(s) (ledger.retention_days), checked every {} s",
                 *ledger->retention_days(), config.ledger_retention_check_interval_s);
    retention = std::thread([this] {
      SetCurrentThreadName("vg-retention");
      const auto interval = std::chrono::seconds(config.ledger_retention_check_interval_s);
      std::unique_lock lock(retention_mu);
      while (!retention_stop) {
        lock.unlock();
        auto result = ledger->ApplyRetention(ledger->now_us());
        if (!result.ok()) spdlog::error("ledger: applying retention failed: {}", result.status().message());
        lock.lock();
        retention_cv.wait_for(lock, interval, [this] { return retention_stop; });
      }
    });
  }
  void StopRetention() {
    {
      std::lock_guard lock(retention_mu);
      retention_stop = true;
    }
    retention_cv.notify_all();
    if (retention.joinable()) retention.join();
  }
  ~Impl() { StopRetention(); }

  // The admin API and console (issue #7), on a listener of their own.
  std::shared_ptr<const PiiScanner> scanner;
  std::unique_ptr<auth::AccountStore> accounts;
  admin::FlowHistory flows;
  std::unique_ptr<admin::AdminApi> admin_api;
  std::unique_ptr<admin::AdminHttpServer> admin_http;
  // Once a second: a flow sample for the console's chart, and the audit outbox into the ledger.
  std::thread ticker;
  std::mutex ticker_mu;
  std::condition_variable ticker_cv;
  bool ticker_stop = false;
  net::io_context ioc;
  // The acceptor's handlers and its close run on one strand: with several threads, an accept completing on
  // one of them re-armed the acceptor while Stop() closed it on another, and Asio's reactor read the
  // descriptor state the close had just released (UBSan caught it in the SIGTERM end-to-end test).
  net::strand<net::io_context::executor_type> accept_strand{net::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  std::mutex sessions_mu;
  std::list<std::weak_ptr<Session>> sessions;
  std::optional<net::signal_set> signals;
  bool stopped = false;

  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec != net::error::operation_aborted) spdlog::warn("accept failed: {}", ec.message());
        if (!acceptor.is_open()) return;
      } else {
        auto s = std::make_shared<Session>(std::move(socket), *handler, config.max_body_bytes, http_metrics);
        {
          std::lock_guard<std::mutex> lock(sessions_mu);
          sessions.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
          sessions.push_back(s);
        }
        s->Start();
      }
      Accept();
    });
  }
};

Gateway::Gateway() : impl_(std::make_unique<Impl>()) {}
Gateway::~Gateway() = default;

StatusOr<std::unique_ptr<Gateway>> Gateway::Create(const Config& config) {
  std::unique_ptr<Gateway> g(new Gateway());
  Impl& impl = *g->impl_;
  impl.config = config;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::IOError(config.data_dir + ": cannot create data directory: " + ec.message());
  auto keys = PseudonymKeyFile::OpenOrCreate((std::filesystem::path(config.data_dir) / "keys" / "pseudonym.keys").string());
  if (!keys.ok()) return keys.status();
  if (config.geoip_db) {
    auto geo = GeoLocator::Open(*config.geoip_db);
    if (!geo.ok()) return geo.status();
    impl.geo = std::move(*geo);
  } else {
    spdlog::warn("no geoip_db configured: location will not be added to events");
  }
  // One PII scanner (one compiled pattern database) shared by every vendor's policy.
  auto scanner = PiiScanner::Create();
  if (!scanner.ok()) return scanner.status();
  impl.scanner = *scanner;
  for (const VendorConfig& v : config.vendors) {
    VendorRuntime rt;
    rt.config = v;
    rt.policy = CompiledPolicy::Compile(v.policy, v.token, *scanner);
    uint32_t epoch = v.key_epoch.value_or(keys->current_epoch());
    if (!keys->has_epoch(epoch)) {
      return Status::InvalidArgument("vendor '" + v.name + "': key epoch " + std::to_string(epoch) +
                                     " is not in the key file");
    }
    rt.pseudonymizer = std::make_unique<Pseudonymizer>(keys->VendorKey(v.name, epoch), epoch);
    rt.id = static_cast<SpoolVendorId>(impl.vendors.size());
    spdlog::info("vendor {}: {} ({} policy, key epoch {})", v.name,
                 v.endpoint ? "forwarding to " + *v.endpoint : "shadow mode, writing to " + config.data_dir + "/outbox/" + v.name + ".jsonl",
                 v.policy.is_default ? "strict default" : "custom", epoch);
    impl.vendors.push_back(std::move(rt));
  }
  // Durable delivery: the spool (recovered after a crash) and one sender per vendor.
  DeliveryOptions options;
  auto fsync = ParseFsyncPolicy(config.spool_fsync);
  if (!fsync.ok()) return fsync.status();
  options.fsync = *fsync;
  options.spool_quota_bytes = config.spool_quota_bytes;
  options.spool_segment_bytes = config.spool_segment_bytes;
  options.now_us = TestClockFromEnvironment();
  // The disclosure ledger: every event's fate is recorded in it before the spool lets go of it.
  std::vector<uint32_t> key_epochs;
  for (const VendorRuntime& v : impl.vendors) key_epochs.push_back(v.pseudonymizer->epoch());
  auto ledger = DisclosureLedger::Open(impl.config, *fsync != FsyncPolicy::kNever, options.now_us, key_epochs,
                                       "vendorguard serve (configuration at start)");
  if (!ledger.ok()) return ledger.status();
  impl.ledger = std::move(*ledger);
  options.recorder = impl.ledger.get();
  auto delivery = Delivery::Start(impl.config, options);
  if (!delivery.ok()) return delivery.status();
  impl.delivery = std::move(*delivery);
  OpsEndpoints ops;
  ops.metrics = [&impl] { return RenderMetrics(*impl.delivery, impl.http_metrics); };
  ops.ready = [&impl] { return impl.delivery->Ready(); };
  impl.handler = std::make_unique<IngestHandler>(impl.config, &impl.vendors, impl.geo.get(), impl.delivery.get(),
                                                 std::move(ops));
  if (config.admin_http.enabled) {
    auth::AccountStoreOptions ao;
    ao.path = (std::filesystem::path(config.data_dir) / "admin" / "accounts.db").string();
    ao.now_us = options.now_us;
    ao.session_idle_us = int64_t{config.admin_http.session_idle_minutes} * 60 * kUsPerSecond;
    ao.session_absolute_us = int64_t{config.admin_http.session_max_hours} * 3600 * kUsPerSecond;
    auto accounts = auth::AccountStore::Open(ao);
    if (!accounts.ok()) return accounts.status();
    impl.accounts = std::move(*accounts);
    admin::AdminApiDeps deps;
    deps.config = &impl.config;
    deps.delivery = impl.delivery.get();
    deps.accounts = impl.accounts.get();
    deps.ledger = impl.ledger.get();
    deps.vendors = &impl.vendors;
    deps.geo = impl.geo.get();
    deps.scanner = impl.scanner;
    deps.flows = &impl.flows;
    deps.now_us = options.now_us;
    impl.admin_api = std::make_unique<admin::AdminApi>(std::move(deps));
  }
  return g;
}

Status Gateway::Listen() {
  Impl& impl = *impl_;
  beast::error_code ec;
  std::string host = impl.config.listen_host == "localhost" ? "127.0.0.1" : impl.config.listen_host;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("listen: bad address '" + host + "'");
  tcp::endpoint ep(address, impl.config.listen_port);
  impl.acceptor.open(ep.protocol(), ec);
  if (!ec) impl.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(ep, ec);
  if (!ec) impl.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(impl.config.listen_port) + ": " +
                           ec.message());
  }
  if (impl.admin_api) {
    const Config::AdminHttp& a = impl.config.admin_http;
    admin::AdminHttpOptions o;
    o.host = a.host;
    o.port = a.port;
    o.tls_cert = a.tls_cert;
    o.tls_key = a.tls_key;
    auto server = admin::AdminHttpServer::Start(o, *impl.admin_api);
    if (!server.ok()) return server.status();
    impl.admin_http = std::move(*server);
    spdlog::info("admin API and console on {}://{}:{}/{}", a.tls() ? "https" : "http",
                 a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host, impl.admin_http->port(),
                 a.tls() ? "" : " (plain HTTP: loopback only, unless allow_insecure_remote)");
  }
  return Status::Ok();
}

uint16_t Gateway::port() const { return impl_->acceptor.local_endpoint().port(); }
uint16_t Gateway::admin_port() const { return impl_->admin_http ? impl_->admin_http->port() : 0; }

void Gateway::Stop() {
  net::post(impl_->ioc, [impl = impl_.get()] {
    if (impl->stopped) return;
    impl->stopped = true;
    net::dispatch(impl->accept_strand, [impl] {
      beast::error_code ec;
      impl->acceptor.close(ec);
    });
    beast::error_code ec;
    if (impl->signals) impl->signals->cancel(ec);  // it would keep the io_context running
    if (impl->admin) impl->admin->Stop();
    if (impl->admin_http) impl->admin_http->Stop();
    {
      std::lock_guard<std::mutex> lock(impl->ticker_mu);
      impl->ticker_stop = true;
    }
    impl->ticker_cv.notify_all();
    std::lock_guard<std::mutex> lock(impl->sessions_mu);
    for (auto& w : impl->sessions) {
      if (auto s = w.lock()) s->Close();
    }
  });
}

void Gateway::Run(bool handle_signals) {
  Impl& impl = *impl_;
  if (handle_signals) {
    impl.signals.emplace(impl.ioc, SIGINT, SIGTERM);
    impl.signals->async_wait([this](beast::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("received signal {}: draining requests and flushing vendors", sig);
      Stop();
    });
  }
  impl.Accept();
  impl.StartRetention();
  auto admin = AdminServer::Start(impl.ioc, impl.config.AdminSocketPath(), *impl.delivery,
                                  AdminNotices{impl.config.data_dir, impl.config.organization.domain},
                                  impl.ledger.get());
  if (admin.ok()) {
    impl.admin = std::move(*admin);
  } else {
    spdlog::error("admin endpoint not available: {}", admin.status().message());
  }
  spdlog::info("vendorguard listening on {}:{}", impl.config.listen_host, port());
  if (impl.admin_api) {
    impl.ticker = std::thread([&impl] {
      SetCurrentThreadName("vg-ticker");
      std::unique_lock<std::mutex> lock(impl.ticker_mu);
      while (!impl.ticker_stop) {
        lock.unlock();
        std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> counters;
        for (const VendorStatus& v : impl.delivery->List()) counters.push_back({v.name, {v.accepted, v.delivered}});
        impl.flows.Sample(SystemNowUs() / kUsPerSecond, counters);
        impl.admin_api->PumpAudit();
        lock.lock();
        impl.ticker_cv.wait_for(lock, std::chrono::seconds(1), [&impl] { return impl.ticker_stop; });
      }
    });
  }
  int threads = impl.config.threads > 0 ? impl.config.threads
                                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) {
    workers.emplace_back([&] {
      SetCurrentThreadName("vg-ingest");
      impl.ioc.run();
    });
  }
  SetCurrentThreadName("vg-ingest");
  impl.ioc.run();
  for (auto& t : workers) t.join();
  impl.admin.reset();
  impl.StopRetention();
  if (impl.ticker.joinable()) impl.ticker.join();
  impl.admin_http.reset();
  if (impl.admin_api) impl.admin_api->PumpAudit();
  impl.delivery->Shutdown(std::chrono::seconds(10));
  spdlog::info("vendorguard stopped");
}

}  // namespace vg
