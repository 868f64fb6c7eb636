// Ctrl-C for long commands: the first SIGINT (or SIGTERM) asks the command to stop at its next safe point, which
// throws Interrupted (the index writer then removes its temporary file, so no half index is ever left and an
// older index of the same name stays as it was); a second Ctrl-C ends the process at once.
#pragma once

#include "leann/error.h"

namespace leann::cli {

class Interrupted : public Error {
public:
    Interrupted() : Error("interrupted") {}
};

/// Installs the handlers for its lifetime (restores the previous ones after).
class InterruptScope {
public:
    InterruptScope();
    ~InterruptScope();
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;
};

bool interrupt_requested();
/// Throws Interrupted if a stop was asked for.
void check_interrupt();

}  // namespace leann::cli
