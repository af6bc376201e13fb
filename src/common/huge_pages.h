// Memory for large tables that are read at random (the names dictionary, the ledger's subject table):
// in 2 MiB pages where the kernel has transparent huge pages for the asking, so that a look-up is not
// also a TLB miss on a 4 KiB page of its own.
#pragma once

#include <cstddef>

namespace vg {

// Allocates blocks of 2 MiB and more aligned to 2 MiB and advised MADV_HUGEPAGE (a hint: without it, or
// with transparent huge pages off, the memory works the same); smaller ones as usual. Throws
// std::bad_alloc when out of memory.
void* AllocateHuge(size_t bytes);
// Frees what AllocateHuge(bytes) returned.
void FreeHuge(void* p, size_t bytes);

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(AllocateHuge(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { FreeHuge(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

}  // namespace vg
