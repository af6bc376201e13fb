#include "notify/smtp.h"

#include <curl/curl.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vg::notify {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  std::string_view data;
  size_t offset = 0;
  bool started = false;  // message data was handed to libcurl: past this point the fate can be unknown
};

size_t ReadCallback(char* buffer, size_t size, size_t nitems, void* user) {
  auto* up = static_cast<Upload*>(user);
  up->started = true;
  const size_t n = std::min(size * nitems, up->data.size() - up->offset);
  std::memcpy(buffer, up->data.data() + up->offset, n);
  up->offset += n;
  return n;
}

class SmtpTransport final : public NoticeTransport {
 public:
  explicit SmtpTransport(SmtpOptions o) : options_(std::move(o)) {
    GlobalInit();
    curl_ = curl_easy_init();
  }
  ~SmtpTransport() override { curl_easy_cleanup(curl_); }

  SendResult Send(const std::string& from, const std::string& to, std::string_view message) override {
    using O = SendResult::Outcome;
    SendResult r;
    if (curl_ == nullptr) return {O::kFatal, 0, "libcurl could not be initialized"};
    Upload up{message};
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* rcpt = curl_slist_append(nullptr, ("<" + to + ">").c_str());
    const std::string mail_from = "<" + from + ">";
    CURL* c = curl_;
    curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadCallback);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    if (options_.url.starts_with("smtp://")) {
      curl_easy_setopt(c, CURLOPT_USE_SSL, options_.starttls == SmtpOptions::StartTls::kRequired   ? CURLUSESSL_ALL
                                           : options_.starttls == SmtpOptions::StartTls::kOptional ? CURLUSESSL_TRY
                                                                                                   : CURLUSESSL_NONE);
    }
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    const char* user = options_.username_env.empty() ? nullptr : std::getenv(options_.username_env.c_str());
    const char* pass = options_.password_env.empty() ? nullptr : std::getenv(options_.password_env.c_str());
    if (user && *user) {
      curl_easy_setopt(c, CURLOPT_USERNAME, user);
      curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
    }
    const CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(rcpt);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    r.smtp_code = code;
    r.detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OK) {
      r.outcome = O::kAccepted;
      r.detail = std::to_string(code) + " accepted";
      return r;
    }
    switch (rc) {
      case CURLE_LOGIN_DENIED:
      case CURLE_USE_SSL_FAILED:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        r.outcome = O::kFatal;
        return r;
      default:
        break;
    }
    if (code >= 500 && code < 600) {
      r.outcome = O::kRejected;
    } else if (code >= 400 && code < 500) {
      r.outcome = O::kRetry;
    } else {
      // No definitive reply: if the data went out, the server may have queued the message.
      r.outcome = up.started ? O::kUnknown : O::kRetry;
    }
    // A rejected transaction leaves the connection in an unknown state for the next one: start afresh.
    curl_easy_cleanup(curl_);
    curl_ = curl_easy_init();
    return r;
  }

 private:
  SmtpOptions options_;
  CURL* curl_ = nullptr;
};

}  // namespace

std::string_view ToString(SendResult::Outcome o) {
  switch (o) {
    case SendResult::Outcome::kAccepted: return "accepted";
    case SendResult::Outcome::kRejected: return "rejected";
    case SendResult::Outcome::kRetry: return "retry";
    case SendResult::Outcome::kUnknown: return "unknown";
    case SendResult::Outcome::kFatal: return "fatal";
  }
  return "retry";
}

StatusOr<std::unique_ptr<NoticeTransport>> MakeSmtpTransport(const SmtpOptions& options) {
  if (!options.url.starts_with("smtp://") && !options.url.starts_with("smtps://")) {
    return Status::InvalidArgument("SMTP URL \"" + options.url + "\" must start with smtp:// or smtps://");
  }
  if (options.url.find_first_of("\r\n ") != std::string::npos) {
    return Status::InvalidArgument("SMTP URL contains whitespace");
  }
  return std::unique_ptr<NoticeTransport>(new SmtpTransport(options));
}

}  // namespace vg::notify
