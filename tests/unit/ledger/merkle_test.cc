#include "ledger/merkle.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace vg::ledger {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

Hash H(std::string_view hex) {
  auto bytes = FromHex(hex);
  Hash h{};
  EXPECT_EQ(bytes.size(), h.size()) << hex;
  std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
  return h;
}

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---- An independent reference: the RFC's recursive definitions, written out literally. ----

Hash ReferenceRoot(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  return NodeHash(ReferenceRoot(leaves.first(k)), ReferenceRoot(leaves.subspan(k)));
}

std::vector<Hash> ReferencePath(size_t m, std::span<const Hash> leaves) {
  if (leaves.size() <= 1) return {};
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  std::vector<Hash> p;
  if (m < k) {
    p = ReferencePath(m, leaves.first(k));
    p.push_back(ReferenceRoot(leaves.subspan(k)));
  } else {
    p = ReferencePath(m - k, leaves.subspan(k));
    p.push_back(ReferenceRoot(leaves.first(k)));
  }
  return p;
}

std::vector<Hash> ReferenceSubproof(size_t m, std::span<const Hash> leaves, bool b) {
  if (m == leaves.size()) {
    if (b) return {};
    return {ReferenceRoot(leaves)};
  }
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  std::vector<Hash> p;
  if (m <= k) {
    p = ReferenceSubproof(m, leaves.first(k), b);
    p.push_back(ReferenceRoot(leaves.subspan(k)));
  } else {
    p = ReferenceSubproof(m - k, leaves.subspan(k), false);
    p.push_back(ReferenceRoot(leaves.first(k)));
  }
  return p;
}

// Leaf i of a generated tree: ~100 bytes that differ per leaf.
std::vector<uint8_t> GeneratedRecord(uint64_t i) {
  std::string s = "{\"seq\":" + std::to_string(i) + ",\"vendor\":\"mixpanel\",\"categories\":[\"pseudonymous_id\"]}";
  s.resize(100, ' ');
  return Bytes(s);
}

MerkleTree GeneratedTree(uint64_t size, std::vector<Hash>* leaves = nullptr) {
  MerkleTree tree;
  for (uint64_t i = 0; i < size; ++i) {
    Hash h = tree.AppendLeaf(GeneratedRecord(i));
    if (leaves) leaves->push_back(h);
  }
  return tree;
}

// ---- RFC 6962's reference tree: the 8 leaves of Certificate Transparency's merkle_tree_test and the
// roots of its prefixes (also in transparency-dev/merkle's testdata generator). ----

std::vector<std::vector<uint8_t>> ReferenceLeaves() {
  return {FromHex(""),         FromHex("00"),       FromHex("10"),
          FromHex("2021"),     FromHex("3031"),     FromHex("40414243"),
          FromHex("5051525354555657"), FromHex("606162636465666768696a6b6c6d6e6f")};
}

const char* const kReferenceRoots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

MerkleTree ReferenceTree() {
  MerkleTree tree;
  for (const auto& leaf : ReferenceLeaves()) tree.AppendLeaf(leaf);
  return tree;
}

