#pragma once

#include <string_view>

namespace leann {

/// The program and library version, e.g. "0.1.0" (independent of any on-disk format version).
std::string_view version();

}  // namespace leann
