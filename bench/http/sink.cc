// A stand-in for Mixpanel's ingestion API for the end-to-end HTTP benchmark (bench/http_bench.sh): it
// accepts what a Mixpanel SDK, nginx relaying one, or the gateway's forwarder sends (`/track`, `/import`,
// `/engage`, `/groups`; a JSON body or a form body with `data=` as base64 or JSON; gzip or not), counts the
// events in every request, and answers as Mixpanel does (`1`, or `{"status":1,"error":null}` with
// `verbose=1`; `/import` answers `{"code":200,"num_records_imported":N,"status":1}`). Both benchmark paths
// (client -> nginx -> sink and client -> gateway -> sink) send to this one program.
//
// It must not be the bottleneck, so it is one thread on epoll with no allocation per request beyond its
// buffers, and it remembers the event count of the last bodies it has seen (compared byte for byte, so the
// count stays exact): the load generator rotates a few distinct batches, which nginx relays unchanged, and
// decoding 50 KB of base64 per relayed request would otherwise cost the sink more than nginx spends.
//
//   sink --port-file FILE [--port N]
//
// Listens on 127.0.0.1 only (port 0 = a free one, written to FILE once listening). `GET /__sink/stats`
// answers {"requests":R,"events":E,"bytes":B,"bad":X,"memo_hits":M}: requests that carried events, events
// counted, request body bytes as received, requests it could not decode (answered 400), and counts taken
// from the memo. SIGTERM or SIGINT stops it.
//
// Thread-safety: single-threaded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

struct Stats {
  uint64_t requests = 0;
  uint64_t events = 0;
  uint64_t bytes = 0;
  uint64_t bad = 0;
  uint64_t memo_hits = 0;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// --- Decoding ------------------------------------------------------------------------------------------

bool Gunzip(std::string_view in, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return false;
  out->clear();
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    size_t old = out->size();
    out->resize(old + std::max<size_t>(in.size() * 4, 16384));
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + old);
    zs.avail_out = static_cast<uInt>(out->size() - old);
    rc = inflate(&zs, Z_NO_FLUSH);
    out->resize(out->size() - zs.avail_out);
    if (rc == Z_STREAM_END && zs.avail_in > 0) {  // another gzip member
      if (inflateReset(&zs) != Z_OK) break;
      rc = Z_OK;
      continue;
    }
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) break;  // truncated
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes; '+' becomes a space only when `plus_as_space` (see src/ingest/mixpanel_request.cc for
// why base64 from the Node SDK needs '+' kept).
std::string PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (c == '+' && plus_as_space) ? ' ' : c;
  }
  return out;
}

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 26; ++i) t['A' + i] = static_cast<int8_t>(i), t['a' + i] = static_cast<int8_t>(26 + i);
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(52 + i);
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  return t;
}
constexpr std::array<int8_t, 256> kBase64 = MakeBase64Table();

bool Base64Decode(std::string_view in, std::string* out) {
  while (!in.empty() && (in.back() == '=' || in.back() == '\n' || in.back() == '\r' || in.back() == ' ')) {
    in.remove_suffix(1);
  }
  out->clear();
  out->reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = kBase64[c];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// The number of top-level values in a JSON array, or 1 for an object. nullopt when the text is neither or
// its strings and brackets do not balance (not a full JSON validation: the sink counts, it does not judge).
std::optional<uint64_t> CountJsonEvents(std::string_view json) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\n' || json[i] == '\r' || json[i] == '\t')) ++i;
  };
  skip_ws();
  if (i >= json.size()) return std::nullopt;
  if (json[i] == '{') return 1;
  if (json[i] != '[') return std::nullopt;
  ++i;
  skip_ws();
  if (i < json.size() && json[i] == ']') return 0;
  uint64_t count = 1;
  int depth = 1;
  for (; i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') {
      for (++i; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\') ++i;
      }
      if (i >= json.size()) return std::nullopt;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth == 0) return count;
    } else if (c == ',' && depth == 1) {
      ++count;
    }
  }
  return std::nullopt;
}

