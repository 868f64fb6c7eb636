// The pieces of the extension module leann._core, one file per noun of the public API.
#pragma once

#include <cstddef>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

namespace leann::python {

namespace nb = nanobind;

void bind_errors(nb::module_& m);   // leann::Error and subclasses -> leann.Error ... (errors.cpp)
void bind_encoder(nb::module_& m);  // Encoder, models (encoder.cpp)
void bind_filter(nb::module_& m);   // Filter, SearchMode, HybridFusion (filter.cpp)
void bind_index(nb::module_& m);    // Index, options, hits (index.cpp)
void bind_writer(nb::module_& m);   // IndexWriter (writer.cpp)

/// A rows x cols float32 array that takes over `values` (no copy).
nb::ndarray<nb::numpy, float, nb::ndim<2>> matrix_to_numpy(std::vector<float>&& values, size_t rows, size_t cols);

}  // namespace leann::python
