#include "server/admin_server.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "config/config.h"
#include "delivery/delivery.h"
#include "ledger/ledger.h"
#include "server/disclosure_ledger.h"
#include "../testing/shadow_config.h"

namespace vg {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_stream = net::local::stream_protocol;

// A real Delivery (two shadow vendors) in a fresh data dir.
class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("vg-admin-test");
    ASSERT_FALSE(dir_.empty());
    config_ = testing::ShadowConfig(dir_, {"alpha", "beta"});
    auto d = Delivery::Start(config_, DeliveryOptions{});
    ASSERT_TRUE(d.ok()) << d.status().message();
    delivery_ = std::move(*d);
  }
  void TearDown() override {
    delivery_.reset();
    std::filesystem::remove_all(dir_);
  }

  AdminResponse Call(std::string_view method, std::string_view target) {
    AdminPeer peer{true, getuid(), getpid(), ""};
    return HandleAdminRequest(*delivery_, method, target, peer);
  }

  // The body parsed; fails the test when it is not valid JSON.
  simdjson::dom::element Parse(const AdminResponse& r) {
    bodies_.push_back(std::make_unique<simdjson::padded_string>(r.body));
    simdjson::dom::element e;
    EXPECT_EQ(parser_.parse(*bodies_.back()).get(e), simdjson::SUCCESS) << r.body;
    return e;
  }
  std::string Error(const AdminResponse& r) {
    std::string_view s;
    EXPECT_EQ(Parse(r)["error"].get(s), simdjson::SUCCESS) << r.body;
    return std::string(s);
  }

  std::string dir_;
  Config config_;
  std::unique_ptr<Delivery> delivery_;
  simdjson::dom::parser parser_;
  std::vector<std::unique_ptr<simdjson::padded_string>> bodies_;
};

TEST_F(AdminTest, ListsAndShowsVendors) {
  AdminResponse r = Call("GET", "/v1/vendors");
  ASSERT_EQ(r.status, 200u) << r.body;
  simdjson::dom::array vendors;
  ASSERT_EQ(Parse(r)["vendors"].get(vendors), simdjson::SUCCESS);
  ASSERT_EQ(vendors.size(), 2u);
  std::string_view name, state;
  bool shadow = false;
  ASSERT_EQ(vendors.at(1)["name"].get(name), simdjson::SUCCESS);
  ASSERT_EQ(vendors.at(1)["state"].get(state), simdjson::SUCCESS);
  ASSERT_EQ(vendors.at(1)["shadow"].get(shadow), simdjson::SUCCESS);
  EXPECT_EQ(name, "beta");
  EXPECT_EQ(state, "active");
  EXPECT_TRUE(shadow);
  EXPECT_TRUE(vendors.at(0)["last_error"].is_null());

  r = Call("GET", "/v1/vendors/al%70ha");  // a percent-encoded name
  ASSERT_EQ(r.status, 200u) << r.body;
  ASSERT_EQ(Parse(r)["name"].get(name), simdjson::SUCCESS);
  EXPECT_EQ(name, "alpha");

  r = Call("GET", "/v1/spool");
  ASSERT_EQ(r.status, 200u) << r.body;
  uint64_t segments = 0;
  EXPECT_EQ(Parse(r)["segments"].get(segments), simdjson::SUCCESS);
}

TEST_F(AdminTest, PauseResumeCutAndTheWrongState) {
  AdminResponse r = Call("POST", "/v1/vendors/alpha/pause");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "{\"vendor\":\"alpha\",\"state\":\"paused\"}\n");
  r = Call("POST", "/v1/vendors/alpha/pause");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(Error(r), "vendor 'alpha' is already paused");
  r = Call("POST", "/v1/vendors/alpha/resume");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "{\"vendor\":\"alpha\",\"state\":\"active\"}\n");
  r = Call("POST", "/v1/vendors/alpha/resume");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(Error(r), "vendor 'alpha' is already active");

  r = Call("POST", "/v1/vendors/beta/cut");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "{\"vendor\":\"beta\",\"state\":\"cut\",\"discarded\":0}\n");
  auto beta = delivery_->Get("beta");
  ASSERT_TRUE(beta.ok());
  EXPECT_EQ(beta->state, VendorState::kCut);
  r = Call("POST", "/v1/vendors/beta/cut");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(Error(r), "vendor 'beta' is already cut");
}

