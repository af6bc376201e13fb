// IP addresses and CIDR ranges: parsing, matching, truncation, and finding the real client address
// behind trusted proxies.
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vg {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4

  static std::optional<IpAddress> Parse(std::string_view text);  // IPv4 or IPv6 (no brackets, no zone)
  std::string ToString() const;
  // IPv4 to /24 and IPv6 to /48: the rest of the address is zeroed.
  IpAddress Truncated() const;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4; others unchanged.
  IpAddress Unmapped() const;
};

struct Cidr {
  IpAddress base;
  int prefix = 0;
  static std::optional<Cidr> Parse(std::string_view text);  // "10.0.0.0/8", "::1", "2001:db8::/32"
  bool Contains(const IpAddress& ip) const;
};

// Decides which address is the client's. `peer` is the socket peer. If the peer is in `trusted`, the
// client is the right-most address of X-Forwarded-For that is not itself a trusted proxy (so a client
// cannot spoof the header by sending its own), else X-Real-IP, else the peer. An untrusted peer's headers
// are ignored. Malformed header entries end the walk at the last good address.
IpAddress ResolveClientIp(const IpAddress& peer, std::string_view x_forwarded_for, std::string_view x_real_ip,
                          const std::vector<Cidr>& trusted);

}  // namespace vg
