#include "incident/incident.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/files.h"
#include "common/json_text.h"
#include "common/time_text.h"

namespace vg::incident {

std::string IsoUtc(int64_t us) { return IsoTime(us, us % kUsPerSecond != 0); }

std::string IncidentJson(const Incident& i) {
  std::string j = "{\n  \"id\": ";
  AppendJsonStringLossy(&j, i.id);
  j += ",\n  \"vendor\": ";
  AppendJsonStringLossy(&j, i.vendor);
  auto time_field = [&](std::string_view name, int64_t us) {
    j += ",\n  \"";
    j += name;
    j += "_us\": " + std::to_string(us) + ",\n  \"";
    j += name;
    j += "\": \"" + IsoUtc(us) + "\"";
  };
  time_field("from", i.from_us);
  time_field("to", i.to_us);
  time_field("aware_at", i.aware_at_us);
  time_field("opened_at", i.opened_at_us);
  j += ",\n  \"opened_by\": ";
  AppendJsonStringLossy(&j, i.opened_by);
  j += ",\n  \"retention_days\": " + (i.retention_days ? std::to_string(*i.retention_days) : std::string("null"));
  j += ",\n  \"cut\": ";
  j += i.cut ? "true" : "false";
  if (i.cut) {
    time_field("cut_at", i.cut_at_us);
    j += ",\n  \"cut_discarded\": " + std::to_string(i.cut_discarded);
    j += ",\n  \"cut_note\": ";
    AppendJsonStringLossy(&j, i.cut_note);
  }
  j += "\n}\n";
  return j;
}

StatusOr<Incident> ParseIncidentJson(std::string_view json, std::string_view source) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  const simdjson::padded_string padded(json);
  if (parser.parse(padded).get_object().get(o) != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string(source) + ": not a JSON object");
  }
  Incident i;
  std::string_view s;
  auto str = [&](const char* key, std::string* out) {
    if (o[key].get_string().get(s) != simdjson::SUCCESS) return false;
    *out = std::string(s);
    return true;
  };
  auto num = [&](const char* key, int64_t* out) { return o[key].get_int64().get(*out) == simdjson::SUCCESS; };
  if (!str("id", &i.id) || !str("vendor", &i.vendor) || !num("from_us", &i.from_us) || !num("to_us", &i.to_us) ||
      !num("aware_at_us", &i.aware_at_us) || !num("opened_at_us", &i.opened_at_us) || !str("opened_by", &i.opened_by)) {
    return Status::InvalidArgument(std::string(source) + ": an incident needs id, vendor, from_us, to_us, aware_at_us, "
                                   "opened_at_us and opened_by");
  }
  uint64_t days;
  if (o["retention_days"].get_uint64().get(days) == simdjson::SUCCESS) i.retention_days = static_cast<uint32_t>(days);
  bool cut = false;
  if (o["cut"].get_bool().get(cut) == simdjson::SUCCESS && cut) {
    i.cut = true;
    (void)num("cut_at_us", &i.cut_at_us);
    uint64_t n = 0;
    if (o["cut_discarded"].get_uint64().get(n) == simdjson::SUCCESS) i.cut_discarded = n;
    (void)str("cut_note", &i.cut_note);
  }
  return i;
}

IncidentStore::IncidentStore(std::string data_dir)
    : root_((std::filesystem::path(data_dir) / "incidents").string()) {}

std::string IncidentStore::Dir(std::string_view id) const { return root_ + "/" + std::string(id); }

Status IncidentStore::Create(Incident* incident, int64_t now_us) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return Status::IOError(root_ + ": " + ec.message());
  ::chmod(root_.c_str(), 0700);
  const time_t t = static_cast<time_t>(now_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y%m%d", &tm);
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialize");
  for (int attempt = 0; attempt < 16; ++attempt) {
    unsigned char r[3];
    randombytes_buf(r, sizeof r);
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%02x%02x%02x", r[0], r[1], r[2]);
    const std::string id = std::string("INC-") + date + "-" + suffix;
    const std::string dir = Dir(id);
    if (::mkdir(dir.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;
      return Status::IOError(dir + ": " + std::strerror(errno));
    }
    incident->id = id;
    return Save(*incident);
  }
  return Status::IOError(root_ + ": could not find a free incident id");
}

Status IncidentStore::Save(const Incident& incident) const {
  return ReplaceFileDurably(Dir(incident.id) + "/incident.json", IncidentJson(incident), 0600);
}

StatusOr<Incident> IncidentStore::Load(std::string_view id) const {
  const bool plausible = !id.empty() && id.size() < 64 && id.find('/') == std::string_view::npos && id != "." && id != "..";
  const std::string path = Dir(id) + "/incident.json";
  auto text = plausible ? ReadWholeFile(path) : StatusOr<std::string>(Status::NotFound("bad id"));
  if (!text.ok()) {
    if (text.status().code() != Status::Code::kNotFound) return text.status();
    std::string known;
    if (auto all = List(); all.ok()) {
      for (const Incident& i : *all) known += (known.empty() ? "" : ", ") + i.id;
    }
    return Status::NotFound("no incident '" + std::string(id) + "' in " + root_ +
                            (known.empty() ? " (there are none)" : " (there are: " + known + ")"));
  }
  return ParseIncidentJson(*text, path);
}

StatusOr<std::vector<Incident>> IncidentStore::List() const {
  std::vector<Incident> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    const std::string path = entry.path().string() + "/incident.json";
    auto text = ReadWholeFile(path);
    if (!text.ok()) continue;  // a directory being created
    auto i = ParseIncidentJson(*text, path);
    if (!i.ok()) return i.status();
    out.push_back(std::move(*i));
  }
  if (ec) return Status::IOError(root_ + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const Incident& a, const Incident& b) {
    return a.opened_at_us != b.opened_at_us ? a.opened_at_us < b.opened_at_us : a.id < b.id;
  });
  return out;
}

}  // namespace vg::incident
