// The CLI's client of a running gateway's admin endpoint (server/admin_server.h: HTTP/1.1 on a Unix socket
// only the gateway's user may open), shared by the commands that act on the gateway (vendor, incident).
// Thread-safety: plain functions.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace vg::cli {

// The outcome of a command: an exit code and, when it is not 0, the message for stderr.
struct Outcome {
  int exit_code = 0;
  std::string message;
  bool no_gateway = false;  // CallAdmin: nobody answers on the socket (no file, or connection refused)
};

struct AdminReply {
  unsigned status = 0;
  std::string body;
};

// "no gateway answering at PATH (is `vendorguard serve` running with this config?)"
std::string NoGateway(const std::string& path);

// One request ("GET" or "POST") to the admin endpoint at `path`, with `body` (sent as application/json)
// when it is not empty. On a transport failure (no gateway, permission denied, timeout) returns the
// Outcome to exit with (code 2; no_gateway set when nobody answers on the socket).
std::variant<AdminReply, Outcome> CallAdmin(const std::string& path, std::string_view method, const std::string& target,
                                            std::string_view body = {});

// The user running the command, for the actor of ledger records: "name (uid N)", or "uid N" when the
// system does not know the name.
std::string CurrentUser();

}  // namespace vg::cli
