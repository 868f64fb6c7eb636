#include "search_page.h"

#include <string>

namespace leann::server {
namespace {

std::string_view content_type_of(std::string_view name) {
    const auto dot = name.rfind('.');
    const std::string_view ext = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    if (ext == "html") return "text/html; charset=utf-8";
    if (ext == "css") return "text/css; charset=utf-8";
    if (ext == "js") return "text/javascript; charset=utf-8";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "png") return "image/png";
    if (ext == "ico") return "image/x-icon";
    return "application/octet-stream";
}

std::vector<PageAsset> make_assets() {
    std::vector<PageAsset> assets;
    for (size_t i = 0; i < embedded_page_file_count; ++i) {
        const EmbeddedFile& f = embedded_page_files[i];
        assets.push_back({f.name, content_type_of(f.name), f.bytes});
    }
    return assets;
}

}  // namespace

const PageAsset* find_page_asset(std::string_view path) {
    static const std::vector<PageAsset> assets = make_assets();
    std::string_view name;
    if (path == "/")
        name = "index.html";
    else if (path.rfind("/static/", 0) == 0)
        name = path.substr(8);
    else
        return nullptr;
    for (const PageAsset& a : assets)
        if (a.name == name) return &a;
    return nullptr;
}

const std::vector<std::pair<std::string_view, std::string_view>>& page_headers() {
    static const std::vector<std::pair<std::string_view, std::string_view>> headers = {
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
         "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-cache"},
    };
    return headers;
}

}  // namespace leann::server
