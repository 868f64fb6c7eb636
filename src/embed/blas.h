// The one door to BLAS (Debian's OpenBLAS). BLAS is pinned to one thread: our thread pool owns the cores and
// gives each thread its own share of every GEMM. OpenBLAS picks its kernels for the CPU at start-up, or as the
// environment variable OPENBLAS_CORETYPE says (bench/README.md shows what that choice is worth).
#pragma once

#include <string>

namespace leann::blas {

/// C(m x n) = alpha * op(A) * op(B) + beta * C, all row-major; op transposes when the flag is set.
/// Thread-safe (single-threaded OpenBLAS is reentrant).
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc);

/// Stops OpenBLAS's own worker threads and pins it to one thread (idempotent). The encoder's pool runs one
/// single-threaded GEMM per core, so they are never needed, yet OpenBLAS's pthread build starts one per extra core
/// when it loads and spins it for ~0.1 s or more waiting for work: on the core a model load, or the daemon serving
/// a command, needs (bench/README.md "The daemon's client"). init() calls it; a program that may never load a
/// model (the CLI: a search the daemon serves loads none) calls it at start.
void stop_threads();

/// Pins BLAS to one thread (stop_threads) and describes it, e.g. "OpenBLAS 0.3.21 ... (kernels: SkylakeX)".
std::string init();

}  // namespace leann::blas
