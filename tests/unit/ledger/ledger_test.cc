// The disclosure ledger: round trip, sealing, queries against a naive model, erasure, retention,
// concurrent appends, append throughput. Recovery and tamper detection: ledger_tamper_test.cc.
#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <cstdio>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "ledger/ledger_segment.h"
#include "ledger_test_util.h"

namespace vg::ledger {
namespace {

using namespace vg::ledger::testing;

std::unique_ptr<Ledger> MustOpen(const LedgerOptions& o) {
  auto l = Ledger::Open(o);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? std::move(*l) : nullptr;
}

void ExpectVerifies(const std::string& dir) {
  VerifyReport r = Verify(dir);
  EXPECT_TRUE(r.ok) << r.problem;
}

// Compares every query with the naive model.
void ExpectQueriesMatch(const Ledger& ledger, const std::vector<OwnedRecord>& all, int64_t start, int64_t span,
                        int subjects) {
  const std::vector<VendorInfo> vendors = ledger.vendors();
  std::set<std::string> names;
  for (const auto& v : vendors) names.insert(v.name);
  for (OutcomeMask mask : {kReachedVendor, kAllOutcomes, OutcomeBit(Outcome::kCut)}) {
    for (const std::string& name : names) {
      std::vector<uint16_t> ids;
      for (size_t i = 0; i < vendors.size(); ++i) {
        if (vendors[i].name == name) ids.push_back(static_cast<uint16_t>(i));
      }
      for (auto [from, to] : std::vector<std::pair<int64_t, int64_t>>{
               {INT64_MIN, INT64_MAX}, {start, start + span / 3}, {start + span / 4, start + span / 2 + 12345},
               {start + span / 2, start + span / 2}, {start + span - kDayUs / 3, start + span + kDayUs}}) {
        auto got = ledger.Who(name, from, to, mask);
        ASSERT_TRUE(got.ok()) << got.status().message();
        auto want = NaiveWho(all, ids, from, to, mask);
        ASSERT_EQ(got->size(), want.size()) << name << " [" << from << ", " << to << ")";
        for (const WhoEntry& e : *got) {
          auto it = want.find(e.subject);
          ASSERT_NE(it, want.end()) << "unexpected subject '" << e.subject << "'";
          EXPECT_FALSE(e.erased);
          EXPECT_EQ(e.categories, it->second.categories) << e.subject;
          EXPECT_EQ(e.first_us, it->second.first) << e.subject;
          EXPECT_EQ(e.last_us, it->second.last) << e.subject;
          EXPECT_EQ(e.counts, it->second.counts) << e.subject;
        }
        for (size_t i = 1; i < got->size(); ++i) EXPECT_LT((*got)[i - 1].subject_hash, (*got)[i].subject_hash);
      }
    }
    for (int s = 0; s < subjects; s += std::max(1, subjects / 23)) {
      const std::string subject = "user-" + std::to_string(s) + "@example.com";
      auto got = ledger.Subject(subject, mask);
      ASSERT_TRUE(got.ok()) << got.status().message();
      auto want = NaiveSubject(all, subject, mask);
      ASSERT_EQ(got->vendors.size(), want.size()) << subject;
      for (const SubjectVendorEntry& e : got->vendors) {
        auto it = want.find(e.vendor_id);
        ASSERT_NE(it, want.end());
        EXPECT_EQ(e.vendor, vendors[e.vendor_id]);
        EXPECT_EQ(e.categories, it->second.categories);
        EXPECT_EQ(e.first_us, it->second.first);
        EXPECT_EQ(e.last_us, it->second.last);
        EXPECT_EQ(e.counts, it->second.counts);
      }
    }
    auto unknown = ledger.Subject("nobody@example.com", mask);
    ASSERT_TRUE(unknown.ok());
    EXPECT_FALSE(unknown->found);
    EXPECT_TRUE(unknown->vendors.empty());
    for (int64_t since : {INT64_MIN, start + span / 2, start + span + kDayUs}) {
      auto got = ledger.Vendors(since, mask);
      ASSERT_TRUE(got.ok()) << got.status().message();
      auto want = NaiveVendors(all, since, mask);
      ASSERT_EQ(got->size(), vendors.size());
      for (const VendorSummary& v : *got) {
        EXPECT_EQ(v.vendor, vendors[v.vendor_id]);
        auto it = want.find(v.vendor_id);
        if (it == want.end()) {
          EXPECT_EQ(v.counts.total(), 0u);
          EXPECT_EQ(v.distinct_subjects, 0u);
          continue;
        }
        EXPECT_EQ(v.categories, it->second.agg.categories);
        EXPECT_EQ(v.counts, it->second.agg.counts);
        EXPECT_EQ(v.distinct_subjects, it->second.subjects.size());
        EXPECT_EQ(v.first_us, it->second.agg.first);
        EXPECT_EQ(v.last_us, it->second.agg.last);
      }
    }
  }
}

TEST(LedgerTest, RoundTripAcrossReopen) {
  TempDir dir;
  Clock clock;
  std::mt19937_64 rng(1);
  const auto records = RandomRecords(rng, 500, kT0, kDayUs / 2, 3, 40);
  {
    auto ledger = MustOpen(TestOptions(dir.path(), &clock));
    ASSERT_TRUE(ledger);
    EXPECT_EQ(ledger->vendors(), TestVendors());
    EXPECT_EQ(ledger->size(), 3u);  // the three vendor declarations
    const auto views = Views(records);
    ASSERT_TRUE(ledger->Append(views).ok());
    ASSERT_TRUE(ledger->Flush().ok());
    EXPECT_EQ(ledger->size(), 503u);
    ExpectQueriesMatch(*ledger, records, kT0, kDayUs / 2, 40);
    ASSERT_TRUE(ledger->Close().ok());
    ASSERT_TRUE(ledger->last_head().has_value());
    EXPECT_EQ(ledger->last_head()->head.tree_size, 503u);
  }
  ExpectVerifies(dir.path());
  auto ledger = MustOpen(TestOptions(dir.path(), &clock));
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->size(), 503u);  // nothing re-declared: the vendors did not change
  EXPECT_EQ(ledger->open_report().wal_records, 503u);
  EXPECT_FALSE(ledger->open_report().truncation.has_value());
  ExpectQueriesMatch(*ledger, records, kT0, kDayUs / 2, 40);
  // The same answers from a sealed segment as from the write-ahead log.
  ASSERT_TRUE(ledger->SealForTesting().ok());
  ExpectQueriesMatch(*ledger, records, kT0, kDayUs / 2, 40);
  ASSERT_TRUE(ledger->Close().ok());
  ExpectVerifies(dir.path());
}

// A segment without any subject (only vendor declarations and admin records, e.g. sign-ins) seals,
// reads back and verifies: the subject sort at a seal has nothing to sort.
TEST(LedgerTest, ASegmentWithoutSubjectsSealsAndVerifies) {
  TempDir dir;
  Clock clock;
  auto ledger = MustOpen(TestOptions(dir.path(), &clock));
  ASSERT_TRUE(ledger);
  const LedgerRecord admin = LedgerRecord::Admin(kT0, AdminAction::kLogin, kNoVendor, "alice", "login: user=alice");
  ASSERT_TRUE(ledger->Append({&admin, 1}).ok());
  ASSERT_TRUE(ledger->SealForTesting().ok());
  auto audit = ledger->Audit();
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].actor, "alice");
  EXPECT_EQ((*audit)[0].action, AdminAction::kLogin);
  ASSERT_TRUE(ledger->Close().ok());
  ExpectVerifies(dir.path());
}

