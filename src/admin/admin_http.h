// The admin listener (issue #7): HTTP/1.1, or HTTPS when the config names a certificate and key
// (OpenSSL through Boost.Asio), separate from ingestion, serving AdminApi. It runs on its own
// io_context and threads, so a slow admin request (a cut waits up to a second, a password hash takes a
// tenth of one) never delays ingestion, and ingestion load never locks an operator out.
//
// Limits: 16 KiB of headers, kMaxBodyBytes of body (413 beyond, then the connection closes), 30 s idle,
// at most 64 open connections (more are closed at once).
//
// Thread-safety: Start from one thread; Stop from any thread, idempotent; the destructor stops and joins.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace vg::admin {

class AdminApi;

struct AdminHttpOptions {
  std::string host = "127.0.0.1";  // IPv4, IPv6 or localhost
  uint16_t port = 8081;            // 0: any free port (port() tells)
  std::string tls_cert;            // PEM chain; empty: plain HTTP
  std::string tls_key;
  int threads = 2;
};

class AdminHttpServer {
 public:
  // Binds and starts serving. InvalidArgument for a bad address or unreadable TLS files (naming them),
  // IOError when the port cannot be bound.
  [[nodiscard]] static StatusOr<std::unique_ptr<AdminHttpServer>> Start(const AdminHttpOptions& options, AdminApi& api);
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  uint16_t port() const;
  void Stop();

  struct Impl;

 private:
  explicit AdminHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg::admin
