#include "policy/explain.h"

#include <algorithm>

#include "policy/vendor_policy.h"
#include "wire/mixpanel.h"

namespace vg {
namespace {

EventKind DetectKind(simdjson::dom::element el) {
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) return EventKind::kTrack;
  if (obj["event"].error() == simdjson::SUCCESS) return EventKind::kTrack;
  if (obj["$group_key"].error() == simdjson::SUCCESS) return EventKind::kGroup;
  return EventKind::kProfile;
}

std::string_view KindName(EventKind k) {
  switch (k) {
    case EventKind::kTrack: return "track";
    case EventKind::kProfile: return "engage";
    case EventKind::kGroup: return "groups";
  }
  return "track";
}

}  // namespace

StatusOr<std::string> Explain(const Config& config, std::string_view vendor, std::string_view events_json,
                              const Pseudonymizer& pseudonymizer, const GeoLocator* geo,
                              const ExplainOptions& options) {
  auto it = std::find_if(config.vendors.begin(), config.vendors.end(),
                         [&](const VendorConfig& v) { return v.name == vendor; });
  if (it == config.vendors.end()) {
    std::string known;
    for (const auto& v : config.vendors) known += (known.empty() ? "" : ", ") + v.name;
    return Status::NotFound("no vendor named '" + std::string(vendor) + "' in " + config.source + " (vendors: " + known + ")");
  }
  auto policy = CompiledPolicy::Compile(it->policy, it->token, options.scanner);

  // Detect each item's kind, then parse the items of each kind with the gateway's own parser.
  simdjson::dom::parser probe;
  simdjson::dom::element root;
  if (auto err = probe.parse(events_json.data(), events_json.size()).get(root)) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  std::vector<simdjson::dom::element> items;
  if (root.is_array()) {
    simdjson::dom::array arr = root.get_array().value_unsafe();
    for (auto el : arr) items.push_back(el);
  } else {
    items.push_back(root);
  }

  RequestContext ctx(options.client_ip, options.geolocate_request_ip, geo);
  std::string out;
  JsonWriter j(&out);
  if (options.json) {
    j.BeginObject();
    j.Key("vendor");
    j.String(it->name);
    j.Key("policy");
    j.String(it->policy.is_default ? "strict-default" : "custom");
    j.Key("key_epoch");
    j.Int(pseudonymizer.epoch());
    j.Key("events");
    j.BeginArray();
  } else {
    out += "vendor " + it->name + " (" + (it->policy.is_default ? "strict default policy" : "custom policy") +
           ", key epoch " + std::to_string(pseudonymizer.epoch()) + ", " +
           (it->endpoint ? "forwarding to " + *it->endpoint : std::string("shadow mode")) + ")\n";
  }
  CategorySet all = 0;
  MixpanelParser parser(static_cast<size_t>(config.max_json_depth));
  for (size_t i = 0; i < items.size(); ++i) {
    EventKind kind = DetectKind(items[i]);
    std::string item_json;
    JsonWriter(&item_json).Value(items[i]);
    std::vector<Event> events;
    Status s = parser.Parse(item_json, kind, &events);
    if (!s.ok()) return s.WithPrefix("item " + std::to_string(i + 1));
    std::vector<RuleAction> trace;
    std::string sent;
    ApplyResult r = policy->Apply(events[0], ctx, pseudonymizer, &sent, &trace);
    all |= r.categories;
    if (options.json) {
      j.BeginObject();
      j.Key("kind");
      j.String(KindName(kind));
      j.Key("sends");
      if (r.send) {
        j.Raw(sent);
      } else {
        j.Null();
      }
      j.Key("rules");
      j.BeginArray();
      for (const auto& a : trace) {
        j.BeginObject();
        j.Key("rule");
        j.String(a.rule);
        j.Key("property");
        j.String(a.property);
        j.Key("action");
        j.String(a.action);
        j.EndObject();
      }
      j.EndArray();
      j.Key("categories");
      j.BeginArray();
      for (size_t b = 0; b < std::size(kCategoryNames); ++b) {
        if (r.categories & (1u << b)) j.String(kCategoryNames[b]);
      }
      j.EndArray();
      j.EndObject();
      continue;
    }
    out += "\n" + std::string(KindName(kind)) + " " + std::to_string(i + 1);
    if (kind == EventKind::kTrack) out += " \"" + std::string(events[0].name) + "\"";
    out += "\n  sends:      " + (r.send ? sent : std::string("nothing")) + "\n";
    out += "  categories: " + (r.categories ? CategoryList(r.categories) : std::string("none")) + "\n";
    if (!trace.empty()) out += "  rules:\n";
    for (const auto& a : trace) {
      std::string rule = a.rule;
      rule.resize(std::max<size_t>(rule.size(), 15), ' ');
      std::string prop = a.property;
      prop.resize(std::max<size_t>(prop.size(), 28), ' ');
      out += "    " + rule + " " + prop + " " + a.action + "\n";
    }
  }
  if (options.json) {
    j.EndArray();
    j.Key("categories");
    j.BeginArray();
    for (size_t b = 0; b < std::size(kCategoryNames); ++b) {
      if (all & (1u << b)) j.String(kCategoryNames[b]);
    }
    j.EndArray();
    j.EndObject();
    out.push_back('\n');
  } else {
    out += "\ncategories that leave for " + it->name + ": " + (all ? CategoryList(all) : std::string("none")) + "\n";
  }
  return out;
}

}  // namespace vg
