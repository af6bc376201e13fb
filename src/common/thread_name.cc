#include "common/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>

namespace vg {
namespace {

void Name(pthread_t t, std::string_view name) {
  char buf[16];
  const size_t n = std::min(name.size(), sizeof buf - 1);
  std::memcpy(buf, name.data(), n);
  buf[n] = '\0';
  (void)pthread_setname_np(t, buf);
}

}  // namespace

void SetCurrentThreadName(std::string_view name) { Name(pthread_self(), name); }

void SetThreadName(std::thread& t, std::string_view name) { Name(t.native_handle(), name); }

}  // namespace vg