TEST(LedgerTest, RejectsInvalidRecordsAndAppendsNothing) {
  TempDir dir;
  Clock clock;
  auto ledger = MustOpen(TestOptions(dir.path(), &clock));
  ASSERT_TRUE(ledger);
  OwnedRecord good;
  good.time_us = kT0;
  good.subject = "a";
  OwnedRecord bad_vendor = good;
  bad_vendor.vendor = 3;
  OwnedRecord bad_outcome = good;
  bad_outcome.outcome = 3;
  OwnedRecord declaration = good;
  declaration.kind = RecordKind::kVendorDeclaration;
  OwnedRecord long_iid = good;
  long_iid.insert_id.assign(256, 'x');
  for (const OwnedRecord* bad : {&bad_vendor, &bad_outcome, &declaration, &long_iid}) {
    const std::vector<LedgerRecord> batch = {good.View(), bad->View()};
    Status s = ledger->Append(batch);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.message();
  }
  EXPECT_EQ(ledger->size(), 3u);
  const LedgerRecord ok = good.View();
  EXPECT_TRUE(ledger->Append({&ok, 1}).ok());
  EXPECT_EQ(ledger->size(), 4u);
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_EQ(ledger->Append({&ok, 1}).code(), Status::Code::kFailedPrecondition);
}

TEST(LedgerTest, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  Clock clock;
  auto first = MustOpen(TestOptions(dir.path(), &clock));
  ASSERT_TRUE(first);
  auto second = Ledger::Open(TestOptions(dir.path(), &clock));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
}

TEST(LedgerTest, SealsByCountAndByDayAndQueriesStayRight) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 700;
  o.block_rows = 64;  // several row blocks per segment: block skipping is exercised
  std::mt19937_64 rng(2);
  const int64_t span = 5 * kDayUs;
  const auto records = RandomRecords(rng, 6000, kT0, span, 3, 300);
  {
    auto ledger = MustOpen(o);
    ASSERT_TRUE(ledger);
    const auto views = Views(records);
    for (size_t i = 0; i < views.size(); i += 97) {
      const size_t n = std::min<size_t>(97, views.size() - i);
      ASSERT_TRUE(ledger->Append({views.data() + i, n}).ok());
      if (i % 3 == 0) ASSERT_TRUE(ledger->Flush().ok());
    }
    ExpectQueriesMatch(*ledger, records, kT0, span, 300);
    ASSERT_TRUE(ledger->Close().ok());
  }
  const auto segs = FilesWithSuffix(dir.path(), ".vgl");
  ASSERT_GE(segs.size(), 8u);  // 6003 records / 700, and day boundaries
  uint64_t total = 0;
  bool saw_short = false;
  for (const auto& path : segs) {
    auto seg = SegmentFile::Open(path);
    ASSERT_TRUE(seg.ok()) << seg.status().message();
    EXPECT_LE((*seg)->record_count(), 700u);
    if ((*seg)->record_count() < 700) saw_short = true;  // sealed at a day boundary
    total += (*seg)->record_count();
    // A segment never starts a later day than the one of its first record... and holds at most one day
    // of records that came in time order (jittered ones may be a few seconds older).
    EXPECT_LE((*seg)->time_max() - (*seg)->time_min(), kDayUs + 5'000'000) << path;
    EXPECT_GT((*seg)->row_blocks().size(), 1u);
  }
  EXPECT_TRUE(saw_short);
  EXPECT_EQ(FilesWithSuffix(dir.path(), ".names").size(), segs.size());
  ExpectVerifies(dir.path());
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->size(), 6003u);
  EXPECT_EQ(ledger->size(), total + ledger->open_report().wal_records);
  ExpectQueriesMatch(*ledger, records, kT0, span, 300);
}

