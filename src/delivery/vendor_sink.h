// Where a vendor's copy of events goes: to the vendor's API (HttpForwarder) or, in shadow mode, to a local
// file showing exactly what the vendor would have received (ShadowSink).
//
// Events reach a sink already minimized by the vendor's policy, one serialized JSON object each.
// Enqueue never blocks on the network. Delivery in this version is from memory; a clean Shutdown sends
// what it can within its deadline and writes the rest to `<data_dir>/outbox/<vendor>.unsent.jsonl`,
// so nothing accepted is lost on a clean stop.
// Thread-safety: Enqueue may be called from any thread; Shutdown once, from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace vg {

// The vendor API a batch goes to (Mixpanel's names).
enum class OutboundEndpoint { kTrack, kImport, kEngage, kGroups };
std::string_view OutboundPath(OutboundEndpoint e);  // "/track", "/import", "/engage", "/groups"

struct SinkStats {
  uint64_t accepted = 0;   // events handed to the sink
  uint64_t delivered = 0;  // events the vendor acknowledged (or written, in shadow mode)
  uint64_t rejected = 0;   // events the vendor refused for good (4xx other than 429)
  uint64_t retries = 0;    // failed attempts that were retried
  uint64_t queued = 0;     // events waiting
};

class VendorSink {
 public:
  virtual ~VendorSink() = default;
  // Hands over a batch. Unavailable when the sink's bounded queue is full (the caller answers 503).
  [[nodiscard]] virtual Status Enqueue(OutboundEndpoint endpoint, std::vector<std::string>&& events) = 0;
  // Stops accepting, delivers what it can until `deadline`, and writes out what is left.
  virtual void Shutdown(std::chrono::milliseconds deadline) = 0;
  virtual SinkStats Stats() const = 0;
};

// Shadow mode: appends `{"endpoint":"/track","data":EVENT}` lines to `<data_dir>/outbox/<vendor>.jsonl`.
[[nodiscard]] StatusOr<std::unique_ptr<VendorSink>> MakeShadowSink(const std::string& data_dir,
                                                                   const std::string& vendor);

struct ForwarderOptions {
  size_t max_queued_events = 1'000'000;
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds request_timeout{30'000};
};

// Forwards to the vendor's API in its batch format (Mixpanel: JSON arrays of at most 50 events for /track,
// 2000 for /import, /engage and /groups), gzip when configured, over one keep-alive connection (libcurl,
// TLS with the system's CA store). Network errors, 5xx and 429 are retried with exponential backoff and
// full jitter (honouring Retry-After); other 4xx are logged with the vendor's reason and written to
// `<data_dir>/outbox/<vendor>.rejected.jsonl`.
[[nodiscard]] StatusOr<std::unique_ptr<VendorSink>> MakeHttpForwarder(const VendorConfig& vendor,
                                                                      const std::string& data_dir,
                                                                      const ForwarderOptions& options);

}  // namespace vg
