// PEM blocks of raw-key DER (RFC 7468 text encoding), as the Ed25519 keys of the ledger's tree heads and
// of breach notices are kept, so that `openssl pkey`/`pkeyutl` read them as they are.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vg {

// "-----BEGIN LABEL-----\n" + base64 of `der` in 64-column lines + "-----END LABEL-----\n".
std::string PemEncode(std::string_view label, std::span<const uint8_t> der);

// The one LABEL block in `text`, whose DER must be `prefix` followed by the 32 bytes put in `key` (an
// RFC 8410 Ed25519 key). InvalidArgument says what is wrong: a missing BEGIN/END line, more than one
// block, not plain base64 (an encrypted key), another key type or length. Scratch copies are wiped.
[[nodiscard]] Status ParsePemKey(std::string_view text, std::string_view label, std::span<const uint8_t> prefix,
                                 std::span<uint8_t, 32> key);

// The DER prefixes of RFC 8410 Ed25519 keys: PKCS#8 private key (the 32-byte seed follows) and
// SubjectPublicKeyInfo (the 32-byte public key follows).
inline constexpr uint8_t kEd25519PrivateKeyDerPrefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                                          0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
inline constexpr uint8_t kEd25519PublicKeyDerPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                         0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

// An Ed25519 public key as SubjectPublicKeyInfo PEM ("PUBLIC KEY"), and back (InvalidArgument as ParsePemKey).
std::string Ed25519PublicKeyPem(std::span<const uint8_t, 32> key);
[[nodiscard]] Status ParseEd25519PublicKeyPem(std::string_view pem, std::span<uint8_t, 32> key);

// Reads an Ed25519 private key file (PKCS#8 PEM) and returns its seed. The checks apply to the file
// actually opened: not a symbolic link (O_NOFOLLOW), a regular file, mode 0600 or stricter, at most
// 64 KiB. `what` names the key in errors ("ledger signing key"): NotFound "<path>: no <what> file",
// InvalidArgument for a link, another file type, a group- or world-accessible mode (saying to chmod 600),
// or bad contents; IOError for a failing read. Scratch copies are wiped.
[[nodiscard]] StatusOr<std::array<uint8_t, 32>> ReadEd25519PrivateKeyFile(const std::string& path,
                                                                          std::string_view what);

// Creates `path` (mode 0600, its directory 0700 if it has to be made) holding a fresh random Ed25519 seed as
// PKCS#8 PEM after the `comment` lines, durably, without ever replacing an existing file: it is written to
// a temporary file and linked into place. AlreadyExists when another process created it first (read that
// one instead); IOError naming the file otherwise.
[[nodiscard]] Status CreateEd25519PrivateKeyFile(const std::string& path, std::string_view comment,
                                                 std::string_view what);

}  // namespace vg
