#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "notify/campaign.h"
#include "notify_test_util.h"

namespace vg::notify {
namespace {

using namespace vg::notify::testing;
using Outcome = SendResult::Outcome;

// ---- The outbox state machine ----

std::vector<Outbox::NewNotice> ThreeNotices() {
  return {{"N-0000000001", "s1", "a@example.org", "m1"},
          {"N-0000000002", "s2", "b@example.org", "m2"},
          {"N-0000000003", "s3", "c@example.org", "m3"}};
}

TEST(OutboxTest, ResumeAfterCrashTurnsSendingIntoUnknown) {
  TempDir dir;
  const std::string path = (dir.path() / "outbox.db").string();
  {
    auto ob = Outbox::Open(path, 1);
    ASSERT_TRUE(ob.ok()) << ob.status().message();
    size_t added = 0;
    ASSERT_TRUE((*ob)->Add(ThreeNotices(), 1, &added).ok());
    EXPECT_EQ(added, 3u);
    // Adding the same subjects again changes nothing.
    ASSERT_TRUE((*ob)->Add({{"N-0000000009", "s1", "z@example.org", "mz"}}, 1, &added).ok());
    EXPECT_EQ(added, 0u);
    auto c1 = (*ob)->ClaimNext(false, 2);
    ASSERT_TRUE(c1.ok() && c1->has_value());
    EXPECT_EQ((*c1)->entry.notice_id, "N-0000000001");
    EXPECT_EQ((*c1)->message, "m1");
    ASSERT_TRUE((*ob)->MarkSent("N-0000000001", "250 ok", 3).ok());
    // A second claim, then the process "dies" mid-transaction (the outbox is closed without an outcome).
    auto c2 = (*ob)->ClaimNext(false, 4);
    ASSERT_TRUE(c2.ok() && c2->has_value());
    EXPECT_EQ((*c2)->entry.notice_id, "N-0000000002");
    // A second sender is refused while this one holds the campaign.
    auto other = Outbox::Open(path, 4);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().code(), Status::Code::kFailedPrecondition) << other.status().message();
    // Status, read-only, sees the notice being sent.
    auto ro = Outbox::OpenReadOnly(path);
    ASSERT_TRUE(ro.ok());
    auto live = (*ro)->Summary();
    ASSERT_TRUE(live.ok());
    EXPECT_EQ(live->sending, 1u);
  }
  auto ob = Outbox::Open(path, 5);
  ASSERT_TRUE(ob.ok()) << ob.status().message();
  EXPECT_EQ((*ob)->recovered(), std::vector<std::string>{"N-0000000002"});
  auto s = (*ob)->Summary();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sent, 1u);
  EXPECT_EQ(s->unknown, 1u);
  EXPECT_EQ(s->pending, 1u);
  ASSERT_EQ(s->unknown_notices.size(), 1u);
  EXPECT_NE(s->unknown_notices[0].reason.find("interrupted"), std::string::npos);
  // Without asking, the unknown one is not resent: only the pending one is claimed.
  auto c = (*ob)->ClaimNext(false, 6);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->entry.notice_id, "N-0000000003");
  ASSERT_TRUE((*ob)->MarkFailed("N-0000000003", "550 no such mailbox", 7).ok());
  c = (*ob)->ClaimNext(false, 8);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
  // When asked, it is.
  c = (*ob)->ClaimNext(true, 9);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->entry.notice_id, "N-0000000002");
  EXPECT_EQ((*c)->entry.attempts, 2);
  ASSERT_TRUE((*ob)->MarkSent("N-0000000002", "250 ok", 10).ok());
  // A sent notice can never be marked again.
  EXPECT_FALSE((*ob)->MarkRetry("N-0000000002", "x", 11).ok());
  s = (*ob)->Summary();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sent, 2u);
  EXPECT_EQ(s->failed, 1u);
  ASSERT_EQ(s->failed_notices.size(), 1u);
  EXPECT_EQ(s->failed_notices[0].reason, "550 no such mailbox");
  const std::string text = FormatCampaignStatus(*s);
  EXPECT_NE(text.find("sent: 2"), std::string::npos) << text;
  EXPECT_NE(text.find("550 no such mailbox"), std::string::npos) << text;
}

