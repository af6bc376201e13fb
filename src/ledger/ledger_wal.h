// The ledger's active segment: the records appended since the last seal, in memory (columns and a subject
// table) and on disk as a write-ahead log of CRC-framed rows. Sealing turns it into a SegmentFile.
//
// WAL file `wal-<20-digit first record index>.log`, integers little-endian, CRCs masked CRC32C:
//   header: "VGLWAL01" | u64 first_index | u32 len + Merkle frontier at first_index | u32 CRC of the
//           header bytes before it
//   frames: u32 CRC of the frame from byte 4 on | u32 body length | u32 record count | body
//   body:   records back to back:
//           u8 kind | i64 time_us | u16 vendor | u8 subject tag: 0 none, 1 known (u32 local id),
//           2 new (u16 len + identifier; it gets the next local id) | u32 key_epoch | u32 categories |
//           u8 outcome | u8 len + insert_id | 32-byte payload hash | u8 text count, count x (u16 len + bytes)
// One frame per Append call (or per part of one, when a seal splits it): a frame is all or nothing. An
// identifier is written once per WAL, the first time it occurs; the SubjectHash is recomputed on replay.
//
// Thread-safety: none; the Ledger guards its ActiveSegment with its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ledger/ledger_record.h"
#include "common/huge_pages.h"
#include "ledger/ledger_segment.h"
#include "ledger/merkle.h"

namespace vg::ledger {

inline constexpr std::string_view kWalMagic = "VGLWAL01";
inline constexpr size_t kWalFrameHeaderBytes = 12;
inline constexpr uint32_t kMaxWalFrameBytes = 1u << 30;

class ActiveSegment {
 public:
  void Reset(uint64_t first_index, const MerkleFrontier& frontier_start);

  uint64_t first_index() const { return first_index_; }
  uint64_t end_index() const { return first_index_ + rows_.size(); }
  const MerkleFrontier& frontier_start() const { return frontier_start_; }
  const SegmentRows& rows() const { return rows_; }
  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const std::vector<SubjectHash>& hashes() const { return hashes_; }
  std::string_view name(uint32_t id) const { return names_[id]; }

  // The local id of the subject with keyed hash `hash`, if it occurred in this segment. The table is keyed
  // by the keyed hash itself (uniformly random): one probe touches one 20-byte slot, and no identifier
  // is hashed or compared (at a million subjects, comparing identifiers cost three cache misses a record,
  // more than the HMAC).
  std::optional<uint32_t> Find(const SubjectHash& hash) const;
  // Starts loading the slot Find(hash) probes first into the cache (a hint; no effect on results).
  void Prefetch(const SubjectHash& hash) const {
    const Slot* s = &slots_[SlotOf(hash)];
    __builtin_prefetch(s);
    __builtin_prefetch(reinterpret_cast<const char*>(s + 1) - 1);  // a 20-byte slot may span two lines
  }
  // Adds a new subject; returns its local id.
  uint32_t Add(std::string_view name, const SubjectHash& hash);
  // Gives back the row storage of a sealed segment, so the next segment reuses its capacity.
  void RecycleRows(SegmentRows&& rows);

  // Appends one row; `subject_id` is the local id + 1 (0: none). Texts are copied.
  void AppendRow(const LeafFields& f, uint32_t subject_id);

  // The sealed form: subjects sorted by hash (local ids renumbered), `vendors` and the frontiers given.
  // Leaves the active segment empty.
  //
  // With `names_by_id`, the names are not copied into the result in hash order (a random-access copy of
  // every name, which the background sealer does instead): the active segment's name list is swapped
  // with *names_by_id (give it an empty list with capacity: the next segment reuses it), and
  // (*order)[k] is the index in it of the k-th subject in hash order. content.subject_names stays empty.
  SegmentContent TakeContent(const MerkleFrontier& frontier_end, std::vector<VendorInfo> vendors,
                             NameList* names_by_id = nullptr, std::vector<uint32_t>* order = nullptr);

 private:
  void Grow();
  size_t SlotOf(const SubjectHash& hash) const {
    uint64_t v;
    std::memcpy(&v, hash.data(), 8);
    return v & (slots_.size() - 1);
  }
  uint64_t first_index_ = 0;
  MerkleFrontier frontier_start_;
  SegmentRows rows_;
  std::vector<SubjectHash> hashes_;
  NameList names_;
  struct Slot {
    SubjectHash key{};  // the whole key: a probe never looks elsewhere
    uint32_t id1 = 0;   // local id + 1; 0 = empty
  };
  // Open addressing, linear probing, load <= 1/2. Tens of megabytes probed at random: in transparent huge
  // pages where the kernel allows (a probe was a TLB miss, and a page walk, almost every time).
  std::vector<Slot, HugePageAllocator<Slot>> slots_;
};

std::string EncodeWalHeader(uint64_t first_index, const MerkleFrontier& frontier);

// Builds one frame in a caller-owned buffer.
class WalFrame {
 public:
  explicit WalFrame(std::string* buf);
  // Appends one record. `new_subject` non-empty: the record introduces that identifier; otherwise
  // `subject_id` is the local id + 1 of a known one (0: none).
  void Add(const LeafFields& f, uint32_t subject_id, std::string_view new_subject);
  uint32_t count() const { return count_; }
  // Writes the frame header; the frame is then complete in the buffer. A frame with no records is removed.
  void Finish();

 private:
  std::string* buf_;
  size_t start_;
  uint32_t count_ = 0;
};

struct WalReplay {
  uint64_t first_index = 0;
  MerkleFrontier frontier_start;
  uint64_t valid_bytes = 0;     // header + complete frames
  uint64_t records = 0;
  bool damaged = false;         // something after valid_bytes is not a complete, valid frame
  uint64_t damage_offset = 0;   // == valid_bytes when damaged
  std::string damage;           // what was found there
};

// Parses a WAL file's bytes: the header (InvalidArgument naming `path` if it is damaged), then frame by
// frame until the end or the first frame that is incomplete, fails its CRC or does not decode (reported in
// the result, not as an error: the caller decides between a torn tail and damage). Each record is added
// to *active (Reset to the header's range) and its leaf hash to *frontier (set to the header's frontier);
// on_record(frontier) runs after each record.
[[nodiscard]] StatusOr<WalReplay> ReplayWal(const std::string& path, std::string_view bytes, const SubjectKeyer& keyer,
                                            ActiveSegment* active, MerkleFrontier* frontier,
                                            const std::function<void(const MerkleFrontier&)>& on_record);

}  // namespace vg::ledger
