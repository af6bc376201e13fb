#include "spool/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "spool/crc32c.h"
#include "spool/spool_format.h"
#include "spool_test_util.h"

namespace vg {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kAccept = 1'764'000'000'000'000;  // an accept time, unix microseconds

struct Rec {
  uint64_t seq = 0;
  uint8_t kind = 0;
  int64_t accept = 0;
  std::string payload;
  std::string meta;
};

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() /
            ("vg_spool_" + std::to_string(::getpid()) + "_" + info->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  SpoolOptions Options(std::vector<std::string> vendors = {"a", "b"}) {
    SpoolOptions opt;
    opt.dir = dir_;
    opt.vendors = std::move(vendors);
    return opt;
  }
  // 4 KiB segments (a few records each, so tests roll over often) and no quota.
  SpoolOptions SmallSegments(std::vector<std::string> vendors = {"a", "b"}) {
    SpoolOptions opt = Options(std::move(vendors));
    opt.segment_bytes = 4096;
    opt.quota_bytes = 0;
    return opt;
  }

  std::unique_ptr<Spool> MustOpen(SpoolOptions opt) {
    auto s = Spool::Open(std::move(opt));
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (!s.ok()) return nullptr;
    return std::move(*s);
  }

  static std::vector<Rec> ReadAll(const Spool& spool, SpoolVendorId v, uint64_t after = 0) {
    std::vector<Rec> out;
    for (;;) {
      auto batch = spool.Read(v, after, 7, 1 << 20);
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok() || batch->empty()) break;
      for (const auto& r : batch->records) {
        out.push_back({r.seq, r.kind, r.accept_unix_us, std::string(r.payload), std::string(r.meta)});
      }
      after = batch->last_seq();
    }
    return out;
  }

  static uint64_t Append1(Spool& spool, SpoolVendorId v, std::string_view payload, uint8_t kind = 1,
                          std::string_view meta = {}) {
    SpoolEntry e{v, kind, payload, meta};
    auto r = spool.AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : 0;
  }

  std::vector<std::string> SegmentFiles() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".seg") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  uint64_t SegmentBytesOnDisk() const {
    uint64_t n = 0;
    for (const auto& f : SegmentFiles()) n += fs::file_size(f);
    return n;
  }

  std::string dir_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}
void FlipByte(const std::string& path, uint64_t offset) {
  std::string b = ReadFile(path);
  ASSERT_LT(offset, b.size());
  b[offset] = static_cast<char>(b[offset] ^ 0x5a);
  WriteFile(path, b);
}

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c::Value(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(crc32c::Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string s = "The quick brown fox jumps over the lazy dog, many times over and over";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(crc32c::Extend(crc32c::Value(s.substr(0, cut)), s.data() + cut, s.size() - cut), crc32c::Value(s));
  }
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(0x12345678u)), 0x12345678u);
}

// Bit by bit, from the definition: what the spool's files were written with must stay what they are read
// with, whatever code computes it. Lengths and alignments cover the fast paths' block sizes and tails.
TEST(Crc32c, AgreesWithTheDefinitionAtEveryLengthAndAlignment) {
  auto reference = [](const std::string& s, size_t from, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = from; i < from + n; ++i) {
      c ^= static_cast<uint8_t>(s[i]);
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
  };
  std::string s(5000, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (char& ch : s) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    ch = static_cast<char>(x);
  }
  for (size_t from : {0, 1, 3, 7, 8, 13}) {
    for (size_t n = 0; n + from <= s.size(); n += n < 300 ? 1 : 97) {
      ASSERT_EQ(crc32c::Extend(0, s.data() + from, n), reference(s, from, n)) << "from " << from << " length " << n;
    }
  }
}

TEST_F(SpoolTest, RoundTripKeepsPayloadKindMetaAndAcceptTime) {
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  std::string binary("\0\x01\xff{\"event\":\"x\"}", 17);
  std::vector<SpoolEntry> unit = {{0, 1, "first", "m1"}, {1, 2, binary, ""}, {0, 3, "", "meta-only"}};
  auto seq = spool->AppendSync(unit, kAccept + 5);
  ASSERT_TRUE(seq.ok()) << seq.status().message();
  EXPECT_EQ(*seq, 1u);
  EXPECT_EQ(Append1(*spool, 0, "after"), 4u);

  auto a = ReadAll(*spool, 0);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].seq, 1u);
  EXPECT_EQ(a[0].payload, "first");
  EXPECT_EQ(a[0].meta, "m1");
  EXPECT_EQ(a[0].kind, 1);
  EXPECT_EQ(a[0].accept, kAccept + 5);
  EXPECT_EQ(a[1].seq, 3u);
  EXPECT_EQ(a[1].payload, "");
  EXPECT_EQ(a[1].meta, "meta-only");
  EXPECT_EQ(a[1].kind, 3);
  EXPECT_EQ(a[2].seq, 4u);
  EXPECT_EQ(a[2].payload, "after");
  auto b = ReadAll(*spool, 1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].seq, 2u);
  EXPECT_EQ(b[0].payload, binary);
  EXPECT_EQ(b[0].kind, 2);

  // And the same after a reopen.
  spool.reset();
  spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto b2 = ReadAll(*spool, 1);
  ASSERT_EQ(b2.size(), 1u);
  EXPECT_EQ(b2[0].payload, binary);
  EXPECT_EQ(ReadAll(*spool, 0).size(), 3u);
  EXPECT_EQ(Append1(*spool, 1, "next"), 5u);  // sequence numbers continue
}

TEST_F(SpoolTest, RejectsBadUnitsWithoutWriting) {
  auto opt = SmallSegments();
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->AppendSync({}, kAccept).status().code(), Status::Code::kInvalidArgument);
  SpoolEntry bad_vendor{7, 1, "x", ""};
  EXPECT_EQ(spool->AppendSync(std::span<const SpoolEntry>(&bad_vendor, 1), kAccept).status().code(),
            Status::Code::kInvalidArgument);
  std::string big(5000, 'x');
  SpoolEntry too_big{0, 1, big, ""};
  EXPECT_EQ(spool->AppendSync(std::span<const SpoolEntry>(&too_big, 1), kAccept).status().code(),
            Status::Code::kTooLarge);
  std::string meta(70000, 'm');
  SpoolEntry big_meta{0, 1, "x", meta};
  EXPECT_EQ(spool->AppendSync(std::span<const SpoolEntry>(&big_meta, 1), kAccept).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(spool->Stats().appended_units, 0u);
  EXPECT_EQ(ReadAll(*spool, 0).size(), 0u);
}

