#include "ledger/merkle.h"

#define OPENSSL_SUPPRESS_DEPRECATED  // the low-level SHA256_* API: no EVP fetch or context allocation per hash
#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <optional>
#include <utility>

namespace vg::ledger {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// The largest power of two strictly below n; requires n >= 2.
uint64_t SplitPoint(uint64_t n) { return uint64_t{1} << (std::bit_width(n - 1) - 1); }

std::string Str(uint64_t v) { return std::to_string(v); }

// MTH(D[begin:end]) for a node [begin, end) of the RFC 6962 tree shape, where begin is a multiple of the
// smallest power of two >= end - begin: the perfect subtrees of sizes given by the set bits of
// end - begin, largest first, folded from the right.
StatusOr<Hash> RangeHash(uint64_t begin, uint64_t end, const SubtreeHashSource& source) {
  assert(begin < end);
  std::array<std::pair<int, uint64_t>, 64> parts;
  size_t n = 0;
  uint64_t pos = begin;
  const uint64_t size = end - begin;
  for (int level = 63; level >= 0; --level) {
    if ((size >> level) & 1) {
      assert(pos % (uint64_t{1} << level) == 0);
      parts[n++] = {level, pos >> level};
      pos += uint64_t{1} << level;
    }
  }
  auto right = source.SubtreeHash(parts[n - 1].first, parts[n - 1].second);
  if (!right.ok()) return right.status();
  Hash h = *right;
  for (size_t i = n - 1; i-- > 0;) {
    auto left = source.SubtreeHash(parts[i].first, parts[i].second);
    if (!left.ok()) return left.status();
    h = NodeHash(*left, h);
  }
  return h;
}

using Range = std::pair<uint64_t, uint64_t>;

StatusOr<std::vector<Hash>> HashRanges(std::span<const Range> ranges, const SubtreeHashSource& source) {
  std::vector<Hash> proof;
  proof.reserve(ranges.size());
  for (const auto& [begin, end] : ranges) {
    auto h = RangeHash(begin, end, source);
    if (!h.ok()) return h.status();
    proof.push_back(*h);
  }
  return proof;
}

// The decisions VerifyConsistency makes from the sizes alone, before any hashing; nullopt when the RFC's
// algorithm has to run (0 < size1 < size2 and a non-empty proof).
std::optional<Status> ConsistencyEdgeCase(uint64_t size1, uint64_t size2, size_t proof_len, bool roots_equal) {
  if (size1 > size2) {
    return Status::InvalidArgument("size1 (" + Str(size1) + ") is larger than size2 (" + Str(size2) +
                                   "): a tree never shrinks");
  }
  if (size1 == 0) {
    return Status::InvalidArgument(
        "size1 is 0: a consistency proof from the empty tree proves nothing "
        "(every tree extends it), so none is accepted");
  }
  if (size1 == size2) {
    if (proof_len != 0) {
      return Status::InvalidArgument("size1 == size2 (" + Str(size1) + ") needs an empty proof; this one has " +
                                     Str(proof_len) + " hashes");
    }
    if (!roots_equal) {
      return Status::InvalidArgument("two tree heads of the same size " + Str(size1) +
                                     " have different roots: the trees differ");
    }
    return Status::Ok();
  }
  if (proof_len == 0) {
    return Status::InvalidArgument("empty proof for size1 " + Str(size1) + " < size2 " + Str(size2) + "; it needs " +
                                   Str(ConsistencyProofLength(size1, size2)) + " hashes");
  }
  return std::nullopt;
}

Status BadLength(std::string_view what, size_t got) {
  return Status::InvalidArgument(std::string(what) + " is " + Str(got) + " bytes; a SHA-256 hash is 32");
}

Status ToHash(std::span<const uint8_t> bytes, std::string_view what, Hash* out) {
  if (bytes.size() != kHashBytes) return BadLength(what, bytes.size());
  std::memcpy(out->data(), bytes.data(), kHashBytes);
  return Status::Ok();
}

Status ToHashes(std::span<const std::vector<uint8_t>> proof, std::vector<Hash>* out) {
  out->resize(proof.size());
  for (size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != kHashBytes) return BadLength("proof hash [" + Str(i) + "]", proof[i].size());
    std::memcpy((*out)[i].data(), proof[i].data(), kHashBytes);
  }
  return Status::Ok();
}

}  // namespace

Hash Sha256(std::string_view data) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  Hash out;
  SHA256_Final(out.data(), &ctx);
  return out;
}

