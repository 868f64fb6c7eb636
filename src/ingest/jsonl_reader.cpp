// ingest room: JSONL records -> Documents (the record format of `leann build --docs FILE.jsonl`).
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "leann/error.h"
#include "leann/ingest.h"
#include "util/utf8.h"

namespace leann {

namespace {

std::string id_text(const nlohmann::json& id) {
    if (id.is_string()) return id.get<std::string>();
    if (id.is_number_integer() || id.is_number_unsigned() || id.is_number_float()) return id.dump();
    return {};
}

}  // namespace

std::vector<Document> read_jsonl_documents(const std::filesystem::path& path, ReadReport& report) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
    std::vector<Document> documents;
    std::string line;
    size_t line_no = 0;
    auto skip = [&](const std::string& why) {
        report.skip(path.string() + ":" + std::to_string(line_no), why);
    };
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        if (!utf8::is_valid(line)) line = utf8::repair(line);
        nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
        if (record.is_discarded()) {
            skip("not valid JSON");
            continue;
        }
        if (!record.is_object()) {
            skip("not a JSON object");
            continue;
        }
        auto text = record.find("text");
        if (text == record.end() || !text->is_string()) {
            skip("no \"text\" string field");
            continue;
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
            continue;
        }
        doc.id = has_id ? id : std::to_string(line_no);
        doc.metadata = metadata.dump();
        report.raw_bytes += doc.text.size();
        documents.push_back(std::move(doc));
        ++report.records;
    }
    if (in.bad()) throw Error(path.string() + ": read error: " + std::strerror(errno));
    return documents;
}

}  // namespace leann
