// The disclosure ledger (issue #5) through the real vg::ledger::Ledger: what appending costs (leaf hash,
// subject HMAC, Merkle frontier, WAL frame, in-memory columns and sealing, one thread), what the queries
// cost over a large ledger, and how many bytes a record takes on disk.
//
// Three modes in one binary:
//
//   ledger_bench [Google Benchmark flags]
//       BM_Append*: appends realistic disclosure records (subjects drawn from a pool of 1 M, 8 vendors,
//       category masks, insert ids, random payload hashes) in batches, Flush after each batch, with
//       sync off and on, 2.2 M records per run (sealing included: see kAppendRecords); a fresh ledger per run in $VG_LEDGER_BENCH_TMP (default /var/tmp). items/s is
//       records/s; bytes_per_record is the sealed ledger's size on disk over the records appended.
//       BM_Who, BM_Subject, BM_Vendors: queries over the dataset in $VG_LEDGER_BENCH_DATA (made by
//       --generate below); skipped with a message when it is not set. Times are wall-clock (Who and
//       Vendors use every core); cpu_ms_per_query is the whole process's CPU time per query.
//
//   ledger_bench --generate DIR --records N [--days 90] [--vendors 8] [--subjects 1000000] [--seed 1] [--no-csv]
//       Writes a dataset once, deterministically from the seed: DIR/ledger (the ledger, sync off),
//       DIR/records.csv (the same disclosures, one per line: time_us,vendor_id,subject,categories,outcome,
//       insert_id; for the baselines in bench/ledger_compare.sh) and DIR/dataset.env (its parameters,
//       sourceable by a shell). Record i is at t0 + i * days / N; t0 = 2023-11-15T00:00:00Z. --no-csv: no
//       records.csv (the ledger benchmarks alone do not need it; it is 6.8 GB at 100 M records).
//
//   ledger_bench --who DIR --vendor NAME --from-day D --days W [--runs 3]
//       Opens DIR/ledger and runs Who(NAME, t0 + D days, t0 + (D + W) days) --runs times, printing one
//       line per run with the wall time, the process's CPU time (every thread) and a checksum of the answer (subjects, records, the sum of the
//       category unions, the sums of first and last times relative to the window start), which
//       bench/ledger_compare.sh compares with SQLite's and ClickHouse's.
#include <benchmark/benchmark.h>

#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <time.h>
#include <unistd.h>
#include <vector>

#include "ledger/ledger.h"

