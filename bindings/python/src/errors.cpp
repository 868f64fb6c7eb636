// Library exceptions become Python exceptions carrying the library's message:
//   leann.Error (RuntimeError) <- FormatError, ModelError, NotFoundError, IndexLockedError.
#include <leann/catalog.h>
#include <leann/error.h>
#include <leann/writer.h>

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
}

}  // namespace leann::python
