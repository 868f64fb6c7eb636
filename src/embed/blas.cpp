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

namespace {

// The encoder's own pool runs one single-threaded GEMM per core, so OpenBLAS never needs its threads. Stopped once,
// when this library's code is loaded (see `stopped_at_load`) and again, harmlessly, by init().
void stop_threads() {
    static std::once_flag once;
    std::call_once(once, [] {
        openblas_set_num_threads(1);
        if (blas_thread_shutdown_ != nullptr) blas_thread_shutdown_();
    });
}

// OpenBLAS's pthread build starts a worker per extra core when it is loaded, and each spins for ~0.1 s or more
// waiting for work that never comes. Left running they take the second core from whatever else runs then: the
// model load of a one-shot search (-40 ms, bench/README.md "Loading the model"), and in a `leann search` served by
// the daemon, which loads no model, the daemon's own encoder for the whole search (13.2 against 9.7 ms per
// recomputation on 2 cores, bench/README.md "The daemon's client"). Shared libraries are initialised before the
// code that links them, so OpenBLAS's threads exist by the time this runs.
const bool stopped_at_load = [] {
    stop_threads();
    return true;
}();

}  // namespace

std::string init() {
    (void)stopped_at_load;
    stop_threads();
    return std::string(openblas_get_config()) + " (kernels: " + openblas_get_corename() + ")";
}

}  // namespace leann::blas
