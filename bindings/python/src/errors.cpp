// Library exceptions become Python exceptions carrying the library's message:
//   leann.Error (RuntimeError) <- FormatError, ModelError, NotFoundError, IndexLockedError,
//                                  FilterError (also a ValueError: the caller's filter is wrong).
#include <leann/catalog.h>
#include <leann/error.h>
#include <leann/filter.h>
#include <leann/writer.h>

#include <exception>

#include "bindings.h"

namespace leann::python {

void bind_errors(nb::module_& m) {
    // nanobind tries translators newest first: the base class is registered before its subclasses.
    nb::exception<Error> error(m, "Error", PyExc_RuntimeError);
    error.attr("__doc__") = "Any failure the user can act on; the message names the file or field.";
    nb::exception<FormatError> format(m, "FormatError", error);
    format.attr("__doc__") = "A corrupt, truncated, foreign or incompatible index file.";
    nb::exception<ModelError> model(m, "ModelError", error);
    model.attr("__doc__") = "A model folder or one of its files is missing, truncated or inconsistent.";
    nb::exception<NotFoundError> not_found(m, "NotFoundError", error);
    not_found.attr("__doc__") = "No index or collection of that name.";
    nb::exception<IndexLockedError> locked(m, "IndexLockedError", error);
    locked.attr("__doc__") = "Another writer holds the index's lock.";

    // Two bases (nb::exception takes one): the type is made here and its translator registered by hand.
    nb::object bases = nb::make_tuple(error, nb::handle(PyExc_ValueError));
    PyObject* filter_type = PyErr_NewExceptionWithDoc(
        "leann._core.FilterError",
        "A filter that cannot be applied: malformed, or naming a field, type or language the index does not have "
        "(the message names it). Also a ValueError.",
        bases.ptr(), nullptr);
    if (filter_type == nullptr) throw nb::python_error();
    m.attr("FilterError") = nb::steal(filter_type);
    nb::register_exception_translator(
        [](const std::exception_ptr& p, void* payload) {
            try {
                std::rethrow_exception(p);
            } catch (const FilterError& e) {
                PyErr_SetString(static_cast<PyObject*>(payload), e.what());
            }
        },
        filter_type);
}

}  // namespace leann::python
