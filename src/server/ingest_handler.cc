#include "server/ingest_handler.h"

#include <spdlog/spdlog.h>

#include "geo/geo_locator.h"
#include "ingest/mixpanel_request.h"
#include "wire/mixpanel.h"

namespace vg {
namespace {

// A transparent 1x1 GIF, what Mixpanel answers to `img=1`.
constexpr unsigned char kPixelGif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00,
                                       0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00,
                                       0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
                                       0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

std::string JsonError(std::string_view error) {
  std::string out = "{\"status\":0,\"error\":";
  AppendJsonString(&out, error);
  out.push_back('}');
  return out;
}

MixpanelParser& ThreadParser(size_t max_depth) {
  thread_local std::unique_ptr<MixpanelParser> parser;
  thread_local size_t depth = 0;
  if (!parser || depth != max_depth) {
    parser = std::make_unique<MixpanelParser>(max_depth);
    depth = max_depth;
  }
  return *parser;
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// A top-level identity value as text: strings as they are, integers in decimal (as the policy
// pseudonymizes them); "" for anything else.
std::string ScalarOf(const Event& e, std::string_view key) {
  for (const Property& p : e.properties) {
    if (p.key != key) continue;
    std::string_view s;
    if (p.value.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
    int64_t i;
    if (p.value.get_int64().get(i) == simdjson::SUCCESS) return std::to_string(i);
    uint64_t u;
    if (p.value.get_uint64().get(u) == simdjson::SUCCESS) return std::to_string(u);
    return {};
  }
  return {};
}

// The subject the ledger names an event by: the identifier as the product sent it, before
// pseudonymization — the track event's distinct_id, a profile update's $distinct_id, a group update's
// "<$group_key>:<$group_id>" (the organization or account it describes).
std::string SubjectOf(const Event& e) {
  switch (e.kind) {
    case EventKind::kTrack: return ScalarOf(e, "distinct_id");
    case EventKind::kProfile: return ScalarOf(e, "$distinct_id");
    case EventKind::kGroup: {
      std::string id = ScalarOf(e, "$group_id");
      if (id.empty()) return id;
      return ScalarOf(e, "$group_key") + ":" + id;
    }
  }
  return {};
}

}  // namespace

IngestHandler::IngestHandler(const Config& config, std::vector<VendorRuntime>* vendors, const GeoLocator* geo,
                             EventSubmitter* delivery, OpsEndpoints ops)
    : config_(config), vendors_(vendors), geo_(geo), delivery_(delivery), ops_(std::move(ops)) {
  for (const auto& c : config.trusted_proxies) {
    if (auto cidr = Cidr::Parse(c)) trusted_proxies_.push_back(*cidr);
  }
  for (const auto& c : config.metrics_allow) {
    if (auto cidr = Cidr::Parse(c)) metrics_allow_.push_back(*cidr);
  }
}

void IngestHandler::AddCors(const HttpRequestView& req, HttpResponse* resp) const {
  // The browser SDK sends cookies (withCredentials), so the origin is echoed rather than "*".
  if (!req.origin.empty()) {
    resp->headers.emplace_back("Access-Control-Allow-Origin", std::string(req.origin));
    resp->headers.emplace_back("Access-Control-Allow-Credentials", "true");
    resp->headers.emplace_back("Vary", "Origin");
  } else {
    resp->headers.emplace_back("Access-Control-Allow-Origin", "*");
  }
  resp->headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  resp->headers.emplace_back("Access-Control-Allow-Headers", req.access_control_request_headers.empty()
                                                                 ? std::string("Content-Type, Authorization")
                                                                 : std::string(req.access_control_request_headers));
  resp->headers.emplace_back("Access-Control-Max-Age", "86400");
}

HttpResponse IngestHandler::Answer(const HttpRequestView& req, bool verbose, bool img, const std::string& callback,
                                   int status, std::string_view error) const {
  HttpResponse resp;
  resp.status = status;
  const bool ok = error.empty();
  if (img && ok) {
    resp.content_type = "image/gif";
    resp.body.assign(reinterpret_cast<const char*>(kPixelGif), sizeof kPixelGif);
  } else if (verbose) {
    resp.content_type = "application/json";
    resp.body = ok ? "{\"status\":1,\"error\":null}" : JsonError(error);
  } else {
    resp.body = ok ? "1" : "0";
  }
  if (!callback.empty() && !img) {
    resp.content_type = "application/javascript";
    resp.body = callback + "(" + resp.body + ");";
  }
  resp.headers.emplace_back("Cache-Control", "no-store");
  AddCors(req, &resp);
  return resp;
}

HttpResponse IngestHandler::LocalJson(const HttpRequestView& req, std::string_view body) const {
  HttpResponse resp;
  resp.content_type = "application/json";
  resp.body = body;
  AddCors(req, &resp);
  return resp;
}

HttpResponse IngestHandler::TooLarge(const HttpRequestView& req) const {
  std::string reason = "request body exceeds the limit of " + std::to_string(config_.max_body_bytes) + " bytes";
  spdlog::warn("rejected {} from {}: {}", PathOf(req.target), req.peer.ToString(), reason);
  bool verbose = req.target.find("verbose=1") != std::string_view::npos;
  return Answer(req, verbose, false, "", 413, reason);
}

void IngestHandler::Handle(const HttpRequestView& req, std::function<void(HttpResponse)> done) const {
  HttpResponse now = HandleNow(req, done);
  if (now.status != 0) done(std::move(now));
}

// Answers everything that needs no spool write; for events, hands `done` to the commit and returns a
// response with status 0.
HttpResponse IngestHandler::HandleNow(const HttpRequestView& req, std::function<void(HttpResponse)>& done) const {
  if (req.method == "OPTIONS") {
    HttpResponse resp;
    resp.status = 204;
    AddCors(req, &resp);
    return resp;
  }
  std::string_view path = PathOf(req.target);
  if (path == "/healthz") {
    HttpResponse resp;
    resp.body = "ok\n";
    return resp;
  }
  if (path == "/readyz") {
    HttpResponse resp;
    const bool ready = !ops_.ready || ops_.ready();
    resp.status = ready ? 200 : 503;
    resp.body = ready ? "ready\n" : "not ready: the spool is full or failed\n";
    if (!ready) resp.headers.emplace_back("Retry-After", "5");
    return resp;
  }
  if (path == "/metrics" && ops_.metrics) {
    HttpResponse resp;
    bool allowed = false;
    for (const Cidr& c : metrics_allow_) allowed |= c.Contains(req.peer);
    if (!allowed) {
      resp.status = 403;
      resp.body = "metrics are served to the addresses in metrics_allow only\n";
      return resp;
    }
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp.body = ops_.metrics();
    return resp;
  }
  if (req.method != "GET" && req.method != "POST") {
    HttpResponse resp;
    resp.status = 405;
    resp.body = "0";
    resp.headers.emplace_back("Allow", "GET, POST, OPTIONS");
    return resp;
  }

  IngestRequest in{req.method, req.target, req.content_type, req.content_encoding, req.body};
  auto payload = DecodeMixpanelRequest(in, DecodeLimits{config_.max_body_bytes});
  auto reject = [&](int status, const std::string& reason, bool verbose, bool img, const std::string& callback) {
    spdlog::warn("rejected {} from {}: {}", path, req.peer.ToString(), reason);
    return Answer(req, verbose, img, callback, status, reason);
  };
  if (!payload.ok()) {
    bool verbose = req.target.find("verbose=1") != std::string_view::npos;
    int status = payload.status().code() == Status::Code::kTooLarge ? 413 : 400;
    return reject(status, payload.status().message(), verbose, false, "");
  }
  const MixpanelPayload& p = *payload;

  EventKind kind;
  switch (p.endpoint) {
    case MixpanelEndpoint::kTrack:
    case MixpanelEndpoint::kImport:
      kind = EventKind::kTrack;
      break;
    case MixpanelEndpoint::kEngage:
      kind = EventKind::kProfile;
      break;
    case MixpanelEndpoint::kGroups:
      kind = EventKind::kGroup;
      break;
    // Answered locally: fetching feature flags or remote settings would send the user's identity to the
    // vendor, so the SDKs are told that nothing is enabled.
    case MixpanelEndpoint::kFlags:
      return LocalJson(req, "{\"flags\":{}}");
    case MixpanelEndpoint::kDecide:
      return LocalJson(req, "{\"config\":{\"enable_collect_everything\":false},\"notifications\":[],\"feature_flags\":[]}");
    case MixpanelEndpoint::kSettings:
      return LocalJson(req, "{}");
    case MixpanelEndpoint::kRecord:
      // Session recordings capture everything on screen; they are never forwarded.
      return Answer(req, p.verbose, p.img, p.callback, 200, "");
    case MixpanelEndpoint::kUnknown:
    default: {
      HttpResponse resp;
      resp.status = 404;
      resp.body = "0";
      AddCors(req, &resp);
      return resp;
    }
  }

  std::vector<Event> events;
  Status parsed = ThreadParser(static_cast<size_t>(config_.max_json_depth)).Parse(p.json, kind, &events);
  if (!parsed.ok()) return reject(400, parsed.message(), p.verbose, p.img, p.callback);

  IpAddress client = ResolveClientIp(req.peer, req.x_forwarded_for, req.x_real_ip, trusted_proxies_);
  // Mixpanel geolocates from the request address unless the SDK says ip=0; /import never does.
  bool geolocate = p.endpoint != MixpanelEndpoint::kImport && p.ip.value_or(true);
  RequestContext ctx(client, geolocate, geo_);

  // Every vendor's copy of every event, as one spool unit: all of it is durable, or none. Each copy
  // carries what the ledger records about it (DisclosureMeta): never the values.
  std::vector<std::string> subjects;
  subjects.reserve(events.size());
  for (const Event& e : events) subjects.push_back(SubjectOf(e));
  // The copies and their ledger records, back to back in two buffers of this thread, reused across
  // requests (no allocation per event once warm): Submit copies them into the spool before it returns.
  thread_local std::string payloads, metas;
  payloads.clear();
  metas.clear();
  std::vector<SpoolEntry> entries;
  std::vector<std::array<size_t, 2>> ends;  // per entry: where its payload and its meta end
  entries.reserve(events.size() * vendors_->size());
  ends.reserve(events.size() * vendors_->size());
  for (VendorRuntime& vendor : *vendors_) {
    if (!delivery_->Accepting(vendor.id)) continue;  // cut: nothing more goes to it
    OutboundEndpoint endpoint = kind == EventKind::kProfile ? OutboundEndpoint::kEngage
                                : kind == EventKind::kGroup ? OutboundEndpoint::kGroups
                                : vendor.config.api == "import" ? OutboundEndpoint::kImport
                                                                : OutboundEndpoint::kTrack;
    for (size_t k = 0; k < events.size(); ++k) {
      const Event& e = events[k];
      const ApplyResult applied = vendor.policy->Apply(e, ctx, *vendor.pseudonymizer, &payloads, nullptr);
      if (!applied.send) continue;  // nothing was appended
      DisclosureMeta meta;
      meta.subject = subjects[k];
      meta.key_epoch = vendor.pseudonymizer->epoch();
      meta.categories = applied.categories;
      meta.insert_id = e.kind == EventKind::kTrack ? FindString(e, "$insert_id") : std::string_view();
      AppendDisclosureMeta(meta, &metas);
      entries.push_back({vendor.id, static_cast<uint8_t>(endpoint), {}, {}});
      ends.push_back({payloads.size(), metas.size()});
    }
  }
  if (entries.empty()) return Answer(req, p.verbose, p.img, p.callback, 200, "");
  // Views only now that the buffers have stopped growing.
  for (size_t i = 0, payload_from = 0, meta_from = 0; i < entries.size(); ++i) {
    entries[i].payload = std::string_view(payloads).substr(payload_from, ends[i][0] - payload_from);
    entries[i].meta = std::string_view(metas).substr(meta_from, ends[i][1] - meta_from);
    payload_from = ends[i][0];
    meta_from = ends[i][1];
  }

  auto answer = [this, req, verbose = p.verbose, img = p.img, callback = p.callback](int status, std::string_view error) {
    HttpResponse resp = Answer(req, verbose, img && status == 200, callback, status, error);
    if (status == 503) resp.headers.emplace_back("Retry-After", "5");
    return resp;
  };
  Status s = delivery_->Submit(entries, [answer, done, path = std::string(path), peer = req.peer](
                                            StatusOr<uint64_t> committed) {
    if (committed.ok()) return done(answer(200, ""));
    spdlog::error("lost {} from {} before it was durable: {}", path, peer.ToString(), committed.status().message());
    done(answer(committed.status().retryable() ? 503 : 500, committed.status().message()));
  });
  if (!s.ok()) {
    spdlog::error("cannot accept {} from {}: {}", path, req.peer.ToString(), s.message());
    int status = s.code() == Status::Code::kUnavailable ? 503 : s.code() == Status::Code::kTooLarge ? 413 : 500;
    return answer(status, s.message());
  }
  HttpResponse pending;
  pending.status = 0;  // answered by the commit callback
  return pending;
}

}  // namespace vg
