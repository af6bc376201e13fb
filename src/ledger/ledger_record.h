// The disclosure ledger's record model and the exact bytes a record contributes to the Merkle tree.
//
// One record per disclosure (an event or profile update sent to a vendor, or accepted and never sent
// because the vendor was cut), per admin action (pause, cut, policy change, erasure, retention), and per
// vendor declaration (name, purpose, legal basis, destination country: written by the ledger itself when a
// vendor is first seen or its declaration changes). Never the values of the event: a record holds the
// data categories (a policy-defined bitmask), the event's $insert_id and a hash of the bytes sent.
//
// The subject. A record names the person by the identifier the product sent (before pseudonymization).
// The Merkle leaf does not commit to that plaintext but to SubjectHash = HMAC-SHA256(subject key,
// identifier) truncated to 16 bytes; the plaintext lives only in a segment's name table outside the
// tree. Erasing a subject (a deletion request) deletes its plaintext and leaves every leaf, root and
// signed head valid. 128 bits keep collisions out of reach for any number of subjects a ledger holds
// (2^-64 at 2^32 subjects), and save 16 bytes a distinct subject per segment against the full 32.
//
// Leaf bytes (EncodeLeaf), all integers little-endian; LeafHash (merkle.h) hashes them with the 0x00 prefix:
//   u8  leaf format (1)       u8  kind               i64 time_us          u16 vendor
//   u8  has_subject (0|1)     [16 bytes SubjectHash if has_subject]
//   u32 key_epoch             u32 categories         u8  outcome / admin action
//   u8  insert_id length      insert_id bytes        32 bytes payload hash
//   u8  text count            count x (u16 length, bytes)
// Texts: none for a disclosure; {actor, detail} for an admin record; {name, purpose, legal basis,
// destination country} for a vendor declaration. A disclosure is about 95 bytes: two SHA-256 blocks.
//
// Thread-safety: plain values and pure functions; a SubjectKeyer is immutable and shareable.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ledger/merkle.h"

namespace vg::ledger {

using SubjectHash = std::array<uint8_t, 16>;
inline constexpr size_t kSubjectKeyBytes = 32;
inline constexpr uint16_t kNoVendor = 0xffff;
inline constexpr size_t kMaxVendors = 0xfff0;
inline constexpr size_t kMaxSubjectBytes = 4096;
inline constexpr size_t kMaxInsertIdBytes = 255;
inline constexpr size_t kMaxTextBytes = 0xffff;
inline constexpr uint8_t kLeafFormat = 1;

enum class RecordKind : uint8_t {
  kDisclosure = 0,
  kAdmin = 1,
  kVendorDeclaration = 2,  // written by the ledger only
};

enum class Outcome : uint8_t {
  kDelivered = 0,     // the vendor acknowledged it
  kDeadLettered = 1,  // given up after the vendor refused it or retries ran out: it may have arrived
  kCut = 2,           // accepted but never sent: the vendor was cut off
};
inline constexpr int kOutcomeCount = 3;

enum class AdminAction : uint8_t {
  kPause = 0,
  kResume = 1,
  kCut = 2,
  kPolicyChange = 3,
  kRedrive = 4,
  kErase = 5,      // written by Ledger::Erase
  kRetention = 6,  // written by Ledger::ApplyRetention
  kOther = 7,
  // The admin API's audit trail (issue #7): sign-ins and account changes.
  kLogin = 8,
  kLoginFailed = 9,  // a refused sign-in, including one refused by a lockout
  kLogout = 10,
  kAccount = 11,     // an account or API token added, removed or changed
  kLast = kAccount,
};

std::string_view OutcomeName(Outcome o);         // "delivered" | "dead_lettered" | "cut"
std::string_view AdminActionName(AdminAction a);  // "pause" | "resume" | ... | "other"

// What the configuration declares about a vendor; part of the ledger (vendor declaration records), so
// every answer about a disclosure carries the declaration in force when it was made.
struct VendorInfo {
  std::string name;
  std::string purpose;
  std::string legal_basis;
  std::string destination_country;
  bool operator==(const VendorInfo&) const = default;
};

// A record to append. Views need to stay valid only during Ledger::Append.
struct LedgerRecord {
  int64_t time_us = 0;  // when it was sent (or cut / done), microseconds since the Unix epoch
  RecordKind kind = RecordKind::kDisclosure;
  uint16_t vendor = kNoVendor;  // Ledger::VendorId(name); kNoVendor only for admin records about no vendor
  std::string_view subject;     // the identifier as the product sent it; empty = none (anonymous, admin)
  uint32_t key_epoch = 0;       // pseudonym key epoch used for this vendor
  uint32_t categories = 0;      // data categories that left (bitmask defined by the policy)
  uint8_t outcome = 0;          // Outcome for a disclosure, AdminAction for an admin record
  std::string_view insert_id;   // the event's $insert_id (at most 255 bytes)
  Hash payload_hash{};          // SHA-256 of the exact bytes sent
  std::string_view actor;       // admin records: who
  std::string_view detail;      // admin records: what, e.g. "cut: 42 discarded"