TEST_F(SpoolTest, OpenRejectsBadOptions) {
  auto opt = Options({"a", "a"});
  EXPECT_EQ(Spool::Open(opt).status().code(), Status::Code::kInvalidArgument);
  opt = Options();
  opt.segment_bytes = 1 << 20;
  opt.quota_bytes = 1 << 20;  // less than two segments
  EXPECT_EQ(Spool::Open(opt).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(SpoolTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto second = Spool::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  spool.reset();
  EXPECT_TRUE(Spool::Open(Options()).ok());
}

TEST_F(SpoolTest, VendorsHaveIndependentCursors) {
  auto spool = MustOpen(Options({"a", "b", "c"}));
  ASSERT_TRUE(spool);
  for (int i = 0; i < 30; ++i) {
    std::vector<SpoolEntry> unit;
    std::string p = "event " + std::to_string(i);
    for (SpoolVendorId v = 0; v < 3; ++v) unit.push_back({v, 1, p, ""});
    ASSERT_TRUE(spool->AppendSync(unit, kAccept + i).ok());
  }
  // a delivers 10, b delivers everything, c nothing.
  auto a = ReadAll(*spool, 0);
  ASSERT_EQ(a.size(), 30u);
  ASSERT_TRUE(spool->Ack(0, a[9].seq).ok());
  ASSERT_TRUE(spool->Ack(1, UINT64_MAX).ok());  // beyond the end: up to the last record
  auto st = spool->Stats();
  EXPECT_EQ(st.vendors[0].pending_records, 20u);
  EXPECT_EQ(st.vendors[0].acked_seq, a[9].seq);
  EXPECT_EQ(st.vendors[0].oldest_accept_unix_us, kAccept + 10);
  EXPECT_EQ(st.vendors[0].pending_bytes, 20u * 8);  // "event 10".."event 29"
  EXPECT_EQ(st.vendors[1].pending_records, 0u);
  EXPECT_EQ(st.vendors[1].acked_seq, st.last_seq);
  EXPECT_EQ(st.vendors[1].oldest_accept_unix_us, 0);
  EXPECT_EQ(st.vendors[2].pending_records, 30u);
  EXPECT_EQ(st.vendors[2].oldest_accept_unix_us, kAccept);

  auto a_rest = ReadAll(*spool, 0);
  ASSERT_EQ(a_rest.size(), 20u);
  EXPECT_EQ(a_rest[0].payload, "event 10");
  EXPECT_TRUE(ReadAll(*spool, 1).empty());
  EXPECT_EQ(ReadAll(*spool, 2).size(), 30u);
  // Reading from a later point, as a sender does with batches in flight.
  // (Unit i has seqs 3i+1 for a, 3i+2 for b, 3i+3 for c: after a's "event 25" comes c's.)
  auto tail = ReadAll(*spool, 2, a_rest[15].seq);
  ASSERT_EQ(tail.size(), 5u);
  EXPECT_EQ(tail[0].payload, "event 25");
  // Acknowledging backwards is a no-op.
  ASSERT_TRUE(spool->Ack(0, 1).ok());
  EXPECT_EQ(spool->Stats().vendors[0].pending_records, 20u);
}

TEST_F(SpoolTest, ReadHonoursRecordAndByteLimits) {
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  for (int i = 0; i < 10; ++i) Append1(*spool, 0, std::string(100, static_cast<char>('a' + i)));
  auto r = spool->Read(0, 0, 3, 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.size(), 3u);
  r = spool->Read(0, 0, 100, 250);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.size(), 2u);
  r = spool->Read(0, 0, 100, 10);  // at least one, even over the byte limit
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].payload, std::string(100, 'a'));
  r = spool->Read(0, 10, 100, 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(spool->Read(9, 0, 1, 1).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(SpoolTest, CursorsPersistAcrossReopen) {
  {
    auto spool = MustOpen(Options());
    ASSERT_TRUE(spool);
    for (int i = 0; i < 10; ++i) {
      std::string pa = "a" + std::to_string(i), pb = "b" + std::to_string(i);
      std::vector<SpoolEntry> unit = {{0, 1, pa, ""}, {1, 1, pb, ""}};
      ASSERT_TRUE(spool->AppendSync(unit, kAccept).ok());
    }
    auto a = ReadAll(*spool, 0);
    ASSERT_TRUE(spool->Ack(0, a[3].seq).ok());
    auto b = ReadAll(*spool, 1);
    ASSERT_TRUE(spool->Ack(1, b[7].seq).ok());
  }
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto a = ReadAll(*spool, 0);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a[0].payload, "a4");
  auto b = ReadAll(*spool, 1);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].payload, "b8");
  EXPECT_EQ(spool->Stats().vendors[1].acked_seq, 16u);  // b7 is seq 16
}

