#include "pii/phone_metadata.h"

#include <phonenumbers/phonemetadata.pb.h>  // field numbers only: see MetadataReader
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cstring>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

// libphonenumber's compiled-in metadata, a serialized PhoneMetadataCollection: the same bytes
// PhoneNumberUtil parses at start. Declared in the library's metadata.h, which is not installed.
namespace i18n::phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

namespace vg {

namespace {

using i18n::phonenumbers::NumberFormat;
using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberDesc;
using i18n::phonenumbers::PhoneNumberUtil;

// Constants of PhoneNumberUtil.
constexpr int kMinLengthForNsn = 2;
constexpr int kMaxLengthForNsn = 17;
constexpr int kMaxLengthCountryCode = 3;

constexpr size_t kMaxText = 64;  // longer text is passed to libphonenumber
constexpr uint16_t kAllDigits = 0x3FF;
constexpr int kMaxGroups = 9;

std::atomic<uint64_t> g_fallback_calls{0};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A short digit string on the stack: every intermediate form of the number being parsed.
struct Digits {
  static constexpr int kCapacity = 96;
  char d[kCapacity];
  int n = 0;
  std::string_view view() const { return {d, static_cast<size_t>(n)}; }
  void Assign(std::string_view s) {
    assert(s.size() <= kCapacity);
    std::memcpy(d, s.data(), s.size());
    n = static_cast<int>(s.size());
  }
  bool Append(std::string_view s) {
    if (n + s.size() > kCapacity) return false;
    std::memcpy(d + n, s.data(), s.size());
    n += static_cast<int>(s.size());
    return true;
  }
  void DropPrefix(int k) {
    std::memmove(d, d + k, n - k);
    n -= k;
  }
};

// ---------------------------------------------------------------------------------------------------
// Regular expressions: the part of ICU's syntax that libphonenumber's metadata uses (literals, classes,
// \d, groups, alternation, greedy quantifiers, ^ and $). Every input they run on is a string of ASCII
// digits, so a character class is a 10-bit set. Anything else (lazy quantifiers, look-around, back
// references, \p{...}) fails to parse, and the calling code is then left to libphonenumber.

struct RegexNode {
  enum Kind : uint8_t { kSet, kCat, kAlt, kRepeat, kGroup, kBol, kEol };
  Kind kind = kSet;
  uint16_t set = 0;      // kSet: bit d is set when the node matches digit d
  int min = 0, max = 0;  // kRepeat; max < 0 is unbounded
  int group = 0;         // kGroup: capture number, 0 for (?:...)
  std::vector<int> kids;
};

struct Regex {
  std::vector<RegexNode> nodes;
  int root = -1;
  int groups = 0;
};

class RegexParser {
 public:
  RegexParser(std::string_view pattern, Regex* re) : p_(pattern), re_(re) {}

  bool Parse() {
    re_->nodes.clear();
    re_->groups = 0;
    re_->root = Alternation();
    return ok_ && i_ == p_.size() && re_->groups <= kMaxGroups;
  }

 private:
  int Add(RegexNode n) {
    re_->nodes.push_back(std::move(n));
    return static_cast<int>(re_->nodes.size()) - 1;
  }
  int Fail() {
    ok_ = false;
    return 0;
  }
  int Set(uint16_t set) {
    RegexNode n;
    n.kind = RegexNode::kSet;
    n.set = set;
    return Add(std::move(n));
  }
  int Node(RegexNode::Kind kind, std::vector<int> kids) {
    RegexNode n;
    n.kind = kind;
    n.kids = std::move(kids);
    return Add(std::move(n));
  }

  int Alternation() {
    std::vector<int> alternatives{Sequence()};
    while (ok_ && i_ < p_.size() && p_[i_] == '|') {
      ++i_;
      alternatives.push_back(Sequence());
    }
    if (alternatives.size() == 1) return alternatives[0];
    return Node(RegexNode::kAlt, std::move(alternatives));
  }

  int Sequence() {
    std::vector<int> items;
    while (ok_ && i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') {
      int atom = Atom();
      if (!ok_) break;
      items.push_back(Quantified(atom));
    }
    return Node(RegexNode::kCat, std::move(items));
  }

  int Atom() {
    char c = p_[i_++];
    switch (c) {
      case '(': {
        int group = 0;
        if (i_ < p_.size() && p_[i_] == '?') {
          if (i_ + 1 >= p_.size() || p_[i_ + 1] != ':') return Fail();  // look-around, flags, names
          i_ += 2;
        } else {
          group = ++re_->groups;
        }
        int inner = Alternation();
        if (!ok_ || i_ >= p_.size() || p_[i_] != ')') return Fail();
        ++i_;
        int node = Node(RegexNode::kGroup, {inner});
        re_->nodes[node].group = group;
        return node;
      }
      case '[': {
        uint16_t set = 0;
        if (!Class(&set)) return Fail();
        return Set(set);
      }
      case '\\': {
        if (i_ >= p_.size()) return Fail();
        char e = p_[i_++];
        if (e == 'd') return Set(kAllDigits);
        if (e == 'D') return Set(0);
        if (IsAsciiAlnum(e)) return Fail();  // \w, \s, \p, back references, ...
        return Set(0);                       // escaped punctuation: never a digit
      }
      case '.':
        return Set(kAllDigits);
      case '^':
        return Node(RegexNode::kBol, {});
      case '$':
        return Node(RegexNode::kEol, {});
      case '*':
      case '+':
      case '?':
      case '{':
      case ']':
      case ')':
      case '|':
        return Fail();
      default:
        return Set(IsDigit(c) ? static_cast<uint16_t>(1u << (c - '0')) : 0);
    }
  }

  // After '['. Ranges, single characters, \d and a leading '^'; no nested sets or properties.
  bool Class(uint16_t* out) {
    bool negate = false;
    if (i_ < p_.size() && p_[i_] == '^') {
      negate = true;
      ++i_;
    }
    uint16_t set = 0;
    bool first = true;
    for (;;) {
      if (i_ >= p_.size()) return false;
      char c = p_[i_];
      if (c == ']') {
        if (first) return false;
        ++i_;
        break;
      }
      if (c == '[') return false;
      int lo;
      if (c == '\\') {
        if (i_ + 1 >= p_.size()) return false;
        char e = p_[i_ + 1];
        i_ += 2;
        if (e == 'd') {
          set |= kAllDigits;
          first = false;
          continue;
        }
        if (IsAsciiAlnum(e)) return false;
        lo = static_cast<unsigned char>(e);
      } else {
        lo = static_cast<unsigned char>(c);
        ++i_;
      }
      int hi = lo;
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        char h = p_[i_ + 1];
        if (h == '\\' || h == '[') return false;
        hi = static_cast<unsigned char>(h);
        i_ += 2;
        if (hi < lo) return false;
      }
      for (int x = std::max(lo, static_cast<int>('0')); x <= std::min(hi, static_cast<int>('9')); ++x) {
        set |= static_cast<uint16_t>(1u << (x - '0'));
      }
      first = false;
    }
    *out = negate ? static_cast<uint16_t>(~set & kAllDigits) : set;
    return true;
  }

