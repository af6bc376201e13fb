// Read-only opens (Ledger::OpenReadOnly): queries from another process while the gateway holds the ledger
// open and appends. The reader sees what the writer wrote, changes no file (not even a torn tail or a
// seal's leftovers, which are the writer's), retries when the writer seals between its listing and its
// reads (deterministically through the listing hook, and in a loop against a writer that seals all the
// time), refuses every write, and names the path when there is no ledger. Verify's progress callback.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "ledger/ledger.h"
#include "ledger/ledger_format.h"
#include "ledger_test_util.h"

namespace vg::ledger {
namespace {

using namespace vg::ledger::testing;

std::unique_ptr<Ledger> MustOpen(const LedgerOptions& o) {
  auto l = Ledger::Open(o);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? std::move(*l) : nullptr;
}

std::unique_ptr<Ledger> MustOpenReadOnly(const std::string& dir) {
  auto l = Ledger::OpenReadOnly(dir);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? std::move(*l) : nullptr;
}

// Every query of `ledger` against the naive model of `records` (the disclosures after the three vendor
// declarations of TestVendors()). Returns "" when all match, else the first difference.
std::string QueriesMismatch(const Ledger& ledger, const std::vector<OwnedRecord>& records, int subjects) {
  for (uint16_t v = 0; v < 3; ++v) {
    const std::string name = TestVendors()[v].name;
    auto got = ledger.Who(name, INT64_MIN, INT64_MAX);
    if (!got.ok()) return "who " + name + ": " + got.status().message();
    auto want = NaiveWho(records, {v}, INT64_MIN, INT64_MAX, kReachedVendor);
    if (got->size() != want.size()) {
      return "who " + name + ": " + std::to_string(got->size()) + " subjects, want " + std::to_string(want.size());
    }
    for (const WhoEntry& e : *got) {
      auto it = want.find(e.subject);
      if (it == want.end()) return "who " + name + ": unexpected subject '" + e.subject + "'";
      if (e.categories != it->second.categories || e.first_us != it->second.first || e.last_us != it->second.last ||
          !(e.counts == it->second.counts)) {
        return "who " + name + ": subject '" + e.subject + "' differs";
      }
    }
  }
  auto vendors = ledger.Vendors();
  if (!vendors.ok()) return "vendors: " + vendors.status().message();
  auto want_vendors = NaiveVendors(records, INT64_MIN, kReachedVendor);
  if (vendors->size() != 3) return "vendors: " + std::to_string(vendors->size()) + " declarations";
  for (const VendorSummary& s : *vendors) {
    const NaiveVendor want = want_vendors.count(s.vendor_id) ? want_vendors[s.vendor_id] : NaiveVendor{};
    if (s.counts != want.agg.counts || s.distinct_subjects != want.subjects.size() ||
        s.categories != want.agg.categories) {
      return "vendors: vendor " + std::to_string(s.vendor_id) + " differs";
    }
  }
  for (int i = 0; i < subjects; i += 3) {
    const std::string subject = "user-" + std::to_string(i) + "@example.com";
    auto got = ledger.Subject(subject);
    if (!got.ok()) return "subject: " + got.status().message();
    auto want = NaiveSubject(records, subject, kReachedVendor);
    if (got->vendors.size() != want.size()) return "subject " + subject + ": vendor count differs";
    for (const SubjectVendorEntry& e : got->vendors) {
      auto it = want.find(e.vendor_id);
      if (it == want.end() || !(e.counts == it->second.counts) || e.categories != it->second.categories) {
        return "subject " + subject + ": vendor " + std::to_string(e.vendor_id) + " differs";
      }
    }
  }
  return "";
}

// Every file's bytes and modification time, and the directory's entries.
struct DirState {
  std::map<std::string, std::pair<std::string, int64_t>> files;
  bool operator==(const DirState&) const = default;
};
DirState Snapshot(const std::string& dir) {
  DirState s;
  for (const auto& e : fs::directory_iterator(dir)) {
    struct stat st;
    EXPECT_EQ(::stat(e.path().c_str(), &st), 0);
    const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    s.files[e.path().filename().string()] = {ReadAll(e.path().string()), mtime_ns};
  }
  return s;
}
std::string Names(const DirState& s) {
  std::string out;
  for (const auto& [name, _] : s.files) out += name + " ";
  return out;
}

TEST(LedgerReadOnlyTest, ReadsWhatTheWriterFlushedWhileTheWriterKeepsItOpen) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 300;  // some records in sealed segments, the rest in the write-ahead log
  auto writer = MustOpen(o);
  ASSERT_TRUE(writer);
  std::mt19937_64 rng(11);
  auto records = RandomRecords(rng, 1000, kT0, kDayUs / 2, 3, 30, /*with_admin=*/false);
  ASSERT_TRUE(writer->Append(Views(records)).ok());
  ASSERT_TRUE(writer->Flush().ok());

