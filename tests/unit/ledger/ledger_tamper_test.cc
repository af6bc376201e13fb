// Crash recovery and tamper evidence: a torn tail is truncated (and only a torn tail); every change to the
// files (a flipped byte anywhere, a dropped, swapped or altered record in a re-encoded segment with valid
// checksums, a truncated or deleted segment, a replaced or forged signed head, an altered name table) is
// found by Verify, which names the file and, where it applies, the offset and the first record concerned.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "ledger/ledger_format.h"
#include "ledger/ledger_segment.h"
#include "ledger_test_util.h"

namespace vg::ledger {
namespace {

using namespace vg::ledger::testing;

struct Built {
  TempDir dir;
  Clock clock;
  std::vector<OwnedRecord> records;
  LedgerOptions options;
};

// A closed ledger with several sealed segments (max_segment records each, 16-row blocks), a non-empty
// write-ahead log, and a signed head after every batch of 20 records.
void Build(Built* b, size_t n, uint32_t max_segment, uint64_t seed = 7) {
  b->options = TestOptions(b->dir.path(), &b->clock);
  b->options.max_segment_records = max_segment;
  b->options.block_rows = 16;
  std::mt19937_64 rng(seed);
  b->records = RandomRecords(rng, n, kT0, kDayUs / 2, 3, 25);
  auto ledger = Ledger::Open(b->options);
  ASSERT_TRUE(ledger.ok()) << ledger.status().message();
  const auto views = Views(b->records);
  for (size_t i = 0; i < views.size(); i += 20) {
    ASSERT_TRUE((*ledger)->Append({views.data() + i, std::min<size_t>(20, views.size() - i)}).ok());
    b->clock.now += 1'500'000;
    ASSERT_TRUE((*ledger)->Flush().ok());
  }
  ASSERT_TRUE((*ledger)->Close().ok());
  VerifyReport r = Verify(b->dir.path());
  ASSERT_TRUE(r.ok) << r.problem;
  ASSERT_GT(r.heads_matched, 5u);
}

std::string Describe(const VerifyReport& r) {
  return "problem: " + r.problem + "\nfile: " + r.file + "\noffset: " + std::to_string(r.offset) +
         "\nrecord: " + std::to_string(r.record);
}

// ---- Recovery ----

struct FrameEnd {
  uint64_t end;
  uint64_t records_before_end;
};

std::vector<FrameEnd> ParseFrames(const std::string& wal) {
  // Header: magic(8) | u64 first | u32 len + frontier | u32 crc.
  size_t pos = 8 + 8;
  const uint32_t flen = format::GetU32(wal.data() + pos);
  pos += 4 + flen + 4;
  std::vector<FrameEnd> out{{pos, 0}};
  uint64_t records = 0;
  while (pos + 12 <= wal.size()) {
    const uint32_t len = format::GetU32(wal.data() + pos + 4);
    const uint32_t count = format::GetU32(wal.data() + pos + 8);
    if (pos + 12 + len > wal.size()) break;
    pos += 12 + len;
    records += count;
    out.push_back({pos, records});
  }
  return out;
}

TEST(LedgerRecoveryTest, TornTailAtManyOffsetsIsTruncatedAndTheRestIsIntact) {
  TempDir dir, snapshot, work;
  Clock clock;
  LedgerOptions o = TestOptions(dir.path(), &clock);
  o.max_segment_records = 1'000'000;
  std::mt19937_64 rng(11);
  const auto records = RandomRecords(rng, 150, kT0, kDayUs / 4, 3, 12);
  {
    auto ledger = Ledger::Open(o);  // signs a head over the 3 declarations
    ASSERT_TRUE(ledger.ok());
    const auto views = Views(records);
    for (size_t i = 0; i < views.size(); i += 10) {
      ASSERT_TRUE((*ledger)->Append({views.data() + i, 10}).ok());
      ASSERT_TRUE((*ledger)->Flush().ok());  // same clock: no further head
    }
    // The process dies here: copy the directory as it is on disk, without Close.
    CopyDir(dir.path(), snapshot.path());
  }
  const auto wals = FilesWithSuffix(snapshot.path(), ".log");
  ASSERT_EQ(wals.size(), 2u);  // heads.log and the WAL
  const std::string wal_name = fs::path(wals[0]).filename().string().starts_with("wal-")
                                   ? fs::path(wals[0]).filename().string()
                                   : fs::path(wals[1]).filename().string();
  const std::string wal = ReadAll(snapshot / wal_name);
  const auto frames = ParseFrames(wal);
  ASSERT_EQ(frames.size(), 1u + 1u + 15u);  // header, declarations, 15 batches
  ASSERT_EQ(frames.back().end, wal.size());

  std::vector<uint64_t> offsets;
  for (uint64_t off = frames[1].end; off < wal.size(); off += (off < frames[4].end ? 1 : 29)) offsets.push_back(off);
  for (const FrameEnd& f : frames) offsets.push_back(f.end);
  for (uint64_t off : offsets) {
    if (off < frames[1].end) continue;  // the declarations are covered by the signed head
    SCOPED_TRACE("WAL cut at offset " + std::to_string(off));
    CopyDir(snapshot.path(), work.path());
    ASSERT_EQ(::truncate((work / wal_name).c_str(), static_cast<off_t>(off)), 0);
    uint64_t complete = 0;
    bool at_boundary = false;
    for (const FrameEnd& f : frames) {
      if (f.end <= off) complete = f.records_before_end;
      if (f.end == off) at_boundary = true;
    }
    LedgerOptions wo = o;
    wo.dir = work.path();
    auto ledger = Ledger::Open(wo);
    ASSERT_TRUE(ledger.ok()) << ledger.status().message();
    EXPECT_EQ((*ledger)->size(), complete);
    EXPECT_EQ((*ledger)->open_report().truncation.has_value(), !at_boundary);
    if (!at_boundary) {
      uint64_t last_end = 0;
      for (const FrameEnd& f : frames) {
        if (f.end <= off) last_end = f.end;
      }
      EXPECT_EQ((*ledger)->open_report().truncation->offset, last_end);
      EXPECT_EQ((*ledger)->open_report().truncation->bytes_cut, off - last_end);
    }
    // What survived is exactly the first (complete - 3) records.
    const std::vector<OwnedRecord> survived(records.begin(), records.begin() + static_cast<ptrdiff_t>(complete - 3));
    for (int s = 0; s < 12; s += 5) {
      const std::string subject = "user-" + std::to_string(s) + "@example.com";
      auto got = (*ledger)->Subject(subject, kAllOutcomes);
      ASSERT_TRUE(got.ok());
      auto want = NaiveSubject(survived, subject, kAllOutcomes);
      ASSERT_EQ(got->vendors.size(), want.size());
      for (const auto& e : got->vendors) EXPECT_EQ(e.counts, want[e.vendor_id].counts);
    }
    // The ledger goes on from there, and verifies.
    const LedgerRecord more = records[0].View();
    ASSERT_TRUE((*ledger)->Append({&more, 1}).ok());
    ASSERT_TRUE((*ledger)->Close().ok());
    VerifyReport r = Verify(work.path());
    EXPECT_TRUE(r.ok) << Describe(r);
  }

  // A zero-filled tail (the file grew, its blocks were never written).
  CopyDir(snapshot.path(), work.path());
  {
    std::string bytes = ReadAll(work / wal_name);
    bytes.append(4096, '\0');
    WriteAllBytes(work / wal_name, bytes);
  }
  LedgerOptions wo = o;
  wo.dir = work.path();
  auto ledger = Ledger::Open(wo);
  ASSERT_TRUE(ledger.ok()) << ledger.status().message();
  EXPECT_EQ((*ledger)->size(), 153u);
  ASSERT_TRUE((*ledger)->open_report().truncation.has_value());
  EXPECT_EQ((*ledger)->open_report().truncation->bytes_cut, 4096u);
}

TEST(LedgerRecoveryTest, DamageThatASignedHeadCoversIsAnErrorNotATornTail) {
  Built b;
  Build(&b, 90, 1'000'000);  // everything in the WAL, heads up to the end
  const auto wal = FilesWithSuffix(b.dir.path(), ".log");
  std::string wal_path;
  for (const auto& p : wal) {
    if (fs::path(p).filename().string().starts_with("wal-")) wal_path = p;
  }
  std::string bytes = ReadAll(wal_path);
  const auto frames = ParseFrames(bytes);
  ASSERT_GT(frames.size(), 3u);
  const uint64_t off = frames[2].end + 20;  // inside the third frame
  bytes[off] ^= 0x40;
  WriteAllBytes(wal_path, bytes);
  auto ledger = Ledger::Open(b.options);
  ASSERT_FALSE(ledger.ok());
  EXPECT_NE(ledger.status().message().find(fs::path(wal_path).filename().string()), std::string::npos)
      << ledger.status().message();
  EXPECT_NE(ledger.status().message().find("offset " + std::to_string(frames[2].end)), std::string::npos)
      << ledger.status().message();
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.file, wal_path) << Describe(r);
  EXPECT_EQ(r.offset, static_cast<int64_t>(frames[2].end)) << Describe(r);
  EXPECT_EQ(r.record, static_cast<int64_t>(frames[2].records_before_end)) << Describe(r);
}

// ---- Tamper: byte flips ----

// Flips every byte of `path` in turn; Verify must fail each time and name `path`.
void FlipEveryByte(const std::string& dir, const std::string& path, size_t stride = 1) {
  const std::string original = ReadAll(path);
  ASSERT_FALSE(original.empty());
  size_t checked = 0;
  for (size_t i = 0; i < original.size(); i += stride) {
    std::string bytes = original;
    bytes[i] = static_cast<char>(bytes[i] ^ (1 << (i % 8)));
    WriteAllBytes(path, bytes);
    VerifyReport r = Verify(dir);
    ASSERT_FALSE(r.ok) << "a flip at offset " << i << " of " << path << " went unnoticed";
    ASSERT_EQ(r.file, path) << "flip at offset " << i << "\n" << Describe(r);
    ++checked;
  }
  WriteAllBytes(path, original);
  VerifyReport r = Verify(dir);
  ASSERT_TRUE(r.ok) << Describe(r);
  std::printf("[ tamper  ] %zu flipped bytes in %s: each detected and named\n", checked,
              fs::path(path).filename().c_str());
}

TEST(LedgerTamperTest, FlipOneByteAnywhereInASealedSegmentIsDetectedAndNamed) {
  Built b;
  Build(&b, 120, 40);
  const auto segs = FilesWithSuffix(b.dir.path(), ".vgl");
  ASSERT_GE(segs.size(), 2u);
  FlipEveryByte(b.dir.path(), segs[1]);
  // Flips in a block are named with their offset (the block's start), and the rows it holds.
  std::string bytes = ReadAll(segs[1]);
  auto seg = SegmentFile::Open(segs[1]);
  ASSERT_TRUE(seg.ok());
  const BlockRef& ref = (*seg)->row_blocks()[1].columns[kColCategories];
  SegmentRows block1;
  ASSERT_TRUE((*seg)->ReadRowBlock(1, ColumnBit(kColRecord), &block1).ok());
  ASSERT_FALSE(block1.record.empty());
  ASSERT_EQ(block1.record[0], (*seg)->row_blocks()[1].record_min);
  bytes[ref.offset + ref.stored_len / 2] ^= 0x10;
  WriteAllBytes(segs[1], bytes);
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.offset, static_cast<int64_t>(ref.offset)) << Describe(r);
  // Rows are stored grouped by vendor: the block's first record is the one its footer names.
  EXPECT_EQ(r.record, static_cast<int64_t>((*seg)->first_index() + (*seg)->row_blocks()[1].record_min)) << Describe(r);
  EXPECT_NE(r.problem.find("categories"), std::string::npos) << Describe(r);
  EXPECT_NE(r.problem.find("checksum"), std::string::npos) << Describe(r);
}

