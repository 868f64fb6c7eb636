// leann._core: the native half of the `leann` Python package. The pure-Python half (leann/*.py) builds the
// reference-compatible API, the vector store and the adapters on top of it.
//
// Importing the module changes no process-wide state: BLAS threads and the PDF library's handlers are set by the
// library when it first encodes or reads a PDF, as in the C++ programs.
#include <leann/version.h>

#include <string>

#include <nanobind/stl/string.h>

#include "bindings.h"

NB_MODULE(_core, m) {
    m.doc() = "Native core of leann: index build, update, search and the text encoder (C++, GIL released).";
    m.attr("__version__") = std::string(leann::version());
    leann::python::bind_errors(m);
    leann::python::bind_encoder(m);
    leann::python::bind_filter(m);
    leann::python::bind_index(m);
    leann::python::bind_writer(m);
}
