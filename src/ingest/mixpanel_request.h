// Decoding of Mixpanel ingestion requests, as the official SDKs send them, into the JSON payload.
//
// Handles the HTTP-level encodings only: query string, form bodies (`data=`), base64 (standard or URL-safe,
// padded or not) or plain JSON in `data`, JSON bodies, and gzip bodies. The JSON text itself is parsed
// by wire/mixpanel.h. Every function here takes outside input and returns an error naming what is wrong;
// nothing throws, and output sizes are capped so a small compressed body cannot expand without bound.
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vg {

enum class MixpanelEndpoint {
  kTrack,     // /track: events
  kEngage,    // /engage: people (profile) updates
  kGroups,    // /groups: group profile updates
  kImport,    // /import: events (server-side, historical)
  kFlags,     // /flags: feature flags (answered locally, never forwarded)
  kDecide,    // /decide: legacy remote config (answered locally)
  kSettings,  // /settings: remote SDK settings (answered locally)
  kRecord,    // /record: session recordings (accepted and discarded: they hold everything on screen)
  kUnknown,
};

// Maps a request path (without query) to an endpoint; a trailing slash is ignored ("/track/" == "/track").
MixpanelEndpoint EndpointFromPath(std::string_view path);
std::string_view EndpointName(MixpanelEndpoint e);

// The parts of an HTTP request the decoder needs. Views must outlive the call.
struct IngestRequest {
  std::string_view method;            // "GET", "POST", ...
  std::string_view target;            // path and query, e.g. "/track/?ip=1&_=123"
  std::string_view content_type;      // may be empty
  std::string_view content_encoding;  // may be empty; "gzip" is supported
  std::string_view body;
};

struct DecodeLimits {
  size_t max_body_bytes = 1 << 20;  // applies to the body as received and after decompression
};

// What a request carries, once the HTTP encodings are removed.
struct MixpanelPayload {
  MixpanelEndpoint endpoint = MixpanelEndpoint::kUnknown;
  std::string path;           // the path without query
  std::string json;           // the JSON text of the events (object or array); empty if the request had none
  bool verbose = false;       // `verbose=1`: answer {"status":1,"error":null}
  bool img = false;           // `img=1`: answer with a 1x1 GIF
  std::optional<bool> ip;     // `ip=0|1`: whether the client asks to geolocate from the request IP
  std::string callback;       // JSONP callback name, only if it is a safe JavaScript identifier path
  std::vector<std::pair<std::string, std::string>> query;  // all query parameters, decoded
};

// Decodes a request. Errors:
//  - TooLarge: body (raw or decompressed) over limits.max_body_bytes (the server answers 413)
//  - InvalidArgument: broken percent-encoding, base64, gzip, or no `data` where one is required
// The JSON is not parsed here (see wire/mixpanel.h), but the base64 branch is taken only when `data`
// does not already look like JSON.
// Rules (the reasons are in mixpanel_request.cc):
//  - A body whose first non-whitespace byte is '{' or '[' is JSON; any other body is form-encoded, whatever
//    its Content-Type says (sendBeacon labels forms text/plain). Fields in the body win over the query's.
//  - `data` is percent-decoded with '+' as space; if that is not JSON it is base64, and then a '+' in the
//    raw value is kept as '+' (the Node SDK posts base64 unescaped).
//  - An unknown path returns OK with endpoint kUnknown and nothing else decoded; a /record body is never read.
[[nodiscard]] StatusOr<MixpanelPayload> DecodeMixpanelRequest(const IngestRequest& req, const DecodeLimits& limits);

// Building blocks, exposed for tests and the fuzz target.

// Percent-decoding; '+' becomes a space when `plus_as_space` (form and query encoding).
[[nodiscard]] StatusOr<std::string> PercentDecode(std::string_view in, bool plus_as_space);
// Splits `a=b&c=d` and percent-decodes names and values. Empty pieces are skipped.
[[nodiscard]] StatusOr<std::vector<std::pair<std::string, std::string>>> ParseFormEncoded(std::string_view in);
// Base64, standard or URL-safe alphabet, with or without padding; whitespace is not allowed.
[[nodiscard]] StatusOr<std::string> Base64Decode(std::string_view in);
// gzip (or zlib-wrapped deflate) decompression; output over max_out is TooLarge.
[[nodiscard]] StatusOr<std::string> Gunzip(std::string_view in, size_t max_out);
// gzip compression (used by delivery and tests; ISA-L): kFast (level 1, what delivery sends: analytics JSON
// is repetitive enough that a fast level already shrinks it about five-fold) or kSmall (its highest, 3).
// Inputs over 2 GiB abort (delivery's batches are at most 10 MB).
enum class GzipLevel { kFast, kSmall };
std::string Gzip(std::string_view in, GzipLevel level = GzipLevel::kFast);

}  // namespace vg
