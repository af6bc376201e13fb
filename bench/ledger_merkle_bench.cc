// The disclosure ledger's Merkle tree, one core: what an append costs (leaf hash of a ~100-byte record plus
// the frontier's amortized node hash), what proofs cost to make and to check, and what a signed tree head
// costs. items/s is records/s for the append benchmarks and proofs (or heads)/s for the others.
//
//   ./build/release/bench/ledger_merkle_bench --benchmark_min_time=1 --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true   (one line)
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ledger/merkle.h"
#include "ledger/tree_head.h"

namespace vg::ledger {
namespace {

constexpr size_t kRecordBytes = 100;
constexpr size_t kRecords = 4096;  // a ring of distinct records, small enough to stay in cache

// kRecords records of kRecordBytes: JSON-ish disclosure lines with a sequence number, padded.
const std::vector<std::string>& Records() {
  static const std::vector<std::string> records = [] {
    std::vector<std::string> out;
    for (size_t i = 0; i < kRecords; ++i) {
      std::string s = "{\"seq\":" + std::to_string(i) +
                      ",\"vendor\":\"mixpanel\",\"subject\":\"vg1-5f0c\",\"categories\":[\"browser\",\"country\"]}";
      s.resize(kRecordBytes, ' ');
      out.push_back(std::move(s));
    }
    return out;
  }();
  return records;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void BM_LeafHash(benchmark::State& state) {
  const auto& records = Records();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(LeafHash(AsBytes(records[i++ & (kRecords - 1)])));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kRecordBytes);
}
BENCHMARK(BM_LeafHash);

void BM_NodeHash(benchmark::State& state) {
  Hash a = LeafHash(AsBytes(Records()[0])), b = LeafHash(AsBytes(Records()[1]));
  for (auto _ : state) {
    a = NodeHash(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeHash);

// The ledger's append path: hash the record as a leaf and fold it into the frontier.
void BM_FrontierAppendRecord(benchmark::State& state) {
  const auto& records = Records();
  MerkleFrontier frontier;
  size_t i = 0;
  for (auto _ : state) {
    frontier.AppendLeaf(AsBytes(records[i++ & (kRecords - 1)]));
  }
  benchmark::DoNotOptimize(frontier.Root());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kRecordBytes);
}
BENCHMARK(BM_FrontierAppendRecord);

// The frontier alone, leaf hashes given: the amortized node hashing (one per append on average).
void BM_FrontierAppendLeafHash(benchmark::State& state) {
  std::vector<Hash> leaves;
  for (const auto& r : Records()) leaves.push_back(LeafHash(AsBytes(r)));
  MerkleFrontier frontier;
  size_t i = 0;
  for (auto _ : state) frontier.Append(leaves[i++ & (kRecords - 1)]);
  benchmark::DoNotOptimize(frontier.Root());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrontierAppendLeafHash);

// The in-memory tree (frontier plus a copy of every leaf and subtree hash, for proofs).
void BM_MerkleTreeAppendRecord(benchmark::State& state) {
  const auto& records = Records();
  auto tree = std::make_unique<MerkleTree>();
  size_t i = 0;
  for (auto _ : state) {
    tree->AppendLeaf(AsBytes(records[i++ & (kRecords - 1)]));
    if (tree->size() == (uint64_t{1} << 24)) {  // bound the memory (16 M leaves ~ 1 GiB)
      state.PauseTiming();
      tree = std::make_unique<MerkleTree>();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MerkleTreeAppendRecord);

// A tree of 2^20 + 12345 leaves, built once.
const MerkleTree& BigTree() {
  static const MerkleTree* tree = [] {
    auto* t = new MerkleTree();
    const auto& records = Records();
    for (uint64_t i = 0; i < (uint64_t{1} << 20) + 12345; ++i) t->AppendLeaf(AsBytes(records[i & (kRecords - 1)]));
    return t;
  }();
  return *tree;
}

void BM_FrontierRoot(benchmark::State& state) {
  const MerkleTree& tree = BigTree();
  for (auto _ : state) benchmark::DoNotOptimize(tree.frontier().Root());
  state.SetItemsProcessed(state.iterations());
  state.counters["tree_size"] = static_cast<double>(tree.size());
}
BENCHMARK(BM_FrontierRoot);

void BM_InclusionProof(benchmark::State& state) {
  const MerkleTree& tree = BigTree();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto proof = tree.InclusionProof(rng() % tree.size(), tree.size());
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InclusionProof);

void BM_VerifyInclusion(benchmark::State& state) {
  const MerkleTree& tree = BigTree();
  const Hash root = tree.Root();
  std::mt19937_64 rng(2);
  struct Case {
    uint64_t index;
    std::vector<Hash> proof;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 256; ++i) {
    uint64_t index = rng() % tree.size();
    cases.push_back({index, *tree.InclusionProof(index, tree.size())});
  }
  size_t i = 0;
  for (auto _ : state) {
    const Case& c = cases[i++ & 255];
    Status s = VerifyInclusion(c.index, tree.size(), tree.leaf_hash(c.index), c.proof, root);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyInclusion);

void BM_ConsistencyProof(benchmark::State& state) {
  const MerkleTree& tree = BigTree();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    auto proof = tree.ConsistencyProof(1 + rng() % tree.size(), tree.size());
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConsistencyProof);

void BM_VerifyConsistency(benchmark::State& state) {
  const MerkleTree& tree = BigTree();
  const Hash root = tree.Root();
  std::mt19937_64 rng(4);
  struct Case {
    uint64_t size1;
    Hash root1;
    std::vector<Hash> proof;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 256; ++i) {
    uint64_t size1 = 1 + rng() % tree.size();
    cases.push_back({size1, *tree.RootAt(size1), *tree.ConsistencyProof(size1, tree.size())});
  }
  size_t i = 0;
  for (auto _ : state) {
    const Case& c = cases[i++ & 255];
    Status s = VerifyConsistency(c.size1, tree.size(), c.proof, c.root1, root);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyConsistency);

void BM_SignTreeHead(benchmark::State& state) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 1;
  TreeHeadSigner signer = TreeHeadSigner::FromSeed(seed);
  TreeHead head{1'000'000, BigTree().Root(), 1'764'400'000'000};
  for (auto _ : state) {
    ++head.timestamp_ms;
    benchmark::DoNotOptimize(signer.Sign(head));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignTreeHead);

void BM_VerifyTreeHead(benchmark::State& state) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 1;
  TreeHeadSigner signer = TreeHeadSigner::FromSeed(seed);
  const SignedTreeHead sth = signer.Sign(TreeHead{1'000'000, BigTree().Root(), 1'764'400'000'000});
  for (auto _ : state) {
    Status s = VerifySignedTreeHead(sth, signer.public_key());
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyTreeHead);

}  // namespace
}  // namespace vg::ledger

BENCHMARK_MAIN();
