#include "auth/qr_svg.h"

#include <gtest/gtest.h>
#include <qrencode.h>

#include <regex>
#include <string>

namespace vg::auth {
namespace {

int LibraryWidth(const std::string& text) {
  QRcode* q = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (!q) return -1;
  const int w = q->width;
  QRcode_free(q);
  return w;
}

int DarkModules(const std::string& text) {
  QRcode* q = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  int n = 0;
  for (int i = 0; i < q->width * q->width; ++i) n += q->data[i] & 1;
  QRcode_free(q);
  return n;
}

TEST(QrSvgTest, IsAStandaloneSvgSizedByTheCode) {
  const std::string uri =
      "otpauth://totp/vendorguard:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=vendorguard&algorithm=SHA1"
      "&digits=6&period=30";
  auto svg = QrSvg(uri);
  ASSERT_TRUE(svg.ok()) << svg.status().message();
  EXPECT_EQ(svg->rfind("<svg", 0), 0u);
  EXPECT_NE(svg->find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg->find("shape-rendering=\"crispEdges\""), std::string::npos);
  EXPECT_NE(svg->find("<title>"), std::string::npos);
  EXPECT_NE(svg->find("</svg>"), std::string::npos);
  // Exactly one path.
  const size_t path = svg->find("<path");
  ASSERT_NE(path, std::string::npos);
  EXPECT_EQ(svg->find("<path", path + 1), std::string::npos);
  // The view box is the code's width plus a 4-module quiet zone on each side.
  const int width = LibraryWidth(uri);
  ASSERT_GT(width, 20);
  EXPECT_EQ(QrModuleCount(uri), width);
  const std::string box = std::to_string(width + 8);
  EXPECT_NE(svg->find("viewBox=\"0 0 " + box + " " + box + "\""), std::string::npos) << *svg;
  // The path's runs cover exactly the dark modules, all inside the quiet zone.
  std::regex run("M(\\d+) (\\d+)h(\\d+)v1h-(\\d+)z");
  int covered = 0;
  for (auto it = std::sregex_iterator(svg->begin(), svg->end(), run); it != std::sregex_iterator(); ++it) {
    const int x = std::stoi((*it)[1]), y = std::stoi((*it)[2]), n = std::stoi((*it)[3]);
    EXPECT_EQ(n, std::stoi((*it)[4]));
    EXPECT_GE(x, 4);
    EXPECT_GE(y, 4);
    EXPECT_LE(x + n, width + 4);
    EXPECT_LT(y, width + 4);
    covered += n;
  }
  EXPECT_EQ(covered, DarkModules(uri));
}

TEST(QrSvgTest, DifferentTextsGiveDifferentCodes) {
  auto a = QrSvg("otpauth://totp/vendorguard:alice?secret=AAAA");
  auto b = QrSvg("otpauth://totp/vendorguard:alice?secret=BBBB");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  auto again = QrSvg("otpauth://totp/vendorguard:alice?secret=AAAA");
  EXPECT_EQ(*a, *again);
}

TEST(QrSvgTest, RefusesEmptyAndOversizedText) {
  EXPECT_EQ(QrSvg("").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(QrSvg(std::string(5000, 'x')).status().code(), Status::Code::kInvalidArgument);
}

TEST(QrSvgTest, TerminalTextHasTwoModuleRowsPerLine) {
  const std::string text = "otpauth://totp/vendorguard:bob?secret=MZXW6YTBOI";
  auto t = QrTerminalText(text);
  ASSERT_TRUE(t.ok());
  const int size = LibraryWidth(text) + 8;
  int lines = 0;
  for (char c : *t) lines += c == '\n';
  EXPECT_EQ(lines, (size + 1) / 2);
  // The first line is the quiet zone: all light.
  std::string full;
  for (int i = 0; i < size; ++i) full += "\u2588";
  EXPECT_EQ(t->substr(0, full.size()), full);
}

}  // namespace
}  // namespace vg::auth