TEST_F(SpoolTest, SegmentsRollOverAndAreDeletedOnceEveryVendorAcked) {
  auto opt = SmallSegments();
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  std::string payload(200, 'p');
  for (int i = 0; i < 100; ++i) Append1(*spool, static_cast<SpoolVendorId>(i % 2), payload);
  auto files = SegmentFiles();
  ASSERT_GE(files.size(), 5u);
  for (const auto& f : files) EXPECT_LE(fs::file_size(f), 4096u) << f;
  EXPECT_EQ(spool->Stats().segments, files.size());
  EXPECT_EQ(spool->Stats().disk_bytes, SegmentBytesOnDisk());

  // a is done with everything; b still needs every segment.
  ASSERT_TRUE(spool->Ack(0, UINT64_MAX).ok());
  EXPECT_EQ(SegmentFiles().size(), files.size());
  // b done with its first half: the first segments go.
  auto b = ReadAll(*spool, 1);
  ASSERT_EQ(b.size(), 50u);
  ASSERT_TRUE(spool->Ack(1, b[24].seq).ok());
  auto after_half = SegmentFiles();
  EXPECT_LT(after_half.size(), files.size());
  EXPECT_GT(after_half.size(), 1u);
  EXPECT_EQ(after_half.back(), files.back());
  EXPECT_EQ(ReadAll(*spool, 1).size(), 25u);  // what is left still reads
  // Everything acknowledged: only the segment being written remains.
  ASSERT_TRUE(spool->Ack(1, UINT64_MAX).ok());
  EXPECT_EQ(SegmentFiles().size(), 1u);
  EXPECT_EQ(spool->Stats().disk_bytes, SegmentBytesOnDisk());
  EXPECT_GE(spool->Stats().segments_deleted, files.size() - 1);

  // After a reopen the old active segment is deleted too, and a new one starts.
  spool.reset();
  spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  auto reopened = SegmentFiles();
  ASSERT_EQ(reopened.size(), 1u);
  EXPECT_NE(reopened[0], files.back());
  EXPECT_EQ(spool->open_report().segments_deleted, 1u);
}

// The spool's threads carry names (top -H, perf and gdb show them) while it is open, and are gone after.
TEST_F(SpoolTest, ItsThreadsAreNamed) {
  auto thread_names = [] {
    std::multiset<std::string> names;
    for (const auto& t : fs::directory_iterator("/proc/self/task")) {
      std::ifstream in(t.path() / "comm");
      std::string name;
      if (std::getline(in, name)) names.insert(name);
    }
    return names;
  };
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto names = thread_names();
  EXPECT_EQ(names.count("vg-spool-write"), 1u);
  EXPECT_EQ(names.count("vg-spool-reap"), 1u);
  spool.reset();
  names = thread_names();
  EXPECT_EQ(names.count("vg-spool-write"), 0u);
  EXPECT_EQ(names.count("vg-spool-reap"), 0u);
}

// A segment that every vendor was already past when the writer rolled over is deleted without waiting for
// another acknowledgement (off the writer's thread), and its bytes leave the quota's count.
TEST_F(SpoolTest, SegmentLeftFullyAcknowledgedByARollIsDeletedWithoutAnotherAck) {
  auto opt = SmallSegments();
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  std::string payload(200, 'p');
  auto append_and_ack = [&] {
    Append1(*spool, 0, payload);
    ASSERT_TRUE(spool->Ack(0, UINT64_MAX).ok());
  };
  append_and_ack();
  auto first = SegmentFiles();
  ASSERT_EQ(first.size(), 1u);
  const auto size1 = fs::file_size(first[0]);
  append_and_ack();
  const auto record = fs::file_size(first[0]) - size1;
  // Fill the first segment with records that are all acknowledged, up to where the next one no longer fits.
  while (fs::file_size(first[0]) + record <= opt.segment_bytes) append_and_ack();
  ASSERT_EQ(SegmentFiles().size(), 1u);
  // This one rolls over to a new segment; nobody needs the first one any more, and no ack follows.
  Append1(*spool, 0, payload);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fs::exists(first[0]) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(fs::exists(first[0]));
  EXPECT_EQ(SegmentFiles().size(), 1u);
  EXPECT_EQ(spool->Stats().disk_bytes, SegmentBytesOnDisk());
  auto left = ReadAll(*spool, 0);
  ASSERT_EQ(left.size(), 1u);  // the record after the roll is still there
  EXPECT_EQ(left[0].payload, payload);
}

TEST_F(SpoolTest, QuotaRefusesWithUnavailableAndWritesNothing) {
  auto opt = Options({"a"});
  opt.segment_bytes = 4096;
  opt.quota_bytes = 8192;
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  std::string payload(500, 'q');
  SpoolEntry e{0, 1, payload, ""};
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 100; ++i) {
    auto r = spool->AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept);
    if (!r.ok()) {
      refused = r.status();
      break;
    }
    ++accepted;
  }
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Status::Code::kUnavailable) << refused.message();
  EXPECT_TRUE(refused.retryable());
  EXPECT_NE(refused.message().find("quota"), std::string::npos) << refused.message();
  EXPECT_GT(accepted, 10);
  const uint64_t on_disk = SegmentBytesOnDisk();
  EXPECT_LE(on_disk, opt.quota_bytes);
  // Refused again: nothing reaches the disk, the refusal is counted.
  EXPECT_FALSE(spool->AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept).ok());
  EXPECT_EQ(SegmentBytesOnDisk(), on_disk);
  auto st = spool->Stats();
  EXPECT_EQ(st.refused_quota, 2u);
  EXPECT_EQ(st.refused_backlog, 0u);
  EXPECT_EQ(st.appended_units, static_cast<uint64_t>(accepted));
  EXPECT_EQ(ReadAll(*spool, 0).size(), static_cast<size_t>(accepted));

  // Once the vendor catches up, segments go and appends are accepted again.
  ASSERT_TRUE(spool->Ack(0, UINT64_MAX).ok());
  EXPECT_TRUE(spool->AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept).ok());
}

TEST_F(SpoolTest, ConcurrentAppendsAreAllReadableInPerThreadOrder) {
  auto opt = Options();
  opt.segment_bytes = 64 << 10;
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  constexpr int kThreads = 8, kUnits = 300;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  std::vector<std::vector<uint64_t>> first_seq(kThreads, std::vector<uint64_t>(kUnits));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kUnits; ++i) {
        std::string p0 = "t" + std::to_string(t) + " i" + std::to_string(i) + " k0";
        std::string p1 = "t" + std::to_string(t) + " i" + std::to_string(i) + " k1 " + std::string(i % 50, 'z');
        std::vector<SpoolEntry> unit = {{static_cast<SpoolVendorId>(t % 2), 0, p0, ""}};
        if (i % 3 == 0) unit.push_back({1, 1, p1, ""});
        Status s = spool->Append(unit, kAccept, [&, t, i](StatusOr<uint64_t> seq) {
          std::lock_guard<std::mutex> lock(mu);
          if (seq.ok()) {
            first_seq[t][i] = *seq;
          } else {
            ++failed;
          }
          ++done;
          cv.notify_all();
        });
        ASSERT_TRUE(s.ok()) << s.message();
      }
    });
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done == kThreads * kUnits; }));
  }
  EXPECT_EQ(failed, 0);
  std::map<uint64_t, std::string> by_seq;
  for (SpoolVendorId v = 0; v < 2; ++v) {
    for (auto& r : ReadAll(*spool, v)) by_seq[r.seq] = r.payload;
  }
  EXPECT_EQ(by_seq.size(), static_cast<size_t>(kThreads * kUnits + kThreads * (kUnits / 3)));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kUnits; ++i) {
      uint64_t s = first_seq[t][i];
      if (i > 0) EXPECT_GT(s, first_seq[t][i - 1]) << "thread " << t << " unit " << i;
      EXPECT_EQ(by_seq[s], "t" + std::to_string(t) + " i" + std::to_string(i) + " k0");
      if (i % 3 == 0) {
        EXPECT_EQ(by_seq[s + 1], "t" + std::to_string(t) + " i" + std::to_string(i) + " k1 " +
                                     std::string(i % 50, 'z'));
      }
    }
  }
  EXPECT_GT(spool->Stats().segments, 1u);
}

