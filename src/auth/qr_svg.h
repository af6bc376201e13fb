// QR codes of otpauth:// URIs for enrolling an authenticator app: as a standalone SVG (for the admin
// console and `admin user add --qr-svg`) and as terminal text (for the CLI on a terminal).
// Encoding is libqrencode's (QRcode_encodeString, 8-bit mode, error correction level M).
// Thread-safety: pure functions (libqrencode is reentrant).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace vg::auth {

// A standalone SVG document: viewBox in modules, a 4-module quiet zone on each side, a white background
// rectangle, one <path> holding every dark module, shape-rendering="crispEdges" and a <title>.
// InvalidArgument when the text is empty or too long for a QR code; Internal on other encoder failures.
[[nodiscard]] StatusOr<std::string> QrSvg(std::string_view text);

// The same code as lines of text for a terminal: two module rows per line with the half-block characters
// U+2580/U+2584/U+2588 (dark on light, for a terminal with a dark background the colours are inverted
// so a phone sees dark modules on a light field), with a 4-module quiet zone. Same errors as QrSvg.
[[nodiscard]] StatusOr<std::string> QrTerminalText(std::string_view text);

// The width in modules (without the quiet zone) libqrencode picks for `text`; 0 when it cannot encode it.
int QrModuleCount(std::string_view text);

}  // namespace vg::auth