  auto reader = MustOpenReadOnly(dir.path());
  ASSERT_TRUE(reader);
  EXPECT_TRUE(reader->read_only());
  EXPECT_EQ(reader->size(), writer->size());
  EXPECT_EQ(reader->vendors(), TestVendors());
  EXPECT_GT(reader->open_report().segments, 0u);
  EXPECT_GT(reader->open_report().wal_records, 0u);
  EXPECT_EQ(reader->public_key(), writer->public_key());
  ASSERT_TRUE(reader->last_head().has_value());
  EXPECT_EQ(QueriesMismatch(*reader, records, 30), "");

  // The writer goes on; the reader holds its snapshot, and a new reader sees the new records once they
  // are written.
  auto more = RandomRecords(rng, 200, kT0 + kDayUs / 2, kDayUs / 4, 3, 30, /*with_admin=*/false);
  ASSERT_TRUE(writer->Append(Views(more)).ok());
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_EQ(reader->size(), 1003u);
  EXPECT_EQ(QueriesMismatch(*reader, records, 30), "");
  auto all = records;
  all.insert(all.end(), more.begin(), more.end());
  auto reader2 = MustOpenReadOnly(dir.path());
  ASSERT_TRUE(reader2);
  EXPECT_EQ(reader2->size(), 1203u);
  EXPECT_EQ(QueriesMismatch(*reader2, all, 30), "");
  ASSERT_TRUE(writer->Close().ok());
  VerifyReport r = Verify(dir.path());
  EXPECT_TRUE(r.ok) << r.problem;
}

TEST(LedgerReadOnlyTest, ChangesNoFileNotEvenATornTailOrASealsLeftovers) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 100;
  std::mt19937_64 rng(12);
  auto records = RandomRecords(rng, 250, kT0, kDayUs / 2, 3, 20, /*with_admin=*/false);
  {
    auto writer = MustOpen(o);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->Append(Views(records)).ok());
    ASSERT_TRUE(writer->Close().ok());
  }
  // What a writer leaves mid-work: a partial frame at the end of the log, a segment being written, and a
  // name table whose segment is not renamed into place yet.
  const auto wals = FilesWithSuffix(dir.path(), ".log");
  std::string wal;
  for (const auto& w : wals) {
    if (w.find("/wal-") != std::string::npos) wal = w;
  }
  ASSERT_FALSE(wal.empty());
  WriteAllBytes(wal, ReadAll(wal) + std::string("\x12\x34\x56\x78\x40\x00\x00\x00\x01\x00\x00\x00partial", 19));
  WriteAllBytes(dir / "seg-00000000000000099999.vgl.tmp", "being written");
  WriteAllBytes(dir / "seg-00000000000000099999.names", "a name table without its segment");
  const DirState before = Snapshot(dir.path());

  {
    auto reader = MustOpenReadOnly(dir.path());
    ASSERT_TRUE(reader);
    EXPECT_FALSE(reader->open_report().truncation.has_value());
    EXPECT_TRUE(reader->open_report().removed.empty());
    EXPECT_EQ(reader->size(), 253u);  // the partial frame is not read
    EXPECT_EQ(QueriesMismatch(*reader, records, 20), "");
    auto erased = reader->Subject("user-1@example.com");
    ASSERT_TRUE(erased.ok());
    ASSERT_TRUE(reader->Close().ok());
    EXPECT_EQ(QueriesMismatch(*reader, records, 20), "");  // queries keep working after Close
  }
  const DirState after = Snapshot(dir.path());
  EXPECT_EQ(Names(before), Names(after));
  EXPECT_TRUE(before == after) << "a read-only open changed a file's bytes or modification time";
}

