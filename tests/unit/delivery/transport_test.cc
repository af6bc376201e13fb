// Reading Mixpanel's /import?strict=1 answer to a batch it took in part (failed_records), and refusing to
// read anything that does not add up, so the sender falls back to treating the batch as refused whole.
#include "delivery/transport.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace vg {
namespace {

using Refused = std::vector<std::pair<size_t, std::string>>;

TEST(MixpanelFailedRecords, NamesEachRefusedEventWithItsReasonInBatchOrder) {
  // Mixpanel's documented shape, failures listed out of order.
  const std::string answer = R"({"code":400,"error":"some data points in the request failed validation",
    "status":"Bad Request","num_records_imported":7,"failed_records":[
    {"index":8,"insert_id":"b","field":"properties.time","message":"'properties.time' is invalid: must be specified as seconds since epoch"},
    {"index":2,"insert_id":"a","field":"properties.distinct_id","message":"placeholder value"}]})";
  Refused refused;
  ASSERT_TRUE(ParseMixpanelFailedRecords(answer, 9, &refused));
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].first, 2u);
  EXPECT_EQ(refused[0].second, "placeholder value (properties.distinct_id)");
  EXPECT_EQ(refused[1].first, 8u);
  // The field is not repeated when the message names it already.
  EXPECT_EQ(refused[1].second, "'properties.time' is invalid: must be specified as seconds since epoch");
  // Without num_records_imported, or without a message.
  ASSERT_TRUE(ParseMixpanelFailedRecords(R"({"failed_records":[{"index":0}]})", 1, &refused));
  EXPECT_EQ(refused, (Refused{{0, "refused"}}));
}

TEST(MixpanelFailedRecords, AnythingThatDoesNotAddUpIsNotAPartialAnswer) {
  Refused refused;
  for (const char* answer : {
           "",                                                                         // no answer
           "1",                                                                        // not an object
           R"({"error":"bad token","status":0})",                                      // no failed_records
           R"({"failed_records":[]})",                                                 // none named
           R"({"failed_records":[{"index":3}]})",                                      // out of the batch
           R"({"failed_records":[{"index":-1}]})",                                     // not an index
           R"({"failed_records":[{"index":"1"}]})",                                    // not a number
           R"({"failed_records":[{"index":1},{"index":1}]})",                          // twice
           R"({"num_records_imported":3,"failed_records":[{"index":1}]})",             // 3 + 1 != 3
           R"({"num_records_imported":1,"failed_records":[{"index":1}]})",             // 1 + 1 != 3
           R"({"failed_records":[{"index":1}])",                                       // cut short
       }) {
    EXPECT_FALSE(ParseMixpanelFailedRecords(answer, 3, &refused)) << answer;
  }
  EXPECT_TRUE(ParseMixpanelFailedRecords(R"({"num_records_imported":2,"failed_records":[{"index":1}]})", 3, &refused));
}

}  // namespace
}  // namespace vg