TEST(MerkleHashes, FollowTheRfcDefinitions) {
  EXPECT_EQ(HashHex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // FIPS 180-2's "abc", and a message longer than one block (the payload hashes are several).
  EXPECT_EQ(HashHex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashHex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // SHA-256(0x00): the hash of the empty leaf.
  EXPECT_EQ(HashHex(LeafHash({})), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  // A leaf and a node with the same 64 bytes hash differently (the prefixes).
  Hash a = LeafHash(Bytes("a")), b = LeafHash(Bytes("b"));
  std::vector<uint8_t> concat(a.begin(), a.end());
  concat.insert(concat.end(), b.begin(), b.end());
  EXPECT_NE(NodeHash(a, b), LeafHash(concat));
  EXPECT_NE(NodeHash(a, b), NodeHash(b, a));
}

TEST(MerkleReferenceTree, RootsOfEveryPrefixMatchRfc6962) {
  MerkleTree tree;
  MerkleFrontier frontier;
  auto leaves = ReferenceLeaves();
  EXPECT_EQ(tree.Root(), EmptyRoot());
  for (size_t i = 0; i < leaves.size(); ++i) {
    tree.AppendLeaf(leaves[i]);
    frontier.AppendLeaf(leaves[i]);
    EXPECT_EQ(HashHex(tree.Root()), kReferenceRoots[i]) << "size " << i + 1;
    EXPECT_EQ(HashHex(frontier.Root()), kReferenceRoots[i]) << "size " << i + 1;
  }
  for (uint64_t size = 1; size <= 8; ++size) {
    auto root = tree.RootAt(size);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(HashHex(*root), kReferenceRoots[size - 1]);
  }
}

TEST(MerkleReferenceTree, ProofsMatchRfc6962Vectors) {
  MerkleTree tree = ReferenceTree();
  struct Case {
    uint64_t a, b;
    std::vector<const char*> proof;
  };
  // Inclusion (leaf index, tree size) and consistency (size1, size2) proofs of the reference tree, from
  // Certificate Transparency's tests.
  const std::vector<Case> inclusion = {
      {0, 1, {}},
      {0, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1, 5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  const std::vector<Case> consistency = {
      {1, 1, {}},
      {1, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
      {6, 7,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
  };
  for (const auto& c : inclusion) {
    auto proof = tree.InclusionProof(c.a, c.b);
    ASSERT_TRUE(proof.ok()) << proof.status().message();
    std::vector<Hash> want;
    for (const char* h : c.proof) want.push_back(H(h));
    EXPECT_EQ(*proof, want) << "inclusion " << c.a << " in " << c.b;
    EXPECT_TRUE(VerifyInclusion(c.a, c.b, tree.leaf_hash(c.a), want, H(kReferenceRoots[c.b - 1])).ok());
  }
  for (const auto& c : consistency) {
    auto proof = tree.ConsistencyProof(c.a, c.b);
    ASSERT_TRUE(proof.ok()) << proof.status().message();
    std::vector<Hash> want;
    for (const char* h : c.proof) want.push_back(H(h));
    EXPECT_EQ(*proof, want) << "consistency " << c.a << " to " << c.b;
    EXPECT_TRUE(
        VerifyConsistency(c.a, c.b, want, H(kReferenceRoots[c.a - 1]), H(kReferenceRoots[c.b - 1])).ok());
  }
}

// ---- Generated trees ----

TEST(MerkleGenerated, FrontierRootEqualsTreeRootAtEverySizeUpTo300) {
  std::vector<Hash> leaves;
  MerkleTree tree;
  MerkleFrontier frontier;
  for (uint64_t size = 0; size <= 300; ++size) {
    const Hash ref = ReferenceRoot(leaves);
    ASSERT_EQ(frontier.Root(), ref) << "size " << size;
    ASSERT_EQ(tree.Root(), ref) << "size " << size;
    ASSERT_EQ(frontier.size(), size);
    ASSERT_EQ(frontier.hashes().size(), static_cast<size_t>(std::popcount(size)));
    Hash leaf = LeafHash(GeneratedRecord(size));
    leaves.push_back(leaf);
    tree.AppendLeafHash(leaf);
    frontier.Append(leaf);
  }
  // Roots of earlier sizes from the stored subtrees.
  for (uint64_t size = 0; size <= 301; ++size) {
    auto root = tree.RootAt(size);
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(*root, ReferenceRoot(std::span<const Hash>(leaves).first(size))) << "size " << size;
  }
}

TEST(MerkleGenerated, FrontierReportsEveryCompletedSubtree) {
  MerkleFrontier frontier;
  std::vector<Hash> leaves;
  for (uint64_t i = 0; i < 64; ++i) {
    Hash leaf = LeafHash(GeneratedRecord(i));
    leaves.push_back(leaf);
    std::vector<std::pair<int, uint64_t>> reported;
    frontier.Append(leaf, [&](int level, uint64_t index, const Hash& node) {
      reported.emplace_back(level, index);
      const uint64_t width = uint64_t{1} << level;
      EXPECT_EQ(node, ReferenceRoot(std::span<const Hash>(leaves).subspan(index * width, width)));
    });
    // Leaf i completes one subtree per trailing one bit of i.
    ASSERT_EQ(reported.size(), static_cast<size_t>(std::countr_one(i))) << "leaf " << i;
    for (size_t k = 0; k < reported.size(); ++k) {
      EXPECT_EQ(reported[k].first, static_cast<int>(k + 1));
      EXPECT_EQ(reported[k].second, i >> (k + 1));
    }
  }
}

TEST(MerkleGenerated, EveryInclusionProofUpTo300Verifies) {
  std::vector<Hash> leaves;
  MerkleTree tree = GeneratedTree(300, &leaves);
  size_t checked = 0;
  for (uint64_t size = 1; size <= 300; ++size) {
    const Hash root = *tree.RootAt(size);
    for (uint64_t index = 0; index < size; ++index) {
      auto proof = tree.InclusionProof(index, size);
      ASSERT_TRUE(proof.ok()) << proof.status().message();
      ASSERT_EQ(proof->size(), InclusionProofLength(index, size));
      if (size <= 64) {
        ASSERT_EQ(*proof, ReferencePath(index, std::span<const Hash>(leaves).first(size)))
            << index << " in " << size;
      }
      Status s = VerifyInclusion(index, size, leaves[index], *proof, root);
      ASSERT_TRUE(s.ok()) << index << " in " << size << ": " << s.message();
      ++checked;
    }
  }
  EXPECT_EQ(checked, 300u * 301u / 2u);
}

TEST(MerkleGenerated, EveryConsistencyProofUpTo300Verifies) {
  std::vector<Hash> leaves;
  MerkleTree tree = GeneratedTree(300, &leaves);
  std::vector<Hash> roots(301);
  for (uint64_t size = 0; size <= 300; ++size) roots[size] = *tree.RootAt(size);
  size_t checked = 0;
  for (uint64_t size2 = 1; size2 <= 300; ++size2) {
    for (uint64_t size1 = 1; size1 <= size2; ++size1) {
      auto proof = tree.ConsistencyProof(size1, size2);
      ASSERT_TRUE(proof.ok()) << proof.status().message();
      ASSERT_EQ(proof->size(), ConsistencyProofLength(size1, size2));
      if (size2 <= 64) {
        ASSERT_EQ(*proof, ReferenceSubproof(size1, std::span<const Hash>(leaves).first(size2), true))
            << size1 << " to " << size2;
      }
      Status s = VerifyConsistency(size1, size2, *proof, roots[size1], roots[size2]);
      ASSERT_TRUE(s.ok()) << size1 << " to " << size2 << ": " << s.message();
      ++checked;
    }
  }
  EXPECT_EQ(checked, 300u * 301u / 2u);
}

TEST(MerkleGenerated, LargeTreesRootsAndSampledProofs) {
  constexpr uint64_t kSize = 1'000'003;
  std::vector<Hash> leaves;
  leaves.reserve(kSize);
  MerkleTree tree;
  for (uint64_t i = 0; i < kSize; ++i) leaves.push_back(tree.AppendLeaf(GeneratedRecord(i)));
  std::mt19937_64 rng(42);
  for (uint64_t size : {uint64_t{65535}, uint64_t{65536}, uint64_t{65537}, uint64_t{1} << 19, kSize - 1, kSize}) {
    const Hash root = *tree.RootAt(size);
    ASSERT_EQ(root, ReferenceRoot(std::span<const Hash>(leaves).first(size))) << "size " << size;
    for (int k = 0; k < 100; ++k) {
      uint64_t index = k == 0 ? 0 : k == 1 ? size - 1 : rng() % size;
      auto proof = tree.InclusionProof(index, size);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(VerifyInclusion(index, size, leaves[index], *proof, root).ok()) << index << " in " << size;
      uint64_t size1 = k == 0 ? 1 : k == 1 ? size : 1 + rng() % size;
      auto cproof = tree.ConsistencyProof(size1, size);
      ASSERT_TRUE(cproof.ok());
      ASSERT_TRUE(VerifyConsistency(size1, size, *cproof, *tree.RootAt(size1), root).ok())
          << size1 << " to " << size;
    }
  }
  EXPECT_EQ(tree.frontier().Root(), ReferenceRoot(leaves));
}

// ---- Mutations: anything changed in a valid proof or its claim is rejected. ----

std::vector<std::vector<Hash>> ProofMutations(const std::vector<Hash>& proof, const Hash& extra, std::mt19937_64& rng) {
  std::vector<std::vector<Hash>> out;
  for (size_t i = 0; i < proof.size(); ++i) {
    for (int bit : {0, 7, static_cast<int>(rng() % 256), 255}) {
      auto p = proof;
      p[i][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      out.push_back(p);
    }
    auto dup = proof;
    dup.insert(dup.begin() + static_cast<std::ptrdiff_t>(i), proof[i]);
    out.push_back(dup);
    auto removed = proof;
    removed.erase(removed.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back(removed);
  }
  for (size_t i = 0; i + 1 < proof.size(); ++i) {
    auto swapped = proof;
    if (swapped[i] == swapped[i + 1]) continue;
    std::swap(swapped[i], swapped[i + 1]);
    out.push_back(swapped);
  }
  auto front = proof;
  front.insert(front.begin(), extra);
  out.push_back(front);
  auto back = proof;
  back.push_back(extra);
  out.push_back(back);
  return out;
}

TEST(MerkleMutations, InclusionProofsRejectEveryMutation) {
  std::vector<Hash> leaves;
  MerkleTree tree = GeneratedTree(70, &leaves);
  std::mt19937_64 rng(7);
  size_t rejected = 0;
  for (uint64_t size = 1; size <= 70; ++size) {
    const Hash root = *tree.RootAt(size);
    for (uint64_t index = 0; index < size; ++index) {
      const auto proof = *tree.InclusionProof(index, size);
      for (const auto& p : ProofMutations(proof, root, rng)) {
        ASSERT_FALSE(VerifyInclusion(index, size, leaves[index], p, root).ok()) << index << " in " << size;
        ++rejected;
      }
      Hash wrong_leaf = leaves[index];
      wrong_leaf[31] ^= 1;
      Hash wrong_root = root;
      wrong_root[0] ^= 0x80;
      EXPECT_FALSE(VerifyInclusion(index, size, wrong_leaf, proof, root).ok());
      EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], proof, wrong_root).ok());
      EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], proof, EmptyRoot()).ok());
      // Another position claimed for the same leaf.
      for (uint64_t other : {index - 1, index + 1, index ^ 2, index ^ 1, uint64_t{0}, size - 1}) {
        if (other == index) continue;
        EXPECT_FALSE(VerifyInclusion(other, size, leaves[index], proof, root).ok())
            << "leaf " << index << " claimed at " << other << " in " << size;
      }
      // A tree twice or half as large (sizes close to the true one can fit; see the next test).
      EXPECT_FALSE(VerifyInclusion(index, size * 2, leaves[index], proof, root).ok());
      if (size > 1) EXPECT_FALSE(VerifyInclusion(index, size / 2, leaves[index], proof, root).ok());
      rejected += 3;
    }
  }
  std::cout << "[ mutations ] " << rejected << " mutated inclusion proofs rejected\n";
}

TEST(MerkleMutations, AnInclusionProofDoesNotBindTheTreeSizeOnItsOwn) {
  // Leaf 0's path in a tree of 3 leaves is {leaf 1, leaf 2}, which is also the shape of leaf 0's path in a
  // tree of 4 leaves: the same hashes lead to the same root. Only the signed tree head ties a root to its
  // size, which is why a ledger verifies the head's signature before any proof against its root.
  std::vector<Hash> leaves;
  MerkleTree tree = GeneratedTree(3, &leaves);
  const auto proof = *tree.InclusionProof(0, 3);
  EXPECT_TRUE(VerifyInclusion(0, 3, leaves[0], proof, tree.Root()).ok());
  EXPECT_TRUE(VerifyInclusion(0, 4, leaves[0], proof, tree.Root()).ok());
}

TEST(MerkleMutations, ConsistencyProofsRejectEveryMutation) {
  MerkleTree tree = GeneratedTree(70);
  std::vector<Hash> roots(71);
  for (uint64_t size = 0; size <= 70; ++size) roots[size] = *tree.RootAt(size);
  std::mt19937_64 rng(9);
  size_t rejected = 0;
  for (uint64_t size2 = 2; size2 <= 70; ++size2) {
    for (uint64_t size1 = 1; size1 < size2; ++size1) {
      const auto proof = *tree.ConsistencyProof(size1, size2);
      const Hash& r1 = roots[size1];
      const Hash& r2 = roots[size2];
      for (const auto& p : ProofMutations(proof, r1, rng)) {
        ASSERT_FALSE(VerifyConsistency(size1, size2, p, r1, r2).ok()) << size1 << " to " << size2;
        ++rejected;
      }
      Hash bad1 = r1, bad2 = r2;
      bad1[5] ^= 4;
      bad2[9] ^= 1;
      EXPECT_FALSE(VerifyConsistency(size1, size2, proof, bad1, r2).ok());
      EXPECT_FALSE(VerifyConsistency(size1, size2, proof, r1, bad2).ok());
      EXPECT_FALSE(VerifyConsistency(size1, size2, proof, r2, r1).ok());
      EXPECT_FALSE(VerifyConsistency(size1, size2, {}, r1, r2).ok());
      EXPECT_FALSE(VerifyConsistency(size2, size1, proof, r2, r1).ok());
      EXPECT_FALSE(VerifyConsistency(size1, size2 * 2, proof, r1, r2).ok());
      if (size2 / 2 >= size1) EXPECT_FALSE(VerifyConsistency(size1, size2 / 2, proof, r1, r2).ok());
      // A different first size with the true roots: root1 is bound to size1 by the proof's shape.
      for (uint64_t other : {size1 - 1, size1 + 1, size1 ^ 2}) {
        if (other == size1 || other == 0 || other > size2) continue;
        EXPECT_FALSE(VerifyConsistency(other, size2, proof, r1, r2).ok())
            << "claimed " << other << " instead of " << size1 << " to " << size2;
      }
      rejected += 7;
    }
  }
  std::cout << "[ mutations ] " << rejected << " mutated consistency proofs rejected\n";
}

// ---- Edge cases of the verifiers ----

bool Mentions(const Status& s, std::string_view word) { return s.message().find(word) != std::string::npos; }

TEST(MerkleVerify, InclusionEdgeCases) {
  MerkleTree tree = GeneratedTree(8);
  const Hash leaf = tree.leaf_hash(3);
  const auto proof = *tree.InclusionProof(3, 8);
  Status s = VerifyInclusion(8, 8, leaf, proof, tree.Root());
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s, "not in a tree of 8")) << s.message();
  EXPECT_FALSE(VerifyInclusion(0, 0, leaf, {}, EmptyRoot()).ok());
  // A single leaf is its own root with an empty proof.
  MerkleTree one = GeneratedTree(1);
  EXPECT_TRUE(VerifyInclusion(0, 1, one.leaf_hash(0), {}, one.Root()).ok());
  EXPECT_FALSE(VerifyInclusion(0, 1, one.leaf_hash(0), std::vector<Hash>{one.Root()}, one.Root()).ok());
  // Too long and too short say so, with the length wanted.
  auto longer = proof;
  longer.push_back(leaf);
  s = VerifyInclusion(3, 8, leaf, longer, tree.Root());
  EXPECT_TRUE(Mentions(s, "proof has 4 hashes") && Mentions(s, "needs 3")) << s.message();
  auto shorter = proof;
  shorter.pop_back();
  s = VerifyInclusion(3, 8, leaf, shorter, tree.Root());
  EXPECT_TRUE(Mentions(s, "proof has 2 hashes") && Mentions(s, "needs 3")) << s.message();
  Hash other = tree.Root();
  other[0] ^= 1;
  s = VerifyInclusion(3, 8, leaf, proof, other);
  EXPECT_TRUE(Mentions(s, "leads to root " + HashHex(tree.Root()))) << s.message();
}

TEST(MerkleVerify, ConsistencyEdgeCases) {
  MerkleTree tree = GeneratedTree(8);
  const Hash r5 = *tree.RootAt(5), r8 = tree.Root();
  // Equal sizes: an empty proof and equal roots.
  EXPECT_TRUE(VerifyConsistency(8, 8, {}, r8, r8).ok());
  Status s = VerifyConsistency(8, 8, {}, r8, r5);
  EXPECT_TRUE(Mentions(s, "different roots")) << s.message();
  s = VerifyConsistency(8, 8, std::vector<Hash>{r8}, r8, r8);
  EXPECT_TRUE(Mentions(s, "needs an empty proof")) << s.message();
  // From the empty tree: rejected whatever the other side.
  s = VerifyConsistency(0, 8, std::vector<Hash>{r8}, EmptyRoot(), r8);
  EXPECT_TRUE(Mentions(s, "size1 is 0")) << s.message();
  EXPECT_FALSE(VerifyConsistency(0, 0, {}, EmptyRoot(), EmptyRoot()).ok());
  // Shrinking.
  s = VerifyConsistency(8, 5, {}, r8, r5);
  EXPECT_TRUE(Mentions(s, "never shrinks")) << s.message();
  // An empty proof between different sizes.
  s = VerifyConsistency(5, 8, {}, r5, r8);
  EXPECT_TRUE(Mentions(s, "empty proof")) << s.message();
  const auto proof = *tree.ConsistencyProof(5, 8);
  EXPECT_TRUE(VerifyConsistency(5, 8, proof, r5, r8).ok());
  Hash bad = r5;
  bad[0] ^= 1;
  s = VerifyConsistency(5, 8, proof, bad, r8);
  EXPECT_TRUE(Mentions(s, "not to root1")) << s.message();
  bad = r8;
  bad[0] ^= 1;
  s = VerifyConsistency(5, 8, proof, r5, bad);
  EXPECT_TRUE(Mentions(s, "not to root2")) << s.message();
}

TEST(MerkleVerify, BytesVariantsCheckHashLengths) {
  MerkleTree tree = GeneratedTree(5);
  auto to_bytes = [](const std::vector<Hash>& p) {
    std::vector<std::vector<uint8_t>> out;
    for (const auto& h : p) out.emplace_back(h.begin(), h.end());
    return out;
  };
  const Hash root = tree.Root(), leaf = tree.leaf_hash(2);
  auto proof = to_bytes(*tree.InclusionProof(2, 5));
  EXPECT_TRUE(VerifyInclusionBytes(2, 5, leaf, proof, root).ok());
  auto garbage = proof;
  garbage.emplace_back();
  Status s = VerifyInclusionBytes(2, 5, leaf, garbage, root);
  EXPECT_TRUE(Mentions(s, "proof hash [3] is 0 bytes")) << s.message();
  s = VerifyInclusionBytes(2, 5, std::span<const uint8_t>(leaf).first(31), proof, root);
  EXPECT_TRUE(Mentions(s, "leaf hash is 31 bytes")) << s.message();

  auto cproof = to_bytes(*tree.ConsistencyProof(3, 5));
  const Hash r3 = *tree.RootAt(3);
  EXPECT_TRUE(VerifyConsistencyBytes(3, 5, cproof, r3, root).ok());
  s = VerifyConsistencyBytes(3, 5, cproof, std::span<const uint8_t>(r3).first(12), root);
  EXPECT_TRUE(Mentions(s, "root1 is 12 bytes")) << s.message();
  // Equal sizes hash nothing: the heads must simply be the same bytes.
  const auto opaque = Bytes("don't care 2");
  EXPECT_TRUE(VerifyConsistencyBytes(1, 1, {}, opaque, opaque).ok());
  EXPECT_FALSE(VerifyConsistencyBytes(1, 1, {}, opaque, Bytes("don't care 1")).ok());
}

// ---- Proof generation errors ----

TEST(MerkleProofs, GenerationRejectsImpossibleRequests) {
  MerkleTree tree = GeneratedTree(10);
  EXPECT_FALSE(tree.InclusionProof(10, 10).ok());
  EXPECT_FALSE(tree.InclusionProof(0, 11).ok());
  EXPECT_FALSE(tree.ConsistencyProof(0, 5).ok());
  EXPECT_FALSE(tree.ConsistencyProof(6, 5).ok());
  EXPECT_FALSE(tree.ConsistencyProof(5, 11).ok());
  EXPECT_FALSE(tree.RootAt(11).ok());
  auto same = tree.ConsistencyProof(7, 7);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
  // A source that lacks a subtree reports it instead of producing a wrong proof.
  auto missing = InclusionProof(0, 16, tree);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
}

// ---- Frontier persistence ----

TEST(MerkleFrontierTest, SerializeAndResumeGiveTheSameTree) {
  MerkleFrontier continuous;
  for (uint64_t size = 0; size <= 200; ++size) {
    const std::string bytes = continuous.Serialize();
    ASSERT_EQ(bytes.size(), MerkleFrontier::kHeaderBytes + 32u * static_cast<size_t>(std::popcount(size)));
    auto restored = MerkleFrontier::Deserialize(AsSpan(bytes));
    ASSERT_TRUE(restored.ok()) << restored.status().message();
    ASSERT_TRUE(*restored == continuous);
    // Resume from the restored frontier and continue for a while: same roots as the continuous one.
    MerkleFrontier a = *restored, b = continuous;
    for (uint64_t i = size; i < size + 20; ++i) {
      Hash leaf = LeafHash(GeneratedRecord(i));
      a.Append(leaf);
      b.Append(leaf);
      ASSERT_EQ(a.Root(), b.Root());
    }
    continuous.Append(LeafHash(GeneratedRecord(size)));
  }
}

TEST(MerkleFrontierTest, DeserializeRejectsDamagedInput) {
  MerkleFrontier f;
  for (uint64_t i = 0; i < 11; ++i) f.Append(LeafHash(GeneratedRecord(i)));  // size 11: 3 hashes
  const std::string good = f.Serialize();
  auto parse = [](std::string s) {
    return MerkleFrontier::Deserialize(AsSpan(s));
  };
  ASSERT_TRUE(parse(good).ok());
  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(parse(good + "x").ok());
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  EXPECT_FALSE(parse(bad_magic).ok());
  std::string bad_version = good;
  bad_version[4] = 2;
  auto v = parse(bad_version);
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(Mentions(v.status(), "version 2")) << v.status().message();
  std::string bad_size = good;
  bad_size[5] = 12;  // size 12 has 2 set bits, the payload 3 hashes
  auto s = parse(bad_size);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s.status(), "size 12 must be 77 bytes, not 109")) << s.status().message();
}

