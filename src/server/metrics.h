// /metrics in the Prometheus text exposition format (version 0.0.4): per-vendor delivery counters and
// spool gauges from the delivery service, and the ingestion listener's request counts and latency
// histogram.
// Thread-safety: HttpMetrics::Observe may be called from any thread (atomics); Render reads a snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace vg {

class Delivery;

class HttpMetrics {
 public:
  // One answered request: its status and the seconds from the request read to the response written.
  void Observe(int status, double seconds);
  void AppendTo(std::string* out) const;

  // Upper bounds of the latency buckets, in seconds.
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                      0.1,    0.2,   0.5,   1,     2,    5,    10};

 private:
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets_{};  // the last is +Inf
  std::atomic<uint64_t> sum_us_{0};
  std::array<std::atomic<uint64_t>, 6> by_class_{};  // 1xx..5xx, other
};

std::string RenderMetrics(const Delivery& delivery, const HttpMetrics& http);

}  // namespace vg