  int Quantified(int atom) {
    if (i_ >= p_.size()) return atom;
    int min, max;
    char c = p_[i_];
    if (c == '?') {
      min = 0, max = 1;
      ++i_;
    } else if (c == '*') {
      min = 0, max = -1;
      ++i_;
    } else if (c == '+') {
      min = 1, max = -1;
      ++i_;
    } else if (c == '{') {
      ++i_;
      if (!Number(&min)) return Fail();
      max = min;
      if (i_ < p_.size() && p_[i_] == ',') {
        ++i_;
        if (i_ < p_.size() && p_[i_] == '}') {
          max = -1;
        } else if (!Number(&max) || max < min) {
          return Fail();
        }
      }
      if (i_ >= p_.size() || p_[i_] != '}') return Fail();
      ++i_;
    } else {
      return atom;
    }
    // Lazy and possessive quantifiers are not used by the metadata.
    if (i_ < p_.size() && (p_[i_] == '?' || p_[i_] == '+' || p_[i_] == '*' || p_[i_] == '{')) return Fail();
    int node = Node(RegexNode::kRepeat, {atom});
    re_->nodes[node].min = min;
    re_->nodes[node].max = max;
    return node;
  }

  bool Number(int* out) {
    size_t start = i_;
    int v = 0;
    while (i_ < p_.size() && IsDigit(p_[i_]) && i_ - start < 3) v = v * 10 + (p_[i_++] - '0');
    *out = v;
    return i_ > start && (i_ >= p_.size() || !IsDigit(p_[i_]));
  }

  std::string_view p_;
  Regex* re_;
  size_t i_ = 0;
  bool ok_ = true;
};

bool ParseRegex(std::string_view pattern, Regex* re) { return RegexParser(pattern, re).Parse(); }

// ---------------------------------------------------------------------------------------------------
// Backtracking matcher with ICU's (Perl's) leftmost-first semantics: alternatives in order, greedy
// quantifiers. For the patterns whose captures or exact match extent matter: the international prefix,
// the national prefix for parsing and its transform rule, and the chosen number format.

class Matcher {
 public:
  enum Result { kNoMatch, kMatch, kGaveUp };

  bool Compile(std::string_view pattern) {
    Regex re;
    if (!ParseRegex(pattern, &re)) return false;
    prog_.clear();
    Emit(re, re.root);
    prog_.push_back({kOpMatch, 0, 0, 0});
    groups_ = re.groups;
    return prog_.size() < (1u << 20);
  }

  int groups() const { return groups_; }

  // Matches the digits `s[0, n)` from `start`: the first match in priority order that ends anywhere
  // (ICU lookingAt) or, with `full`, at n (ICU matches). On kMatch, caps[2g], caps[2g+1] delimit group g
  // (-1 when the group did not take part; group 0 is the match). kGaveUp when the step or stack budget
  // ran out, which the metadata's patterns never come near.
  Result Run(const char* s, int n, int start, bool full, int* caps) const {
    struct Frame {
      int32_t pc;
      int16_t pos;
      int16_t slot;  // >= 0: a capture to restore to `pc` on backtracking
    };
    constexpr int kMaxFrames = 256;
    constexpr int kMaxSteps = 20000;
    Frame stack[kMaxFrames];
    int sp = 0;
    for (int k = 0; k < 2 * (groups_ + 1); ++k) caps[k] = -1;
    caps[0] = start;
    stack[sp++] = {0, static_cast<int16_t>(start), -1};
    int steps = 0;
    while (sp > 0) {
      Frame f = stack[--sp];
      if (f.slot >= 0) {
        caps[f.slot] = f.pc;
        continue;
      }
      int pc = f.pc, pos = f.pos;
      for (;;) {
        if (++steps > kMaxSteps) return kGaveUp;
        const Inst& in = prog_[pc];
        switch (in.op) {
          case kOpSet:
            if (pos < n && ((in.mask >> (s[pos] - '0')) & 1)) {
              ++pos, ++pc;
              continue;
            }
            break;
          case kOpSplit:
            if (sp == kMaxFrames) return kGaveUp;
            stack[sp++] = {in.y, static_cast<int16_t>(pos), -1};
            pc = in.x;
            continue;
          case kOpJmp:
            pc = in.x;
            continue;
          case kOpSave:
            if (sp == kMaxFrames) return kGaveUp;
            stack[sp++] = {caps[in.x], 0, static_cast<int16_t>(in.x)};
            caps[in.x] = pos;
            ++pc;
            continue;
          case kOpBol:
            if (pos != 0) break;
            ++pc;
            continue;
          case kOpEol:
            if (pos != n) break;
            ++pc;
            continue;
          case kOpMatch:
            if (full && pos != n) break;
            caps[1] = pos;
            return kMatch;
        }
        break;  // this thread failed; backtrack
      }
    }
    return kNoMatch;
  }

 private:
  enum Op : uint8_t { kOpSet, kOpSplit, kOpJmp, kOpSave, kOpBol, kOpEol, kOpMatch };
  struct Inst {
    Op op;
    uint16_t mask;
    int32_t x, y;
  };

  int32_t Here() const { return static_cast<int32_t>(prog_.size()); }

  void Emit(const Regex& re, int id) {
    const RegexNode& node = re.nodes[id];
    switch (node.kind) {
      case RegexNode::kSet:
        prog_.push_back({kOpSet, node.set, 0, 0});
        break;
      case RegexNode::kCat:
        for (int kid : node.kids) Emit(re, kid);
        break;
      case RegexNode::kGroup:
        if (node.group) prog_.push_back({kOpSave, 0, 2 * node.group, 0});
        Emit(re, node.kids[0]);
        if (node.group) prog_.push_back({kOpSave, 0, 2 * node.group + 1, 0});
        break;
      case RegexNode::kAlt: {
        std::vector<int32_t> jumps;
        for (size_t k = 0; k + 1 < node.kids.size(); ++k) {
          int32_t split = Here();
          prog_.push_back({kOpSplit, 0, split + 1, 0});
          Emit(re, node.kids[k]);
          jumps.push_back(Here());
          prog_.push_back({kOpJmp, 0, 0, 0});
          prog_[split].y = Here();
        }
        Emit(re, node.kids.back());
        for (int32_t j : jumps) prog_[j].x = Here();
        break;
      }
      case RegexNode::kRepeat: {
        for (int k = 0; k < node.min; ++k) Emit(re, node.kids[0]);
        if (node.max < 0) {
          int32_t loop = Here();
          prog_.push_back({kOpSplit, 0, loop + 1, 0});
          Emit(re, node.kids[0]);
          prog_.push_back({kOpJmp, 0, loop, 0});
          prog_[loop].y = Here();
        } else {
          // x{0,3} as (?:x(?:x(?:x)?)?)?: a failed optional copy ends the repetition.
          std::vector<int32_t> splits;
          for (int k = node.min; k < node.max; ++k) {
            splits.push_back(Here());
            prog_.push_back({kOpSplit, 0, Here() + 1, 0});
            Emit(re, node.kids[0]);
          }
          for (int32_t split : splits) prog_[split].y = Here();
        }
        break;
      }
      case RegexNode::kBol:
        prog_.push_back({kOpBol, 0, 0, 0});
        break;
      case RegexNode::kEol:
        prog_.push_back({kOpEol, 0, 0, 0});
        break;
    }
  }

