#include "pii/phone_metadata.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace vg {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// The numbering plans PhoneNumberConfirmer tries by default (kDefaultRegions in phone_numbers.cc).
const char* const kDefaultRegions[] = {
    "US", "GB", "DE", "FR", "BR", "IN", "ES", "IT", "NL", "BE", "PT", "PL", "CH", "AT", "SE", "NO",
    "DK", "FI", "IE", "AU", "NZ", "MX", "AR", "CO", "CL", "JP", "KR", "CN", "RU", "UA", "TR", "ZA",
    "NG", "CZ", "RO", "HU", "GR", "IL", "PH", "ID"};

// What libphonenumber says: Parse, IsValidNumber(ForRegion), Format.
bool Libphonenumber(const std::string& text, const std::string& region, std::string* formatted) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return false;
  const bool zz = region == "ZZ";
  if (!(zz ? util.IsValidNumber(number) : util.IsValidNumberForRegion(number, region))) return false;
  util.Format(number, zz ? PhoneNumberUtil::INTERNATIONAL : PhoneNumberUtil::NATIONAL, formatted);
  return true;
}

// The runs of digits of `s`: what the confirmer compares.
std::vector<std::string> DigitGroups(std::string_view s) {
  std::vector<std::string> groups;
  bool in_group = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      if (!in_group) groups.emplace_back();
      groups.back().push_back(c);
      in_group = true;
    } else {
      in_group = false;
    }
  }
  return groups;
}

