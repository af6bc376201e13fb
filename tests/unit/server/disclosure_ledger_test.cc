// Delivery records every event's fate in the disclosure ledger before acknowledging it: delivered events,
// events a cut discarded, admin actions; a failing ledger holds acknowledgements instead of losing records.
#include "server/disclosure_ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "config/config.h"
#include "delivery/delivery.h"
#include "ledger/ledger.h"
#include "ledger/ledger_segment.h"
#include "policy/categories.h"
#include "server/admin_server.h"
#include "../testing/shadow_config.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace vg {
namespace {

constexpr int64_t kNov10 = 1'762'732'800'000'000;  // 2025-11-10T00:00:00Z in microseconds

TEST(DisclosureMetaTest, RoundTripsAndRejectsOtherBytes) {
  DisclosureMeta m{"user-42", 3, kCatIdentifier | kCatContact, "ins-1"};
  const std::string bytes = EncodeDisclosureMeta(m);
  DisclosureMeta back;
  ASSERT_TRUE(DecodeDisclosureMeta(bytes, &back));
  EXPECT_EQ(back.subject, "user-42");
  EXPECT_EQ(back.key_epoch, 3u);
  EXPECT_EQ(back.categories, kCatIdentifier | kCatContact);
  EXPECT_EQ(back.insert_id, "ins-1");
  // Empty fields, and a long insert_id cut to 255 bytes.
  const std::string long_id(300, 'x');
  ASSERT_TRUE(DecodeDisclosureMeta(EncodeDisclosureMeta({"", 0, 0, long_id}), &back));
  EXPECT_EQ(back.subject, "");
  EXPECT_EQ(back.insert_id.size(), 255u);
  // Anything else is refused: empty, truncated, trailing bytes, another version.
  EXPECT_FALSE(DecodeDisclosureMeta("", &back));
  EXPECT_FALSE(DecodeDisclosureMeta(bytes.substr(0, bytes.size() - 1), &back));
  EXPECT_FALSE(DecodeDisclosureMeta(bytes + "x", &back));
  std::string other = bytes;
  other[0] = 2;
  EXPECT_FALSE(DecodeDisclosureMeta(other, &back));
}

// Wraps the real ledger and fails while `fail` is set.
class FlakyRecorder final : public DisclosureRecorder {
 public:
  explicit FlakyRecorder(DisclosureRecorder* inner) : inner_(inner) {}
  Status RecordDisclosures(std::span<const DisclosureEvent> events) override {
    ++calls;
    if (fail.load()) return Status::IOError("disk full (test)");
    return inner_->RecordDisclosures(events);
  }
  Status RecordAdmin(const AdminEvent& e) override { return inner_->RecordAdmin(e); }
  std::atomic<bool> fail{false};
  std::atomic<int> calls{0};