TEST(LedgerTest, ChangedVendorDeclarationGetsANewIdAndOldRecordsKeepTheirs) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  OwnedRecord r;
  r.time_us = kT0;
  r.subject = "jane@example.com";
  r.categories = 0x3;
  {
    auto ledger = MustOpen(o);
    ASSERT_TRUE(ledger);
    const LedgerRecord v = r.View();
    ASSERT_TRUE(ledger->Append({&v, 1}).ok());
  }
  o.vendors[0].legal_basis = "legitimate interest";
  o.vendors.push_back({"amplitude", "analytics", "consent", "US"});
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  ASSERT_EQ(ledger->vendors().size(), 5u);
  EXPECT_EQ(*ledger->VendorId("mixpanel"), 3);
  EXPECT_EQ(*ledger->VendorId("amplitude"), 4);
  r.vendor = 3;
  r.time_us = kT0 + 10;
  r.categories = 0x4;
  const LedgerRecord v = r.View();
  ASSERT_TRUE(ledger->Append({&v, 1}).ok());
  auto answer = ledger->Subject("jane@example.com");
  ASSERT_TRUE(answer.ok());
  ASSERT_EQ(answer->vendors.size(), 2u);
  EXPECT_EQ(answer->vendors[0].vendor.legal_basis, "consent");
  EXPECT_EQ(answer->vendors[0].categories, 0x3u);
  EXPECT_EQ(answer->vendors[1].vendor.legal_basis, "legitimate interest");
  EXPECT_EQ(answer->vendors[1].categories, 0x4u);
  auto who = ledger->Who("mixpanel", INT64_MIN, INT64_MAX);
  ASSERT_TRUE(who.ok());
  ASSERT_EQ(who->size(), 1u);
  EXPECT_EQ((*who)[0].categories, 0x7u);
  EXPECT_EQ((*who)[0].counts.delivered, 2u);
  EXPECT_EQ(ledger->Who("nosuchvendor", 0, 1).status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(ledger->Close().ok());
  ExpectVerifies(dir.path());
}

TEST(LedgerTest, EraseRemovesThePlaintextFromDiskAndKeepsTheTreeVerifiable) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 50;
  const std::string victim = "victim.person+tag@example.org";
  std::mt19937_64 rng(3);
  auto records = RandomRecords(rng, 400, kT0, 2 * kDayUs, 3, 20);
  for (size_t i = 0; i < records.size(); i += 37) {
    if (records[i].kind == RecordKind::kDisclosure) records[i].subject = victim;
  }
  records.back().subject = victim;  // also in the active segment
  records.back().kind = RecordKind::kDisclosure;
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  const auto views = Views(records);
  ASSERT_TRUE(ledger->Append(views).ok());
  ASSERT_TRUE(ledger->Flush().ok());
  auto before = ledger->Subject(victim, kAllOutcomes);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(before->found);
  ASSERT_FALSE(before->erased);

  auto erased = ledger->Erase(victim, "dpo@corp", kT0 + 3 * kDayUs);
  ASSERT_TRUE(erased.ok()) << erased.status().message();
  EXPECT_TRUE(erased->sealed_active);
  EXPECT_GE(erased->segments, 5u);

  // No file holds the identifier any more.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string bytes = ReadAll(e.path().string());
    EXPECT_EQ(bytes.find(victim), std::string::npos) << e.path();
  }
  // Its records remain, with the identifier shown as erased.
  auto after = ledger->Subject(victim, kAllOutcomes);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->found);
  EXPECT_TRUE(after->erased);
  ASSERT_EQ(after->vendors.size(), before->vendors.size());
  for (size_t i = 0; i < after->vendors.size(); ++i) EXPECT_EQ(after->vendors[i].counts, before->vendors[i].counts);
  auto who = ledger->Who("mixpanel", INT64_MIN, INT64_MAX);
  ASSERT_TRUE(who.ok());
  size_t erased_entries = 0;
  for (const WhoEntry& w : *who) {
    if (w.erased) {
      ++erased_entries;
      EXPECT_TRUE(w.subject.empty());
      EXPECT_EQ(w.subject_hash, erased->subject_hash);
    }
  }
  EXPECT_EQ(erased_entries, 1u);
  // Others are untouched; the tree verifies; the erasure is itself recorded.
  for (auto& r : records) {
    if (r.subject == victim) r.subject.clear();  // the naive model: no longer findable by name
  }
  auto other = ledger->Subject("user-3@example.com", kAllOutcomes);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->erased);
  EXPECT_EQ(other->vendors.size(), NaiveSubject(records, "user-3@example.com", kAllOutcomes).size());
  ASSERT_TRUE(ledger->Close().ok());
  ExpectVerifies(dir.path());
  auto reopened = MustOpen(o);
  ASSERT_TRUE(reopened);
  auto again = reopened->Subject(victim);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->erased);
}