// The writer is held inside its first fdatasync while 200 more units arrive from 8 threads: they must
// all be written with one write and covered by one more fdatasync.
TEST_F(SpoolTest, GroupCommitCoversManyUnitsWithOneFsync) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> syncs{0};
  auto opt = Options();
  opt.fault = [&](SpoolIoOp op) {
    if (op == SpoolIoOp::kSync && syncs.fetch_add(1) == 0) {
      entered.set_value();
      released.wait();
    }
    return 0;
  };
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  auto on_commit = [&](StatusOr<uint64_t> r) {
    EXPECT_TRUE(r.ok());
    std::lock_guard<std::mutex> lock(mu);
    ++done;
    cv.notify_all();
  };
  SpoolEntry e{0, 1, std::string_view("first"), {}};
  ASSERT_TRUE(spool->Append(std::span<const SpoolEntry>(&e, 1), kAccept, on_commit).ok());
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string p(1024, static_cast<char>('a' + t));
      for (int i = 0; i < 25; ++i) {
        SpoolEntry x{static_cast<SpoolVendorId>(i % 2), 1, p, {}};
        EXPECT_TRUE(spool->Append(std::span<const SpoolEntry>(&x, 1), kAccept, on_commit).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(done, 0);  // nothing is acknowledged before its fdatasync
  release.set_value();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == 201; }));
  }
  auto st = spool->Stats();
  EXPECT_EQ(st.appended_units, 201u);
  EXPECT_EQ(st.fsyncs, 2u);
  EXPECT_EQ(st.write_batches, 2u);
}

// Not a timed assertion: what group commit does on this machine's disk with 8 threads waiting for
// their own appends.
TEST_F(SpoolTest, GroupCommitFiguresOnThisDisk) {
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  std::string p(1024, 'x');
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) Append1(*spool, static_cast<SpoolVendorId>(t % 2), p);
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto st = spool->Stats();
  EXPECT_EQ(st.appended_units, 800u);
  EXPECT_LE(st.fsyncs, 800u);
  std::printf("[ figures  ] 8 threads x 100 synchronous 1 KiB appends (fsync always, debug build): "
              "%.0f appends/s, %llu fdatasyncs, %.1f records per fdatasync\n",
              800 / secs, static_cast<unsigned long long>(st.fsyncs), 800.0 / std::max<uint64_t>(1, st.fsyncs));
}

TEST_F(SpoolTest, IntervalAndNeverPoliciesAckBeforeSyncing) {
  {
    auto opt = Options();
    opt.fsync = FsyncPolicy::kNever;
    auto spool = MustOpen(opt);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 20; ++i) Append1(*spool, 0, "n");
    EXPECT_EQ(spool->Stats().fsyncs, 0u);
    EXPECT_EQ(ReadAll(*spool, 0).size(), 20u);
  }
  fs::remove_all(dir_);
  auto opt = Options();
  opt.fsync = FsyncPolicy::kInterval;
  opt.fsync_interval = std::chrono::milliseconds(20);
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 50; ++i) Append1(*spool, 0, "i");
  EXPECT_LT(spool->Stats().fsyncs, 25u);
  // The writer syncs on its own once the interval has passed.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (spool->Stats().fsyncs == 0 && Clock::now() < deadline) std::this_thread::yield();
  EXPECT_GE(spool->Stats().fsyncs, 1u);
}

TEST_F(SpoolTest, FailedWriteWritesNothingAndTheSpoolCarriesOn) {
  std::atomic<bool> fail_write{false};
  auto opt = Options();
  opt.fault = [&](SpoolIoOp op) { return op == SpoolIoOp::kWrite && fail_write.exchange(false) ? ENOSPC : 0; };
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  EXPECT_EQ(Append1(*spool, 0, "one"), 1u);
  const uint64_t size = SegmentBytesOnDisk();
  fail_write = true;
  SpoolEntry e{0, 1, std::string_view("lost"), {}};
  auto r = spool->AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);  // a full disk: retry later
  EXPECT_EQ(SegmentBytesOnDisk(), size);
  EXPECT_EQ(spool->Stats().failed_units, 1u);
  EXPECT_FALSE(spool->Stats().failed);
  EXPECT_EQ(Append1(*spool, 0, "two"), 2u);  // the sequence number was not used up
  spool.reset();
  spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto a = ReadAll(*spool, 0);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1].payload, "two");
  EXPECT_TRUE(spool->open_report().truncations.empty());
}

TEST_F(SpoolTest, FailedFsyncStopsTheSpoolUntilReopened) {
  std::atomic<bool> fail_sync{false};
  auto opt = Options();
  opt.fault = [&](SpoolIoOp op) { return op == SpoolIoOp::kSync && fail_sync.load() ? EIO : 0; };
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  EXPECT_EQ(Append1(*spool, 0, "one"), 1u);
  fail_sync = true;
  SpoolEntry e{0, 1, std::string_view("maybe"), {}};
  auto r = spool->AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_TRUE(spool->Stats().failed);
  fail_sync = false;
  auto again = spool->AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept);
  EXPECT_EQ(again.status().code(), Status::Code::kIOError);
  spool.reset();
  spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto a = ReadAll(*spool, 0);
  ASSERT_GE(a.size(), 1u);  // "maybe" may be there too (at least once)
  EXPECT_EQ(a[0].payload, "one");
  EXPECT_GT(Append1(*spool, 0, "three"), a.back().seq);
}

