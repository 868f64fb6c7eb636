// `leann mcp` messages (apps/server/mcp_server.h): every line of the input is handed to one MCP session in order,
// over an empty LEANN_HOME, so initialize, tools/list and tools/call (leann_list, leann_search on missing indexes)
// all run on hostile JSON. handle_line() promises never to throw and to answer with one JSON line.
#include <nlohmann/json.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_support.h"
#include "leann/catalog.h"
#include "mcp_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static leann::Catalog* catalog = [] {
        ::setenv("LEANN_HOME", (leann::fuzz::scratch_dir() / "home").c_str(), 1);
        return new leann::Catalog(leann::CatalogOptions{});
    }();
    leann::mcp::Server server(*catalog);
    std::string_view input = leann::fuzz::as_text(data, size);
    size_t lines = 0;
    while (!input.empty() && lines < 32) {
        const size_t nl = input.find('\n');
        const std::string_view line = input.substr(0, nl);
        input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
        ++lines;
        const auto reply = server.handle_line(line);
        if (reply && !nlohmann::json::accept(*reply)) std::abort();  // every reply is one valid JSON text
    }
    return 0;
}
