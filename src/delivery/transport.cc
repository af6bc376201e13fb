#include "delivery/transport.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/ascii.h"
#include "ingest/mixpanel_request.h"

namespace vg {

std::string_view OutboundPath(OutboundEndpoint e) {
  switch (e) {
    case OutboundEndpoint::kTrack: return "/track";
    case OutboundEndpoint::kImport: return "/import";
    case OutboundEndpoint::kEngage: return "/engage";
    case OutboundEndpoint::kGroups: return "/groups";
  }
  return "/track";
}

namespace {

class ShadowTransport final : public Transport {
 public:
  ShadowTransport(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~ShadowTransport() override { ::close(fd_); }

  SendOutcome Send(OutboundEndpoint endpoint, std::span<const std::string_view> events,
                   const std::atomic<bool>&) override {
    buf_.clear();
    for (std::string_view e : events) {
      buf_.append("{\"endpoint\":\"");
      buf_.append(OutboundPath(endpoint));
      buf_.append("\",\"data\":");
      buf_.append(e);
      buf_.append("}\n");
    }
    size_t done = 0;
    while (done < buf_.size()) {
      ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return {SendOutcome::Kind::kRetry, 1, 0, path_ + ": write failed: " + std::strerror(errno), {}};
      done += static_cast<size_t>(n);
    }
    return {};
  }
  Status Flush() override {
    if (::fdatasync(fd_) != 0) return Status::IOError(path_ + ": sync failed: " + std::strerror(errno));
    return Status::Ok();
  }
  bool shadow() const override { return true; }

 private:
  int fd_;
  std::string path_;
  std::string buf_;
};

// The most of a vendor's answer kept: enough for failed_records listing every event of a 2,000-event
// batch; a longer answer is cut, and then does not parse (the batch counts as refused whole).
constexpr size_t kMaxAnswerBytes = 1 << 20;

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() < kMaxAnswerBytes) body->append(data, std::min(size * n, kMaxAnswerBytes - body->size()));
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    if (AsciiIEquals(line.substr(0, kRetryAfter.size()), kRetryAfter)) *static_cast<long*>(user) = std::atol(std::string(line.substr(kRetryAfter.size())).c_str());
  }
  return size * n;
}

