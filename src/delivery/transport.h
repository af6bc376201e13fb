// Transport: how one batch of a vendor's events leaves — to the vendor's HTTP API, or, in shadow mode, to
// a local file showing exactly what the vendor would have received. A transport is one connection, used by
// one of its vendor's sender threads at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "delivery/delivery.h"

namespace vg {

struct SendOutcome {
  // kPartlyRejected: the vendor took every event of the batch but those in `refused` (Mixpanel's /import
  // with strict=1 answers 400 and lists them in failed_records).
  enum class Kind { kDelivered, kRetry, kRejected, kPartlyRejected };
  Kind kind = Kind::kDelivered;
  long retry_after_s = 0;  // from the vendor's Retry-After, 0 when absent
  int http_status = 0;     // 0 for network errors
  std::string reason;      // for logs, last_error and dead letters (at most ~300 bytes of the answer)
  // kPartlyRejected: positions in the batch, ascending and unique, each with the vendor's reason.
  std::vector<std::pair<size_t, std::string>> refused;
};

// Mixpanel's /import?strict=1 answer to a batch of `batch_size` events that it took in part: the
// positions of failed_records, ascending, each with its message (and field). False when `answer` is not
// such an answer, or does not add up (an index out of range or twice, num_records_imported plus the
// failures not the batch size): the caller then treats the whole batch as refused.
bool ParseMixpanelFailedRecords(std::string_view answer, size_t batch_size,
                                std::vector<std::pair<size_t, std::string>>* refused);

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `events` (serialized JSON objects) to `endpoint` as one batch. `abort` set by another thread
  // ends an in-flight request (the kill switch) with kRetry.
  virtual SendOutcome Send(OutboundEndpoint endpoint, std::span<const std::string_view> events,
                           const std::atomic<bool>& abort) = 0;
  // Makes everything sent so far durable before the sender acknowledges it in the spool (the shadow
  // file's fdatasync, once per spool read rather than once per batch). OK when there is nothing to do.
  virtual Status Flush() { return Status::Ok(); }
  virtual bool shadow() const = 0;
};

// Shadow mode: appends `{"endpoint":"/track","data":EVENT}` lines to `<data_dir>/outbox/<vendor>.jsonl`;
// Flush syncs them.
[[nodiscard]] StatusOr<std::unique_ptr<Transport>> MakeShadowTransport(const std::string& data_dir,
                                                                      const std::string& vendor);

// The vendor's API: a JSON array per batch (gzip when configured), one keep-alive connection (libcurl,
// TLS with the system's CA store). 2xx is delivered (Mixpanel's verbose `"status":0` is a refusal);
// network errors, 408, 429 and 5xx are kRetry; other 4xx kRejected.
[[nodiscard]] StatusOr<std::unique_ptr<Transport>> MakeHttpTransport(const VendorConfig& vendor,
                                                                    std::chrono::milliseconds request_timeout);

}  // namespace vg
