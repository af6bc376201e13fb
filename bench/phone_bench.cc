// Phone-number confirmation cost: PhoneMetadataIndex::ValidateAndFormat against libphonenumber's
// Parse + IsValidNumber(ForRegion) + Format on the same calls.
//
// The calls are those PhoneNumberConfirmer makes: every national-form candidate is tried in each of the
// 40 default regions, every '+' candidate once in "ZZ". Candidates are the example fixed-line and mobile
// numbers of those regions in national and international form, and as many random digit strings written
// with separators (most candidates the scanner finds are not phone numbers). Items are calls.
#include <benchmark/benchmark.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "pii/phone_metadata.h"

namespace vg {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const char* const kRegions[] = {"US", "GB", "DE", "FR", "BR", "IN", "ES", "IT", "NL", "BE", "PT", "PL", "CH", "AT",
                                "SE", "NO", "DK", "FI", "IE", "AU", "NZ", "MX", "AR", "CO", "CL", "JP", "KR", "CN",
                                "RU", "UA", "TR", "ZA", "NG", "CZ", "RO", "HU", "GR", "IL", "PH", "ID"};

const std::vector<std::pair<std::string, std::string>>& Calls() {
  static const auto* calls = [] {
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    std::vector<std::string> national, international;
    for (const char* region : kRegions) {
      for (auto type : {PhoneNumberUtil::FIXED_LINE, PhoneNumberUtil::MOBILE}) {
        PhoneNumber example;
        if (!util.GetExampleNumberForType(region, type, &example)) continue;
        std::string s;
        util.Format(example, PhoneNumberUtil::NATIONAL, &s);
        national.push_back(s);
        util.Format(example, PhoneNumberUtil::INTERNATIONAL, &s);
        international.push_back(s);
      }
    }
    std::mt19937 rng(7);
    const size_t examples = national.size();
    for (size_t k = 0; k < examples; ++k) {
      std::string s;
      const int groups = 2 + static_cast<int>(rng() % 3);
      for (int g = 0; g < groups; ++g) {
        if (g) s.push_back(" -."[rng() % 3]);
        const int length = 2 + static_cast<int>(rng() % 3);
        for (int i = 0; i < length; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
      }
      (k % 4 == 0 ? international : national).push_back(k % 4 == 0 ? "+" + s : s);
    }
    auto* out = new std::vector<std::pair<std::string, std::string>>();
    for (const std::string& s : national) {
      for (const char* region : kRegions) out->emplace_back(s, region);
    }
    for (const std::string& s : international) out->emplace_back(s, "ZZ");
    return out;
  }();
  return *calls;
}

void BM_PhoneMetadataIndex(benchmark::State& state) {
  const PhoneMetadataIndex& index = PhoneMetadataIndex::Default();
  const auto& calls = Calls();
  std::string formatted;
  size_t valid = 0;
  for (auto _ : state) {
    for (const auto& [text, region] : calls) valid += index.ValidateAndFormat(text, region, &formatted);
  }
  benchmark::DoNotOptimize(valid);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * calls.size()));
  state.counters["ns_per_call"] = benchmark::Counter(static_cast<double>(state.iterations() * calls.size()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PhoneMetadataIndex);

void BM_Libphonenumber(benchmark::State& state) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  const auto& calls = Calls();
  std::string formatted;
  size_t valid = 0;
  for (auto _ : state) {
    for (const auto& [text, region] : calls) {
      PhoneNumber number;
      if (util.Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) continue;
      const bool zz = region == "ZZ";
      if (!(zz ? util.IsValidNumber(number) : util.IsValidNumberForRegion(number, region))) continue;
      util.Format(number, zz ? PhoneNumberUtil::INTERNATIONAL : PhoneNumberUtil::NATIONAL, &formatted);
      ++valid;
    }
  }
  benchmark::DoNotOptimize(valid);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * calls.size()));
  state.counters["ns_per_call"] = benchmark::Counter(static_cast<double>(state.iterations() * calls.size()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Libphonenumber)->Unit(benchmark::kMillisecond);

void BM_BuildIndex(benchmark::State& state) {
  for (auto _ : state) {
    PhoneMetadataIndex index;
    benchmark::DoNotOptimize(&index);
  }
}
BENCHMARK(BM_BuildIndex)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vg

BENCHMARK_MAIN();
