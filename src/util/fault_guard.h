// Reading a memory-mapped file that another process shrinks (`cp other.leann index.leann` truncates, then writes)
// raises SIGBUS on the pages past the new end. The few places that read file-backed pages after open go through
// here: the access runs with a per-thread recovery point, and a SIGBUS inside it ends the access with `false`
// instead of killing the process. A SIGBUS anywhere else still ends the process as before (the previous handler,
// e.g. a sanitizer's, is called).
//
// The guarded function must be plain code: no destructors to run, no locks held, no allocation (it is left with
// siglongjmp). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace leann {

/// Runs fn(arg) with SIGBUS caught; false when a SIGBUS interrupted it.
bool run_fault_guarded(void (*fn)(void*), void* arg);

/// memcpy from mapped memory; false (dst partly written) when the source pages vanished.
bool copy_fault_guarded(void* dst, const void* src, size_t bytes);

}  // namespace leann
