#include "leann/version.h"

#include "leann_version.h"

namespace leann {

std::string_view version() { return LEANN_VERSION_STRING; }

}  // namespace leann