TEST(LedgerTest, RetentionDropsOldSegmentsAndTheRestStillVerifies) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  std::mt19937_64 rng(4);
  const auto records = RandomRecords(rng, 3000, kT0, 10 * kDayUs, 3, 100);
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  const auto views = Views(records);
  for (size_t i = 0; i < views.size(); i += 100) {
    ASSERT_TRUE(ledger->Append({views.data() + i, std::min<size_t>(100, views.size() - i)}).ok());
    clock.now += 2'000'000;  // a signed head at every flush
    ASSERT_TRUE(ledger->Flush().ok());
  }
  ASSERT_TRUE(ledger->WaitForSeal().ok());  // the last seal may still be writing its segment
  const size_t segments_before = FilesWithSuffix(dir.path(), ".vgl").size();
  ASSERT_GE(segments_before, 9u);
  const int64_t cutoff = kT0 + 5 * kDayUs;
  auto result = ledger->ApplyRetention(cutoff, "retention-job", kT0 + 11 * kDayUs);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_GE(result->segments_dropped, 3u);
  // The retention record (dated a later day than the active segment's) sealed the active segment first.
  EXPECT_EQ(FilesWithSuffix(dir.path(), ".vgl").size(), segments_before - result->segments_dropped + 1);
  EXPECT_EQ(FilesWithSuffix(dir.path(), ".names").size(), segments_before - result->segments_dropped + 1);
  // Queries now see only what is retained: compare with the model minus the dropped records.
  std::vector<OwnedRecord> retained;
  {
    uint64_t index = 3;  // after the declarations
    for (const auto& r : records) {
      if (index++ >= result->first_retained_index) retained.push_back(r);
    }
  }
  ExpectQueriesMatch(*ledger, retained, kT0, 10 * kDayUs, 100);
  ASSERT_TRUE(ledger->Close().ok());
  VerifyReport report = Verify(dir.path());
  ASSERT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.first_record, result->first_retained_index);
  EXPECT_GT(report.heads_matched, 0u);
  EXPECT_FALSE(report.notes.empty());  // older heads checked as signatures only
  // Reopen, append more, still verifiable; vendor table intact.
  auto reopened = MustOpen(o);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->vendors(), TestVendors());
  const LedgerRecord more = records.front().View();
  ASSERT_TRUE(reopened->Append({&more, 1}).ok());
  ASSERT_TRUE(reopened->Close().ok());
  ExpectVerifies(dir.path());
}

TEST(LedgerTest, ConcurrentAppendsFromSeveralThreads) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 1000;
  o.sync = true;
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<OwnedRecord> batch;
      for (int i = 0; i < kPerThread; ++i) {
        OwnedRecord r;
        r.time_us = kT0 + i;
        r.vendor = static_cast<uint16_t>(t % 3);
        r.subject = "thread-" + std::to_string(t);
        r.categories = 1u << t;
        r.insert_id = std::to_string(t) + "-" + std::to_string(i);
        batch.push_back(std::move(r));
        if (batch.size() == 50) {
          const auto views = Views(batch);
          ASSERT_TRUE(ledger->Append(views).ok());
          ASSERT_TRUE(ledger->Flush().ok());
          batch.clear();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ledger->size(), 3u + kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    auto answer = ledger->Subject("thread-" + std::to_string(t));
    ASSERT_TRUE(answer.ok());
    ASSERT_EQ(answer->vendors.size(), 1u);
    EXPECT_EQ(answer->vendors[0].vendor_id, t % 3);
    EXPECT_EQ(answer->vendors[0].counts.delivered, static_cast<uint64_t>(kPerThread));
    EXPECT_EQ(answer->vendors[0].categories, 1u << t);
  }
  ASSERT_TRUE(ledger->Close().ok());
  ExpectVerifies(dir.path());
}

OwnedRecord Disclosure(int t, int i) {
  OwnedRecord r;
  r.time_us = kT0 + i;
  r.vendor = static_cast<uint16_t>(t % 3);
  r.subject = "thread-" + std::to_string(t);
  r.categories = 1u << (t % 16);
  r.insert_id = std::to_string(t) + "-" + std::to_string(i);
  return r;
}

// Regression (ConcurrentAppendsFromSeveralThreads failed once in CI with "signed tree head #1 covers 10003
// records but the ledger holds 10000"): thread A appends and calls Flush, which notes its target; before A
// takes the locks, thread B appends a batch that seals the full active segment (which makes A's records
// durable) and adds records after the seal, which stay in the WAL buffer. A's Flush then found its records
// durable, wrote nothing, and still recorded the whole frontier as durable; the next Flush (or Close) signed
// a head over the buffered records without ever writing them, and Close dropped them. The test hook runs
// B's append in exactly that window.
TEST(LedgerTest, FlushAfterAConcurrentSealDoesNotClaimBufferedRecordsDurable) {
  for (bool sync : {false, true}) {
    SCOPED_TRACE(sync ? "sync" : "no sync");
    TempDir dir;
    Clock clock;
    LedgerOptions o = TestOptions(dir.path(), &clock);
    o.max_segment_records = 5;  // 3 declarations + 2 records fill the first segment
    o.sync = sync;
    Ledger* self = nullptr;
    bool armed = false;
    const std::vector<OwnedRecord> first = {Disclosure(0, 0), Disclosure(0, 1)};
    const std::vector<OwnedRecord> second = {Disclosure(1, 0), Disclosure(1, 1), Disclosure(1, 2)};
    o.flush_hook_for_testing = [&] {
      if (!armed) return;
      armed = false;
      // "Thread B": its first record seals [0, 5); the other two stay buffered.
      EXPECT_TRUE(self->Append(Views(second)).ok());
    };
    auto ledger = MustOpen(o);
    ASSERT_TRUE(ledger);
    self = ledger.get();
    ASSERT_TRUE(ledger->Append(Views(first)).ok());
    armed = true;
    ASSERT_TRUE(ledger->Flush().ok());  // "thread A"
    EXPECT_FALSE(armed);
    ASSERT_EQ(ledger->size(), 8u);
    ASSERT_TRUE(ledger->Flush().ok());  // "thread B" flushes its batch
    ASSERT_TRUE(ledger->Close().ok());
    ExpectVerifies(dir.path());
    o.flush_hook_for_testing = nullptr;
    auto reopened = Ledger::Open(o);
    ASSERT_TRUE(reopened.ok()) << reopened.status().message();
    EXPECT_EQ((*reopened)->size(), 8u);
    auto answer = (*reopened)->Subject("thread-1");
    ASSERT_TRUE(answer.ok());
    ASSERT_EQ(answer->vendors.size(), 1u);
    EXPECT_EQ(answer->vendors[0].counts.delivered, 3u);
  }
}