// Builds a one-segment spool of units with 1 to 3 records; returns the segment path and the end offset
// and records of each unit.
struct TornFixture {
  std::string segment;
  uint64_t header_len = 0;
  std::vector<uint64_t> unit_end;
  std::vector<std::vector<std::pair<SpoolVendorId, std::string>>> units;
};

TornFixture BuildTornFixture(const SpoolOptions& opt) {
  TornFixture f;
  auto spool_or = Spool::Open(opt);
  EXPECT_TRUE(spool_or.ok());
  auto& spool = **spool_or;
  for (const auto& e : fs::directory_iterator(opt.dir)) {
    if (e.path().extension() == ".seg") f.segment = e.path().string();
  }
  f.header_len = fs::file_size(f.segment);
  uint64_t off = f.header_len;
  for (int u = 0; u < 12; ++u) {
    std::vector<std::pair<SpoolVendorId, std::string>> recs;
    std::vector<SpoolEntry> entries;
    for (int k = 0; k < 1 + u % 3; ++k) {
      recs.push_back({static_cast<SpoolVendorId>((u + k) % 2), "u" + std::to_string(u) + "k" + std::to_string(k) +
                                                                   std::string((u * 37 + k * 11) % 90, 'x')});
    }
    for (const auto& [v, p] : recs) {
      entries.push_back({v, 1, p, "meta"});
      off += spool_format::kRecordHeaderBytes + p.size() + 4;
    }
    EXPECT_TRUE(spool.AppendSync(entries, kAccept).ok());
    f.units.push_back(recs);
    f.unit_end.push_back(off);
  }
  spool.Close();
  EXPECT_EQ(fs::file_size(f.segment), off);
  return f;
}

// Reopens the damaged copy and checks that exactly the complete units before `intact_end` are there.
void ExpectRecoveredPrefix(const SpoolOptions& opt, const TornFixture& f, uint64_t intact_end, bool expect_cut) {
  auto spool_or = Spool::Open(opt);
  ASSERT_TRUE(spool_or.ok()) << spool_or.status().message();
  auto& spool = **spool_or;
  std::vector<std::pair<SpoolVendorId, std::string>> expected, got;
  uint64_t last_end = f.header_len;
  for (size_t u = 0; u < f.units.size(); ++u) {
    if (f.unit_end[u] > intact_end) break;
    last_end = f.unit_end[u];
    for (const auto& r : f.units[u]) expected.push_back(r);
  }
  std::map<uint64_t, std::pair<SpoolVendorId, std::string>> by_seq;
  for (SpoolVendorId v = 0; v < 2; ++v) {
    uint64_t after = 0;
    for (;;) {
      auto batch = spool.Read(v, after, 100, 1 << 20);
      ASSERT_TRUE(batch.ok()) << batch.status().message();
      if (batch->empty()) break;
      for (const auto& r : batch->records) {
        EXPECT_EQ(r.meta, "meta");
        by_seq[r.seq] = {v, std::string(r.payload)};
      }
      after = batch->last_seq();
    }
  }
  for (auto& [seq, r] : by_seq) got.push_back(r);
  EXPECT_EQ(got, expected);
  const auto& report = spool.open_report();
  if (expect_cut) {
    ASSERT_EQ(report.truncations.size(), 1u);
    EXPECT_EQ(report.truncations[0].segment, f.segment);
    EXPECT_EQ(report.truncations[0].offset, last_end);
    if (last_end > f.header_len) {
      EXPECT_EQ(fs::file_size(f.segment), last_end);
    } else {
      EXPECT_FALSE(fs::exists(f.segment));  // nothing left in it: deleted
    }
  } else {
    EXPECT_TRUE(report.truncations.empty());
  }
  // New records go after what was kept, with fresh sequence numbers.
  SpoolEntry e{0, 1, std::string_view("after recovery"), {}};
  auto seq = spool.AppendSync(std::span<const SpoolEntry>(&e, 1), kAccept);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, by_seq.empty() ? 1u : by_seq.rbegin()->first + 1);
}

TEST_F(SpoolTest, TornTailIsTruncatedToTheLastCompleteUnit) {
  const std::string pristine = dir_ + "_pristine";
  fs::remove_all(pristine);
  auto popt = Options();
  popt.dir = pristine;
  TornFixture f = BuildTornFixture(popt);
  const std::string pristine_segment = f.segment;
  f.segment = (fs::path(dir_) / fs::path(pristine_segment).filename()).string();
  const uint64_t size = f.unit_end.back();
  // Every offset in the last three units, every 7th before them.
  std::vector<uint64_t> cuts;
  for (uint64_t c = f.header_len; c < size; ++c) {
    if (c >= f.unit_end[f.unit_end.size() - 4] || c % 7 == 0) cuts.push_back(c);
  }
  for (uint64_t cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    fs::remove_all(dir_);
    fs::copy(pristine, dir_);
    fs::resize_file(f.segment, cut);
    bool on_boundary = cut == f.header_len || std::count(f.unit_end.begin(), f.unit_end.end(), cut) > 0;
    ExpectRecoveredPrefix(Options(), f, cut, !on_boundary);
    if (HasFailure()) break;
  }
  // A zero-filled tail (a file system that extended the file but never wrote the data).
  {
    fs::remove_all(dir_);
    fs::copy(pristine, dir_);
    std::string b = ReadFile(f.segment);
    WriteFile(f.segment, b + std::string(4096, '\0'));
    ExpectRecoveredPrefix(Options(), f, size, true);
  }
  fs::remove_all(pristine);
}

