#include "util/fault_guard.h"

#include <atomic>
#include <csetjmp>
#include <csignal>
#include <cstring>
#include <mutex>

namespace leann {
namespace {

// volatile: the handler reads it asynchronously; without it the compiler may drop the store around an inlined copy.
thread_local sigjmp_buf* volatile recovery = nullptr;
struct sigaction previous_handler {};

void on_sigbus(int sig, siginfo_t* info, void* context) {
    if (sigjmp_buf* r = recovery) {
        recovery = nullptr;
        siglongjmp(*r, 1);
    }
    // Not ours: behave as if we had never been installed.
    if (previous_handler.sa_flags & SA_SIGINFO) {
        if (previous_handler.sa_sigaction) {
            previous_handler.sa_sigaction(sig, info, context);
            return;
        }
    } else if (previous_handler.sa_handler != SIG_DFL && previous_handler.sa_handler != SIG_IGN) {
        previous_handler.sa_handler(sig);
        return;
    }
    // Default action: restore it and return; the faulting access repeats and ends the process with SIGBUS.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGBUS, &dfl, nullptr);
}

void install_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &previous_handler);
    });
}

struct Copy {
    void* dst;
    const void* src;
    size_t bytes;
};

}  // namespace

bool run_fault_guarded(void (*fn)(void*), void* arg) {
    install_once();
    sigjmp_buf here;
    sigjmp_buf* const outer = recovery;
    // No signal mask to save: the handler runs with SA_NODEFER, so leaving it by siglongjmp leaves the mask as it
    // was (and the guard costs no system call).
    if (sigsetjmp(here, 0) != 0) {
        recovery = outer;
        return false;
    }
    recovery = &here;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    fn(arg);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    recovery = outer;
    return true;
}

bool copy_fault_guarded(void* dst, const void* src, size_t bytes) {
    Copy c{dst, src, bytes};
    return run_fault_guarded(
        [](void* p) {
            auto* c = static_cast<Copy*>(p);
            std::memcpy(c->dst, c->src, c->bytes);
        },
        &c);
}

}  // namespace leann
