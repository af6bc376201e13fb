#include "notify/campaign.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/files.h"
#include "common/time_text.h"

namespace vg::notify {
namespace {

Status WriteEml(const std::string& path, std::string_view message) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  Status s = WriteAllTo(fd, path, message);
  ::close(fd);
  return s;
}

}  // namespace

StatusOr<PreparedCampaign> PrepareCampaign(const CampaignSpec& spec, const std::vector<AffectedPerson>& affected,
                                           const ContactDirectory& contacts, const NoticeTemplate& tmpl,
                                           const NoticeKey& key) {
  const std::string dir = spec.incident_dir + "/notices";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(dir + ": " + ec.message());
  PreparedCampaign out;
  out.outbox_path = OutboxPath(spec.incident_dir);
  out.contact_problems = contacts.problems;
  auto outbox = Outbox::Open(out.outbox_path, spec.now_us);
  if (!outbox.ok()) return outbox.status();
  Outbox& ob = **outbox;

  std::vector<Outbox::NewNotice> fresh;
  Status first_render_error = Status::Ok();
  size_t attempted = 0;
  for (const AffectedPerson& p : affected) {
    const Contact* c = contacts.Find(p.subject);
    if (c == nullptr) {
      out.missing_contacts.push_back(p.subject);
      continue;
    }
    auto has = ob.HasSubject(p.subject);
    if (!has.ok()) return has.status();
    if (*has) continue;
    NoticeInput in;
    in.notice_id = NewNoticeId();
    in.email = c->email;
    in.name = c->name;
    in.locale = c->locale;
    in.categories = p.categories;
    in.first_disclosure_us = p.first_us;
    in.last_disclosure_us = p.last_us;
    in.window_from_us = spec.window_from_us;
    in.window_to_us = spec.window_to_us;
    in.vendor = spec.vendor;
    in.identifiers_pseudonymized = spec.identifiers_pseudonymized;
    in.measures = spec.measures;
    in.organization = &spec.organization;
    in.from_address = spec.from_address;
    in.date_us = spec.now_us;
    ++attempted;
    auto notice = tmpl.Render(in, key);
    if (!notice.ok()) {
      if (first_render_error.ok()) first_render_error = notice.status();
      out.not_prepared.emplace_back(p.subject, notice.status().message());
      continue;
    }
    if (Status s = WriteEml(dir + "/" + notice->id + ".eml", notice->message); !s.ok()) return s;
    fresh.push_back({notice->id, p.subject, notice->recipient, std::move(notice->message)});
  }
  // A template that cannot render anyone is the template's fault, not the people's: nothing is prepared.
  if (attempted > 0 && fresh.empty() && !first_render_error.ok()) return first_render_error;
  if (Status s = ob.Add(fresh, spec.now_us, &out.notices_added); !s.ok()) return s;
  if (!fresh.empty()) {
    // The envelope sender: the From address of the notices.
    std::string from = spec.from_address;
    if (from.empty()) {
      const std::string& m = fresh.front().message;
      const size_t lt = m.find('<'), gt = m.find('>');
      if (lt != std::string::npos && gt != std::string::npos && gt > lt) from = m.substr(lt + 1, gt - lt - 1);
    }
    if (Status s = ob.SetMeta("sender", from); !s.ok()) return s;
  }
  std::string missing;
  for (const std::string& m : out.missing_contacts) missing.append(m).push_back('\n');
  if (Status s = ReplaceFileDurably(dir + "/missing-contacts.txt", missing, 0600); !s.ok()) return s;
  if (Status s = ob.SetMeta("missing_contacts", std::to_string(out.missing_contacts.size())); !s.ok()) return s;
  if (Status s = SyncDirectory(dir); !s.ok()) return s;
  auto summary = ob.Summary();
  if (!summary.ok()) return summary.status();
  out.notices_total = summary->total;
  return out;
}