// ---- Campaigns with a scripted transport ----

class ScriptedTransport : public NoticeTransport {
 public:
  std::function<SendResult(const std::string& to)> decide = [](const std::string&) {
    return SendResult{Outcome::kAccepted, 250, "250 ok"};
  };
  std::vector<std::string> delivered;
  SendResult Send(const std::string& from, const std::string& to, std::string_view message) override {
    EXPECT_EQ(from, "privacy@example.com");
    SendResult r = decide(to);
    if (r.outcome == Outcome::kAccepted || r.outcome == Outcome::kUnknown) delivered.push_back(to);
    return r;
  }
};

CampaignClock InstantClock() {
  auto now = std::make_shared<int64_t>(kNov9);
  return {[now] { return *now; }, [now](int64_t us) { *now += us; }};
}

class CampaignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = NoticeTemplate::Load(DefaultTemplateDir());
    ASSERT_TRUE(t.ok()) << t.status().message();
    tmpl_ = *t;
    spec_.incident_dir = (dir_.path() / "INC-1").string();
    spec_.vendor = "Mixpanel";
    spec_.window_from_us = kNov9;
    spec_.window_to_us = kNov9 + 16 * kDay;
    spec_.identifiers_pseudonymized = true;
    spec_.measures = "We stopped sending data to Mixpanel.";
    spec_.organization = TestOrg();
    spec_.now_us = kNov9 + 20 * kDay;
  }
  // n affected subjects u0..u(n-1) with contacts u0@example.org..., except the `without` ones.
  PreparedCampaign Prepare(int n, std::set<int> without = {}, std::map<int, std::string> emails = {}) {
    std::vector<AffectedPerson> affected;
    std::string csv = "subject,email,name,locale\n";
    for (int i = 0; i < n; ++i) {
      const std::string s = "u" + std::to_string(i);
      affected.push_back({s, i % 2 ? kCatContact | kCatIdentifier : kCatDevice | kCatActivity, kNov9 - kDay, kNov9});
      if (without.contains(i)) continue;
      const std::string email = emails.contains(i) ? emails[i] : s + "@example.org";
      csv += s + "," + email + ",Person " + std::to_string(i) + ",en\n";
    }
    auto contacts = ParseContactsCsv(csv, "contacts.csv");
    EXPECT_TRUE(contacts.ok());
    auto p = PrepareCampaign(spec_, affected, *contacts, *tmpl_, key_);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? *p : PreparedCampaign{};
  }
  std::unique_ptr<Outbox> OpenOutbox() {
    auto ob = Outbox::Open(OutboxPath(spec_.incident_dir), kNov9);
    EXPECT_TRUE(ob.ok()) << ob.status().message();
    return ob.ok() ? std::move(*ob) : nullptr;
  }
  TempDir dir_;
  CampaignSpec spec_;
  NoticeKey key_ = TestKey();
  std::shared_ptr<const NoticeTemplate> tmpl_;
};

TEST_F(CampaignTest, PrepareListsMissingContactsAndIsIdempotent) {
  PreparedCampaign p = Prepare(6, {2, 5});
  EXPECT_EQ(p.notices_added, 4u);
  EXPECT_EQ(p.notices_total, 4u);
  EXPECT_EQ(p.missing_contacts, (std::vector<std::string>{"u2", "u5"}));
  EXPECT_EQ(ReadFile(spec_.incident_dir + "/notices/missing-contacts.txt"), "u2\nu5\n");
  // Each .eml is a signed notice for its person.
  int emls = 0;
  for (const auto& e : std::filesystem::directory_iterator(spec_.incident_dir + "/notices")) {
    if (e.path().extension() != ".eml") continue;
    ++emls;
    const NoticeVerification v = VerifyNotice(ReadFile(e.path()), key_.public_key(), "example.com");
    EXPECT_TRUE(v.genuine()) << e.path() << ": " << v.reason;
    EXPECT_EQ(e.path().stem().string(), v.notice_id);
  }
  EXPECT_EQ(emls, 4);
  // The contacts fixed: only the two missing ones are added.
  PreparedCampaign again = Prepare(6);
  EXPECT_EQ(again.notices_added, 2u);
  EXPECT_EQ(again.notices_total, 6u);
  EXPECT_TRUE(again.missing_contacts.empty());
}