namespace vg::ledger {
namespace {

namespace fs = std::filesystem;
using Clk = std::chrono::steady_clock;

constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kT0 = 1'700'006'400'000'000;  // 2023-11-15T00:00:00Z, a UTC day boundary

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<VendorInfo> BenchVendors(int n) {
  std::vector<VendorInfo> v;
  for (int i = 0; i < n; ++i) v.push_back({"vendor-" + std::to_string(i), "product analytics", "consent", "US"});
  return v;
}

// The one generator of disclosures, shared by the append benchmarks and the dataset: subject
// "user-<k>@example.com" with k uniform over the pool, a vendor uniform over the vendors, categories a
// base bit plus one of 9, 5 % dead-lettered (the rest delivered), a decimal 64-bit insert id and a random
// SHA-256-sized payload hash.
struct Disclosure {
  uint16_t vendor_index;
  uint32_t categories;
  Outcome outcome;
  Hash payload_hash;
  char subject[40];
  uint8_t subject_len;
  char insert_id[24];
  uint8_t insert_id_len;
  std::string_view subject_view() const { return {subject, subject_len}; }
  std::string_view insert_id_view() const { return {insert_id, insert_id_len}; }
};

void NextDisclosure(uint64_t* rng, uint64_t subjects, int vendors, Disclosure* d) {
  const uint64_t r = SplitMix(rng);
  static constexpr std::string_view kPrefix = "user-", kSuffix = "@example.com";
  char* p = d->subject;
  std::memcpy(p, kPrefix.data(), kPrefix.size());
  p = std::to_chars(p + kPrefix.size(), d->subject + sizeof(d->subject), r % subjects).ptr;
  std::memcpy(p, kSuffix.data(), kSuffix.size());
  d->subject_len = static_cast<uint8_t>(p + kSuffix.size() - d->subject);
  d->insert_id_len = static_cast<uint8_t>(
      std::to_chars(d->insert_id, d->insert_id + sizeof(d->insert_id), SplitMix(rng)).ptr - d->insert_id);
  for (size_t b = 0; b < d->payload_hash.size(); b += 8) {
    const uint64_t x = SplitMix(rng);
    std::memcpy(d->payload_hash.data() + b, &x, 8);
  }
  d->categories = static_cast<uint32_t>(1u << ((r >> 40) % 9)) | 1u;
  d->vendor_index = static_cast<uint16_t>((r >> 32) % static_cast<uint64_t>(vendors));
  d->outcome = ((r >> 48) % 20 == 0) ? Outcome::kDeadLettered : Outcome::kDelivered;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) bytes += e.file_size();
  }
  return bytes;
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string TempRoot() {
  const char* t = std::getenv("VG_LEDGER_BENCH_TMP");
  return t != nullptr ? t : "/var/tmp";
}

// ---------------------------------------------------------------------------------------------------------
// Append benchmarks.

constexpr uint64_t kAppendSubjects = 1'000'000;
constexpr int kAppendVendors = 8;
constexpr size_t kRing = size_t{1} << 20;  // one sealed segment's worth of distinct records
// 100 M records over 90 days, as in the query dataset: about 1.1 M records a UTC day, so segments seal
// at max_segment_records (1 Mi) and at day boundaries, as they would at that rate.
constexpr int64_t kAppendStepUs = 90 * kDayUs / 100'000'000;

const std::vector<Disclosure>& AppendRing() {
  static const std::vector<Disclosure> ring = [] {
    std::vector<Disclosure> out(kRing);
    uint64_t rng = 7;
    for (auto& d : out) NextDisclosure(&rng, kAppendSubjects, kAppendVendors, &d);
    return out;
  }();
  return ring;
}

// Args: records per batch (Append + Flush per batch), sync (0 or 1).
void BM_Append(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const bool sync = state.range(1) != 0;
  const auto& ring = AppendRing();
  static int run = 0;
  const std::string dir =
      TempRoot() + "/vg-ledger-bench-append-" + std::to_string(::getpid()) + "-" + std::to_string(run++);
  fs::remove_all(dir);
  LedgerOptions o;
  o.dir = dir;
  o.vendors = BenchVendors(kAppendVendors);
  o.sync = sync;  // the system clock signs a tree head at most once a second, as in the gateway
  auto opened = Ledger::Open(o);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().message().c_str());
    return;
  }
  std::unique_ptr<Ledger> ledger = std::move(*opened);
  uint16_t vendor_id[kAppendVendors];
  for (int v = 0; v < kAppendVendors; ++v) vendor_id[v] = *ledger->VendorId("vendor-" + std::to_string(v));
  std::vector<LedgerRecord> records(batch);
  uint64_t appended = 0;
  size_t next = 0;
  const double cpu0 = ProcessCpuSeconds();
  const double thread_cpu0 = ThreadCpuSeconds();
  for (auto _ : state) {
    // Building the batch (views into the ring, the time advancing) is timed: it is what a caller does.
    for (size_t k = 0; k < batch; ++k) {
      const Disclosure& d = ring[next];
      next = (next + 1) & (kRing - 1);
      records[k] = LedgerRecord::Disclosure(kT0 + static_cast<int64_t>(appended + k) * kAppendStepUs,
                                            vendor_id[d.vendor_index], d.subject_view(), 1, d.categories,
                                            d.outcome, d.insert_id_view(), d.payload_hash);
    }
    appended += batch;
    Status s = ledger->Append(records);
    if (s.ok()) s = ledger->Flush();
    if (!s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
  }
  // A background seal still in flight is part of these records' cost: wait for it before reading the
  // process's CPU time (the wall-clock time, what a caller waits for, has stopped: callers do not wait).
  if (Status s = ledger->WaitForSeal(); !s.ok()) state.SkipWithError(s.message().c_str());
  const double cpu_s = ProcessCpuSeconds() - cpu0;
  const double thread_cpu_s = ThreadCpuSeconds() - thread_cpu0;
  state.SetItemsProcessed(static_cast<int64_t>(appended));
  // The appending thread alone (the sealer's CPU excluded): what one core that only appends sustains.
  if (thread_cpu_s > 0) state.counters["append_thread_per_cpu_s"] = static_cast<double>(appended) / thread_cpu_s;
  // items_per_second is per wall-clock second (what a caller waits for, fdatasync included); this one is
  // per CPU-second of the whole process, the "per core" figure, which other work on a shared machine
  // changes much less (caches and the core's sibling are still shared).
  if (cpu_s > 0) state.counters["records_per_cpu_s"] = static_cast<double>(appended) / cpu_s;
  // The sealed form: what the records take on disk once their segment is sealed (not timed).
  if (ledger->SealForTesting().ok() && ledger->Close().ok() && appended > 0) {
    state.counters["bytes_per_record"] = static_cast<double>(DirBytes(dir)) / static_cast<double>(appended);
  }
  state.counters["records"] = static_cast<double>(appended);
  ledger.reset();
  fs::remove_all(dir);
}
// A fixed amount of work per run, whatever the machine's load: kAppendRecords records, about two days at
// the dataset's rate, so every run seals the same segments (at 1 Mi records and at UTC day boundaries)
// inside the timed loop. (With a minimum time instead, a run on a busy machine appended too few records
// to seal at all, and one on an idle machine sealed: the figures were not comparable.)
constexpr int64_t kAppendRecords = 2'200'000;
[[maybe_unused]] const bool kAppendRegistered = [] {
  for (const auto& [batch, sync] : {std::pair<int64_t, int64_t>{1000, 0}, {10000, 0}, {1000, 1}, {10000, 1}}) {
    benchmark::RegisterBenchmark("BM_Append", BM_Append)
        ->ArgNames({"batch", "sync"})
        ->Args({batch, sync})
        ->Iterations(kAppendRecords / batch)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

// ---------------------------------------------------------------------------------------------------------
// The dataset: generation, and the query benchmarks over it.

struct DatasetParams {
  uint64_t records = 0;
  int days = 90;
  int vendors = 8;
  uint64_t subjects = 1'000'000;
  uint64_t seed = 1;
  bool csv = true;
};

int Generate(const std::string& dir, const DatasetParams& p) {
  if (p.records == 0 || p.days <= 0 || p.vendors <= 0 || p.vendors > 1000 || p.subjects == 0) {
    std::fprintf(stderr, "ledger_bench --generate: --records, --days, --vendors (1..1000), --subjects must be positive\n");
    return 2;
  }
  const std::string ledger_dir = dir + "/ledger";
  if (fs::exists(ledger_dir)) {
    std::fprintf(stderr, "ledger_bench --generate: %s exists; remove it first\n", ledger_dir.c_str());
    return 2;
  }
  fs::create_directories(dir);
  LedgerOptions o;
  o.dir = ledger_dir;
  o.vendors = BenchVendors(p.vendors);
  o.sync = false;  // a bulk load; Close still writes every file and a signed head
  const int64_t step = static_cast<int64_t>(p.days) * kDayUs / static_cast<int64_t>(p.records);
  int64_t now = kT0;
  o.now_us = [&now] { return now; };
  auto opened = Ledger::Open(o);
  if (!opened.ok()) {
    std::fprintf(stderr, "ledger_bench --generate: %s\n", opened.status().message().c_str());
    return 1;
  }
  std::unique_ptr<Ledger> ledger = std::move(*opened);
  std::vector<uint16_t> vendor_id(p.vendors);
  for (int v = 0; v < p.vendors; ++v) vendor_id[v] = *ledger->VendorId("vendor-" + std::to_string(v));

  const std::string csv_path = dir + "/records.csv";
  FILE* csv = p.csv ? std::fopen(csv_path.c_str(), "wb") : nullptr;
  if (p.csv && csv == nullptr) {
    std::fprintf(stderr, "ledger_bench --generate: cannot write %s: %s\n", csv_path.c_str(), std::strerror(errno));
    return 1;
  }
  constexpr size_t kBatch = 10000;
  std::vector<Disclosure> ds(kBatch);
  std::vector<LedgerRecord> batch(kBatch);
  std::string line_buf;
  line_buf.resize(kBatch * 128);
  uint64_t rng = p.seed;
  double append_s = 0;
  const auto start = Clk::now();
  for (uint64_t i = 0; i < p.records; i += kBatch) {
    const size_t m = static_cast<size_t>(std::min<uint64_t>(kBatch, p.records - i));
    char* out = line_buf.data();
    for (size_t k = 0; k < m; ++k) {
      Disclosure& d = ds[k];
      NextDisclosure(&rng, p.subjects, p.vendors, &d);
      const int64_t t = kT0 + static_cast<int64_t>(i + k) * step;
      const uint16_t vid = vendor_id[d.vendor_index];
      batch[k] = LedgerRecord::Disclosure(t, vid, d.subject_view(), 1, d.categories, d.outcome, d.insert_id_view(),
                                          d.payload_hash);
      char* end = line_buf.data() + line_buf.size();
      out = std::to_chars(out, end, t).ptr;
      *out++ = ',';
      out = std::to_chars(out, end, vid).ptr;
      *out++ = ',';
      std::memcpy(out, d.subject, d.subject_len);
      out += d.subject_len;
      *out++ = ',';
      out = std::to_chars(out, end, d.categories).ptr;
      *out++ = ',';
      out = std::to_chars(out, end, static_cast<int>(d.outcome)).ptr;
      *out++ = ',';
      std::memcpy(out, d.insert_id, d.insert_id_len);
      out += d.insert_id_len;
      *out++ = '\n';
    }
    now = kT0 + static_cast<int64_t>(i + m) * step;
    const auto a0 = Clk::now();
    if (Status s = ledger->Append({batch.data(), m}); !s.ok()) {
      std::fprintf(stderr, "ledger_bench --generate: append: %s\n", s.message().c_str());
      return 1;
    }
    append_s += std::chrono::duration<double>(Clk::now() - a0).count();
    const size_t len = static_cast<size_t>(out - line_buf.data());
    if (csv != nullptr && std::fwrite(line_buf.data(), 1, len, csv) != len) {
      std::fprintf(stderr, "ledger_bench --generate: writing %s: %s\n", csv_path.c_str(), std::strerror(errno));
      return 1;
    }
    if ((i / kBatch) % 1000 == 999) {
      std::fprintf(stderr, "  %" PRIu64 " records, %.0f s\n", i + m,
                   std::chrono::duration<double>(Clk::now() - start).count());
    }
  }
  const auto c0 = Clk::now();
  if (Status s = ledger->Close(); !s.ok()) {
    std::fprintf(stderr, "ledger_bench --generate: close: %s\n", s.message().c_str());
    return 1;
  }
  append_s += std::chrono::duration<double>(Clk::now() - c0).count();
  if (csv != nullptr && std::fclose(csv) != 0) {
    std::fprintf(stderr, "ledger_bench --generate: closing %s: %s\n", csv_path.c_str(), std::strerror(errno));
    return 1;
  }
  const double total_s = std::chrono::duration<double>(Clk::now() - start).count();
  const uint64_t ledger_bytes = DirBytes(ledger_dir);
  const uint64_t csv_bytes = p.csv ? fs::file_size(csv_path) : 0;

  const std::string env_path = dir + "/dataset.env";
  FILE* env = std::fopen(env_path.c_str(), "w");
  if (env == nullptr) {
    std::fprintf(stderr, "ledger_bench --generate: cannot write %s\n", env_path.c_str());
    return 1;
  }
  std::fprintf(env,
               "# written by ledger_bench --generate\nVG_RECORDS=%" PRIu64 "\nVG_DAYS=%d\nVG_VENDORS=%d\nVG_SUBJECTS=%" PRIu64
               "\nVG_SEED=%" PRIu64 "\nVG_T0_US=%" PRId64 "\nVG_STEP_US=%" PRId64 "\nVG_LEDGER_BYTES=%" PRIu64
               "\nVG_CSV_BYTES=%" PRIu64 "\nVG_GENERATE_SECONDS=%.1f\nVG_LEDGER_APPEND_SECONDS=%.1f\n",
               p.records, p.days, p.vendors, p.subjects, p.seed, kT0, step, ledger_bytes, csv_bytes, total_s, append_s);
  for (int v = 0; v < p.vendors; ++v) std::fprintf(env, "VG_VENDOR_ID_vendor_%d=%u\n", v, vendor_id[v]);
  std::fclose(env);
  std::printf("generated %" PRIu64 " records in %.1f s (ledger Append + Close: %.1f s, %.0f records/s); ledger %" PRIu64
              " bytes (%.1f per record), CSV %" PRIu64 " bytes\n",
              p.records, total_s, append_s, static_cast<double>(p.records) / append_s, ledger_bytes,
              static_cast<double>(ledger_bytes) / static_cast<double>(p.records), csv_bytes);
  return 0;
}

// Reads DIR/dataset.env (KEY=VALUE lines).
bool ReadDatasetEnv(const std::string& dir, DatasetParams* p, int64_t* t0) {
  FILE* f = std::fopen((dir + "/dataset.env").c_str(), "r");
  if (f == nullptr) return false;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    std::string_view l(line);
    const size_t eq = l.find('=');
    if (eq == std::string_view::npos || l[0] == '#') continue;
    const std::string key(l.substr(0, eq));
    const long long v = std::strtoll(line + eq + 1, nullptr, 10);
    if (key == "VG_RECORDS") p->records = static_cast<uint64_t>(v);
    if (key == "VG_DAYS") p->days = static_cast<int>(v);
    if (key == "VG_VENDORS") p->vendors = static_cast<int>(v);
    if (key == "VG_SUBJECTS") p->subjects = static_cast<uint64_t>(v);
    if (key == "VG_SEED") p->seed = static_cast<uint64_t>(v);
    if (key == "VG_T0_US") *t0 = v;
  }
  std::fclose(f);
  return p->records > 0;
}

StatusOr<std::unique_ptr<Ledger>> OpenDataset(const std::string& dir, const DatasetParams& p) {
  LedgerOptions o;
  o.dir = dir + "/ledger";
  o.vendors = BenchVendors(p.vendors);  // the same declarations: Open appends nothing
  o.sync = false;
  return Ledger::Open(o);
}

// A checksum of a Who answer that the SQL baselines can compute too.
struct WhoChecksum {
  uint64_t subjects = 0, records = 0, categories_sum = 0;
  int64_t first_sum = 0, last_sum = 0;  // relative to the window start, so they fit in 64 bits
};
WhoChecksum Checksum(const std::vector<WhoEntry>& who, int64_t from) {
  WhoChecksum c;
  c.subjects = who.size();
  for (const auto& e : who) {
    c.records += e.counts.total();
    c.categories_sum += e.categories;
    c.first_sum += e.first_us - from;
    c.last_sum += e.last_us - from;
  }
  return c;
}

int RunWho(const std::string& dir, const std::string& vendor, int from_day, int days, int runs) {
  DatasetParams p;
  int64_t t0 = kT0;
  if (!ReadDatasetEnv(dir, &p, &t0)) {
    std::fprintf(stderr, "ledger_bench --who: no dataset in %s (make one with --generate)\n", dir.c_str());
    return 2;
  }
  const auto o0 = Clk::now();
  auto opened = OpenDataset(dir, p);
  if (!opened.ok()) {
    std::fprintf(stderr, "ledger_bench --who: %s\n", opened.status().message().c_str());
    return 1;
  }
  std::printf("open seconds=%.3f records=%" PRIu64 "\n", std::chrono::duration<double>(Clk::now() - o0).count(),
              (*opened)->size());
  const int64_t from = t0 + from_day * kDayUs, to = t0 + (from_day + days) * kDayUs;
  for (int run = 1; run <= runs; ++run) {
    const double cpu0 = ProcessCpuSeconds();
    const auto q0 = Clk::now();
    auto who = (*opened)->Who(vendor, from, to);
    const double s = std::chrono::duration<double>(Clk::now() - q0).count();
    const double cpu_s = ProcessCpuSeconds() - cpu0;
    if (!who.ok()) {
      std::fprintf(stderr, "ledger_bench --who: %s\n", who.status().message().c_str());
      return 1;
    }
    const WhoChecksum c = Checksum(*who, from);
    std::printf("run=%d seconds=%.3f cpu_seconds=%.3f subjects=%" PRIu64 " records=%" PRIu64 " categories_sum=%" PRIu64
                " first_sum=%" PRId64 " last_sum=%" PRId64 "\n",
                run, s, cpu_s, c.subjects, c.records, c.categories_sum, c.first_sum, c.last_sum);
    std::fflush(stdout);
  }
  return 0;
}

// The dataset named by $VG_LEDGER_BENCH_DATA, opened once for every query benchmark.
struct OpenDatasetForBench {
  DatasetParams params;
  int64_t t0 = kT0;
  std::unique_ptr<Ledger> ledger;
  std::string error;  // why the query benchmarks skip
  uint64_t bytes = 0;
};
OpenDatasetForBench& BenchDataset() {
  static OpenDatasetForBench* d = [] {
    auto* d = new OpenDatasetForBench;
    const char* dir = std::getenv("VG_LEDGER_BENCH_DATA");
    if (dir == nullptr) {
      d->error = "set VG_LEDGER_BENCH_DATA to a dataset made by ledger_bench --generate DIR (see bench/README.md)";
      return d;
    }
    if (!ReadDatasetEnv(dir, &d->params, &d->t0)) {
      d->error = std::string("no dataset.env in ") + dir + " (make one with ledger_bench --generate)";
      return d;
    }
    auto opened = OpenDataset(dir, d->params);
    if (!opened.ok()) {
      d->error = opened.status().message();
      return d;
    }
    d->ledger = std::move(*opened);
    d->bytes = DirBytes(std::string(dir) + "/ledger");
    return d;
  }();
  return *d;
}

// The benchmark's CPU column is the main thread's; Who and Vendors also run on worker threads. This
// counter is the whole process's CPU time per query, in milliseconds.
void QueryCpuCounter(benchmark::State& state, double cpu0) {
  if (state.iterations() > 0) {
    state.counters["cpu_ms_per_query"] =
        (ProcessCpuSeconds() - cpu0) * 1e3 / static_cast<double>(state.iterations());
  }
}

void DatasetCounters(benchmark::State& state, const OpenDatasetForBench& d) {
  state.counters["dataset_records"] = static_cast<double>(d.params.records);
  state.counters["bytes_per_record"] = static_cast<double>(d.bytes) / static_cast<double>(d.params.records);
}

// Who for one vendor (vendor-3) over a window of state.range(0) days starting at day 30.
void BM_Who(benchmark::State& state) {
  OpenDatasetForBench& d = BenchDataset();
  if (!d.ledger) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  const int64_t from = d.t0 + 30 * kDayUs, to = from + state.range(0) * kDayUs;
  WhoChecksum c;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    auto who = d.ledger->Who("vendor-3", from, to);
    if (!who.ok()) {
      state.SkipWithError(who.status().message().c_str());
      return;
    }
    c = Checksum(*who, from);
  }
  QueryCpuCounter(state, cpu0);
  state.counters["subjects"] = static_cast<double>(c.subjects);
  state.counters["records"] = static_cast<double>(c.records);
  DatasetCounters(state, d);
}
BENCHMARK(BM_Who)->ArgName("days")->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();