TEST_F(AdminTest, DeadLettersAndRedriveOfAVendorWithNone) {
  AdminResponse r = Call("GET", "/v1/vendors/alpha/dead-letters?limit=5&data=1");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "{\"vendor\":\"alpha\",\"count\":0,\"items\":[]}\n");
  r = Call("POST", "/v1/vendors/alpha/redrive");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "{\"vendor\":\"alpha\",\"redriven\":0}\n");
}

TEST_F(AdminTest, ErrorsSayWhatIsWrong) {
  AdminResponse r = Call("POST", "/v1/vendors/gamma/pause");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(Error(r), "unknown vendor 'gamma' (configured: alpha, beta)");
  r = Call("GET", "/v1/vendors/gamma/dead-letters");
  EXPECT_EQ(r.status, 404u);

  r = Call("GET", "/v1/vendors/alpha/pause");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.allow, "POST");
  r = Call("POST", "/v1/vendors");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.allow, "GET");
  r = Call("DELETE", "/v1/spool");
  EXPECT_EQ(r.status, 405u);

  r = Call("GET", "/v2/vendors");
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(Error(r).find("unknown route /v2/vendors"), std::string::npos);
  r = Call("POST", "/v1/vendors/alpha/explode");
  EXPECT_EQ(r.status, 404u);
  r = Call("GET", "/v1/vendors/alpha/pause/now");
  EXPECT_EQ(r.status, 404u);

  r = Call("GET", "/v1/vendors/alpha/dead-letters?limit=-1");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(Error(r).find("limit"), std::string::npos);
  r = Call("GET", "/v1/vendors/alpha/dead-letters?data=maybe");
  EXPECT_EQ(r.status, 400u);
  r = Call("GET", "/v1/vendors?limt=1");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(Error(r).find("unknown query parameter 'limt'"), std::string::npos);
  r = Call("GET", "/v1/vendors/al%zzpha");
  EXPECT_EQ(r.status, 400u);
  r = Call("GET", "/v1/vendors/al%7");
  EXPECT_EQ(r.status, 400u);
  r = Call("GET", "*");
  EXPECT_EQ(r.status, 400u);
}

TEST_F(AdminTest, MessagesWithControlAndInvalidUtf8StayValidJson) {
  // A vendor name that is not configured is echoed back in the error: escaped, invalid UTF-8 replaced.
  AdminResponse r = Call("GET", "/v1/vendors/a%22b%5C%0A%FF%C3%28%E2%82%AC");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(Error(r), "unknown vendor 'a\"b\\\n\xEF\xBF\xBD\xEF\xBF\xBD(\xE2\x82\xAC' (configured: alpha, beta)");
}

// --- Over the socket -----------------------------------------------------------------------------------

// A gateway-like io_context on one thread around the server.
struct Served {
  net::io_context ioc;
  std::unique_ptr<AdminServer> server;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;

  void Run() {
    work.emplace(ioc.get_executor());
    thread = std::thread([this] { ioc.run(); });
  }
  ~Served() {
    if (server) server->Stop();
    server.reset();
    work.reset();
    if (thread.joinable()) thread.join();
  }
};

// One synchronous request; status and body, or status 0 when the connection failed (errno in *err).
std::pair<unsigned, std::string> Request(const std::string& path, http::verb verb, const std::string& target,
                                         int* err = nullptr, const std::string& body = "") {
  net::io_context ioc;
  unix_stream::socket socket(ioc);
  beast::error_code ec;
  socket.connect(unix_stream::endpoint(path), ec);
  if (ec) {
    if (err) *err = ec.value();
    return {0, ""};
  }
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "localhost");
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req, ec);
  if (ec) return {0, ""};
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res, ec);
  if (ec) return {0, ""};
  return {res.result_int(), res.body()};
}