TEST(LedgerReadOnlyTest, EveryWriteFailsWithFailedPrecondition) {
  TempDir dir;
  Clock clock;
  {
    auto writer = MustOpen(TestOptions(dir.path(), &clock));
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->Close().ok());
  }
  auto reader = MustOpenReadOnly(dir.path());
  ASSERT_TRUE(reader);
  OwnedRecord r;
  r.time_us = kT0;
  r.subject = "a";
  const LedgerRecord view = r.View();
  EXPECT_EQ(reader->Append({&view, 1}).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(reader->Flush().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(reader->SealForTesting().code(), Status::Code::kFailedPrecondition);
  auto erase = reader->Erase("a", "admin", kT0);
  ASSERT_FALSE(erase.ok());
  EXPECT_EQ(erase.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(erase.status().message().find("read-only"), std::string::npos) << erase.status().message();
  auto retention = reader->ApplyRetention(kT0, "admin", kT0);
  ASSERT_FALSE(retention.ok());
  EXPECT_EQ(retention.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(reader->size(), 3u);

  // A read-only open declares nothing.
  LedgerOptions o;
  o.dir = dir.path();
  o.read_only = true;
  o.vendors = TestVendors();
  auto declaring = Ledger::Open(o);
  ASSERT_FALSE(declaring.ok());
  EXPECT_EQ(declaring.status().code(), Status::Code::kInvalidArgument);
}

TEST(LedgerReadOnlyTest, NoLedgerIsNotFoundNamingThePathAndCreatesNothing) {
  TempDir parent;
  const std::string missing = parent / "no-such-ledger";
  auto r = Ledger::OpenReadOnly(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(missing), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(missing));

  const std::string empty = parent / "empty";
  fs::create_directories(empty);
  r = Ledger::OpenReadOnly(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(empty), std::string::npos) << r.status().message();
  EXPECT_TRUE(fs::is_empty(empty));
}

TEST(LedgerReadOnlyTest, DamageIsReportedAsDamageNotRetriedAway) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 50;
  std::mt19937_64 rng(13);
  auto records = RandomRecords(rng, 120, kT0, kDayUs / 2, 3, 20, false);
  {
    auto writer = MustOpen(o);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->Append(Views(records)).ok());
    ASSERT_TRUE(writer->Close().ok());
  }
  const auto segments = FilesWithSuffix(dir.path(), ".vgl");
  ASSERT_FALSE(segments.empty());
  std::string bytes = ReadAll(segments[0]);
  bytes.resize(bytes.size() - 5);  // no trailer
  WriteAllBytes(segments[0], bytes);
  auto r = Ledger::OpenReadOnly(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().message();
  EXPECT_NE(r.status().message().find(segments[0]), std::string::npos) << r.status().message();
}

// What a reader can find while a writer seals: the new segment renamed into place and no log yet. The
// active segment is then empty (a regression: it was left unset, and Subject() probed an empty table).
TEST(LedgerReadOnlyTest, SegmentsWithoutALogAnswerEveryQuery) {
  TempDir dir;
  Clock clock;
  std::mt19937_64 rng(17);
  auto records = RandomRecords(rng, 300, kT0, kDayUs / 2, 3, 20, false);
  {
    auto writer = MustOpen(TestOptions(dir.path(), &clock));
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->Append(Views(records)).ok());
    ASSERT_TRUE(writer->SealForTesting().ok());
    ASSERT_TRUE(writer->Close().ok());
  }
  for (const auto& wal : FilesWithSuffix(dir.path(), ".log")) {
    if (wal.find("/wal-") != std::string::npos) fs::remove(wal);  // empty: everything is sealed
  }
  auto reader = MustOpenReadOnly(dir.path());
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->size(), 303u);
  EXPECT_EQ(reader->open_report().wal_records, 0u);
  EXPECT_EQ(QueriesMismatch(*reader, records, 20), "");
  auto nobody = reader->Subject("nobody");
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->found);
}