  std::vector<Inst> prog_;
  int groups_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// A deterministic automaton over the digits that runs many patterns at once: after a walk over a digit
// string, the accept set of the reached state has bit b set when the pattern added with bit b matches
// the whole string (or, for a prefix pattern, a prefix of it). Built by subset construction from a
// Thompson automaton; a national number is at most 17 digits, so the automata stay small.

struct Dfa {
  std::vector<uint16_t> next;     // [state * 10 + digit]; state 0 is the dead state
  std::vector<uint32_t> accept;   // [state]: offset of its accept set in `words`
  std::vector<uint64_t> words;    // accept sets, `width` words each; offset 0 is the empty set
  uint32_t start = 0;
  uint32_t width = 1;

  const uint64_t* Walk(std::string_view digits) const {
    uint32_t s = start;  // uint32_t: the multiplication below must not wrap
    for (char c : digits) {
      s = next[s * 10 + static_cast<uint32_t>(c - '0')];
      if (s == 0) break;
    }
    return words.data() + accept[s];
  }
};

bool Bit(const uint64_t* set, int bit) { return (set[bit >> 6] >> (bit & 63)) & 1; }

class DfaBuilder {
 public:
  // Adds `pattern`, reported as `bit`. False when it does not parse or uses anchors (which only the
  // backtracking matcher supports).
  bool Add(std::string_view pattern, int bit, bool prefix) {
    Regex re;
    if (!ParseRegex(pattern, &re)) return false;
    int start = NewNode();
    starts_.push_back(start);
    bool ok = true;
    int end = Thompson(re, re.root, start, &ok);
    if (!ok) return false;
    int accept = NewNode();
    nodes_[accept].accept = bit;
    nodes_[end].eps.push_back(accept);
    if (prefix) {  // any digits may follow
      int any = NewNode();
      nodes_[any].mask = kAllDigits;
      nodes_[any].to = accept;
      nodes_[accept].eps.push_back(any);
    }
    bits_ = std::max(bits_, bit + 1);
    return true;
  }

  // False when the automaton would need more than 65535 states (it has at most 1348 with the metadata of
  // libphonenumber 8.12).
  bool Build(Dfa* out) const {
    Dfa dfa;
    dfa.width = static_cast<uint32_t>(std::max(1, (bits_ + 63) / 64));
    dfa.words.assign(dfa.width, 0);  // the empty accept set
    std::unordered_map<std::vector<int>, uint32_t, KeyHash> ids;
    std::vector<std::vector<int>> sets;  // char nodes of each state
    std::vector<uint32_t> mark(nodes_.size(), 0);
    uint32_t generation = 0;
    std::vector<int> stack, chars, accepts, key;
    std::unordered_map<std::vector<uint64_t>, uint32_t, WordsHash> accept_offsets;
    accept_offsets[std::vector<uint64_t>(dfa.width, 0)] = 0;

    // The state reached from `seeds`: its id, created (with its accept set) when new.
    auto state_of = [&](const std::vector<int>& seeds) -> uint32_t {
      if (seeds.empty()) return 0;
      ++generation;
      stack = seeds;
      chars.clear();
      accepts.clear();
      while (!stack.empty()) {
        int x = stack.back();
        stack.pop_back();
        if (mark[x] == generation) continue;
        mark[x] = generation;
        const NfaNode& node = nodes_[x];
        if (node.mask) chars.push_back(x);
        if (node.accept >= 0) accepts.push_back(node.accept);
        for (int e : node.eps) stack.push_back(e);
      }
      std::sort(chars.begin(), chars.end());
      std::sort(accepts.begin(), accepts.end());
      key = chars;
      key.push_back(-1);
      key.insert(key.end(), accepts.begin(), accepts.end());
      auto [it, inserted] = ids.emplace(key, static_cast<uint32_t>(sets.size() + 1));
      if (!inserted) return it->second;
      sets.push_back(chars);
      std::vector<uint64_t> set(dfa.width, 0);
      for (int a : accepts) set[a >> 6] |= uint64_t{1} << (a & 63);
      auto [at, fresh] = accept_offsets.emplace(set, static_cast<uint32_t>(dfa.words.size()));
      if (fresh) dfa.words.insert(dfa.words.end(), set.begin(), set.end());
      dfa.accept.push_back(at->second);
      return it->second;
    };

    dfa.accept.push_back(0);  // dead state
    dfa.start = state_of(starts_);
    std::vector<int> seeds;
    for (size_t s = 0; s < sets.size(); ++s) {  // `sets` grows while we go
      for (int digit = 0; digit < 10; ++digit) {
        seeds.clear();
        for (int c : sets[s]) {
          if ((nodes_[c].mask >> digit) & 1) seeds.push_back(nodes_[c].to);
        }
        uint32_t to = state_of(seeds);
        if (to > 0xFFFF) return false;
        dfa.next.resize((s + 2) * 10, 0);
        dfa.next[(s + 1) * 10 + digit] = static_cast<uint16_t>(to);
      }
    }
    dfa.next.resize((sets.size() + 1) * 10, 0);
    *out = std::move(dfa);
    return true;
  }

 private:
  struct NfaNode {
    uint16_t mask = 0;  // a character node: on a digit in `mask`, go to `to`
    int to = -1;
    int accept = -1;
    std::vector<int> eps;
  };
  struct KeyHash {
    size_t operator()(const std::vector<int>& v) const {
      size_t h = v.size();
      for (int x : v) h = h * 1000003u ^ static_cast<size_t>(x);
      return h;
    }
  };
  struct WordsHash {
    size_t operator()(const std::vector<uint64_t>& v) const {
      size_t h = v.size();
      for (uint64_t x : v) h = h * 1000003u ^ static_cast<size_t>(x ^ (x >> 29));
      return h;
    }
  };

  int NewNode() {
    nodes_.emplace_back();
    return static_cast<int>(nodes_.size()) - 1;
  }

  // Adds the automaton of node `id` entered from NFA node `in`; returns its exit node.
  int Thompson(const Regex& re, int id, int in, bool* ok) {
    const RegexNode& node = re.nodes[id];
    switch (node.kind) {
      case RegexNode::kSet: {
        int c = NewNode();
        int out = NewNode();
        nodes_[in].eps.push_back(c);
        nodes_[c].mask = node.set;
        nodes_[c].to = out;
        return out;
      }
      case RegexNode::kCat: {
        int cur = in;
        for (int kid : node.kids) cur = Thompson(re, kid, cur, ok);
        return cur;
      }
      case RegexNode::kGroup:
        return Thompson(re, node.kids[0], in, ok);
      case RegexNode::kAlt: {
        int out = NewNode();
        for (int kid : node.kids) {
          int end = Thompson(re, kid, in, ok);
          nodes_[end].eps.push_back(out);
        }
        return out;
      }
      case RegexNode::kRepeat: {
        int cur = in;
        for (int k = 0; k < node.min; ++k) cur = Thompson(re, node.kids[0], cur, ok);
        if (node.max < 0) {
          int loop = NewNode();
          nodes_[cur].eps.push_back(loop);
          int end = Thompson(re, node.kids[0], loop, ok);
          nodes_[end].eps.push_back(loop);
          return loop;
        }
        int out = NewNode();
        for (int k = node.min; k < node.max; ++k) {
          nodes_[cur].eps.push_back(out);
          cur = Thompson(re, node.kids[0], cur, ok);
        }
        nodes_[cur].eps.push_back(out);
        return out;
      }
      case RegexNode::kBol:
      case RegexNode::kEol:
        *ok = false;
        return in;
    }
    return in;
  }

