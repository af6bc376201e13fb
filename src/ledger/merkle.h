// The disclosure ledger's Merkle tree, as RFC 6962 (Certificate Transparency) defines it and RFC 9162
// restates it: hashes of leaves and nodes, an incremental frontier for appends, inclusion and consistency
// proofs, and their verification.
//
// Hashing (RFC 9162 section 2.1.1), SHA-256 throughout:
//   MTH({})      = SHA-256()                                  (EmptyRoot)
//   leaf hash    = SHA-256(0x00 || record bytes)              (LeafHash)
//   node hash    = SHA-256(0x01 || left || right)             (NodeHash)
//   MTH(D[n])    = NodeHash(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n.
// The 0x00/0x01 prefixes keep a leaf from being passed off as an inner node (second-preimage attack).
//
// Three parts:
//   - MerkleFrontier: the "compact range" [0, size) of a growing tree, one hash per set bit of size.
//     Appending a leaf hash costs O(1) amortized node hashes (at most log2(size)); Root() costs
//     popcount(size) - 1. It serializes to a few hundred bytes so a ledger can store it with each segment
//     and resume appending without reading old records.
//   - Proof generation from a SubtreeHashSource, which supplies hashes of perfect subtrees (the nodes a
//     frontier reports as it completes them, kept by whatever storage the ledger has). A proof needs
//     O(log n) of them plus at most O(log n) node hashes for the one incomplete subtree on the right edge.
//     MerkleTree is the in-memory source: leaf hashes plus every completed subtree hash.
//   - Verification of proofs (RFC 9162 sections 2.1.3.2 and 2.1.4.2). A failing check returns
//     InvalidArgument with a message that says which check failed.
//
// A proof only shows a relation between hashes. What ties a root to a tree size and to this ledger is the
// signed tree head (tree_head.h): verify the head's signature first, then the proof against its root.
//
// Thread-safety: the free functions are pure and thread-safe. A MerkleFrontier or MerkleTree is a plain
// value: any number of concurrent readers, or one writer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vg::ledger {

using Hash = std::array<uint8_t, 32>;
inline constexpr size_t kHashBytes = 32;

// SHA-256(data): the payload hashes the ledger records (by OpenSSL's low-level API: its one-shot
// SHA256() fetches the algorithm under a lock on every call).
Hash Sha256(std::string_view data);
// SHA-256(0x00 || data).
Hash LeafHash(std::span<const uint8_t> data);
// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);
// SHA-256 of nothing: the root of the tree of size 0.
Hash EmptyRoot();

// Lower-case hex of a hash, for messages and logs (a hash reveals nothing about a record).
std::string HashHex(const Hash& hash);

// The roots of the perfect subtrees that make up the leaves [0, size): one per set bit of size, largest
// (leftmost) first. The tree root is these folded from the right: NodeHash(h0, NodeHash(h1, ... hk)).
class MerkleFrontier {
 public:
  // Serialized form (all that Deserialize accepts):
  //   magic "VGMF" | u8 version (1) | u64 size, little-endian | popcount(size) x 32-byte hash, largest first
  // It carries no checksum: it is stored inside a checksummed ledger record, and a frontier restored
  // after a restart must reproduce the root of the last signed tree head, which catches any tampering.
  static constexpr std::string_view kMagic = "VGMF";
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kHeaderBytes = 4 + 1 + 8;

  MerkleFrontier() = default;

  uint64_t size() const { return size_; }
  // The perfect-subtree roots, largest first; valid until the next Append.
  std::span<const Hash> hashes() const { return {hashes_.data(), count_}; }

  // Appends one leaf hash. Requires size() < 2^64 - 1.
  void Append(const Hash& leaf_hash) {
    Append(leaf_hash, [](int, uint64_t, const Hash&) {});
  }
  // Appends one leaf hash and calls on_node(level, index, hash) for every perfect subtree the leaf
  // completes (level >= 1: the subtree holds leaves [index << level, (index + 1) << level)), lowest level
  // first. A store that keeps these (and the leaf hashes, level 0) is a SubtreeHashSource.
  template <typename OnNode>
  void Append(const Hash& leaf_hash, OnNode&& on_node);
  // Hashes `data` as a leaf and appends it; returns the leaf hash.
  Hash AppendLeaf(std::span<const uint8_t> data) {
    Hash h = LeafHash(data);
    Append(h);
    return h;
  }

  // MTH of the leaves appended so far; EmptyRoot() when there are none.
  Hash Root() const;

  std::string Serialize() const;
  // InvalidArgument when `bytes` is not exactly what Serialize writes for some size.
  [[nodiscard]] static StatusOr<MerkleFrontier> Deserialize(std::span<const uint8_t> bytes);

  bool operator==(const MerkleFrontier& other) const;

 private:
  uint64_t size_ = 0;
  size_t count_ = 0;               // == popcount(size_)
  std::array<Hash, 64> hashes_{};  // [0, count_) in use
};

template <typename OnNode>
void MerkleFrontier::Append(const Hash& leaf_hash, OnNode&& on_node) {
  // Every trailing one bit of size_ is a perfect subtree that the new leaf's subtree now pairs with.
  Hash h = leaf_hash;
  int level = 0;
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = NodeHash(hashes_[--count_], h);
    ++level;
    on_node(level, size_ >> level, static_cast<const Hash&>(h));
  }
  hashes_[count_++] = h;
  ++size_;
}