// The writer seals exactly between the reader's listing and its reads: the log the reader listed is
// deleted and a segment it did not list appears. The reader must try again and answer with everything.
TEST(LedgerReadOnlyTest, ASealBetweenListingAndReadingIsRetried) {
  TempDir dir;
  Clock clock;
  auto writer = MustOpen(TestOptions(dir.path(), &clock));
  ASSERT_TRUE(writer);
  std::mt19937_64 rng(14);
  auto records = RandomRecords(rng, 400, kT0, kDayUs / 2, 3, 25, false);
  ASSERT_TRUE(writer->Append(Views(records)).ok());
  ASSERT_TRUE(writer->Flush().ok());

  int listings = 0;
  LedgerOptions ro;
  ro.dir = dir.path();
  ro.read_only = true;
  ro.read_only_listed_hook_for_testing = [&] {
    if (listings++ == 0) ASSERT_TRUE(writer->SealForTesting().ok());
  };
  auto reader = Ledger::Open(ro);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_GE(listings, 2);
  EXPECT_EQ((*reader)->size(), 403u);
  EXPECT_EQ((*reader)->open_report().segments, 1u);
  EXPECT_EQ(QueriesMismatch(**reader, records, 25), "");

  // A writer that seals after every listing: the reader gives up, saying why.
  int n = 0;
  ro.read_only_listed_hook_for_testing = [&] {
    OwnedRecord r;
    r.time_us = kT0 + kDayUs / 2 + n++;
    r.subject = "late";
    const LedgerRecord view = r.View();
    ASSERT_TRUE(writer->Append({&view, 1}).ok());
    ASSERT_TRUE(writer->SealForTesting().ok());
  };
  auto gave_up = Ledger::Open(ro);
  ASSERT_FALSE(gave_up.ok());
  EXPECT_EQ(gave_up.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(gave_up.status().message().find("kept changing"), std::string::npos) << gave_up.status().message();
  ASSERT_TRUE(writer->Close().ok());
  VerifyReport v = Verify(dir.path());
  EXPECT_TRUE(v.ok) << v.problem;
}

// Readers open in a loop while a writer appends, flushes and seals every 40 records. Every reader that
// opens sees a prefix of what was appended, at least what was flushed before it started, and answers
// every query exactly as the naive model of that prefix does.
TEST(LedgerReadOnlyTest, ReadersOpeningWhileAWriterSealsNeverGetAWrongAnswer) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 40;
  o.block_rows = 16;
  auto writer = MustOpen(o);
  ASSERT_TRUE(writer);
  std::mt19937_64 rng(15);
  const auto planned = RandomRecords(rng, 3000, kT0, kDayUs / 2, 3, 30, false);
  std::atomic<uint64_t> flushed{3};  // records durable (declarations included)
  std::atomic<bool> done{false};
  constexpr int kReaders = 2;
  std::atomic<int> opened{0}, unavailable{0};
  std::thread writer_thread([&] {
    for (size_t i = 0, batch = 0; i < planned.size(); i += 7, ++batch) {
      const size_t n = std::min<size_t>(7, planned.size() - i);
      const std::vector<OwnedRecord> part(planned.begin() + static_cast<ptrdiff_t>(i),
                                          planned.begin() + static_cast<ptrdiff_t>(i + n));
      const auto views = Views(part);
      EXPECT_TRUE(writer->Append(views).ok());
      EXPECT_TRUE(writer->Flush().ok());
      flushed = 3 + i + n;
      // Every 40 batches, let the readers catch up: wait (5 s at most) until one more reader has opened,
      // so that opens overlap the whole history of seals even on a slow machine.
      if (batch % 40 == 39) {
        const int target = opened + 1;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (opened < target && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
    }
    done = true;
  });
  std::vector<std::string> failures(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      while (!done && failures[t].empty()) {
        const uint64_t before = flushed;
        auto reader = Ledger::OpenReadOnly(dir.path());
        if (!reader.ok()) {
          if (reader.status().code() == Status::Code::kUnavailable) {
            ++unavailable;
            continue;
          }
          failures[t] = "open: " + reader.status().message();
          break;
        }
        ++opened;
        const uint64_t size = (*reader)->size();
        if (size < before || size > 3 + planned.size()) {
          failures[t] = "size " + std::to_string(size) + ", flushed before the open " + std::to_string(before);
          break;
        }
        // Full answers on every fourth open; the others only open, so that opens hit the writer's seals often.
        if (opened % 4 != 0) continue;
        const std::vector<OwnedRecord> prefix(planned.begin(), planned.begin() + static_cast<ptrdiff_t>(size - 3));
        failures[t] = QueriesMismatch(**reader, prefix, 30);
        if (!failures[t].empty()) failures[t] += " (snapshot of " + std::to_string(size) + " records)";
      }
    });
  }
  writer_thread.join();
  for (auto& r : readers) r.join();
  for (int t = 0; t < kReaders; ++t) EXPECT_EQ(failures[t], "") << "reader " << t;
  EXPECT_GT(opened.load(), 5) << unavailable.load() << " opens gave up (Unavailable)";
  ASSERT_TRUE(writer->Close().ok());
  auto final_reader = MustOpenReadOnly(dir.path());
  ASSERT_TRUE(final_reader);
  EXPECT_EQ(QueriesMismatch(*final_reader, planned, 30), "");
  VerifyReport v = Verify(dir.path());
  EXPECT_TRUE(v.ok) << v.problem;
}

TEST(LedgerVerifyProgressTest, ReportsRecordsDoneOfTotalUpToTheEnd) {
  TempDir dir;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 50'000;
  std::mt19937_64 rng(16);
  const auto records = RandomRecords(rng, 150'000, kT0, kDayUs / 2, 3, 500, false);
  {
    auto writer = MustOpen(o);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->Append(Views(records)).ok());
    ASSERT_TRUE(writer->Close().ok());
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  VerifyOptions vo;
  vo.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  VerifyReport r = Verify(dir.path(), vo);
  ASSERT_TRUE(r.ok) << r.problem;
  ASSERT_GE(calls.size(), 4u);
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_LE(calls[i - 1].first, calls[i].first);
    EXPECT_LE(calls[i].first, calls[i].second);
  }
  EXPECT_EQ(calls.front().first, 0u);
  EXPECT_EQ(calls.front().second, 150'000u);  // the sealed segments' records, known up front
  EXPECT_EQ(calls.back().first, r.records);
  EXPECT_EQ(calls.back().second, r.records);
  EXPECT_EQ(r.records, 150'003u);
}

}  // namespace
}  // namespace vg::ledger
