// Every string value of a parsed JSON value, with its path as the scanner takes it: object keys joined by
// '.', array indices as "[i]" ("properties.tags[2]", "" for a string at the root). `vendorguard scan`
// walks each JSON line with it, and bench/pii_bench measures the same walk.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vg {

// A key path being built during a walk: keys and indices pushed, then cut back to a saved size. Short keys
// (most property names) are copied inline instead of by a call to memcpy.
class JsonPath {
 public:
  JsonPath() { buffer_.resize(256); }

  std::string_view view() const { return {buffer_.data(), size_}; }
  size_t size() const { return size_; }
  void Truncate(size_t size) { size_ = size; }

  void PushKey(std::string_view key) {
    Reserve(size_ + 1 + key.size());
    char* out = buffer_.data() + size_;
    if (size_ != 0) *out++ = '.';
    Copy(out, key.data(), key.size());
    size_ = static_cast<size_t>(out - buffer_.data()) + key.size();
  }

  void PushIndex(size_t index) {
    char digits[24];
    char* end = digits + sizeof digits;
    char* begin = end;
    *--begin = ']';
    do {
      *--begin = static_cast<char>('0' + index % 10);
      index /= 10;
    } while (index != 0);
    *--begin = '[';
    const auto n = static_cast<size_t>(end - begin);
    Reserve(size_ + n);
    Copy(buffer_.data() + size_, begin, n);
    size_ += n;
  }

 private:
  void Reserve(size_t size) {
    if (size > buffer_.size()) buffer_.resize(std::max(size, 2 * buffer_.size()));
  }

  static void Copy(char* out, const char* in, size_t n) {
    if (n >= 8 && n <= 16) {  // two overlapping 8-byte moves
      uint64_t a, b;
      std::memcpy(&a, in, 8);
      std::memcpy(&b, in + n - 8, 8);
      std::memcpy(out, &a, 8);
      std::memcpy(out + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
      uint32_t a, b;
      std::memcpy(&a, in, 4);
      std::memcpy(&b, in + n - 4, 4);
      std::memcpy(out, &a, 4);
      std::memcpy(out + n - 4, &b, 4);
    } else if (n < 4) {
      for (size_t k = 0; k < n; ++k) out[k] = in[k];
    } else {
      std::memcpy(out, in, n);
    }
  }

  std::string buffer_;
  size_t size_ = 0;
};

// Calls fn(path, value) for every string in `v`, in document order; `path` holds v's own path on entry
// and again on return. Numbers, booleans and nulls are skipped without a path, and a string member or
// item (most of them) is handed on without a call.
template <typename Fn>
void ForEachJsonString(simdjson::dom::element v, JsonPath* path, Fn& fn) {
  using simdjson::dom::element_type;
  auto holds_strings = [](element_type t) {
    return t == element_type::STRING || t == element_type::OBJECT || t == element_type::ARRAY;
  };
  switch (v.type()) {
    case element_type::STRING:
      fn(path->view(), v.get_string().value_unsafe());
      break;
    case element_type::OBJECT: {
      const simdjson::dom::object object = v.get_object().value_unsafe();  // not a temporary's member
      for (auto field : object) {
        const element_type type = field.value.type();
        if (!holds_strings(type)) continue;
        const size_t size = path->size();
        path->PushKey(field.key);
        if (type == element_type::STRING) {
          fn(path->view(), field.value.get_string().value_unsafe());
        } else {
          ForEachJsonString(field.value, path, fn);
        }
        path->Truncate(size);
      }
      break;
    }
    case element_type::ARRAY: {
      const simdjson::dom::array array = v.get_array().value_unsafe();
      size_t index = 0;
      for (auto item : array) {
        const size_t i = index++;
        if (!holds_strings(item.type())) continue;
        const size_t size = path->size();
        path->PushIndex(i);
        ForEachJsonString(item, path, fn);
        path->Truncate(size);
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace vg
