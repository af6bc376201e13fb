// PEM blocks of raw-key DER (RFC 7468 text encoding), as the Ed25519 keys of the ledger's tree heads and
// of breach notices are kept, so that `openssl pkey`/`pkeyutl` read them as they are.
// Thread-safety: pure functions.
#pragma once

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

}  // namespace vg
