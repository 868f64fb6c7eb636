#include "util/check.h"

namespace leann::detail {

void check_failed(const char* expr, const char* file, int line, const std::string& message) {
    std::string what = std::string("internal error: check failed: ") + expr + " at " + file + ":" +
                       std::to_string(line);
    if (!message.empty()) what += ": " + message;
    throw Error(what);
}

}  // namespace leann::detail