TEST(LedgerTamperTest, FlipOneByteInANameTableOrTheHeadsOrTheLogIsDetectedAndNamed) {
  Built b;
  Build(&b, 120, 40);
  const auto names = FilesWithSuffix(b.dir.path(), ".names");
  ASSERT_FALSE(names.empty());
  FlipEveryByte(b.dir.path(), names[0]);
  FlipEveryByte(b.dir.path(), b.dir / "heads.log", 3);
  for (const auto& p : FilesWithSuffix(b.dir.path(), ".log")) {
    if (fs::path(p).filename().string().starts_with("wal-")) FlipEveryByte(b.dir.path(), p, 2);
  }
}

// ---- Tamper: records removed, reordered or changed, with every checksum recomputed ----

// Rewrites segment `path` as a careful attacker would: valid checksums, a recomputed footer frontier.
void RewriteSegment(const std::string& dir, const std::string& path,
                    const std::function<void(SegmentContent*)>& change) {
  auto seg = SegmentFile::Open(path);
  ASSERT_TRUE(seg.ok()) << seg.status().message();
  SegmentContent c;
  ASSERT_TRUE((*seg)->ReadAll(&c).ok());
  auto names = ReadNames(dir + "/" + format::NamesFileName((*seg)->first_index()));
  ASSERT_TRUE(names.ok());
  c.subject_names = names->names;
  change(&c);
  c.frontier_end = RecomputeFrontier(c);
  SegmentEncodeOptions eo;
  eo.block_rows = (*seg)->block_rows();
  WriteAllBytes(path, EncodeSegment(c, eo));
}

