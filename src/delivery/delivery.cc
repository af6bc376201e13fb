#include "delivery/delivery.h"

#include <fcntl.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/function_ref.h"
#include "common/json_text.h"
#include "delivery/transport.h"
#include "common/thread_name.h"
#include "common/time_text.h"

namespace vg {

std::string_view VendorStateName(VendorState s) {
  switch (s) {
    case VendorState::kActive: return "active";
    case VendorState::kPaused: return "paused";
    case VendorState::kCut: return "cut";
  }
  return "active";
}

namespace {

int64_t NowS() { return SystemNowUs() / 1'000'000; }

std::optional<VendorState> ParseState(std::string_view s) {
  if (s == "active") return VendorState::kActive;
  if (s == "paused") return VendorState::kPaused;
  if (s == "cut") return VendorState::kCut;
  return std::nullopt;
}

std::optional<OutboundEndpoint> ParseEndpoint(std::string_view s) {
  if (s == "/track") return OutboundEndpoint::kTrack;
  if (s == "/import") return OutboundEndpoint::kImport;
  if (s == "/engage") return OutboundEndpoint::kEngage;
  if (s == "/groups") return OutboundEndpoint::kGroups;
  return std::nullopt;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// Lines in a file (0 when it does not exist).
uint64_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// Events per second over the last 10 whole seconds, from per-second buckets.
class RateWindow {
 public:
  void Add(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    Slot& s = Current(NowS());
    s.count += n;
  }
  double PerSecond() const {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowS();
    uint64_t sum = 0;
    for (const Slot& s : slots_) {
      if (s.second < now && s.second >= now - 10) sum += s.count;
    }
    return static_cast<double>(sum) / 10.0;
  }

 private:
  struct Slot {
    int64_t second = 0;
    uint64_t count = 0;
  };
  Slot& Current(int64_t now) {
    Slot& s = slots_[static_cast<size_t>(now % static_cast<int64_t>(slots_.size()))];
    if (s.second != now) s = {now, 0};
    return s;
  }
  mutable std::mutex mu_;
  std::array<Slot, 12> slots_{};
};

constexpr uint8_t kMetaVersion = 1;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// How many times one batch may be split to find the events a vendor refuses (each split costs one more
// request): enough to single out a few bad events among 2,000 (about 11 splits each).
constexpr int kMaxSplitsPerBatch = 32;

// A refusal that may be the fault of one event in the batch rather than of the whole request: 400, 413
// (too large), 422, or a 2xx whose body says Mixpanel refused it ({"status":0}). Not 401/403 (the
// credentials), 404 or 405 (the endpoint), which no smaller batch would change.
bool MayBeOneEventsFault(const SendOutcome& out) {
  return out.http_status == 400 || out.http_status == 413 || out.http_status == 422 ||
         (out.http_status >= 200 && out.http_status < 300);
}

}  // namespace

// Layout: u8 version (1), u32 key epoch, u32 categories, u16 subject length, subject, u8 insert_id
// length, insert_id; integers little-endian. The subject is cut to 65535 bytes and the insert_id to 255.
void AppendDisclosureMeta(const DisclosureMeta& m, std::string* out) {
  const std::string_view subject = m.subject.substr(0, 0xffff);
  const std::string_view insert_id = m.insert_id.substr(0, 0xff);
  out->push_back(static_cast<char>(kMetaVersion));
  PutU32(out, m.key_epoch);
  PutU32(out, m.categories);
  out->push_back(static_cast<char>(subject.size() & 0xff));
  out->push_back(static_cast<char>(subject.size() >> 8));
  out->append(subject);
  out->push_back(static_cast<char>(insert_id.size()));
  out->append(insert_id);
}

std::string EncodeDisclosureMeta(const DisclosureMeta& m) {
  std::string out;
  AppendDisclosureMeta(m, &out);
  return out;
}

bool DecodeDisclosureMeta(std::string_view b, DisclosureMeta* out) {
  if (b.size() < 12 || static_cast<uint8_t>(b[0]) != kMetaVersion) return false;
  DisclosureMeta m;
  m.key_epoch = GetU32(b.data() + 1);
  m.categories = GetU32(b.data() + 5);
  const size_t subject_len = static_cast<unsigned char>(b[9]) | static_cast<size_t>(static_cast<unsigned char>(b[10])) << 8;
  if (b.size() < 11 + subject_len + 1) return false;
  m.subject = b.substr(11, subject_len);
  const size_t id_len = static_cast<unsigned char>(b[11 + subject_len]);
  if (b.size() != 12 + subject_len + id_len) return false;
  m.insert_id = b.substr(12 + subject_len, id_len);
  *out = m;
  return true;
}

// The threads that send one vendor's requests: its sender thread and a helper for each connection after
// the first. Run() hands out a round of jobs, each to the next free thread, which passes its connection's
// index (the sender's is 0), and returns when all are done.
class SenderCrew {
 public:
  SenderCrew(size_t helpers, const std::string& name) {
    for (size_t c = 1; c <= helpers; ++c) {
      threads_.emplace_back([this, c] { Loop(c); });
      SetThreadName(threads_.back(), name);
    }
  }
  ~SenderCrew() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void Run(size_t jobs, FunctionRef<void(size_t job, size_t connection)> fn) {
    if (jobs == 0) return;
    if (jobs == 1 || threads_.empty()) {  // nothing to share
      for (size_t j = 0; j < jobs; ++j) fn(j, 0);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      jobs_ = jobs;
      next_ = 0;
      busy_ = threads_.size();
      ++round_;
    }
    start_.notify_all();
    Work(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return busy_ == 0; });
    fn_ = nullptr;
  }

