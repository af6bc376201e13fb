#include "net/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace vg {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes.data()) != 1) return std::nullopt;
    return ip;
  }
  ip.v6 = true;
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
  return ip;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf)) return {};
  return buf;
}

IpAddress IpAddress::Truncated() const {
  IpAddress t = *this;
  if (v6) {
    for (int i = 6; i < 16; ++i) t.bytes[i] = 0;
  } else {
    t.bytes[3] = 0;
  }
  return t;
}

IpAddress IpAddress::Unmapped() const {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!v6 || std::memcmp(bytes.data(), kMapped, 12) != 0) return *this;
  IpAddress v4;
  std::memcpy(v4.bytes.data(), bytes.data() + 12, 4);
  return v4;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  Cidr c;
  c.base = *ip;
  int max = ip->v6 ? 128 : 32;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    int v = -1;
    auto r = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || v < 0 || v > max) return std::nullopt;
    c.prefix = v;
  }
  return c;
}

bool Cidr::Contains(const IpAddress& raw) const {
  IpAddress ip = raw.Unmapped();
  if (ip.v6 != base.v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[full] & mask) == (base.bytes[full] & mask);
}

namespace {

bool IsTrusted(const IpAddress& ip, const std::vector<Cidr>& trusted) {
  for (const Cidr& c : trusted) {
    if (c.Contains(ip)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

IpAddress ResolveClientIp(const IpAddress& peer, std::string_view xff, std::string_view x_real_ip,
                          const std::vector<Cidr>& trusted) {
  IpAddress client = peer.Unmapped();
  if (!IsTrusted(client, trusted)) return client;
  if (!Trim(xff).empty()) {
    // Walk from the right: each hop appended the address it saw. Stop at the first untrusted one.
    while (!xff.empty()) {
      size_t comma = xff.rfind(',');
      std::string_view hop = Trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
      xff = comma == std::string_view::npos ? std::string_view() : xff.substr(0, comma);
      auto ip = IpAddress::Parse(hop);
      if (!ip) break;
      client = ip->Unmapped();
      if (!IsTrusted(client, trusted)) break;
    }
    return client;
  }
  if (auto ip = IpAddress::Parse(Trim(x_real_ip))) return ip->Unmapped();
  return client;
}

}  // namespace vg
