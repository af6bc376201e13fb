// Names threads (as `top -H`, `ps -T`, perf and gdb show them): "vg-" + what it does, e.g. "vg-ingest",
// "vg-spool-write", "vg-send:mixpanel". Linux keeps 15 bytes; longer names are cut. Best effort: only
// diagnostics depend on it.
#pragma once

#include <string_view>
#include <thread>

namespace vg {

void SetCurrentThreadName(std::string_view name);
// Names `t` from the thread that started it, so the name is there as soon as this returns.
void SetThreadName(std::thread& t, std::string_view name);

}  // namespace vg
