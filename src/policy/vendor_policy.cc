#include "policy/vendor_policy.h"

#include <algorithm>
#include <atomic>
#include <charconv>

#include "common/short_hash.h"
#include "geo/geo_locator.h"
#include "pii/json_strings.h"
#include "pii/scanner.h"
#include "policy/user_agent.h"
#include "wire/mixpanel.h"

namespace vg {

const GeoLocation* RequestContext::Locate(const IpAddress& ip) const {
  if (geo_ == nullptr) return nullptr;
  bool is_client = client_ip_ && client_ip_->v6 == ip.v6 && client_ip_->bytes == ip.bytes;
  std::shared_ptr<GeoLocation>& slot = is_client ? cached_ : scratch_;
  if (!is_client || !slot) slot = std::make_shared<GeoLocation>(geo_->Lookup(ip));
  return slot.get();
}

namespace {

bool IsTokenKey(std::string_view k) { return k == "token" || k == "$token"; }
bool IsControlKey(std::string_view k) { return k == "$ignore_time" || k == "$ignore_alias"; }
bool IsIpKey(std::string_view k) { return k == "ip" || k == "$ip"; }

// Email, name and phone kin: never let through by a glob, only by exact name.
bool IsContactKey(std::string_view k) {
  static const GlobSet kContact(std::vector<std::string>{
      "$email", "email", "*_email", "email_*", "$name", "name", "$first_name", "$last_name", "first_name",
      "last_name", "full_name", "*_name", "$phone", "phone", "*_phone", "phone_*", "mobile", "address",
      "*_address", "$avatar"});
  if (k == "$insert_id" || k == "$group_key") return false;
  return kContact.Matches(k);
}

bool IsUserAgentKey(std::string_view k) {
  return k == "$browser" || k == "$os" || k == "$browser_version" || k == "$os_version" ||
         GlobMatch("*user_agent*", k) || k == "userAgent" || k == "$user_agent";
}

// The text a pseudonym is computed over: strings as they are, numbers as their JSON text (Mixpanel
// treats distinct_id 42 and "42" as the same user).
bool ScalarText(simdjson::dom::element v, std::string* scratch, std::string_view* text) {
  using simdjson::dom::element_type;
  char buf[32];
  switch (v.type()) {
    case element_type::STRING:
      *text = v.get_string().value_unsafe();
      return true;
    case element_type::INT64: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64().value_unsafe());
      scratch->assign(buf, r.ptr);
      *text = *scratch;
      return true;
    }
    case element_type::UINT64: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64().value_unsafe());
      scratch->assign(buf, r.ptr);
      *text = *scratch;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

// The state of one Apply call: the output writer, the trace, and the categories that left.
struct CompiledPolicy::Writer {
  const CompiledPolicy& policy;
  const RequestContext& ctx;
  const Pseudonymizer& pseudonymizer;
  JsonWriter json;
  std::vector<RuleAction>* trace;
  CategorySet categories = 0;
  bool token_written = false;
  bool blocked = false;  // a pii-block finding: nothing of the event is sent
  // Buffers of this thread, reused across properties and events (Apply is not re-entered on a thread):
  // no allocation per property once warm.
  std::string& scratch;
  std::string& scratch2;
  JsonPath& key_path;  // where the value being scanned sits, as the scanner takes paths
  std::vector<PiiFinding>& findings;

  void Trace(std::string_view rule, std::string_view path, std::string_view key, std::string_view action) {
    if (trace == nullptr) return;
    std::string property(path);
    if (!property.empty()) property.push_back('.');
    property.append(key);
    trace->push_back(RuleAction{std::string(rule), std::move(property), std::string(action)});
  }