// ---- transparency-dev's RFC 6962 test vectors (../shared/merkle-testdata) ----

std::filesystem::path TestdataDir() {
  const char* src = std::getenv("VG_SOURCE_DIR");
  std::filesystem::path root = src ? src : ".";
  return root / ".." / "shared" / "merkle-testdata";
}

std::vector<uint8_t> Base64(std::string_view b64) {
  std::vector<uint8_t> out(b64.size() + 1);  // never empty: sodium wants a non-null buffer
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    ADD_FAILURE() << "bad base64 in test data: " << b64;
  }
  out.resize(len);
  return out;
}

struct Tally {
  size_t files = 0, happy_accepted = 0, mutations_rejected = 0, rejected_for_length = 0;
  std::vector<std::string> wrong;
};

// Runs every case under `dir` through `verify`; a case is right when verify's status is OK iff
// wantErr is false.
template <typename Verify>
Tally RunVectors(const std::filesystem::path& dir, Verify verify) {
  Tally t;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  simdjson::dom::parser parser;
  for (const auto& path : files) {
    simdjson::dom::element doc;
    if (parser.load(path.string()).get(doc)) {
      t.wrong.push_back(path.string() + ": unreadable JSON");
      continue;
    }
    ++t.files;
    auto proof_field = doc["proof"];
    std::vector<std::vector<uint8_t>> proof;
    simdjson::dom::array arr;
    if (!proof_field.is_null() && !proof_field.get(arr)) {
      for (auto h : arr) proof.push_back(Base64(std::string_view(h.get_string().value())));
    }
    const bool want_err = doc["wantErr"].get_bool().value();
    const Status s = verify(doc, proof);
    if (s.ok() == !want_err) {
      if (want_err) {
        ++t.mutations_rejected;
        if (Mentions(s, "bytes; a SHA-256 hash is 32")) ++t.rejected_for_length;
      } else {
        ++t.happy_accepted;
      }
    } else {
      t.wrong.push_back(std::filesystem::relative(path, dir).string() + " (" +
                        std::string(doc["desc"].get_string().value()) + "): " +
                        (s.ok() ? "accepted" : "rejected: " + s.message()));
    }
  }
  return t;
}

