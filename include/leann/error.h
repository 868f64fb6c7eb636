// Errors: the library throws leann::Error (or a subclass); every app and binding catches at its boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace leann {

/// Any failure the user can act on: a bad file, a bad argument, a missing model. The message names the
/// file or field and what was expected.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A corrupt, truncated, foreign or incompatible index file; the message names the file and the section.
class FormatError : public Error {
public:
    using Error::Error;
};

/// A model folder or one of its files is missing, truncated or inconsistent.
class ModelError : public Error {
public:
    using Error::Error;
};

}  // namespace leann
