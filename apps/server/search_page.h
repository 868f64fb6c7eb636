// The search page: plain HTML, CSS and JavaScript from apps/server/page/, compiled into the binary at build time
// (embed_page.cmake), so `leann serve` needs no files beside it and the page no build step or network.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

namespace leann::server {

struct PageAsset {
    std::string_view name;  // file name in page/, e.g. "app.js"
    std::string_view content_type;
    std::string_view bytes;
};

/// The file served at `path`: "/" is index.html, "/static/NAME" is page/NAME. nullptr when there is none.
const PageAsset* find_page_asset(std::string_view path);

/// Headers for page responses: a Content-Security-Policy that allows only our own scripts, styles and API (no
/// inline script, no external resources), and no MIME sniffing.
const std::vector<std::pair<std::string_view, std::string_view>>& page_headers();

/// Written by embed_page.cmake: every file of page/, by name.
struct EmbeddedFile {
    std::string_view name;
    std::string_view bytes;
};
extern const EmbeddedFile embedded_page_files[];
extern const size_t embedded_page_file_count;

}  // namespace leann::server
