// The gateway process: the ingestion listener (HTTP/1.1 with keep-alive, Boost.Beast), the vendors'
// policies and sinks, and an orderly shutdown that drains requests and flushes every sink. While it runs it
// also serves the admin socket (admin_server.h, including ledger erasure) and, when `ledger.retention_days`
// is set, applies the ledger's retention on a thread of its own: once when Run starts, then every
// `ledger.retention_check_interval` seconds, until Run returns.
//
// Thread-safety: Create/Listen from one thread; Run blocks on the caller plus `threads - 1` workers;
// Stop may be called from any thread (e.g. a signal handler's asio callback) and is idempotent.
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "config/config.h"

namespace vg {

class Gateway {
 public:
  ~Gateway();
  // Opens the key file (creating it on first run), the geolocation database, and each vendor's sink.
  [[nodiscard]] static StatusOr<std::unique_ptr<Gateway>> Create(const Config& config);
  // Binds the listener. With port 0 a free port is chosen; port() tells which.
  [[nodiscard]] Status Listen();
  uint16_t port() const;
  // The admin listener's port (0 when `admin: listen: off`).
  uint16_t admin_port() const;
  // Serves until Stop (or SIGINT/SIGTERM when handle_signals), then drains and flushes the sinks.
  void Run(bool handle_signals);
  void Stop();

 private:
  Gateway();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg
