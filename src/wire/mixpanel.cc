#include "wire/mixpanel.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <charconv>

namespace vg {

std::string_view FindString(const Event& event, std::string_view key) {
  for (const Property& p : event.properties) {
    if (p.key == key) {
      std::string_view s;
      if (p.value.get_string().get(s) == simdjson::SUCCESS) return s;
      return {};
    }
  }
  return {};
}

MixpanelParser::MixpanelParser(size_t max_depth) : max_depth_(max_depth) {}

namespace {

constexpr std::string_view kKindName[] = {"event", "profile update", "group update"};

Status ParseOne(simdjson::dom::element el, EventKind kind, size_t index, Event* ev) {
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) {
    return Status::InvalidArgument("item " + std::to_string(index) + " is not a JSON object");
  }
  ev->kind = kind;
  if (kind == EventKind::kTrack) {
    bool has_name = false;
    for (auto field : obj) {
      if (field.key == "event") {
        if (field.value.get_string().get(ev->name) != simdjson::SUCCESS) {
          return Status::InvalidArgument("item " + std::to_string(index) + ": \"event\" must be a string");
        }
        has_name = true;
      } else if (field.key == "properties") {
        simdjson::dom::object props;
        if (field.value.get_object().get(props) != simdjson::SUCCESS) {
          return Status::InvalidArgument("item " + std::to_string(index) + ": \"properties\" must be an object");
        }
        ev->properties.reserve(props.size());
        for (auto p : props) ev->properties.push_back(Property{p.key, p.value});
      }
      // Other top-level keys of a track event are not part of Mixpanel's format and are dropped.
    }
    if (!has_name || ev->name.empty()) {
      return Status::InvalidArgument("item " + std::to_string(index) + ": event has no \"event\" name");
    }
    return Status::Ok();
  }
  // Profile and group updates: keys starting with "$" that hold an object or array are operations;
  // everything else is an identity field.
  for (auto field : obj) {
    std::string_view key = field.key;
    bool is_op = key == "$set" || key == "$set_once" || key == "$add" || key == "$append" ||
                 key == "$union" || key == "$remove" || key == "$unset" || key == "$delete";
    if (!is_op) {
      ev->properties.push_back(Property{key, field.value});
      continue;
    }
    ProfileOperation op;
    op.op = key;
    if (field.value.is_object()) {
      simdjson::dom::object props = field.value.get_object().value_unsafe();
      op.properties.reserve(props.size());
      for (auto p : props) op.properties.push_back(Property{p.key, p.value});
    } else if (field.value.is_array()) {
      op.is_list = true;
      simdjson::dom::array names = field.value.get_array().value_unsafe();
      for (auto item : names) {
        std::string_view name;
        if (item.get_string().get(name) != simdjson::SUCCESS) {
          return Status::InvalidArgument("item " + std::to_string(index) + ": \"" + std::string(key) +
                                         "\" must list property names");
        }
        op.properties.push_back(Property{name, item});
      }
    } else if (key == "$delete") {
      // "$delete": "" deletes the whole profile; it carries no properties.
    } else {
      return Status::InvalidArgument("item " + std::to_string(index) + ": \"" + std::string(key) +
                                     "\" must be an object");
    }
    ev->operations.push_back(std::move(op));
  }
  (void)kKindName;
  return Status::Ok();
}

}  // namespace

Status MixpanelParser::Parse(std::string_view json, EventKind kind, std::vector<Event>* events) {
  if (parser_.max_depth() != max_depth_ || parser_.capacity() < json.size()) {
    if (parser_.allocate(std::max<size_t>(json.size(), 4096), max_depth_) != simdjson::SUCCESS) {
      return Status::Internal("cannot allocate JSON parser");
    }
  }
  simdjson::dom::element root;
  auto err = parser_.parse(json.data(), json.size()).get(root);
  if (err != simdjson::SUCCESS) {
    switch (err) {
      case simdjson::UTF8_ERROR:
        return Status::InvalidArgument("invalid UTF-8 in JSON payload");
      case simdjson::DEPTH_ERROR:
        return Status::InvalidArgument("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
      case simdjson::EMPTY:
        return Status::InvalidArgument("empty JSON payload");
      default:
        return Status::InvalidArgument(std::string("invalid JSON payload: ") + simdjson::error_message(err));
    }
  }
  events->clear();
  if (root.is_array()) {
    simdjson::dom::array arr = root.get_array().value_unsafe();
    events->resize(arr.size());
    size_t i = 0;
    for (auto el : arr) {
      Status s = ParseOne(el, kind, i, &(*events)[i]);
      if (!s.ok()) {
        events->clear();
        return s;
      }
      ++i;
    }
    return Status::Ok();
  }
  events->resize(1);
  Status s = ParseOne(root, kind, 0, &(*events)[0]);
  if (!s.ok()) events->clear();
  return s;
}

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;
  size_t i = 0;
#ifdef __SSE2__
  // 16 bytes at a time up to the first byte that needs an escape (a control character, '"' or '\\'):
  // most property values have none.
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), last_control = _mm_set1_epi8(0x1F);
  while (i + 16 <= s.size()) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v);  // v <= 0x1F, unsigned
    const __m128i special = _mm_or_si128(control, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0) {
      i += static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      break;
    }
    i += 16;
  }
#endif
  for (; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void JsonWriter::Key(std::string_view key) {
  Separator();
  AppendJsonString(out_, key);
  out_->push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view s) {
  Separator();
  AppendJsonString(out_, s);
}

void JsonWriter::Int(int64_t v) {
  Separator();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_->append(buf, r.ptr);
}

void JsonWriter::Bool(bool b) {
  Separator();
  out_->append(b ? "true" : "false");
}

void JsonWriter::Null() {
  Separator();
  out_->append("null");
}

void JsonWriter::Value(simdjson::dom::element value) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::OBJECT: {
      BeginObject();
      simdjson::dom::object obj = value.get_object().value_unsafe();
      for (auto field : obj) {
        Key(field.key);
        Value(field.value);
      }
      EndObject();
      break;
    }
    case element_type::ARRAY: {
      BeginArray();
      simdjson::dom::array arr = value.get_array().value_unsafe();
      for (auto item : arr) Value(item);
      EndArray();
      break;
    }
    case element_type::STRING:
      String(value.get_string().value_unsafe());
      break;
    case element_type::INT64:
      Int(value.get_int64().value_unsafe());
      break;
    case element_type::UINT64: {
      Separator();
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, value.get_uint64().value_unsafe());
      out_->append(buf, r.ptr);
      break;
    }
    case element_type::DOUBLE: {
      Separator();
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, value.get_double().value_unsafe());
      out_->append(buf, r.ptr);
      break;
    }
    case element_type::BOOL:
      Bool(value.get_bool().value_unsafe());
      break;
    case element_type::NULL_VALUE:
      Null();
      break;
  }
}

}  // namespace vg