 private:
  DisclosureRecorder* inner_;
};

class DisclosureLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("vg-disclosure-test");
    ASSERT_FALSE(dir_.empty());
    config_ = testing::ShadowConfig(dir_, {"alpha", "beta"});
    auto l = DisclosureLedger::Open(config_, false, [this] { return now_.load(); }, {1, 1}, "test");
    ASSERT_TRUE(l.ok()) << l.status().message();
    ledger_ = std::move(*l);
  }
  void TearDown() override {
    delivery_.reset();
    ledger_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartDelivery(DisclosureRecorder* recorder) {
    DeliveryOptions options;
    options.fsync = FsyncPolicy::kNever;
    options.recorder = recorder;
    options.now_us = [this] { return now_.load(); };
    auto d = Delivery::Start(config_, options);
    ASSERT_TRUE(d.ok()) << d.status().message();
    delivery_ = std::move(*d);
  }

  // Submits one event per subject for `vendor` and waits for the commit.
  void Submit(SpoolVendorId vendor, const std::vector<std::string>& subjects, uint32_t categories) {
    std::vector<std::string> payloads, metas;
    for (size_t i = 0; i < subjects.size(); ++i) {
      payloads.push_back("{\"event\":\"e\",\"properties\":{\"n\":" + std::to_string(i) + "}}");
      metas.push_back(EncodeDisclosureMeta({subjects[i], 1, categories, "ins-" + subjects[i]}));
    }
    std::vector<SpoolEntry> entries;
    for (size_t i = 0; i < subjects.size(); ++i) entries.push_back({vendor, 0, payloads[i], metas[i]});
    std::promise<Status> committed;
    ASSERT_TRUE(delivery_->Submit(entries, [&](StatusOr<uint64_t> r) { committed.set_value(r.status()); }).ok());
    ASSERT_TRUE(committed.get_future().get().ok());
  }

  bool WaitFor(const std::function<bool()>& pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  uint64_t Delivered(std::string_view vendor) { return delivery_->Get(vendor)->delivered; }
  uint64_t Pending(std::string_view vendor) { return delivery_->Get(vendor)->pending; }

  std::string dir_;
  Config config_;
  std::atomic<int64_t> now_{kNov10};
  std::unique_ptr<DisclosureLedger> ledger_;
  std::unique_ptr<Delivery> delivery_;
};

TEST_F(DisclosureLedgerTest, DeliveredEventsAreRecordedWithSubjectCategoriesAndTime) {
  StartDelivery(ledger_.get());
  Submit(0, {"u1", "u2", "u1"}, kCatIdentifier | kCatContact);
  Submit(1, {"u3"}, kCatIdentifier);
  ASSERT_TRUE(WaitFor([&] { return Delivered("alpha") == 3 && Delivered("beta") == 1; }));
  // Recorded before acknowledged: once the spool is empty, the ledger holds them.
  ASSERT_TRUE(WaitFor([&] { return Pending("alpha") == 0 && Pending("beta") == 0; }));

  auto who = ledger_->ledger().Who("alpha", kNov10, kNov10 + 1);
  ASSERT_TRUE(who.ok()) << who.status().message();
  ASSERT_EQ(who->size(), 2u);
  uint64_t total = 0;
  for (const auto& w : *who) {
    EXPECT_TRUE(w.subject == "u1" || w.subject == "u2") << w.subject;
    EXPECT_EQ(w.categories, kCatIdentifier | kCatContact);
    EXPECT_EQ(w.first_us, kNov10);
    EXPECT_EQ(w.counts.delivered, w.subject == "u1" ? 2u : 1u);
    total += w.counts.total();
  }
  EXPECT_EQ(total, 3u);
  // Outside the window: nothing.
  EXPECT_TRUE(ledger_->ledger().Who("alpha", kNov10 + 1, kNov10 + 1000)->empty());

  auto subject = ledger_->ledger().Subject("u3");
  ASSERT_TRUE(subject.ok());
  ASSERT_TRUE(subject->found);
  ASSERT_EQ(subject->vendors.size(), 1u);
  EXPECT_EQ(subject->vendors[0].vendor.name, "beta");
  EXPECT_EQ(subject->vendors[0].vendor.legal_basis, "consent");
  EXPECT_EQ(subject->vendors[0].categories, kCatIdentifier);

  delivery_.reset();
  ledger_.reset();
  ledger::VerifyReport report = ledger::Verify(dir_ + "/data/ledger");
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 2u + 2u + 4u);  // two vendor declarations, two policies first seen, four disclosures
}

