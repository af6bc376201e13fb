// An HTTP request target (path and query) taken apart for the admin routers (the admin socket and the
// admin API): the path's segments percent-decoded, empty ones dropped ("/v1//vendors/" is /v1/vendors),
// and the query's name=value pairs form-decoded ('+' is a space), in order. Percent-decoding and the
// query's splitting are ingestion's (ingest/mixpanel_request.h).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vg {

struct RequestTarget {
  std::string path;                   // as sent, without the query (for messages)
  std::vector<std::string> segments;  // decoded, without empty ones
  std::vector<std::pair<std::string, std::string>> query;
  // The value of the last `key` in the query; null when absent.
  const std::string* Query(std::string_view key) const {
    const std::string* found = nullptr;
    for (const auto& [k, v] : query) {
      if (k == key) found = &v;
    }
    return found;
  }
};

// InvalidArgument for a target that is not a path, or a malformed percent escape (saying where).
[[nodiscard]] StatusOr<RequestTarget> ParseRequestTarget(std::string_view target);

}  // namespace vg
