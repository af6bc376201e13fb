// Incident store and breach assessment over a real ledger.
#include "incident/assessment.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "incident/incident.h"
#include "ledger/ledger.h"
#include "policy/categories.h"

namespace vg::incident {
namespace {

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kNov1 = 1'761'955'200'000'000;  // 2025-11-01T00:00:00Z
constexpr int64_t kNov9 = kNov1 + 8 * kDay;
constexpr int64_t kNov25 = kNov1 + 24 * kDay;

class AssessmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vg-incident-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ledger::LedgerOptions o;
    o.dir = dir_ + "/ledger";
    o.sync = false;
    o.vendors = {{"mixpanel", "product analytics", "consent", "US"}, {"posthog", "product analytics", "consent", "DE"}};
    o.now_us = [] { return kNov1; };
    auto l = ledger::Ledger::Open(o);
    ASSERT_TRUE(l.ok()) << l.status().message();
    ledger_ = std::move(*l);
  }
  void TearDown() override {
    ledger_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Add(std::string_view vendor, std::string_view subject, int64_t t, uint32_t cats,
           ledger::Outcome outcome = ledger::Outcome::kDelivered) {
    auto r = ledger::LedgerRecord::Disclosure(t, *ledger_->VendorId(vendor), subject, 1, cats, outcome, "i", {});
    ASSERT_TRUE(ledger_->Append(std::span<const ledger::LedgerRecord>(&r, 1)).ok());
  }

  Incident Window(int64_t from, int64_t to) {
    Incident i;
    i.id = "INC-test";
    i.vendor = "mixpanel";
    i.from_us = from;
    i.to_us = to;
    i.aware_at_us = to;
    i.opened_at_us = to;
    i.opened_by = "tester";
    return i;
  }

  std::string dir_;
  std::unique_ptr<ledger::Ledger> ledger_;
};

TEST_F(AssessmentTest, SplitsInsideAndBeforeAndLeavesOutLaterOtherVendorsAndStopped) {
  Add("mixpanel", "before@x", kNov1 + kDay, kCatIdentifier | kCatContact);
  Add("mixpanel", "inside", kNov9 + kDay, kCatIdentifier | kCatDevice);
  Add("mixpanel", "both", kNov1, kCatIdentifier | kCatName);
  Add("mixpanel", "both", kNov9 + 2 * kDay, kCatIdentifier);
  Add("mixpanel", "both", kNov9 + 3 * kDay, kCatIdentifier);
  Add("mixpanel", "later", kNov25 + kDay, kCatIdentifier | kCatSecret);  // after the window: not held then
  Add("posthog", "other-vendor", kNov9 + kDay, kCatIdentifier);
  Add("mixpanel", "cut-only", kNov9 + kDay, kCatIdentifier, ledger::Outcome::kCut);
  Add("mixpanel", "refused", kNov9 + kDay, kCatIdentifier, ledger::Outcome::kDeadLettered);
  ASSERT_TRUE(ledger_->Flush().ok());

  auto a = Assess(*ledger_, Window(kNov9, kNov25), kNov25);
  ASSERT_TRUE(a.ok()) << a.status().message();
  std::map<std::string, AffectedSubject> by;
  for (const auto& s : a->subjects) by[s.subject] = s;
  ASSERT_EQ(by.size(), 3u);
  EXPECT_EQ(std::set<std::string>({"before@x", "inside", "both"}),
            std::set<std::string>({a->subjects[0].subject, a->subjects[1].subject, a->subjects[2].subject}));
  EXPECT_FALSE(by["before@x"].in_window());
  EXPECT_EQ(by["before@x"].records_before, 1u);
  EXPECT_TRUE(by["inside"].in_window());
  EXPECT_EQ(by["both"].records_in_window, 2u);
  EXPECT_EQ(by["both"].records_before, 1u);
  EXPECT_EQ(by["both"].categories, kCatIdentifier | kCatName);
  EXPECT_EQ(by["both"].categories_in_window, kCatIdentifier);
  EXPECT_EQ(by["both"].first_us, kNov1);
  EXPECT_EQ(by["both"].last_us, kNov9 + 3 * kDay);
  EXPECT_EQ(a->subjects_in_window, 2u);
  EXPECT_EQ(a->subjects_before_only, 1u);
  EXPECT_EQ(a->records_in_window, 3u);
  EXPECT_EQ(a->records_before, 2u);
  EXPECT_EQ(a->vendor.destination_country, "US");

  std::map<uint32_t, CategoryTotal> cats;
  for (const auto& c : a->categories) cats[c.category] = c;
  EXPECT_EQ(cats[kCatIdentifier].subjects, 3u);
  EXPECT_EQ(cats[kCatIdentifier].subjects_in_window, 2u);
  EXPECT_EQ(cats[kCatContact].subjects, 1u);
  EXPECT_EQ(cats[kCatContact].subjects_in_window, 0u);
  EXPECT_EQ(cats.count(kCatSecret), 0u);

  ASSERT_EQ(a->not_exposed.size(), 2u);
  EXPECT_EQ(a->cut_records, 1u);
  EXPECT_EQ(a->dead_lettered_records, 1u);
}

TEST_F(AssessmentTest, RetentionLimitsWhatTheVendorStillHeld) {
  Add("mixpanel", "old", kNov9 - 40 * kDay, kCatIdentifier);
  Add("mixpanel", "recent", kNov9 - 10 * kDay, kCatIdentifier);
  ASSERT_TRUE(ledger_->Flush().ok());
  Incident i = Window(kNov9, kNov25);
  i.retention_days = 30;
  auto a = Assess(*ledger_, i, kNov25);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->subjects.size(), 1u);
  EXPECT_EQ(a->subjects[0].subject, "recent");
  EXPECT_EQ(a->held_from_us, kNov9 - 30 * kDay);
  i.retention_days.reset();
  EXPECT_EQ(Assess(*ledger_, i, kNov25)->subjects.size(), 2u);
}