// Supplies the hashes of perfect subtrees: at `level` with `index`, the MTH of the leaves
// [index << level, (index + 1) << level). Level 0 is a leaf hash.
class SubtreeHashSource {
 public:
  virtual ~SubtreeHashSource() = default;
  // NotFound when the source does not hold that subtree (it is not complete yet, or was never stored);
  // IOError when reading it failed.
  [[nodiscard]] virtual StatusOr<Hash> SubtreeHash(int level, uint64_t index) const = 0;
};

// MTH(D[0:tree_size]) from perfect subtrees of `source`: popcount(tree_size) look-ups and one fewer
// node hashes. EmptyRoot() for size 0. Errors are the source's.
[[nodiscard]] StatusOr<Hash> RootFromSource(uint64_t tree_size, const SubtreeHashSource& source);

// PATH(leaf_index, D[tree_size]) (RFC 9162 section 2.1.3.1): the audit path, the leaf's sibling first.
// InvalidArgument unless leaf_index < tree_size; otherwise the source's errors.
[[nodiscard]] StatusOr<std::vector<Hash>> InclusionProof(uint64_t leaf_index, uint64_t tree_size,
                                                         const SubtreeHashSource& source);

// PROOF(size1, D[size2]) (RFC 9162 section 2.1.4.1, SUBPROOF): empty when size1 == size2.
// InvalidArgument when size1 > size2 or size1 == 0 (VerifyConsistency rejects a proof from the empty
// tree: every tree extends it, so such a proof would prove nothing); otherwise the source's errors.
[[nodiscard]] StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2,
                                                           const SubtreeHashSource& source);

// An in-memory tree: every leaf hash and every completed perfect subtree hash (about 64 bytes a leaf),
// so roots and proofs for any earlier size cost O(log n) look-ups and O(log n) node hashes.
class MerkleTree : public SubtreeHashSource {
 public:
  MerkleTree() = default;

  uint64_t size() const { return frontier_.size(); }
  // Requires index < size().
  const Hash& leaf_hash(uint64_t index) const { return levels_[0][index]; }
  const MerkleFrontier& frontier() const { return frontier_; }

  void AppendLeafHash(const Hash& leaf_hash);
  Hash AppendLeaf(std::span<const uint8_t> data) {
    Hash h = LeafHash(data);
    AppendLeafHash(h);
    return h;
  }

  // The root at the current size.
  Hash Root() const { return frontier_.Root(); }
  // The root when the tree had `tree_size` leaves; InvalidArgument if tree_size > size().
  [[nodiscard]] StatusOr<Hash> RootAt(uint64_t tree_size) const;
  // As the free functions, with tree sizes checked against size() (InvalidArgument beyond it).
  [[nodiscard]] StatusOr<std::vector<Hash>> InclusionProof(uint64_t leaf_index, uint64_t tree_size) const;
  [[nodiscard]] StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2) const;

  [[nodiscard]] StatusOr<Hash> SubtreeHash(int level, uint64_t index) const override;

 private:
  MerkleFrontier frontier_;
  std::vector<std::vector<Hash>> levels_{1};  // levels_[l][i]: the perfect subtree (l, i)
};

// RFC 9162 section 2.1.3.2: whether `proof` shows that the leaf with `leaf_hash` is at `leaf_index` in the
// tree of `tree_size` leaves with `root`. InvalidArgument, saying why, when leaf_index >= tree_size, when
// the proof is longer or shorter than that position needs, or when it leads to a different root.
// Note: the proof does not bind tree_size on its own (a proof for one size can fit a nearby size with the
// same root); the signed tree head binds the size to the root.
[[nodiscard]] Status VerifyInclusion(uint64_t leaf_index, uint64_t tree_size, const Hash& leaf_hash,
                                     std::span<const Hash> proof, const Hash& root);

// RFC 9162 section 2.1.4.2: whether `proof` shows that the tree of size1 leaves with root1 is a prefix of
// the tree of size2 leaves with root2. The RFC's algorithm covers 0 < size1 < size2; at the edges:
//   size1 > size2                  rejected (a tree never shrinks);
//   size1 == 0                     rejected, for every size2 (a proof from the empty tree proves nothing);
//   size1 == size2 > 0             accepted iff the proof is empty and root1 == root2;
//   0 < size1 < size2, empty proof rejected.
// InvalidArgument, saying which check failed, otherwise.
[[nodiscard]] Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const Hash> proof, const Hash& root1,
                                       const Hash& root2);

// The same checks for hashes as they arrive from outside (JSON, a command line, another party's ledger),
// as byte strings of any length: a hash that must be hashed or compared with a computed hash and is not
// 32 bytes is rejected with a message naming it. VerifyConsistencyBytes with size1 == size2 > 0 hashes
// nothing; it compares root1 and root2 byte for byte, whatever their length.
[[nodiscard]] Status VerifyInclusionBytes(uint64_t leaf_index, uint64_t tree_size, std::span<const uint8_t> leaf_hash,
                                          std::span<const std::vector<uint8_t>> proof, std::span<const uint8_t> root);
[[nodiscard]] Status VerifyConsistencyBytes(uint64_t size1, uint64_t size2, std::span<const std::vector<uint8_t>> proof,
                                            std::span<const uint8_t> root1, std::span<const uint8_t> root2);

// The number of hashes in PATH(leaf_index, D[tree_size]) and PROOF(size1, D[size2]); requires
// leaf_index < tree_size, resp. 0 < size1 <= size2.
size_t InclusionProofLength(uint64_t leaf_index, uint64_t tree_size);
size_t ConsistencyProofLength(uint64_t size1, uint64_t size2);

}  // namespace vg::ledger