std::string Summary(std::string_view name, const Tally& t) {
  return std::string(name) + ": " + std::to_string(t.files) + " cases, " + std::to_string(t.happy_accepted) +
         " happy paths accepted, " + std::to_string(t.mutations_rejected) + " mutations rejected (" +
         std::to_string(t.rejected_for_length) + " of them for a hash that is not 32 bytes, the rest by the "
         "RFC 9162 checks), " + std::to_string(t.wrong.size()) + " wrong";
}

TEST(MerkleTestVectors, InclusionCases) {
  const auto dir = TestdataDir() / "inclusion";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is absent: transparency-dev test vectors not run";
  Tally t = RunVectors(dir, [](simdjson::dom::element doc, const std::vector<std::vector<uint8_t>>& proof) {
    return VerifyInclusionBytes(doc["leafIdx"].get_uint64().value(), doc["treeSize"].get_uint64().value(),
                                Base64(std::string_view(doc["leafHash"].get_string().value())), proof,
                                Base64(std::string_view(doc["root"].get_string().value())));
  });
  std::cout << "[ vectors ] " << Summary("inclusion", t) << "\n";
  RecordProperty("inclusion_cases", static_cast<int>(t.files));
  EXPECT_GT(t.files, 0u);
  EXPECT_GT(t.happy_accepted, 0u);
  for (const auto& w : t.wrong) ADD_FAILURE() << w;
}

