// The vendorguard command line: one file per command, each registering its subcommand with CLI11.
// Exit codes: 0 success, 1 the command's negative answer (invalid config, ...), 2 usage or I/O error.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace vg::cli {

// Each returns the action to run when its subcommand was chosen; the action returns the exit code.
std::function<int()> AddServe(CLI::App& app);
std::function<int()> AddCheckConfig(CLI::App& app);
std::function<int()> AddExplain(CLI::App& app);
std::function<int()> AddKeys(CLI::App& app);
std::function<int()> AddScan(CLI::App& app);
std::function<int()> AddVendor(CLI::App& app);  // vendor list|pause|resume|cut|dead-letters|redrive
std::function<int()> AddSpool(CLI::App& app);   // spool verify
std::function<int()> AddLedger(CLI::App& app);  // ledger verify|who|subject|vendors|erase
std::function<int()> AddNotice(CLI::App& app);  // notice verify
std::function<int()> AddIncident(CLI::App& app);  // incident open|assess|status|list
std::function<int()> AddAdmin(CLI::App& app);     // admin user add|remove|list|reset-mfa, admin token create|list|revoke

}  // namespace vg::cli