// libcurl calls this during a transfer (and about once a second while waiting): non-zero aborts it.
int AbortCheck(void* abort, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(abort)->load(std::memory_order_relaxed) ? 1 : 0;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(const VendorConfig& vendor, std::chrono::milliseconds timeout)
      : vendor_(vendor), timeout_(timeout), curl_(curl_easy_init()) {
    if (vendor.api_secret_env) {
      const char* secret = std::getenv(vendor.api_secret_env->c_str());
      if (secret != nullptr) api_secret_ = secret;
    }
  }
  ~HttpTransport() override { curl_easy_cleanup(curl_); }

  SendOutcome Send(OutboundEndpoint endpoint, std::span<const std::string_view> events,
                   const std::atomic<bool>& abort) override {
    std::string body = "[";
    for (size_t i = 0; i < events.size(); ++i) {
      if (i) body.push_back(',');
      body.append(events[i]);
    }
    body.push_back(']');
    std::string url = *vendor_.endpoint + std::string(OutboundPath(endpoint));
    url += endpoint == OutboundEndpoint::kImport ? "?strict=1" : "?ip=0&verbose=1";
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (vendor_.gzip) {
      body = Gzip(body);
      headers = curl_slist_append(headers, "Content-Encoding: gzip");
    }
    std::string response;
    long retry_after = 0;
    CURL* curl = curl_;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "vendorguard/0.1");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &retry_after);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (vendor_.tls_ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, vendor_.tls_ca_file->c_str());
    error_[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortCheck);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&abort));
    if (endpoint == OutboundEndpoint::kImport && !api_secret_.empty()) {
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(curl, CURLOPT_USERNAME, api_secret_.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, "");
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    SendOutcome out;
    if (rc != CURLE_OK) {
      out.kind = SendOutcome::Kind::kRetry;
      out.reason = rc == CURLE_ABORTED_BY_CALLBACK ? "aborted by the kill switch"
                   : error_[0] != '\0'                ? std::string(error_)
                                                      : std::string(curl_easy_strerror(rc));
      return out;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    out.http_status = static_cast<int>(status);
    out.retry_after_s = retry_after;
    if (status >= 200 && status < 300) {
      // Mixpanel's verbose /track answers {"status":1,...}; status 0 is a refusal.
      if (endpoint != OutboundEndpoint::kImport && response.find("\"status\":0") != std::string::npos) {
        out.kind = SendOutcome::Kind::kRejected;
        out.reason = "HTTP " + std::to_string(status) + ": " + response.substr(0, 300);
      }
      return out;
    }
    out.reason = "HTTP " + std::to_string(status) + ": " + response.substr(0, 300);
    out.kind = status == 429 || status >= 500 || status == 408 ? SendOutcome::Kind::kRetry : SendOutcome::Kind::kRejected;
    if (status == 400 && endpoint == OutboundEndpoint::kImport &&
        ParseMixpanelFailedRecords(response, events.size(), &out.refused)) {
      out.kind = SendOutcome::Kind::kPartlyRejected;
      for (auto& [index, why] : out.refused) why = "HTTP 400: " + why;
    }
    return out;
  }
  bool shadow() const override { return false; }

 private:
  const VendorConfig vendor_;
  const std::chrono::milliseconds timeout_;
  std::string api_secret_;
  CURL* curl_;
  char error_[CURL_ERROR_SIZE];  // libcurl's details of a failure, e.g. "SSL certificate problem: self-signed certificate"
};

}  // namespace

bool ParseMixpanelFailedRecords(std::string_view answer, size_t batch_size,
                                std::vector<std::pair<size_t, std::string>>* refused) {
  refused->clear();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array failed;
  if (parser.parse(answer.data(), answer.size()).get(doc) || doc["failed_records"].get_array().get(failed)) {
    return false;
  }
  for (simdjson::dom::element record : failed) {
    uint64_t index;
    if (record["index"].get_uint64().get(index) || index >= batch_size) return false;
    std::string_view message, field;
    if (record["message"].get_string().get(message)) message = "refused";
    std::string why(message.substr(0, 300));
    if (!record["field"].get_string().get(field) && !field.empty() && why.find(field) == std::string::npos) {
      why += " (" + std::string(field.substr(0, 100)) + ")";
    }
    refused->emplace_back(static_cast<size_t>(index), std::move(why));
  }
  std::sort(refused->begin(), refused->end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < refused->size(); ++i) {
    if ((*refused)[i].first == (*refused)[i - 1].first) return false;
  }
  uint64_t imported;
  if (!doc["num_records_imported"].get_uint64().get(imported) && imported + refused->size() != batch_size) {
    return false;
  }
  return !refused->empty();
}

StatusOr<std::unique_ptr<Transport>> MakeShadowTransport(const std::string& data_dir, const std::string& vendor) {
  std::filesystem::path dir = std::filesystem::path(data_dir) / "outbox";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(dir.string() + ": " + ec.message());
  std::string path = (dir / (vendor + ".jsonl")).string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(path + ": cannot open for appending: " + std::strerror(errno));
  return std::unique_ptr<Transport>(new ShadowTransport(fd, path));
}

StatusOr<std::unique_ptr<Transport>> MakeHttpTransport(const VendorConfig& vendor,
                                                      std::chrono::milliseconds request_timeout) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) return Status::Internal("libcurl failed to initialize");
  if (!vendor.endpoint) return Status::InvalidArgument("vendor '" + vendor.name + "' has no endpoint");
  return std::unique_ptr<Transport>(new HttpTransport(vendor, request_timeout));
}

}  // namespace vg
