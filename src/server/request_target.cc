#include "server/request_target.h"

#include "ingest/mixpanel_request.h"

namespace vg {

StatusOr<RequestTarget> ParseRequestTarget(std::string_view target) {
  RequestTarget t;
  const size_t q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (t.path.empty() || t.path[0] != '/') return Status::InvalidArgument("bad request target '" + t.path + "'");
  const std::string_view path = t.path;
  for (size_t pos = 1; pos <= path.size();) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) {
      auto seg = PercentDecode(path.substr(pos, end - pos), /*plus_as_space=*/false);
      if (!seg.ok()) return seg.status().WithPrefix("path '" + t.path + "'");
      t.segments.push_back(std::move(*seg));
    }
    pos = end + 1;
  }
  if (q != std::string_view::npos) {
    auto query = ParseFormEncoded(target.substr(q + 1));
    if (!query.ok()) return query.status().WithPrefix("query");
    t.query = std::move(*query);
  }
  return t;
}

}  // namespace vg