// The same race without a hook: several threads, small batches and tiny segments, so seals inside Append
// interleave with other threads' Flush all the time; many short rounds, because only a lost update near the
// end of a round (no later Flush writes the buffer) loses records. Each round must verify after Close and
// reopen whole.
TEST(LedgerTest, ConcurrentAppendsSealsAndFlushesStress) {
  for (int round = 0; round < 100; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TempDir dir;
    Clock clock;
    LedgerOptions o = TestOptions(dir.path(), &clock);
    o.max_segment_records = 4 + round % 5;
    auto ledger = MustOpen(o);
    ASSERT_TRUE(ledger);
    constexpr int kThreads = 6;
    constexpr int kPerThread = 24;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<OwnedRecord> batch;
        for (int i = 0; i < kPerThread; ++i) {
          batch.push_back(Disclosure(t, i));
          if (batch.size() == static_cast<size_t>(1 + (t + i) % 4) || i + 1 == kPerThread) {
            ASSERT_TRUE(ledger->Append(Views(batch)).ok());
            ASSERT_TRUE(ledger->Flush().ok());
            batch.clear();
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(ledger->size(), 3u + kThreads * kPerThread);
    ASSERT_TRUE(ledger->Close().ok());
    VerifyReport r = Verify(dir.path());
    ASSERT_TRUE(r.ok) << r.problem;
    auto reopened = Ledger::Open(o);
    ASSERT_TRUE(reopened.ok()) << reopened.status().message();
    ASSERT_EQ((*reopened)->size(), 3u + kThreads * kPerThread);
  }
}

// Not a benchmark (bench/ has those): prints the append rate with hashing for one thread, and fails only
// if it is absurdly low. Debug builds with sanitizers run several times slower than release.
TEST(LedgerTest, AppendThroughputOneThread) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  const size_t n = std::getenv("VG_LEDGER_BENCH_RECORDS") ? std::stoul(std::getenv("VG_LEDGER_BENCH_RECORDS"))
                                                          : 200'000;
  std::vector<std::string> subjects(std::getenv("VG_LEDGER_BENCH_SUBJECTS")
                                        ? std::stoul(std::getenv("VG_LEDGER_BENCH_SUBJECTS"))
                                        : 100'000);
  for (size_t i = 0; i < subjects.size(); ++i) subjects[i] = "user-" + std::to_string(i * 7919) + "@example.com";
  // Each record owns its strings, as an event owns its buffer: the benchmark measures the ledger, not
  // cache misses on a shared pool of identifiers.
  std::vector<std::string> subject_of(n);
  std::vector<std::string> iids(n);
  std::vector<LedgerRecord> records(n);
  std::mt19937_64 rng(5);
  for (size_t i = 0; i < n; ++i) {
    iids[i] = "6f1c0a3e-" + std::to_string(rng());
    subject_of[i] = subjects[rng() % subjects.size()];
    Hash h;
    for (auto& b : h) b = static_cast<uint8_t>(rng());
    records[i] = LedgerRecord::Disclosure(kT0 + static_cast<int64_t>(i) * 1000, static_cast<uint16_t>(i % 3),
                                          subject_of[i], 1, 0x5, Outcome::kDelivered, iids[i], h);
  }
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; i += 1000) {
    ASSERT_TRUE(ledger->Append({records.data() + i, std::min<size_t>(1000, n - i)}).ok());
  }
  ASSERT_TRUE(ledger->Flush().ok());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = static_cast<double>(n) / secs;
  std::printf("[ ledger  ] appended %zu records (leaf + subject HMAC + Merkle + WAL + sealing) in %.3f s: %.0f records/s\n",
              n, secs, rate);
  EXPECT_GT(rate, 10'000.0);
  ASSERT_TRUE(ledger->SealForTesting().ok());  // measure the sealed form
  ASSERT_TRUE(ledger->Close().ok());
  uint64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string p = e.path().string();
    if (p.ends_with(".vgl") || p.ends_with(".names") || p.ends_with(".log")) bytes += fs::file_size(e.path());
  }
  std::printf("[ ledger  ] %.1f bytes on disk per record, sealed (subjects drawn from %zu)\n",
              static_cast<double>(bytes) / static_cast<double>(n), subjects.size());
}

}  // namespace
}  // namespace vg::ledger

