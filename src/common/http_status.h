// The HTTP status that answers a request refused with a Status: one mapping for every JSON API (the
// admin socket and the admin API). kInternal and kIOError are the server's fault: 500.
// Thread-safety: pure function.
#pragma once

#include "common/status.h"

namespace vg {

inline unsigned HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kUnauthenticated: return 401;
    case Status::Code::kPermissionDenied: return 403;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kAlreadyExists:
    case Status::Code::kFailedPrecondition: return 409;
    case Status::Code::kTooLarge: return 413;
    case Status::Code::kResourceExhausted: return 429;
    case Status::Code::kUnavailable: return 503;
    case Status::Code::kIOError:
    case Status::Code::kInternal: return 500;
  }
  return 500;
}

}  // namespace vg
