// Phone-number validation and formatting with the exact results of libphonenumber's Parse,
// IsValidNumber / IsValidNumberForRegion and Format, at a fraction of the cost: no ICU regular expressions
// and no heap allocation per call.
//
// The index is built once from libphonenumber's own compiled-in metadata (the PhoneMetadataCollection the
// library itself parses at start), so it follows whatever metadata version the installed library carries:
//   - the national-number patterns (general description and the ten number types) of all territories
//     sharing a country calling code, and the territories' leading-digits patterns, are compiled into one
//     deterministic automaton over the digits per calling code: one walk over the national significant
//     number says which patterns match it in full (or, for leading digits, match a prefix of it);
//   - the main territory's number formats (leading digits and pattern) get a second automaton, so choosing
//     the format is one more walk;
//   - the few patterns that need captures or priority semantics (international and national prefixes for
//     parsing, the transform rule, the capture groups of the chosen format) run on a small backtracking
//     matcher with ICU's leftmost-first semantics.
// Calling codes whose metadata uses a construct this reimplementation does not cover are answered by
// libphonenumber itself; fallback_region_codes() lists them (none with the metadata of libphonenumber 8.12).
//
// Why automata of our own rather than Hyperscan: measured on the 8.12.57 metadata (1,423 national-number
// patterns), one Hyperscan database over all territories takes 1.4 s to compile and 7.9 us per scan
// (2.7 s and 240 ns with a calling-code tag byte in front of each pattern); one database per calling code
// 0.67 s to compile and 55-90 ns per scan. National numbers have at most 17 digits, so plain subset
// construction over the digits stays small (22k states for all 215 calling codes, 0.9 MB with the format
// automata) and builds in tens of milliseconds; a walk is ten table lookups.
//
// Thread-safety: immutable after construction; ValidateAndFormat() may be called from any number of
// threads at once (it needs no scratch space: all state is on the caller's stack).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vg {

namespace phone_metadata_internal {
struct Tables;
}  // namespace phone_metadata_internal

class PhoneMetadataIndex {
 public:
  // Builds the index from libphonenumber's compiled-in metadata (a few tens of milliseconds).
  PhoneMetadataIndex();
  ~PhoneMetadataIndex();
  PhoneMetadataIndex(const PhoneMetadataIndex&) = delete;
  PhoneMetadataIndex& operator=(const PhoneMetadataIndex&) = delete;

  // The process-wide index, built on first use (thread-safe) and never destroyed.
  static const PhoneMetadataIndex& Default();

  // Equivalent to: PhoneNumberUtil::Parse(text, region, &n) == NO_PARSING_ERROR
  //   && (region == "ZZ" ? IsValidNumber(n) : IsValidNumberForRegion(n, region))
  // and then *formatted = Format(n, region == "ZZ" ? INTERNATIONAL : NATIONAL).
  // `text` holds digits and the separators " -./()", optionally a leading '+' (other text is passed to
  // libphonenumber unchanged); `region` is an ISO 3166 code or "ZZ". When the result is true, `formatted`
  // holds the formatted number (its capacity is reused); when false, its content is unspecified.
  bool ValidateAndFormat(std::string_view text, std::string_view region, std::string* formatted) const;

  // Regions (ISO 3166 codes) whose calls are answered by libphonenumber because their calling code's
  // metadata could not be reimplemented exactly; sorted.
  const std::vector<std::string>& fallback_region_codes() const;
  size_t fallback_regions() const { return fallback_region_codes().size(); }

  // Calls (process-wide, all indexes) answered by libphonenumber: those of fallback regions, text outside
  // the alphabet above, and numbers on which the backtracking matcher hit its step budget.
  static uint64_t fallback_calls();

 private:
  std::unique_ptr<const phone_metadata_internal::Tables> tables_;
};

}  // namespace vg
