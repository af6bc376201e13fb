// Confirms phone-number candidates with libphonenumber. A digit string is a valid phone number in some
// country far too often (most 7-12 digit strings are, somewhere), so a candidate must also be written
// the way phone numbers are written: in international form ("+49 171 2242258", "+17183574752"), or in a
// country's national form with that country's grouping ("(404) 384-3852", "07822 533872",
// "06 41 22 46 55"). Without that evidence, only context (a `phone` key, "call me at") admits it.
// Thread-safety: immutable after construction; Confirm() may be called from many threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/function_ref.h"

namespace vg {

class PhoneNumberConfirmer {
 public:
  // `regions`: ISO 3166 codes tried, in order, for numbers written without a country code. Empty = a
  // default list of widely used numbering plans (NANP, most of Europe, Latin America, India, ...).
  explicit PhoneNumberConfirmer(std::vector<std::string> regions = {});

  // The confidence (0 = not a phone number) that `candidate` is a phone number. `candidate` holds
  // digits and the separators " -./()", optionally a leading '+'; at most 32 bytes are considered.
  // `context`: the key or nearby words say a phone number is expected here.
  float Confirm(std::string_view candidate, bool context) const {
    return Confirm(candidate, [context] { return context; });
  }
  // The same, with `context` asked (at most once) only when the answer depends on it: finding out costs
  // the scanner a search for cue words, and most numbers in international form are answered without it.
  float Confirm(std::string_view candidate, FunctionRef<bool()> context) const;

  struct Region {
    std::string code;  // ISO 3166
    std::string ndd;   // national (trunk) prefix, digits only: "0", "1", or none
    bool trunk_in_national_form = false;  // the national form starts with it ("07400 ...", not "(201) ...")
  };

 private:
  std::vector<Region> regions_;
};

}  // namespace vg