SegmentRows WithoutRow(const SegmentRows& r, size_t skip) {
  SegmentRows out;
  for (size_t i = 0; i < r.size(); ++i) {
    if (i != skip) out.AppendFrom(r, i);
  }
  return out;
}

SegmentRows Swapped(const SegmentRows& r, size_t a, size_t b) {
  SegmentRows out;
  for (size_t i = 0; i < r.size(); ++i) out.AppendFrom(r, i == a ? b : (i == b ? a : i));
  return out;
}

TEST(LedgerTamperTest, DroppedRecordIsDetectedAndNamed) {
  Built b;
  Build(&b, 200, 60);
  const auto segs = FilesWithSuffix(b.dir.path(), ".vgl");
  ASSERT_GE(segs.size(), 3u);
  auto seg = SegmentFile::Open(segs[1]);
  ASSERT_TRUE(seg.ok());
  const uint64_t first = (*seg)->first_index();
  RewriteSegment(b.dir.path(), segs[1], [](SegmentContent* c) { c->rows = WithoutRow(c->rows, 30); });
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.file.find(fs::path(segs[1]).filename().string()), std::string::npos) << Describe(r);
  EXPECT_GE(r.record, static_cast<int64_t>(first)) << Describe(r);
  EXPECT_LE(r.record, static_cast<int64_t>(first + 30)) << Describe(r);
  EXPECT_NE(r.problem.find("signed tree head"), std::string::npos) << Describe(r);
}

