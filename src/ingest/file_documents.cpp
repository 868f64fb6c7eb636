// ingest room: files and folders -> chunked Documents (discovery, text reading, chunking, metadata).
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ingest/chunker.h"
#include "ingest/discovery.h"
#include "ingest/html_reader.h"
#include "ingest/text_reader.h"
#include "leann/ingest.h"

namespace leann {

std::vector<Document> read_file_documents(std::span<const std::filesystem::path> roots, const Tokenizer& tokenizer,
                                          size_t model_max_tokens, const FileOptions& options, ReadReport& report) {
    ingest::DiscoveryOptions discovery;
    discovery.include = options.include;
    discovery.exclude = options.exclude;
    discovery.file_types = options.file_types;
    discovery.include_hidden = options.include_hidden;
    discovery.max_file_bytes = options.max_file_bytes;
    std::vector<ingest::SkippedPath> skipped;
    const std::vector<ingest::DiscoveredFile> files = ingest::discover(roots, discovery, skipped);
    for (const auto& s : skipped) {
        ++report.skipped;
        report.warnings.push_back(s.path.string() + ": skipped: " + s.reason);
    }
    auto clamp = [&](size_t tokens) { return std::max<size_t>(8, std::min(tokens, model_max_tokens)); };

    std::vector<Document> documents;
    for (const auto& file : files) {
        const auto kind = ingest::file_kind(file.path);
        if (!kind) {
            ++report.skipped;
            report.warnings.push_back(file.path.string() + ": skipped: unsupported file type");
            continue;
        }
        std::string why;
        const auto text = ingest::read_text(file.path, why);
        if (!text) {
            ++report.skipped;
            report.warnings.push_back(file.path.string() + ": skipped: " + why);
            continue;
        }
        ++report.files;
        report.raw_bytes += text->text.size();
        const bool code = kind->type == "code";
        ingest::ChunkOptions chunking;
        chunking.code = code;
        chunking.max_tokens = clamp(code ? options.code_chunk_tokens : options.chunk_tokens);
        chunking.overlap_tokens = code ? options.code_chunk_overlap : options.chunk_overlap;
        char hash[17];
        std::snprintf(hash, sizeof hash, "%016llx",
                      static_cast<unsigned long long>(XXH3_64bits(text->text.data(), text->text.size())));
        const std::string source = file.path.string();
        // HTML: chunk the visible text; lines map back to the page's source lines.
        ingest::HtmlText html;
        if (kind->type == "html") html = ingest::html_to_text(text->text);
        const std::string& body = kind->type == "html" ? html.text : text->text;
        auto source_line = [&](size_t line) {
            if (kind->type != "html" || html.source_line.empty()) return line;
            return html.source_line[std::min(line, html.source_line.size()) - 1];
        };
        for (ingest::TextChunk& chunk : ingest::chunk_text(body, tokenizer, chunking)) {
            chunk.first_line = source_line(chunk.first_line);
            chunk.last_line = std::max(chunk.first_line, source_line(chunk.last_line));
            nlohmann::json metadata = {{"source", source},
                                       {"type", kind->type},
                                       {"start_line", chunk.first_line},
                                       {"end_line", chunk.last_line},
                                       {"mtime_ns", file.mtime_ns},
                                       {"hash", hash},
                                       {"encoding", text->encoding}};
            if (!kind->language.empty()) metadata["language"] = kind->language;
            if (!html.title.empty()) metadata["title"] = html.title;
            documents.push_back({source + ":" + std::to_string(chunk.first_line), std::move(chunk.text),
                                 metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
            ++report.records;
        }
    }
    return documents;
}

}  // namespace leann