TEST_F(AssessmentTest, ErrorsAndReports) {
  Incident bad = Window(kNov25, kNov9);
  EXPECT_EQ(Assess(*ledger_, bad, kNov25).status().code(), Status::Code::kInvalidArgument);
  Incident unknown = Window(kNov9, kNov25);
  unknown.vendor = "amplitude";
  EXPECT_EQ(Assess(*ledger_, unknown, kNov25).status().code(), Status::Code::kNotFound);

  Add("mixpanel", "=cmd|' /C calc'!A0", kNov9 + kDay, kCatIdentifier | kCatContact);
  Add("mixpanel", "a\"b<script>", kNov9 + kDay, kCatIdentifier | kCatContact | kCatSecret);
  ASSERT_TRUE(ledger_->Flush().ok());
  Incident i = Window(kNov9, kNov25);
  i.cut = true;
  i.cut_at_us = kNov25;
  i.cut_discarded = 7;
  auto a = Assess(*ledger_, i, kNov25);
  ASSERT_TRUE(a.ok());
  const std::string csv = AffectedSubjectsCsv(*a);
  EXPECT_NE(csv.find("\"'=cmd|' /C calc'!A0\""), std::string::npos) << csv;  // no formula injection
  EXPECT_NE(csv.find("\"a\"\"b<script>\""), std::string::npos) << csv;
  Config::Organization org;
  org.name = "Acme";
  org.contact = "dpo@acme.test";
  org.domain = "acme.test";
  const std::string md = ReportMarkdown(*a, org);
  EXPECT_NE(md.find("2 people"), std::string::npos) << md;
  EXPECT_NE(md.find("2025-11-09T00:00:00Z"), std::string::npos);
  EXPECT_NE(md.find("2025-11-28T00:00:00Z"), std::string::npos) << "72 hours after awareness";
  EXPECT_NE(md.find("7 queued events were discarded"), std::string::npos);
  EXPECT_NE(md.find(std::string(LikelyConsequence(kCatSecret))), std::string::npos);
  EXPECT_NE(md.find("dpo@acme.test"), std::string::npos);
  EXPECT_NE(md.find("https://acme.test/notices/"), std::string::npos);
  const std::string html = ReportHtml(*a, org);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("<table>"), std::string::npos);
  const std::string json = AssessmentJson(*a);
  EXPECT_NE(json.find("\"subjects_in_window\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"a\\\"b<script>\""), std::string::npos);
}

TEST(IncidentStoreTest, CreatesLoadsListsAndNamesWhatExists) {
  char tmpl[] = "/tmp/vg-incident-store-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  IncidentStore store(dir);
  EXPECT_TRUE(store.List()->empty());
  Incident i;
  i.vendor = "mixpanel";
  i.from_us = kNov9;
  i.to_us = kNov25;
  i.aware_at_us = kNov25 + 3600'000'000;
  i.opened_at_us = kNov25 + 7200'000'000;
  i.opened_by = "alice";
  i.retention_days = 90;
  ASSERT_TRUE(store.Create(&i, i.opened_at_us).ok());
  EXPECT_EQ(i.id.rfind("INC-20251125-", 0), 0u) << i.id;
  Incident j = i;
  ASSERT_TRUE(store.Create(&j, i.opened_at_us + 1).ok());
  EXPECT_NE(i.id, j.id);
  auto back = store.Load(i.id);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->vendor, "mixpanel");
  EXPECT_EQ(back->aware_at_us, i.aware_at_us);
  EXPECT_EQ(back->retention_days, 90u);
  EXPECT_FALSE(back->cut);
  back->cut = true;
  back->cut_at_us = kNov25;
  back->cut_discarded = 3;
  ASSERT_TRUE(store.Save(*back).ok());
  EXPECT_EQ(store.Load(i.id)->cut_discarded, 3u);
  EXPECT_EQ(store.List()->size(), 2u);
  auto missing = store.Load("INC-nope");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find(i.id), std::string::npos);
  EXPECT_EQ(store.Load("../../etc").status().code(), Status::Code::kNotFound);
  EXPECT_EQ((std::filesystem::status(store.Dir(i.id) + "/incident.json").permissions() &
             std::filesystem::perms::group_read), std::filesystem::perms::none);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vg::incident