// The ledger's proof of what a vendor got is the SHA-256 of the exact bytes sent: computed here from what
// the (shadow) vendor received, it must equal what the sealed segment holds for each delivered event.
TEST_F(DisclosureLedgerTest, EachDeliveredEventsPayloadHashIsTheSha256OfTheBytesTheVendorReceived) {
  StartDelivery(ledger_.get());
  Submit(0, {"u1", "u2", "u3", "u\u00e9-4"}, kCatIdentifier);
  Submit(1, {"u5", "u6"}, kCatIdentifier);
  ASSERT_TRUE(WaitFor([&] { return Pending("alpha") == 0 && Pending("beta") == 0; }));
  ASSERT_EQ(Delivered("alpha"), 4u);
  ASSERT_TRUE(ledger_->ledger().SealForTesting().ok());

  auto sha256 = [](std::string_view bytes) {
    ledger::Hash h{};
    unsigned int n = 0;
    EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), h.data(), &n, EVP_sha256(), nullptr), 1);
    return h;
  };
  // What each vendor received: the shadow outbox holds one {"endpoint":...,"data":<payload>} line an event.
  std::map<std::string, std::vector<ledger::Hash>> received;
  for (const std::string vendor : {"alpha", "beta"}) {
    std::ifstream in(dir_ + "/data/outbox/" + vendor + ".jsonl");
    const std::string prefix = "{\"endpoint\":\"/track\",\"data\":";
    for (std::string line; std::getline(in, line);) {
      ASSERT_TRUE(line.starts_with(prefix) && line.ends_with("}")) << line;
      received[vendor].push_back(sha256(std::string_view(line).substr(prefix.size(), line.size() - prefix.size() - 1)));
    }
  }
  // What the ledger recorded, from the sealed segment.
  std::map<std::string, std::vector<ledger::Hash>> recorded;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/data/ledger")) {
    if (e.path().extension() != ".vgl") continue;
    auto seg = ledger::SegmentFile::Open(e.path().string());
    ASSERT_TRUE(seg.ok()) << seg.status().message();
    ledger::SegmentContent content;
    ASSERT_TRUE((*seg)->ReadAll(&content).ok());
    for (size_t r = 0; r < content.rows.size(); ++r) {
      if (content.rows.kind[r] != static_cast<uint8_t>(ledger::RecordKind::kDisclosure)) continue;
      recorded[content.vendors.at(content.rows.vendor[r]).name].push_back(content.rows.payload_hash[r]);
    }
  }
  for (auto* m : {&received, &recorded}) {
    for (auto& [vendor, hashes] : *m) std::sort(hashes.begin(), hashes.end());
  }
  ASSERT_EQ(received["alpha"].size(), 4u);
  ASSERT_EQ(received["beta"].size(), 2u);
  EXPECT_EQ(recorded, received);
}

TEST_F(DisclosureLedgerTest, CutRecordsTheDiscardedEventsAndTheAction) {
  StartDelivery(ledger_.get());
  ASSERT_TRUE(delivery_->Pause("alpha", "tester").ok());
  Submit(0, {"a", "b", "c"}, kCatIdentifier);
  now_ += 5'000'000;
  auto cut = delivery_->Cut("alpha", "tester");
  ASSERT_TRUE(cut.ok()) << cut.status().message();
  EXPECT_EQ(*cut, 3u);

  // Never sent: not counted as reaching the vendor, but recorded with outcome cut.
  auto reached = ledger_->ledger().Who("alpha", kNov10, kNov10 + 10'000'000);
  ASSERT_TRUE(reached.ok());
  EXPECT_TRUE(reached->empty());
  auto all = ledger_->ledger().Who("alpha", kNov10, kNov10 + 10'000'000, ledger::kAllOutcomes);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  for (const auto& w : *all) {
    EXPECT_EQ(w.counts.cut, 1u);
    EXPECT_EQ(w.counts.delivered, 0u);
    EXPECT_EQ(w.first_us, kNov10 + 5'000'000);
  }
  // Two declarations, two policies first seen, pause, three cut events, the cut itself.
  EXPECT_EQ(ledger_->ledger().size(), 2u + 2u + 1u + 3u + 1u);
  // An action refused (already cut) records nothing.
  EXPECT_FALSE(delivery_->Cut("alpha", "tester").ok());
  EXPECT_EQ(ledger_->ledger().size(), 9u);
}

TEST_F(DisclosureLedgerTest, AFailingLedgerHoldsAcknowledgementsAndLosesNothing) {
  FlakyRecorder flaky(ledger_.get());
  flaky.fail = true;
  StartDelivery(&flaky);
  Submit(0, {"x1", "x2"}, kCatIdentifier);
  ASSERT_TRUE(WaitFor([&] { return flaky.calls.load() >= 2; }));
  // Sent (shadow outbox), but not acknowledged while the ledger cannot record it.
  EXPECT_EQ(Pending("alpha"), 2u);
  flaky.fail = false;
  ASSERT_TRUE(WaitFor([&] { return Pending("alpha") == 0; }));
  auto who = ledger_->ledger().Who("alpha", kNov10, kNov10 + 1);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->size(), 2u);
}