namespace vg::ledger {
namespace {

using namespace vg::ledger::testing;

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A scale check of the query path, skipped unless VG_LEDGER_SCALE_RECORDS is set (bench/ holds the real
// benchmarks): N records over 90 days, VG_LEDGER_SCALE_SUBJECTS subjects (default 1M), 8 vendors; times
// `who` for a 16-day window of one vendor, `subject` and `vendors`. VG_LEDGER_SCALE_DIR keeps the ledger
// between runs (an existing one is queried, not rebuilt).
TEST(LedgerScaleTest, QueriesOverNinetyDays) {
  const char* records_env = std::getenv("VG_LEDGER_SCALE_RECORDS");
  if (records_env == nullptr) GTEST_SKIP() << "set VG_LEDGER_SCALE_RECORDS to run";
  const uint64_t n = std::stoull(records_env);
  const uint64_t subjects =
      std::getenv("VG_LEDGER_SCALE_SUBJECTS") ? std::stoull(std::getenv("VG_LEDGER_SCALE_SUBJECTS")) : 1'000'000;
  TempDir tmp;
  const std::string dir = std::getenv("VG_LEDGER_SCALE_DIR") ? std::getenv("VG_LEDGER_SCALE_DIR") : tmp.path();
  Clock clock;
  LedgerOptions o = TestOptions(dir, &clock);
  o.vendors.clear();
  for (int v = 0; v < 8; ++v) o.vendors.push_back({"vendor-" + std::to_string(v), "analytics", "consent", "US"});
  const bool exists = fs::exists(dir) && !FilesWithSuffix(dir, ".vgl").empty();
  using Clk = std::chrono::steady_clock;
  if (!exists) {
    auto ledger = MustOpen(o);
    ASSERT_TRUE(ledger);
    uint64_t rng = 1;
    const int64_t step = 90 * kDayUs / static_cast<int64_t>(n);
    std::vector<std::string> subject(10000), iid(10000);
    std::vector<LedgerRecord> batch(10000);
    const auto start = Clk::now();
    for (uint64_t i = 0; i < n; i += batch.size()) {
      const size_t m = std::min<uint64_t>(batch.size(), n - i);
      for (size_t k = 0; k < m; ++k) {
        const uint64_t r = SplitMix(&rng);
        subject[k] = "user-" + std::to_string(r % subjects) + "@example.com";
        iid[k] = std::to_string(SplitMix(&rng));
        Hash h;
        for (size_t b = 0; b < h.size(); b += 8) {
          const uint64_t x = SplitMix(&rng);
          std::memcpy(h.data() + b, &x, 8);
        }
        const uint32_t cats = static_cast<uint32_t>(1u << ((r >> 40) % 9)) | 1u;
        batch[k] = LedgerRecord::Disclosure(kT0 + static_cast<int64_t>(i + k) * step,
                                            static_cast<uint16_t>((r >> 32) % 8), subject[k], 1, cats,
                                            ((r >> 48) % 20 == 0) ? Outcome::kDeadLettered : Outcome::kDelivered,
                                            iid[k], h);
      }
      ASSERT_TRUE(ledger->Append({batch.data(), m}).ok());
    }
    ASSERT_TRUE(ledger->Close().ok());
    const double secs = std::chrono::duration<double>(Clk::now() - start).count();
    std::printf("[ scale   ] %" PRIu64 " records appended in %.1f s (%.0f/s, generation included)\n", n, secs,
                static_cast<double>(n) / secs);
  }
  uint64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(dir)) bytes += fs::file_size(e.path());
  const auto t_open = Clk::now();
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  std::printf("[ scale   ] open: %.3f s, %" PRIu64 " records, %.1f bytes/record on disk\n",
              std::chrono::duration<double>(Clk::now() - t_open).count(), ledger->size(),
              static_cast<double>(bytes) / static_cast<double>(ledger->size()));
  for (int round = 0; round < 2; ++round) {
    const auto t0 = Clk::now();
    auto who = ledger->Who("vendor-3", kT0 + 30 * kDayUs, kT0 + 46 * kDayUs);
    ASSERT_TRUE(who.ok()) << who.status().message();
    const double who_s = std::chrono::duration<double>(Clk::now() - t0).count();
    uint64_t total = 0;
    for (const auto& e : *who) total += e.counts.total();
    const auto t1 = Clk::now();
    auto subject = ledger->Subject("user-42@example.com");
    ASSERT_TRUE(subject.ok());
    const double subject_s = std::chrono::duration<double>(Clk::now() - t1).count();
    const auto t2 = Clk::now();
    auto vendors = ledger->Vendors(kT0 + 83 * kDayUs);
    ASSERT_TRUE(vendors.ok());
    const double vendors_s = std::chrono::duration<double>(Clk::now() - t2).count();
    std::printf("[ scale   ] round %d: who (16 days, 1 of 8 vendors): %.3f s, %zu subjects, %" PRIu64
                " records; subject: %.3f s, %zu vendors; vendors (last 7 days): %.3f s\n",
                round, who_s, who->size(), total, subject_s, subject->vendors.size(), vendors_s);
  }
  if (std::getenv("VG_LEDGER_SCALE_VERIFY") != nullptr) {
    ASSERT_TRUE(ledger->Close().ok());
    const auto t = Clk::now();
    VerifyReport r = Verify(dir);
    EXPECT_TRUE(r.ok) << r.problem;
    std::printf("[ scale   ] verify: %.1f s, %" PRIu64 " records, %" PRIu64 " heads matched, %" PRIu64 " names\n",
                std::chrono::duration<double>(Clk::now() - t).count(), r.records, r.heads_matched, r.names_checked);
  }
}


// ---- Background seals (LedgerOptions::background_seal) ----

// Holds the background sealer at its start (before it writes anything) until Release(); each seal after
// the first `hold` ones passes straight through.
struct SealGate {
  std::mutex mu;
  std::condition_variable cv;
  int held = 0, hold = 1;
  bool released = false;
  std::function<void()> hook() {
    return [this] {
      std::unique_lock lock(mu);
      if (held >= hold) return;
      ++held;
      cv.notify_all();
      cv.wait(lock, [&] { return released; });
    };
  }
  void WaitHeld() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return held >= hold; });
  }
  void Release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
};

// The write-ahead logs in `dir` (not heads.log).
std::vector<std::string> Wals(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& p : FilesWithSuffix(dir, ".log")) {
    if (fs::path(p).filename().string().starts_with("wal-")) out.push_back(p);
  }
  return out;
}

size_t NaiveAuditCount(const std::vector<OwnedRecord>& all) {
  size_t n = 0;
  for (const auto& r : all) n += r.kind == RecordKind::kAdmin;
  return n;
}

