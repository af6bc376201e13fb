#include "net/ip_address.h"

#include <gtest/gtest.h>

namespace vg {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }
std::vector<Cidr> Trusted(std::initializer_list<const char*> cidrs) {
  std::vector<Cidr> out;
  for (auto c : cidrs) out.push_back(*Cidr::Parse(c));
  return out;
}

TEST(IpAddress, ParsesAndPrints) {
  EXPECT_EQ(Ip("203.0.113.7").ToString(), "203.0.113.7");
  EXPECT_EQ(Ip("2001:db8::1").ToString(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::Parse("1.2.3"));
  EXPECT_FALSE(IpAddress::Parse("256.1.1.1"));
  EXPECT_FALSE(IpAddress::Parse("2.1.4.13.5"));
  EXPECT_FALSE(IpAddress::Parse(""));
}

TEST(IpAddress, TruncatesTo24And48) {
  EXPECT_EQ(Ip("203.0.113.77").Truncated().ToString(), "203.0.113.0");
  EXPECT_EQ(Ip("2001:db8:abcd:1234:5678::9").Truncated().ToString(), "2001:db8:abcd::");
}

TEST(IpAddress, UnmapsV4MappedV6) { EXPECT_EQ(Ip("::ffff:198.51.100.4").Unmapped().ToString(), "198.51.100.4"); }

TEST(Cidr, ContainsRespectsPrefix) {
  auto c = *Cidr::Parse("10.1.0.0/16");
  EXPECT_TRUE(c.Contains(Ip("10.1.255.3")));
  EXPECT_FALSE(c.Contains(Ip("10.2.0.1")));
  EXPECT_TRUE(Cidr::Parse("10.0.0.0/9")->Contains(Ip("10.127.0.1")));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/9")->Contains(Ip("10.128.0.1")));
  EXPECT_TRUE(Cidr::Parse("127.0.0.1")->Contains(Ip("::ffff:127.0.0.1")));
  EXPECT_TRUE(Cidr::Parse("2001:db8::/32")->Contains(Ip("2001:db8:1::1")));
  EXPECT_FALSE(Cidr::Parse("2001:db8::/32")->Contains(Ip("10.0.0.1")));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/"));
}

TEST(ResolveClientIp, UntrustedPeerHeadersAreIgnored) {
  auto ip = ResolveClientIp(Ip("198.51.100.9"), "8.8.8.8", "8.8.4.4", Trusted({"10.0.0.0/8"}));
  EXPECT_EQ(ip.ToString(), "198.51.100.9");
}

TEST(ResolveClientIp, TrustedProxyGivesRightmostUntrustedHop) {
  // The client forged the first entry; the load balancer (10.0.0.5) appended the real address.
  auto ip = ResolveClientIp(Ip("10.0.0.5"), "1.1.1.1, 203.0.113.50, 10.0.0.7", "", Trusted({"10.0.0.0/8"}));
  EXPECT_EQ(ip.ToString(), "203.0.113.50");
}

TEST(ResolveClientIp, XRealIpWhenNoForwardedFor) {
  auto ip = ResolveClientIp(Ip("127.0.0.1"), "", "203.0.113.1", Trusted({"127.0.0.1/32"}));
  EXPECT_EQ(ip.ToString(), "203.0.113.1");
}

TEST(ResolveClientIp, GarbageHopStopsTheWalk) {
  auto ip = ResolveClientIp(Ip("10.0.0.5"), "203.0.113.50, not-an-ip", "", Trusted({"10.0.0.0/8"}));
  EXPECT_EQ(ip.ToString(), "10.0.0.5");
}

}  // namespace
}  // namespace vg