// The value of form field `name` in `form` (still percent-encoded), if present.
std::optional<std::string_view> FormField(std::string_view form, std::string_view name) {
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view pair = form.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    form.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Counts the events a Mixpanel request carries, the way tests/e2e/helpers.mjs decodes them.
std::optional<uint64_t> CountRequestEvents(std::string_view query, std::string_view content_type,
                                           std::string_view content_encoding, std::string_view body) {
  std::string inflated;
  if (EqualsIgnoreCase(content_encoding, "gzip") || EqualsIgnoreCase(content_encoding, "x-gzip")) {
    if (!Gunzip(body, &inflated)) return std::nullopt;
    body = inflated;
  } else if (!content_encoding.empty() && !EqualsIgnoreCase(content_encoding, "identity")) {
    return std::nullopt;
  }
  if (ContainsIgnoreCase(content_type, "application/json")) return CountJsonEvents(body);
  std::optional<std::string_view> data;
  if (!body.empty() && ContainsIgnoreCase(content_type, "x-www-form-urlencoded")) data = FormField(body, "data");
  if (!data) data = FormField(query, "data");
  if (!data) return CountJsonEvents(body);
  std::string text = PercentDecode(*data, /*plus_as_space=*/true);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '[' || text[first] == '{')) return CountJsonEvents(text);
  std::string decoded;
  if (!Base64Decode(PercentDecode(*data, /*plus_as_space=*/false), &decoded)) return std::nullopt;
  return CountJsonEvents(decoded);
}

// Remembers the counts of recently seen bodies. A hit needs the same encoding headers and the same bytes.
class CountMemo {
 public:
  std::optional<uint64_t> Find(const std::string& key_headers, std::string_view body) const {
    auto it = entries_.find(Hash(key_headers, body));
    if (it == entries_.end()) return std::nullopt;
    const Entry& e = it->second;
    if (e.headers != key_headers || e.body != body) return std::nullopt;
    return e.count;
  }
  void Insert(const std::string& key_headers, std::string_view body, uint64_t count) {
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[Hash(key_headers, body)] = Entry{key_headers, std::string(body), count};
  }

 private:
  static constexpr size_t kMaxEntries = 256;
  struct Entry {
    std::string headers;
    std::string body;
    uint64_t count;
  };
  // Samples the body (size, 16 spread windows of 8 bytes, the tail): cheap, and a collision only costs a
  // failed comparison and a recount.
  static uint64_t Hash(const std::string& headers, std::string_view body) {
    uint64_t h = std::hash<std::string>{}(headers) ^ (body.size() * 0x9e3779b97f4a7c15ULL);
    auto mix = [&](uint64_t v) { h = (h ^ v) * 0x100000001b3ULL; h ^= h >> 29; };
    if (body.size() >= 8) {
      for (int k = 0; k < 16; ++k) {
        uint64_t v;
        std::memcpy(&v, body.data() + (body.size() - 8) * k / 15, 8);
        mix(v);
      }
    } else {
      for (char c : body) mix(static_cast<unsigned char>(c));
    }
    return h;
  }
  std::unordered_map<uint64_t, Entry> entries_;
};

// --- HTTP ----------------------------------------------------------------------------------------------

struct Connection {
  int fd = -1;
  std::string in;
  std::string out;
  size_t out_sent = 0;
  bool sent_continue = false;
  bool close_after_write = false;
  bool want_write = false;
};

struct Request {
  std::string_view method, target, content_type, content_encoding;
  bool chunked = false;
  bool expect_continue = false;
  bool keep_alive = true;
  size_t header_bytes = 0;
  size_t content_length = 0;
};

// Parses the head in `buf` if complete. Returns false when more bytes are needed; sets *error on garbage.
bool ParseHead(std::string_view buf, Request* r, bool* error) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() > 64 * 1024) *error = true;
    return false;
  }
  r->header_bytes = end + 4;
  std::string_view head = buf.substr(0, end);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    *error = true;
    return false;
  }
  r->method = line.substr(0, sp1);
  r->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  r->keep_alive = version != "HTTP/1.0";
  head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      r->content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      r->chunked = ContainsIgnoreCase(value, "chunked");
    } else if (EqualsIgnoreCase(name, "content-type")) {
      r->content_type = value;
    } else if (EqualsIgnoreCase(name, "content-encoding")) {
      r->content_encoding = value;
    } else if (EqualsIgnoreCase(name, "expect")) {
      r->expect_continue = EqualsIgnoreCase(value, "100-continue");
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (ContainsIgnoreCase(value, "close")) r->keep_alive = false;
      if (ContainsIgnoreCase(value, "keep-alive")) r->keep_alive = true;
    }
  }
  return true;
}

