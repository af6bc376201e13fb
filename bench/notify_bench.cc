// Breach notices (issue #6): render + check + sign one notice with the default template (the work
// PrepareCampaign does per affected person, without the outbox and file writes), the same with the German
// template, and the parts alone (link and markup check, quoted-printable, signature, verification).
//   ./build/release/bench/notify_bench --benchmark_min_time=2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "notify/notice.h"
#include "notify/notice_key.h"

namespace {

using namespace vg;
using namespace vg::notify;

constexpr int64_t kDay = int64_t{86'400} * 1'000'000;
constexpr int64_t kNov9 = int64_t{1'762'646'400} * 1'000'000;

struct Fixture {
  Fixture() : key(Key()) {
    org.name = "Example Inc.";
    org.contact = "privacy@example.com";
    org.domain = "example.com";
    auto t = NoticeTemplate::Load(std::string(VG_SOURCE_DIR) + "/templates/notice");
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().message().c_str());
      std::abort();
    }
    tmpl = *t;
  }
  static NoticeKey Key() {
    std::array<uint8_t, 32> seed;
    seed.fill(3);
    return NoticeKey::FromSeed(seed);
  }
  NoticeInput Input(int i) const {
    NoticeInput in;
    in.notice_id = NewNoticeId();
    in.email = "user" + std::to_string(i) + "@example.org";
    in.name = "Person " + std::to_string(i);
    in.locale = "en";
    in.categories = (i % 3 == 0) ? vg::kCatIdentifier | vg::kCatContact | vg::kCatDevice | vg::kCatActivity
                                 : vg::kCatIdentifier | vg::kCatLocation | vg::kCatReferrer;
    in.first_disclosure_us = kNov9 - 30 * kDay;
    in.last_disclosure_us = kNov9 + 2 * kDay;
    in.window_from_us = kNov9;
    in.window_to_us = kNov9 + 16 * kDay;
    in.vendor = "Mixpanel";
    in.identifiers_pseudonymized = true;
    in.measures = "We stopped sending any data to Mixpanel on 25 November 2025.";
    in.organization = &org;
    in.date_us = kNov9 + 20 * kDay;
    return in;
  }
  Config::Organization org;
  NoticeKey key;
  std::shared_ptr<const NoticeTemplate> tmpl;
};

const Fixture& F() {
  static const Fixture f;
  return f;
}

// The figure for the target: notices rendered, checked and signed per second on one core.
void BM_RenderAndSign(benchmark::State& state) {
  const Fixture& f = F();
  int i = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    auto n = f.tmpl->Render(f.Input(i++), f.key);
    if (!n.ok()) state.SkipWithError(n.status().message().c_str());
    bytes += n->message.size();
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_RenderAndSign);

// The same for recipients whose locale picks the German template (templates/notice/de/): more bytes go
// through the quoted-printable encoder's byte-wise path (umlauts).
void BM_RenderAndSignGerman(benchmark::State& state) {
  const Fixture& f = F();
  int i = 0;
  for (auto _ : state) {
    NoticeInput in = f.Input(i++);
    in.locale = "de-AT";
    auto n = f.tmpl->Render(in, f.key);
    if (!n.ok()) state.SkipWithError(n.status().message().c_str());
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderAndSignGerman);

// The two checks' parts alone, on one rendered notice's text and HTML.
struct Parts {
  std::string text, html;
};
const Parts& RenderedParts() {
  static const Parts p = [] {
    const Fixture& f = F();
    auto n = f.tmpl->Render(f.Input(3), f.key);
    const std::string& m = n->message;
    auto part = [&](std::string_view type) {
      const size_t ct = m.find(type);
      const size_t body = m.find("\r\n\r\n", ct) + 4;
      return QuotedPrintableDecode(std::string_view(m).substr(body, m.find("--=_vg_", body) - body));
    };
    return Parts{part("Content-Type: text/plain"), part("Content-Type: text/html")};
  }();
  return p;
}

void BM_CheckLinksAndMarkup(benchmark::State& state) {
  const Parts& p = RenderedParts();
  for (auto _ : state) {
    benchmark::DoNotOptimize(CheckLinksAndMarkup(p.text, "example.com", false));
    benchmark::DoNotOptimize(CheckLinksAndMarkup(p.html, "example.com", true));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (p.text.size() + p.html.size())));
}
BENCHMARK(BM_CheckLinksAndMarkup);

void BM_QuotedPrintableEncode(benchmark::State& state) {
  const Parts& p = RenderedParts();
  for (auto _ : state) {
    benchmark::DoNotOptimize(QuotedPrintableEncode(p.text));
    benchmark::DoNotOptimize(QuotedPrintableEncode(p.html));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (p.text.size() + p.html.size())));
}
BENCHMARK(BM_QuotedPrintableEncode);

void BM_SignOnly(benchmark::State& state) {
  const Fixture& f = F();
  const std::string msg(3000, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(f.key.Sign(msg));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignOnly);

void BM_Verify(benchmark::State& state) {
  const Fixture& f = F();
  auto n = f.tmpl->Render(f.Input(1), f.key);
  for (auto _ : state) benchmark::DoNotOptimize(VerifyNotice(n->message, f.key.public_key(), "example.com"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Verify);

}  // namespace

BENCHMARK_MAIN();
