// Mixpanel's JSON event format, both ways: parsing what the SDKs send into Events, and writing the
// vendor's copy of an event back out in the same format.
//
// Thread-safety: a MixpanelParser is used by one thread at a time (one per worker); JsonWriter likewise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace vg {

// Parses Mixpanel payloads. Owns a reusable simdjson parser; the events it returns are views into it
// and stay valid until the next Parse call.
class MixpanelParser {
 public:
  explicit MixpanelParser(size_t max_depth = 32);

  // Parses `json` (a single object or an array of objects) as events of `kind`. Errors (InvalidArgument)
  // name the problem: invalid JSON, invalid UTF-8, nesting deeper than max_depth, an element that is not
  // an object, a track event without an "event" name, or properties that are not an object.
  [[nodiscard]] Status Parse(std::string_view json, EventKind kind, std::vector<Event>* events);

 private:
  simdjson::dom::parser parser_;
  size_t max_depth_;
};

// Appends JSON text to a string. Keys and string values are escaped as RFC 8259 requires.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Separator(); out_->push_back('{'); first_ = true; }
  void EndObject() { out_->push_back('}'); first_ = false; }
  void BeginArray() { Separator(); out_->push_back('['); first_ = true; }
  void EndArray() { out_->push_back(']'); first_ = false; }
  void Key(std::string_view key);
  void String(std::string_view s);
  void Int(int64_t v);
  void Bool(bool b);
  void Null();
  // Writes a parsed JSON value as compact JSON.
  void Value(simdjson::dom::element value);
  // Writes text that is already valid JSON.
  void Raw(std::string_view json) {
    Separator();
    out_->append(json);
  }

  // A point to return to, e.g. to take back an object member that turned out empty.
  struct Mark {
    size_t size;
    bool first;
    bool after_key;
  };
  Mark GetMark() const { return Mark{out_->size(), first_, after_key_}; }
  void Rewind(const Mark& m) {
    out_->resize(m.size);
    first_ = m.first;
    after_key_ = m.after_key;
  }

 private:
  void Separator() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  std::string* out_;
  bool first_ = true;
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (with quotes).
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace vg
