// A notice campaign (issue #6): from an incident's affected subjects and the company's contact directory to
// one signed notice per person in a durable outbox, then delivered over SMTP, resumably.
//
//   <incident dir>/notices/outbox.db       the outbox (outbox.h): the source of truth for what was sent
//   <incident dir>/notices/<id>.eml        each notice as sent, for the record and for `notice verify`
//   <incident dir>/notices/missing-contacts.txt   affected subjects with no contact (one per line)
//
// PrepareCampaign may be run again (after the contact directory was fixed): subjects that already have a
// notice keep it; only the others get one. SendCampaign sends what is pending, rate-limited, and can be
// interrupted (stop flag, e.g. set by SIGINT) between messages; run it again to continue.
//
// Thread-safety: the functions use the objects they are given from the calling thread only; the stop flag
// may be set from any thread or a signal handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "notify/contacts.h"
#include "notify/notice.h"
#include "notify/notice_key.h"
#include "notify/outbox.h"
#include "notify/smtp.h"

namespace vg::notify {

// One affected person, as the breach assessment found them.
struct AffectedPerson {
  std::string subject;
  CategorySet categories = 0;
  int64_t first_us = 0;  // first and last disclosure the vendor held
  int64_t last_us = 0;
};

struct CampaignSpec {
  std::string incident_dir;  // <data_dir>/incidents/<id>
  std::string vendor;
  int64_t window_from_us = 0;
  int64_t window_to_us = 0;
  bool identifiers_pseudonymized = false;
  std::string measures;  // "We stopped sending any data to Mixpanel on 25 November 2025."
  Config::Organization organization;
  std::string from_address;  // default: see NoticeInput::from_address
  int64_t now_us = 0;        // the notices' Date
};

struct PreparedCampaign {
  std::string outbox_path;
  size_t notices_total = 0;  // in the outbox, all states
  size_t notices_added = 0;  // by this call
  std::vector<std::string> missing_contacts;  // affected subjects without a contact: no notice, listed
  std::vector<std::pair<std::string, std::string>> not_prepared;  // subject, why (e.g. a bad name)
  std::vector<ContactProblem> contact_problems;                  // the directory's bad lines
};

inline std::string OutboxPath(const std::string& incident_dir) { return incident_dir + "/notices/outbox.db"; }

// Renders and signs a notice for every affected subject with a contact and no notice yet, stores them in
// the outbox and as .eml files. Fails (nothing added) on I/O errors and when the template itself is unsafe
// (every render fails); a render failure of one person's data lands in not_prepared.
[[nodiscard]] StatusOr<PreparedCampaign> PrepareCampaign(const CampaignSpec& spec,
                                                         const std::vector<AffectedPerson>& affected,
                                                         const ContactDirectory& contacts,
                                                         const NoticeTemplate& tmpl, const NoticeKey& key);

struct SendProgress {
  uint64_t to_send = 0;  // claimed or claimable when the run started
  uint64_t done = 0;     // transactions finished in this run
  uint64_t sent = 0, failed = 0, retry = 0, unknown = 0;  // this run's outcomes
  std::string last_notice;
};
using ProgressFn = std::function<void(const SendProgress&)>;

struct SendReport {
  SendProgress progress;
  bool interrupted = false;  // the stop flag ended the run
  Status stopped_because;    // ok, or why the run stopped early (fatal transport error, too many retries)
};

// The clock and sleep the sender uses (tests make the rate limiter instant).
struct CampaignClock {
  std::function<int64_t()> now_us;          // default: the system clock
  std::function<void(int64_t)> sleep_us;    // default: std::this_thread::sleep_for
};

// Sends every pending notice (and unknown ones with options.resend_unknown) through `transport`, at most
// options.rate_per_second, recording each outcome in the outbox before the next. Returns IOError when the
// outbox cannot be written (the notice being sent is then left `sending`, i.e. unknown at the next open).
[[nodiscard]] StatusOr<SendReport> SendCampaign(Outbox& outbox, NoticeTransport& transport, const SmtpOptions& options,
                                                const ProgressFn& progress = nullptr,
                                                const std::atomic<bool>* stop = nullptr, CampaignClock clock = {});

// The outbox's summary (sent, pending, failed with reasons, unknown listed).
[[nodiscard]] StatusOr<CampaignSummary> CampaignStatus(const std::string& incident_dir);
// Human-readable summary, several lines.
std::string FormatCampaignStatus(const CampaignSummary& s);
// "[#########.........]  42/100  sent 40  failed 1  unknown 0  retry 1" for a terminal of `width` columns.
std::string ProgressBarLine(const SendProgress& p, int width = 80);

}  // namespace vg::notify
