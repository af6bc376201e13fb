// spool_tool: the child process of the spool crash test, and a throughput benchmark.
//
//   spool_tool crash-writer DIR RUN
//     Opens the spool in DIR (vendors a and b, fsync always, 64 KiB segments) and appends units from 4
//     threads until killed; for each unit it prints "C <first_seq> <run> <thread> <n> <records>\n" to
//     stdout once the unit is durable. Records are self-describing (CrashPayload in spool_test_util.h),
//     so the test can check every record it finds byte for byte. A fifth thread reads vendor a and
//     acknowledges what it read, so cursor writes and segment deletions also get killed mid-way.
//
//   spool_tool bench [--dir D] [--threads 8] [--size 1024] [--seconds 3] [--window 64]
//                    [--fsync always|interval|never] [--vendors 1]
//     Appends `size`-byte records, one per unit, from `threads` threads that each keep `window` appends
//     in flight (as a gateway's io threads do with many concurrent requests), then reads them all back.
//     Prints appends/s, MB/s, records per fdatasync, commit latency percentiles and read throughput.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "spool/spool.h"
#include "spool_test_util.h"

namespace {

using namespace vg;
using Clock = std::chrono::steady_clock;

int CrashWriter(const std::string& dir, uint32_t run) {
  // stdout is the pipe of acknowledgements: logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("stderr"));
  SpoolOptions opt = CrashSpoolOptions(dir);
  auto spool_or = Spool::Open(opt);
  if (!spool_or.ok()) {
    std::fprintf(stderr, "crash-writer: open: %s\n", spool_or.status().message().c_str());
    return 2;
  }
  Spool& spool = **spool_or;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (uint32_t tid = 0; tid < 4; ++tid) {
    threads.emplace_back([&, tid] {
      std::mutex mu;
      std::condition_variable cv;
      int in_flight = 0;
      for (uint32_t n = 0; !stop; ++n) {
        uint32_t records = CrashUnitRecords(run, tid, n);
        std::vector<std::string> payloads, metas;
        std::vector<SpoolEntry> entries;
        for (uint32_t k = 0; k < records; ++k) {
          payloads.push_back(CrashPayload(run, tid, n, k));
          metas.push_back(CrashMeta(run, tid, n, k));
        }
        for (uint32_t k = 0; k < records; ++k) {
          entries.push_back({CrashVendor(tid, n, k), static_cast<uint8_t>(k), payloads[k], metas[k]});
        }
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return in_flight < 8; });
          ++in_flight;
        }
        Status s = spool.Append(entries, 1'700'000'000'000'000 + n, [&, tid, n, records](StatusOr<uint64_t> seq) {
          if (seq.ok()) {
            char line[128];
            int len = std::snprintf(line, sizeof line, "C %llu %u %u %u %u\n",
                                    static_cast<unsigned long long>(*seq), run, tid, n, records);
            // One write() of less than PIPE_BUF bytes: a line is never torn by the kill.
            if (::write(1, line, static_cast<size_t>(len)) != len) std::abort();
          } else {
            std::fprintf(stderr, "crash-writer: commit failed: %s\n", seq.status().message().c_str());
            std::abort();
          }
          std::lock_guard<std::mutex> lock(mu);
          --in_flight;
          cv.notify_all();
        });
        if (!s.ok()) {
          std::fprintf(stderr, "crash-writer: append: %s\n", s.message().c_str());
          std::abort();
        }
      }
    });
  }
  threads.emplace_back([&] {
    auto a = *spool.FindVendor("a");
    uint64_t after = 0;
    while (!stop) {
      auto batch = spool.Read(a, after, 64, 1 << 20);
      if (!batch.ok()) {
        std::fprintf(stderr, "crash-writer: read: %s\n", batch.status().message().c_str());
        std::abort();
      }
      if (batch->empty()) {
        std::this_thread::yield();
        continue;
      }
      after = batch->last_seq();
      if (Status s = spool.Ack(a, after); !s.ok()) {
        std::fprintf(stderr, "crash-writer: ack: %s\n", s.message().c_str());
        std::abort();
      }
    }
  });
  for (auto& t : threads) t.join();  // runs until killed
  return 0;
}

struct BenchArgs {
  std::string dir;
  int threads = 8;
  size_t size = 1024;
  double seconds = 3;
  int window = 64;
  int vendors = 1;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
};