TEST_F(SpoolTest, CorruptTailOfTheLastSegmentIsCutAtTheDamagedUnit) {
  const std::string pristine = dir_ + "_pristine";
  fs::remove_all(pristine);
  auto popt = Options();
  popt.dir = pristine;
  TornFixture f = BuildTornFixture(popt);
  f.segment = (fs::path(dir_) / fs::path(f.segment).filename()).string();
  const uint64_t size = f.unit_end.back();
  for (uint64_t at = f.header_len; at < size; at += 5) {
    SCOPED_TRACE("byte flipped at " + std::to_string(at));
    fs::remove_all(dir_);
    fs::copy(pristine, dir_);
    FlipByte(f.segment, at);
    // Units ending at or before the damaged byte survive; the damaged one and all after it are cut.
    ExpectRecoveredPrefix(Options(), f, at, true);
    if (HasFailure()) break;
  }
  fs::remove_all(pristine);
}

TEST_F(SpoolTest, CorruptionInTheMiddleFailsOpenNamingSegmentAndOffset) {
  auto opt = SmallSegments({"a"});
  const std::string payload(100, 'm');  // records of 32 + 100 bytes
  {
    auto spool = MustOpen(opt);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 100; ++i) Append1(*spool, 0, payload);
  }
  auto files = SegmentFiles();
  ASSERT_GE(files.size(), 3u);
  const std::string first = files[0];
  const uint64_t header_len = spool_format::EncodeSegmentHeader({1, 1, 0, {"a"}}).size();
  const uint64_t damaged_record = header_len + 2 * 132;
  FlipByte(first, damaged_record + 40);

  auto failed = Spool::Open(opt);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Status::Code::kIOError);
  const std::string& msg = failed.status().message();
  EXPECT_NE(msg.find(fs::path(first).filename().string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset " + std::to_string(damaged_record)), std::string::npos) << msg;
  EXPECT_EQ(fs::file_size(first), fs::file_size(first));  // untouched
  EXPECT_EQ(SegmentFiles(), files);

  auto report = VerifySpool(dir_);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].file, first);
  EXPECT_EQ(report->problems[0].offset, damaged_record);
  EXPECT_FALSE(report->problems[0].torn_tail);

  // Repair: the damaged segment is cut there, later segments are kept.
  opt.repair = true;
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  ASSERT_EQ(spool->open_report().truncations.size(), 1u);
  EXPECT_EQ(spool->open_report().truncations[0].offset, damaged_record);
  auto a = ReadAll(*spool, 0);
  ASSERT_GE(a.size(), 2u);
  EXPECT_EQ(a[0].seq, 1u);
  EXPECT_EQ(a[1].seq, 2u);
  const uint64_t per_segment = (4096 - header_len) / 132;
  EXPECT_EQ(a[2].seq, per_segment + 1);  // the first record of the second segment
  EXPECT_EQ(a.back().seq, 100u);
  EXPECT_EQ(a.size(), 100 - (per_segment - 2));
}

TEST_F(SpoolTest, ReadReportsARecordDamagedAfterOpen) {
  auto spool = MustOpen(Options({"a"}));
  ASSERT_TRUE(spool);
  Append1(*spool, 0, "fine");
  Append1(*spool, 0, "will rot");
  auto seg = SegmentFiles().back();
  const uint64_t header_len = spool_format::EncodeSegmentHeader({1, 1, 0, {"a"}}).size();
  const uint64_t second = header_len + 32 + 4;
  FlipByte(seg, second + 33);
  auto r = spool->Read(0, 0, 10, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset " + std::to_string(second)), std::string::npos)
      << r.status().message();
  // The first record alone still reads; acknowledging the damaged one skips it.
  auto first = spool->Read(0, 0, 1, 1 << 20);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->records[0].payload, "fine");
  ASSERT_TRUE(spool->Ack(0, 2).ok());
  EXPECT_TRUE(spool->Read(0, 0, 10, 1 << 20)->empty());
}

TEST_F(SpoolTest, DiscardReportsEveryPendingRecordAndIsDurable) {
  {
    auto spool = MustOpen(Options());
    ASSERT_TRUE(spool);
    for (int i = 0; i < 5; ++i) {
      std::string pa = "a" + std::to_string(i), ma = "ma" + std::to_string(i), pb = "b" + std::to_string(i);
      std::vector<SpoolEntry> unit = {{0, static_cast<uint8_t>(i), pa, ma}, {1, 1, pb, ""}};
      ASSERT_TRUE(spool->AppendSync(unit, kAccept + i).ok());
    }
    ASSERT_TRUE(spool->Ack(0, 3).ok());  // a0 (seq 1) and a1 (seq 3) delivered
    std::vector<DiscardedRecord> seen;
    std::vector<std::string> metas;
    auto n = spool->Discard(0, [&](const DiscardedRecord& r) {
      seen.push_back(r);
      metas.emplace_back(r.meta);
    });
    ASSERT_TRUE(n.ok()) << n.status().message();
    EXPECT_EQ(*n, 3u);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].seq, 5u);
    EXPECT_EQ(seen[0].kind, 2);
    EXPECT_EQ(seen[0].accept_unix_us, kAccept + 2);
    EXPECT_EQ(seen[0].payload_bytes, 2u);
    EXPECT_EQ(metas, (std::vector<std::string>{"ma2", "ma3", "ma4"}));
    EXPECT_TRUE(ReadAll(*spool, 0).empty());
    EXPECT_EQ(ReadAll(*spool, 1).size(), 5u);
    EXPECT_EQ(spool->Stats().vendors[0].pending_records, 0u);
    // Appends after a discard are pending as usual.
    Append1(*spool, 0, "later");
  }
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto a = ReadAll(*spool, 0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].payload, "later");
  EXPECT_EQ(ReadAll(*spool, 1).size(), 5u);
}

