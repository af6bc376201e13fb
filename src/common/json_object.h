// JSON objects and arrays built member by member, for the admin APIs' answers. Every text is escaped
// lossily (json_text.h): identifiers, vendor errors and names are whatever bytes someone sent, and the
// output must stay valid JSON.
// Thread-safety: a builder is used by one thread.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_text.h"
#include "common/time_text.h"

namespace vg {

class JsonObject {
 public:
  JsonObject() : out_("{") {}
  JsonObject& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonStringLossy(&out_, value);
    return *this;
  }
  // null when `value` is empty.
  JsonObject& StrOrNull(std::string_view key, std::string_view value) {
    return value.empty() ? Null(key) : Str(key, value);
  }
  JsonObject& UInt(std::string_view key, uint64_t value) { return Raw(key, std::to_string(value)); }
  JsonObject& Int(std::string_view key, int64_t value) { return Raw(key, std::to_string(value)); }
  // Three decimals; NaN and infinities (which JSON cannot say) as 0.
  JsonObject& Num(std::string_view key, double value) {
    if (!std::isfinite(value)) value = 0;
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 3);
    return Raw(key, std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  }
  JsonObject& Bool(std::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonObject& Null(std::string_view key) { return Raw(key, "null"); }
  // An ISO 8601 UTC time to the second; null for 0 (never).
  JsonObject& Time(std::string_view key, int64_t us) { return us == 0 ? Null(key) : Str(key, IsoTime(us, false)); }
  // `json` must be valid JSON (an object or array built here).
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_.append(json);
    return *this;
  }
  std::string Finish() {  // the object is spent afterwards
    out_.push_back('}');
    return std::move(out_);
  }

 private:
  void Key(std::string_view key) {
    if (out_.size() > 1) out_.push_back(',');
    AppendJsonStringLossy(&out_, key);
    out_.push_back(':');
  }
  std::string out_;
};

// A JSON array of items that are JSON already.
inline std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(items[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace vg
