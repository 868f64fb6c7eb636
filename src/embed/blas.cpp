#include "embed/blas.h"

#include <cblas.h>

#include <mutex>

extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config();
char* openblas_get_corename();
// OpenBLAS's (pthread build's) own worker threads start when the library loads and spin for a while waiting for
// work; absent from builds without them (then null).
int blas_thread_shutdown_(void) __attribute__((weak));
}

namespace leann::blas {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

std::string init() {
    static std::once_flag once;
    std::call_once(once, [] {
        // The encoder's own pool runs one single-threaded GEMM per core, so OpenBLAS never needs its threads: stop
        // them, or they spin on the second core for ~0.1 s after start, just while the model loads there
        // (one-shot search -40 ms, bench/README.md "Loading the model").
        openblas_set_num_threads(1);
        if (blas_thread_shutdown_ != nullptr) blas_thread_shutdown_();
    });
    return std::string(openblas_get_config()) + " (kernels: " + openblas_get_corename() + ")";
}

}  // namespace leann::blas
