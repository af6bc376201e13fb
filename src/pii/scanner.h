// PiiScanner: finds personal data and secrets inside string values (emails, phone numbers, IP
// addresses, payment cards, IBANs, US SSNs, API keys and tokens, person names).
//
// How: one Hyperscan database holds every candidate pattern (shapes of each type, and the cue words that
// decide ambiguous cases: "call me at", "SSN", "card", "version"). One pass over a value yields all
// candidates; each is then confirmed by its validator (src/pii/validators.h: Luhn and issuer ranges,
// mod-97, SSA rules, octet ranges, TLDs; libphonenumber for phones) and by context: the property key
// (`app_version: "2.1.4.13"` is not an IP, `order_id` holds no card numbers, `api_key` holds a secret)
// and nearby words. Percent-encoded text (`email=jane%40example.com`) is decoded before the scan and the
// findings are mapped back to byte offsets in the original value. Person names come last, from the names
// dictionary and context (src/pii/person_names.h), and never overlap other findings.
//
// Cost: linear in the value's size. Hyperscan does not backtrack; every confirmation step looks at a
// bounded window around its candidate, and each byte is expanded from at most once per detector.
//
// Thread-safety: a PiiScanner is immutable after Create() and shared by threads
// (std::shared_ptr<const PiiScanner>). Each thread scans with its own Scratch; the overload without one
// uses a thread-local Scratch.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pii/pii_types.h"

namespace vg {

class NamesDictionary;

class PiiScanner {
 public:
  struct Options {
    // Countries (ISO 3166 codes) whose national phone number formats are recognised without a country
    // code. Empty: a broad default list (see phone_numbers.cc).
    std::vector<std::string> phone_regions;
    // Names dictionary; null = the dictionary built into the binary.
    std::shared_ptr<const NamesDictionary> names;
    // Findings below this confidence are dropped.
    float min_confidence = 0.5f;
    // Remember values in which nothing was found (by hash) so a repeat costs one hash. Off: every value
    // is scanned in full (benchmarks of the scan itself).
    bool cache_clean_values = true;
  };

  // Compiles the pattern database. Errors: Internal when Hyperscan rejects the patterns (a bug) or
  // cannot allocate.
  static StatusOr<std::shared_ptr<const PiiScanner>> Create(Options options);
  static StatusOr<std::shared_ptr<const PiiScanner>> Create() { return Create(Options()); }
  ~PiiScanner();
  PiiScanner(const PiiScanner&) = delete;
  PiiScanner& operator=(const PiiScanner&) = delete;

  // Per-thread buffers: Hyperscan scratch space, the percent-decoding buffer, candidate lists. Reused
  // across Scan() calls so the hot path does not allocate once warm. A Scratch may be used with any
  // scanner (it grows to fit), by one thread at a time.
  class Scratch {
   public:
    Scratch();
    ~Scratch();
    Scratch(Scratch&&) noexcept;
    Scratch& operator=(Scratch&&) noexcept;

   private:
    friend class PiiScanner;
    struct State;
    std::unique_ptr<State> state_;
  };

  // Appends the findings in `value` to `out`, ordered by start, non-overlapping. `key_path` is where the
  // value sits ("properties.comment", "properties.tags[2]"; "" when unknown); its last key is context.
  // Offsets are bytes into `value`. `value` may hold any bytes (invalid UTF-8 is tolerated, and
  // simply unlikely to match).
  void Scan(std::string_view key_path, std::string_view value, Scratch* scratch,
            std::vector<PiiFinding>* out) const;
  // Same, with this thread's own Scratch.
  void Scan(std::string_view key_path, std::string_view value, std::vector<PiiFinding>* out) const;

  struct Impl;

 private:
  explicit PiiScanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg
