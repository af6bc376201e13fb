#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "delivery/delivery.h"

namespace vg {

void HttpMetrics::Observe(int status, double seconds) {
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e6), std::memory_order_relaxed);
  const int cls = status / 100;
  by_class_[cls >= 1 && cls <= 5 ? static_cast<size_t>(cls - 1) : 5].fetch_add(1, std::memory_order_relaxed);
}

void HttpMetrics::AppendTo(std::string* out) const {
  out->append("# HELP vendorguard_http_requests_total Requests answered by the ingestion listener, by status class.\n");
  out->append("# TYPE vendorguard_http_requests_total counter\n");
  static constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  for (size_t i = 0; i < by_class_.size(); ++i) {
    fmt::format_to(std::back_inserter(*out), "vendorguard_http_requests_total{{code=\"{}\"}} {}\n", kClasses[i],
                   by_class_[i].load(std::memory_order_relaxed));
  }
  out->append("# HELP vendorguard_http_request_duration_seconds Time from a request read to its answer written.\n");
  out->append("# TYPE vendorguard_http_request_duration_seconds histogram\n");
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kBuckets.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    fmt::format_to(std::back_inserter(*out), "vendorguard_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                   kBuckets[b], cumulative);
  }
  cumulative += buckets_[kBuckets.size()].load(std::memory_order_relaxed);
  fmt::format_to(std::back_inserter(*out), "vendorguard_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
                 cumulative);
  fmt::format_to(std::back_inserter(*out), "vendorguard_http_request_duration_seconds_sum {:.6f}\n",
                 static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  fmt::format_to(std::back_inserter(*out), "vendorguard_http_request_duration_seconds_count {}\n", cumulative);
}

namespace {

// Label values: backslash, double quote and newline escaped.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string RenderMetrics(const Delivery& delivery, const HttpMetrics& http) {
  std::string out;
  const std::vector<VendorStatus> vendors = delivery.List();
  auto counter = [&](const char* name, const char* help, auto field) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const VendorStatus& v : vendors) {
      fmt::format_to(std::back_inserter(out), "{}{{vendor=\"{}\"}} {}\n", name, Label(v.name), field(v));
    }
  };
  auto gauge = [&](const char* name, const char* help, auto field) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
    for (const VendorStatus& v : vendors) {
      fmt::format_to(std::back_inserter(out), "{}{{vendor=\"{}\"}} {}\n", name, Label(v.name), field(v));
    }
  };
  counter("vendorguard_events_accepted_total", "Events durably accepted for the vendor.",
          [](const VendorStatus& v) { return v.accepted; });
  counter("vendorguard_events_delivered_total", "Events the vendor acknowledged (or written, in shadow mode).",
          [](const VendorStatus& v) { return v.delivered; });
  counter("vendorguard_delivery_retries_total", "Failed delivery attempts that were retried.",
          [](const VendorStatus& v) { return v.retries; });
  counter("vendorguard_delivery_batch_splits_total",
          "Refused batches sent again in halves to single out the events refused (a vendor refusing events).",
          [](const VendorStatus& v) { return v.splits; });
  counter("vendorguard_events_dead_lettered_total", "Events the vendor refused for good (in its dead-letter file).",
          [](const VendorStatus& v) { return v.dead_lettered; });
  counter("vendorguard_events_discarded_total", "Queued events dropped by the kill switch (cut).",
          [](const VendorStatus& v) { return v.discarded; });
  gauge("vendorguard_delivery_requests_in_flight",
        "Requests to the vendor sent and not yet answered (at most its connections: all busy = the vendor is the limit).",
        [](const VendorStatus& v) { return v.in_flight; });
  gauge("vendorguard_delivery_connections", "Connections the vendor's sender may use (its `connections`).",
        [](const VendorStatus& v) { return v.connections; });
  gauge("vendorguard_spool_pending_events", "Events in the spool not yet acknowledged by the vendor.",
        [](const VendorStatus& v) { return v.pending; });
  gauge("vendorguard_spool_pending_bytes", "Bytes of those events.", [](const VendorStatus& v) { return v.pending_bytes; });
  gauge("vendorguard_spool_oldest_event_age_seconds", "Age of the vendor's oldest pending event (0: none).",
        [](const VendorStatus& v) { return fmt::format("{:.3f}", v.oldest_pending_age_s); });
  out.append("# HELP vendorguard_vendor_state The vendor's kill-switch state (1 for the current one).\n");
  out.append("# TYPE vendorguard_vendor_state gauge\n");
  for (const VendorStatus& v : vendors) {
    for (VendorState s : {VendorState::kActive, VendorState::kPaused, VendorState::kCut}) {
      fmt::format_to(std::back_inserter(out), "vendorguard_vendor_state{{vendor=\"{}\",state=\"{}\"}} {}\n",
                     Label(v.name), VendorStateName(s), v.state == s ? 1 : 0);
    }
  }
  const SpoolStats spool = delivery.SpoolStatistics();
  fmt::format_to(std::back_inserter(out),
                 "# HELP vendorguard_spool_disk_bytes Size of the spool's segment files.\n"
                 "# TYPE vendorguard_spool_disk_bytes gauge\nvendorguard_spool_disk_bytes {}\n"
                 "# HELP vendorguard_spool_quota_bytes The spool's quota; at it, ingestion answers 503.\n"
                 "# TYPE vendorguard_spool_quota_bytes gauge\nvendorguard_spool_quota_bytes {}\n"
                 "# HELP vendorguard_spool_fsyncs_total fdatasync calls on spool segments (group commits).\n"
                 "# TYPE vendorguard_spool_fsyncs_total counter\nvendorguard_spool_fsyncs_total {}\n"
                 "# HELP vendorguard_spool_refused_total Appends refused because the spool was full.\n"
                 "# TYPE vendorguard_spool_refused_total counter\n"
                 "vendorguard_spool_refused_total{{reason=\"quota\"}} {}\n"
                 "vendorguard_spool_refused_total{{reason=\"backlog\"}} {}\n"
                 "# HELP vendorguard_spool_failed 1 when the spool failed and refuses appends until restart.\n"
                 "# TYPE vendorguard_spool_failed gauge\nvendorguard_spool_failed {}\n",
                 spool.disk_bytes, spool.quota_bytes, spool.fsyncs, spool.refused_quota, spool.refused_backlog,
                 spool.failed ? 1 : 0);
  http.AppendTo(&out);
  return out;
}

}  // namespace vg
