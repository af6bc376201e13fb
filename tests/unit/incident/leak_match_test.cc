// Leak matching: pseudonyms in a vendor's exported dataset mapped back to subjects, attribution to another
// vendor's key, unmatched rows, unreadable lines, and personal data the policy should have stopped.
#include "incident/leak_match.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crypto/pseudonymizer.h"
#include "pii/scanner.h"

namespace vg::incident {
namespace {

class LeakMatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vg-leak-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto keys = PseudonymKeyFile::OpenOrCreate(dir_ + "/keys/pseudonym.keys");
    ASSERT_TRUE(keys.ok()) << keys.status().message();
    keys_.emplace(std::move(*keys));
    auto scanner = PiiScanner::Create();
    ASSERT_TRUE(scanner.ok());
    scanner_ = *scanner;
    assessment_.incident.id = "INC-x";
    assessment_.incident.vendor = "mixpanel";
    for (const char* s : {"u1", "u2", "u3"}) {
      AffectedSubject a;
      a.subject = s;
      assessment_.subjects.push_back(a);
    }
    subjects_ = {{"mixpanel", {"u1", "u2", "u3", "u9"}}, {"posthog", {"u1", "p7"}}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string P(const std::string& vendor, const std::string& subject) {
    Pseudonymizer p(keys_->VendorKey(vendor, 1), 1);
    return p.Pseudonymize(subject);
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }
  StatusOr<MatchReport> Match(const std::string& path) {
    return MatchLeak(path, assessment_, subjects_, *keys_, *scanner_);
  }

  std::string dir_;
  std::optional<PseudonymKeyFile> keys_;
  std::shared_ptr<const PiiScanner> scanner_;
  Assessment assessment_;
  std::map<std::string, std::vector<std::string>> subjects_;
};

TEST_F(LeakMatchTest, JsonLinesExportIsMatchedAttributedAndScanned) {
  const std::string leak =
      "{\"event\":\"Visit\",\"properties\":{\"distinct_id\":\"" + P("mixpanel", "u1") + "\",\"mp_country_code\":\"US\"}}\n" +
      "{\"$distinct_id\":\"" + P("mixpanel", "u2") + "\",\"$properties\":{\"$email\":\"jane.doe@example.com\"}}\n" +
      "{\"event\":\"Visit\",\"properties\":{\"distinct_id\":\"" + P("mixpanel", "u9") + "\"}}\n" +
      "{\"event\":\"Visit\",\"properties\":{\"distinct_id\":\"" + P("posthog", "p7") + "\"}}\n" +
      "{\"event\":\"Visit\",\"properties\":{\"distinct_id\":\"vg1-00000000000000000000000000000000\"}}\n" +
      "{\"event\":\"Visit\",\"properties\":{\"distinct_id\": \n" +
      "{\"event\":\"Anonymous\",\"properties\":{\"comment\":\"call +1 415 555 0134\"}}\n";
  auto r = Match(Write("leak.jsonl", leak));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->format, "jsonl");
  EXPECT_EQ(r->rows, 6u);
  EXPECT_EQ(r->confirmed, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(r->confirmed_not_assessed, (std::vector<std::string>{"u9"}));
  EXPECT_EQ(r->at_risk, (std::vector<std::string>{"u3"}));
  ASSERT_EQ(r->other_vendor.size(), 1u);
  EXPECT_EQ(r->other_vendor[0].vendor, "posthog");
  EXPECT_EQ(r->other_vendor[0].subject, "p7");
  EXPECT_EQ(r->other_vendor[0].line, 4u);
  EXPECT_EQ(r->unmatched_rows, 1u);
  EXPECT_EQ(r->unmatched_lines, (std::vector<uint64_t>{5}));
  EXPECT_EQ(r->rows_without_pseudonym, 1u);
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].line, 6u);
  bool email = false, phone = false;
  for (const LeakPii& p : r->pii) {
    if (p.path == "$properties.$email" && p.type == "email") email = p.first_line == 2;
    if (p.path == "properties.comment" && p.type == "phone") phone = p.first_line == 7;
  }
  EXPECT_TRUE(email && phone) << MatchReportJson(*r, assessment_);
  const std::string json = MatchReportJson(*r, assessment_);
  EXPECT_EQ(json.find("jane.doe"), std::string::npos) << "never the values";
}

TEST_F(LeakMatchTest, CsvAndJsonArrayExports) {
  const std::string csv = "distinct_id,city,note\n" + P("mixpanel", "u3") + ",Berlin,\"said \"\"hi\"\"\"\n" +
                          P("mixpanel", "u1") + ",Paris\n" + "\"" + P("mixpanel", "u2") + "\",Rome,ok\n";
  auto r = Match(Write("leak.csv", csv));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->format, "csv");
  EXPECT_EQ(r->confirmed, (std::vector<std::string>{"u2", "u3"}));
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].line, 3u);  // a row with a missing field
  auto a = Match(Write("leak.json", "[{\"distinct_id\":\"" + P("mixpanel", "u1") + "\"}, {\"x\": 1}]"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->format, "json");
  EXPECT_EQ(a->confirmed, (std::vector<std::string>{"u1"}));
  EXPECT_EQ(a->rows_without_pseudonym, 1u);
}

TEST_F(LeakMatchTest, UnknownFormatsAreRefusedWithTheReason) {
  auto binary = Match(Write("leak.bin", std::string("PK\x03\x04\0\0\0binary", 13)));
  EXPECT_EQ(binary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(binary.status().message().find("binary"), std::string::npos);
  EXPECT_EQ(Match(Write("empty", "  \n")).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Match(Write("bad.json", "[1, 2")).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Match(dir_ + "/missing").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace vg::incident