StatusOr<SendReport> SendCampaign(Outbox& outbox, NoticeTransport& transport, const SmtpOptions& options,
                                  const ProgressFn& progress, const std::atomic<bool>* stop, CampaignClock clock) {
  if (!clock.now_us) clock.now_us = SystemNowUs;
  if (!clock.sleep_us) clock.sleep_us = [](int64_t us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); };
  auto stopping = [stop] { return stop != nullptr && stop->load(std::memory_order_relaxed); };

  auto sender = outbox.GetMeta("sender");
  if (!sender.ok()) return sender.status();
  if (sender->empty()) return Status::FailedPrecondition(outbox.path() + ": no sender recorded; prepare the campaign first");
  auto summary = outbox.Summary();
  if (!summary.ok()) return summary.status();

  SendReport report;
  SendProgress& p = report.progress;
  p.to_send = summary->pending + (options.resend_unknown ? summary->unknown : 0);
  if (progress) progress(p);
  const int64_t interval_us = options.rate_per_second > 0 ? static_cast<int64_t>(1e6 / options.rate_per_second) : 0;
  int64_t next_slot = clock.now_us();
  int consecutive_retries = 0;
  // A notice that came back for a retry (requeued at the end) is not claimed again in the same run.
  auto horizon = outbox.MaxSeq();
  if (!horizon.ok()) return horizon.status();

  for (;;) {
    // Rate limit, in short slices so that a stop request is seen promptly.
    for (int64_t now = clock.now_us(); now < next_slot && !stopping(); now = clock.now_us()) {
      clock.sleep_us(std::min<int64_t>(next_slot - now, 100'000));
    }
    if (stopping()) {
      report.interrupted = true;
      break;
    }
    auto claimed = outbox.ClaimNext(options.resend_unknown, clock.now_us(), *horizon);
    if (!claimed.ok()) return claimed.status();
    if (!claimed->has_value()) break;
    const Outbox::Claimed& c = **claimed;
    next_slot = std::max(next_slot + interval_us, clock.now_us());
    const SendResult r = transport.Send(*sender, c.entry.recipient, c.message);
    const int64_t now = clock.now_us();
    const std::string& id = c.entry.notice_id;
    Status mark;
    switch (r.outcome) {
      case SendResult::Outcome::kAccepted:
        mark = outbox.MarkSent(id, r.detail, now);
        ++p.sent;
        consecutive_retries = 0;
        break;
      case SendResult::Outcome::kRejected:
        mark = outbox.MarkFailed(id, r.detail, now);
        ++p.failed;
        consecutive_retries = 0;
        break;
      case SendResult::Outcome::kUnknown:
        mark = outbox.MarkUnknown(id, "the connection broke after the message was sent, before the server's reply: " +
                                          r.detail, now);
        ++p.unknown;
        break;
      case SendResult::Outcome::kRetry:
        mark = outbox.MarkRetry(id, r.detail, now);
        ++p.retry;
        ++consecutive_retries;
        break;
      case SendResult::Outcome::kFatal:
        mark = outbox.MarkRetry(id, r.detail, now);
        report.stopped_because = Status::FailedPrecondition("the SMTP server cannot be used: " + r.detail);
        break;
    }
    if (!mark.ok()) return mark;
    ++p.done;
    p.last_notice = id;
    if (progress) progress(p);
    if (!report.stopped_because.ok()) break;
    if (options.max_consecutive_retries > 0 && consecutive_retries >= options.max_consecutive_retries) {
      report.stopped_because = Status::Unavailable(std::to_string(consecutive_retries) +
                                                   " notices in a row could not be delivered (last: " + r.detail +
                                                   "); stopped, run again to continue");
      break;
    }
  }
  return report;
}

StatusOr<CampaignSummary> CampaignStatus(const std::string& incident_dir) {
  const std::string path = OutboxPath(incident_dir);
  if (!std::filesystem::exists(path)) return Status::NotFound(path + ": no notice campaign for this incident yet");
  // Read-only: a live sender's current notice shows as `sending`; a crashed sender's too, until the next
  // send turns it into unknown.
  auto outbox = Outbox::OpenReadOnly(path);
  if (!outbox.ok()) return outbox.status();
  return (*outbox)->Summary();
}

std::string FormatCampaignStatus(const CampaignSummary& s) {
  std::string out;
  out += "notices: " + std::to_string(s.total) + "  sent: " + std::to_string(s.sent) + "  pending: " +
         std::to_string(s.pending) + "  failed: " + std::to_string(s.failed) + "  unknown: " + std::to_string(s.unknown);
  if (s.sending) out += "  sending: " + std::to_string(s.sending);
  out += "\n";
  for (const OutboxEntry& e : s.failed_notices) {
    out += "failed   " + e.notice_id + "  " + e.recipient + "  (subject " + e.subject + "): " + e.reason + "\n";
  }
  for (const OutboxEntry& e : s.unknown_notices) {
    out += "unknown  " + e.notice_id + "  " + e.recipient + "  (subject " + e.subject + "): " + e.reason +
           " — resent only with --resend-unknown\n";
  }
  for (const OutboxEntry& e : s.retrying) {
    out += "pending  " + e.notice_id + "  " + e.recipient + "  (subject " + e.subject + "), last try: " + e.reason + "\n";
  }
  return out;
}

std::string ProgressBarLine(const SendProgress& p, int width) {
  const std::string tail = "  " + std::to_string(p.done) + "/" + std::to_string(p.to_send) + "  sent " +
                           std::to_string(p.sent) + "  failed " + std::to_string(p.failed) + "  unknown " +
                           std::to_string(p.unknown) + "  retry " + std::to_string(p.retry);
  const int bar = std::max(10, width - static_cast<int>(tail.size()) - 2);
  const int filled = p.to_send == 0 ? bar : static_cast<int>(static_cast<double>(p.done) / p.to_send * bar);
  std::string out = "[";
  out.append(static_cast<size_t>(std::min(filled, bar)), '#');
  out.append(static_cast<size_t>(bar - std::min(filled, bar)), '.');
  out += "]" + tail;
  return out;
}

}  // namespace vg::notify
