#include "server/disclosure_ledger.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <map>

#include <simdjson.h>

#include "common/files.h"
#include "common/json_text.h"
#include "common/time_text.h"

#include "ledger/ledger.h"
#include "ledger/merkle.h"

namespace vg {
namespace {

// A fingerprint of what a vendor's policy lets out: SHA-256 over a canonical text of every rule (and the
// key epoch and endpoint, which change what the vendor gets too), first 16 hex digits.
std::string PolicyFingerprint(const VendorConfig& v, uint32_t key_epoch) {
  const PolicyConfig& p = v.policy;
  std::string text = "v1\n";
  auto list = [&](std::string_view name, const std::vector<std::string>& globs) {
    text.append(name).append(":");
    for (const std::string& g : globs) text.append(g).append("\x1f");
    text.append("\n");
  };
  list("allow", p.allow);
  list("drop", p.drop);
  list("pseudonymize", p.pseudonymize);
  list("url_properties", p.url_properties);
  text += "ip:" + std::to_string(static_cast<int>(p.ip)) + "\nlocation:" + std::to_string(static_cast<int>(p.location)) +
          "\nurls:" + std::to_string(static_cast<int>(p.urls)) +
          "\nuser_agent:" + std::to_string(static_cast<int>(p.user_agent)) + "\npii:";
  for (PiiAction a : p.pii) text += std::to_string(static_cast<int>(a));
  text += "\nkey_epoch:" + std::to_string(key_epoch) + "\nendpoint:" + v.endpoint.value_or("(shadow)") + "\n";
  return ledger::HashHex(ledger::Sha256(text)).substr(0, 16);
}

}  // namespace

ledger::LedgerOptions LedgerOptionsFor(const Config& config, bool sync, std::function<int64_t()> now_us) {
  ledger::LedgerOptions options;
  options.dir = (std::filesystem::path(config.data_dir) / "ledger").string();
  options.sync = sync;
  options.now_us = now_us ? std::move(now_us) : std::function<int64_t()>(SystemNowUs);
  for (const VendorConfig& v : config.vendors) {
    options.vendors.push_back({v.name, v.purpose, v.legal_basis, v.destination_country});
  }
  return options;
}

StatusOr<SubjectErasure> EraseSubject(ledger::Ledger& ledger, std::string_view subject, std::string_view actor,
                                      int64_t time_us) {
  subject = subject.substr(0, ledger::kMaxSubjectBytes);  // as RecordDisclosures stored it
  if (subject.empty()) return Status::InvalidArgument("the identifier to erase is empty");
  if (ledger.read_only()) return Status::FailedPrecondition("the ledger is open read-only; erasure needs to write");
  SubjectErasure out;
  // Every outcome: a cut-only subject's identifier is stored too.
  auto found = ledger.Subject(subject, ledger::kAllOutcomes);
  if (!found.ok()) return found.status();
  if (!found->found) return out;  // kNoRecords
  if (found->erased) {
    out.outcome = ErasureOutcome::kAlreadyErased;
    return out;
  }
  auto erased = ledger.Erase(subject, actor.substr(0, ledger::kMaxTextBytes), time_us);
  if (!erased.ok()) return erased.status();
  out.outcome = ErasureOutcome::kErased;
  out.result = *erased;
  return out;
}

std::string RetentionActor(uint32_t retention_days) {
  return "retention policy (ledger.retention_days=" + std::to_string(retention_days) + ")";
}

StatusOr<SubjectErasure> DisclosureLedger::Erase(std::string_view subject, std::string_view actor) {
  return EraseSubject(*ledger_, subject, actor, ledger_now_());
}

StatusOr<ledger::RetentionResult> DisclosureLedger::ApplyRetention(int64_t now_us) {
  if (!retention_days_) return ledger::RetentionResult{};
  const int64_t cutoff = now_us - static_cast<int64_t>(*retention_days_) * kUsPerDay;
  auto result = ledger_->ApplyRetention(cutoff, RetentionActor(*retention_days_), now_us);
  if (!result.ok()) return result.status().WithPrefix("ledger retention");
  if (result->segments_dropped > 0) {
    spdlog::info("ledger: retention (ledger.retention_days={}) dropped {} record(s) in {} sealed segment(s) older "
                 "than {}; records from index {} are kept",
                 *retention_days_, result->records_dropped, result->segments_dropped, IsoTime(cutoff, false),
                 result->first_retained_index);
  } else {
    spdlog::debug("ledger: retention (ledger.retention_days={}): no sealed segment is older than {}", *retention_days_,
                  IsoTime(cutoff, false));
  }
  return result;
}

DisclosureLedger::~DisclosureLedger() {
  if (ledger_) {
    if (Status s = ledger_->Close(); !s.ok()) spdlog::error("ledger: closing failed: {}", s.message());
  }
}

StatusOr<std::unique_ptr<DisclosureLedger>> DisclosureLedger::Open(const Config& config, bool sync,
                                                                   std::function<int64_t()> now_us,
                                                                   const std::vector<uint32_t>& key_epochs,
                                                                   std::string_view actor) {
  std::unique_ptr<DisclosureLedger> d(new DisclosureLedger());
  ledger::LedgerOptions options = LedgerOptionsFor(config, sync, std::move(now_us));
  d->dir_ = options.dir;
  d->ledger_now_ = options.now_us;
  d->retention_days_ = config.ledger_retention_days;
  auto opened = ledger::Ledger::Open(std::move(options));
  if (!opened.ok()) return opened.status().WithPrefix("ledger");
  d->ledger_ = std::move(*opened);
  const auto& report = d->ledger_->open_report();
  if (report.truncation) {
    spdlog::warn("ledger: torn tail of {} cut at {} ({} bytes): {}", report.truncation->file, report.truncation->offset,
                 report.truncation->bytes_cut, report.truncation->reason);
  }
  for (const std::string& r : report.removed) spdlog::warn("ledger: removed {}", r);
  for (const VendorConfig& v : config.vendors) {
    auto id = d->ledger_->VendorId(v.name);
    if (!id) return Status::Internal("ledger: vendor '" + v.name + "' was not declared");
    d->vendor_ids_.push_back(*id);
  }
  if (Status s = d->RecordPolicyChanges(config, key_epochs, actor); !s.ok()) return s;
  spdlog::info("ledger: {} ({} records, {} sealed segments)", d->dir_, report.records, report.segments);
  return d;
}

// <ledger>/policies.json remembers each vendor's policy fingerprint as last recorded; a vendor whose
// fingerprint differs (or is new) gets a policy-change admin record, then the file is rewritten.
Status DisclosureLedger::RecordPolicyChanges(const Config& config, const std::vector<uint32_t>& key_epochs,
                                             std::string_view actor) {
  const std::string path = dir_ + "/policies.json";
  std::map<std::string, std::string> known;
  {
    auto read = ReadWholeFile(path);
    if (!read.ok() && read.status().code() != Status::Code::kNotFound) return read.status();
    const std::string text = read.ok() ? *read : std::string();
    if (!text.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::object obj;
      if (parser.parse(text).get_object().get(obj) != simdjson::SUCCESS) {
        return Status::InvalidArgument(path + ": not a JSON object of policy fingerprints; fix or remove it");
      }
      for (auto field : obj) {
        std::string_view fp;
        if (field.value.get_string().get(fp) == simdjson::SUCCESS) known[std::string(field.key)] = std::string(fp);
      }
    }
  }
  bool changed = false;
  for (size_t i = 0; i < config.vendors.size(); ++i) {
    const VendorConfig& v = config.vendors[i];
    const std::string fp = PolicyFingerprint(v, i < key_epochs.size() ? key_epochs[i] : 0);
    auto it = known.find(v.name);
    if (it != known.end() && it->second == fp) continue;
    const std::string detail = "policy " + fp + (it == known.end() ? " (first seen)" : " (was " + it->second + ")") +
                               (v.policy.is_default ? ", strict default" : ", custom");
    AdminEvent e{ledger_now_(), AdminActionKind::kPolicyChange, static_cast<SpoolVendorId>(i), actor, detail};
    if (Status s = RecordAdmin(e); !s.ok()) return s;
    known[v.name] = fp;
    changed = true;
  }
  if (!changed) return Status::Ok();
  std::string json = "{";
  for (const auto& [name, fp] : known) {
    if (json.size() > 1) json += ",";
    AppendJsonStringLossy(&json, name);
    json += ":";
    AppendJsonStringLossy(&json, fp);
  }
  json += "}\n";
  return ReplaceFileDurably(path, json, 0600);
}

Status DisclosureLedger::RecordDisclosures(std::span<const DisclosureEvent> events) {
  std::vector<ledger::LedgerRecord> records;
  records.reserve(events.size());
  for (const DisclosureEvent& e : events) {
    if (e.vendor >= vendor_ids_.size()) return Status::InvalidArgument("ledger: unknown vendor index");
    DisclosureMeta meta;
    if (!DecodeDisclosureMeta(e.meta, &meta)) {
      // Records spooled before the ledger existed carry no meta: recorded without subject or categories.
      meta = {};
      if (!warned_meta_.exchange(true)) {
        spdlog::warn("ledger: an event without disclosure details (spooled by an older version) is recorded "
                     "without subject and categories");
      }
    }
    ledger::Hash payload_hash{};
    if (e.outcome != DisclosureOutcome::kCut) {
      payload_hash = ledger::Sha256(e.payload);
    }
    const std::string_view subject = meta.subject.substr(0, ledger::kMaxSubjectBytes);
    const auto outcome = e.outcome == DisclosureOutcome::kDelivered      ? ledger::Outcome::kDelivered
                         : e.outcome == DisclosureOutcome::kDeadLettered ? ledger::Outcome::kDeadLettered
                                                                         : ledger::Outcome::kCut;
    records.push_back(ledger::LedgerRecord::Disclosure(e.time_us, vendor_ids_[e.vendor], subject, meta.key_epoch,
                                                       meta.categories, outcome,
                                                       meta.insert_id.substr(0, ledger::kMaxInsertIdBytes), payload_hash));
  }
  if (Status s = ledger_->Append(records); !s.ok()) return s;
  return ledger_->Flush();
}

Status DisclosureLedger::RecordAdmin(const AdminEvent& event) {
  if (event.vendor >= vendor_ids_.size()) return Status::InvalidArgument("ledger: unknown vendor index");
  ledger::AdminAction action = ledger::AdminAction::kOther;
  switch (event.action) {
    case AdminActionKind::kPause: action = ledger::AdminAction::kPause; break;
    case AdminActionKind::kResume: action = ledger::AdminAction::kResume; break;
    case AdminActionKind::kCut: action = ledger::AdminAction::kCut; break;
    case AdminActionKind::kRedrive: action = ledger::AdminAction::kRedrive; break;
    case AdminActionKind::kPolicyChange: action = ledger::AdminAction::kPolicyChange; break;
  }
  const auto record = ledger::LedgerRecord::Admin(event.time_us, action, vendor_ids_[event.vendor],
                                                  event.actor.substr(0, ledger::kMaxTextBytes),
                                                  event.detail.substr(0, ledger::kMaxTextBytes));
  if (Status s = ledger_->Append(std::span<const ledger::LedgerRecord>(&record, 1)); !s.ok()) return s;
  return ledger_->Flush();
}

}  // namespace vg
