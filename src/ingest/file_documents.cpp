// ingest room: files and folders -> chunked Documents (discovery, readers, chunking, metadata).

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ingest/chunker.h"
#include "ingest/discovery.h"
#include "ingest/html_reader.h"
#include "ingest/pdf_reader.h"
#include "ingest/text_reader.h"
#include "leann/ingest.h"

namespace leann {
namespace {

/// A file's text as the chunker sees it, and how its lines map back to the file (source lines, or pages).
struct FileText {
    std::string text;
    std::string encoding;
    std::string title;
    std::vector<size_t> source_line;  // HTML: output line -> source line (empty: identity)
    std::vector<uint32_t> page;       // PDF: output line -> page
};

std::optional<FileText> read_file_text(const std::filesystem::path& path, const ingest::FileKind& kind,
                                       uint64_t max_bytes, std::string& why) {
    FileText out;
    if (kind.type == "pdf") {
        std::error_code ec;  // poppler reads the file itself: a file grown past the limit since discovery is refused
        if (const auto size = std::filesystem::file_size(path, ec); !ec && size > max_bytes) {
            why = "larger than the limit (" + std::to_string(size) + " > " + std::to_string(max_bytes) + " bytes)";
            return std::nullopt;
        }
        auto pdf = ingest::read_pdf(path, why);
        if (!pdf) return std::nullopt;
        out.text = std::move(pdf->text);
        out.encoding = "pdf";
        out.title = std::move(pdf->title);
        out.page = std::move(pdf->page_of_line);
        return out;
    }
    auto text = ingest::read_text(path, why, max_bytes);
    if (!text) return std::nullopt;
    out.encoding = text->encoding;
    if (kind.type == "html") {
        // Chunk the visible text; its lines map back to the page's source lines.
        ingest::HtmlText html = ingest::html_to_text(text->text);
        out.text = std::move(html.text);
        out.title = std::move(html.title);
        out.source_line = std::move(html.source_line);
        if (out.text.find_first_not_of(" \t\r\n") == std::string::npos) {
            why = "no visible text";
            return std::nullopt;
        }
    } else {
        out.text = std::move(text->text);
    }
    return out;
}

template <typename T>
T line_map(const std::vector<T>& map, size_t line) {
    return map[std::min(std::max<size_t>(line, 1), map.size()) - 1];
}

}  // namespace

void ReadReport::skip(const std::string& what, const std::string& reason) {
    ++skipped;
    warnings.push_back(what + ": skipped: " + reason);
    ++skip_reasons[reason.substr(0, reason.find(" ("))];
}

std::vector<SourceFile> list_source_files(std::span<const std::filesystem::path> roots, const FileOptions& options,
                                          ReadReport& report) {
    ingest::DiscoveryOptions discovery;
    discovery.include = options.include;
    discovery.exclude = options.exclude;
    discovery.file_types = options.file_types;
    discovery.include_hidden = options.include_hidden;
    discovery.max_file_bytes = options.max_file_bytes;
    discovery.skip_folders = options.skip_folders;
    std::vector<ingest::SkippedPath> skipped;
    const std::vector<ingest::DiscoveredFile> files = ingest::discover(roots, discovery, skipped);
    for (const auto& s : skipped) report.skip(s.path.string(), s.reason);
    std::vector<SourceFile> out;
    out.reserve(files.size());
    for (const auto& f : files) out.push_back({f.path, f.bytes, f.mtime_ns, f.ctime_ns, f.inode});
    return out;
}

std::vector<Document> read_file_documents(std::span<const std::filesystem::path> roots, const Tokenizer& tokenizer,
                                          size_t model_max_tokens, const FileOptions& options, ReadReport& report) {
    const std::vector<SourceFile> files = list_source_files(roots, options, report);
    return read_file_documents(std::span<const SourceFile>(files), tokenizer, model_max_tokens, options, report);
}

std::vector<Document> read_file_documents(std::span<const SourceFile> files, const Tokenizer& tokenizer,
                                          size_t model_max_tokens, const FileOptions& options, ReadReport& report) {
    auto clamp = [&](size_t tokens) { return std::max<size_t>(8, std::min(tokens, model_max_tokens)); };

    std::vector<Document> documents;
    for (size_t f = 0; f < files.size(); ++f) {
        if (options.progress) options.progress(f, files.size());
        const SourceFile& file = files[f];
        const std::string source = file.path.string();
        const auto kind = ingest::file_kind(file.path);
        if (!kind) {
            report.skip(source, "unsupported file type");
            continue;
        }
        std::string why;
        const auto text = read_file_text(file.path, *kind, options.max_file_bytes, why);
        if (!text) {
            report.skip(source, why);
            continue;
        }
        ++report.files;
        report.raw_bytes += text->text.size();
        if (text->encoding == "utf-8 (repaired)") {
            ++report.repaired;
            report.warnings.push_back(source + ": invalid UTF-8 bytes replaced with U+FFFD (file indexed)");
        }
        const bool code = kind->type == "code";
        ingest::ChunkOptions chunking;
        chunking.code = code;
        chunking.max_tokens = clamp(code ? options.code_chunk_tokens : options.chunk_tokens);
        chunking.overlap_tokens = code ? options.code_chunk_overlap : options.chunk_overlap;
        for (ingest::TextChunk& chunk : ingest::chunk_text(text->text, tokenizer, chunking)) {
            nlohmann::json metadata = {{"source", source}, {"type", kind->type}};
            std::string id;
            if (!text->page.empty()) {
                const uint32_t page = line_map(text->page, chunk.first_line);
                metadata["page"] = page;
                metadata["end_page"] = std::max(page, line_map(text->page, chunk.last_line));
                id = source + "#page=" + std::to_string(page);
            } else {
                size_t first = chunk.first_line, last = chunk.last_line;
                if (!text->source_line.empty()) {
                    first = line_map(text->source_line, first);
                    last = std::max(first, line_map(text->source_line, last));
                }
                metadata["start_line"] = first;
                metadata["end_line"] = last;
                id = source + ":" + std::to_string(first);
            }
            metadata["encoding"] = text->encoding;
            if (!kind->language.empty()) metadata["language"] = kind->language;
            if (!text->title.empty()) metadata["title"] = text->title;
            documents.push_back({std::move(id), std::move(chunk.text),
                                 metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
            ++report.records;
        }
    }
    if (options.progress) options.progress(files.size(), files.size());
    return documents;
}

}  // namespace leann
