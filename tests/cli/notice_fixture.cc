// Renders and signs one breach notice with the real library, for the CLI tests of `vendorguard notice
// verify` (tests/cli/notice.test.mjs): the notice key is DATA_DIR/keys/notice.key (created on first use, as
// `incident notify` does, with notice.pub beside it), the template the repository's default.
//
//   notice_fixture DATA_DIR OUT.eml [--email ADDR] [--name NAME] [--locale TAG] [--template DIR]
//
// Organization: Example Inc., privacy@example.com, domain example.com. Prints one JSON line
// {"id":..,"recipient":..,"subject":..,"key_id":..}; exit 0, or 2 with the reason on stderr.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "common/files.h"
#include "common/json_text.h"
#include "config/config.h"
#include "notify/notice.h"
#include "notify/notice_key.h"

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "notice_fixture: " << message << "\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vg;
  using namespace vg::notify;
  if (argc < 3) Die("usage: notice_fixture DATA_DIR OUT.eml [--email A] [--name N] [--locale L] [--template DIR]");
  const std::string data_dir = argv[1], out = argv[2];
  std::string email = "jane@example.org", name = "Jane Doe", locale = "en";
  const char* source = std::getenv("VG_SOURCE_DIR");
  std::string template_dir = std::string(source ? source : VG_SOURCE_DIR_DEFAULT) + "/templates/notice";
  for (int i = 3; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Die(flag + " needs a value");
    const std::string value = argv[i + 1];
    if (flag == "--email") email = value;
    else if (flag == "--name") name = value;
    else if (flag == "--locale") locale = value;
    else if (flag == "--template") template_dir = value;
    else Die("unknown option " + flag);
  }
  auto key = NoticeKey::OpenOrCreate(data_dir);
  if (!key.ok()) Die(key.status().message());
  auto tmpl = NoticeTemplate::Load(template_dir);
  if (!tmpl.ok()) Die(tmpl.status().message());
  Config::Organization org;
  org.name = "Example Inc.";
  org.contact = "privacy@example.com";
  org.domain = "example.com";
  constexpr int64_t kDay = int64_t{86'400} * 1'000'000;
  constexpr int64_t kNov9 = int64_t{1'762'646'400} * 1'000'000;  // 2025-11-09T00:00:00Z
  NoticeInput in;
  in.notice_id = NewNoticeId();
  in.email = email;
  in.name = name;
  in.locale = locale;
  in.categories = kCatIdentifier | kCatContact | kCatLocation;
  in.first_disclosure_us = kNov9 - 30 * kDay;
  in.last_disclosure_us = kNov9 + 2 * kDay;
  in.window_from_us = kNov9;
  in.window_to_us = kNov9 + 16 * kDay;
  in.vendor = "Mixpanel";
  in.identifiers_pseudonymized = true;
  in.measures = "We stopped sending any data to Mixpanel on 25 November 2025.";
  in.organization = &org;
  in.date_us = kNov9 + 20 * kDay;
  auto notice = (*tmpl)->Render(in, *key);
  if (!notice.ok()) Die(notice.status().message());
  if (Status s = ReplaceFileDurably(out, notice->message, 0644); !s.ok()) Die(s.message());
  std::string line = "{\"id\":";
  AppendJsonStringLossy(&line, notice->id);
  line += ",\"recipient\":";
  AppendJsonStringLossy(&line, notice->recipient);
  line += ",\"subject\":";
  AppendJsonStringLossy(&line, notice->subject);
  line += ",\"key_id\":";
  AppendJsonStringLossy(&line, key->key_id());
  line += "}";
  std::cout << line << "\n";
  return 0;
}