  std::vector<NfaNode> nodes_;
  std::vector<int> starts_;
  int bits_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// The metadata: libphonenumber's PhoneMetadataCollection, decoded from its protobuf wire format.
//
// vg_pii links libphonenumber, which uses libprotobuf internally, but not libprotobuf itself, and the
// generated classes' parsing and accessors call into libprotobuf (MessageLite::ParseFromArray,
// RepeatedField<int>, the DCHECK logger), which the linker then refuses to take through libphonenumber.
// The wire format is simple and the schema stable, so the few fields used here are decoded directly;
// the field numbers come from the installed phonemetadata.pb.h.

// PhoneNumberDesc fields of PhoneMetadata, in the order of PhoneNumberUtil::GetNumberTypeHelper's tests
// after the general description.
enum DescKind {
  kGeneral,
  kPremiumRate,
  kTollFree,
  kSharedCost,
  kVoip,
  kPersonalNumber,
  kPager,
  kUan,
  kVoicemail,
  kFixedLine,
  kMobile,
  kNumDescs
};
constexpr int kLeadingDigitsBit = kNumDescs;  // the territory's leading_digits, a prefix pattern
constexpr int kBitsPerTerritory = kNumDescs + 1;

// The PhoneMetadata field that holds each DescKind.
int DescFieldNumber(int kind) {
  switch (kind) {
    case kGeneral: return PhoneMetadata::kGeneralDescFieldNumber;
    case kPremiumRate: return PhoneMetadata::kPremiumRateFieldNumber;
    case kTollFree: return PhoneMetadata::kTollFreeFieldNumber;
    case kSharedCost: return PhoneMetadata::kSharedCostFieldNumber;
    case kVoip: return PhoneMetadata::kVoipFieldNumber;
    case kPersonalNumber: return PhoneMetadata::kPersonalNumberFieldNumber;
    case kPager: return PhoneMetadata::kPagerFieldNumber;
    case kUan: return PhoneMetadata::kUanFieldNumber;
    case kVoicemail: return PhoneMetadata::kVoicemailFieldNumber;
    case kFixedLine: return PhoneMetadata::kFixedLineFieldNumber;
    default: return PhoneMetadata::kMobileFieldNumber;
  }
}

struct DescData {  // PhoneNumberDesc
  std::string national_number_pattern;
  std::vector<int> possible_length;
  std::vector<int> possible_length_local_only;
};

struct FormatData {  // NumberFormat
  std::string pattern;
  std::string format;
  std::vector<std::string> leading_digits_pattern;
  std::string national_prefix_formatting_rule;
};

struct MetadataData {  // PhoneMetadata
  std::string id;
  int country_code = 0;
  std::string international_prefix;
  std::string national_prefix_for_parsing;
  std::string national_prefix_transform_rule;
  bool has_leading_digits = false;
  std::string leading_digits;
  bool same_mobile_and_fixed_line_pattern = false;
  bool main_country_for_code = false;
  std::array<DescData, kNumDescs> descs;
  std::vector<FormatData> number_format;
  std::vector<FormatData> intl_number_format;
};

// Protobuf wire format: a sequence of (tag, value); tag = field number << 3 | wire type.
class MetadataReader {
 public:
  explicit MetadataReader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool ok() const { return ok_; }

  // Reads the next tag; false at the end of the message or on malformed input (then ok() is false).
  bool Next(int* field, int* wire_type) {
    if (!ok_ || p_ == end_) return false;
    uint64_t tag = Varint();
    *field = static_cast<int>(tag >> 3);
    *wire_type = static_cast<int>(tag & 7);
    return ok_;
  }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) break;
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }

  std::string_view Bytes() {
    const uint64_t n = Varint();
    if (!ok_ || n > static_cast<uint64_t>(end_ - p_)) {
      ok_ = false;
      return {};
    }
    std::string_view v(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return v;
  }

  void Skip(int wire_type) {
    size_t n = 0;
    switch (wire_type) {
      case 0:
        Varint();
        return;
      case 2:
        Bytes();
        return;
      case 1:
        n = 8;
        break;
      case 5:
        n = 4;
        break;
      default:  // groups are not used by this schema
        ok_ = false;
        return;
    }
    if (static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      return;
    }
    p_ += n;
  }

  // A string field, or an error when the wire type is not length-delimited.
  std::string String(int wire_type) {
    if (wire_type != 2) {
      ok_ = false;
      return {};
    }
    return std::string(Bytes());
  }

  // A singular int32 or bool field (int32 -1 is encoded as a ten-byte varint).
  int32_t Int(int wire_type) {
    if (wire_type != 0) {
      ok_ = false;
      return 0;
    }
    return static_cast<int32_t>(Varint());
  }

  // An element or, when packed, all elements of a repeated int32 field.
  void Ints(int wire_type, std::vector<int>* out) {
    if (wire_type == 0) {
      out->push_back(static_cast<int32_t>(Varint()));
      return;
    }
    if (wire_type != 2) {
      ok_ = false;
      return;
    }
    MetadataReader packed(Bytes());
    while (ok_ && packed.p_ != packed.end_) {
      out->push_back(static_cast<int32_t>(packed.Varint()));
      ok_ = packed.ok_;
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

bool DecodeDesc(std::string_view bytes, DescData* out) {
  MetadataReader r(bytes);
  int field, wire_type;
  while (r.Next(&field, &wire_type)) {
    switch (field) {
      case PhoneNumberDesc::kNationalNumberPatternFieldNumber:
        out->national_number_pattern = r.String(wire_type);
        break;
      case PhoneNumberDesc::kPossibleLengthFieldNumber:
        r.Ints(wire_type, &out->possible_length);
        break;
      case PhoneNumberDesc::kPossibleLengthLocalOnlyFieldNumber:
        r.Ints(wire_type, &out->possible_length_local_only);
        break;
      default:
        r.Skip(wire_type);
    }
  }
  return r.ok();
}

bool DecodeFormat(std::string_view bytes, FormatData* out) {
  MetadataReader r(bytes);
  int field, wire_type;
  while (r.Next(&field, &wire_type)) {
    switch (field) {
      case NumberFormat::kPatternFieldNumber:
        out->pattern = r.String(wire_type);
        break;
      case NumberFormat::kFormatFieldNumber:
        out->format = r.String(wire_type);
        break;
      case NumberFormat::kLeadingDigitsPatternFieldNumber:
        out->leading_digits_pattern.push_back(r.String(wire_type));
        break;
      case NumberFormat::kNationalPrefixFormattingRuleFieldNumber:
        out->national_prefix_formatting_rule = r.String(wire_type);
        break;
      default:
        r.Skip(wire_type);
    }
  }
  return r.ok();
}

bool DecodeMetadata(std::string_view bytes, MetadataData* out) {
  MetadataReader r(bytes);
  int field, wire_type;
  bool ok = true;
  while (r.Next(&field, &wire_type)) {
    int desc = -1;
    for (int kind = 0; kind < kNumDescs; ++kind) {
      if (DescFieldNumber(kind) == field) desc = kind;
    }
    if (desc >= 0) {
      if (wire_type != 2) return false;
      ok &= DecodeDesc(r.Bytes(), &out->descs[desc]);  // a repeated occurrence would merge; never happens
      continue;
    }
    switch (field) {
      case PhoneMetadata::kIdFieldNumber:
        out->id = r.String(wire_type);
        break;
      case PhoneMetadata::kCountryCodeFieldNumber:
        out->country_code = r.Int(wire_type);
        break;
      case PhoneMetadata::kInternationalPrefixFieldNumber:
        out->international_prefix = r.String(wire_type);
        break;
      case PhoneMetadata::kNationalPrefixForParsingFieldNumber:
        out->national_prefix_for_parsing = r.String(wire_type);
        break;
      case PhoneMetadata::kNationalPrefixTransformRuleFieldNumber:
        out->national_prefix_transform_rule = r.String(wire_type);
        break;
      case PhoneMetadata::kLeadingDigitsFieldNumber:
        out->has_leading_digits = true;
        out->leading_digits = r.String(wire_type);
        break;
      case PhoneMetadata::kSameMobileAndFixedLinePatternFieldNumber:
        out->same_mobile_and_fixed_line_pattern = r.Int(wire_type) != 0;
        break;
      case PhoneMetadata::kMainCountryForCodeFieldNumber:
        out->main_country_for_code = r.Int(wire_type) != 0;
        break;
      case PhoneMetadata::kNumberFormatFieldNumber:
      case PhoneMetadata::kIntlNumberFormatFieldNumber: {
        if (wire_type != 2) return false;
        auto& list = field == PhoneMetadata::kNumberFormatFieldNumber ? out->number_format : out->intl_number_format;
        ok &= DecodeFormat(r.Bytes(), &list.emplace_back());
        break;
      }
      default:
        r.Skip(wire_type);
    }
  }
  return ok && r.ok();
}

// The metadata of every territory, in the collection's order.
bool DecodeCollection(std::string_view bytes, std::vector<MetadataData>* out) {
  MetadataReader r(bytes);
  int field, wire_type;
  while (r.Next(&field, &wire_type)) {
    if (field != PhoneMetadataCollection::kMetadataFieldNumber) {
      r.Skip(wire_type);
      continue;
    }
    if (wire_type != 2 || !DecodeMetadata(r.Bytes(), &out->emplace_back())) return false;
  }
  return r.ok();
}

uint32_t LengthMask(const std::vector<int>& lengths) {
  uint32_t mask = 0;
  for (int l : lengths) {
    if (l >= 0 && l < 32) mask |= 1u << l;
  }
  return mask;
}

struct DescInfo {
  bool has_pattern = false;  // national_number_pattern is set and non-empty
  bool has_lengths = false;  // possible_length is not empty (empty: same as the general description)
  uint32_t lengths = 0;
};

// The result of PhoneNumberUtil's TestNumberLength.
enum LengthResult { kIsPossible, kIsPossibleLocalOnly, kTooShort, kTooLong, kInvalidLength };

struct FormatRule {
  Matcher pattern;
  bool has_leading_digits = false;
  std::string national;       // `format` with the national prefix formatting rule applied
  std::string international;  // `format`
};

struct Territory {
  std::string id;  // ISO 3166 code, or "001" for a non-geographical entity
  int cc = 0;
  int country = -1;  // index into Tables::countries
  int slot = 0;      // index among the calling code's territories: validity bits slot * 12 + kind
  std::array<DescInfo, kNumDescs> descs;
  int general_first_length = -1, general_last_length = -1;
  uint32_t general_local_lengths = 0;
  bool same_mobile_and_fixed_line = false;
  bool has_leading_digits = false;
  Matcher international_prefix;
  bool has_national_prefix_for_parsing = false;
  Matcher national_prefix_for_parsing;
  std::string transform_rule;
  // Only for the main territory of a calling code, whose formats Format() uses.
  std::vector<FormatRule> formats;
  std::vector<FormatRule> intl_formats;
};

struct Country {
  int cc = 0;
  char digits[4] = {};
  int digits_len = 0;
  std::vector<int> territories;  // in GetRegionCodesForCountryCallingCode order; the first is the main one
  Dfa validity;                  // kBitsPerTerritory bits per territory slot
  Dfa formats;                   // bits 2i, 2i+1: leading digits and pattern of national format i, then intl
  bool fallback = false;
};

// Checks an ICU replacement string whose group references may go up to `groups`: only "$<digit>"
// references and literal characters other than '\\'.
bool ReplacementIsSimple(std::string_view r, int groups) {
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i] == '\\') return false;
    if (r[i] == '$') {
      if (i + 1 >= r.size() || !IsDigit(r[i + 1]) || r[i + 1] - '0' > groups) return false;
      if (i + 2 < r.size() && IsDigit(r[i + 2])) return false;  // "$12": ICU's multi-digit rule
      ++i;
    }
  }
  return true;
}

// Appends the expansion of a checked replacement string for the match `caps` over `input`.
template <typename Out>
bool Expand(std::string_view rule, const int* caps, std::string_view input, Out* out) {
  size_t lit = 0;
  for (size_t i = 0; i < rule.size(); ++i) {
    if (rule[i] != '$') continue;
    if (!out->Append(rule.substr(lit, i - lit))) return false;
    int g = rule[i + 1] - '0';
    if (caps[2 * g] >= 0 && !out->Append(input.substr(caps[2 * g], caps[2 * g + 1] - caps[2 * g]))) return false;
    lit = i + 2;
    ++i;
  }
  return out->Append(rule.substr(lit));
}

struct StringOut {
  std::string* s;
  bool Append(std::string_view v) {
    s->append(v);
    return true;
  }
};

// PhoneNumberUtil::FormatNsnUsingPatternWithCarrier for NATIONAL: the first "$<digit>" of the format is
// replaced by the national prefix formatting rule, in which "$1" stands for that group. Returns false
// when the rule is beyond what this reimplementation reproduces.
bool ApplyNationalPrefixRule(const std::string& format, const std::string& rule, std::string* out) {
  *out = format;
  if (rule.empty()) return true;
  size_t at = std::string::npos;
  for (size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] == '$' && IsDigit(format[i + 1])) {
      at = i;
      break;
    }
  }
  if (at == std::string::npos) return true;  // ICU's Replace finds nothing: the format stays
  if (!ReplacementIsSimple(rule, 1)) return false;
  std::string expanded;
  for (size_t i = 0; i < rule.size(); ++i) {
    if (rule[i] == '$') {
      expanded.append(format, at, 2);  // "$0" and "$1" both name the matched "$<digit>"
      ++i;
    } else {
      expanded.push_back(rule[i]);
    }
  }
  out->replace(at, 2, expanded);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------

namespace phone_metadata_internal {

struct Tables {
  bool ok = false;
  std::vector<Territory> territories;
  std::vector<Country> countries;
  std::array<int16_t, 1000> country_of_code;
  std::array<int16_t, 26 * 26> territory_of_region;
  std::vector<std::string> fallback_regions;

  enum Outcome { kInvalid, kValid, kFallback };

  Tables() {
    country_of_code.fill(-1);
    territory_of_region.fill(-1);
  }

  bool Build();
  bool BuildTerritory(const MetadataData& m, Territory* t, bool with_formats);
  Outcome Run(std::string_view text, std::string_view region, std::string* formatted) const;

  int RegionIndex(std::string_view region) const {
    if (region.size() != 2 || region[0] < 'A' || region[0] > 'Z' || region[1] < 'A' || region[1] > 'Z') return -1;
    return territory_of_region[(region[0] - 'A') * 26 + (region[1] - 'A')];
  }
  const Country* CountryOf(int cc) const {
    if (cc <= 0 || cc >= 1000 || country_of_code[cc] < 0) return nullptr;
    return &countries[country_of_code[cc]];
  }
};

}  // namespace phone_metadata_internal

using phone_metadata_internal::Tables;

namespace {

// One call's work: the tables and whether the matcher gave up somewhere (the call then goes to
// libphonenumber).
struct Call {
  explicit Call(const Tables& tables) : t(tables) {}