int Bench(const BenchArgs& args) {
  std::string dir = args.dir.empty() ? (std::filesystem::temp_directory_path() /
                                        ("spool_bench_" + std::to_string(::getpid()))).string()
                                     : args.dir;
  std::filesystem::remove_all(dir);
  SpoolOptions opt;
  opt.dir = dir;
  for (int v = 0; v < args.vendors; ++v) opt.vendors.push_back("v" + std::to_string(v));
  opt.fsync = args.fsync;
  opt.quota_bytes = 0;
  opt.max_backlog_bytes = 256ull << 20;
  auto spool_or = Spool::Open(opt);
  if (!spool_or.ok()) {
    std::fprintf(stderr, "bench: %s\n", spool_or.status().message().c_str());
    return 2;
  }
  Spool& spool = **spool_or;
  std::string payload(args.size, 'x');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> committed{0};
  std::mutex lat_mu;
  std::vector<double> latencies_us;
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int t = 0; t < args.threads; ++t) {
    threads.emplace_back([&, t] {
      std::mutex mu;
      std::condition_variable cv;
      int in_flight = 0;
      std::vector<double> lat;
      uint64_t i = 0;
      while (!stop) {
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return in_flight < args.window; });
          ++in_flight;
        }
        SpoolEntry e{static_cast<SpoolVendorId>((t + i++) % args.vendors), 1, payload, {}};
        auto t0 = Clock::now();
        Status s = spool.Append(std::span<const SpoolEntry>(&e, 1), 0, [&, t0](StatusOr<uint64_t> r) {
          if (!r.ok()) std::abort();
          double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          committed.fetch_add(1, std::memory_order_relaxed);
          std::lock_guard<std::mutex> lock(mu);
          lat.push_back(us);
          --in_flight;
          cv.notify_all();
        });
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          --in_flight;
          std::this_thread::yield();
        }
      }
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight == 0; });
      std::lock_guard<std::mutex> l2(lat_mu);
      latencies_us.insert(latencies_us.end(), lat.begin(), lat.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  SpoolStats st = spool.Stats();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[static_cast<size_t>(p * (latencies_us.size() - 1))];
  };
  uint64_t n = committed.load();
  double rec_bytes = static_cast<double>(args.size + 32);
  std::printf("append: fsync=%s threads=%d window=%d size=%zu\n", std::string(FsyncPolicyName(args.fsync)).c_str(),
              args.threads, args.window, args.size);
  std::printf("  %llu records in %.2f s: %.0f appends/s, %.1f MB/s of payload (%.1f MB/s on disk)\n",
              static_cast<unsigned long long>(n), secs, n / secs, n * args.size / secs / 1e6,
              n * rec_bytes / secs / 1e6);
  std::printf("  fdatasyncs %llu, write groups %llu: %.1f records per fdatasync\n",
              static_cast<unsigned long long>(st.fsyncs), static_cast<unsigned long long>(st.write_batches),
              st.fsyncs ? static_cast<double>(n) / st.fsyncs : 0.0);
  std::printf("  commit latency us: p50 %.0f  p99 %.0f  max %.0f\n", pct(0.5), pct(0.99), pct(1.0));

  // Read back everything for vendor 0 as a sender thread does: first without acknowledging (the read
  // path alone), then again acknowledging each batch (each Ack rewrites the cursor file, synced under
  // fsync always, and deletes the segments nobody needs).
  {
    // Mixpanel-sized batches: 50 records, one Ack each (the cost of an Ack, mostly its cursor sync).
    const auto r0 = Clock::now();
    uint64_t acks = 0, after = 0;
    while (Clock::now() - r0 < std::chrono::seconds(2)) {
      auto batch = spool.Read(1 % args.vendors, after, 50, 1 << 20);
      if (!batch.ok() || batch->empty()) break;
      after = batch->last_seq();
      if (Status s = spool.Ack(1 % args.vendors, after); !s.ok()) return 2;
      ++acks;
    }
    double rsecs = std::chrono::duration<double>(Clock::now() - r0).count();
    std::printf("read+ack in batches of 50 (vendor v%d): %llu acks in %.2f s: %.0f acks/s, %.0f records/s\n",
                1 % args.vendors, static_cast<unsigned long long>(acks), rsecs, acks / rsecs, acks * 50 / rsecs);
  }
  for (bool ack : {false, true}) {
    const auto r0 = Clock::now();
    uint64_t read = 0, read_bytes = 0, after = 0, acks = 0;
    for (;;) {
      auto batch = spool.Read(0, after, 2000, 4 << 20);
      if (!batch.ok()) {
        std::fprintf(stderr, "bench: read: %s\n", batch.status().message().c_str());
        return 2;
      }
      if (batch->empty()) break;
      for (const auto& r : batch->records) read_bytes += r.payload.size();
      read += batch->records.size();
      after = batch->last_seq();
      if (ack) {
        if (Status s = spool.Ack(0, after); !s.ok()) return 2;
        ++acks;
      }
    }
    double rsecs = std::chrono::duration<double>(Clock::now() - r0).count();
    std::printf("%s (vendor v0, batches of 2000): %llu records in %.2f s: %.0f records/s, %.1f MB/s%s\n",
                ack ? "read+ack" : "read    ", static_cast<unsigned long long>(read), rsecs, read / rsecs,
                read_bytes / rsecs / 1e6,
                ack ? (", " + std::to_string(acks) + " acks").c_str() : "");
  }
  spool.Close();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[1]) == "crash-writer") {
    return CrashWriter(argv[2], static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)));
  }
  if (argc >= 2 && std::string(argv[1]) == "bench") {
    BenchArgs a;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string k = argv[i], v = argv[i + 1];
      if (k == "--dir") a.dir = v;
      else if (k == "--threads") a.threads = std::stoi(v);
      else if (k == "--size") a.size = std::stoul(v);
      else if (k == "--seconds") a.seconds = std::stod(v);
      else if (k == "--window") a.window = std::max(1, std::stoi(v));
      else if (k == "--vendors") a.vendors = std::max(1, std::stoi(v));
      else if (k == "--fsync") {
        auto p = ParseFsyncPolicy(v);
        if (!p.ok()) {
          std::fprintf(stderr, "%s\n", p.status().message().c_str());
          return 2;
        }
        a.fsync = *p;
      } else {
        std::fprintf(stderr, "unknown option %s\n", k.c_str());
        return 2;
      }
    }
    return Bench(a);
  }
  std::fprintf(stderr, "usage: spool_tool crash-writer DIR RUN | bench [--dir D] [--threads N] [--size B] "
                       "[--seconds S] [--window W] [--fsync always|interval|never] [--vendors V]\n");
  return 2;
}
