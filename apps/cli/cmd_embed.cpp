// leann embed: texts in, embeddings out (JSON lines or a .npy file).
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "index_args.h"
#include "leann/encoder.h"
#include "leann/error.h"
#include "leann/log.h"
#include "util/json_limits.h"

namespace leann::cli {
namespace {

constexpr const char* embed_usage = R"(Usage: leann embed [FILE] [options]

Reads texts from FILE (or standard input when FILE is absent or "-"): one text per line, or JSON lines with a
"text" field (detected from the first line, or set with --input-format). Writes one JSON line
{"embedding": [...]} per text to standard output, or a float32 .npy matrix (texts x dims) with --output X.npy.

Options:
  --model NAME|PATH      model in the cache or a model folder (default: all-MiniLM-L6-v2)
  --batch-size N         full-length texts per forward pass (default: 16; more when shorter)
  --threads N            threads (default: all cores)
  --prompt query|passage apply the model's query or passage prefix (e5-style models)
  --input-format F       lines | jsonl (default: detect)
  --output FILE          write FILE (.npy: float32 matrix; otherwise JSON lines) instead of standard output
)";

enum class InputFormat { detect, lines, jsonl };

std::vector<std::string> read_texts(std::istream& in, InputFormat format, const std::string& source) {
    std::vector<std::string> texts;
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (format == InputFormat::detect) {
            size_t first = line.find_first_not_of(" \t");
            if (first == std::string::npos) {
                texts.push_back(line);
                continue;
            }
            format = line[first] == '{' ? InputFormat::jsonl : InputFormat::lines;
        }
        if (format == InputFormat::lines) {
            texts.push_back(line);
            continue;
        }
        if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines between records
        const nlohmann::json record = json_limits::parse(line, source + ":" + std::to_string(line_no));
        if (!record.is_object() || !record.contains("text") || !record["text"].is_string())
            throw Error(source + ":" + std::to_string(line_no) + ": expected an object with a string field \"text\"");
        texts.push_back(record["text"].get<std::string>());
    }
    if (in.bad()) throw Error(source + ": read error");
    return texts;
}

void append_float(std::string& out, float v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

void write_jsonl(std::ostream& out, std::span<const float> vectors, size_t dims) {
    std::string line;
    for (size_t row = 0; row * dims < vectors.size(); ++row) {
        line = "{\"embedding\":[";
        for (size_t c = 0; c < dims; ++c) {
            if (c) line += ',';
            append_float(line, vectors[row * dims + c]);
        }
        line += "]}\n";
        out.write(line.data(), static_cast<std::streamsize>(line.size()));
    }
}

// NumPy .npy version 1.0: magic, header length, a Python dict literal padded so the data starts 64-aligned.
void write_npy(const std::filesystem::path& path, std::span<const float> vectors, size_t rows, size_t dims) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                         std::to_string(dims) + "), }";
    const size_t preamble = 10;
    header.append(63 - (preamble + header.size()) % 64, ' ');
    header += '\n';
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(tmp.string() + ": cannot create");
        const char magic[] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
        out.write(magic, sizeof magic);
        const uint16_t len = static_cast<uint16_t>(header.size());
        const char len_le[] = {static_cast<char>(len & 0xFF), static_cast<char>(len >> 8)};
        out.write(len_le, 2);
        out.write(header.data(), static_cast<std::streamsize>(header.size()));
        out.write(reinterpret_cast<const char*>(vectors.data()), static_cast<std::streamsize>(vectors.size_bytes()));
        out.flush();
        if (!out) throw Error(tmp.string() + ": write failed");
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace

int run_embed(const std::vector<std::string>& argv) {
    Args args(argv, {"model", "batch-size", "threads", "prompt", "input-format", "output"}, {"help", "h"});
    if (args.has("help") || args.has("h")) {
        std::fputs(embed_usage, stdout);
        return 0;
    }
    if (args.positionals().size() > 1) throw Error("embed takes at most one input FILE");
    const std::string input = args.positionals().empty() ? "-" : args.positionals()[0];
    const std::string format_name = args.get("input-format", "detect");
    InputFormat format = format_name == "lines"   ? InputFormat::lines
                         : format_name == "jsonl" ? InputFormat::jsonl
                         : format_name == "detect"
                             ? InputFormat::detect
                             : throw Error("--input-format must be lines or jsonl, got '" + format_name + "'");
    const std::string prompt = args.get("prompt", "");
    TextRole role = prompt.empty()         ? TextRole::plain
                    : prompt == "query"    ? TextRole::query
                    : prompt == "passage"  ? TextRole::passage
                                           : throw Error("--prompt must be query or passage, got '" + prompt + "'");
    EncoderOptions options;
    options.batch_size = args.get_size("batch-size", options.batch_size);
    options.threads = thread_arg(args);
    if (options.batch_size == 0) throw Error("--batch-size must be at least 1");

    // Load the model before reading or writing anything, so a bad model leaves no partial output.
    auto encoder = Encoder::load(resolve_model(args.get("model", std::string(default_model_name))), options);
    log(LogLevel::info, "model " + encoder->info().name + ": " + std::to_string(encoder->dims()) + " dims, " +
                            std::to_string(encoder->threads()) + " threads");

    std::vector<std::string> texts;
    if (input == "-") {
        texts = read_texts(std::cin, format, "<stdin>");
    } else {
        std::ifstream in(input, std::ios::binary);
        if (!in) throw Error(input + ": cannot open");
        texts = read_texts(in, format, input);
    }
    const std::string output = args.get("output", "");
    if (!output.empty() && std::filesystem::path(output).extension() == ".npy") {
        std::vector<float> vectors = encoder->encode(texts, role);
        write_npy(output, vectors, texts.size(), encoder->dims());
        return 0;
    }
    std::ofstream file;
    if (!output.empty()) {
        file.open(output, std::ios::binary | std::ios::trunc);
        if (!file) throw Error(output + ": cannot create");
    }
    std::ostream& out = output.empty() ? std::cout : file;
    const size_t chunk = 1024;  // stream large inputs instead of holding every vector
    for (size_t begin = 0; begin < texts.size(); begin += chunk) {
        const size_t end = std::min(texts.size(), begin + chunk);
        std::vector<float> vectors =
            encoder->encode(std::span<const std::string>(texts).subspan(begin, end - begin), role);
        write_jsonl(out, vectors, encoder->dims());
    }
    out.flush();
    if (!out) throw Error((output.empty() ? std::string("<stdout>") : output) + ": write failed");
    return 0;
}

}  // namespace leann::cli
