// ingest room: the text of a PDF, page by page, through Debian's poppler (libpoppler-cpp). Each output line
// remembers its page, so chunks carry page numbers and hits point at `file.pdf#page=N`. Encrypted PDFs that
// need a password, broken files and PDFs without a text layer (scans) are refused with the reason.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace leann::ingest {

struct PdfText {
    std::string title;                 // the document's Title entry, when it has one
    std::string text;                  // UTF-8, pages separated by a blank line
    std::vector<uint32_t> page_of_line;  // page_of_line[i] = 1-based page of output line i + 1
    size_t pages = 0;
    size_t empty_pages = 0;            // pages without extractable text
};

/// nullopt with `why` set: "encrypted PDF (needs a password)", "not a valid PDF: ...", "no text layer ...".
std::optional<PdfText> read_pdf(const std::filesystem::path& path, std::string& why);

}  // namespace leann::ingest
