// Coarse location from an IP address, computed locally from a MaxMind-format database (e.g. DB-IP lite
// country), so the vendor never needs the client's address.
// Thread-safety: after Open, Lookup may be called from any thread (libmaxminddb lookups are read-only).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "net/ip_address.h"

namespace vg {

struct GeoLocation {
  std::string country_code;  // ISO 3166-1 alpha-2, e.g. "US"; empty if unknown
  std::string region;        // first subdivision's English name where the database has it
};

class GeoLocator {
 public:
  ~GeoLocator();
  [[nodiscard]] static StatusOr<std::unique_ptr<GeoLocator>> Open(const std::string& path);
  GeoLocation Lookup(const IpAddress& ip) const;

 private:
  GeoLocator() = default;
  struct Db;
  std::unique_ptr<Db> db_;
};

}  // namespace vg