TEST_F(DisclosureLedgerTest, APolicyChangeIsRecordedOnceAtTheNextStart) {
  const uint64_t before = ledger_->ledger().size();
  ledger_.reset();
  // Same configuration: nothing new.
  auto same = DisclosureLedger::Open(config_, false, [this] { return now_.load(); }, {1, 1}, "test");
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_EQ((*same)->ledger().size(), before);
  same->reset();
  // beta now lets `plan` through, and alpha moved to key epoch 2: one record each.
  config_.vendors[1].policy.allow.push_back("plan");
  auto changed = DisclosureLedger::Open(config_, false, [this] { return now_.load(); }, {2, 1}, "test");
  ASSERT_TRUE(changed.ok()) << changed.status().message();
  EXPECT_EQ((*changed)->ledger().size(), before + 2);
  changed->reset();
  auto again = DisclosureLedger::Open(config_, false, [this] { return now_.load(); }, {2, 1}, "test");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ledger().size(), before + 2);
}

// Every byte of the ledger's write-ahead logs, where the latest records' texts (actors) are stored as is.
std::string WalBytes(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.path().filename().string().starts_with("wal-")) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  return all;
}

// A deletion request through the admin socket's router, with the gateway's DisclosureLedger.
TEST_F(DisclosureLedgerTest, EraseThroughTheAdminRouteRemovesTheIdentifierAndNamesThePeer) {
  StartDelivery(ledger_.get());
  Submit(0, {"erase-me@example.com", "keep-me"}, kCatIdentifier | kCatContact);
  ASSERT_TRUE(WaitFor([&] { return Pending("alpha") == 0 && Delivered("alpha") == 2; }));
  ASSERT_TRUE(ledger_->ledger().Subject("erase-me@example.com")->found);
  const AdminPeer peer{true, getuid(), getpid(), ""};
  auto call = [&](std::string_view method, std::string_view body, DisclosureLedger* ledger) {
    return HandleAdminRequest(*delivery_, method, "/v1/ledger/erase", peer, nullptr, ledger, body);
  };
  simdjson::dom::parser parser;
  auto error_of = [&](const AdminResponse& r) {
    simdjson::padded_string padded(r.body);
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(padded).get(doc), simdjson::SUCCESS) << r.body;
    std::string_view e;
    EXPECT_EQ(doc["error"].get(e), simdjson::SUCCESS) << r.body;
    return std::string(e);
  };

  // Bad bodies: 400, and nothing is erased.
  for (std::string_view body : {"", "not json", "[\"erase-me@example.com\"]", "{}", "{\"subject\":5}",
                                "{\"subject\":null}", "{\"subject\":\"\"}",
                                "{\"subject\":\"erase-me@example.com\",\"also\":1}", "{\"subject\":\"x\""}) {
    const AdminResponse r = call("POST", body, ledger_.get());
    EXPECT_EQ(r.status, 400u) << body << " -> " << r.body;
    EXPECT_FALSE(error_of(r).empty());
  }
  EXPECT_FALSE(ledger_->ledger().Subject("erase-me@example.com")->erased);
  // Wrong method; no ledger.
  EXPECT_EQ(call("GET", "", ledger_.get()).status, 405u);
  const AdminResponse no_ledger = call("POST", "{\"subject\":\"erase-me@example.com\"}", nullptr);
  EXPECT_EQ(no_ledger.status, 503u);
  EXPECT_EQ(error_of(no_ledger), "this gateway runs without a disclosure ledger");
  // Unknown identifier: 404, saying nothing else, and recording nothing.
  const uint64_t size_before = ledger_->ledger().size();
  const AdminResponse unknown = call("POST", "{\"subject\":\"nobody\"}", ledger_.get());
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.body, "{\"error\":\"the ledger holds no records about this identifier\"}\n");
  EXPECT_EQ(ledger_->ledger().size(), size_before);

  // The real thing.
  const AdminResponse ok = call("POST", "{\"subject\":\"erase-me@example.com\"}", ledger_.get());
  ASSERT_EQ(ok.status, 200u) << ok.body;
  simdjson::padded_string padded(ok.body);
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(padded).get(doc), simdjson::SUCCESS);
  bool erased = false, sealed = false;
  uint64_t segments = 0;
  ASSERT_EQ(doc["subject_erased"].get(erased), simdjson::SUCCESS);
  ASSERT_EQ(doc["sealed_active"].get(sealed), simdjson::SUCCESS);
  ASSERT_EQ(doc["segments_rewritten"].get(segments), simdjson::SUCCESS);
  EXPECT_TRUE(erased);
  EXPECT_TRUE(sealed);  // its records were in the active segment
  EXPECT_EQ(segments, 1u);
  auto after = ledger_->ledger().Subject("erase-me@example.com");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->found);
  EXPECT_TRUE(after->erased);
  ASSERT_EQ(after->vendors.size(), 1u);  // the accounting stays
  EXPECT_EQ(after->vendors[0].counts.delivered, 1u);
  EXPECT_FALSE(ledger_->ledger().Subject("keep-me")->erased);
  // The erase record names the peer (its actor is in the new write-ahead log).
  const std::string actor_tail = "uid " + std::to_string(getuid()) + "), pid " + std::to_string(getpid()) +
                                 " via the admin socket";
  const std::string actor_plain = "uid " + std::to_string(getuid()) + ", pid " + std::to_string(getpid()) +
                                  " via the admin socket";
  const std::string wal = WalBytes(ledger_->dir());
  EXPECT_TRUE(wal.find(actor_tail) != std::string::npos || wal.find(actor_plain) != std::string::npos);
  EXPECT_NE(wal.find("erased the identifier with keyed hash"), std::string::npos);
  EXPECT_EQ(wal.find("erase-me@example.com"), std::string::npos);

  // Again: nothing left to erase.
  const AdminResponse again = call("POST", "{\"subject\":\"erase-me@example.com\"}", ledger_.get());
  EXPECT_EQ(again.status, 409u) << again.body;

  delivery_.reset();
  ledger_.reset();
  const ledger::VerifyReport report = ledger::Verify(dir_ + "/data/ledger");
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_GT(report.names_checked, 0u);
}

