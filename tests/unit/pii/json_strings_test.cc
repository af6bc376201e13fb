// ForEachJsonString: every string of a JSON value with its path, as `vendorguard scan` reports them.
#include "pii/json_strings.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace vg {
namespace {

std::vector<std::pair<std::string, std::string>> Strings(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  std::vector<std::pair<std::string, std::string>> out;
  JsonPath path;
  auto collect = [&](std::string_view p, std::string_view s) { out.emplace_back(std::string(p), std::string(s)); };
  ForEachJsonString(root, &path, collect);
  EXPECT_EQ(path.size(), 0u) << "the path is back to the root's";
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(JsonStrings, PathsJoinKeysWithDotsAndIndicesInBrackets) {
  EXPECT_EQ(Strings(R"({"event":"Search","properties":{"q":"shoes","n":3,"tags":["a",{"k":"v"},["x"]],"ok":true}})"),
            (Pairs{{"event", "Search"},
                   {"properties.q", "shoes"},
                   {"properties.tags[0]", "a"},
                   {"properties.tags[1].k", "v"},
                   {"properties.tags[2][0]", "x"}}));
  EXPECT_EQ(Strings(R"("at the root")"), (Pairs{{"", "at the root"}}));
  EXPECT_EQ(Strings(R"(["a", "b"])"), (Pairs{{"[0]", "a"}, {"[1]", "b"}}));
  EXPECT_EQ(Strings(R"(42)"), Pairs{});
  // Numbers, booleans and nulls are skipped, and keep their place in the indices.
  EXPECT_EQ(Strings(R"([1, "a", null, {"k": "v", "n": 2.5, "z": false}, true, ["x", 0, "y"], "b"])"),
            (Pairs{{"[1]", "a"}, {"[3].k", "v"}, {"[5][0]", "x"}, {"[5][2]", "y"}, {"[6]", "b"}}));
  // Keys are unescaped; an empty key still adds its dot.
  EXPECT_EQ(Strings(R"({"a\"b":{"":"v"}})"), (Pairs{{"a\"b.", "v"}}));
}

TEST(JsonStrings, KeysOfEveryLengthAndLongPaths) {
  // Every key length through the inline copies (1-3, 4-7, 8-16 bytes) and past them, nested deep enough
  // that the path outgrows its first buffer.
  for (size_t length = 1; length <= 40; ++length) {
    std::string key;
    for (size_t i = 0; i < length; ++i) key.push_back(static_cast<char>('a' + (i * 7 + length) % 26));
    std::string json = "\"v\"", want;
    for (int depth = 0; depth < 12; ++depth) {
      json = "{\"" + key + "\":" + json + "}";
      want += (depth ? "." : "") + key;
    }
    SCOPED_TRACE(length);
    EXPECT_EQ(Strings(json), (Pairs{{want, "v"}}));
  }
}

TEST(JsonStrings, IndicesOfManyDigits) {
  std::string json = "[";
  for (int i = 0; i < 1234; ++i) json += i ? ",1" : "1";
  json += ",\"last\"]";
  EXPECT_EQ(Strings(json), (Pairs{{"[1234]", "last"}}));
}

}  // namespace
}  // namespace vg