TEST_F(SpoolTest, VendorNoLongerConfiguredIsDiscardedAtOpenOnce) {
  auto opt = SmallSegments();
  {
    auto spool = MustOpen(opt);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 40; ++i) {
      const std::string pa(100, 'a'), pb(100, 'b');
      std::vector<SpoolEntry> unit = {{0, 1, pa, ""}, {1, 2, pb, "mb"}};
      ASSERT_TRUE(spool->AppendSync(unit, kAccept).ok());
    }
    ASSERT_TRUE(spool->Ack(1, 20).ok());  // b had delivered 10
  }
  const size_t segments_before = SegmentFiles().size();
  std::vector<uint64_t> orphaned;
  auto only_a = Options({"a"});
  only_a.segment_bytes = 4096;
  only_a.quota_bytes = 0;
  only_a.on_orphaned = [&](const DiscardedRecord& r) {
    EXPECT_EQ(r.vendor, "b");
    EXPECT_EQ(r.meta, "mb");
    EXPECT_EQ(r.kind, 2);
    orphaned.push_back(r.seq);
  };
  {
    auto spool = MustOpen(only_a);
    ASSERT_TRUE(spool);
    ASSERT_EQ(orphaned.size(), 30u);
    EXPECT_EQ(orphaned.front(), 22u);
    ASSERT_EQ(spool->open_report().orphaned.size(), 1u);
    EXPECT_EQ(spool->open_report().orphaned[0].records, 30u);
    EXPECT_EQ(spool->open_report().orphaned[0].bytes, 30u * 102);
    // b's records no longer hold segments: a catching up frees them all.
    ASSERT_TRUE(spool->Ack(0, UINT64_MAX).ok());
    EXPECT_EQ(SegmentFiles().size(), 1u);
    EXPECT_GT(segments_before, 2u);
  }
  // Reported once; re-adding b does not resend them.
  orphaned.clear();
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  EXPECT_TRUE(orphaned.empty());
  EXPECT_TRUE(ReadAll(*spool, 1).empty());
}

TEST_F(SpoolTest, OrphanCursorSurvivesWhileItsSegmentsRemain) {
  // a stays behind, so the segments holding b's discarded records stay; b must not come back.
  {
    auto spool = MustOpen(Options());
    ASSERT_TRUE(spool);
    for (int i = 0; i < 5; ++i) {
      std::vector<SpoolEntry> unit = {{0, 1, "a", ""}, {1, 1, "b", ""}};
      ASSERT_TRUE(spool->AppendSync(unit, kAccept).ok());
    }
  }
  int reported = 0;
  auto only_a = Options({"a"});
  only_a.on_orphaned = [&](const DiscardedRecord&) { ++reported; };
  { EXPECT_TRUE(MustOpen(only_a)); }
  EXPECT_EQ(reported, 5);
  { EXPECT_TRUE(MustOpen(only_a)); }
  EXPECT_EQ(reported, 5);  // not again
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  EXPECT_TRUE(ReadAll(*spool, 1).empty());
  EXPECT_EQ(ReadAll(*spool, 0).size(), 5u);
}

TEST_F(SpoolTest, VerifyReportsRecordsPendingAndATornTail) {
  {
    auto spool = MustOpen(Options());
    ASSERT_TRUE(spool);
    for (int i = 0; i < 6; ++i) Append1(*spool, static_cast<SpoolVendorId>(i % 2), "0123456789");
    ASSERT_TRUE(spool->Ack(0, 3).ok());
  }
  auto report = VerifySpool(dir_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->records, 6u);
  EXPECT_EQ(report->first_seq, 1u);
  EXPECT_EQ(report->last_seq, 6u);
  EXPECT_TRUE(report->has_cursor_file);
  ASSERT_EQ(report->vendors.size(), 2u);
  EXPECT_EQ(report->vendors[0].name, "a");
  EXPECT_EQ(report->vendors[0].acked_seq, 3u);
  EXPECT_EQ(report->vendors[0].records, 3u);
  EXPECT_EQ(report->vendors[0].pending_records, 1u);
  EXPECT_EQ(report->vendors[0].pending_bytes, 10u);
  EXPECT_EQ(report->vendors[1].pending_records, 3u);

  auto seg = SegmentFiles().back();
  const uint64_t size = fs::file_size(seg);
  fs::resize_file(seg, size - 3);
  report = VerifySpool(dir_);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_TRUE(report->problems[0].torn_tail);
  EXPECT_EQ(report->problems[0].file, seg);
  EXPECT_EQ(report->problems[0].offset, size - 42);  // the start of the last record
  EXPECT_EQ(fs::file_size(seg), size - 3);             // read-only
  EXPECT_EQ(report->records, 5u);
  EXPECT_EQ(VerifySpool(dir_ + "_missing").status().code(), Status::Code::kNotFound);
}

TEST_F(SpoolTest, TornCursorSlotFallsBackToThePreviousCursor) {
  {
    auto spool = MustOpen(Options());
    ASSERT_TRUE(spool);
    for (int i = 0; i < 4; ++i) Append1(*spool, 0, "x" + std::to_string(i));
    ASSERT_TRUE(spool->Ack(0, 1).ok());
    ASSERT_TRUE(spool->Ack(0, 3).ok());  // the newest slot says 3, the other 1
  }
  const std::string path = (fs::path(dir_) / "cursors").string();
  const std::string bytes = ReadFile(path);
  const size_t slot = bytes.size() / 2;
  // Which slot is newest: the one whose cursor for a is 3.
  auto newest = spool_format::DecodeCursorFile(bytes);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest->cursors.at("a"), 3u);
  const size_t newest_at = bytes.compare(0, 8, "VGCURSR1") == 0 &&
                                   spool_format::GetFixed64(bytes.data() + 8) == newest->generation
                               ? 0
                               : slot;
  FlipByte(path, newest_at + 30);  // a torn slot write
  auto spool = MustOpen(Options());
  ASSERT_TRUE(spool);
  auto a = ReadAll(*spool, 0);
  ASSERT_EQ(a.size(), 3u);  // records 2 and 3 come again: at least once, never lost
  EXPECT_EQ(a[0].payload, "x1");
}

TEST_F(SpoolTest, DamagedCursorFileFailsOpenUnlessRepairing) {
  {
    auto spool = MustOpen(Options());
    ASSERT_TRUE(spool);
    Append1(*spool, 0, "x");
    ASSERT_TRUE(spool->Ack(0, 1).ok());
  }
  const std::string path = (fs::path(dir_) / "cursors").string();
  const size_t slot = fs::file_size(path) / 2;
  FlipByte(path, 2);
  FlipByte(path, slot + 2);
  auto failed = Spool::Open(Options());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("cursors"), std::string::npos) << failed.status().message();
  auto verify = VerifySpool(dir_);
  ASSERT_TRUE(verify.ok());
  ASSERT_FALSE(verify->ok());
  EXPECT_EQ(verify->problems[0].file, path);
  auto opt = Options();
  opt.repair = true;
  auto spool = MustOpen(opt);
  ASSERT_TRUE(spool);
  EXPECT_TRUE(spool->open_report().cursors_reset);
  EXPECT_EQ(ReadAll(*spool, 0).size(), 1u);  // resent rather than lost
}

