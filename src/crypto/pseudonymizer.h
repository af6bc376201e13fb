// Keyed pseudonyms: one user gets a stable pseudonym per vendor, and pseudonyms of different vendors
// cannot be joined without the key file.
//
// A PseudonymKeyFile holds one random 32-byte master secret per key epoch; a vendor's key is derived
// from the epoch's secret and the vendor's name (HMAC-SHA256), so keys of different vendors are
// independent. The pseudonym is HMAC-SHA256(vendor key, value), truncated to 128 bits, written as
// "vg<epoch>-<32 hex digits>". The file is created with mode 0600 on first use; a file readable by group
// or others is refused, and key material is never logged.
// Thread-safety: a loaded key file and a Pseudonymizer are immutable and shared read-only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vg {

using SecretKey = std::array<uint8_t, 32>;

class PseudonymKeyFile {
 public:
  // Opens `path`, creating it (and its directory, mode 0700) with a fresh epoch-1 secret if absent.
  [[nodiscard]] static StatusOr<PseudonymKeyFile> OpenOrCreate(const std::string& path);
  // Opens an existing file; NotFound if absent.
  [[nodiscard]] static StatusOr<PseudonymKeyFile> Open(const std::string& path);
  // Adds a new epoch with a fresh secret, makes it current and rewrites the file atomically.
  [[nodiscard]] Status Rotate();

  uint32_t current_epoch() const { return current_; }
  bool has_epoch(uint32_t epoch) const { return secrets_.count(epoch) != 0; }
  // The key of `vendor` under `epoch` (which must exist).
  SecretKey VendorKey(std::string_view vendor, uint32_t epoch) const;

 private:
  [[nodiscard]] Status Write() const;
  std::string path_;
  uint32_t current_ = 0;
  std::map<uint32_t, SecretKey> secrets_;
};

class Pseudonymizer {
 public:
  Pseudonymizer(const SecretKey& key, uint32_t epoch);
  ~Pseudonymizer();
  Pseudonymizer(const Pseudonymizer&) = delete;
  Pseudonymizer& operator=(const Pseudonymizer&) = delete;
  // The pseudonym of `value` (the identifier as the product sent it, as a string).
  std::string Pseudonymize(std::string_view value) const;
  // Appends the pseudonym to `out` (no allocation when `out` has room).
  void AppendPseudonym(std::string_view value, std::string* out) const;
  uint32_t epoch() const { return epoch_; }

 private:
  // SHA-256 states after absorbing the HMAC key's inner and outer pads (RFC 2104), so a pseudonym costs
  // two compressions. OpenSSL's SHA-256 uses the CPU's SHA extensions where present.
  alignas(16) unsigned char inner_[128];
  alignas(16) unsigned char outer_[128];
  uint32_t epoch_;
};

}  // namespace vg
