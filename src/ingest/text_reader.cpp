#include "ingest/text_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "util/utf8.h"

namespace leann::ingest {

namespace {

std::string utf16_to_utf8(std::string_view bytes, bool little_endian) {
    std::string out;
    out.reserve(bytes.size());
    auto unit = [&](size_t i) {
        const auto lo = static_cast<unsigned char>(bytes[i + (little_endian ? 0 : 1)]);
        const auto hi = static_cast<unsigned char>(bytes[i + (little_endian ? 1 : 0)]);
        return char32_t(lo | hi << 8);
    };
    for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
        char32_t cp = unit(i);
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < bytes.size()) {
            const char32_t low = unit(i + 2);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                i += 2;
            } else {
                cp = utf8::replacement_char;
            }
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = utf8::replacement_char;  // unpaired surrogate
        }
        utf8::append(out, cp);
    }
    return out;
}

}  // namespace

std::optional<TextFile> decode_text(std::string_view bytes, std::string& why) {
    if (bytes.empty()) {
        why = "empty file";
        return std::nullopt;
    }
    if (bytes.size() >= 2 && (bytes.substr(0, 2) == "\xFF\xFE" || bytes.substr(0, 2) == "\xFE\xFF")) {
        const bool le = bytes[0] == '\xFF';
        return TextFile{utf16_to_utf8(bytes.substr(2), le), le ? "utf-16le" : "utf-16be"};
    }
    std::string encoding = "utf-8";
    if (bytes.substr(0, 3) == "\xEF\xBB\xBF") {
        bytes.remove_prefix(3);
        encoding = "utf-8-bom";
    }
    // NUL bytes in the first 8 KiB: a binary file (text in UTF-16 without a BOM is taken as binary too).
    if (bytes.substr(0, 8192).find('\0') != std::string_view::npos) {
        why = "binary file";
        return std::nullopt;
    }
    if (utf8::is_valid(bytes)) return TextFile{std::string(bytes), encoding};
    // Mostly-valid UTF-8 with a few bad bytes is repaired; text where invalid sequences are common is Latin-1.
    const std::u32string decoded = utf8::decode(bytes);
    const size_t bad = size_t(std::count(decoded.begin(), decoded.end(), utf8::replacement_char));
    if (bad * 100 <= decoded.size()) return TextFile{utf8::repair(bytes), "utf-8 (repaired)"};
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) utf8::append(out, char32_t(static_cast<unsigned char>(c)));
    return TextFile{std::move(out), "latin-1"};
}

std::optional<std::string> read_file_bytes(const std::filesystem::path& path, uint64_t max_bytes, std::string& why) {
    // POSIX reads: libstdc++'s streams throw std::ios_base::failure out of a read error (EIO) met through
    // istreambuf_iterator, which named no file and ended the whole build. O_NONBLOCK: opening a FIFO must not wait.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        why = std::string("cannot open: ") + std::strerror(errno);
        return std::nullopt;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        why = "not a regular file";
        return std::nullopt;
    }
    // One byte past the limit is read, to tell "exactly at the limit" from "over it".
    const uint64_t cap = max_bytes == UINT64_MAX ? max_bytes : max_bytes + 1;
    std::string bytes;
    bytes.resize(size_t(std::min<uint64_t>(uint64_t(st.st_size) + 1, cap)));
    size_t used = 0;
    for (;;) {
        if (used == bytes.size()) {
            if (used >= cap) break;
            bytes.resize(size_t(std::min<uint64_t>(std::max<uint64_t>(4096, uint64_t(bytes.size()) * 2), cap)));
        }
        const ssize_t got = ::read(fd, bytes.data() + used, bytes.size() - used);
        if (got < 0) {
            if (errno == EINTR) continue;
            why = std::string("read error: ") + std::strerror(errno);
            return std::nullopt;
        }
        if (got == 0) break;
        used += size_t(got);
    }
    if (used > max_bytes) {
        why = "larger than the limit (more than " + std::to_string(max_bytes) + " bytes when read; it grew after it "
              "was listed)";
        return std::nullopt;
    }
    bytes.resize(used);
    return bytes;
}

