// LEANN_CHECK: the one way to state an internal invariant. A failure is a bug in leann, not bad input:
// bad input gets a leann::Error with a message that names the file or field.
#pragma once

#include <string>

#include "leann/error.h"

namespace leann::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const std::string& message);
}

#define LEANN_CHECK(cond, ...)                                                                          \
    do {                                                                                                \
        if (!(cond)) ::leann::detail::check_failed(#cond, __FILE__, __LINE__, std::string{__VA_ARGS__}); \
    } while (0)
