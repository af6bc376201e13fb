// Test support: a fresh directory under /tmp, and the embedded default config with shadow-mode vendors
// (no endpoint: they write to outbox files) and no country database, its data dir inside that directory.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"

namespace vg::testing {

// mkdtemp("/tmp/<prefix>-XXXXXX"); "" if it failed.
inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  return mkdtemp(tmpl.data()) == nullptr ? std::string() : tmpl;
}

// The default config with one shadow vendor per name (each declaring a purpose, legal basis and country),
// data_dir = <dir>/data (created).
inline Config ShadowConfig(const std::string& dir, const std::vector<std::string>& vendor_names) {
  Config config = DefaultConfig();
  config.geoip_db.reset();
  config.data_dir = dir + "/data";
  VendorConfig base = config.vendors.at(0);
  base.endpoint.reset();
  base.purpose = "product analytics";
  base.legal_basis = "consent";
  base.destination_country = "US";
  config.vendors.clear();
  for (const std::string& name : vendor_names) {
    config.vendors.push_back(base);
    config.vendors.back().name = name;
  }
  std::filesystem::create_directories(config.data_dir);
  return config;
}

}  // namespace vg::testing