 private:
  void Work(size_t connection) {
    for (size_t j; (j = next_.fetch_add(1)) < jobs_;) (*fn_)(j, connection);
  }
  void Loop(size_t connection) {
    uint64_t seen = 0;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        start_.wait(lock, [&] { return stop_ || round_ != seen; });
        if (stop_) return;
        seen = round_;
      }
      Work(connection);
      std::lock_guard<std::mutex> lock(mu_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

  std::mutex mu_;
  std::condition_variable start_, done_;
  // A round: Run sets these under mu_; the helpers read them after seeing round_ change under mu_.
  uint64_t round_ = 0;
  size_t jobs_ = 0;
  const FunctionRef<void(size_t, size_t)>* fn_ = nullptr;
  std::atomic<size_t> next_{0};  // the next job to claim, without the lock
  size_t busy_ = 0;              // helpers not done with the round (mu_)
  bool stop_ = false;            // (mu_)
  std::vector<std::thread> threads_;
};

struct VendorRuntimeState {
  std::string name;
  SpoolVendorId id = 0;
  std::vector<std::unique_ptr<Transport>> transports;  // one a connection (VendorConfig::connections)
  std::unique_ptr<SenderCrew> crew;
  std::chrono::milliseconds linger{0};
  size_t batch_max_events = 1;  // per request to the vendor (VendorConfig)
  size_t batch_max_bytes = 0;   // of the JSON array the events make, before gzip
  std::atomic<VendorState> state{VendorState::kActive};
  std::atomic<bool> abort{false};  // ends an in-flight request (cut, or pause)
  std::atomic<uint64_t> accepted{0}, delivered{0}, retries{0}, splits{0}, dead_lettered{0}, discarded{0};
  std::atomic<uint64_t> dead_letters_in_file{0};  // lines in the dead-letter file now
  std::atomic<uint32_t> in_flight{0};  // requests sent and not yet answered
  // No request before this steady-clock time (its ticks): the latest Retry-After on any connection.
  std::atomic<std::chrono::steady_clock::rep> not_before{0};
  RateWindow accepted_rate, delivered_rate;
  mutable std::mutex mu;  // last_error*, and the dead-letter file
  std::string last_error;
  int64_t last_error_at = 0;
  std::string dead_letter_path;
  std::mutex discard_mu;  // one Spool::Discard of this vendor at a time (Cut's and the sender's)
  // Spool sequence ranges [first, last] past the acknowledged cursor that were delivered or dead-lettered
  // and recorded while an earlier request was interrupted (pause, cut, shutdown): the sender skips them
  // rather than sending them again, and a cut does not record them as cut. In memory: after a restart
  // they are sent and recorded again (at least once). Written by the sender under discard_mu.
  std::vector<std::pair<uint64_t, uint64_t>> settled_ahead;
  std::thread thread;
};

class Delivery::Impl {
 public:
  Impl(const Config& config, const DeliveryOptions& options) : config_(config), options_(options) {
    if (!options_.now_us) options_.now_us = SystemNowUs;
  }

  int64_t Now() const { return options_.now_us(); }

  Status Start() {
    std::vector<std::string> names;
    for (const VendorConfig& v : config_.vendors) names.push_back(v.name);
    SpoolOptions so;
    so.dir = (std::filesystem::path(config_.data_dir) / "spool").string();
    so.vendors = names;
    so.fsync = options_.fsync;
    so.quota_bytes = options_.spool_quota_bytes;
    so.segment_bytes = options_.spool_segment_bytes;
    so.on_orphaned = [](const DiscardedRecord& r) {
      spdlog::warn("spool: event {} for vendor '{}' (no longer configured) discarded", r.seq, r.vendor);
    };
    auto spool = Spool::Open(std::move(so));
    if (!spool.ok()) return spool.status();
    spool_ = std::move(*spool);
    for (const auto& t : spool_->open_report().truncations) {
      spdlog::warn("spool: torn tail of {} cut at {} ({} bytes): {}", t.segment, t.offset, t.bytes_cut, t.reason);
    }

    state_path_ = (std::filesystem::path(config_.data_dir) / "vendor-state.json").string();
    std::map<std::string, VendorState> saved;
    if (Status s = LoadStates(&saved); !s.ok()) return s;

    const std::string dl_dir = (std::filesystem::path(config_.data_dir) / "deadletter").string();
    std::error_code ec;
    std::filesystem::create_directories(dl_dir, ec);
    if (ec) return Status::IOError(dl_dir + ": " + ec.message());

    for (size_t i = 0; i < config_.vendors.size(); ++i) {
      const VendorConfig& vc = config_.vendors[i];
      auto v = std::make_unique<VendorRuntimeState>();
      v->name = vc.name;
      v->id = static_cast<SpoolVendorId>(i);
      v->linger = std::chrono::milliseconds(vc.linger_ms);
      v->batch_max_events = vc.batch_max_events;
      v->batch_max_bytes = vc.batch_max_bytes;
      // Shadow mode appends to one file: one connection.
      const size_t connections = vc.endpoint ? std::max<size_t>(1, vc.connections) : 1;
      for (size_t c = 0; c < connections; ++c) {
        auto transport = vc.endpoint ? MakeHttpTransport(vc, options_.request_timeout)
                                     : MakeShadowTransport(config_.data_dir, vc.name);
        if (!transport.ok()) return transport.status();
        v->transports.push_back(std::move(*transport));
      }
      v->crew = std::make_unique<SenderCrew>(connections - 1, "vg-send:" + vc.name);
      if (auto it = saved.find(vc.name); it != saved.end()) v->state = it->second;
      v->dead_letter_path = dl_dir + "/" + vc.name + ".jsonl";
      v->dead_letters_in_file = CountLines(v->dead_letter_path);
      if (v->state != VendorState::kActive) {
        spdlog::warn("vendor {}: {} (kept from before the restart)", vc.name, VendorStateName(v->state));
      }
      vendors_.push_back(std::move(v));
    }
    for (auto& v : vendors_) {
      VendorRuntimeState* vp = v.get();
      vp->thread = std::thread([this, vp] { RunSender(*vp); });
      SetThreadName(vp->thread, "vg-send:" + vp->name);
    }
    return Status::Ok();
  }

  ~Impl() { Shutdown(std::chrono::milliseconds(0)); }

  VendorRuntimeState* Find(std::string_view name) const {
    for (const auto& v : vendors_) {
      if (v->name == name) return v.get();
    }
    return nullptr;
  }

  Status UnknownVendor(std::string_view name) const {
    std::string known;
    for (const auto& v : vendors_) known += (known.empty() ? "" : ", ") + v->name;
    return Status::NotFound("unknown vendor '" + std::string(name) + "' (configured: " + known + ")");
  }

  Status Submit(std::span<const SpoolEntry> entries, CommitCallback done) {
    if (stopping_.load()) return Status::Unavailable("shutting down");
    std::vector<std::pair<SpoolVendorId, uint32_t>> counts;
    for (const SpoolEntry& e : entries) {
      if (counts.empty() || counts.back().first != e.vendor) {
        counts.emplace_back(e.vendor, 0);
      }
      ++counts.back().second;
    }
    return spool_->Append(entries, Now(), [this, counts = std::move(counts), done = std::move(done)](
                                                StatusOr<uint64_t> first_seq) {
      if (first_seq.ok()) {
        for (auto [vendor, n] : counts) {
          if (vendor < vendors_.size()) {
            vendors_[vendor]->accepted += n;
            vendors_[vendor]->accepted_rate.Add(n);
          }
        }
        {
          std::lock_guard<std::mutex> lock(wake_mu_);
          ++generation_;
        }
        wake_.notify_all();
      }
      done(std::move(first_seq));
    });
  }

  Status SetState(std::string_view name, VendorState to, VendorState* from) {
    std::lock_guard<std::mutex> lock(state_mu_);
    VendorRuntimeState* v = Find(name);
    if (v == nullptr) return UnknownVendor(name);
    *from = v->state.load();
    if (*from == to) {
      return Status::FailedPrecondition("vendor '" + v->name + "' is already " + std::string(VendorStateName(to)));
    }
    v->state = to;
    if (Status s = SaveStates(); !s.ok()) {
      v->state = *from;
      return s;
    }
    if (to != VendorState::kActive) v->abort = true;
    {
      std::lock_guard<std::mutex> wl(wake_mu_);
      ++generation_;
    }
    wake_.notify_all();
    return Status::Ok();
  }

  // Called with v.discard_mu held. Each discarded event is recorded with outcome cut, but those already
  // settled (settled_ahead), which are neither counted nor recorded again.
  StatusOr<uint64_t> DiscardPending(VendorRuntimeState& v) {
    std::vector<std::string> metas;
    uint64_t settled = 0;
    auto n = spool_->Discard(v.id, [&](const DiscardedRecord& r) {
      if (!v.settled_ahead.empty() && Settled(v.settled_ahead, r.seq)) {
        ++settled;
      } else if (options_.recorder != nullptr) {
        metas.emplace_back(r.meta);
      }
    });
    if (!n.ok()) return n;
    v.settled_ahead.clear();
    *n -= settled;
    v.discarded += *n;
    if (options_.recorder != nullptr && !metas.empty()) {
      const int64_t now = Now();
      constexpr size_t kChunk = 10'000;
      std::vector<DisclosureEvent> events;
      for (size_t i = 0; i < metas.size(); i += kChunk) {
        events.clear();
        for (size_t k = i; k < std::min(metas.size(), i + kChunk); ++k) {
          events.push_back({now, v.id, DisclosureOutcome::kCut, metas[k], {}});
        }
        Status s = options_.recorder->RecordDisclosures(events);
        for (int attempt = 1; !s.ok() && attempt < 3; ++attempt) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          s = options_.recorder->RecordDisclosures(events);
        }
        if (!s.ok()) {
          spdlog::critical("vendor {}: {} events discarded by the cut could not be recorded in the ledger: {}", v.name,
                           metas.size() - i, s.message());
          break;
        }
      }
    }
    return n;
  }

  void RecordAdmin(VendorRuntimeState& v, AdminActionKind action, std::string_view actor, const std::string& detail) {
    if (options_.recorder == nullptr) return;
    AdminEvent e{Now(), action, v.id, actor, detail};
    if (Status s = options_.recorder->RecordAdmin(e); !s.ok()) {
      spdlog::critical("vendor {}: the admin action '{}' could not be recorded in the ledger: {}", v.name, detail,
                       s.message());
    }
  }

  // Records the fates of a read batch's events before they are acknowledged; retries until it works or
  // the sender must stop (then nothing is acknowledged: the events are sent and recorded again later).
  bool RecordDisclosures(VendorRuntimeState& v, std::span<const DisclosureEvent> events) {
    if (options_.recorder == nullptr || events.empty()) return true;
    for (int attempt = 0;; ++attempt) {
      Status s = options_.recorder->RecordDisclosures(events);
      if (s.ok()) return true;
      spdlog::error("vendor {}: recording {} disclosures in the ledger failed (acknowledgement held): {}", v.name,
                    events.size(), s.message());
      RecordError(v, "ledger: " + s.message());
      if (stopping_.load()) return false;
      uint64_t g;
      {
        std::lock_guard<std::mutex> lock(wake_mu_);
        g = generation_;
      }
      WaitForWork(g, std::chrono::steady_clock::now() + std::chrono::milliseconds(std::min(5000, 200 << std::min(attempt, 5))));
    }
  }

  // ---- Sender ---------------------------------------------------------------------------------------

  void RecordError(VendorRuntimeState& v, const std::string& reason) {
    std::lock_guard<std::mutex> lock(v.mu);
    v.last_error = reason;
    v.last_error_at = NowS();
  }

  // Waits until something may have changed for `v` (a commit, a state change, shutdown) or `until`.
  void WaitForWork(uint64_t seen_generation, std::chrono::steady_clock::time_point until) {
    std::unique_lock<std::mutex> lock(wake_mu_);
    wake_.wait_until(lock, until, [&] { return generation_ != seen_generation; });
  }

  bool Stop() const { return stopping_.load() && std::chrono::steady_clock::now() >= deadline_.load(); }

  // The records of one spool read, cut into requests: `ranges` in sequence order, each [from, to) of
  // `records`; `jobs` lists which ranges each job sends, in order. A job is one range of /track or
  // /import, or all the /engage and /groups ranges together (their order matters), or a range already
  // settled before (VendorRuntimeState::settled_ahead), which nothing sends.
  struct ReadPlan {
    std::vector<std::pair<size_t, size_t>> ranges;
    std::vector<bool> presettled;
    std::vector<std::vector<size_t>> jobs;
  };

  static bool Settled(const std::vector<std::pair<uint64_t, uint64_t>>& ahead, uint64_t seq) {
    for (const auto& [first, last] : ahead) {
      if (seq >= first && seq <= last) return true;
    }
    return false;
  }

  ReadPlan PlanRequests(VendorRuntimeState& v, const std::vector<SpoolRecordView>& records) const {
    std::vector<std::pair<uint64_t, uint64_t>> settled;
    {
      std::lock_guard<std::mutex> lock(v.discard_mu);
      settled = v.settled_ahead;
    }
    ReadPlan plan;
    size_t ordered_job = SIZE_MAX;  // the job of the /engage and /groups ranges
    for (size_t i = 0; i < records.size();) {
      size_t j = i + 1;
      if (Settled(settled, records[i].seq)) {
        while (j < records.size() && Settled(settled, records[j].seq)) ++j;
        plan.ranges.emplace_back(i, j);
        plan.presettled.push_back(true);
        plan.jobs.push_back({plan.ranges.size() - 1});
        i = j;
        continue;
      }
      // One request: consecutive events of one endpoint, within the vendor's limits on events and on the
      // bytes of the JSON array they make ('[', the events, a ',' between each two, ']'); at least one
      // event, however large.
      const uint8_t kind = records[i].kind;
      size_t body_bytes = 2 + records[i].payload.size();
      while (j < records.size() && records[j].kind == kind && j - i < v.batch_max_events &&
             body_bytes + 1 + records[j].payload.size() <= v.batch_max_bytes &&
             !Settled(settled, records[j].seq)) {
        body_bytes += 1 + records[j].payload.size();
        ++j;
      }
      plan.ranges.emplace_back(i, j);
      plan.presettled.push_back(false);
      const auto endpoint = static_cast<OutboundEndpoint>(kind <= 3 ? kind : 0);
      if (endpoint == OutboundEndpoint::kEngage || endpoint == OutboundEndpoint::kGroups) {
        if (ordered_job == SIZE_MAX) {
          ordered_job = plan.jobs.size();
          plan.jobs.emplace_back();
        }
        plan.jobs[ordered_job].push_back(plan.ranges.size() - 1);
      } else {
        plan.jobs.push_back({plan.ranges.size() - 1});
      }
      i = j;
    }
    return plan;
  }

  void RunSender(VendorRuntimeState& v) {
    std::vector<std::mt19937_64> rngs;
    for (size_t c = 0; c < v.transports.size(); ++c) rngs.emplace_back(std::random_device{}());
    uint64_t after = 0;  // records up to here are acknowledged (or being skipped)
    bool was_idle = false;  // the last read found nothing: what wakes us is the first of a burst
    while (true) {
      uint64_t generation;
      {
        std::lock_guard<std::mutex> lock(wake_mu_);
        generation = generation_;
      }
      if (Stop()) break;
      const VendorState state = v.state.load();
      if (state == VendorState::kCut) {
        // Anything committed for it since the cut is dropped too.
        std::lock_guard<std::mutex> discard_lock(v.discard_mu);
        if (auto n = DiscardPending(v); n.ok() && *n > 0) {
          spdlog::warn("vendor {}: cut: {} queued events discarded", v.name, *n);
        }
      }
      if (state != VendorState::kActive) {
        if (stopping_.load()) break;
        WaitForWork(generation, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
        continue;
      }
      v.abort = false;
      if (was_idle && v.linger.count() > 0 && !stopping_.load()) {
        // Let the burst that woke us gather (see VendorConfig::linger_ms). A plain sleep: commits would
        // wake a condition-variable wait on every one of them. Pause, cut and shutdown are looked at
        // right after, and an in-flight request has not started yet.
        std::this_thread::sleep_for(v.linger);
      }
      was_idle = false;
      // Enough for a request on every connection, and at least 2,000 events: with small batches one read
      // (one ledger write, one cursor sync) still covers many requests.
      const size_t read_max = std::max<size_t>(2000, v.batch_max_events * v.transports.size());
      auto batch = spool_->Read(v.id, after, read_max, 16u << 20);
      if (!batch.ok()) {
        spdlog::error("vendor {}: reading the spool failed: {}", v.name, batch.status().message());
        RecordError(v, batch.status().message());
        WaitForWork(generation, std::chrono::steady_clock::now() + std::chrono::seconds(1));
        continue;
      }
      if (batch->empty()) {
        if (stopping_.load()) break;
        WaitForWork(generation, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
        was_idle = true;
        continue;
      }
      const auto& records = batch->records;
      const ReadPlan plan = PlanRequests(v, records);
      // What each range came to: records [from, settled_to) are delivered or dead-lettered (a split range
      // settles its halves in order), with their fates in `noted`; the rest were interrupted.
      std::vector<size_t> settled_to(plan.ranges.size());
      std::vector<std::vector<DisclosureEvent>> noted(plan.ranges.size());
      for (size_t r = 0; r < plan.ranges.size(); ++r) {
        settled_to[r] = plan.presettled[r] ? plan.ranges[r].second : plan.ranges[r].first;
      }
      std::atomic<bool> round_interrupted{false};
      std::vector<std::pair<uint64_t, uint64_t>> settled_now;  // what this round added to settled_ahead
      v.crew->Run(plan.jobs.size(), [&](size_t job, size_t connection) {
        for (size_t r : plan.jobs[job]) {
          if (plan.presettled[r]) continue;
          if (round_interrupted.load()) return;
          const auto [from, to] = plan.ranges[r];
          settled_to[r] = SendRange(v, *v.transports[connection], rngs[connection], records, from, to, generation,
                                    &noted[r]);
          if (settled_to[r] > from) {
            // Settled at once, before this round is acknowledged: a cut meanwhile does not count them.
            std::lock_guard<std::mutex> lock(v.discard_mu);
            v.settled_ahead.emplace_back(records[from].seq, records[settled_to[r] - 1].seq);
            settled_now.push_back(v.settled_ahead.back());
          }
          if (settled_to[r] < to) {
            round_interrupted = true;  // the others start nothing new
            return;
          }
        }
      });

      // Record every settled event's fate, then acknowledge the settled prefix. Ranges settled after an
      // interrupted one stay in settled_ahead until the cursor passes them.
      uint64_t done_seq = after;
      bool gap = false;
      std::vector<DisclosureEvent> disclosures;
      for (size_t r = 0; r < plan.ranges.size(); ++r) {
        const auto [from, to] = plan.ranges[r];
        if (!gap && settled_to[r] > from) done_seq = records[settled_to[r] - 1].seq;
        if (settled_to[r] < to) gap = true;
        disclosures.insert(disclosures.end(), noted[r].begin(), noted[r].end());
      }
      if (settled_now.empty() && done_seq == after) continue;  // interrupted before anything settled
      // When the round cannot be recorded, nothing of it counts as settled: it is sent again.
      auto forget_round = [&] {
        std::lock_guard<std::mutex> lock(v.discard_mu);
        std::erase_if(v.settled_ahead, [&](const auto& range) {
          return std::find(settled_now.begin(), settled_now.end(), range) != settled_now.end();
        });
      };
      if (Status f = FlushAll(v); !f.ok()) {
        // Not durable at the destination: acknowledge nothing, send again (at least once).
        spdlog::error("vendor {}: {}", v.name, f.message());
        RecordError(v, f.message());
        forget_round();
        WaitForWork(generation, std::chrono::steady_clock::now() + std::chrono::seconds(1));
        continue;
      }
      if (!RecordDisclosures(v, disclosures)) {
        forget_round();
        continue;
      }
      if (done_seq > after) {
        if (Status s = spool_->Ack(v.id, done_seq); !s.ok()) {
          spdlog::error("vendor {}: acknowledging in the spool failed: {}", v.name, s.message());
        }
        after = done_seq;
      }
      std::lock_guard<std::mutex> lock(v.discard_mu);
      std::erase_if(v.settled_ahead, [&](const auto& range) { return range.second <= after; });
    }
  }

  // Sleeps until `until` (or the shutdown deadline), waking early for a state change; the generation moves
  // on commits too, so it re-checks in a loop. False when it stopped early: the vendor is no longer
  // active, or the deadline passed.
  bool SleepWhileActive(VendorRuntimeState& v, std::chrono::steady_clock::time_point until) {
    until = std::min(until, deadline_.load());
    while (std::chrono::steady_clock::now() < until) {
      if (v.state.load() != VendorState::kActive || Stop()) return false;
      uint64_t g;
      {
        std::lock_guard<std::mutex> lock(wake_mu_);
        g = generation_;
      }
      WaitForWork(g, until);
    }
    return v.state.load() == VendorState::kActive && !Stop();
  }

  Status FlushAll(VendorRuntimeState& v) {
    for (auto& t : v.transports) {
      if (Status f = t->Flush(); !f.ok()) return f;
    }
    return Status::Ok();
  }

  // Sends records [from, to) as one request through `transport`, retrying as the answer asks, and
  // settles them (Settle). A refusal that may be one event's fault (MayBeOneEventsFault) splits the
  // range in halves, so a bad event is dead-lettered alone and its neighbours are delivered; at most
  // kMaxSplitsPerBatch times, so a vendor that refuses everything costs a bounded number of requests.
  // Returns where the settled records end: `to`, or less when interrupted (pause, cut, shutdown, dead
  // letters that cannot be written), the halves done before being settled.
  size_t SendRange(VendorRuntimeState& v, Transport& transport, std::mt19937_64& rng,
                   const std::vector<SpoolRecordView>& records, size_t from_record, size_t to_record,
                   uint64_t generation, std::vector<DisclosureEvent>* disclosures) {
    const uint8_t kind = records[from_record].kind;
    const auto endpoint = static_cast<OutboundEndpoint>(kind <= 3 ? kind : 0);
    // The ranges still to send, the next one last.
    std::vector<std::pair<size_t, size_t>> ranges{{from_record, to_record}};
    size_t settled_to = from_record;
    int splits_left = kMaxSplitsPerBatch;
    std::vector<std::string_view> views;
    while (!ranges.empty()) {
      const auto [from, to] = ranges.back();
      ranges.pop_back();
      views.clear();
      for (size_t k = from; k < to; ++k) views.push_back(records[k].payload);
      bool split = false;
      int attempt = 0;
      while (true) {
        if (v.state.load() != VendorState::kActive || Stop()) return settled_to;
        // A Retry-After the vendor gave on any connection holds them all.
        if (!SleepWhileActive(v, std::chrono::steady_clock::time_point(
                                     std::chrono::steady_clock::duration(v.not_before.load())))) {
          return settled_to;
        }
        const int64_t attempt_at = Now();  // the disclosure's time: when the accepted attempt began
        ++v.in_flight;
        SendOutcome out = transport.Send(endpoint, views, v.abort);
        --v.in_flight;
        // The vendor's answer settles the range unless it is to be retried or split: every event is
        // delivered, or dead-lettered with the vendor's reason (all of them, or those it names).
        std::vector<std::pair<size_t, std::string_view>> refused;
        if (out.kind == SendOutcome::Kind::kPartlyRejected) {
          spdlog::error("vendor {}: {} refused {} of a batch of {} events (the others were taken): {}", v.name,
                        OutboundPath(endpoint), out.refused.size(), views.size(), out.refused[0].second);
          for (const auto& [pos, why] : out.refused) refused.emplace_back(from + pos, why);
        } else if (out.kind == SendOutcome::Kind::kRejected) {
          if (to - from > 1 && splits_left > 0 && MayBeOneEventsFault(out)) {
            spdlog::warn("vendor {}: {} refused a batch of {} events ({}); sending it in halves to find the "
                         "events refused", v.name, OutboundPath(endpoint), views.size(), out.reason);
            RecordError(v, out.reason);
            --splits_left;
            ++v.splits;
            const size_t mid = from + (to - from) / 2;
            ranges.push_back({mid, to});
            ranges.push_back({from, mid});
            split = true;
            break;
          }
          spdlog::error("vendor {}: {} refused a batch of {} events: {}", v.name, OutboundPath(endpoint),
                        views.size(), out.reason);
          for (size_t k = from; k < to; ++k) refused.emplace_back(k, out.reason);
        }
        if (out.kind != SendOutcome::Kind::kRetry) {
          if (!refused.empty()) RecordError(v, out.reason);
          if (Status s = Settle(v, endpoint, records, from, to, refused, out.http_status, attempt_at, disclosures);
              !s.ok()) {
            // Nothing may be lost: keep the range pending and try again later.
            spdlog::critical("vendor {}: cannot write dead letters: {}", v.name, s.message());
            WaitForWork(generation, std::chrono::steady_clock::now() + std::chrono::seconds(1));
            return settled_to;
          }
          break;
        }
        // An aborted request (a pause or cut, even one already resumed; the shutdown deadline): back to the
        // sender's loop, which looks at the state and clears the abort.
        if (v.abort.load() || v.state.load() != VendorState::kActive) return settled_to;
        // Retry with exponential backoff and full jitter; Retry-After is honoured up to a bound, so a
        // vendor cannot stall delivery for days.
        ++v.retries;
        ++attempt;
        RecordError(v, out.reason);
        const int64_t cap = std::min<int64_t>(options_.max_backoff.count(), int64_t{100} << std::min(attempt, 12));
        std::uniform_int_distribution<int64_t> jitter(0, cap);
        const int64_t retry_after_ms =
            std::clamp<int64_t>(out.retry_after_s, 0, options_.max_retry_after.count()) * 1000;
        auto wait = std::chrono::milliseconds(std::max(jitter(rng), retry_after_ms));
        spdlog::warn("vendor {}: {} failed ({}), retry {} in {} ms", v.name, OutboundPath(endpoint), out.reason,
                     attempt, wait.count());
        const auto now = std::chrono::steady_clock::now();
        if (retry_after_ms > 0) {  // move the vendor's not-before time forward, never back
          const auto until = (now + std::chrono::milliseconds(retry_after_ms)).time_since_epoch().count();
          auto seen = v.not_before.load();
          while (seen < until && !v.not_before.compare_exchange_weak(seen, until)) {
          }
        }
        if (!SleepWhileActive(v, now + wait) && stopping_.load() && Stop()) return settled_to;
      }
      // Halves go in order: when one is done, so is everything before it.
      if (!split) settled_to = to;
    }
    return settled_to;
  }

  void NoteDisclosures(const VendorRuntimeState& v, const std::vector<SpoolRecordView>& records, size_t from, size_t to,
                       DisclosureOutcome outcome, int64_t at, std::vector<DisclosureEvent>* out) const {
    if (options_.recorder == nullptr) return;
    for (size_t k = from; k < to; ++k) out->push_back({at, v.id, outcome, records[k].meta, records[k].payload});
  }

  // Settles records [from, to) after the vendor's answer: writes the dead letters of `refused` (records
  // indices, ascending, with the vendor's reasons), then notes every event's fate (the refused dead-lettered,
  // the others delivered) and counts them. When the dead letters cannot be written nothing is noted: the
  // range stays pending.
  Status Settle(VendorRuntimeState& v, OutboundEndpoint endpoint, const std::vector<SpoolRecordView>& records,
                size_t from, size_t to, std::span<const std::pair<size_t, std::string_view>> refused, int http_status,
                int64_t at, std::vector<DisclosureEvent>* disclosures) {
    if (!refused.empty()) {
      if (Status s = WriteDeadLetters(v, endpoint, records, refused, http_status); !s.ok()) return s;
    }
    size_t next = 0;  // in refused
    for (size_t k = from; k < to; ++k) {
      const bool dead = next < refused.size() && refused[next].first == k;
      next += dead ? 1 : 0;
      NoteDisclosures(v, records, k, k + 1, dead ? DisclosureOutcome::kDeadLettered : DisclosureOutcome::kDelivered,
                      at, disclosures);
    }
    const size_t delivered = (to - from) - refused.size();
    v.dead_lettered += refused.size();
    v.delivered += delivered;
    if (delivered > 0) v.delivered_rate.Add(delivered);
    return Status::Ok();
  }

  // One line for each refused record (`records` index, the vendor's reason), appended and synced at once.
  Status WriteDeadLetters(VendorRuntimeState& v, OutboundEndpoint endpoint, const std::vector<SpoolRecordView>& records,
                          std::span<const std::pair<size_t, std::string_view>> refused, int http_status) {
    std::string lines;
    const int64_t now = Now() / 1'000'000;
    for (const auto& [k, reason] : refused) {
      lines += "{\"seq\":" + std::to_string(records[k].seq) + ",\"endpoint\":\"" + std::string(OutboundPath(endpoint)) +
               "\",\"http_status\":" + std::to_string(http_status) + ",\"reason\":";
      AppendJsonStringLossy(&lines, reason);
      lines += ",\"at\":" + std::to_string(now) + ",\"meta\":\"" + Hex(records[k].meta) + "\",\"data\":";
      lines.append(records[k].payload);
      lines += "}\n";
    }
    std::lock_guard<std::mutex> lock(v.mu);
    int fd = ::open(v.dead_letter_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError(v.dead_letter_path + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < lines.size()) {
      ssize_t n = ::write(fd, lines.data() + done, lines.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return Status::IOError(v.dead_letter_path + ": write failed: " + std::strerror(errno));
      }
      done += static_cast<size_t>(n);
    }
    const bool synced = ::fdatasync(fd) == 0;
    ::close(fd);
    if (!synced) return Status::IOError(v.dead_letter_path + ": sync failed");
    v.dead_letters_in_file += refused.size();
    return Status::Ok();
  }

  // ---- Dead letters ---------------------------------------------------------------------------------

  StatusOr<std::vector<DeadLetter>> ReadDeadLetters(VendorRuntimeState& v, bool with_data) const {
    std::vector<DeadLetter> out;
    std::ifstream in(v.dead_letter_path, std::ios::binary);
    if (!in) return out;  // none yet
    std::string line;
    simdjson::dom::parser parser;
    size_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.empty()) continue;
      simdjson::dom::element doc;
      if (parser.parse(line).get(doc) != simdjson::SUCCESS) {
        return Status::IOError(v.dead_letter_path + ":" + std::to_string(line_no) + ": not a JSON line");
      }
      DeadLetter d;
      uint64_t seq = 0;
      int64_t status = 0, at = 0;
      std::string_view endpoint, reason;
      simdjson::dom::element data;
      if (doc["seq"].get(seq) || doc["endpoint"].get(endpoint) || doc["http_status"].get(status) ||
          doc["reason"].get(reason) || doc["at"].get(at) || doc["data"].get(data)) {
        return Status::IOError(v.dead_letter_path + ":" + std::to_string(line_no) + ": missing fields");
      }
      d.seq = seq;
      d.endpoint = endpoint;
      d.http_status = static_cast<int>(status);
      d.reason = reason;
      d.at_unix_s = at;
      if (with_data) {
        d.data = simdjson::minify(data);
        std::string_view meta_hex;
        if (doc["meta"].get(meta_hex) == simdjson::SUCCESS) {  // absent in files written before the ledger
          auto meta = Unhex(meta_hex);
          if (!meta) return Status::IOError(v.dead_letter_path + ":" + std::to_string(line_no) + ": bad meta");
          d.meta = std::move(*meta);
        }
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  StatusOr<uint64_t> Redrive(VendorRuntimeState& v) {
    std::lock_guard<std::mutex> redrive_lock(redrive_mu_);
    auto letters = [&] {
      std::lock_guard<std::mutex> lock(v.mu);
      return ReadDeadLetters(v, true);
    }();
    if (!letters.ok()) return letters.status();
    if (letters->empty()) return uint64_t{0};
    std::vector<SpoolEntry> entries;
    for (const DeadLetter& d : *letters) {
      auto endpoint = ParseEndpoint(d.endpoint);
      if (!endpoint) return Status::IOError(v.dead_letter_path + ": unknown endpoint " + d.endpoint);
      entries.push_back({v.id, static_cast<uint8_t>(*endpoint), d.data, d.meta});
    }
    // In units the spool accepts (it caps a unit's size by its segment size).
    constexpr size_t kPerUnit = 1000;
    for (size_t i = 0; i < entries.size(); i += kPerUnit) {
      std::span<const SpoolEntry> unit(entries.data() + i, std::min(kPerUnit, entries.size() - i));
      auto seq = spool_->AppendSync(unit, Now());
      if (!seq.ok()) return seq.status().WithPrefix("redrive");
    }
    // The events are back in the spool: empty the file (a crash before this line redrives them twice,
    // which the vendor deduplicates by $insert_id).
    {
      std::lock_guard<std::mutex> lock(v.mu);
      if (Status s = ReplaceFileDurably(v.dead_letter_path, "", 0600); !s.ok()) return s;
      v.dead_letters_in_file = 0;
    }
    v.accepted += entries.size();
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      ++generation_;
    }
    wake_.notify_all();
    spdlog::info("vendor {}: {} dead-lettered events sent again", v.name, entries.size());
    return static_cast<uint64_t>(entries.size());
  }

  // ---- States ---------------------------------------------------------------------------------------

  Status LoadStates(std::map<std::string, VendorState>* out) const {
    std::ifstream in(state_path_, std::ios::binary);
    if (!in) return Status::Ok();
    std::stringstream buf;
    buf << in.rdbuf();
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    const std::string text = buf.str();
    if (parser.parse(text).get_object().get(obj) != simdjson::SUCCESS) {
      return Status::IOError(state_path_ + ": not a JSON object (the vendor states); fix or remove it");
    }
    simdjson::dom::object vendors;
    if (obj["vendors"].get_object().get(vendors) != simdjson::SUCCESS) {
      return Status::IOError(state_path_ + ": no \"vendors\" object");
    }
    for (auto field : vendors) {
      std::string_view value;
      if (field.value.get_string().get(value) != simdjson::SUCCESS || !ParseState(value)) {
        return Status::IOError(state_path_ + ": vendor '" + std::string(field.key) + "' has an unknown state");
      }
      (*out)[std::string(field.key)] = *ParseState(value);
    }
    return Status::Ok();
  }

  // Called with state_mu_ held.
  Status SaveStates() const {
    std::string json = "{\"vendors\":{";
    bool first = true;
    for (const auto& v : vendors_) {
      if (!first) json += ",";
      first = false;
      AppendJsonStringLossy(&json, v->name);
      json += ":";
      AppendJsonStringLossy(&json, VendorStateName(v->state.load()));
    }
    json += "}}\n";
    return ReplaceFileDurably(state_path_, json, 0600);
  }

  VendorStatus StatusOf(const VendorRuntimeState& v, const SpoolStats& spool) const {
    VendorStatus s;
    s.name = v.name;
    s.state = v.state.load();
    s.shadow = v.transports[0]->shadow();
    s.accepted = v.accepted.load();
    s.delivered = v.delivered.load();
    s.retries = v.retries.load();
    s.splits = v.splits.load();
    s.connections = static_cast<uint32_t>(v.transports.size());
    s.in_flight = v.in_flight.load();
    s.dead_lettered = v.dead_lettered.load();
    s.discarded = v.discarded.load();
    s.dead_letters_in_file = v.dead_letters_in_file.load();
    if (v.id < spool.vendors.size()) {
      const VendorSpoolStats& vs = spool.vendors[v.id];
      s.pending = vs.pending_records;
      s.pending_bytes = vs.pending_bytes;
      if (vs.oldest_accept_unix_us > 0) {
        s.oldest_pending_age_s = std::max(0.0, static_cast<double>(Now() - vs.oldest_accept_unix_us) / 1e6);
      }
    }
    s.delivered_per_s = v.delivered_rate.PerSecond();
    s.accepted_per_s = v.accepted_rate.PerSecond();
    std::lock_guard<std::mutex> lock(v.mu);
    s.last_error = v.last_error;
    s.last_error_unix_s = v.last_error_at;
    return s;
  }

  void Shutdown(std::chrono::milliseconds deadline) {
    if (shut_down_.exchange(true)) return;
    deadline_ = std::chrono::steady_clock::now() + deadline;
    stopping_ = true;
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      ++generation_;
    }
    wake_.notify_all();
    // Senders finish what they are sending; past the deadline an in-flight request is aborted.
    std::thread aborter([this] {
      std::unique_lock<std::mutex> lock(aborter_mu_);
      aborter_cv_.wait_until(lock, deadline_.load(), [&] { return senders_done_; });
      for (auto& v : vendors_) v->abort = true;
    });
    for (auto& v : vendors_) {
      if (v->thread.joinable()) v->thread.join();
      v->crew.reset();  // its helpers, idle now
    }
    {
      std::lock_guard<std::mutex> lock(aborter_mu_);
      senders_done_ = true;
    }
    aborter_cv_.notify_all();
    aborter.join();
    if (spool_) spool_->Close();
    for (const auto& v : vendors_) {
      SpoolStats st = spool_ ? spool_->Stats() : SpoolStats{};
      if (v->id < st.vendors.size() && st.vendors[v->id].pending_records > 0) {
        spdlog::info("vendor {}: {} events stay in the spool for the next start", v->name,
                     st.vendors[v->id].pending_records);
      }
    }
  }

  const Config config_;
  DeliveryOptions options_;
  std::unique_ptr<Spool> spool_;
  std::vector<std::unique_ptr<VendorRuntimeState>> vendors_;
  std::string state_path_;
  std::mutex state_mu_;
  std::mutex redrive_mu_;
  std::mutex wake_mu_;
  std::condition_variable wake_;
  uint64_t generation_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> shut_down_{false};
  std::atomic<std::chrono::steady_clock::time_point> deadline_{std::chrono::steady_clock::time_point::max()};
  std::mutex aborter_mu_;
  std::condition_variable aborter_cv_;
  bool senders_done_ = false;
};

Delivery::Delivery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Delivery::~Delivery() { Shutdown(std::chrono::milliseconds(0)); }

StatusOr<std::unique_ptr<Delivery>> Delivery::Start(const Config& config, const DeliveryOptions& options) {
  auto impl = std::make_unique<Impl>(config, options);
  if (Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<Delivery>(new Delivery(std::move(impl)));
}

std::optional<SpoolVendorId> Delivery::VendorId(std::string_view name) const {
  const VendorRuntimeState* v = impl_->Find(name);
  return v ? std::optional<SpoolVendorId>(v->id) : std::nullopt;
}

bool Delivery::Accepting(SpoolVendorId vendor) const {
  return vendor < impl_->vendors_.size() && impl_->vendors_[vendor]->state.load() != VendorState::kCut;
}

Status Delivery::Submit(std::span<const SpoolEntry> entries, CommitCallback done) {
  return impl_->Submit(entries, std::move(done));
}

Status Delivery::Pause(std::string_view vendor, std::string_view actor) {
  VendorState from;
  if (Status s = impl_->SetState(vendor, VendorState::kPaused, &from); !s.ok()) return s;
  spdlog::warn("vendor {}: paused (was {}); its events are held in the spool", vendor, VendorStateName(from));
  impl_->RecordAdmin(*impl_->Find(vendor), AdminActionKind::kPause, actor,
                     "pause (was " + std::string(VendorStateName(from)) + ")");
  return Status::Ok();
}

Status Delivery::Resume(std::string_view vendor, std::string_view actor) {
  VendorState from;
  if (Status s = impl_->SetState(vendor, VendorState::kActive, &from); !s.ok()) return s;
  if (from == VendorState::kCut) {
    spdlog::warn("vendor {}: resumed after a cut; new events are sent to it again", vendor);
  } else {
    spdlog::warn("vendor {}: resumed", vendor);
  }
  impl_->RecordAdmin(*impl_->Find(vendor), AdminActionKind::kResume, actor,
                     "resume (was " + std::string(VendorStateName(from)) + ")");
  return Status::Ok();
}

StatusOr<uint64_t> Delivery::Cut(std::string_view vendor, std::string_view actor) {
  VendorRuntimeState* v = impl_->Find(vendor);
  if (v == nullptr) return impl_->UnknownVendor(vendor);
  // Held across the state change, so the sender (woken by it) cannot discard first: what was queued
  // at the cut is counted here, once.
  std::lock_guard<std::mutex> discard_lock(v->discard_mu);
  VendorState from;
  if (Status s = impl_->SetState(vendor, VendorState::kCut, &from); !s.ok()) return s;
  auto n = impl_->DiscardPending(*v);
  if (!n.ok()) {
    impl_->RecordAdmin(*v, AdminActionKind::kCut, actor,
                       "cut (was " + std::string(VendorStateName(from)) + "): discarding the queue failed: " +
                           n.status().message());
    return n.status();
  }
  spdlog::warn("vendor {}: CUT (was {}); nothing more is sent to it, {} queued events discarded", vendor,
               VendorStateName(from), *n);
  impl_->RecordAdmin(*v, AdminActionKind::kCut, actor,
                     "cut (was " + std::string(VendorStateName(from)) + "): " + std::to_string(*n) +
                         " queued events discarded");
  return n;
}

std::vector<VendorStatus> Delivery::List() const {
  SpoolStats spool = impl_->spool_->Stats();
  std::vector<VendorStatus> out;
  for (const auto& v : impl_->vendors_) out.push_back(impl_->StatusOf(*v, spool));
  return out;
}

StatusOr<VendorStatus> Delivery::Get(std::string_view vendor) const {
  const VendorRuntimeState* v = impl_->Find(vendor);
  if (v == nullptr) return impl_->UnknownVendor(vendor);
  return impl_->StatusOf(*v, impl_->spool_->Stats());
}

StatusOr<std::vector<DeadLetter>> Delivery::DeadLetters(std::string_view vendor, size_t limit, bool with_data) const {
  VendorRuntimeState* v = impl_->Find(vendor);
  if (v == nullptr) return impl_->UnknownVendor(vendor);
  std::lock_guard<std::mutex> lock(v->mu);
  auto letters = impl_->ReadDeadLetters(*v, with_data);
  if (!letters.ok()) return letters;
  if (limit > 0 && letters->size() > limit) letters->erase(letters->begin(), letters->end() - static_cast<long>(limit));
  return letters;
}

StatusOr<uint64_t> Delivery::Redrive(std::string_view vendor, std::string_view actor) {
  VendorRuntimeState* v = impl_->Find(vendor);
  if (v == nullptr) return impl_->UnknownVendor(vendor);
  auto n = impl_->Redrive(*v);
  if (n.ok() && *n > 0) {
    impl_->RecordAdmin(*v, AdminActionKind::kRedrive, actor, "redrive: " + std::to_string(*n) + " dead letters sent again");
  }
  return n;
}

SpoolStats Delivery::SpoolStatistics() const { return impl_->spool_->Stats(); }

bool Delivery::Ready() const {
  if (impl_->stopping_.load()) return false;
  SpoolStats s = impl_->spool_->Stats();
  if (s.failed) return false;
  if (s.quota_bytes == 0) return true;
  // Not ready while what is left of the quota could not take a typical request: a load balancer should
  // send traffic elsewhere before every request is refused, not after.
  const uint64_t headroom = std::max<uint64_t>(64u << 10, s.quota_bytes / 64);
  return s.disk_bytes + s.backlog_bytes + headroom <= s.quota_bytes;
}

void Delivery::Shutdown(std::chrono::milliseconds deadline) { impl_->Shutdown(deadline); }

}  // namespace vg