// Subject for identifiers drawn from the pool (each one has records with several vendors).
void BM_Subject(benchmark::State& state) {
  OpenDatasetForBench& d = BenchDataset();
  if (!d.ledger) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  uint64_t rng = 11;
  uint64_t vendors = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    const std::string subject = "user-" + std::to_string(SplitMix(&rng) % d.params.subjects) + "@example.com";
    auto answer = d.ledger->Subject(subject);
    if (!answer.ok()) {
      state.SkipWithError(answer.status().message().c_str());
      return;
    }
    vendors += answer->vendors.size();
  }
  QueryCpuCounter(state, cpu0);
  state.SetItemsProcessed(state.iterations());
  state.counters["vendors_per_subject"] =
      static_cast<double>(vendors) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
  DatasetCounters(state, d);
}
BENCHMARK(BM_Subject)->Unit(benchmark::kMillisecond)->UseRealTime();

// Vendors over the last state.range(0) days of the dataset.
void BM_Vendors(benchmark::State& state) {
  OpenDatasetForBench& d = BenchDataset();
  if (!d.ledger) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  const int64_t since = d.t0 + (d.params.days - state.range(0)) * kDayUs;
  uint64_t counted = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    auto vendors = d.ledger->Vendors(since);
    if (!vendors.ok()) {
      state.SkipWithError(vendors.status().message().c_str());
      return;
    }
    counted = 0;
    for (const auto& v : *vendors) counted += v.counts.total();
  }
  QueryCpuCounter(state, cpu0);
  state.counters["records"] = static_cast<double>(counted);
  DatasetCounters(state, d);
}
BENCHMARK(BM_Vendors)->ArgName("days")->Arg(7)->Arg(90)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---------------------------------------------------------------------------------------------------------