  const Tables& t;
  bool gave_up = false;

  // The last walks: parsing asks about the same digits more than once (before and after a prefix is
  // stripped, then for validity), and a walk is a chain of dependent loads.
  struct Walked {
    const Dfa* dfa = nullptr;
    Digits digits;
    const uint64_t* bits = nullptr;
  };
  mutable std::array<Walked, 2> walked;
  mutable int next_walked = 0;

  const uint64_t* Walk(const Dfa& dfa, const Digits& number) const {
    for (const Walked& w : walked) {
      if (w.dfa == &dfa && w.digits.n == number.n && std::memcmp(w.digits.d, number.d, number.n) == 0) return w.bits;
    }
    Walked& w = walked[next_walked];
    next_walked ^= 1;
    w.dfa = &dfa;
    w.digits.n = number.n;
    std::memcpy(w.digits.d, number.d, number.n);
    w.bits = dfa.Walk(number.view());
    return w.bits;
  }

  const uint64_t* Validity(const Territory& m, const Digits& number) const {
    return Walk(t.countries[m.country].validity, number);
  }

  // IsMatch(general_desc): the general pattern, without the length check.
  bool General(const Territory& m, const Digits& number) const {
    return m.descs[kGeneral].has_pattern && Bit(Validity(m, number), m.slot * kBitsPerTerritory + kGeneral);
  }

  // PhoneNumberUtil::TestNumberLength(number, metadata) (type UNKNOWN: the general description).
  static LengthResult TestNumberLength(int length, const Territory& m) {
    if (m.general_first_length == -1) return kInvalidLength;
    if (length < 32 && ((m.general_local_lengths >> length) & 1)) return kIsPossibleLocalOnly;
    if (m.general_first_length == length) return kIsPossible;
    if (m.general_first_length > length) return kTooShort;
    if (m.general_last_length < length) return kTooLong;
    return length < 32 && ((m.descs[kGeneral].lengths >> length) & 1) ? kIsPossible : kInvalidLength;
  }

  // PhoneNumberUtil::GetNumberTypeHelper(...) != UNKNOWN, given the validity bits of the number.
  static bool HasType(const Territory& m, const uint64_t* bits, int length) {
    auto matches = [&](int kind) {
      const DescInfo& d = m.descs[kind];
      if (d.has_lengths && !(length < 32 && ((d.lengths >> length) & 1))) return false;
      return d.has_pattern && Bit(bits, m.slot * kBitsPerTerritory + kind);
    };
    if (!matches(kGeneral)) return false;
    for (int kind = kPremiumRate; kind <= kFixedLine; ++kind) {
      if (matches(kind)) return true;
    }
    return !m.same_mobile_and_fixed_line && matches(kMobile);
  }

  // PhoneNumberUtil::ExtractCountryCode.
  int ExtractCountryCode(Digits* number) const {
    if (number->n == 0 || number->d[0] == '0') return 0;
    int cc = 0;
    for (int i = 1; i <= kMaxLengthCountryCode && i <= number->n; ++i) {
      cc = cc * 10 + (number->d[i - 1] - '0');
      if (t.CountryOf(cc)) {
        number->DropPrefix(i);
        return cc;
      }
    }
    return 0;
  }

  // PhoneNumberUtil::MaybeStripNationalPrefixAndCarrierCode (the carrier code is not kept).
  void StripNationalPrefix(const Territory& m, Digits* number) {
    if (number->n == 0 || !m.has_national_prefix_for_parsing) return;
    int caps[2 * (kMaxGroups + 1)];
    Matcher::Result r = m.national_prefix_for_parsing.Run(number->d, number->n, 0, false, caps);
    if (r == Matcher::kGaveUp) gave_up = true;
    if (r != Matcher::kMatch) return;
    // Consume(input, &carrier, &captured) needs two groups, Consume(input, &captured) one.
    const int groups = m.national_prefix_for_parsing.groups();
    const int captured = groups >= 2 ? 2 : groups;
    if (!m.transform_rule.empty() && captured > 0 && caps[2 * captured] >= 0 &&
        caps[2 * captured + 1] > caps[2 * captured]) {
      // Replace the match (at the start: the same one lookingAt found) by the transform rule.
      Digits transformed;
      if (!Expand(m.transform_rule, caps, number->view(), &transformed) ||
          !transformed.Append(number->view().substr(caps[1]))) {
        gave_up = true;
        return;
      }
      if (General(m, *number) && !General(m, transformed)) return;
      *number = transformed;
      return;
    }
    Digits rest;
    rest.Assign(number->view().substr(caps[1]));
    if (General(m, *number) && !General(m, rest)) return;
    *number = rest;
  }

  enum class Extract { kOk, kError };

  // PhoneNumberUtil::MaybeExtractCountryCode for a number without a leading plus sign, already
  // normalized; `home` is the default region's territory or null.
  Extract ExtractCountryCodeWithoutPlus(const Territory* home, Digits* number, int* cc) {
    *cc = 0;
    if (!home) return Extract::kOk;  // the IDD pattern "NonMatch" never matches digits
    int caps[2 * (kMaxGroups + 1)];
    Matcher::Result r = home->international_prefix.Run(number->d, number->n, 0, false, caps);
    if (r == Matcher::kGaveUp) gave_up = true;
    // ParsePrefixAsIdd: strip the IDD unless a 0 follows it (country codes never start with 0).
    if (r == Matcher::kMatch && !(caps[1] < number->n && number->d[caps[1]] == '0')) {
      number->DropPrefix(caps[1]);
      if (number->n <= kMinLengthForNsn) return Extract::kError;  // TOO_SHORT_AFTER_IDD
      *cc = ExtractCountryCode(number);
      return *cc ? Extract::kOk : Extract::kError;  // INVALID_COUNTRY_CODE_ERROR
    }
    const Country& country = t.countries[home->country];
    if (number->n >= country.digits_len && std::memcmp(number->d, country.digits, country.digits_len) == 0) {
      Digits potential;
      potential.Assign(number->view().substr(country.digits_len));
      StripNationalPrefix(*home, &potential);
      if ((!General(*home, *number) && General(*home, potential)) ||
          TestNumberLength(number->n, *home) == kTooLong) {
        *number = potential;
        *cc = home->cc;
      }
    }
    return Extract::kOk;
  }

