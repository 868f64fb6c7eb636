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

/// Pins BLAS to one thread (idempotent) and describes it, e.g. "OpenBLAS 0.3.21 ... (kernels: SkylakeX)".
std::string init();

}  // namespace leann::blas
