// Incident assessment at scale (issue #6: "assessment over 1M affected subjects in <= 5 s"), one core:
// a ledger of 1M subjects of a breached vendor (2 disclosures each, half inside the window, half before
// it, plus a second vendor's records interleaved) is built once in a temporary directory; the benchmark
// times the assessment (three ledger queries and the merge) and each report rendering on top of it.
//
//   ./build/release/bench/incident_bench --benchmark_min_time=1 --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true   (one line)
//   VG_INCIDENT_BENCH_SUBJECTS=N overrides the 1,000,000 subjects.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "incident/assessment.h"
#include "ledger/ledger.h"
#include "policy/categories.h"

namespace vg::incident {
namespace {

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kNov1 = 1'761'955'200'000'000;  // 2025-11-01T00:00:00Z
constexpr int64_t kNov9 = kNov1 + 8 * kDay;
constexpr int64_t kNov25 = kNov1 + 24 * kDay;

size_t Subjects() {
  const char* env = std::getenv("VG_INCIDENT_BENCH_SUBJECTS");
  return env != nullptr ? static_cast<size_t>(std::strtoull(env, nullptr, 10)) : 1'000'000;
}

struct Fixture {
  std::string dir;
  std::unique_ptr<ledger::Ledger> ledger;
  Incident incident;
  ~Fixture() {
    ledger.reset();
    std::filesystem::remove_all(dir);
  }
};

Fixture& Data() {
  static Fixture* f = [] {
    auto* fx = new Fixture();
    char tmpl[] = "/var/tmp/vg-incident-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    fx->dir = tmpl;
    ledger::LedgerOptions o;
    o.dir = fx->dir;
    o.sync = false;
    o.vendors = {{"mixpanel", "product analytics", "consent", "US"}, {"posthog", "product analytics", "consent", "DE"}};
    o.now_us = [] { return kNov1; };
    auto l = ledger::Ledger::Open(o);
    if (!l.ok()) std::abort();
    fx->ledger = std::move(*l);
    const uint16_t mixpanel = *fx->ledger->VendorId("mixpanel"), posthog = *fx->ledger->VendorId("posthog");
    const size_t n = Subjects();
    // Time order (the ledger partitions by day): each day's records for a slice of the subjects.
    std::vector<std::string> names(n);
    for (size_t i = 0; i < n; ++i) names[i] = "user-" + std::to_string(i) + "@example.com";
    std::vector<ledger::LedgerRecord> batch;
    auto flush = [&] {
      if (!fx->ledger->Append(batch).ok()) std::abort();
      batch.clear();
    };
    for (int pass = 0; pass < 2; ++pass) {  // pass 0: before the window (Nov 1-8); pass 1: inside (Nov 9-24)
      const int64_t start = pass == 0 ? kNov1 : kNov9;
      const int64_t span = pass == 0 ? 8 * kDay : 16 * kDay;
      for (size_t i = 0; i < n; ++i) {
        const int64_t t = start + static_cast<int64_t>(i) * (span / static_cast<int64_t>(n));
        uint32_t cats = kCatIdentifier | kCatActivity;
        if (i % 3 == 0) cats |= kCatContact;
        if (pass) cats |= kCatDevice;
        batch.push_back(ledger::LedgerRecord::Disclosure(t, mixpanel, names[i], 1, cats, ledger::Outcome::kDelivered,
                                                         "ins", {}));
        if (i % 4 == 0) {
          batch.push_back(ledger::LedgerRecord::Disclosure(t, posthog, names[i], 1, kCatIdentifier,
                                                           ledger::Outcome::kDelivered, "ins", {}));
        }
        if (batch.size() >= 10'000) flush();
      }
    }
    flush();
    if (!fx->ledger->Flush().ok()) std::abort();
    fx->incident.id = "INC-bench";
    fx->incident.vendor = "mixpanel";
    fx->incident.from_us = kNov9;
    fx->incident.to_us = kNov25;
    fx->incident.aware_at_us = kNov25;
    fx->incident.opened_at_us = kNov25;
    return fx;
  }();
  return *f;
}

void BM_Assess(benchmark::State& state) {
  Fixture& f = Data();
  size_t subjects = 0;
  for (auto _ : state) {
    auto a = Assess(*f.ledger, f.incident, kNov25);
    if (!a.ok()) state.SkipWithError(a.status().message().c_str());
    subjects = a->subjects.size();
    benchmark::DoNotOptimize(a);
  }
  state.counters["subjects"] = static_cast<double>(subjects);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(subjects));
}
BENCHMARK(BM_Assess)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AssessAndRenderEverything(benchmark::State& state) {
  Fixture& f = Data();
  Config::Organization org;
  size_t bytes = 0;
  for (auto _ : state) {
    auto a = Assess(*f.ledger, f.incident, kNov25);
    if (!a.ok()) state.SkipWithError(a.status().message().c_str());
    const std::string json = AssessmentJson(*a), csv = AffectedSubjectsCsv(*a), md = ReportMarkdown(*a, org),
                      html = ReportHtml(*a, org);
    bytes = json.size() + csv.size() + md.size() + html.size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["output_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_AssessAndRenderEverything)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace vg::incident

BENCHMARK_MAIN();