  // Decides one property of a map at `path` and writes what may leave. `names_only` is for list
  // operations ($unset...), whose entries are property names, not values.
  void Property(std::string_view path, const vg::Property& p, bool names_only) {
    const std::string_view k = p.key;
    const KeyDecision d = policy.Decide(k);
    if (names_only) {
      // Names in $unset and kin: only the allow-list rules apply; there is no value to transform.
      if (d.action == KeyAction::kDrop || d.action == KeyAction::kIp) {
        Trace(d.rule, path, k, "dropped");
      } else {
        json.String(k);
      }
      return;
    }
    switch (d.action) {
      case KeyAction::kToken:
        if (policy.token_) {
          if (!token_written) {
            json.Key(k);
            json.String(*policy.token_);
            token_written = true;
          }
          Trace("vendor-token", path, k, "replaced by the vendor's configured token");
        } else {
          json.Key(k);
          json.Value(p.value);
          Trace("control", path, k, "kept (project routing)");
        }
        return;
      case KeyAction::kControl:
        json.Key(k);
        json.Value(p.value);
        Trace("control", path, k, "kept (update control)");
        return;
      case KeyAction::kIp: {
        std::string_view text;
        std::optional<IpAddress> ip;
        if (p.value.get_string().get(text) == simdjson::SUCCESS) ip = IpAddress::Parse(text);
        if (policy.config_.ip == IpRule::kTruncate && ip) {
          json.Key(k);
          json.String(ip->Truncated().ToString());
          categories |= kCatNetwork;
          Trace("ip", path, k, ip->v6 ? "truncated to /48" : "truncated to /24");
        } else {
          Trace("ip", path, k, "dropped");
        }
        return;
      }
      case KeyAction::kDrop:
        Trace(d.rule, path, k, d.rule == std::string_view("allow-list") ? "dropped (not allowed)" : "dropped");
        return;
      case KeyAction::kPseudonymize: {
        std::string_view text;
        if (p.value.is_null()) {
          json.Key(k);
          json.Null();
        } else if (ScalarText(p.value, &scratch, &text)) {
          json.Key(k);
          scratch2.clear();
          pseudonymizer.AppendPseudonym(text, &scratch2);
          json.String(scratch2);
          categories |= kCatIdentifier;
          if (trace) Trace("pseudonymize", path, k, "pseudonymized (key epoch " + std::to_string(pseudonymizer.epoch()) + ")");
        } else {
          Trace("pseudonymize", path, k, "dropped (not a string or integer)");
        }
        return;
      }
      case KeyAction::kUrlOrigin: {
        std::string_view text;
        if (p.value.get_string().get(text) != simdjson::SUCCESS) {
          Trace("url-origin", path, k, "dropped (not a string)");
        } else if (text == "$direct") {
          json.Key(k);
          json.String(text);
          categories |= kCatReferrer;
          Trace("url-origin", path, k, "kept ($direct)");
        } else if (UrlOrigin(text, &scratch2)) {
          json.Key(k);
          json.String(scratch2);
          categories |= kCatReferrer;
          Trace("url-origin", path, k, "cut to origin");
        } else {
          Trace("url-origin", path, k, "dropped (not an http(s) URL)");
        }
        return;
      }
      case KeyAction::kUserAgentVersion:
        Trace("user-agent", path, k, "dropped (version)");
        return;
      case KeyAction::kBrowser:
      case KeyAction::kOs:
      case KeyAction::kUserAgent: {
        std::string_view text;
        if (p.value.get_string().get(text) != simdjson::SUCCESS) {
          Trace("user-agent", path, k, "dropped (not a string)");
          return;
        }
        json.Key(k);
        if (d.action == KeyAction::kBrowser) {
          json.String(BrowserFamily(text));
        } else if (d.action == KeyAction::kOs) {
          json.String(OsFamily(text));
        } else {
          UserAgentFamily f = ParseUserAgent(text);
          scratch2.assign(f.browser);
          scratch2.append(" on ");
          scratch2.append(f.os);
          json.String(scratch2);
        }
        categories |= kCatDevice;
        Trace("user-agent", path, k, "cut to family");
        return;
      }
      case KeyAction::kKeep: {
        if (!policy.scanner_) {
          json.Key(k);
          json.Value(p.value);
          categories |= d.category;
          return;
        }
        const JsonWriter::Mark before = json.GetMark();
        json.Key(k);
        key_path.Truncate(0);
        key_path.PushKey(path);
        key_path.PushKey(k);
        if (!ScannedValue(p.value, d.category)) json.Rewind(before);
        return;
      }
    }
  }

