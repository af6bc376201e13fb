#include "geo/geo_locator.h"

#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace vg {

struct GeoLocator::Db {
  MMDB_s mmdb;
};

GeoLocator::~GeoLocator() {
  if (db_) MMDB_close(&db_->mmdb);
}

StatusOr<std::unique_ptr<GeoLocator>> GeoLocator::Open(const std::string& path) {
  auto db = std::make_unique<Db>();
  int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb);
  if (rc != MMDB_SUCCESS) {
    return Status::IOError(path + ": cannot open geolocation database: " + MMDB_strerror(rc));
  }
  std::unique_ptr<GeoLocator> g(new GeoLocator());
  g->db_ = std::move(db);
  return g;
}

namespace {

std::string GetString(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING) {
    return {};
  }
  return std::string(data.utf8_string, data.data_size);
}

}  // namespace

GeoLocation GeoLocator::Lookup(const IpAddress& raw) const {
  GeoLocation loc;
  IpAddress ip = raw.Unmapped();
  sockaddr_storage ss{};
  if (ip.v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    std::memcpy(&a->sin6_addr, ip.bytes.data(), 16);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    std::memcpy(&a->sin_addr, ip.bytes.data(), 4);
  }
  int mmdb_error = 0;
  MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db_->mmdb, reinterpret_cast<sockaddr*>(&ss), &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS || !r.found_entry) return loc;
  static const char* const kCountry[] = {"country", "iso_code", nullptr};
  static const char* const kRegion[] = {"subdivisions", "0", "names", "en", nullptr};
  static const char* const kState1[] = {"state1", nullptr};  // DB-IP / ip-location-db city layout
  loc.country_code = GetString(&r.entry, kCountry);
  if (loc.country_code.empty()) {
    static const char* const kCountryCode[] = {"country_code", nullptr};
    loc.country_code = GetString(&r.entry, kCountryCode);
  }
  loc.region = GetString(&r.entry, kRegion);
  if (loc.region.empty()) loc.region = GetString(&r.entry, kState1);
  return loc;
}

}  // namespace vg
