// PII scan throughput over the labeled corpus's event stream, one core.
//
// Reads ../shared/pii-corpus/dev.jsonl (or the file named by VG_PII_CORPUS); without it the benchmarks
// say so and skip. Each iteration parses every line (simdjson DOM), walks every string value with its
// path (ForEachJsonString, the walk `vendorguard scan` does per line), and scans it. Bytes are
// those of the whole event stream (JSON included). BM_ParseAndWalk is the same walk without the scan, so
// the difference is the scanner's own cost.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pii/json_strings.h"
#include "pii/scanner.h"

namespace vg {
namespace {

const std::vector<std::string>* Corpus() {
  static const std::vector<std::string>* lines = [] {
    const char* env = std::getenv("VG_PII_CORPUS");
    std::string path = env ? env : "../shared/pii-corpus/dev.jsonl";
    std::ifstream in(path);
    if (!in) return static_cast<std::vector<std::string>*>(nullptr);
    auto* out = new std::vector<std::string>();
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      // With simdjson's padding behind it, as the gateway and `scan` hand it their buffers: parse() then
      // reads the line in place instead of copying it into a padded buffer of its own first.
      std::string& kept = out->emplace_back();
      kept.reserve(line.size() + simdjson::SIMDJSON_PADDING);
      kept = line;
    }
    return out;
  }();
  return lines;
}

size_t CorpusBytes() {
  size_t n = 0;
  for (const auto& l : *Corpus()) n += l.size() + 1;
  return n;
}

template <bool kScan, bool kCache = true>
void RunCorpus(benchmark::State& state) {
  if (Corpus() == nullptr) {
    state.SkipWithError("no corpus: run from the repository root with ../shared/pii-corpus, or set VG_PII_CORPUS");
    return;
  }
  PiiScanner::Options options;
  options.cache_clean_values = kCache;
  auto scanner = PiiScanner::Create(options);
  if (!scanner.ok()) {
    state.SkipWithError(scanner.status().message().c_str());
    return;
  }
  PiiScanner::Scratch scratch;
  simdjson::dom::parser parser;
  std::vector<PiiFinding> findings;
  JsonPath path;
  size_t found = 0;
  auto on_string = [&](std::string_view p, std::string_view s) {
    if constexpr (kScan) {
      findings.clear();
      (*scanner)->Scan(p, s, &scratch, &findings);
      found += findings.size();
    } else {
      benchmark::DoNotOptimize(s.data());
    }
  };
  for (auto _ : state) {
    for (const auto& line : *Corpus()) {
      simdjson::dom::element root;
      if (parser.parse(line).get(root) != simdjson::SUCCESS) continue;
      path.Truncate(0);
      ForEachJsonString(root, &path, on_string);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * CorpusBytes()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * Corpus()->size()));
  state.counters["findings_per_pass"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}

void BM_ParseAndWalk(benchmark::State& state) { RunCorpus<false>(state); }
void BM_ParseWalkAndScan(benchmark::State& state) { RunCorpus<true>(state); }
// Every value scanned in full: without the cache of values in which nothing was found.
void BM_ParseWalkAndScanNoCache(benchmark::State& state) { RunCorpus<true, false>(state); }
BENCHMARK(BM_ParseAndWalk)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseWalkAndScan)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseWalkAndScanNoCache)->Unit(benchmark::kMillisecond);

// Pathological inputs: the cost per byte must not grow with size (no backtracking).
void BM_Pathological(benchmark::State& state) {
  auto scanner = PiiScanner::Create();
  if (!scanner.ok()) {
    state.SkipWithError(scanner.status().message().c_str());
    return;
  }
  static const char* kUnits[] = {"1", "@", "a.", "jane@", "4111 ", "+1 "};
  std::string unit = kUnits[state.range(0)];
  std::string value;
  while (value.size() < static_cast<size_t>(state.range(1))) value += unit;
  PiiScanner::Scratch scratch;
  std::vector<PiiFinding> findings;
  for (auto _ : state) {
    findings.clear();
    (*scanner)->Scan("properties.comment", value, &scratch, &findings);
    benchmark::DoNotOptimize(findings.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * value.size()));
  state.SetLabel(std::string("runs of '") + unit + "'");
}
BENCHMARK(BM_Pathological)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {1 << 20, 10 << 20}})
    ->ArgNames({"unit", "bytes"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vg

BENCHMARK_MAIN();