std::optional<TextFile> read_text(const std::filesystem::path& path, std::string& why, uint64_t max_bytes) {
    auto bytes = read_file_bytes(path, max_bytes, why);
    if (!bytes) return std::nullopt;
    return decode_text(*bytes, why);
}

std::optional<FileKind> file_kind(const std::filesystem::path& path) {
    static const std::unordered_map<std::string, std::string> languages = {
        {"c", "c"}, {"h", "c"}, {"cc", "cpp"}, {"cpp", "cpp"}, {"cxx", "cpp"}, {"hpp", "cpp"}, {"hh", "cpp"},
        {"hxx", "cpp"}, {"cu", "cuda"}, {"py", "python"}, {"pyi", "python"}, {"js", "javascript"},
        {"mjs", "javascript"}, {"cjs", "javascript"}, {"jsx", "javascript"}, {"ts", "typescript"},
        {"tsx", "typescript"}, {"java", "java"}, {"kt", "kotlin"}, {"kts", "kotlin"}, {"scala", "scala"},
        {"go", "go"}, {"rs", "rust"}, {"rb", "ruby"}, {"php", "php"}, {"cs", "csharp"}, {"fs", "fsharp"},
        {"swift", "swift"}, {"m", "objective-c"}, {"mm", "objective-c"}, {"sh", "shell"}, {"bash", "shell"},
        {"zsh", "shell"}, {"fish", "shell"}, {"ps1", "powershell"}, {"pl", "perl"}, {"pm", "perl"}, {"lua", "lua"},
        {"r", "r"}, {"jl", "julia"}, {"hs", "haskell"}, {"ml", "ocaml"}, {"mli", "ocaml"}, {"ex", "elixir"},
        {"exs", "elixir"}, {"erl", "erlang"}, {"clj", "clojure"}, {"lisp", "lisp"}, {"el", "emacs-lisp"},
        {"dart", "dart"}, {"zig", "zig"}, {"nim", "nim"}, {"v", "verilog"}, {"sv", "systemverilog"},
        {"vhd", "vhdl"}, {"sql", "sql"}, {"css", "css"}, {"scss", "scss"}, {"less", "less"}, {"vue", "vue"},
        {"svelte", "svelte"}, {"proto", "protobuf"}, {"cmake", "cmake"}, {"mk", "make"}, {"gradle", "gradle"},
        {"tf", "terraform"}, {"yaml", "yaml"}, {"yml", "yaml"}, {"toml", "toml"}, {"json", "json"},
        {"xml", "xml"}, {"ini", "ini"}, {"cfg", "ini"}, {"tex", "latex"}, {"f90", "fortran"}, {"f", "fortran"},
        {"asm", "assembly"}, {"s", "assembly"}};
    static const std::unordered_map<std::string, std::string> names = {
        {"Makefile", "make"}, {"makefile", "make"}, {"GNUmakefile", "make"}, {"Dockerfile", "dockerfile"},
        {"CMakeLists.txt", "cmake"}, {"Jenkinsfile", "groovy"}, {"Rakefile", "ruby"}, {"Gemfile", "ruby"}};
    const std::string name = path.filename().string();
    if (auto it = names.find(name); it != names.end()) return FileKind{"code", it->second};
    std::string ext = path.extension().string();
    if (!ext.empty()) ext.erase(0, 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == "md" || ext == "markdown" || ext == "mdx") return FileKind{"markdown", ""};
    if (ext == "html" || ext == "htm" || ext == "xhtml") return FileKind{"html", ""};
    if (ext == "pdf") return FileKind{"pdf", ""};
    if (ext.empty() || ext == "txt" || ext == "text" || ext == "rst" || ext == "org" || ext == "adoc" ||
        ext == "log" || ext == "csv" || ext == "tsv")
        return FileKind{"text", ""};
    if (auto it = languages.find(ext); it != languages.end()) return FileKind{"code", it->second};
    return std::nullopt;
}

}  // namespace leann::ingest
