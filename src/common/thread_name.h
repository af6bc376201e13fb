// Names the calling thread (as `top -H`, `ps -T`, perf and gdb show it): "vg-" + what it does, e.g.
// "vg-ingest", "vg-spool-write", "vg-send:mixpanel". Linux keeps 15 bytes; longer names are cut.
#pragma once

#include <string_view>

namespace vg {

void SetCurrentThreadName(std::string_view name);

}  // namespace vg
