#include "ingest/pdf_reader.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "util/utf8.h"

namespace leann::ingest {
namespace {

// Poppler reports syntax problems of damaged files on stderr by default; the reader's answer is what the user
// needs (one warning naming the file), so its chatter is silenced once per process.
void silence_poppler() {
    static std::once_flag once;
    std::call_once(once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

std::string to_utf8(const poppler::ustring& s) {
    const poppler::byte_array bytes = s.to_utf8();
    return utf8::repair(std::string_view(bytes.data(), bytes.size()));
}

}  // namespace

std::optional<PdfText> read_pdf(const std::filesystem::path& path, std::string& why) {
    silence_poppler();
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) == 0 && !ec) {
        why = "empty file";
        return std::nullopt;
    }
    std::unique_ptr<poppler::document> doc(poppler::document::load_from_file(path.string()));
    if (!doc) {
        // Poppler does not say why; tell apart the cases a user can act on.
        FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr) {
            why = std::string("cannot open: ") + std::strerror(errno);
            return std::nullopt;
        }
        char magic[5] = {};
        const size_t n = std::fread(magic, 1, 5, f);
        std::fclose(f);
        why = n == 5 && std::string_view(magic, 5) == "%PDF-" ? "broken PDF (poppler cannot parse it)"
                                                              : "not a PDF (no %PDF- header)";
        return std::nullopt;
    }
    if (doc->is_locked()) {
        why = "encrypted PDF (needs a password)";
        return std::nullopt;
    }
    PdfText out;
    out.title = utf8::repair(to_utf8(doc->info_key("Title")));
    out.pages = size_t(std::max(0, doc->pages()));
    for (size_t p = 0; p < out.pages; ++p) {
        std::unique_ptr<poppler::page> page(doc->create_page(int(p)));
        std::string text = page ? to_utf8(page->text()) : std::string();
        // Form feeds and CRs from the text layer are layout, not content.
        for (char& c : text)
            if (c == '\f' || c == '\r') c = '\n';
        if (text.find_first_not_of(" \t\n") == std::string::npos) {
            ++out.empty_pages;
            continue;
        }
        if (!out.text.empty()) {
            out.text += "\n\n";  // a page ends a paragraph
            out.page_of_line.push_back(uint32_t(p + 1));
        }
        for (size_t start = 0;;) {
            const size_t end = text.find('\n', start);
            out.page_of_line.push_back(uint32_t(p + 1));
            if (end == std::string::npos) break;
            start = end + 1;
        }
        out.text += text;
    }
    if (out.text.empty()) {
        why = out.pages == 0 ? "PDF without pages"
                             : "no text layer (" + std::to_string(out.pages) +
                                   " page(s) without text: a scanned PDF? run OCR first)";
        return std::nullopt;
    }
    return out;
}

}  // namespace leann::ingest