TEST(LedgerTamperTest, DroppedLastRecordOfTheLedgerIsDetected) {
  Built b;
  Build(&b, 200, 60);
  ASSERT_TRUE(Ledger::Open(b.options).ok());  // (no change: reopen and close)
  std::string wal_path;
  for (const auto& p : FilesWithSuffix(b.dir.path(), ".log")) {
    if (fs::path(p).filename().string().starts_with("wal-")) wal_path = p;
  }
  const std::string bytes = ReadAll(wal_path);
  const auto frames = ParseFrames(bytes);
  ASSERT_GE(frames.size(), 2u);
  WriteAllBytes(wal_path, bytes.substr(0, frames[frames.size() - 2].end));  // the last frame removed
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.file, b.dir / "heads.log") << Describe(r);
  EXPECT_NE(r.problem.find("records were removed"), std::string::npos) << Describe(r);
  auto ledger = Ledger::Open(b.options);
  ASSERT_FALSE(ledger.ok());
  EXPECT_NE(ledger.status().message().find("records were removed"), std::string::npos) << ledger.status().message();
}

TEST(LedgerTamperTest, SwappedRecordsAreDetectedAndNamed) {
  Built b;
  Build(&b, 200, 60);
  const auto segs = FilesWithSuffix(b.dir.path(), ".vgl");
  auto seg = SegmentFile::Open(segs[0]);
  ASSERT_TRUE(seg.ok());
  RewriteSegment(b.dir.path(), segs[0], [](SegmentContent* c) { c->rows = Swapped(c->rows, 10, 11); });
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.file.find(fs::path(segs[0]).filename().string()), std::string::npos) << Describe(r);
  EXPECT_LE(r.record, 10) << Describe(r);
  EXPECT_NE(r.problem.find("reordered"), std::string::npos) << Describe(r);
}