// Decodes a chunked body starting at `buf`. Returns the bytes consumed, or 0 if incomplete; -1 on garbage.
long DecodeChunked(std::string_view buf, std::string* body) {
  size_t at = 0;
  body->clear();
  for (;;) {
    size_t eol = buf.find("\r\n", at);
    if (eol == std::string_view::npos) return 0;
    char* endp = nullptr;
    std::string size_text(buf.substr(at, eol - at));
    unsigned long long size = std::strtoull(size_text.c_str(), &endp, 16);
    if (endp == size_text.c_str()) return -1;
    at = eol + 2;
    if (size == 0) {  // trailers until an empty line
      for (;;) {
        eol = buf.find("\r\n", at);
        if (eol == std::string_view::npos) return 0;
        bool empty = eol == at;
        at = eol + 2;
        if (empty) return static_cast<long>(at);
      }
    }
    if (buf.size() < at + size + 2) return 0;
    body->append(buf.substr(at, size));
    at += size + 2;
  }
}

class Sink {
 public:
  explicit Sink(int listen_fd) : listen_fd_(listen_fd) {}

  int Run() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return Fail("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) return Fail("epoll_ctl");
    std::array<epoll_event, 256> events{};
    while (!g_stop) {
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 200);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail("epoll_wait");
      }
      for (int k = 0; k < n; ++k) {
        if (events[k].data.ptr == nullptr) {
          AcceptAll();
          continue;
        }
        auto* c = static_cast<Connection*>(events[k].data.ptr);
        bool alive = true;
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) alive = OnReadable(c);
        if (alive && (events[k].events & EPOLLOUT)) alive = Flush(c);
        if (!alive) Close(c);
      }
    }
    return 0;
  }

 private:
  static int Fail(const char* what) {
    std::perror(what);
    return 1;
  }

  void AcceptAll() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>();
      c->fd = fd;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = c.get();
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ::close(fd);
        continue;
      }
      connections_.emplace(c.get(), std::move(c));
    }
  }

  void Close(Connection* c) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    connections_.erase(c);
  }

  // Reads what is there and answers every complete request. False when the connection is done.
  bool OnReadable(Connection* c) {
    char buf[65536];
    bool eof = false;
    for (;;) {
      ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
      if (n > 0) {
        c->in.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) break;
      } else if (n == 0) {
        eof = true;
        break;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      } else {
        return false;
      }
    }
    size_t consumed = 0;
    while (!c->close_after_write) {
      std::string_view pending(c->in.data() + consumed, c->in.size() - consumed);
      Request r;
      bool error = false;
      if (!ParseHead(pending, &r, &error)) {
        if (error) return false;
        break;
      }
      std::string_view body;
      std::string dechunked;
      size_t total;
      if (r.chunked) {
        long used = DecodeChunked(pending.substr(r.header_bytes), &dechunked);
        if (used < 0) return false;
        if (used == 0) {
          MaybeContinue(c, r);
          break;
        }
        body = dechunked;
        total = r.header_bytes + static_cast<size_t>(used);
      } else {
        if (pending.size() < r.header_bytes + r.content_length) {
          MaybeContinue(c, r);
          break;
        }
        body = pending.substr(r.header_bytes, r.content_length);
        total = r.header_bytes + r.content_length;
      }
      Answer(c, r, body);
      c->sent_continue = false;
      if (!r.keep_alive) c->close_after_write = true;
      consumed += total;
    }
    c->in.erase(0, consumed);
    if (!Flush(c)) return false;
    return !(eof && c->out.empty());
  }

  void MaybeContinue(Connection* c, const Request& r) {
    if (r.expect_continue && !c->sent_continue) {
      c->out += "HTTP/1.1 100 Continue\r\n\r\n";
      c->sent_continue = true;
    }
  }

  void Answer(Connection* c, const Request& r, std::string_view body) {
    std::string_view target = r.target;
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (path == "/__sink/stats") {
      char json[256];
      std::snprintf(json, sizeof json,
                    R"({"requests":%llu,"events":%llu,"bytes":%llu,"bad":%llu,"memo_hits":%llu})",
                    static_cast<unsigned long long>(stats_.requests), static_cast<unsigned long long>(stats_.events),
                    static_cast<unsigned long long>(stats_.bytes), static_cast<unsigned long long>(stats_.bad),
                    static_cast<unsigned long long>(stats_.memo_hits));
      Respond(c, 200, "application/json", json, r.keep_alive);
      return;
    }
    if (path == "/healthz") {
      Respond(c, 200, "text/plain", "ok\n", r.keep_alive);
      return;
    }
    stats_.bytes += body.size();
    std::string key_headers;
    key_headers.append(r.content_type).append("\n").append(r.content_encoding).append("\n");
    if (body.empty()) key_headers.append(query);  // GET ?data=...
    std::optional<uint64_t> count = memo_.Find(key_headers, body);
    if (count) {
      ++stats_.memo_hits;
    } else {
      count = CountRequestEvents(query, r.content_type, r.content_encoding, body);
      if (count) memo_.Insert(key_headers, body, *count);
    }
    if (!count) {
      ++stats_.bad;
      Respond(c, 400, "application/json", R"({"status":0,"error":"sink could not decode the request"})",
              r.keep_alive);
      return;
    }
    ++stats_.requests;
    stats_.events += *count;
    if (path == "/import") {
      char json[128];
      std::snprintf(json, sizeof json, R"({"code":200,"num_records_imported":%llu,"status":1})",
                    static_cast<unsigned long long>(*count));
      Respond(c, 200, "application/json", json, r.keep_alive);
    } else if (FormField(query, "verbose").value_or("") == "1") {
      Respond(c, 200, "application/json", R"({"status":1,"error":null})", r.keep_alive);
    } else {
      Respond(c, 200, "text/plain", "1", r.keep_alive);
    }
  }

  static void Respond(Connection* c, int status, std::string_view type, std::string_view body, bool keep_alive) {
    char head[256];
    int n = std::snprintf(head, sizeof head,
                          "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n%s\r\n", status,
                          status == 200 ? "OK" : "Bad Request", static_cast<int>(type.size()), type.data(),
                          body.size(), keep_alive ? "" : "Connection: close\r\n");
    c->out.append(head, static_cast<size_t>(n));
    c->out.append(body);
  }

  // Writes what it can; watches for writability while something is left. False when the connection is done.
  bool Flush(Connection* c) {
    while (c->out_sent < c->out.size()) {
      ssize_t n = ::send(c->fd, c->out.data() + c->out_sent, c->out.size() - c->out_sent, MSG_NOSIGNAL);
      if (n > 0) {
        c->out_sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else {
        return false;
      }
    }
    bool left = c->out_sent < c->out.size();
    if (!left) {
      c->out.clear();
      c->out_sent = 0;
      if (c->close_after_write) return false;
    }
    if (left != c->want_write) {
      epoll_event ev{};
      ev.events = EPOLLIN | (left ? uint32_t{EPOLLOUT} : uint32_t{0});
      ev.data.ptr = c;
      epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd, &ev);
      c->want_write = left;
    }
    return true;
  }

  int listen_fd_;
  int epfd_ = -1;
  Stats stats_;
  CountMemo memo_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
};

void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  std::string port_file;
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--port-file" && i + 1 < argc) {
      port_file = argv[++i];
    } else if (a == "--port" && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: sink --port-file FILE [--port N]\n");
      return 2;
    }
  }
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1024) != 0) {
    std::perror("bind/listen on 127.0.0.1");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr || std::fprintf(f, "%d\n", ntohs(addr.sin_port)) < 0 || std::fclose(f) != 0 ||
        std::rename(tmp.c_str(), port_file.c_str()) != 0) {
      std::fprintf(stderr, "sink: cannot write %s\n", port_file.c_str());
      return 1;
    }
  }
  return Sink(fd).Run();
}