TEST_F(CampaignTest, PrepareRefusesAnUnsafeTemplate) {
  auto bad = NoticeTemplate::FromStrings("Subject", "Reset your password at https://evil.example/reset\n", "", "bad/");
  ASSERT_TRUE(bad.ok());
  auto contacts = ParseContactsCsv("subject,email\nu1,a@example.org\n", "c.csv");
  auto p = PrepareCampaign(spec_, {{"u1", kCatContact, kNov9, kNov9}}, *contacts, **bad, key_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("bad/body.txt.tpl"), std::string::npos) << p.status().message();
}

TEST_F(CampaignTest, OutcomesAreRecordedWithReasons) {
  Prepare(8);
  auto ob = OpenOutbox();
  ScriptedTransport t;
  t.decide = [](const std::string& to) -> SendResult {
    if (to == "u1@example.org") return {Outcome::kRejected, 550, "RCPT failed: 550 no such mailbox"};
    if (to == "u2@example.org") return {Outcome::kRetry, 451, "451 try again later"};
    if (to == "u3@example.org") return {Outcome::kUnknown, 0, "connection reset"};
    return {Outcome::kAccepted, 250, "250 accepted"};
  };
  SmtpOptions opt;
  opt.rate_per_second = 100;
  std::vector<std::string> bars;
  auto r = SendCampaign(*ob, t, opt, [&](const SendProgress& p) { bars.push_back(ProgressBarLine(p, 80)); }, nullptr,
                        InstantClock());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->progress.sent, 5u);
  EXPECT_EQ(r->progress.failed, 1u);
  EXPECT_EQ(r->progress.retry, 1u);
  EXPECT_EQ(r->progress.unknown, 1u);
  ASSERT_EQ(bars.size(), 9u);
  EXPECT_NE(bars.back().find("8/8"), std::string::npos) << bars.back();
  EXPECT_EQ(bars.back().size(), 80u) << bars.back();
  ob.reset();
  auto s = CampaignStatus(spec_.incident_dir);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->sent, 5u);
  EXPECT_EQ(s->pending, 1u);
  EXPECT_EQ(s->failed, 1u);
  EXPECT_EQ(s->unknown, 1u);
  const std::string text = FormatCampaignStatus(*s);
  EXPECT_NE(text.find("550 no such mailbox"), std::string::npos) << text;
  EXPECT_NE(text.find("451 try again later"), std::string::npos) << text;
  EXPECT_NE(text.find("connection reset"), std::string::npos) << text;
  EXPECT_NE(text.find("--resend-unknown"), std::string::npos) << text;

  // A second run sends the retried one only; the unknown one only when asked.
  ob = OpenOutbox();
  t.delivered.clear();
  t.decide = [](const std::string&) { return SendResult{Outcome::kAccepted, 250, "250 ok"}; };
  r = SendCampaign(*ob, t, opt, nullptr, nullptr, InstantClock());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(t.delivered, std::vector<std::string>{"u2@example.org"});
  opt.resend_unknown = true;
  r = SendCampaign(*ob, t, opt, nullptr, nullptr, InstantClock());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(t.delivered, (std::vector<std::string>{"u2@example.org", "u3@example.org"}));
}

TEST_F(CampaignTest, StopFlagAndFatalErrorsLeaveTheRestPending) {
  Prepare(6);
  auto ob = OpenOutbox();
  ScriptedTransport t;
  std::atomic<bool> stop{false};
  SmtpOptions opt;
  auto r = SendCampaign(*ob, t, opt, [&](const SendProgress& p) { if (p.done == 2) stop = true; }, &stop, InstantClock());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->interrupted);
  EXPECT_EQ(t.delivered.size(), 2u);
  auto s = ob->Summary();
  EXPECT_EQ(s->sent, 2u);
  EXPECT_EQ(s->pending, 4u);
  EXPECT_EQ(s->sending, 0u);
  // Authentication refused: the run stops at once, nothing is lost.
  t.decide = [](const std::string&) { return SendResult{Outcome::kFatal, 535, "Login denied"}; };
  r = SendCampaign(*ob, t, opt, nullptr, nullptr, InstantClock());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->stopped_because.ok());
  EXPECT_NE(r->stopped_because.message().find("Login denied"), std::string::npos);
  s = ob->Summary();
  EXPECT_EQ(s->pending, 4u);
  // The server down: stops after max_consecutive_retries.
  opt.max_consecutive_retries = 2;
  t.decide = [](const std::string&) { return SendResult{Outcome::kRetry, 0, "Couldn't connect to server"}; };
  r = SendCampaign(*ob, t, opt, nullptr, nullptr, InstantClock());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->progress.done, 2u);
  EXPECT_TRUE(r->stopped_because.retryable());
}

