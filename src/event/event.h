// The one model of an analytics event that every stage of the gateway sees.
//
// Events are views: keys and values point into the simdjson document parsed from the request body, which
// must outlive the EventBatch. Wire formats (wire/) translate to and from this model at the edges.
// A track event is a name and a property map; a profile (Mixpanel /engage) or group (/groups) update is a
// set of identity fields ($distinct_id, $token, $time, $ip...) and operations ($set, $set_once, $unset...),
// each with its own properties. Policies treat every property map the same way.
// Thread-safety: an EventBatch is used by one thread at a time.
#pragma once

#include <string_view>
#include <vector>

#include <simdjson.h>

namespace vg {

enum class EventKind {
  kTrack,    // {"event": NAME, "properties": {...}}
  kProfile,  // {"$distinct_id": ..., "$set": {...}} (Mixpanel /engage)
  kGroup,    // {"$group_key": ..., "$group_id": ..., "$set": {...}} (Mixpanel /groups)
};

struct Property {
  std::string_view key;
  simdjson::dom::element value;
};

// One operation of a profile or group update, e.g. "$set" with its properties. List-valued operations
// such as "$unset" (a list of property names) have `is_list` set and their names as keys of null values.
struct ProfileOperation {
  std::string_view op;
  std::vector<Property> properties;
  bool is_list = false;
};

struct Event {
  EventKind kind = EventKind::kTrack;
  std::string_view name;              // track events only
  std::vector<Property> properties;   // track: the properties; profile/group: the top-level identity fields
  std::vector<ProfileOperation> operations;  // profile/group only
};

// Returns the value of a top-level property as a string, or empty if absent or not a string.
std::string_view FindString(const Event& event, std::string_view key);

}  // namespace vg
