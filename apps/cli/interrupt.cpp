#include "interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace leann::cli {
namespace {

std::atomic<int> g_signals{0};
struct sigaction g_old_int {}, g_old_term {};

extern "C" void on_signal(int sig) {
    if (g_signals.fetch_add(1) > 0) {
        // Second signal: the user means it. Default action (the writer's temporary file is removed by the next
        // writer in that folder, see store/index_file.cpp).
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    static const char message[] = "\nstopping at the next safe point (Ctrl-C again to quit at once)...\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, message, sizeof message - 1);
}

}  // namespace

InterruptScope::InterruptScope() {
    g_signals = 0;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &g_old_int);
    ::sigaction(SIGTERM, &action, &g_old_term);
}

InterruptScope::~InterruptScope() {
    ::sigaction(SIGINT, &g_old_int, nullptr);
    ::sigaction(SIGTERM, &g_old_term, nullptr);
}

bool interrupt_requested() { return g_signals.load() > 0; }

void check_interrupt() {
    if (interrupt_requested()) throw Interrupted();
}

}  // namespace leann::cli