  // PhoneNumberUtil's GlobalReplace of the format pattern over the national number (ICU replaceAll).
  bool GlobalReplace(const Digits& number, const FormatRule& rule, const std::string& replacement,
                     std::string* out) const {
    StringOut sink{out};
    int caps[2 * (kMaxGroups + 1)];
    int append_from = 0, search_from = 0;
    while (search_from <= number.n) {
      Matcher::Result r = Matcher::kNoMatch;
      for (int p = search_from; p <= number.n; ++p) {
        r = rule.pattern.Run(number.d, number.n, p, false, caps);
        if (r != Matcher::kNoMatch) break;
      }
      if (r == Matcher::kGaveUp) return false;
      if (r == Matcher::kNoMatch) break;
      out->append(number.d + append_from, caps[0] - append_from);
      Expand(replacement, caps, number.view(), &sink);
      append_from = caps[1];
      search_from = caps[1] == caps[0] ? caps[1] + 1 : caps[1];
    }
    out->append(number.d + append_from, number.n - append_from);
    return true;
  }
};

// Normalizes `s` to its digits (the separators the scanner allows are dropped).
void NormalizeDigits(std::string_view s, Digits* out) {
  int n = 0;  // not out->n: the stores to out->d would make the compiler reload it every time
  for (char c : s) {
    if (IsDigit(c)) out->d[n++] = c;
  }
  out->n = n;
}

bool IsAllowedChar(char c) {
  return IsDigit(c) || c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '+';
}

}  // namespace

Tables::Outcome Tables::Run(std::string_view text, std::string_view region, std::string* formatted) const {
  if (!ok || text.size() > kMaxText) return kFallback;
  for (char c : text) {
    if (!IsAllowedChar(c)) return kFallback;
  }
  const bool zz = region == "ZZ";
  // "001" is no region for Parse, but IsValidNumberForRegion accepts it for non-geographical numbers.
  const bool non_geo = region == "001";
  const int home_index = RegionIndex(region);
  if (!zz && !non_geo && home_index < 0) return kInvalid;  // IsValidNumberForRegion: unknown region
  const Territory* home = home_index >= 0 ? &territories[home_index] : nullptr;
  if (home && countries[home->country].fallback) return kFallback;
  Call call(*this);

  // ExtractPossibleNumber: from the first '+' or digit; TrimUnwantedEndChars: up to the last digit.
  size_t begin = 0, end = text.size();
  while (begin < end && !IsDigit(text[begin]) && text[begin] != '+') ++begin;
  while (end > begin && !IsDigit(text[end - 1])) --end;
  std::string_view s = text.substr(begin, end - begin);
  // IsViablePhoneNumber: two digits, or plus signs followed by at least three digits and punctuation.
  if (s.size() < static_cast<size_t>(kMinLengthForNsn)) return kInvalid;
  size_t pluses = 0;
  while (pluses < s.size() && s[pluses] == '+') ++pluses;
  int n_digits = 0;
  for (size_t i = pluses; i < s.size(); ++i) {
    if (s[i] == '+') return kInvalid;
    n_digits += IsDigit(s[i]);
  }
  if (n_digits < 3 && !(s.size() == 2 && n_digits == 2)) return kInvalid;
  // CheckRegionForParsing.
  if (!home && pluses == 0) return kInvalid;

  // MaybeExtractCountryCode.
  Digits number;
  int cc = 0;
  if (pluses > 0) {
    NormalizeDigits(s.substr(pluses), &number);
    if (number.n <= kMinLengthForNsn) return kInvalid;  // TOO_SHORT_AFTER_IDD
    cc = call.ExtractCountryCode(&number);
    if (cc == 0) {
      // INVALID_COUNTRY_CODE_ERROR after a plus sign: ParseHelper strips it and tries again.
      NormalizeDigits(s.substr(pluses), &number);
      if (call.ExtractCountryCodeWithoutPlus(home, &number, &cc) != Call::Extract::kOk || cc == 0) {
        return call.gave_up ? kFallback : kInvalid;
      }
    }
  } else {
    NormalizeDigits(s, &number);
    if (call.ExtractCountryCodeWithoutPlus(home, &number, &cc) != Call::Extract::kOk) {
      return call.gave_up ? kFallback : kInvalid;
    }
  }
  if (call.gave_up) return kFallback;

  // The metadata the national number is parsed with: the default region's unless a calling code was
  // found, then its main territory's (GetMetadataForRegionOrCallingCode).
  const Territory* meta = home;
  if (cc != 0) {
    if (home && cc != home->cc) return kInvalid;  // IsValidNumberForRegion: another calling code
    const Country* country = CountryOf(cc);
    if (country->fallback) return kFallback;
    meta = &territories[country->territories.front()];
  } else {
    cc = home->cc;
  }
  if (number.n < kMinLengthForNsn) return kInvalid;  // TOO_SHORT_NSN
  {
    Digits potential = number;
    call.StripNationalPrefix(*meta, &potential);
    LengthResult length = Call::TestNumberLength(potential.n, *meta);
    if (length != kTooShort && length != kIsPossibleLocalOnly && length != kInvalidLength) number = potential;
  }
  if (call.gave_up) return kFallback;
  if (number.n < kMinLengthForNsn || number.n > kMaxLengthForNsn) return kInvalid;

  // Validity: IsValidNumberForRegion(number, region), or for "ZZ" IsValidNumber, which first picks the
  // region among those sharing the calling code (GetRegionCodeForNumberFromRegionList).
  const Country& country = *CountryOf(cc);
  const Territory* region_meta = home;
  if (zz) {
    region_meta = country.territories.size() == 1 ? &territories[country.territories[0]] : nullptr;
  } else if (non_geo) {
    region_meta = &territories[country.territories.front()];
    if (region_meta->id != "001") return kInvalid;
  }
  if (region_meta) {
    // The general description's possible lengths, checked before walking (most calls end here).
    const DescInfo& general = region_meta->descs[kGeneral];
    if (general.has_lengths && !((general.lengths >> number.n) & 1)) return kInvalid;
  }
  const uint64_t* bits = call.Walk(country.validity, number);
  if (!region_meta) {
    for (int index : country.territories) {
      const Territory& candidate = territories[index];
      if (candidate.has_leading_digits ? Bit(bits, candidate.slot * kBitsPerTerritory + kLeadingDigitsBit)
                                       : Call::HasType(candidate, bits, number.n)) {
        region_meta = &candidate;
        break;
      }
    }
    if (!region_meta) return kInvalid;
  }
  if (!Call::HasType(*region_meta, bits, number.n)) return kInvalid;

  // Format(number, ZZ ? INTERNATIONAL : NATIONAL) with the main territory's formats.
  const Territory& main = territories[country.territories.front()];
  const bool intl = zz && !main.intl_formats.empty();
  const std::vector<FormatRule>& rules = intl ? main.intl_formats : main.formats;
  const int base = intl ? 2 * static_cast<int>(main.formats.size()) : 0;
  const uint64_t* format_bits = country.formats.Walk(number.view());
  const FormatRule* chosen = nullptr;
  for (size_t i = 0; i < rules.size(); ++i) {
    const int bit = base + 2 * static_cast<int>(i);
    if (rules[i].has_leading_digits && !Bit(format_bits, bit)) continue;
    if (Bit(format_bits, bit + 1)) {
      chosen = &rules[i];
      break;
    }
  }
  formatted->clear();
  if (zz) {
    formatted->push_back('+');
    formatted->append(country.digits, country.digits_len);
    formatted->push_back(' ');
  }
  if (!chosen) {
    formatted->append(number.d, number.n);
  } else if (!call.GlobalReplace(number, *chosen, zz ? chosen->international : chosen->national, formatted)) {
    return kFallback;
  }
  return kValid;
}

bool Tables::BuildTerritory(const MetadataData& m, Territory* t, bool with_formats) {
  bool ok = true;
  t->id = m.id;
  t->cc = m.country_code;
  for (int kind = 0; kind < kNumDescs; ++kind) {
    const DescData& desc = m.descs[kind];
    DescInfo& info = t->descs[kind];
    info.has_pattern = !desc.national_number_pattern.empty();
    info.has_lengths = !desc.possible_length.empty();
    info.lengths = LengthMask(desc.possible_length);
  }
  const DescData& general = m.descs[kGeneral];
  if (!general.possible_length.empty()) {
    t->general_first_length = general.possible_length.front();
    t->general_last_length = general.possible_length.back();
  } else {
    ok = false;  // libphonenumber reads possible_length(0) regardless
  }
  t->general_local_lengths = LengthMask(general.possible_length_local_only);
  t->same_mobile_and_fixed_line = m.same_mobile_and_fixed_line_pattern;
  t->has_leading_digits = m.has_leading_digits;
  // Without metadata for a default region libphonenumber uses "NonMatch"; with it, the prefix as given
  // (an empty one matches the empty string).
  ok &= t->international_prefix.Compile(m.international_prefix);
  t->has_national_prefix_for_parsing = !m.national_prefix_for_parsing.empty();
  if (t->has_national_prefix_for_parsing) ok &= t->national_prefix_for_parsing.Compile(m.national_prefix_for_parsing);
  t->transform_rule = m.national_prefix_transform_rule;
  if (!t->transform_rule.empty()) {
    ok &= ReplacementIsSimple(t->transform_rule, t->national_prefix_for_parsing.groups());
    for (char c : t->transform_rule) ok &= IsDigit(c) || c == '$';
  }
  if (with_formats) {
    auto add_formats = [&](const std::vector<FormatData>& in, std::vector<FormatRule>* out) {
      for (const FormatData& f : in) {
        FormatRule rule;
        ok &= rule.pattern.Compile(f.pattern);
        rule.has_leading_digits = !f.leading_digits_pattern.empty();
        rule.international = f.format;
        ok &= ReplacementIsSimple(f.format, rule.pattern.groups());
        ok &= ApplyNationalPrefixRule(f.format, f.national_prefix_formatting_rule, &rule.national);
        ok &= ReplacementIsSimple(rule.national, rule.pattern.groups());
        out->push_back(std::move(rule));
      }
    };
    add_formats(m.number_format, &t->formats);
    add_formats(m.intl_number_format, &t->intl_formats);
  }
  return ok;
}

bool Tables::Build() {
  std::vector<MetadataData> source;
  const void* bytes = i18n::phonenumbers::metadata_get();
  const int size = i18n::phonenumbers::metadata_size();
  if (!bytes || size <= 0 || !DecodeCollection({static_cast<const char*>(bytes), static_cast<size_t>(size)}, &source)) {
    return false;
  }
  // Calling codes and their territories, ordered as PhoneNumberUtil's constructor orders them: in
  // metadata order, except that a main_country_for_code territory goes to the front.
  std::vector<const MetadataData*> by_territory;
  for (const MetadataData& m : source) {
    if (m.id == "ZZ") continue;
    if (m.country_code <= 0 || m.country_code >= 1000) return false;
    by_territory.push_back(&m);
    Territory t;
    t.id = m.id;
    t.cc = m.country_code;
    const int index = static_cast<int>(territories.size());
    territories.push_back(std::move(t));
    int16_t& c = country_of_code[m.country_code];
    if (c < 0) {
      c = static_cast<int16_t>(countries.size());
      Country country;
      country.cc = m.country_code;
      const std::string digits = std::to_string(country.cc);
      std::memcpy(country.digits, digits.data(), digits.size());
      country.digits_len = static_cast<int>(digits.size());
      countries.push_back(std::move(country));
    }
    std::vector<int>& list = countries[c].territories;
    if (m.main_country_for_code) {
      list.insert(list.begin(), index);
    } else {
      list.push_back(index);
    }
    territories[index].country = c;
    const std::string& id = m.id;
    if (id.size() == 2 && id[0] >= 'A' && id[0] <= 'Z' && id[1] >= 'A' && id[1] <= 'Z') {
      territory_of_region[(id[0] - 'A') * 26 + (id[1] - 'A')] = static_cast<int16_t>(index);
    }
  }

  for (Country& country : countries) {
    DfaBuilder validity, formats;
    bool ok = true;
    for (size_t slot = 0; slot < country.territories.size(); ++slot) {
      const int index = country.territories[slot];
      const MetadataData& m = *by_territory[index];
      Territory& t = territories[index];
      t.slot = static_cast<int>(slot);
      ok &= BuildTerritory(m, &t, /*with_formats=*/slot == 0);
      const int base = t.slot * kBitsPerTerritory;
      for (int kind = 0; kind < kNumDescs; ++kind) {
        const std::string& pattern = m.descs[kind].national_number_pattern;
        if (!pattern.empty()) ok &= validity.Add(pattern, base + kind, /*prefix=*/false);
      }
      if (m.has_leading_digits) ok &= validity.Add(m.leading_digits, base + kLeadingDigitsBit, /*prefix=*/true);
      if (slot == 0) {
        int bit = 0;
        for (const std::vector<FormatData>* list : {&m.number_format, &m.intl_number_format}) {
          for (const FormatData& f : *list) {
            if (!f.leading_digits_pattern.empty()) {
              ok &= formats.Add(f.leading_digits_pattern.back(), bit, /*prefix=*/true);  // ICU lookingAt
            }
            ok &= formats.Add(f.pattern, bit + 1, /*prefix=*/false);
            bit += 2;
          }
        }
      }
    }
    ok = ok && validity.Build(&country.validity) && formats.Build(&country.formats);
    country.fallback = !ok;
    if (country.fallback) {
      for (int index : country.territories) {
        if (territories[index].id != "001") fallback_regions.push_back(territories[index].id);
      }
    }
  }
  std::sort(fallback_regions.begin(), fallback_regions.end());
  return true;
}

PhoneMetadataIndex::PhoneMetadataIndex() {
  auto tables = std::make_unique<Tables>();
  tables->ok = tables->Build();
  if (!tables->ok) {
    // Undecodable metadata (a libphonenumber this code does not know): every call falls back.
    std::set<std::string> regions;
    PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
    tables->fallback_regions.assign(regions.begin(), regions.end());
  }
  tables_ = std::move(tables);
}

PhoneMetadataIndex::~PhoneMetadataIndex() = default;

const PhoneMetadataIndex& PhoneMetadataIndex::Default() {
  static const PhoneMetadataIndex* index = new PhoneMetadataIndex();
  return *index;
}

const std::vector<std::string>& PhoneMetadataIndex::fallback_region_codes() const { return tables_->fallback_regions; }

uint64_t PhoneMetadataIndex::fallback_calls() { return g_fallback_calls.load(std::memory_order_relaxed); }

bool PhoneMetadataIndex::ValidateAndFormat(std::string_view text, std::string_view region,
                                           std::string* formatted) const {
  Tables::Outcome outcome = tables_->Run(text, region, formatted);
  if (outcome != Tables::kFallback) return outcome == Tables::kValid;
  g_fallback_calls.fetch_add(1, std::memory_order_relaxed);
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const std::string region_code(region);
  if (util.Parse(std::string(text), region_code, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return false;
  const bool zz = region == "ZZ";
  if (!(zz ? util.IsValidNumber(number) : util.IsValidNumberForRegion(number, region_code))) return false;
  util.Format(number, zz ? PhoneNumberUtil::INTERNATIONAL : PhoneNumberUtil::NATIONAL, formatted);
  return true;
}

}  // namespace vg
