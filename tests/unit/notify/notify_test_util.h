// Shared fixtures for the notice tests: an organization, a fixed key, the default template, file helpers.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config.h"
#include "notify/notice.h"
#include "notify/notice_key.h"

namespace vg::notify::testing {

inline std::string SourceDir() {
  if (const char* d = std::getenv("VG_SOURCE_DIR")) return d;
#ifdef VG_SOURCE_DIR_DEFAULT
  return VG_SOURCE_DIR_DEFAULT;
#else
  return ".";
#endif
}

inline std::string DefaultTemplateDir() { return SourceDir() + "/templates/notice"; }

inline Config::Organization TestOrg() {
  Config::Organization org;
  org.name = "Example Inc.";
  org.contact = "privacy@example.com";
  org.domain = "example.com";
  return org;
}

inline NoticeKey TestKey(uint8_t fill = 7) {
  std::array<uint8_t, 32> seed;
  seed.fill(fill);
  return NoticeKey::FromSeed(seed);
}

constexpr int64_t kDay = int64_t{86'400} * 1'000'000;
constexpr int64_t kNov9 = int64_t{1'762'646'400} * 1'000'000;  // 2025-11-09T00:00:00Z

inline NoticeInput TestInput(const Config::Organization* org, CategorySet cats) {
  NoticeInput in;
  in.notice_id = NewNoticeId();
  in.email = "jane@example.org";
  in.name = "Jane Doe";
  in.locale = "en";
  in.categories = cats;
  in.first_disclosure_us = kNov9 - 30 * kDay;
  in.last_disclosure_us = kNov9 + 2 * kDay;
  in.window_from_us = kNov9;
  in.window_to_us = kNov9 + 16 * kDay;
  in.vendor = "Mixpanel";
  in.identifiers_pseudonymized = true;
  in.measures = "We stopped sending any data to Mixpanel on 25 November 2025.";
  in.organization = org;
  in.date_us = kNov9 + 20 * kDay;
  return in;
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::filesystem::path& p, std::string_view data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline int RunShell(const std::string& cmd, std::string* out = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vg-notify-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace vg::notify::testing