TEST(LedgerBackgroundSealTest, QueriesWhileASealIsInFlightSeeTheSegmentBeingSealed) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 1000;
  o.block_rows = 64;
  SealGate gate;
  o.seal_hook_for_testing = gate.hook();
  std::mt19937_64 rng(11);
  const int64_t span = kDayUs / 2;  // one day: seals by count only
  const auto records = RandomRecords(rng, 1600, kT0, span, 3, 400);
  const auto views = Views(records);
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  // 3 declarations + 997 records fill the segment; the next record starts the seal, which the gate holds.
  ASSERT_TRUE(ledger->Append({views.data(), 1200}).ok());
  ASSERT_TRUE(ledger->Flush().ok());
  gate.WaitHeld();
  // Two logs, no segment yet: the first 1000 records exist only in memory (sealed form) and in the old log.
  EXPECT_EQ(Wals(dir.path()).size(), 2u);
  EXPECT_EQ(FilesWithSuffix(dir.path(), ".vgl").size(), 0u);
  std::vector<OwnedRecord> so_far(records.begin(), records.begin() + 1200);
  ExpectQueriesMatch(*ledger, so_far, kT0, span, 400);
  auto audit = ledger->Audit(INT64_MIN, INT64_MAX, 0);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), NaiveAuditCount(so_far));
  // Appending goes on meanwhile (into the new active segment), and queries see all three parts.
  ASSERT_TRUE(ledger->Append({views.data() + 1200, 400}).ok());
  ASSERT_TRUE(ledger->Flush().ok());
  ExpectQueriesMatch(*ledger, records, kT0, span, 400);
  EXPECT_EQ(ledger->size(), 1603u);
  gate.Release();
  ASSERT_TRUE(ledger->WaitForSeal().ok());
  EXPECT_EQ(Wals(dir.path()).size(), 1u);
  EXPECT_EQ(FilesWithSuffix(dir.path(), ".vgl").size(), 1u);
  ExpectQueriesMatch(*ledger, records, kT0, span, 400);
  ASSERT_TRUE(ledger->Close().ok());
  ExpectVerifies(dir.path());
}

// A crash while a background seal is in flight, at each point the sealer can reach: nothing written
// yet (two logs), the name table written, the segment written (the old log not yet deleted). Open
// completes the seal (or finds it done) and loses no record; a read-only open and Verify read both logs.
TEST(LedgerBackgroundSealTest, ACrashDuringABackgroundSealLosesNothing) {
  TempDir dir, crash;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 500;
  SealGate gate;
  o.seal_hook_for_testing = gate.hook();
  std::mt19937_64 rng(12);
  const int64_t span = kDayUs / 2;
  const auto records = RandomRecords(rng, 800, kT0, span, 3, 200);
  const auto views = Views(records);
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  ASSERT_TRUE(ledger->Append(views).ok());
  ASSERT_TRUE(ledger->Flush().ok());
  gate.WaitHeld();
  CopyDir(dir.path(), crash.path());  // the files as a crash would leave them now
  gate.Release();
  ASSERT_TRUE(ledger->Close().ok());
  ledger.reset();
  const auto wals = Wals(crash.path());
  ASSERT_EQ(wals.size(), 2u);
  const std::string seg_name = fs::path(FilesWithSuffix(dir.path(), ".vgl").at(0)).filename().string();
  const std::string names_name = fs::path(FilesWithSuffix(dir.path(), ".names").at(0)).filename().string();

  for (int point = 0; point < 3; ++point) {
    SCOPED_TRACE("crash point " + std::to_string(point));
    TempDir d;
    CopyDir(crash.path(), d.path());
    if (point >= 1) fs::copy_file(dir / names_name, d / names_name);
    if (point >= 2) fs::copy_file(dir / seg_name, d / seg_name);
    ExpectVerifies(d.path());
    {
      auto ro = Ledger::OpenReadOnly(d.path());
      ASSERT_TRUE(ro.ok()) << ro.status().message();
      EXPECT_EQ((*ro)->size(), 803u);
      ExpectQueriesMatch(**ro, records, kT0, span, 200);
    }
    EXPECT_EQ(Wals(d.path()).size(), 2u);  // the read-only open changed nothing
    LedgerOptions ro_opts = TestOptions(d.path(), &clock);
    auto reopened = MustOpen(ro_opts);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->size(), 803u);
    EXPECT_FALSE(reopened->open_report().removed.empty());
    EXPECT_EQ(Wals(d.path()).size(), 1u);
    EXPECT_EQ(FilesWithSuffix(d.path(), ".vgl").size(), 1u);
    EXPECT_EQ(FilesWithSuffix(d.path(), ".names").size(), 1u);
    ExpectQueriesMatch(*reopened, records, kT0, span, 200);
    ASSERT_TRUE(reopened->Close().ok());
    ExpectVerifies(d.path());
  }

  // A torn tail in the second log is cut as usual; the first log's records stay.
  {
    TempDir d;
    CopyDir(crash.path(), d.path());
    const std::string second = Wals(d.path()).at(1);
    fs::resize_file(second, fs::file_size(second) - 7);
    auto reopened = Ledger::Open(TestOptions(d.path(), &clock));
    ASSERT_TRUE(reopened.ok()) << reopened.status().message();
    EXPECT_TRUE((*reopened)->open_report().truncation.has_value());
    EXPECT_GE((*reopened)->size(), 500u);
    EXPECT_LT((*reopened)->size(), 803u);
  }
  // Damage in the first log cannot be a torn write (it was complete before the second was created):
  // the open fails, naming the file, and deletes nothing.
  {
    TempDir d;
    CopyDir(crash.path(), d.path());
    const std::string first = Wals(d.path()).at(0);
    fs::resize_file(first, fs::file_size(first) - 7);
    auto reopened = Ledger::Open(TestOptions(d.path(), &clock));
    ASSERT_FALSE(reopened.ok());
    EXPECT_NE(reopened.status().message().find(fs::path(first).filename().string()), std::string::npos)
        << reopened.status().message();
    EXPECT_EQ(Wals(d.path()).size(), 2u);
  }
}