// ledger.retention_days through the gateway's DisclosureLedger, with its injected clock.
TEST_F(DisclosureLedgerTest, RetentionDropsWholeDaysOlderThanTheCutoffAndTheLedgerStillVerifies) {
  constexpr int64_t kDay = 86'400'000'000;
  constexpr int64_t kHour = 3'600'000'000;
  // Without retention_days: nothing is ever dropped.
  auto none = ledger_->ApplyRetention(kNov10 + 1000 * kDay);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none->segments_dropped, 0u);
  ledger_.reset();

  config_.ledger_retention_days = 2;
  auto opened = DisclosureLedger::Open(config_, false, [this] { return now_.load(); }, {1, 1}, "test");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  ledger_ = std::move(*opened);
  // One disclosure at 10:00 on each of four days: three sealed day segments and the active one.
  std::vector<std::string> metas;
  for (int day = 0; day < 4; ++day) {
    metas.push_back(EncodeDisclosureMeta({"day" + std::to_string(day), 1, kCatIdentifier, "i"}));
  }
  for (int day = 0; day < 4; ++day) {
    now_ = kNov10 + day * kDay + 10 * kHour;
    const DisclosureEvent e{now_.load(), 0, DisclosureOutcome::kDelivered, metas[day], "{}"};
    ASSERT_TRUE(ledger_->RecordDisclosures({&e, 1}).ok());
  }
  // Day 3, 12:00: the cutoff is day 1, 12:00, so days 0 and 1 go and day 2 stays.
  now_ = kNov10 + 3 * kDay + 12 * kHour;
  auto result = ledger_->ApplyRetention(now_.load());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->segments_dropped, 2u);
  EXPECT_FALSE(ledger_->ledger().Subject("day0")->found);
  EXPECT_FALSE(ledger_->ledger().Subject("day1")->found);
  EXPECT_TRUE(ledger_->ledger().Subject("day2")->found);
  EXPECT_TRUE(ledger_->ledger().Subject("day3")->found);
  EXPECT_NE(WalBytes(ledger_->dir()).find("retention policy (ledger.retention_days=2)"), std::string::npos);
  // Nothing more to drop an hour later.
  now_ += kHour;
  auto again = ledger_->ApplyRetention(now_.load());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->segments_dropped, 0u);

  ledger_.reset();
  const ledger::VerifyReport report = ledger::Verify(dir_ + "/data/ledger");
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.first_record, result->first_retained_index);
  EXPECT_GT(report.first_record, 0u);
}

}  // namespace
}  // namespace vg
