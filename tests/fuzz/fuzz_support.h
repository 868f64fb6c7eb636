// Shared by the fuzz targets: a private scratch folder (in /dev/shm when there is one, so each input costs no disk
// I/O) and a way to hand an input to code that reads files by path. Each target defines LLVMFuzzerTestOneInput;
// libFuzzer drives it (LEANN_FUZZ=ON), and replay_main.cpp feeds it the seed corpus in the normal build.
//
// What a target treats as a finding: a crash, a sanitizer report, a hang, a leak, and any exception that is not a
// leann::Error (the library's promise is a clear leann::Error for every bad input).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace leann::fuzz {

inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
        auto d = base / ("leann-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        std::atexit([] { std::error_code ec; std::filesystem::remove_all(scratch_dir(), ec); });
        return d;
    }();
    return dir;
}

/// Writes `bytes` to scratch_dir()/name and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
    const auto path = scratch_dir() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    return path;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace leann::fuzz
