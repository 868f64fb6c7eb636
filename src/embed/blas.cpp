#include "embed/blas.h"

#include <cblas.h>

#include <mutex>

extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config();
char* openblas_get_corename();
}

namespace leann::blas {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

std::string init() {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
    return std::string(openblas_get_config()) + " (kernels: " + openblas_get_corename() + ")";
}

}  // namespace leann::blas