// Returns the value after `flag` in argv, or nullptr.
const char* FlagValue(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (flag == argv[i]) return argv[i + 1];
  }
  return nullptr;
}

}  // namespace
}  // namespace vg::ledger

int main(int argc, char** argv) {
  using namespace vg::ledger;
  if (const char* dir = FlagValue(argc, argv, "--generate")) {
    DatasetParams p;
    if (const char* v = FlagValue(argc, argv, "--records")) p.records = std::strtoull(v, nullptr, 10);
    if (const char* v = FlagValue(argc, argv, "--days")) p.days = std::atoi(v);
    if (const char* v = FlagValue(argc, argv, "--vendors")) p.vendors = std::atoi(v);
    if (const char* v = FlagValue(argc, argv, "--subjects")) p.subjects = std::strtoull(v, nullptr, 10);
    if (const char* v = FlagValue(argc, argv, "--seed")) p.seed = std::strtoull(v, nullptr, 10);
    for (int i = 1; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--no-csv") p.csv = false;
    }
    return Generate(dir, p);
  }
  if (const char* dir = FlagValue(argc, argv, "--who")) {
    const char* vendor = FlagValue(argc, argv, "--vendor");
    const char* from_day = FlagValue(argc, argv, "--from-day");
    const char* days = FlagValue(argc, argv, "--days");
    const char* runs = FlagValue(argc, argv, "--runs");
    if (vendor == nullptr || from_day == nullptr || days == nullptr) {
      std::fprintf(stderr, "usage: ledger_bench --who DIR --vendor NAME --from-day D --days W [--runs N]\n");
      return 2;
    }
    return RunWho(dir, vendor, std::atoi(from_day), std::atoi(days), runs ? std::atoi(runs) : 3);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