TEST_F(CampaignTest, RateLimitSpacesMessages) {
  Prepare(5);
  auto ob = OpenOutbox();
  ScriptedTransport t;
  auto now = std::make_shared<int64_t>(0);
  std::vector<int64_t> send_times;
  t.decide = [&](const std::string&) {
    send_times.push_back(*now);
    return SendResult{Outcome::kAccepted, 250, "ok"};
  };
  SmtpOptions opt;
  opt.rate_per_second = 4;
  auto r = SendCampaign(*ob, t, opt, nullptr, nullptr, {[now] { return *now; }, [now](int64_t us) { *now += us; }});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(send_times.size(), 5u);
  for (size_t i = 1; i < send_times.size(); ++i) EXPECT_GE(send_times[i] - send_times[i - 1], 250'000);
}

// ---- Delivery to a real SMTP server (aiosmtpd) ----

std::string FindAiosmtpdPython() {
  for (std::string py : {"/usr/bin/python3", "python3"}) {
    if (RunShell(py + " -c 'import aiosmtpd' >/dev/null") == 0) return py;
  }
  return "";
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// aiosmtpd on 127.0.0.1 writing every accepted message to a directory (tests/unit/notify/smtp_sink.py).
class SmtpSink {
 public:
  // `tls`: {certificate, key} files: STARTTLS offered and required (aiosmtpd's default with a certificate).
  SmtpSink(const std::string& python, const std::filesystem::path& maildir,
           std::pair<std::string, std::string> tls = {}) : maildir_(maildir) {
    std::filesystem::create_directories(maildir);
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = FreePort();
      const std::string listen = "127.0.0.1:" + std::to_string(port_);
      const std::string pythonpath = SourceDir() + "/tests/unit/notify";
      pid_ = ::fork();
      if (pid_ == 0) {
        ::setenv("PYTHONPATH", pythonpath.c_str(), 1);
        if (!tls.first.empty()) {
          ::execlp(python.c_str(), python.c_str(), "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "--tlscert",
                   tls.first.c_str(), "--tlskey", tls.second.c_str(), "-c", "smtp_sink.DirHandler", maildir.c_str(),
                   static_cast<char*>(nullptr));
        }
        ::execlp(python.c_str(), python.c_str(), "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c",
                 "smtp_sink.DirHandler", maildir.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
      }
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (!CanConnect(port_) && std::chrono::steady_clock::now() < deadline) {
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;  // exited (the port was taken?): try another
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (pid_ > 0 && !CanConnect(port_)) Stop();
    }
  }
  ~SmtpSink() { Stop(); }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  bool running() const { return pid_ > 0; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::filesystem::path> Messages() const {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(maildir_)) {
      if (e.path().extension() == ".eml" && !e.path().filename().string().starts_with(".")) out.push_back(e.path());
    }
    return out;
  }

 private:
  std::filesystem::path maildir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class SmtpDeliveryTest : public CampaignTest {
 protected:
  void SetUp() override {
    CampaignTest::SetUp();
    python_ = FindAiosmtpdPython();
    if (python_.empty()) GTEST_SKIP() << "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd): SMTP delivery not tested";
    sink_ = std::make_unique<SmtpSink>(python_, dir_.path() / "maildir");
    ASSERT_TRUE(sink_->running()) << "aiosmtpd did not start";
    opt_.url = sink_->url();
    opt_.starttls = SmtpOptions::StartTls::kOff;  // the loopback test server has no certificate
    opt_.rate_per_second = 0;
    opt_.connect_timeout_ms = 5000;
    opt_.timeout_ms = 20000;
  }
  // Recipient -> messages received, each checked genuine.
  std::map<std::string, int> Received() {
    std::map<std::string, int> out;
    for (const auto& path : sink_->Messages()) {
      const NoticeVerification v = VerifyNotice(ReadFile(path), key_.public_key(), "example.com");
      EXPECT_TRUE(v.genuine()) << path << ": " << v.reason;
      ++out[v.recipient];
    }
    return out;
  }
  std::string python_;
  std::unique_ptr<SmtpSink> sink_;
  SmtpOptions opt_;
};

TEST_F(SmtpDeliveryTest, EveryAffectedSubjectGetsOneGenuineNotice) {
  Prepare(12, {4}, {{7, "reject-u7@example.org"}});
  auto ob = OpenOutbox();
  auto transport = MakeSmtpTransport(opt_);
  ASSERT_TRUE(transport.ok()) << transport.status().message();
  auto r = SendCampaign(*ob, **transport, opt_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->stopped_because.ok()) << r->stopped_because.message();
  EXPECT_EQ(r->progress.sent, 10u);
  EXPECT_EQ(r->progress.failed, 1u);
  const auto got = Received();
  EXPECT_EQ(got.size(), 10u);
  for (int i = 0; i < 12; ++i) {
    if (i == 4 || i == 7) continue;
    EXPECT_EQ(got.count("u" + std::to_string(i) + "@example.org"), 1u) << i;
  }
  for (const auto& [to, n] : got) EXPECT_EQ(n, 1) << to;
  auto s = ob->Summary();
  ASSERT_EQ(s->failed_notices.size(), 1u);
  EXPECT_NE(s->failed_notices[0].reason.find("550"), std::string::npos) << s->failed_notices[0].reason;
  // Re-running sends nothing more.
  r = SendCampaign(*ob, **transport, opt_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->progress.done, 0u);
  EXPECT_EQ(sink_->Messages().size(), 10u);
}

TEST_F(SmtpDeliveryTest, KilledHalfWayAndResumedDeliversTheRestExactlyOnce) {
  constexpr int kPeople = 30;
  Prepare(kPeople);
  // The sender in a child process, at 20 messages/s, killed once some have arrived.
  const pid_t child = ::fork();
  if (child == 0) {
    auto ob = Outbox::Open(OutboxPath(spec_.incident_dir), kNov9);
    if (!ob.ok()) ::_exit(3);
    SmtpOptions o = opt_;
    o.rate_per_second = 20;
    auto t = MakeSmtpTransport(o);
    auto r = SendCampaign(**ob, **t, o);
    ::_exit(r.ok() ? 0 : 4);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (sink_->Messages().size() < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sender finished before it was killed";
  const size_t before = sink_->Messages().size();
  ASSERT_GE(before, 10u);
  ASSERT_LT(before, static_cast<size_t>(kPeople));

  // Resume: whatever the child was sending is unknown, the rest are sent once.
  auto ob = OpenOutbox();
  const std::set<std::string> unknown_ids(ob->recovered().begin(), ob->recovered().end());
  auto transport = MakeSmtpTransport(opt_);
  auto r = SendCampaign(*ob, **transport, opt_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto s = ob->Summary();
  ASSERT_TRUE(s.ok());
  std::set<std::string> unknown_recipients;
  for (const OutboxEntry& e : s->unknown_notices) {
    EXPECT_TRUE(unknown_ids.contains(e.notice_id));
    unknown_recipients.insert(e.recipient);
  }
  EXPECT_EQ(s->sent + s->unknown, static_cast<uint64_t>(kPeople));
  auto got = Received();
  for (int i = 0; i < kPeople; ++i) {
    const std::string to = "u" + std::to_string(i) + "@example.org";
    if (unknown_recipients.contains(to)) {
      EXPECT_LE(got[to], 1) << to;  // the server may or may not have it
    } else {
      EXPECT_EQ(got[to], 1) << to << " (nobody gets two, nobody is left out)";
    }
  }
  // Asked to, the unknown ones are resent: everyone has the notice, and only they may have two.
  SmtpOptions again = opt_;
  again.resend_unknown = true;
  r = SendCampaign(*ob, **transport, again);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->progress.sent, unknown_recipients.size());
  got = Received();
  for (int i = 0; i < kPeople; ++i) {
    const std::string to = "u" + std::to_string(i) + "@example.org";
    EXPECT_GE(got[to], 1) << to;
    if (!unknown_recipients.contains(to)) EXPECT_EQ(got[to], 1) << to;
  }
  EXPECT_EQ(ob->Summary()->sent, static_cast<uint64_t>(kPeople));
}

TEST_F(SmtpDeliveryTest, StartTlsRequiredFailsAgainstAPlainServer) {
  Prepare(2);
  auto ob = OpenOutbox();
  SmtpOptions o = opt_;
  o.starttls = SmtpOptions::StartTls::kRequired;
  auto transport = MakeSmtpTransport(o);
  auto r = SendCampaign(*ob, **transport, o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->stopped_because.ok());
  EXPECT_EQ(ob->Summary()->pending, 2u);
  EXPECT_TRUE(sink_->Messages().empty());
}

// STARTTLS against a server that requires it, with a certificate the test makes: delivered over TLS and
// genuine when the certificate is trusted (SmtpOptions::ca_file); refused, nothing sent, when it is not.
TEST_F(CampaignTest, StartTlsRequiredDeliversOverTlsWithATrustedCertificate) {
  const std::string python = FindAiosmtpdPython();
  if (python.empty()) GTEST_SKIP() << "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd): STARTTLS not tested";
  if (RunShell("command -v openssl >/dev/null") != 0) GTEST_SKIP() << "openssl is not installed: no certificate, STARTTLS not tested";
  const std::filesystem::path tls = dir_.path() / "tls";
  std::filesystem::create_directories(tls);
  const std::string cert = (tls / "cert.pem").string(), key = (tls / "key.pem").string();
  std::string out;
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "
                          "subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" + cert + "'";
  ASSERT_EQ(RunShell(cmd, &out), 0) << cmd << "\n" << out;
  SmtpSink sink(python, dir_.path() / "maildir", {cert, key});
  ASSERT_TRUE(sink.running()) << "aiosmtpd with --tlscert did not start";
  Prepare(3);
  auto ob = OpenOutbox();

  SmtpOptions o;
  o.url = sink.url();
  o.starttls = SmtpOptions::StartTls::kRequired;
  o.rate_per_second = 0;
  o.connect_timeout_ms = 5000;
  o.timeout_ms = 20000;
  // Not trusted (the system's CAs do not know the certificate): a fatal stop before any message.
  {
    auto transport = MakeSmtpTransport(o);
    ASSERT_TRUE(transport.ok()) << transport.status().message();
    auto r = SendCampaign(*ob, **transport, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_FALSE(r->stopped_because.ok());
    EXPECT_EQ(r->progress.sent, 0u);
    EXPECT_EQ(ob->Summary()->pending, 3u);
    EXPECT_TRUE(sink.Messages().empty());
  }
  // Trusted: every notice delivered, over TLS, and genuine as received.
  o.ca_file = cert;
  auto transport = MakeSmtpTransport(o);
  ASSERT_TRUE(transport.ok()) << transport.status().message();
  auto r = SendCampaign(*ob, **transport, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->stopped_because.ok()) << r->stopped_because.message();
  EXPECT_EQ(r->progress.sent, 3u);
  EXPECT_EQ(ob->Summary()->sent, 3u);
  const auto messages = sink.Messages();
  ASSERT_EQ(messages.size(), 3u);
  std::set<std::string> recipients;
  for (const auto& path : messages) {
    const std::string eml = ReadFile(path);
    EXPECT_NE(eml.find(" with ESMTPS id "), std::string::npos) << path << ": not received over TLS\n" << eml.substr(0, 300);
    const NoticeVerification v = VerifyNotice(eml, key_.public_key(), "example.com");
    EXPECT_TRUE(v.genuine()) << path << ": " << v.reason;
    recipients.insert(v.recipient);
  }
  EXPECT_EQ(recipients, (std::set<std::string>{"u0@example.org", "u1@example.org", "u2@example.org"}));
}

}  // namespace
}  // namespace vg::notify
