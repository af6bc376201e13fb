#include "admin/admin_http.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "admin/admin_api.h"
#include "common/thread_name.h"

namespace vg::admin {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr int kMaxConnections = 64;

// One connection, plain or TLS (Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>).
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <class... Args>
  Connection(AdminApi& api, std::atomic<int>& open, std::string source, bool tls, Args&&... args)
      : stream_(std::forward<Args>(args)...), api_(api), open_(open), source_(std::move(source)), tls_(tls) {}
  ~Connection() { open_.fetch_sub(1); }

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      Read();
    } else {
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return;  // a client that does not speak TLS, or gave up
        self->Read();
      });
    }
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kMaxBodyBytes);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::eof || ec == net::error::connection_reset) {
      return Close();
    }
    ApiResponse resp;
    bool keep_alive = false;
    unsigned version = 11;
    if (ec && ec != http::error::body_limit) {
      resp.status = 400;
      resp.body = "{\"error\":\"malformed HTTP request: " + ec.message() + "\"}\n";
    } else {
      const auto& req = parser_->get();
      version = req.version();
      auto header = [&](auto field) {
        auto it = req.find(field);
        return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
      };
      ApiRequest r;
      r.method = std::string_view(req.method_string().data(), req.method_string().size());
      r.target = std::string_view(req.target().data(), req.target().size());
      r.body = std::string_view(req.body().data(), req.body().size());
      r.content_type = header(http::field::content_type);
      r.cookie = header(http::field::cookie);
      r.authorization = header(http::field::authorization);
      r.csrf_token = header("X-CSRF-Token");
      r.origin = header(http::field::origin);
      r.host = header(http::field::host);
      r.source = source_;
      r.tls = tls_;
      r.body_too_large = ec == http::error::body_limit;
      resp = api_.Handle(r);
      keep_alive = req.keep_alive() && !r.body_too_large;
    }
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(static_cast<http::status>(resp.status));
    res_.set(http::field::server, "vendorguard");
    res_.set(http::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers) res_.insert(k, v);
    const bool head = parser_ && parser_->get().method() == http::verb::head;
    res_.body() = head ? std::string() : std::move(resp.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = this->shared_from_this()](beast::error_code wec, size_t) {
      if (wec || !self->res_.keep_alive()) return self->Close();
      self->Read();
    });
  }

  void Close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

  Stream stream_;
  AdminApi& api_;
  std::atomic<int>& open_;
  std::string source_;
  bool tls_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

}  // namespace

struct AdminHttpServer::Impl {
  AdminApi* api = nullptr;
  // Declared before the io_context: connections still queued in it when it is destroyed refer to these.
  std::optional<ssl::context> tls;
  std::atomic<int> open{0};
  net::io_context ioc;
  // The acceptor's handlers and its close on one strand, so that Stop() never closes it while an accept
  // handler on another thread re-arms it (as in the gateway's listener).
  net::strand<net::io_context::executor_type> accept_strand{net::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};

  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (!acceptor.is_open()) return;
      } else if (open.fetch_add(1) >= kMaxConnections) {
        open.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        beast::error_code ep_ec;
        auto ep = socket.remote_endpoint(ep_ec);
        std::string source = ep_ec ? "unknown" : ep.address().to_string();
        if (tls) {
          std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(*api, open, std::move(source), true,
                                                                            std::move(socket), *tls)
              ->Start();
        } else {
          std::make_shared<Connection<beast::tcp_stream>>(*api, open, std::move(source), false, std::move(socket))
              ->Start();
        }
      }
      Accept();
    });
  }
};

AdminHttpServer::AdminHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(const AdminHttpOptions& options, AdminApi& api) {
  auto impl = std::make_unique<Impl>();
  impl->api = &api;
  if (!options.tls_cert.empty()) {
    impl->tls.emplace(ssl::context::tls_server);
    impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    impl->tls->use_certificate_chain_file(options.tls_cert, ec);
    if (ec) return Status::InvalidArgument("admin tls_cert " + options.tls_cert + ": " + ec.message());
    impl->tls->use_private_key_file(options.tls_key, ssl::context::pem, ec);
    if (ec) return Status::InvalidArgument("admin tls_key " + options.tls_key + ": " + ec.message());
  }
  beast::error_code ec;
  const std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("admin listen: bad address '" + host + "'");
  tcp::endpoint ep(address, options.port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("admin API: cannot listen on " + host + ":" + std::to_string(options.port) + ": " +
                           ec.message());
  }
  impl->Accept();
  Impl* raw = impl.get();
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    raw->threads.emplace_back([raw] {
      SetCurrentThreadName("vg-admin-http");
      raw->ioc.run();
    });
  }
  return std::unique_ptr<AdminHttpServer>(new AdminHttpServer(std::move(impl)));
}

uint16_t AdminHttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void AdminHttpServer::Stop() {
  if (impl_->stopped.exchange(true)) return;
  net::post(impl_->accept_strand, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->ioc.stop();
}

AdminHttpServer::~AdminHttpServer() {
  Stop();
  for (auto& t : impl_->threads) t.join();
}

}  // namespace vg::admin
