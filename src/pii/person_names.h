// Person names: a names dictionary (first and last names, titles and suffixes of 70+ locales, generated
// at build time from the npm package @faker-js/faker by scripts/make_names_dictionary.mjs and embedded)
// plus context. A value under a person-name key ($name, full_name, first_name, customer_name) is a name
// as a whole; in free text a run of capitalised words is a name when the dictionary and the words around
// it agree: "Hi, I'm Bryan Oliveira", "Regards,\nOdessa Stehr", "shipped to Dr. Louis Wolff IV",
// "Name: Kjell Mattern". Place names from the same package ("San Francisco") and common words ("Summer
// Sale") count against a candidate.
// Thread-safety: NamesDictionary and PersonNameFinder are immutable after construction and shared by
// threads; each thread passes its own PersonNameFinder::Scratch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/huge_pages.h"

#include "common/status.h"
#include "pii/key_context.h"
#include "pii/pii_types.h"

namespace vg {

class NamesDictionary {
 public:
  enum Flag : uint8_t {
    kFirst = 1,
    kLast = 2,
    kPrefix = 4,   // title before a name: Dr, Mrs, Sra, Herr, Mme
    kSuffix = 8,   // after a name: Jr, III, PhD, Filho
    kPlace = 16,   // city, state, country: "san francisco"
    kCommon = 32,  // a common word of some locale
    kStreet = 64,  // street or town affix: Avenue, Rua, bulvari, Lake
    kCompany = 128,  // company suffix: GmbH, Inc, Asociados
  };

  // The dictionary built into the binary.
  static std::shared_ptr<const NamesDictionary> Embedded();
  // A dictionary file in the generator's text format: lines "<tag>\t<entry>" with tags F, L, P, S, C,
  // W, X, K (see scripts/make_names_dictionary.mjs --txt). Returns InvalidArgument for a malformed line,
  // IOError when the file cannot be read.
  static StatusOr<std::shared_ptr<const NamesDictionary>> LoadFile(const std::string& path);
  static StatusOr<std::shared_ptr<const NamesDictionary>> Parse(std::string_view text);

  // Flags of a word or phrase given in folded (lower) case, without a trailing period; 0 when unknown.
  uint8_t Lookup(std::string_view folded) const { return Lookup(folded, Hash(folded)); }
  // The same with `hash` = Hash(folded), for a caller that computed it already (to prefetch).
  uint8_t Lookup(std::string_view folded, uint64_t hash) const;
  // Starts loading what Lookup will read for a word of this hash (a hint; no effect on results), so that
  // several look-ups' cache misses overlap.
  void Prefetch(uint64_t hash) const;
  // The hash of a folded word that Lookup and Prefetch take.
  static uint64_t Hash(std::string_view folded);
  size_t size() const { return count_; }

 private:
  // Open addressing over one flat array (the scanner looks up every capitalised word it meets): a slot
  // holds the entry's hash, its flags, and its bytes when it is short (most names are), else where they
  // sit in `pool_`, so that a short word is found with one cache miss, not one more in the pool.
  struct Slot {
    static constexpr size_t kInline = 8;
    uint32_t hash = 0;
    uint16_t length = 0;  // 0: empty
    uint8_t flags = 0;
    union {
      char bytes[kInline] = {};  // when length <= kInline
      uint64_t offset;            // in pool_, when longer
    };
  };
  static_assert(sizeof(Slot) == 16, "four slots to a cache line");
  void Build(const std::unordered_map<std::string, uint8_t>& entries);

  // The slot array in huge pages where the system has them: look-ups land on random pages of its
  // megabytes, each a likely TLB miss with 4 KiB pages (BM_ParseWalkAndScan: ~0.1 ms faster per pass).
  std::vector<Slot, HugePageAllocator<Slot>> slots_;  // a power of two, at most half full
  // A front filter (two bits set per entry, from the hash's high bits, in 8-16 bits per entry, so a word
  // that is not in the dictionary passes it at most ~3 % of the time): most of the scanner's look-ups are of
  // words that are not names ("Safari", "Checkout"), and this answers them from a table that stays in
  // the L2 cache instead of with a cache miss in the multi-megabyte slot array.
  std::vector<uint64_t> filter_;  // a power of two of words
  std::string pool_;
  size_t count_ = 0;
};

class PersonNameFinder {
 public:
  explicit PersonNameFinder(std::shared_ptr<const NamesDictionary> dictionary);

  // Per-thread buffers, reused across calls.
  class Scratch {
   public:
    Scratch();
    ~Scratch();
    Scratch(Scratch&&) noexcept;
    Scratch& operator=(Scratch&&) noexcept;

   private:
    friend class PersonNameFinder;
    struct State;
    std::unique_ptr<State> state_;
  };

  // Finding names is two calls, so that the dictionary's memory is fetched while the caller does other
  // work. Prepare splits `text` into words and starts their dictionary look-ups; it returns false when
  // the text cannot hold a name in this key's context (ASCII without a capitalised word start, outside
  // person-name keys), and then there is nothing to find. After a Prepare that returned true, with no other
  // call on that scratch in between, Find appends the person names in `text` to `out` (type
  // kPersonName, byte offsets into `text`). `taken`: spans already claimed by other detectors (emails,
  // ...), sorted by start and disjoint; names never overlap them. Both are linear in text.size().
  bool Prepare(const KeyContext& key, std::string_view text, Scratch* scratch) const;
  void Find(const KeyContext& key, std::string_view text, const std::vector<std::pair<size_t, size_t>>& taken,
            Scratch* scratch, std::vector<PiiFinding>* out) const;

  // Whether Prepare may look at `text` under `key` at all: false exactly when Prepare would return false
  // at once (no person-name key, ASCII without a capitalised word start).
  static bool MayFind(const KeyContext& key, std::string_view text);

  const NamesDictionary& dictionary() const { return *dictionary_; }

 private:
  std::shared_ptr<const NamesDictionary> dictionary_;
};

}  // namespace vg
