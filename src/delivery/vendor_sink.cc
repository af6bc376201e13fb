#include "delivery/vendor_sink.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

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

constexpr int kEndpointCount = 4;

// An append-only file of JSON lines, written whole-line at a time.
class LineFile {
 public:
  static StatusOr<std::unique_ptr<LineFile>> Open(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) return Status::IOError(path + ": " + ec.message());
    FILE* f = std::fopen(path.c_str(), "ae");
    if (f == nullptr) return Status::IOError(path + ": cannot open for appending");
    return std::unique_ptr<LineFile>(new LineFile(f, path));
  }
  ~LineFile() { std::fclose(f_); }
  // Writes `{"endpoint":PATH,"data":EVENT}` for each event and flushes.
  Status Append(OutboundEndpoint endpoint, const std::vector<std::string>& events) {
    std::string buf;
    for (const auto& e : events) {
      buf.append("{\"endpoint\":\"");
      buf.append(OutboundPath(endpoint));
      buf.append("\",\"data\":");
      buf.append(e);
      buf.append("}\n");
    }
    if (std::fwrite(buf.data(), 1, buf.size(), f_) != buf.size() || std::fflush(f_) != 0) {
      return Status::IOError(path_ + ": write failed");
    }
    return Status::Ok();
  }

 private:
  LineFile(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  FILE* f_;
  std::string path_;
};

std::string OutboxPath(const std::string& data_dir, const std::string& vendor, std::string_view suffix) {
  return (std::filesystem::path(data_dir) / "outbox" / (vendor + std::string(suffix))).string();
}

class ShadowSink final : public VendorSink {
 public:
  explicit ShadowSink(std::unique_ptr<LineFile> file) : file_(std::move(file)) {}

  Status Enqueue(OutboundEndpoint endpoint, std::vector<std::string>&& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::Unavailable("shutting down");
    Status s = file_->Append(endpoint, events);
    if (!s.ok()) return Status::Unavailable(s.message());
    stats_.accepted += events.size();
    stats_.delivered += events.size();
    return s;
  }
  void Shutdown(std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  SinkStats Stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  mutable std::mutex mu_;
  std::unique_ptr<LineFile> file_;
  SinkStats stats_;
  bool closed_ = false;
};

size_t BatchLimit(OutboundEndpoint e) { return e == OutboundEndpoint::kTrack ? 50 : 2000; }

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() < 4096) body->append(data, std::min(size * n, 4096 - body->size()));
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    std::string lower(line.substr(0, kRetryAfter.size()));
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kRetryAfter) *static_cast<long*>(user) = std::atol(std::string(line.substr(kRetryAfter.size())).c_str());
  }
  return size * n;
}

class HttpForwarder final : public VendorSink {
 public:
  HttpForwarder(const VendorConfig& vendor, std::string data_dir, const ForwarderOptions& options)
      : vendor_(vendor), data_dir_(std::move(data_dir)), options_(options) {
    if (vendor.api_secret_env) {
      const char* secret = std::getenv(vendor.api_secret_env->c_str());
      if (secret != nullptr) api_secret_ = secret;
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~HttpForwarder() override { Shutdown(std::chrono::milliseconds(0)); }

  Status Enqueue(OutboundEndpoint endpoint, std::vector<std::string>&& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("shutting down");
    if (queued_ + events.size() > options_.max_queued_events) {
      return Status::Unavailable("delivery queue for vendor '" + vendor_.name + "' is full");
    }
    auto& q = queues_[static_cast<int>(endpoint)];
    for (auto& e : events) q.push_back(std::move(e));
    queued_ += events.size();
    stats_.accepted += events.size();
    cv_.notify_one();
    return Status::Ok();
  }

  void Shutdown(std::chrono::milliseconds deadline) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      deadline_ = std::chrono::steady_clock::now() + deadline;
      cv_.notify_all();
    }
    thread_.join();
    WriteOutUnsent();
  }

  SinkStats Stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    SinkStats s = stats_;
    s.queued = queued_;
    return s;
  }

 private:
  enum class Outcome { kDelivered, kRetry, kRejected };

  void Run() {
    CURL* curl = curl_easy_init();
    std::mt19937_64 rng(std::random_device{}());
    int attempt = 0;
    while (true) {
      OutboundEndpoint endpoint;
      std::vector<std::string> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || queued_ > 0; });
        if (queued_ == 0 || (stopping_ && std::chrono::steady_clock::now() >= deadline_)) break;
        int which = 0;
        while (queues_[which].empty()) ++which;
        endpoint = static_cast<OutboundEndpoint>(which);
        auto& q = queues_[which];
        size_t n = std::min(q.size(), BatchLimit(endpoint));
        // Peek, not pop: events stay queued until the vendor acknowledged them.
        batch.assign(q.begin(), q.begin() + static_cast<long>(n));
      }
      long retry_after = 0;
      std::string reason;
      Outcome outcome = Send(curl, endpoint, batch, &retry_after, &reason);
      std::unique_lock<std::mutex> lock(mu_);
      if (outcome == Outcome::kRetry) {
        stats_.retries++;
        ++attempt;
        auto cap = std::min<int64_t>(options_.max_backoff.count(), 100LL << std::min(attempt, 12));
        std::uniform_int_distribution<int64_t> jitter(0, cap);
        // Retry-After is honoured up to a bound: a vendor must not be able to stall delivery for days.
        constexpr long kMaxRetryAfterSeconds = 300;
        auto wait = std::chrono::milliseconds(
            std::max<int64_t>(jitter(rng), std::clamp<long>(retry_after, 0, kMaxRetryAfterSeconds) * 1000));
        spdlog::warn("vendor {}: {} failed ({}), retry {} in {} ms", vendor_.name, OutboundPath(endpoint), reason,
                     attempt, wait.count());
        auto until = std::chrono::steady_clock::now() + wait;
        if (stopping_) until = std::min(until, deadline_);
        const bool was_stopping = stopping_;  // a shutdown ends the wait early
        cv_.wait_until(lock, until, [&] { return stopping_ != was_stopping; });
        continue;
      }
      attempt = 0;
      auto& q = queues_[static_cast<int>(endpoint)];
      q.erase(q.begin(), q.begin() + static_cast<long>(batch.size()));
      queued_ -= batch.size();
      if (outcome == Outcome::kDelivered) {
        stats_.delivered += batch.size();
      } else {
        stats_.rejected += batch.size();
        lock.unlock();
        spdlog::error("vendor {}: {} rejected a batch of {} events: {}", vendor_.name, OutboundPath(endpoint),
                      batch.size(), reason);
        WriteOut(endpoint, batch, ".rejected.jsonl");
      }
    }
    curl_easy_cleanup(curl);
  }

  Outcome Send(CURL* curl, OutboundEndpoint endpoint, const std::vector<std::string>& batch, long* retry_after,
               std::string* reason) {
    std::string body = "[";
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i) body.push_back(',');
      body.append(batch[i]);
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
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "vendorguard/0.1");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, retry_after);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (endpoint == OutboundEndpoint::kImport && !api_secret_.empty()) {
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(curl, CURLOPT_USERNAME, api_secret_.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, "");
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      *reason = curl_easy_strerror(rc);
      return Outcome::kRetry;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      // Mixpanel's verbose /track answers {"status":1,...}; status 0 is a rejection.
      if (endpoint != OutboundEndpoint::kImport && response.find("\"status\":0") != std::string::npos) {
        *reason = "HTTP " + std::to_string(status) + ": " + response;
        return Outcome::kRejected;
      }
      return Outcome::kDelivered;
    }
    *reason = "HTTP " + std::to_string(status) + ": " + response.substr(0, 300);
    if (status == 429 || status >= 500 || status == 408) return Outcome::kRetry;
    return Outcome::kRejected;
  }

  void WriteOut(OutboundEndpoint endpoint, const std::vector<std::string>& events, std::string_view suffix) {
    auto file = LineFile::Open(OutboxPath(data_dir_, vendor_.name, suffix));
    Status s = file.ok() ? (*file)->Append(endpoint, events) : file.status();
    if (!s.ok()) spdlog::critical("vendor {}: cannot write {} events: {}", vendor_.name, events.size(), s.message());
  }

  void WriteOutUnsent() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < kEndpointCount; ++i) {
      auto& q = queues_[i];
      if (q.empty()) continue;
      std::vector<std::string> rest(std::make_move_iterator(q.begin()), std::make_move_iterator(q.end()));
      q.clear();
      queued_ -= rest.size();
      spdlog::warn("vendor {}: {} events not delivered before shutdown, written to {}", vendor_.name, rest.size(),
                   OutboxPath(data_dir_, vendor_.name, ".unsent.jsonl"));
      WriteOut(static_cast<OutboundEndpoint>(i), rest, ".unsent.jsonl");
    }
  }

  const VendorConfig vendor_;
  const std::string data_dir_;
  const ForwarderOptions options_;
  std::string api_secret_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queues_[kEndpointCount];
  size_t queued_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_;
  SinkStats stats_;
  std::thread thread_;
};

}  // namespace

StatusOr<std::unique_ptr<VendorSink>> MakeShadowSink(const std::string& data_dir, const std::string& vendor) {
  auto file = LineFile::Open(OutboxPath(data_dir, vendor, ".jsonl"));
  if (!file.ok()) return file.status();
  return std::unique_ptr<VendorSink>(new ShadowSink(std::move(*file)));
}

StatusOr<std::unique_ptr<VendorSink>> MakeHttpForwarder(const VendorConfig& vendor, const std::string& data_dir,
                                                        const ForwarderOptions& options) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) return Status::Internal("libcurl failed to initialize");
  if (!vendor.endpoint) return Status::InvalidArgument("vendor '" + vendor.name + "' has no endpoint");
  return std::unique_ptr<VendorSink>(new HttpForwarder(vendor, data_dir, options));
}

}  // namespace vg
