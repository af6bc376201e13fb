// Delivery of notices (issue #6): a transport interface (so tests and the campaign loop can inject failures)
// and its SMTP implementation on libcurl: smtp:// with STARTTLS (required, optional or off) or smtps://,
// AUTH with a username and password from environment variables, connect and transfer timeouts, one
// connection reused across messages.
//
// The outcome of one transaction is classified for the outbox:
//   accepted   the server's final reply to DATA was 250
//   rejected   a 5xx reply (MAIL, RCPT, DATA or after the data): permanent, the message was not taken
//   retry      not delivered and worth retrying: a 4xx reply, or the connection failed before any message
//              data was sent
//   unknown    the connection broke after the message data started: the server may have it
//   fatal      the transport cannot work (authentication refused, STARTTLS unavailable when required, a bad
//              URL): the campaign stops; the message was not sent
//
// Thread-safety: a transport is used by one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vg::notify {

struct SendResult {
  enum class Outcome { kAccepted, kRejected, kRetry, kUnknown, kFatal };
  Outcome outcome = Outcome::kRetry;
  long smtp_code = 0;  // the last reply code (0: none)
  std::string detail;  // the server's reply or the connection error, for status
};
std::string_view ToString(SendResult::Outcome o);

class NoticeTransport {
 public:
  virtual ~NoticeTransport() = default;
  // Sends `message` (RFC 5322, CRLF) from envelope sender `from` to `to`.
  virtual SendResult Send(const std::string& from, const std::string& to, std::string_view message) = 0;
};

struct SmtpOptions {
  std::string url;  // smtp://host[:port] or smtps://host[:port]
  enum class StartTls { kRequired, kOptional, kOff };
  StartTls starttls = StartTls::kRequired;  // smtp:// only; smtps:// is TLS from the start
  // Credentials come from the environment, never from the command line or a file under version control.
  std::string username_env = "VG_SMTP_USERNAME";
  std::string password_env = "VG_SMTP_PASSWORD";
  std::string ca_file;              // extra CA bundle (a private mail relay); empty: the system's
  long connect_timeout_ms = 10'000;
  long timeout_ms = 60'000;         // one whole transaction
  double rate_per_second = 5;       // messages per second across the campaign; <= 0: unlimited
  bool resend_unknown = false;      // also send the notices whose fate is unknown
  int max_consecutive_retries = 5;  // stop the run after this many retryable failures in a row
};

// InvalidArgument for a URL that is not smtp:// or smtps://.
[[nodiscard]] StatusOr<std::unique_ptr<NoticeTransport>> MakeSmtpTransport(const SmtpOptions& options);

}  // namespace vg::notify
