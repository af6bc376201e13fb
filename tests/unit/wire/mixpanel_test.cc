#include "wire/mixpanel.h"

#include <gtest/gtest.h>

namespace vg {
namespace {

TEST(MixpanelParser, SingleAndBatch) {
  MixpanelParser p;
  std::vector<Event> events;
  ASSERT_TRUE(p.Parse(R"({"event":"a","properties":{"x":1}})", EventKind::kTrack, &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "a");
  ASSERT_EQ(events[0].properties.size(), 1u);
  EXPECT_EQ(events[0].properties[0].key, "x");
  ASSERT_TRUE(p.Parse(R"([{"event":"a"},{"event":"b","properties":{}}])", EventKind::kTrack, &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].name, "b");
}

TEST(MixpanelParser, ProfileOperations) {
  MixpanelParser p;
  std::vector<Event> events;
  ASSERT_TRUE(p.Parse(R"({"$distinct_id":"u","$token":"t","$set":{"a":1},"$unset":["b","c"]})", EventKind::kProfile,
                      &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].properties.size(), 2u);
  ASSERT_EQ(events[0].operations.size(), 2u);
  EXPECT_EQ(events[0].operations[0].op, "$set");
  EXPECT_TRUE(events[0].operations[1].is_list);
  EXPECT_EQ(events[0].operations[1].properties[1].key, "c");
}

TEST(MixpanelParser, ErrorsNameTheProblem) {
  MixpanelParser p(8);
  std::vector<Event> events;
  auto msg = [&](std::string_view json, EventKind kind = EventKind::kTrack) {
    Status s = p.Parse(json, kind, &events);
    EXPECT_FALSE(s.ok()) << json;
    EXPECT_TRUE(events.empty());
    return s.message();
  };
  EXPECT_NE(msg("{\"event\":").find("invalid JSON"), std::string::npos);
  EXPECT_NE(msg("[[[[[[[[[[[[1]]]]]]]]]]]]").find("deeper than 8"), std::string::npos);
  EXPECT_NE(msg("{\"event\":\"\xff\xfe\"}").find("UTF-8"), std::string::npos);
  EXPECT_NE(msg("[1]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(msg(R"({"properties":{}})").find("no \"event\" name"), std::string::npos);
  EXPECT_NE(msg(R"({"event":"a","properties":[]})").find("must be an object"), std::string::npos);
  EXPECT_NE(msg(R"({"$distinct_id":"u","$set":5})", EventKind::kProfile).find("must be an object"), std::string::npos);
  EXPECT_NE(msg("").find("empty"), std::string::npos);
}

TEST(JsonWriter, EscapesAndRoundTrips) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a\"b");
  w.String("line\nbreak\x01 and \\ \xc3\xa9");
  w.Key("n");
  w.Int(-5);
  w.Key("list");
  w.BeginArray();
  w.Bool(true);
  w.Null();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(out, "{\"a\\\"b\":\"line\\nbreak\\u0001 and \\\\ \xc3\xa9\",\"n\":-5,\"list\":[true,null]}");
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  ASSERT_EQ(parser.parse(out).get(el), simdjson::SUCCESS);
  std::string again;
  JsonWriter(&again).Value(el);
  EXPECT_EQ(again, out);
}

TEST(JsonWriter, NumbersSurviveRoundTrip) {
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  ASSERT_EQ(parser.parse(std::string_view(R"([1.5,18446744073709551615,-9223372036854775808,1e300,0])")).get(el), simdjson::SUCCESS);
  std::string out;
  JsonWriter(&out).Value(el);
  EXPECT_EQ(out, "[1.5,18446744073709551615,-9223372036854775808,1e+300,0]");
}

// Every byte value that needs an escape, at every position of strings around the 16-byte blocks the
// writer skips through, against a byte-at-a-time reference (bytes from 0x80 up pass as they are: UTF-8 is
// checked where strings come in).
TEST(JsonWriter, EscapesAtEveryPositionOfLongStrings) {
  auto reference = [](std::string_view in) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (unsigned char c : in) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    return out + "\"";
  };
  std::string specials = "\"\\";
  for (int c = 0; c < 0x20; ++c) specials += static_cast<char>(c);
  for (size_t len = 1; len <= 50; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (char special : specials) {
        // Bytes around the special one that must pass unescaped: the ones just above 0x1F, high bytes.
        std::string in(len, 'a');
        for (size_t k = 0; k < len; ++k) in[k] = "a\x20~\x7f\xc3\xa9!#"[k % 8];
        in[at] = special;
        std::string out;
        AppendJsonString(&out, in);
        ASSERT_EQ(out, reference(in)) << "length " << len << ", byte " << int(special) << " at " << at;
      }
    }
  }
}

}  // namespace
}  // namespace vg