TEST(LedgerTamperTest, ChangedFieldWithValidChecksumsIsDetectedAndNamed) {
  for (int field = 0; field < 5; ++field) {
    SCOPED_TRACE("field " + std::to_string(field));
    Built b;
    Build(&b, 200, 60);
    const auto segs = FilesWithSuffix(b.dir.path(), ".vgl");
    RewriteSegment(b.dir.path(), segs[2], [&](SegmentContent* c) {
      const size_t row = 25;
      switch (field) {
        case 0: c->rows.categories[row] ^= 0x100; break;  // hide a category that left
        case 1: c->rows.vendor[row] = static_cast<uint16_t>((c->rows.vendor[row] + 1) % 3); break;
        case 2: c->rows.time_us[row] += 1; break;
        case 3: c->rows.payload_hash[row][0] ^= 1; break;
        case 4: c->rows.outcome[row] = c->rows.outcome[row] == 0 ? 2 : 0; break;
      }
    });
    VerifyReport r = Verify(b.dir.path());
    ASSERT_FALSE(r.ok);
    EXPECT_NE(r.file.find(fs::path(segs[2]).filename().string()), std::string::npos) << Describe(r);
    auto seg = SegmentFile::Open(segs[2]);
    ASSERT_TRUE(seg.ok());
    EXPECT_LE(r.record, static_cast<int64_t>((*seg)->first_index() + 25)) << Describe(r);
  }
}

TEST(LedgerTamperTest, AlteredNameTableIsDetected) {
  Built b;
  Build(&b, 200, 60);
  const auto names = FilesWithSuffix(b.dir.path(), ".names");
  auto table = ReadNames(names[0]);
  ASSERT_TRUE(table.ok());
  std::vector<std::string> list = table->names.ToStrings();
  list[0] = "someone-else@example.com";  // point the records at another person
  WriteAllBytes(names[0], EncodeNames(table->first_index, NameList::FromStrings(list), table->page_entries, 1));
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.file, names[0]) << Describe(r);
  EXPECT_NE(r.problem.find("keyed hash"), std::string::npos) << Describe(r);
}

// ---- Tamper: truncation and deletion ----

TEST(LedgerTamperTest, TruncatedSegmentIsDetectedAndNamed) {
  Built b;
  Build(&b, 200, 60);
  const auto segs = FilesWithSuffix(b.dir.path(), ".vgl");
  const std::string original = ReadAll(segs[1]);
  for (size_t keep : {original.size() - 1, original.size() - 24, original.size() / 2, size_t{10}, size_t{0}}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " bytes");
    WriteAllBytes(segs[1], original.substr(0, keep));
    VerifyReport r = Verify(b.dir.path());
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.file, segs[1]) << Describe(r);
    EXPECT_NE(r.problem.find("truncated"), std::string::npos) << Describe(r);
    auto ledger = Ledger::Open(b.options);
    ASSERT_FALSE(ledger.ok());
    EXPECT_NE(ledger.status().message().find(fs::path(segs[1]).filename().string()), std::string::npos);
  }
}

TEST(LedgerTamperTest, DeletedSegmentIsDetectedAndNamed) {
  Built b;
  Build(&b, 200, 60);
  const auto segs = FilesWithSuffix(b.dir.path(), ".vgl");
  auto middle = SegmentFile::Open(segs[1]);
  ASSERT_TRUE(middle.ok());
  const uint64_t first = (*middle)->first_index(), end = (*middle)->end_index();
  middle->reset();
  fs::remove(segs[1]);
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("records [" + std::to_string(first) + ", " + std::to_string(end) + ") are missing"),
            std::string::npos)
      << Describe(r);
  EXPECT_EQ(r.record, static_cast<int64_t>(first));
  // The oldest segment deleted without a retention record.
  fs::remove(segs[0]);
  fs::remove(segs[1].substr(0, segs[1].size() - 4) + ".names");
  fs::remove(segs[0].substr(0, segs[0].size() - 4) + ".names");
  for (size_t i = 2; i < segs.size(); ++i) {
    fs::remove(segs[i]);
    fs::remove(segs[i].substr(0, segs[i].size() - 4) + ".names");
  }
  // Only the WAL remains, starting after the deleted records.
  r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("no retention record"), std::string::npos) << Describe(r);
}

// ---- Tamper: signed tree heads ----