  static LedgerRecord Disclosure(int64_t time_us, uint16_t vendor, std::string_view subject, uint32_t key_epoch,
                                 uint32_t categories, Outcome outcome, std::string_view insert_id,
                                 const Hash& payload_hash) {
    LedgerRecord r;
    r.time_us = time_us;
    r.vendor = vendor;
    r.subject = subject;
    r.key_epoch = key_epoch;
    r.categories = categories;
    r.outcome = static_cast<uint8_t>(outcome);
    r.insert_id = insert_id;
    r.payload_hash = payload_hash;
    return r;
  }
  static LedgerRecord Admin(int64_t time_us, AdminAction action, uint16_t vendor, std::string_view actor,
                            std::string_view detail) {
    LedgerRecord r;
    r.time_us = time_us;
    r.kind = RecordKind::kAdmin;
    r.vendor = vendor;
    r.outcome = static_cast<uint8_t>(action);
    r.actor = actor;
    r.detail = detail;
    return r;
  }
};

// The fields a leaf commits to, with the subject already keyed-hashed.
struct LeafFields {
  RecordKind kind = RecordKind::kDisclosure;
  int64_t time_us = 0;
  uint16_t vendor = kNoVendor;
  const SubjectHash* subject = nullptr;  // null: no subject
  uint32_t key_epoch = 0;
  uint32_t categories = 0;
  uint8_t outcome = 0;
  std::string_view insert_id;
  const Hash* payload_hash = nullptr;  // null: all zero
  std::span<const std::string_view> texts;
};

// Appends the leaf bytes (layout above) to *out. Requires insert_id <= 255 bytes, <= 255 texts, each
// <= 65535 bytes (Ledger::Append checks these).
void EncodeLeaf(const LeafFields& f, std::string* out);
// LeafHash(EncodeLeaf(f)), reusing *scratch.
Hash RecordLeafHash(const LeafFields& f, std::string* scratch);

// HMAC-SHA256(key, subject) truncated to 16 bytes, with the key's inner and outer pads hashed once.
class SubjectKeyer {
 public:
  explicit SubjectKeyer(std::span<const uint8_t, kSubjectKeyBytes> key);
  SubjectKeyer(const SubjectKeyer&);
  SubjectKeyer& operator=(const SubjectKeyer&);
  ~SubjectKeyer();
  SubjectHash Hash(std::string_view subject) const;

 private:
  struct State;
  State* state_;
};

// The subject key file: 64 lower-case hex digits and a newline, mode 0600. OpenOrCreate creates it with a
// fresh random key if absent; a symbolic link, a file group or others may access, or a malformed one is
// refused (InvalidArgument). ReadSubjectKey only reads (NotFound if absent).
[[nodiscard]] StatusOr<std::array<uint8_t, kSubjectKeyBytes>> OpenOrCreateSubjectKey(const std::string& path);
[[nodiscard]] StatusOr<std::array<uint8_t, kSubjectKeyBytes>> ReadSubjectKey(const std::string& path);

std::string SubjectHashHex(const SubjectHash& h);

}  // namespace vg::ledger