  // Writes `v`, which sits at `key_path`, with the personal data inside its strings treated as the
  // policy's `pii` actions say. Returns false when the whole property must go (drop-property or
  // block-event).
  bool ScannedValue(simdjson::dom::element v, CategorySet key_category) {
    using simdjson::dom::element_type;
    switch (v.type()) {
      case element_type::STRING:
        return ScannedString(key_path.view(), v.get_string().value_unsafe(), key_category);
      case element_type::OBJECT: {
        json.BeginObject();
        simdjson::dom::object obj = v.get_object().value_unsafe();
        for (auto field : obj) {
          json.Key(field.key);
          const size_t size = key_path.size();
          key_path.PushKey(field.key);
          const bool kept = ScannedValue(field.value, key_category);
          key_path.Truncate(size);
          if (!kept) return false;
        }
        json.EndObject();
        return true;
      }
      case element_type::ARRAY: {
        json.BeginArray();
        simdjson::dom::array arr = v.get_array().value_unsafe();
        size_t i = 0;
        for (auto item : arr) {
          const size_t size = key_path.size();
          key_path.PushIndex(i++);
          const bool kept = ScannedValue(item, key_category);
          key_path.Truncate(size);
          if (!kept) return false;
        }
        json.EndArray();
        return true;
      }
      default:
        json.Value(v);
        categories |= key_category;
        return true;
    }
  }

  bool ScannedString(std::string_view key_path, std::string_view s, CategorySet key_category) {
    findings.clear();
    policy.scanner_->Scan(key_path, s, &findings);
    // Text a person typed: a custom property whose value has words in it.
    CategorySet leaving = key_category == kCatOther && s.find(' ') != std::string_view::npos ? kCatFreeText : key_category;
    if (findings.empty()) {
      json.String(s);
      categories |= leaving;
      return true;
    }
    std::sort(findings.begin(), findings.end(),
              [](const PiiFinding& a, const PiiFinding& b) { return a.start < b.start; });
    bool drop = false;
    for (const PiiFinding& f : findings) {
      PiiAction action = policy.config_.pii[static_cast<int>(f.type)];
      if (action == PiiAction::kBlockEvent) {
        blocked = true;
        if (trace) Trace("pii-block", "", key_path, "event not sent: it holds " + std::string(PiiTypeName(f.type)));
        return false;
      }
      drop |= action == PiiAction::kDropProperty;
    }
    if (drop) {
      if (trace) Trace("pii-drop", "", key_path, "dropped: it holds " + TypeList());
      return false;
    }
    // Redact what the policy does not allow; what it allows leaves, and counts as disclosed.
    scratch2.clear();
    size_t pos = 0;
    for (const PiiFinding& f : findings) {
      if (f.start < pos || f.end > s.size()) continue;  // overlaps an earlier finding
      if (policy.config_.pii[static_cast<int>(f.type)] == PiiAction::kAllow) {
        categories |= CategoryOfPii(f.type);
        if (trace) Trace("pii-allow", "", key_path, std::string(PiiTypeName(f.type)) + " left by the policy");
        continue;
      }
      scratch2.append(s.substr(pos, f.start - pos));
      scratch2.append(PiiPlaceholder(f.type));
      pos = f.end;
    }
    scratch2.append(s.substr(pos));
    if (trace && scratch2 != s) Trace("pii-redact", "", key_path, "redacted " + TypeList());
    json.String(scratch2);
    categories |= leaving;
    return true;
  }

  // "email, phone": the types among the current findings, for traces.
  std::string TypeList() const {
    std::string out;
    uint32_t seen = 0;
    for (const PiiFinding& f : findings) {
      uint32_t bit = 1u << static_cast<int>(f.type);
      if (seen & bit) continue;
      seen |= bit;
      if (!out.empty()) out += ", ";
      out += PiiTypeName(f.type);
    }
    return out;
  }

  // Where the policy adds location, the location it adds (nullptr for none).
  const GeoLocation* Location(const std::vector<vg::Property>& identity_or_props) {
    if (policy.config_.location == LocationRule::kNone) return nullptr;
    std::optional<IpAddress> source;
    for (const auto& p : identity_or_props) {
      std::string_view text;
      if (IsIpKey(p.key) && p.value.get_string().get(text) == simdjson::SUCCESS) source = IpAddress::Parse(text);
    }
    if (!source && ctx.geolocate_request_ip()) source = ctx.client_ip();
    if (!source) return nullptr;
    const GeoLocation* loc = ctx.Locate(*source);
    if (loc == nullptr || loc->country_code.empty()) return nullptr;
    return loc;
  }