void RewriteHead(const std::string& heads_path, size_t k, const std::function<SignedTreeHead(SignedTreeHead)>& change) {
  std::string bytes = ReadAll(heads_path);
  const size_t off = k * (4 + kSignedTreeHeadBytes);
  ASSERT_LE(off + 4 + kSignedTreeHeadBytes, bytes.size());
  auto sth = SignedTreeHead::Parse(
      {reinterpret_cast<const uint8_t*>(bytes.data() + off + 4), kSignedTreeHeadBytes});
  ASSERT_TRUE(sth.ok());
  const std::string entry = [&] {
    const std::string s = change(*sth).Serialize();
    std::string e;
    format::PutU32(&e, format::Crc(s));
    return e + s;
  }();
  bytes.replace(off, entry.size(), entry);
  WriteAllBytes(heads_path, bytes);
}

TEST(LedgerTamperTest, HeadResignedWithAnotherKeyIsDetectedAndNamed) {
  Built b;
  Build(&b, 200, 60);
  const std::string heads = b.dir / "heads.log";
  uint8_t seed[32] = {42};
  const TreeHeadSigner other = TreeHeadSigner::FromSeed(std::span<const uint8_t, 32>(seed, 32));
  RewriteHead(heads, 4, [&](SignedTreeHead h) { return other.Sign(h.head); });
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.file, heads) << Describe(r);
  EXPECT_EQ(r.offset, static_cast<int64_t>(4 * (4 + kSignedTreeHeadBytes))) << Describe(r);
  EXPECT_NE(r.problem.find("head #4"), std::string::npos) << Describe(r);
  EXPECT_NE(r.problem.find("signature"), std::string::npos) << Describe(r);
}

TEST(LedgerTamperTest, ForgedRootIsDetectedWithOrWithoutTheSigningKey) {
  Built b;
  Build(&b, 200, 60);
  const std::string heads = b.dir / "heads.log";
  const std::string original = ReadAll(heads);
  // Without the key: the root is changed, the signature kept.
  RewriteHead(heads, 5, [](SignedTreeHead h) {
    h.head.root_hash[7] ^= 1;
    return h;
  });
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("head #5"), std::string::npos) << Describe(r);
  EXPECT_NE(r.problem.find("signature"), std::string::npos) << Describe(r);
  // With the ledger's own key (stolen): the signature is valid, the root is not the records'.
  WriteAllBytes(heads, original);
  auto signer = TreeHeadSigner::Open(b.dir / "head.key");
  ASSERT_TRUE(signer.ok());
  uint64_t size5 = 0;
  RewriteHead(heads, 5, [&](SignedTreeHead h) {
    size5 = h.head.tree_size;
    h.head.root_hash[7] ^= 1;
    return signer->Sign(h.head);
  });
  r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("signed tree head #5"), std::string::npos) << Describe(r);
  EXPECT_NE(r.problem.find("tree size " + std::to_string(size5)), std::string::npos) << Describe(r);
  // Every head and head.pub replaced by an attacker's: only an auditor's copy of the key catches it.
  WriteAllBytes(heads, original);
  uint8_t seed[32] = {9};
  const TreeHeadSigner attacker = TreeHeadSigner::FromSeed(std::span<const uint8_t, 32>(seed, 32));
  const size_t count = original.size() / (4 + kSignedTreeHeadBytes);
  for (size_t k = 0; k < count; ++k) RewriteHead(heads, k, [&](SignedTreeHead h) { return attacker.Sign(h.head); });
  ASSERT_TRUE(attacker.WritePublicKeyFile(b.dir / "head.pub").ok());
  VerifyOptions trusted;
  trusted.public_key = signer->public_key();
  r = Verify(b.dir.path(), trusted);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("head #0"), std::string::npos) << Describe(r);
}

TEST(LedgerTamperTest, ReorderedHeadsAreDetected) {
  Built b;
  Build(&b, 200, 60);
  const std::string heads = b.dir / "heads.log";
  std::string bytes = ReadAll(heads);
  const size_t e = 4 + kSignedTreeHeadBytes;
  const std::string h3 = bytes.substr(3 * e, e), h4 = bytes.substr(4 * e, e);
  bytes.replace(3 * e, e, h4);
  bytes.replace(4 * e, e, h3);
  WriteAllBytes(heads, bytes);
  VerifyReport r = Verify(b.dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.file, heads) << Describe(r);
  EXPECT_EQ(r.offset, static_cast<int64_t>(4 * e)) << Describe(r);
}

}  // namespace
}  // namespace vg::ledger
