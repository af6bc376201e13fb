// Builds ledgers for the CLI tests (tests/cli/ledger.test.mjs) through the real vg::ledger::Ledger API,
// as the gateway's writer would, and can keep one open as the writer while the tests query it.
//
//   ledger_fixture DIR [--max-segment-records N] [--head-interval-us N] [--sync]  < commands.jsonl
//
// One JSON object per line on stdin, applied in order:
//   {"vendors":[{"name":..,"purpose":..,"legal_basis":..,"destination_country":..}]}
//       first line only: opens DIR for writing with these vendor declarations (without it: none new)
//   {"time_us":N,"vendor":"name","subject":"id","categories":["identifier",...],"outcome":"delivered",
//    "insert_id":"..","key_epoch":1}                          a disclosure (subject may be absent)
//   {"admin":"cut","vendor":"name"|null,"actor":"..","detail":"..","time_us":N}   an admin record
//   {"cmd":"flush"}   Flush; prints {"flushed":SIZE} on stdout (a test waits for it)
//   {"cmd":"seal"}    seal the active segment
//   {"cmd":"erase","subject":"id","time_us":N}   a deletion request
// At the end of stdin the ledger is closed (a final signed head) and {"closed":SIZE} is printed. The
// ledger stays open, LOCK held, as long as stdin is: a test keeps the pipe open to hold it as the writer.
// Exit 0, or 2 with the reason on stderr.
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "policy/categories.h"

namespace {

using namespace vg::ledger;
using vg::Status;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "ledger_fixture: " << message << "\n";
  std::exit(2);
}

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view s;
  if (e[key].get(s) != simdjson::SUCCESS) return "";
  return std::string(s);
}

uint32_t CategoryBits(simdjson::dom::element e, size_t line) {
  simdjson::dom::array names;
  if (e["categories"].get(names) != simdjson::SUCCESS) return 0;
  uint32_t bits = 0;
  for (simdjson::dom::element n : names) {
    std::string_view name;
    if (n.get(name) != simdjson::SUCCESS) Die("line " + std::to_string(line) + ": a category is not a string");
    bool known = false;
    for (size_t i = 0; i < std::size(vg::kCategoryNames); ++i) {
      if (vg::kCategoryNames[i] == name) {
        bits |= 1u << i;
        known = true;
      }
    }
    if (!known) Die("line " + std::to_string(line) + ": unknown category '" + std::string(name) + "'");
  }
  return bits;
}

Outcome OutcomeOf(const std::string& name, size_t line) {
  if (name.empty() || name == "delivered") return Outcome::kDelivered;
  if (name == "dead_lettered") return Outcome::kDeadLettered;
  if (name == "cut") return Outcome::kCut;
  Die("line " + std::to_string(line) + ": unknown outcome '" + name + "'");
}

AdminAction AdminOf(const std::string& name, size_t line) {
  static const std::pair<const char*, AdminAction> kActions[] = {
      {"pause", AdminAction::kPause},     {"resume", AdminAction::kResume},
      {"cut", AdminAction::kCut},         {"policy_change", AdminAction::kPolicyChange},
      {"redrive", AdminAction::kRedrive}, {"other", AdminAction::kOther}};
  for (const auto& [n, a] : kActions) {
    if (name == n) return a;
  }
  Die("line " + std::to_string(line) + ": unknown admin action '" + name + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Die("usage: ledger_fixture DIR [--max-segment-records N] [--head-interval-us N] [--sync] < commands.jsonl");
  }
  LedgerOptions options;
  options.dir = argv[1];
  options.sync = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--max-segment-records" && i + 1 < argc) {
      options.max_segment_records = static_cast<uint32_t>(std::stoul(argv[++i]));
    } else if (arg == "--head-interval-us" && i + 1 < argc) {
      options.head_interval_us = std::stoll(argv[++i]);
    } else if (arg == "--sync") {
      options.sync = true;
    } else {
      Die("unknown argument " + arg);
    }
  }

  simdjson::dom::parser parser;
  std::unique_ptr<Ledger> ledger;
  auto open = [&] {
    auto l = Ledger::Open(options);
    if (!l.ok()) Die("open " + options.dir + ": " + l.status().message());
    ledger = std::move(*l);
  };
  auto vendor_id = [&](const std::string& name, size_t line) -> uint16_t {
    if (name.empty()) return kNoVendor;
    auto id = ledger->VendorId(name);
    if (!id) Die("line " + std::to_string(line) + ": vendor '" + name + "' is not declared");
    return *id;
  };

  std::string text;
  size_t line = 0;
  while (std::getline(std::cin, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::dom::element e;
    if (parser.parse(text).get(e) != simdjson::SUCCESS) Die("line " + std::to_string(line) + ": not JSON");
    simdjson::dom::array vendors;
    if (e["vendors"].get(vendors) == simdjson::SUCCESS) {
      if (ledger) Die("line " + std::to_string(line) + ": vendors must come first");
      for (simdjson::dom::element v : vendors) {
        options.vendors.push_back(
            VendorInfo{Str(v, "name"), Str(v, "purpose"), Str(v, "legal_basis"), Str(v, "destination_country")});
      }
      open();
      continue;
    }
    if (!ledger) open();
    Status s;
    const std::string cmd = Str(e, "cmd");
    int64_t time_us = 0;
    (void)e["time_us"].get(time_us);
    if (cmd == "flush") {
      s = ledger->Flush();
      if (s.ok()) std::cout << "{\"flushed\":" << ledger->size() << "}" << std::endl;
    } else if (cmd == "seal") {
      s = ledger->SealForTesting();
    } else if (cmd == "erase") {
      auto r = ledger->Erase(Str(e, "subject"), "fixture", time_us);
      s = r.ok() ? Status::Ok() : r.status();
    } else if (!cmd.empty()) {
      Die("line " + std::to_string(line) + ": unknown cmd '" + cmd + "'");
    } else if (!Str(e, "admin").empty()) {
      const std::string actor = Str(e, "actor"), detail = Str(e, "detail");
      const LedgerRecord r = LedgerRecord::Admin(time_us, AdminOf(Str(e, "admin"), line),
                                                 vendor_id(Str(e, "vendor"), line), actor, detail);
      s = ledger->Append({&r, 1});
    } else {
      const std::string subject = Str(e, "subject"), insert_id = Str(e, "insert_id");
      int64_t epoch = 1;
      (void)e["key_epoch"].get(epoch);
      Hash payload{};
      for (size_t i = 0; i < insert_id.size() && i < payload.size(); ++i)
        payload[i] = static_cast<uint8_t>(insert_id[i]);
      const LedgerRecord r =
          LedgerRecord::Disclosure(time_us, vendor_id(Str(e, "vendor"), line), subject, static_cast<uint32_t>(epoch),
                                   CategoryBits(e, line), OutcomeOf(Str(e, "outcome"), line), insert_id, payload);
      s = ledger->Append({&r, 1});
    }
    if (!s.ok()) Die("line " + std::to_string(line) + ": " + s.message());
  }
  if (!ledger) open();
  if (Status s = ledger->Close(); !s.ok()) Die("close: " + s.message());
  std::cout << "{\"closed\":" << ledger->size() << "}" << std::endl;
  return 0;
}