TEST(MerkleTestVectors, ConsistencyCases) {
  const auto dir = TestdataDir() / "consistency";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is absent: transparency-dev test vectors not run";
  Tally t = RunVectors(dir, [](simdjson::dom::element doc, const std::vector<std::vector<uint8_t>>& proof) {
    return VerifyConsistencyBytes(doc["size1"].get_uint64().value(), doc["size2"].get_uint64().value(), proof,
                                  Base64(std::string_view(doc["root1"].get_string().value())),
                                  Base64(std::string_view(doc["root2"].get_string().value())));
  });
  std::cout << "[ vectors ] " << Summary("consistency", t) << "\n";
  RecordProperty("consistency_cases", static_cast<int>(t.files));
  EXPECT_GT(t.files, 0u);
  EXPECT_GT(t.happy_accepted, 0u);
  for (const auto& w : t.wrong) ADD_FAILURE() << w;
}

TEST(MerkleTestVectors, SubtreeCasesAreBeyondRfc6962) {
  const auto root = TestdataDir();
  size_t n = 0;
  for (const char* d : {"subtreeinclusion", "subtreeconsistency"}) {
    if (!std::filesystem::is_directory(root / d)) continue;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root / d)) n += e.path().extension() == ".json";
  }
  if (n == 0) GTEST_SKIP() << root << ": no subtree vectors present";
  GTEST_SKIP() << n << " cases in subtreeinclusion/ and subtreeconsistency/ not run: they test transparency-dev's "
               << "VerifySubtreeInclusion / VerifySubtreeConsistency (proofs about an arbitrary subtree "
               << "[start, end) of a tree, from draft-ietf-plants-merkle-tree-certs), an API beyond RFC 6962's "
               << "inclusion and consistency proofs that the ledger does not have";
}

}  // namespace
}  // namespace vg::ledger