  void AddLocation(std::string_view path, const GeoLocation& loc, std::string_view country_key) {
    json.Key(country_key);
    json.String(loc.country_code);
    categories |= kCatLocation;
    if (trace) Trace("location", path, country_key, "added " + loc.country_code + " from the client IP");
    if (policy.config_.location == LocationRule::kRegion && !loc.region.empty()) {
      json.Key("$region");
      json.String(loc.region);
      Trace("location", path, "$region", "added from the client IP");
    }
  }

  bool IsLocationKey(std::string_view k, std::string_view country_key) const {
    return k == country_key || (policy.config_.location == LocationRule::kRegion && k == "$region");
  }
};

CompiledPolicy::KeyDecision CompiledPolicy::DecideUncached(std::string_view k) const {
  if (IsTokenKey(k)) return {KeyAction::kToken, "control", 0};
  if (IsControlKey(k)) return {KeyAction::kControl, "control", 0};
  if (IsIpKey(k)) return {KeyAction::kIp, "ip", kCatNetwork};
  if (drop_.Matches(k)) return {KeyAction::kDrop, "drop", 0};
  if (IsContactKey(k) && !allow_.MatchesExactly(k)) return {KeyAction::kDrop, "contact-fields", 0};
  if (!allow_.Matches(k)) return {KeyAction::kDrop, "allow-list", 0};
  if (pseudonymize_.Matches(k)) return {KeyAction::kPseudonymize, "pseudonymize", kCatIdentifier};
  if (config_.urls == UrlRule::kOrigin && url_properties_.Matches(k)) return {KeyAction::kUrlOrigin, "url-origin", kCatReferrer};
  if (config_.user_agent == UserAgentRule::kFamily && IsUserAgentKey(k)) {
    if (k == "$browser_version" || k == "$os_version") return {KeyAction::kUserAgentVersion, "user-agent", 0};
    if (k == "$browser") return {KeyAction::kBrowser, "user-agent", kCatDevice};
    if (k == "$os") return {KeyAction::kOs, "user-agent", kCatDevice};
    return {KeyAction::kUserAgent, "user-agent", kCatDevice};
  }
  return {KeyAction::kKeep, "", CategoryOfKey(k)};
}

namespace {
thread_local uint64_t t_uncached_decisions = 0;
}  // namespace

uint64_t CompiledPolicy::UncachedDecisionsOnThisThread() { return t_uncached_decisions; }

CompiledPolicy::KeyDecision CompiledPolicy::Decide(std::string_view key) const {
  // Property names repeat across events, so each thread remembers its decisions in an open-addressing
  // table shared by all policies (the policy's id is part of an entry's tag), linear probing, at most half
  // full: a name once decided stays until the table is cleared, which happens when it would pass half
  // full, so memory stays bounded whatever names clients send. (A direct-mapped table evicted on every
  // collision: two of the 30 names of a typical event, "$os" and "$initial_referring_domain", took each
  // other's slot on every event.)
  struct Slot {
    uint64_t policy = 0;  // ids start at 1: 0 marks an empty slot
    uint64_t hash = 0;
    std::string key;
    KeyDecision decision{};
  };
  constexpr size_t kSlots = 1024;  // a power of two
  struct Table {
    std::vector<Slot> slots = std::vector<Slot>(kSlots);
    size_t used = 0;
  };
  thread_local Table table;
  const uint64_t hash = ShortKeyHash(key) ^ (id_ * 0x9E3779B97F4A7C15ull);
  const size_t home = (hash ^ (hash >> 29)) & (kSlots - 1);
  size_t i = home;
  for (;; i = (i + 1) & (kSlots - 1)) {
    const Slot& slot = table.slots[i];
    if (slot.policy == 0) break;
    if (slot.policy == id_ && slot.hash == hash && slot.key.size() == key.size() &&
        SameShortBytes(slot.key.data(), key.data(), key.size())) {
      return slot.decision;
    }
  }
  ++t_uncached_decisions;
  const KeyDecision d = DecideUncached(key);
  if (table.used + 1 > kSlots / 2) {
    for (Slot& slot : table.slots) slot.policy = 0;  // the keys keep their buffers
    table.used = 0;
    i = home;
  }
  Slot& slot = table.slots[i];
  slot.policy = id_;
  slot.hash = hash;
  slot.key.assign(key);
  slot.decision = d;
  ++table.used;
  return d;
}

CompiledPolicy::CompiledPolicy(const PolicyConfig& config, std::optional<std::string> token,
                               std::shared_ptr<const PiiScanner> scanner)
    : config_(config),
      token_(std::move(token)),
      allow_(config.allow),
      drop_(config.drop),
      pseudonymize_(config.pseudonymize),
      url_properties_(config.url_properties),
      scanner_(std::move(scanner)) {
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id.fetch_add(1);
}

std::shared_ptr<const CompiledPolicy> CompiledPolicy::Compile(const PolicyConfig& config,
                                                              std::optional<std::string> token,
                                                              std::shared_ptr<const PiiScanner> scanner) {
  return std::shared_ptr<const CompiledPolicy>(new CompiledPolicy(config, std::move(token), std::move(scanner)));
}

ApplyResult CompiledPolicy::Apply(const Event& event, const RequestContext& ctx, const Pseudonymizer& pseudonymizer,
                                  std::string* out, std::vector<RuleAction>* trace) const {
  const size_t start = out->size();
  struct Buffers {
    std::string scratch, scratch2;
    JsonPath key_path;
    std::vector<PiiFinding> findings;
  };
  thread_local Buffers buffers;
  Writer w{*this, ctx, pseudonymizer, JsonWriter(out), trace, 0, false, false,
           buffers.scratch, buffers.scratch2, buffers.key_path, buffers.findings};
  ApplyResult result;
  if (event.kind == EventKind::kTrack) {
    static constexpr std::string_view kCountryKey = "mp_country_code";
    const GeoLocation* loc = w.Location(event.properties);
    w.json.BeginObject();
    w.json.Key("event");
    w.json.String(event.name);
    w.json.Key("properties");
    w.json.BeginObject();
    for (const auto& p : event.properties) {
      if (loc != nullptr && w.IsLocationKey(p.key, kCountryKey)) {
        w.Trace("location", "properties", p.key, "replaced by the location computed from the client IP");
        continue;
      }
      w.Property("properties", p, false);
    }
    if (loc != nullptr) w.AddLocation("properties", *loc, kCountryKey);
    w.json.EndObject();
    w.json.EndObject();
    if (w.blocked) {
      out->resize(start);
      return result;
    }
    result.send = true;
    result.categories = w.categories | kCatActivity;
    return result;
  }

  // Profile and group updates: identity fields, then operations; location goes into "$set".
  static constexpr std::string_view kCountryKey = "$country_code";
  const GeoLocation* loc = event.kind == EventKind::kProfile ? w.Location(event.properties) : nullptr;
  w.json.BeginObject();
  for (const auto& p : event.properties) w.Property("", p, false);
  bool any_operation = false;
  for (const auto& op : event.operations) {
    if (op.op == "$delete") {
      w.json.Key(op.op);
      w.json.String("");
      any_operation = true;
      continue;
    }
    const JsonWriter::Mark before = w.json.GetMark();
    w.json.Key(op.op);
    op.is_list ? w.json.BeginArray() : w.json.BeginObject();
    const size_t body = out->size();
    bool adds_location = loc != nullptr && op.op == "$set";
    for (const auto& p : op.properties) {
      if (adds_location && w.IsLocationKey(p.key, kCountryKey)) continue;
      w.Property(op.op, p, op.is_list);
    }
    if (adds_location) w.AddLocation(op.op, *loc, kCountryKey);
    const bool empty = out->size() == body;
    op.is_list ? w.json.EndArray() : w.json.EndObject();
    if (empty) {
      w.json.Rewind(before);  // an operation with nothing left is not sent
      w.Trace("empty-update", "", op.op, "nothing left to send in this operation");
    } else {
      any_operation = true;
    }
  }
  w.json.EndObject();
  if (w.blocked) {
    out->resize(start);
    return result;
  }
  if (!any_operation) {
    out->resize(start);
    w.Trace("empty-update", "", "", "profile update dropped: nothing left to send");
    return result;
  }
  result.send = true;
  result.categories = w.categories;
  return result;
}

}  // namespace vg