TEST_F(AdminTest, ServesOnAUnixSocketOnlyItsUserMayOpen) {
  std::string path = config_.AdminSocketPath();
  Served s;
  auto server = AdminServer::Start(s.ioc, path, *delivery_);
  ASSERT_TRUE(server.ok()) << server.status().message();
  s.server = std::move(*server);
  s.Run();

  struct stat st {};
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto [status, body] = Request(path, http::verb::post, "/v1/vendors/alpha/pause");
  EXPECT_EQ(status, 200u);
  EXPECT_EQ(body, "{\"vendor\":\"alpha\",\"state\":\"paused\"}\n");
  EXPECT_EQ(delivery_->Get("alpha")->state, VendorState::kPaused);
  std::tie(status, body) = Request(path, http::verb::get, "/v1/vendors/nope");
  EXPECT_EQ(status, 404u);

  // A second server on the same path is refused while the first answers.
  Served other;
  auto second = AdminServer::Start(other.ioc, path, *delivery_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(second.status().message().find("another gateway is answering"), std::string::npos);

  s.server->Stop();
  s.server->Stop();  // idempotent
  EXPECT_NE(lstat(path.c_str(), &st), 0) << "Stop removes the socket file";
  int err = 0;
  std::tie(status, body) = Request(path, http::verb::get, "/v1/vendors", &err);
  EXPECT_EQ(status, 0u);
  EXPECT_EQ(err, ENOENT);
}

// POST /v1/ledger/erase carries its JSON body over the socket, up to an identifier of the ledger's
// maximum size even when JSON escapes make the body longer than 4 KiB.
TEST_F(AdminTest, LedgerEraseOverTheSocketWithABody) {
  // Without a ledger: 503, however good the body.
  const AdminPeer peer{true, getuid(), getpid(), ""};
  AdminResponse none = HandleAdminRequest(*delivery_, "POST", "/v1/ledger/erase", peer, nullptr, nullptr,
                                          "{\"subject\":\"a\"}");
  EXPECT_EQ(none.status, 503u);
  EXPECT_EQ(Error(none), "this gateway runs without a disclosure ledger");

  auto opened = DisclosureLedger::Open(config_, false, nullptr, {1, 1}, "test");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  std::unique_ptr<DisclosureLedger> ledger = std::move(*opened);
  const std::string long_subject(ledger::kMaxSubjectBytes, '\n');  // 8 KiB once escaped as \n
  const std::string meta = EncodeDisclosureMeta({"sock-subject", 1, 1, "i-1"});
  const std::string long_meta = EncodeDisclosureMeta({long_subject, 1, 1, "i-2"});
  const DisclosureEvent events[2] = {{1, 0, DisclosureOutcome::kDelivered, meta, "{}"},
                                     {2, 1, DisclosureOutcome::kDelivered, long_meta, "{}"}};
  ASSERT_TRUE(ledger->RecordDisclosures(events).ok());

  std::string path = config_.AdminSocketPath();
  Served s;
  auto server = AdminServer::Start(s.ioc, path, *delivery_, std::nullopt, ledger.get());
  ASSERT_TRUE(server.ok()) << server.status().message();
  s.server = std::move(*server);
  s.Run();
  auto [status, body] = Request(path, http::verb::post, "/v1/ledger/erase", nullptr, "{\"subject\":\"sock-subject\"}");
  EXPECT_EQ(status, 200u) << body;
  EXPECT_NE(body.find("\"subject_erased\":true"), std::string::npos) << body;
  EXPECT_TRUE(ledger->ledger().Subject("sock-subject")->erased);
  std::tie(status, body) = Request(path, http::verb::post, "/v1/ledger/erase", nullptr, "");
  EXPECT_EQ(status, 400u) << body;
  std::string escaped = "{\"subject\":\"";
  for (size_t i = 0; i < long_subject.size(); ++i) escaped += "\\n";
  escaped += "\"}";
  ASSERT_GT(escaped.size(), 8000u);
  std::tie(status, body) = Request(path, http::verb::post, "/v1/ledger/erase", nullptr, escaped);
  EXPECT_EQ(status, 200u) << body;
  EXPECT_TRUE(ledger->ledger().Subject(long_subject)->erased);
  s.server->Stop();
}

TEST_F(AdminTest, ReplacesAStaleSocketButNotOtherFiles) {
  std::string path = config_.AdminSocketPath();
  {
    // A socket file nobody listens on: what a killed gateway leaves.
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    close(fd);
  }
  {
    Served s;
    auto server = AdminServer::Start(s.ioc, path, *delivery_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    s.server = std::move(*server);
    s.Run();
    EXPECT_EQ(Request(path, http::verb::get, "/v1/vendors").first, 200u);
  }

  std::ofstream(path) << "not a socket";
  net::io_context ioc;
  auto refused = AdminServer::Start(ioc, path, *delivery_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(path)) << "a file that is not a socket is left alone";

  auto too_long = AdminServer::Start(ioc, "/tmp/" + std::string(200, 'x'), *delivery_);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vg
