// Minimal .npy (format 1.0/2.0) reader and writer for float32 and int32 C-order matrices, for the benchmarks.
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

template <class T>
struct Matrix {
    size_t rows = 0, cols = 0;
    std::vector<T> data;
    const T* row(size_t r) const { return data.data() + r * cols; }
};

template <class T>
Matrix<T> read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    char magic[8];
    in.read(magic, 8);
    if (!in || std::string(magic + 1, 5) != "NUMPY") throw std::runtime_error(path + ": not a .npy file");
    uint32_t header_len = 0;
    if (magic[6] == 1) {
        uint16_t h;
        in.read(reinterpret_cast<char*>(&h), 2);
        header_len = h;
    } else {
        in.read(reinterpret_cast<char*>(&header_len), 4);
    }
    std::string header(header_len, '\0');
    in.read(header.data(), header_len);
    const char* want = sizeof(T) == 4 && std::is_floating_point_v<T> ? "<f4" : "<i4";
    if (header.find(want) == std::string::npos) throw std::runtime_error(path + ": expected dtype " + want);
    if (header.find("'fortran_order': False") == std::string::npos) throw std::runtime_error(path + ": not C order");
    const auto open = header.find('('), close = header.find(')');
    const std::string shape = header.substr(open + 1, close - open - 1);
    Matrix<T> m;
    m.rows = std::stoull(shape);
    const auto comma = shape.find(',');
    const std::string rest = comma == std::string::npos ? "" : shape.substr(comma + 1);
    m.cols = rest.find_first_of("0123456789") == std::string::npos ? 1 : std::stoull(rest);
    m.data.resize(m.rows * m.cols);
    in.read(reinterpret_cast<char*>(m.data.data()), std::streamsize(m.data.size() * sizeof(T)));
    if (!in) throw std::runtime_error(path + ": truncated");
    return m;
}

}  // namespace bench