std::string Replace(std::string s, char from, const std::string& to) {
  std::string out;
  for (char c : s) {
    if (c == from) {
      out += to;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Hand-written cases

struct Expectation {
  const char* text;
  const char* region;
  bool valid;
  const char* formatted;  // libphonenumber's Format output, when valid
};

void ExpectAll(const std::vector<Expectation>& cases) {
  const PhoneMetadataIndex& index = PhoneMetadataIndex::Default();
  for (const Expectation& c : cases) {
    std::string formatted;
    const bool valid = index.ValidateAndFormat(c.text, c.region, &formatted);
    EXPECT_EQ(valid, c.valid) << "\"" << c.text << "\" in " << c.region;
    if (valid && c.valid) EXPECT_EQ(formatted, c.formatted) << "\"" << c.text << "\" in " << c.region;
    // The expectations are libphonenumber's own answers.
    std::string reference;
    EXPECT_EQ(Libphonenumber(c.text, c.region, &reference), c.valid) << "\"" << c.text << "\" in " << c.region;
    if (c.valid) EXPECT_EQ(reference, c.formatted) << "\"" << c.text << "\" in " << c.region;
  }
}

TEST(PhoneMetadataIndex, FormatsValidNumbersAsLibphonenumberDoes) {
  ExpectAll({
      {"+1 (415) 555-2671", "ZZ", true, "+1 415-555-2671"},
      {"(415) 555-2671", "US", true, "(415) 555-2671"},
      {"1-800-555-0199", "US", true, "(800) 555-0199"},  // trunk prefix 1 stripped
      {"030 12345678", "DE", true, "030 12345678"},
      {"(0)30 1234567", "DE", true, "030 1234567"},
      {"07400 123456", "GB", true, "07400 123456"},
      {"+44 7400 123456", "GB", true, "07400 123456"},
      {"+91 99615 30851", "ZZ", true, "+91 99615 30851"},
      {"098765 43210", "IN", true, "098765 43210"},
      {"06 12 34 56 78", "FR", true, "06 12 34 56 78"},
      {"+33 6 12 34 56 78", "ZZ", true, "+33 6 12 34 56 78"},
      {"(11) 96123-4567", "BR", true, "(11) 96123-4567"},
      {"8 (912) 345-67-89", "RU", true, "8 (912) 345-67-89"},
      {"+7 912 345-67-89", "ZZ", true, "+7 912 345-67-89"},
      {"+800 1234 5678", "ZZ", true, "+800 1234 5678"},  // a non-geographical calling code
      {"+800 1234 5678", "001", true, "1234 5678"},      // IsValidNumberForRegion takes "001" for those
      {"++1 415 555 2671", "ZZ", true, "+1 415-555-2671"},
  });
}

TEST(PhoneMetadataIndex, ReproducesTheParsingRules) {
  ExpectAll({
      // International (IDD) prefix of the default region: "00" in Germany, "011" in the US.
      {"0049 30 1234567", "DE", true, "030 1234567"},
      {"011 49 30 1234567", "US", false, ""},  // a German number is not valid for the US
      // A plus sign not followed by a calling code: parsed again without it, here as an IDD.
      {"+0049 30 1234567", "DE", true, "030 1234567"},
      // Trunk prefix in international form: "+44 (0)..." drops the 0.
      {"+44 (0)7400 123456", "ZZ", true, "+44 7400 123456"},
      // Argentina's transform rule: the trunk prefix 0 and the mobile "15" become the mobile token 9.
      {"011 15-2345-6789", "AR", true, "011 15-2345-6789"},
      {"+54 9 11 2345-6789", "ZZ", true, "+54 9 11 2345-6789"},
      // Antigua: a 7-digit local number gets its area code from the transform rule.
      {"464-1234", "AG", true, "(268) 464-1234"},
  });
}

TEST(PhoneMetadataIndex, PicksTheRegionOfASharedCallingCodeAsLibphonenumberDoes) {
  ExpectAll({
      // +44 7911 is Guernsey's (leading digits of GG), not valid in Great Britain.
      {"+44 7911 123456", "ZZ", true, "+44 7911 123456"},
      {"07911 123456", "GB", false, ""},
      {"+44 7911 123456", "GB", false, ""},
      // NANP: Antigua's numbers are valid for ZZ and AG, not for the US.
      {"+1 268 464 1234", "ZZ", true, "+1 268-464-1234"},
      {"+1 268 464 1234", "AG", true, "(268) 464-1234"},
      {"+1 268 464 1234", "US", false, ""},
  });
}

TEST(PhoneMetadataIndex, RejectsWhatLibphonenumberRejects) {
  ExpectAll({
      {"(415) 555-267", "US", false, ""},       // too short
      {"+1 415 555 2671 99", "ZZ", false, ""},  // too long
      {"123", "US", false, ""},
      {"0", "US", false, ""},
      {"", "US", false, ""},
      {"+999 1234567", "ZZ", false, ""},      // no such calling code
      {"0000000000", "GB", false, ""},
      {"4155552671", "ZZ", false, ""},        // ZZ needs a plus sign
      {"415-555-2671", "XX", false, ""},      // unknown region
      {"+44 7400 123456", "US", false, ""},   // valid, but not for this region
      {"+1 415 555 2671", "001", false, ""},  // not a non-geographical number
      {"800 1234 5678", "001", false, ""},    // "001" is no default region for parsing
  });
}

TEST(PhoneMetadataIndex, DefaultRegionsAreNotLeftToLibphonenumber) {
  const PhoneMetadataIndex& index = PhoneMetadataIndex::Default();
  const std::vector<std::string>& fallback = index.fallback_region_codes();
  for (const char* region : kDefaultRegions) {
    EXPECT_FALSE(std::binary_search(fallback.begin(), fallback.end(), region)) << region;
  }
  std::set<std::string> supported;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&supported);
  EXPECT_LE(index.fallback_regions() * 20, supported.size()) << "more than 5% of the regions fall back";
  EXPECT_EQ(index.fallback_regions(), fallback.size());
}

// ---------------------------------------------------------------------------------------------------
// Differential test against libphonenumber

struct Case {
  std::string text;
  std::string region;
};

// Every region's example number of every type, written in many ways and mutated, the non-geographical
// entities' example numbers, and random digit strings; each text in its example's region (or "001"), in
// "US", "GB", "DE", "FR", "IN", "BR", and in "ZZ" when it starts with '+'.
std::vector<Case> DifferentialCases() {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::set<std::string> regions;
  util.GetSupportedRegions(&regions);
  const std::vector<std::string> regions_list(regions.begin(), regions.end());
  const PhoneNumberUtil::PhoneNumberType kTypes[] = {
      PhoneNumberUtil::FIXED_LINE, PhoneNumberUtil::MOBILE,   PhoneNumberUtil::TOLL_FREE,
      PhoneNumberUtil::PREMIUM_RATE, PhoneNumberUtil::SHARED_COST, PhoneNumberUtil::VOIP,
      PhoneNumberUtil::PERSONAL_NUMBER, PhoneNumberUtil::PAGER, PhoneNumberUtil::UAN,
      PhoneNumberUtil::VOICEMAIL};
  const char* const kAlsoIn[] = {"US", "GB", "DE", "FR", "IN", "BR"};
  std::mt19937 rng(20251006);
  std::vector<Case> cases;
  auto add = [&](const std::string& text, const std::string& home) {
    cases.push_back({text, home});
    for (const char* r : kAlsoIn) {
      if (home != r) cases.push_back({text, r});
    }
    if (!text.empty() && text[0] == '+') cases.push_back({text, "ZZ"});
  };
  auto mutate = [&](std::string digits) {
    const size_t at = rng() % (digits.size() + 1);
    const char digit = static_cast<char>('0' + rng() % 10);
    switch (rng() % 3) {
      case 0:
        if (at < digits.size()) digits[at] = digit;
        break;
      case 1:
        digits.insert(digits.begin() + at, digit);
        break;
      default:
        if (at < digits.size()) digits.erase(at, 1);
        break;
    }
    return digits;
  };

  for (const std::string& region : regions_list) {
    std::string ndd;
    util.GetNddPrefixForRegion(region, /*strip_non_digits=*/true, &ndd);
    for (PhoneNumberUtil::PhoneNumberType type : kTypes) {
      PhoneNumber example;
      if (!util.GetExampleNumberForType(region, type, &example)) continue;
      std::string e164, intl, national, nsn;
      util.Format(example, PhoneNumberUtil::E164, &e164);
      util.Format(example, PhoneNumberUtil::INTERNATIONAL, &intl);
      util.Format(example, PhoneNumberUtil::NATIONAL, &national);
      util.GetNationalSignificantNumber(example, &nsn);
      const std::string cc = std::to_string(example.country_code());
      const std::string intl_nsn = intl.substr(std::min(intl.size(), cc.size() + 2));  // after "+cc "
      add(e164, region);
      add(intl, region);
      add(national, region);
      for (const std::string& s : {intl, national}) {
        add(Replace(s, ' ', ""), region);
        add(Replace(s, ' ', "-"), region);
        add(Replace(s, ' ', "."), region);
      }
      // The first group in parentheses: "(0171) 1234567", "+49 (171) 1234567".
      for (const std::string& s : {national, intl_nsn}) {
        const size_t space = s.find(' ');
        if (space != std::string::npos) add("(" + s.substr(0, space) + ")" + s.substr(space), region);
      }
      add("+" + cc + " (" + intl_nsn.substr(0, intl_nsn.find(' ')) + ")" +
              (intl_nsn.find(' ') == std::string::npos ? "" : intl_nsn.substr(intl_nsn.find(' '))),
          region);
      // International-prefix forms.
      add("00" + cc + " " + intl_nsn, region);
      add("00" + cc + nsn, region);
      add("011 " + cc + " " + intl_nsn, region);
      // Trunk prefix dropped, kept after the calling code, and added.
      add(intl_nsn, region);
      add(nsn, region);
      add("+" + cc + " " + national, region);
      if (!ndd.empty()) {
        add(ndd + nsn, region);
        add(ndd + " " + intl_nsn, region);
      }
      // Random digit mutations, national and international.
      for (int k = 0; k < 3; ++k) {
        const std::string m = mutate(nsn);
        add(m, region);
        add("+" + cc + " " + m, region);
        add(ndd + m, region);
      }
    }
  }
  // Non-geographical entities (+800, +882, ...), also in "001".
  std::set<int> global_codes;
  util.GetSupportedGlobalNetworkCallingCodes(&global_codes);
  for (int code : global_codes) {
    PhoneNumber example;
    if (!util.GetExampleNumberForNonGeoEntity(code, &example)) continue;
    std::string e164, intl, nsn;
    util.Format(example, PhoneNumberUtil::E164, &e164);
    util.Format(example, PhoneNumberUtil::INTERNATIONAL, &intl);
    util.GetNationalSignificantNumber(example, &nsn);
    for (const std::string& text : {e164, intl, Replace(intl, ' ', "-"), "00" + std::to_string(code) + nsn}) {
      add(text, "001");
    }
    for (int k = 0; k < 20; ++k) add("+" + std::to_string(code) + " " + mutate(nsn), "001");
  }
  // Random digit strings of 6 to 15 digits, with and without '+'.
  for (int k = 0; k < 3000; ++k) {
    std::string digits;
    const int length = 6 + static_cast<int>(rng() % 10);
    for (int i = 0; i < length; ++i) digits.push_back(static_cast<char>('0' + rng() % 10));
    const std::string& region = regions_list[rng() % regions_list.size()];
    add(digits, region);
    add("+" + digits, region);
  }
  return cases;
}

TEST(PhoneMetadataIndex, AgreesWithLibphonenumberOnTensOfThousandsOfNumbers) {
  const PhoneMetadataIndex& index = PhoneMetadataIndex::Default();
  const std::vector<Case> cases = DifferentialCases();
  ASSERT_GT(cases.size(), 50000u);
  const uint64_t fallback_calls_before = PhoneMetadataIndex::fallback_calls();
  size_t agree = 0, valid = 0, exact = 0, reported = 0;
  std::string ours, theirs;
  for (const Case& c : cases) {
    ours.clear();
    theirs.clear();
    const bool ours_valid = index.ValidateAndFormat(c.text, c.region, &ours);
    const bool theirs_valid = Libphonenumber(c.text, c.region, &theirs);
    const bool same = ours_valid == theirs_valid && (!theirs_valid || DigitGroups(ours) == DigitGroups(theirs));
    agree += same;
    valid += same && theirs_valid;
    exact += same && theirs_valid && ours == theirs;
    if (!same && reported++ < 30) {
      ADD_FAILURE() << "\"" << c.text << "\" in " << c.region << ": libphonenumber " << theirs_valid << " \""
                    << theirs << "\", index " << ours_valid << " \"" << ours << "\"";
    }
  }
  const uint64_t fallback_calls = PhoneMetadataIndex::fallback_calls() - fallback_calls_before;
  std::printf("[ differential ] %zu cases, %zu agree (%zu valid, %zu formatted identically), %llu answered by "
              "libphonenumber\n",
              cases.size(), agree, valid, exact, static_cast<unsigned long long>(fallback_calls));
  RecordProperty("cases", static_cast<int>(cases.size()));
  RecordProperty("agree", static_cast<int>(agree));
  EXPECT_EQ(agree, cases.size());
  EXPECT_GT(valid, 20000u);  // the corpus exercises the formatting, not only the rejections
  EXPECT_EQ(exact, valid) << "punctuation differs from libphonenumber's";
  EXPECT_LE(fallback_calls * 100, cases.size()) << "more than 1% of the calls fell back to libphonenumber";
}

TEST(PhoneMetadataIndex, ConcurrentCallsGiveTheSameAnswers) {
  const PhoneMetadataIndex& index = PhoneMetadataIndex::Default();
  std::vector<Case> cases = DifferentialCases();
  cases.resize(std::min<size_t>(cases.size(), 20000));
  std::vector<std::string> serial(cases.size());
  std::vector<char> serial_valid(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    serial_valid[i] = index.ValidateAndFormat(cases[i].text, cases[i].region, &serial[i]);
  }
  std::vector<size_t> differences(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < differences.size(); ++t) {
    threads.emplace_back([&, t] {
      std::string formatted;
      for (size_t k = 0; k < cases.size(); ++k) {
        const size_t i = (k * 7 + t * 1013) % cases.size();  // each thread in its own order
        formatted.clear();
        const bool valid = index.ValidateAndFormat(cases[i].text, cases[i].region, &formatted);
        if (valid != static_cast<bool>(serial_valid[i]) || (valid && formatted != serial[i])) ++differences[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t d : differences) EXPECT_EQ(d, 0u);
}

}  // namespace
}  // namespace vg