// Erase and retention wait for a seal in flight: the segment being sealed holds the identifier, and its
// name table must exist before it can be rewritten.
TEST(LedgerBackgroundSealTest, EraseDuringASlowBackgroundSealErasesFromTheNewSegment) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 300;
  o.seal_hook_for_testing = [] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); };
  const std::string victim = "slow.seal.victim@example.org";
  std::mt19937_64 rng(13);
  auto records = RandomRecords(rng, 320, kT0, kDayUs / 2, 3, 50, /*with_admin=*/false);
  records[10].subject = victim;
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  ASSERT_TRUE(ledger->Append(Views(records)).ok());  // starts a seal of the first 300 records
  auto erased = ledger->Erase(victim, "dpo@corp", kT0 + kDayUs);
  ASSERT_TRUE(erased.ok()) << erased.status().message();
  EXPECT_EQ(erased->segments, 1u);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(ReadAll(e.path().string()).find(victim), std::string::npos) << e.path();
  }
  auto after = ledger->Subject(victim, kAllOutcomes);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->found);
  EXPECT_TRUE(after->erased);
  ASSERT_TRUE(ledger->Close().ok());
  ExpectVerifies(dir.path());
}

// The same records through a background and a foreground sealer give byte-identical segments.
TEST(LedgerBackgroundSealTest, SameSegmentsAsSealingInTheAppendingThread) {
  std::mt19937_64 rng(14);
  const auto records = RandomRecords(rng, 3000, kT0, 3 * kDayUs, 3, 500);
  std::vector<std::vector<std::string>> segs(2);
  TempDir dirs[2];
  for (int background = 0; background < 2; ++background) {
    const TempDir& dir = dirs[background];
    // The same subject key (else the keyed hashes, and so the sort order, differ).
    if (background == 1) fs::copy_file(dirs[0] / "subject.key", dir / "subject.key");
    Clock clock;
    LedgerOptions o = TestOptions(dir.path(), &clock);
    o.max_segment_records = 400;
    o.background_seal = background != 0;
    auto ledger = MustOpen(o);
    ASSERT_TRUE(ledger);
    const auto views = Views(records);
    for (size_t i = 0; i < views.size(); i += 101) {
      ASSERT_TRUE(ledger->Append({views.data() + i, std::min<size_t>(101, views.size() - i)}).ok());
    }
    ASSERT_TRUE(ledger->Close().ok());
    for (const auto& path : FilesWithSuffix(dir.path(), ".vgl")) {
      segs[background].push_back(fs::path(path).filename().string() + ":" + ReadAll(path));
    }
    for (const auto& path : FilesWithSuffix(dir.path(), ".names")) {
      segs[background].push_back(fs::path(path).filename().string() + ":" + ReadAll(path));
    }
  }
  ASSERT_GE(segs[0].size(), 16u);
  ASSERT_EQ(segs[0].size(), segs[1].size());
  for (size_t i = 0; i < segs[0].size(); ++i) {
    EXPECT_TRUE(segs[0][i] == segs[1][i]) << segs[0][i].substr(0, 30) << " (" << segs[0][i].size() << " bytes) vs "
                                          << segs[1][i].substr(0, 30) << " (" << segs[1][i].size() << " bytes)";
  }
}


// Queries on another thread while appends start background seals one after another (no hook: the
// sealer, the reaping of finished seals and the reuse of their storage all race the queries). Every
// answer counts each record exactly once: between what was appended before and after the query.
TEST(LedgerBackgroundSealTest, QueriesRacingAppendsAndSealsCountEveryRecordOnce) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 500;
  o.block_rows = 64;
  std::mt19937_64 rng(15);
  const auto records = RandomRecords(rng, 8000, kT0, kDayUs / 2, 3, 300, /*with_admin=*/false);
  const auto views = Views(records);
  // want_who[n], want_vendor[n]: what Who("mixpanel") and Vendors() count for vendor 0 after n records.
  std::vector<uint64_t> want_who(records.size() + 1, 0), want_vendor(records.size() + 1, 0);
  for (size_t i = 0; i < records.size(); ++i) {
    const OwnedRecord& r = records[i];
    const bool counted = r.kind == RecordKind::kDisclosure && r.vendor == 0 && InMask(r.outcome, kReachedVendor);
    want_vendor[i + 1] = want_vendor[i] + counted;
    want_who[i + 1] = want_who[i] + (counted && !r.subject.empty());
  }
  auto ledger = MustOpen(o);
  ASSERT_TRUE(ledger);
  std::atomic<size_t> appended{0};  // Append returned for these
  std::atomic<size_t> started{0};   // Append was called for these (some may be visible already)
  std::atomic<bool> done{false};
  std::atomic<int> queries{0};
  std::thread reader([&] {
    while (!done.load()) {
      const size_t lo = appended.load();
      auto who = ledger->Who("mixpanel", INT64_MIN, INT64_MAX);
      auto vendors = ledger->Vendors(INT64_MIN);
      const size_t hi = started.load();
      ASSERT_TRUE(who.ok()) << who.status().message();
      ASSERT_TRUE(vendors.ok()) << vendors.status().message();
      uint64_t who_total = 0;
      for (const WhoEntry& e : *who) who_total += e.counts.total();
      ASSERT_GE(who_total, want_who[lo]);
      ASSERT_LE(who_total, want_who[hi]);
      ASSERT_GE((*vendors)[0].counts.total(), want_vendor[lo]);
      ASSERT_LE((*vendors)[0].counts.total(), want_vendor[hi]);
      queries.fetch_add(1);
    }
  });
  for (size_t i = 0; i < views.size(); i += 40) {
    const size_t n = std::min<size_t>(40, views.size() - i);
    started.store(i + n);
    ASSERT_TRUE(ledger->Append({views.data() + i, n}).ok());
    appended.store(i + n);
    if ((i / 40) % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  done.store(true);
  reader.join();
  EXPECT_GT(queries.load(), 0);
  ASSERT_TRUE(ledger->Close().ok());
  EXPECT_GE(FilesWithSuffix(dir.path(), ".vgl").size(), 15u);
  ExpectVerifies(dir.path());
  ExpectQueriesMatch(*ledger, records, kT0, kDayUs / 2, 300);
}

}  // namespace
}  // namespace vg::ledger
