// The web console's static files (src/console/static/ and uPlot from npm), embedded in the binary at
// build time by cmake/embed_assets.cmake, so the gateway serves its console without reading files.
// Thread-safety: immutable data.
#pragma once

#include <span>
#include <string_view>

namespace vg::admin {

struct ConsoleAsset {
  std::string_view path;          // under /static/ ("index.html" is also served at /)
  std::string_view content_type;
  std::string_view data;
};

std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace vg::admin
