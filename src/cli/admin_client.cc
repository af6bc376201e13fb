#include "cli/admin_client.h"

#include <pwd.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace vg::cli {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_stream = net::local::stream_protocol;

// A cut waits at most a second for an in-flight request; a redrive of a large dead-letter file takes
// longer. Beyond this the gateway is taken to be hung.
constexpr auto kCallTimeout = std::chrono::seconds(120);
constexpr uint64_t kMaxReplyBytes = 1ull << 30;  // dead letters with their events can be large

}  // namespace

std::string NoGateway(const std::string& path) {
  return "no gateway answering at " + path + " (is `vendorguard serve` running with this config?)";
}

std::string CurrentUser() {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  std::string user = "uid " + std::to_string(::getuid());
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr && pw.pw_name != nullptr) {
    user = std::string(pw.pw_name) + " (" + user + ")";
  }
  return user;
}

std::variant<AdminReply, Outcome> CallAdmin(const std::string& path, std::string_view method, const std::string& target,
                                            std::string_view body) {
  const http::verb verb = method == "POST" ? http::verb::post : http::verb::get;
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Outcome{2, "admin socket path is too long for a Unix socket: " + path};
  }
  net::io_context ioc;
  beast::basic_stream<unix_stream> stream(ioc);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "vendorguard-cli");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.keep_alive(false);
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBytes);
  beast::error_code result;
  enum class Stage { kConnect, kSend, kReceive } stage = Stage::kConnect;

  stream.expires_after(kCallTimeout);
  stream.async_connect(unix_stream::endpoint(path), [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    stage = Stage::kSend;
    http::async_write(stream, req, [&](beast::error_code ec, size_t) {
      if (ec) {
        result = ec;
        return;
      }
      stage = Stage::kReceive;
      http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) { result = ec; });
    });
  });
  ioc.run();

  if (result == beast::error::timeout) {
    return Outcome{2,
                   "the gateway at " + path + " did not answer within " + std::to_string(kCallTimeout.count()) + " s"};
  }
  if (result && stage == Stage::kConnect) {
    namespace errc = boost::system::errc;
    if (result == errc::no_such_file_or_directory || result == errc::connection_refused ||
        result == errc::not_a_directory) {
      return Outcome{2, NoGateway(path), /*no_gateway=*/true};
    }
    if (result == errc::permission_denied || result == errc::operation_not_permitted) {
      return Outcome{2, "permission denied: " + path + " — run as the gateway's user"};
    }
    return Outcome{2, "cannot connect to the gateway at " + path + ": " + result.message()};
  }
  if (result) {
    return Outcome{2, "lost the connection to the gateway at " + path + ": " + result.message()};
  }
  auto& res = parser.get();
  return AdminReply{res.result_int(), std::move(res.body())};
}

}  // namespace vg::cli