Hash LeafHash(std::span<const uint8_t> data) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &kLeafPrefix, 1);
  SHA256_Update(&ctx, data.data(), data.size());
  Hash out;
  SHA256_Final(out.data(), &ctx);
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[1 + 2 * kHashBytes];
  buf[0] = kNodePrefix;
  std::memcpy(buf + 1, left.data(), kHashBytes);
  std::memcpy(buf + 1 + kHashBytes, right.data(), kHashBytes);
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, buf, sizeof buf);
  Hash out;
  SHA256_Final(out.data(), &ctx);
  return out;
}

Hash EmptyRoot() {
  static const Hash kEmpty = Sha256("");
  return kEmpty;
}

std::string HashHex(const Hash& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(2 * kHashBytes, '0');
  for (size_t i = 0; i < kHashBytes; ++i) {
    s[2 * i] = kHex[hash[i] >> 4];
    s[2 * i + 1] = kHex[hash[i] & 0xf];
  }
  return s;
}

// ---- MerkleFrontier ----

Hash MerkleFrontier::Root() const {
  if (count_ == 0) return EmptyRoot();
  Hash h = hashes_[count_ - 1];
  for (size_t i = count_ - 1; i-- > 0;) h = NodeHash(hashes_[i], h);
  return h;
}

std::string MerkleFrontier::Serialize() const {
  std::string out;
  out.reserve(kHeaderBytes + count_ * kHashBytes);
  out.append(kMagic);
  out.push_back(static_cast<char>(kVersion));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((size_ >> (8 * i)) & 0xff));
  for (size_t i = 0; i < count_; ++i) out.append(reinterpret_cast<const char*>(hashes_[i].data()), kHashBytes);
  return out;
}

StatusOr<MerkleFrontier> MerkleFrontier::Deserialize(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    return Status::InvalidArgument("not a serialized Merkle frontier (no \"VGMF\" header)");
  }
  if (bytes[4] != kVersion) {
    return Status::InvalidArgument("Merkle frontier version " + Str(bytes[4]) + " is not supported (want " +
                                   Str(kVersion) + ")");
  }
  uint64_t size = 0;
  for (int i = 0; i < 8; ++i) size |= uint64_t{bytes[5 + i]} << (8 * i);
  if (size == ~uint64_t{0}) return Status::InvalidArgument("Merkle frontier size 2^64-1 is out of range");
  const size_t count = static_cast<size_t>(std::popcount(size));
  const size_t want = kHeaderBytes + count * kHashBytes;
  if (bytes.size() != want) {
    return Status::InvalidArgument("Merkle frontier of size " + Str(size) + " must be " + Str(want) + " bytes, not " +
                                   Str(bytes.size()));
  }
  MerkleFrontier f;
  f.size_ = size;
  f.count_ = count;
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(f.hashes_[i].data(), bytes.data() + kHeaderBytes + i * kHashBytes, kHashBytes);
  }
  return f;
}

bool MerkleFrontier::operator==(const MerkleFrontier& other) const {
  return size_ == other.size_ && count_ == other.count_ &&
         std::equal(hashes_.begin(), hashes_.begin() + count_, other.hashes_.begin());
}

// ---- Proofs from a source ----

StatusOr<Hash> RootFromSource(uint64_t tree_size, const SubtreeHashSource& source) {
  if (tree_size == 0) return EmptyRoot();
  return RangeHash(0, tree_size, source);
}

StatusOr<std::vector<Hash>> InclusionProof(uint64_t leaf_index, uint64_t tree_size, const SubtreeHashSource& source) {
  if (leaf_index >= tree_size) {
    return Status::InvalidArgument("leaf index " + Str(leaf_index) + " is not in a tree of " + Str(tree_size) +
                                   " leaves");
  }
  // Walk down from the root to the leaf, noting each sibling; the proof lists them bottom-up.
  std::array<Range, 64> siblings;
  size_t n = 0;
  uint64_t lo = 0, hi = tree_size;
  while (hi - lo > 1) {
    const uint64_t mid = lo + SplitPoint(hi - lo);
    if (leaf_index < mid) {
      siblings[n++] = {mid, hi};
      hi = mid;
    } else {
      siblings[n++] = {lo, mid};
      lo = mid;
    }
  }
  std::reverse(siblings.begin(), siblings.begin() + n);
  return HashRanges({siblings.data(), n}, source);
}

StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2, const SubtreeHashSource& source) {
  if (size1 > size2) {
    return Status::InvalidArgument("size1 (" + Str(size1) + ") is larger than size2 (" + Str(size2) + ")");
  }
  if (size1 == 0) {
    return Status::InvalidArgument("no consistency proof from the empty tree: every tree extends it");
  }
  if (size1 == size2) return std::vector<Hash>{};
  // SUBPROOF(m, D[n], b), unrolled: walk down towards the node that ends at size1, noting the sibling at
  // each step (emitted after the deeper part, so bottom-up); the node itself is emitted first unless it is
  // on the left edge (b still true), where the verifier knows it as root1 or a prefix of it.
  std::array<Range, 65> parts;
  size_t n = 0;
  uint64_t lo = 0, hi = size2;
  bool on_left_edge = true;
  std::optional<Range> node;
  while (true) {
    if (size1 == hi) {
      if (!on_left_edge) node = Range{lo, hi};
      break;
    }
    const uint64_t mid = lo + SplitPoint(hi - lo);
    if (size1 <= mid) {
      parts[n++] = {mid, hi};
      hi = mid;
    } else {
      parts[n++] = {lo, mid};
      lo = mid;
      on_left_edge = false;
    }
  }
  std::reverse(parts.begin(), parts.begin() + n);
  if (node) {
    std::copy_backward(parts.begin(), parts.begin() + n, parts.begin() + n + 1);
    parts[0] = *node;
    ++n;
  }
  return HashRanges({parts.data(), n}, source);
}

// ---- MerkleTree ----

void MerkleTree::AppendLeafHash(const Hash& leaf_hash) {
  levels_[0].push_back(leaf_hash);
  frontier_.Append(leaf_hash, [this](int level, uint64_t index, const Hash& node) {
    if (levels_.size() <= static_cast<size_t>(level)) levels_.emplace_back();
    assert(levels_[level].size() == index);
    (void)index;
    levels_[level].push_back(node);
  });
}

StatusOr<Hash> MerkleTree::RootAt(uint64_t tree_size) const {
  if (tree_size > size()) {
    return Status::InvalidArgument("tree size " + Str(tree_size) + " is beyond the " + Str(size()) +
                                   " leaves appended");
  }
  if (tree_size == size()) return Root();
  return RootFromSource(tree_size, *this);
}

StatusOr<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t leaf_index, uint64_t tree_size) const {
  if (tree_size > size()) {
    return Status::InvalidArgument("tree size " + Str(tree_size) + " is beyond the " + Str(size()) +
                                   " leaves appended");
  }
  return ledger::InclusionProof(leaf_index, tree_size, *this);
}

StatusOr<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t size1, uint64_t size2) const {
  if (size2 > size()) {
    return Status::InvalidArgument("tree size " + Str(size2) + " is beyond the " + Str(size()) + " leaves appended");
  }
  return ledger::ConsistencyProof(size1, size2, *this);
}

StatusOr<Hash> MerkleTree::SubtreeHash(int level, uint64_t index) const {
  if (level < 0 || static_cast<size_t>(level) >= levels_.size() || index >= levels_[level].size()) {
    return Status::NotFound("subtree at level " + Str(level) + ", index " + Str(index) +
                            " is not complete in a tree of " + Str(size()) + " leaves");
  }
  return levels_[level][index];
}

// ---- Verification ----

size_t InclusionProofLength(uint64_t leaf_index, uint64_t tree_size) {
  assert(leaf_index < tree_size);
  // Below the level where the paths to leaf_index and to the last leaf part, every level has a sibling;
  // above it, only the levels where leaf_index's ancestor is a right child (the right edge has no right
  // siblings).
  const int inner = std::bit_width(leaf_index ^ (tree_size - 1));
  return static_cast<size_t>(inner + std::popcount(leaf_index >> inner));
}

size_t ConsistencyProofLength(uint64_t size1, uint64_t size2) {
  assert(0 < size1 && size1 <= size2);
  if (size1 == size2) return 0;
  const uint64_t last = size1 - 1;
  const int inner = std::bit_width(last ^ (size2 - 1));
  const int border = std::popcount(last >> inner);
  const int shift = std::countr_zero(size1);
  // The proof starts at the level of size1's lowest perfect subtree; that subtree's hash is in the proof
  // unless it is the whole of the first tree (size1 a power of two), which the verifier knows as root1.
  const int seed = size1 == (uint64_t{1} << shift) ? 0 : 1;
  return static_cast<size_t>(seed + (inner - shift) + border);
}