// ---------------------------------------------------------------------------------------------------
// Crash test: a child appends with fsync always and prints each durable unit; it is killed with SIGKILL
// at random points; every unit it printed must then be readable byte for byte.

struct AckedUnit {
  uint64_t first_seq;
  uint32_t run, tid, n, records;
};

#ifndef VG_SPOOL_TOOL
#define VG_SPOOL_TOOL "spool_tool"
#endif

TEST_F(SpoolTest, KillNineAtRandomPointsLosesNoAcknowledgedRecord) {
  std::mt19937_64 rng(std::random_device{}());
  std::vector<AckedUnit> acked;
  const int kRounds = 6;
  for (int run = 1; run <= kRounds; ++run) {
    SCOPED_TRACE("round " + std::to_string(run));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl(VG_SPOOL_TOOL, "spool_tool", "crash-writer", dir_.c_str(), std::to_string(run).c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    const size_t kill_after = 20 + rng() % 1500;
    std::string buf;
    size_t lines = 0;
    auto deadline = Clock::now() + std::chrono::seconds(60);
    bool eof = false;
    while (lines < kill_after && Clock::now() < deadline && !eof) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      char chunk[4096];
      ssize_t r = ::read(fds[0], chunk, sizeof chunk);
      if (r <= 0) {
        eof = true;
        break;
      }
      buf.append(chunk, static_cast<size_t>(r));
      lines = static_cast<size_t>(std::count(buf.begin(), buf.end(), '\n'));
    }
    ASSERT_FALSE(eof) << "the child exited on its own";
    ASSERT_GE(lines, kill_after) << "the child did not make progress";
    // A random moment after that: mid-write, mid-fsync, mid-rollover, mid-cursor-update.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    char chunk[4096];
    ssize_t r;
    while ((r = ::read(fds[0], chunk, sizeof chunk)) > 0) buf.append(chunk, static_cast<size_t>(r));
    ::close(fds[0]);
    std::istringstream in(buf);
    std::string tag;
    size_t this_round = 0;
    while (in >> tag) {
      ASSERT_EQ(tag, "C");
      AckedUnit u;
      in >> u.first_seq >> u.run >> u.tid >> u.n >> u.records;
      ASSERT_EQ(u.records, CrashUnitRecords(u.run, u.tid, u.n));
      acked.push_back(u);
      ++this_round;
    }
    ASSERT_GE(this_round, kill_after);

    // Reopen, as the restarted gateway does, and check everything.
    auto spool_or = Spool::Open(CrashSpoolOptions(dir_));
    ASSERT_TRUE(spool_or.ok()) << spool_or.status().message();
    auto& spool = **spool_or;
    auto st = spool.Stats();
    std::map<uint64_t, std::pair<SpoolVendorId, Rec>> found;
    for (SpoolVendorId v = 0; v < 2; ++v) {
      uint64_t after = 0;
      for (;;) {
        auto batch = spool.Read(v, after, 500, 4 << 20);
        ASSERT_TRUE(batch.ok()) << batch.status().message();
        if (batch->empty()) break;
        for (const auto& rec : batch->records) {
          found[rec.seq] = {v, Rec{rec.seq, rec.kind, rec.accept_unix_us, std::string(rec.payload),
                                   std::string(rec.meta)}};
        }
        after = batch->last_seq();
      }
    }
    // Every record found is intact and whole: regenerate it from its self-description.
    for (const auto& [seq, vr] : found) {
      const auto& [v, rec] = vr;
      unsigned run_id, tid, n, k;
      ASSERT_EQ(std::sscanf(rec.payload.c_str(), "R%u T%u N%u K%u|", &run_id, &tid, &n, &k), 4) << "seq " << seq;
      ASSERT_EQ(rec.payload, CrashPayload(run_id, tid, n, k)) << "seq " << seq;
      ASSERT_EQ(rec.meta, CrashMeta(run_id, tid, n, k));
      ASSERT_EQ(rec.kind, k);
      ASSERT_EQ(v, CrashVendor(tid, n, k));
      // All or nothing: the unit's other records are here unless their vendor acknowledged them.
      for (uint32_t k2 = 0; k2 < CrashUnitRecords(run_id, tid, n); ++k2) {
        uint64_t s2 = seq - k + k2;
        SpoolVendorId v2 = CrashVendor(tid, n, k2);
        if (s2 > st.vendors[v2].acked_seq) ASSERT_TRUE(found.count(s2)) << "unit of seq " << seq << " is partial";
      }
    }
    // Every acknowledged record is there, unless its vendor acknowledged it before the kill.
    size_t checked = 0;
    for (const auto& u : acked) {
      for (uint32_t k = 0; k < u.records; ++k) {
        uint64_t seq = u.first_seq + k;
        SpoolVendorId v = CrashVendor(u.tid, u.n, k);
        if (seq <= st.vendors[v].acked_seq) continue;
        auto it = found.find(seq);
        ASSERT_NE(it, found.end()) << "acknowledged seq " << seq << " (run " << u.run << ") is missing";
        ASSERT_EQ(it->second.second.payload, CrashPayload(u.run, u.tid, u.n, k)) << "seq " << seq;
        ++checked;
      }
    }
    EXPECT_GT(checked, 0u);
    std::printf("[ crash    ] round %d: killed after %zu acked units; %zu records on disk, %zu acknowledged ones "
                "checked, %zu truncation(s)\n",
                run, this_round, found.size(), checked, spool.open_report().truncations.size());
    auto verify = VerifySpool(dir_);
    ASSERT_TRUE(verify.ok());
    EXPECT_TRUE(verify->ok()) << verify->problems[0].file << " @" << verify->problems[0].offset << ": "
                              << verify->problems[0].message;
  }
}

}  // namespace
}  // namespace vg
