#include "auth/qr_svg.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>
#include <vector>

namespace vg::auth {
namespace {

constexpr int kQuiet = 4;

struct QrFree {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

// The modules as rows of booleans (true = dark), quiet zone not included.
StatusOr<std::vector<std::vector<bool>>> Encode(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("cannot encode an empty text as a QR code");
  const std::string copy(text);  // QRcode_encodeString needs a NUL-terminated string
  if (copy.find('\0') != std::string::npos) return Status::InvalidArgument("QR text contains a NUL byte");
  errno = 0;
  std::unique_ptr<QRcode, QrFree> q(QRcode_encodeString(copy.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!q) {
    if (errno == ERANGE) return Status::InvalidArgument("text too long for a QR code (" + std::to_string(text.size()) + " bytes)");
    return Status::Internal("QR encoding failed");
  }
  const int w = q->width;
  std::vector<std::vector<bool>> rows(static_cast<size_t>(w), std::vector<bool>(static_cast<size_t>(w)));
  for (int y = 0; y < w; ++y) {
    for (int x = 0; x < w; ++x) rows[y][x] = (q->data[y * w + x] & 1) != 0;
  }
  return rows;
}

}  // namespace

int QrModuleCount(std::string_view text) {
  auto m = Encode(text);
  return m.ok() ? static_cast<int>(m->size()) : 0;
}

StatusOr<std::string> QrSvg(std::string_view text) {
  auto modules = Encode(text);
  if (!modules.ok()) return modules.status();
  const int w = static_cast<int>(modules->size());
  const int size = w + 2 * kQuiet;
  const std::string s = std::to_string(size);
  std::string out;
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 " + s + " " + s +
         "\" width=\"" + std::to_string(size * 6) + "\" height=\"" + std::to_string(size * 6) +
         "\" shape-rendering=\"crispEdges\" role=\"img\">\n";
  out += "<title>QR code to enrol an authenticator app</title>\n";
  out += "<rect width=\"" + s + "\" height=\"" + s + "\" fill=\"#ffffff\"/>\n";
  out += "<path fill=\"#000000\" d=\"";
  // One subpath per horizontal run of dark modules.
  for (int y = 0; y < w; ++y) {
    int x = 0;
    while (x < w) {
      if (!(*modules)[y][x]) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < w && (*modules)[y][x + run]) ++run;
      out += "M" + std::to_string(x + kQuiet) + " " + std::to_string(y + kQuiet) + "h" + std::to_string(run) +
             "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  out += "\"/>\n</svg>\n";
  return out;
}

StatusOr<std::string> QrTerminalText(std::string_view text) {
  auto modules = Encode(text);
  if (!modules.ok()) return modules.status();
  const int w = static_cast<int>(modules->size());
  const int size = w + 2 * kQuiet;
  // Light modules are drawn as block characters (the terminal's foreground, usually light on dark), so the
  // quiet zone is a solid light frame and dark modules are the background showing through.
  auto dark = [&](int x, int y) {
    x -= kQuiet;
    y -= kQuiet;
    return x >= 0 && y >= 0 && x < w && y < w && (*modules)[y][x];
  };
  std::string out;
  for (int y = 0; y < size; y += 2) {
    for (int x = 0; x < size; ++x) {
      const bool top_light = !dark(x, y);
      const bool bottom_light = y + 1 < size ? !dark(x, y + 1) : false;
      if (top_light && bottom_light) out += "\u2588";
      else if (top_light) out += "\u2580";
      else if (bottom_light) out += "\u2584";
      else out += " ";
    }
    out += "\n";
  }
  return out;
}

}  // namespace vg::auth