Status VerifyInclusion(uint64_t leaf_index, uint64_t tree_size, const Hash& leaf_hash, std::span<const Hash> proof,
                       const Hash& root) {
  // 1.
  if (leaf_index >= tree_size) {
    return Status::InvalidArgument("leaf index " + Str(leaf_index) + " is not in a tree of " + Str(tree_size) +
                                   " leaves");
  }
  auto wrong_length = [&] {
    return Status::InvalidArgument("proof has " + Str(proof.size()) + " hashes; leaf " + Str(leaf_index) +
                                   " of a tree of " + Str(tree_size) + " leaves needs " +
                                   Str(InclusionProofLength(leaf_index, tree_size)));
  };
  // 2., 3.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  // 4.
  for (const Hash& p : proof) {
    if (sn == 0) return wrong_length();  // a.
    if ((fn & 1) || fn == sn) {          // b.
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 5.
  if (sn != 0) return wrong_length();
  if (r != root) {
    return Status::InvalidArgument("the proof leads to root " + HashHex(r) + ", not to the expected " + HashHex(root));
  }
  return Status::Ok();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof, const Hash& root1,
                         const Hash& root2) {
  if (auto decided = ConsistencyEdgeCase(size1, size2, proof.size(), root1 == root2)) return *decided;
  // Now 0 < size1 < size2 and the proof is not empty (step 1).
  auto wrong_length = [&] {
    return Status::InvalidArgument("proof has " + Str(proof.size()) + " hashes; sizes " + Str(size1) + " and " +
                                   Str(size2) + " need " + Str(ConsistencyProofLength(size1, size2)));
  };
  // 2. A power-of-two size1 is a perfect subtree whose hash is root1 itself: it seeds the chain instead of
  // the proof's first hash (the RFC prepends it to the path).
  size_t next = 0;
  Hash fr, sr;
  if (std::has_single_bit(size1)) {
    fr = sr = root1;
  } else {
    fr = sr = proof[next++];
  }
  // 3., 4.
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5., 6.
  for (; next < proof.size(); ++next) {
    const Hash& c = proof[next];
    if (sn == 0) return wrong_length();  // a.
    if ((fn & 1) || fn == sn) {          // b.
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 7.
  if (sn != 0) return wrong_length();
  if (fr != root1) {
    return Status::InvalidArgument("the proof leads to first root " + HashHex(fr) + ", not to root1 " + HashHex(root1));
  }
  if (sr != root2) {
    return Status::InvalidArgument("the proof leads to second root " + HashHex(sr) + ", not to root2 " +
                                   HashHex(root2));
  }
  return Status::Ok();
}

Status VerifyInclusionBytes(uint64_t leaf_index, uint64_t tree_size, std::span<const uint8_t> leaf_hash,
                            std::span<const std::vector<uint8_t>> proof, std::span<const uint8_t> root) {
  if (leaf_index >= tree_size) {
    return Status::InvalidArgument("leaf index " + Str(leaf_index) + " is not in a tree of " + Str(tree_size) +
                                   " leaves");
  }
  Hash leaf, expected;
  if (Status s = ToHash(leaf_hash, "leaf hash", &leaf); !s.ok()) return s;
  if (Status s = ToHash(root, "root", &expected); !s.ok()) return s;
  std::vector<Hash> hashes;
  if (Status s = ToHashes(proof, &hashes); !s.ok()) return s;
  return VerifyInclusion(leaf_index, tree_size, leaf, hashes, expected);
}

Status VerifyConsistencyBytes(uint64_t size1, uint64_t size2, std::span<const std::vector<uint8_t>> proof,
                              std::span<const uint8_t> root1, std::span<const uint8_t> root2) {
  const bool roots_equal = std::equal(root1.begin(), root1.end(), root2.begin(), root2.end());
  if (auto decided = ConsistencyEdgeCase(size1, size2, proof.size(), roots_equal)) return *decided;
  Hash r1, r2;
  if (Status s = ToHash(root1, "root1", &r1); !s.ok()) return s;
  if (Status s = ToHash(root2, "root2", &r2); !s.ok()) return s;
  std::vector<Hash> hashes;
  if (Status s = ToHashes(proof, &hashes); !s.ok()) return s;
  return VerifyConsistency(size1, size2, hashes, r1, r2);
}

}  // namespace vg::ledger
