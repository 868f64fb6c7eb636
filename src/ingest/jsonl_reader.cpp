// ingest room: JSONL records -> Documents (the record format of `leann build --docs FILE.jsonl`).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "leann/error.h"
#include "leann/ingest.h"
#include "store/passage_store.h"
#include "util/json_limits.h"
#include "util/utf8.h"

namespace leann {

namespace {

// A record becomes one passage: id, text and metadata must fit in a passage block (store/passage_store.h) with
// their 12 length bytes and the block's 8-byte header.
constexpr size_t max_record_bytes = store::kMaxBlockBytes - 20;
// JSON escapes can make a line longer than the record it holds (\u0000 is 6 bytes for 1), but not without bound.
constexpr size_t max_line_bytes = 2 * store::kMaxBlockBytes;

std::string id_text(const nlohmann::json& id) {
    if (id.is_string()) return id.get<std::string>();
    if (id.is_number_integer() || id.is_number_unsigned() || id.is_number_float()) return id.dump();
    return {};
}

}  // namespace

std::vector<Document> read_jsonl_documents(const std::filesystem::path& path, ReadReport& report) {
    // POSIX reads (a read error names the file instead of escaping as std::ios_base::failure) and lines bounded
    // as they are read: a line longer than any record could be is skipped without being held in memory.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw Error(path.string() + ": not a regular file");

    std::vector<Document> documents;
    size_t line_no = 0;
    auto skip = [&](const std::string& why) {
        report.skip(path.string() + ":" + std::to_string(line_no), why);
    };
    auto take = [&](std::string& line) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) return;
        if (!utf8::is_valid(line)) line = utf8::repair(line);
        std::string why;
        nlohmann::json record = json_limits::parse_or_discarded(line, &why);
        if (record.is_discarded()) {
            skip(why);
            return;
        }
        if (!record.is_object()) {
            skip("not a JSON object");
            return;
        }
        auto text = record.find("text");
        if (text == record.end() || !text->is_string()) {
            skip("no \"text\" string field");
            return;
        }
        Document doc;
        doc.text = text->get<std::string>();
        nlohmann::json metadata = nlohmann::json::object();
        std::string id;
        bool has_id = false;
        for (auto it = record.begin(); it != record.end(); ++it) {
            const std::string& key = it.key();
            if (key == "text") continue;
            if ((key == "id" || key == "_id") && !has_id) {
                id = id_text(it.value());
                has_id = !id.empty();
                if (has_id) continue;
            }
            metadata[key] = it.value();
        }
        if (auto title = record.find("title"); title != record.end() && title->is_string() &&
                                               !title->get<std::string>().empty())
            doc.text = title->get<std::string>() + " " + doc.text;
        if (doc.text.find_first_not_of(" \t\r\n") == std::string::npos) {
            skip("empty text");
            return;
        }
        doc.id = has_id ? id : std::to_string(line_no);
        doc.metadata = metadata.dump();
        // Refused here, not after all the embedding: a record is one passage, and a passage must fit in a block.
        const size_t record_bytes = doc.id.size() + doc.text.size() + doc.metadata.size();
        if (record_bytes > max_record_bytes) {
            skip("the record is " + std::to_string(record_bytes) + " bytes; a passage holds at most " +
                 std::to_string(max_record_bytes) + " (split its text into several records)");
            return;
        }
        report.raw_bytes += doc.text.size();
        documents.push_back(std::move(doc));
        ++report.records;
    };

    std::string line;
    bool overlong = false;  // the current line passed max_line_bytes: its bytes are dropped up to its end
    std::vector<char> buffer(1 << 16);
    for (;;) {
        const ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR) continue;
            throw Error(path.string() + ": read error after line " + std::to_string(line_no) + ": " +
                        std::strerror(errno));
        }
        if (got == 0) break;
        std::string_view chunk(buffer.data(), size_t(got));
        while (!chunk.empty()) {
            const size_t newline = chunk.find('\n');
            const std::string_view piece = chunk.substr(0, newline);
            if (!overlong) {
                if (line.size() + piece.size() > max_line_bytes) {
                    overlong = true;
                    line.clear();
                    line.shrink_to_fit();
                } else {
                    line.append(piece);
                }
            }
            if (newline == std::string_view::npos) break;
            chunk.remove_prefix(newline + 1);
            if (overlong) {
                ++line_no;
                skip("the line is longer than " + std::to_string(max_line_bytes >> 20) + " MiB");
                overlong = false;
            } else {
                take(line);
            }
            line.clear();
        }
    }
    if (overlong) {
        ++line_no;
        skip("the line is longer than " + std::to_string(max_line_bytes >> 20) + " MiB");
    } else if (!line.empty()) {
        take(line);
    }
    return documents;
}

}  // namespace leann
