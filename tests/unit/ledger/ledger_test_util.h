// Helpers for the ledger tests: temporary directories, an injected clock, random records, and a naive
// in-memory model of the queries to compare the ledger's answers with.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <random>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/ledger_format.h"

namespace vg::ledger::testing {

namespace fs = std::filesystem;

inline constexpr int64_t kDayUs = 86'400'000'000;
inline constexpr int64_t kT0 = 1'700'006'400'000'000;  // 2023-11-15T00:00:00Z, a day boundary

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = (fs::temp_directory_path() /
             ("vg-ledger-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

struct Clock {
  int64_t now = kT0;
  std::function<int64_t()> fn() {
    return [this] { return now; };
  }
};

inline std::vector<VendorInfo> TestVendors() {
  return {
      {"mixpanel", "product analytics", "consent", "US"},
      {"segment", "customer data platform", "legitimate interest", "US"},
      {"posthog", "product analytics", "consent", "DE"},
  };
}

inline LedgerOptions TestOptions(const std::string& dir, Clock* clock) {
  LedgerOptions o;
  o.dir = dir;
  o.vendors = TestVendors();
  o.sync = false;
  o.now_us = clock->fn();
  return o;
}

// A record with owned strings (LedgerRecord holds views).
struct OwnedRecord {
  int64_t time_us = 0;
  RecordKind kind = RecordKind::kDisclosure;
  uint16_t vendor = 0;
  std::string subject;
  uint32_t key_epoch = 1;
  uint32_t categories = 0;
  uint8_t outcome = 0;
  std::string insert_id;
  Hash payload_hash{};
  std::string actor, detail;

  LedgerRecord View() const {
    LedgerRecord r;
    r.time_us = time_us;
    r.kind = kind;
    r.vendor = vendor;
    r.subject = subject;
    r.key_epoch = key_epoch;
    r.categories = categories;
    r.outcome = outcome;
    r.insert_id = insert_id;
    r.payload_hash = payload_hash;
    r.actor = actor;
    r.detail = detail;
    return r;
  }
};

inline std::vector<LedgerRecord> Views(const std::vector<OwnedRecord>& records) {
  std::vector<LedgerRecord> v;
  v.reserve(records.size());
  for (const auto& r : records) v.push_back(r.View());
  return v;
}

// Random disclosures: times ascending-ish over [start, start + span), vendors in [0, vendors), subjects
// "user-<n>@example.com" for n < subjects, a few admin records and anonymous events mixed in.
inline std::vector<OwnedRecord> RandomRecords(std::mt19937_64& rng, size_t n, int64_t start, int64_t span,
                                              uint16_t vendors, int subjects, bool with_admin = true) {
  std::vector<OwnedRecord> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    OwnedRecord r;
    // Mostly increasing, with some jitter backwards (delivery order is not time order).
    r.time_us = start + static_cast<int64_t>((static_cast<double>(i) / static_cast<double>(n)) * static_cast<double>(span)) -
                static_cast<int64_t>(rng() % 5'000'000);
    if (r.time_us < start) r.time_us = start;
    r.vendor = static_cast<uint16_t>(rng() % vendors);
    const uint64_t pick = rng() % 100;
    if (with_admin && pick == 0) {
      r.kind = RecordKind::kAdmin;
      r.outcome = static_cast<uint8_t>(rng() % 5);
      r.actor = "admin@corp";
      r.detail = "cut: " + std::to_string(rng() % 100) + " discarded";
      r.vendor = (rng() % 2) ? r.vendor : kNoVendor;
      r.payload_hash = Hash{};
    } else {
      if (pick != 1) r.subject = "user-" + std::to_string(rng() % subjects) + "@example.com";
      r.key_epoch = 1 + static_cast<uint32_t>(rng() % 2);
      r.categories = static_cast<uint32_t>(1u << (rng() % 9)) | static_cast<uint32_t>(1u << (rng() % 9));
      const uint64_t o = rng() % 10;
      r.outcome = static_cast<uint8_t>(o < 7 ? 0 : (o < 9 ? 1 : 2));
      r.insert_id = "iid-" + std::to_string(rng());
      for (auto& b : r.payload_hash) b = static_cast<uint8_t>(rng());
    }
    out.push_back(std::move(r));
  }
  return out;
}

struct NaiveAgg {
  uint32_t categories = 0;
  int64_t first = INT64_MAX, last = INT64_MIN;
  OutcomeCounts counts;
  void Add(const OwnedRecord& r) {
    categories |= r.categories;
    first = std::min(first, r.time_us);
    last = std::max(last, r.time_us);
    counts.Add(r.outcome);
  }
};

inline bool InMask(uint8_t outcome, OutcomeMask mask) { return (mask >> outcome) & 1; }

// subject -> aggregate, over disclosures to any vendor id in `vendor_ids`.
inline std::map<std::string, NaiveAgg> NaiveWho(const std::vector<OwnedRecord>& all, const std::vector<uint16_t>& vendor_ids,
                                                int64_t from, int64_t to, OutcomeMask mask) {
  std::map<std::string, NaiveAgg> m;
  for (const auto& r : all) {
    if (r.kind != RecordKind::kDisclosure || r.subject.empty() || r.time_us < from || r.time_us >= to) continue;
    if (std::find(vendor_ids.begin(), vendor_ids.end(), r.vendor) == vendor_ids.end() || !InMask(r.outcome, mask)) {
      continue;
    }
    m[r.subject].Add(r);
  }
  return m;
}

inline std::map<uint16_t, NaiveAgg> NaiveSubject(const std::vector<OwnedRecord>& all, const std::string& subject,
                                                 OutcomeMask mask) {
  std::map<uint16_t, NaiveAgg> m;
  for (const auto& r : all) {
    if (r.kind != RecordKind::kDisclosure || r.subject != subject || !InMask(r.outcome, mask)) continue;
    m[r.vendor].Add(r);
  }
  return m;
}

struct NaiveVendor {
  NaiveAgg agg;
  std::set<std::string> subjects;
};
inline std::map<uint16_t, NaiveVendor> NaiveVendors(const std::vector<OwnedRecord>& all, int64_t since,
                                                    OutcomeMask mask) {
  std::map<uint16_t, NaiveVendor> m;
  for (const auto& r : all) {
    if (r.kind != RecordKind::kDisclosure || r.time_us < since || !InMask(r.outcome, mask)) continue;
    m[r.vendor].agg.Add(r);
    if (!r.subject.empty()) m[r.vendor].subjects.insert(r.subject);
  }
  return m;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void WriteAllBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::string> FilesWithSuffix(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (p.ends_with(suffix)) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline void CopyDir(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

}  // namespace vg::ledger::testing
