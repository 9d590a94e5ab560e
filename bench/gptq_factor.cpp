// GPTQ factorization benchmark: CPU seconds (process CPU time, all threads) and accuracy of the blocked f32
// Cholesky + triangular inverse (quant/gptq_factor.h) against the all-double reference, on a damped XᵀX.
// Not the whole GPTQ (edgellm quantize times that). Usage: bench_gptq_factor [K=2048] [threads=2] [ref=1] [N=0]
// N > 0 also quantizes a random (N, K) layer with GPTQ int4g128 on both factorizations and prints the output errors.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "quant/gptq.h"
#include "quant/gptq_factor.h"
#include "runtime/parallel.h"

using namespace edgellm;
using namespace edgellm::quant;

static double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

int main(int argc, char** argv) {
  const int64_t K = argc > 1 ? std::atoll(argv[1]) : 2048;
  set_num_threads(argc > 2 ? std::atoi(argv[2]) : 2);
  const bool ref = argc > 3 ? std::atoi(argv[3]) != 0 : true;
  const int64_t N = argc > 4 ? std::atoll(argv[4]) : 0;

  // H (K, K) = XᵀX / n + 1% of its mean diagonal, X (n, K) with correlated columns (as GPTQ's damped H).
  const int64_t n = K;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> X(static_cast<size_t>(n * K)), H(static_cast<size_t>(K * K));
  for (int64_t t = 0; t < n; ++t) {
    float common = nd(rng);
    for (int64_t k = 0; k < K; ++k) X[t * K + k] = nd(rng) + 0.5f * common;
  }
  gemm_f32(Trans::T, Trans::N, K, K, n, 1.0f / float(n), X.data(), K, X.data(), K, 0.0f, H.data(), K);
  double md = 0;
  for (int64_t k = 0; k < K; ++k) md += H[k * K + k] / double(K);
  for (int64_t k = 0; k < K; ++k) H[k * K + k] += static_cast<float>(0.01 * md);

  std::vector<float> A = H, M(static_cast<size_t>(K * K));
  double t0 = cpu_seconds();
  cholesky_lower_f32(A.data(), K, "H");
  double t1 = cpu_seconds();
  lower_inverse_f32(A.data(), M.data(), K);
  double t2 = cpu_seconds();
  std::printf("K=%lld f32 blocked: cholesky %.2f s, inverse %.2f s, total %.2f CPU s\n", (long long)K, t1 - t0,
              t2 - t1, t2 - t0);
  if (!ref) return 0;

  std::vector<double> Ad(H.begin(), H.end());
  t0 = cpu_seconds();
  cholesky_lower_f64(Ad, K, "H");
  t1 = cpu_seconds();
  const std::vector<double> Md = lower_inverse_f64(Ad, K);
  t2 = cpu_seconds();
  std::printf("K=%lld f64 reference: cholesky %.2f s, inverse %.2f s, total %.2f CPU s\n", (long long)K, t1 - t0,
              t2 - t1, t2 - t0);
  double eL = 0, nL = 0, eM = 0, nM = 0;
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      const double l = Ad[i * K + j], m = Md[i * K + j];
      eL += (A[i * K + j] - l) * (A[i * K + j] - l); nL += l * l;
      eM += (M[i * K + j] - m) * (M[i * K + j] - m); nM += m * m;
    }
  std::printf("relative Frobenius difference f32 vs f64: L %.2e, L^-1 %.2e\n", std::sqrt(eL / nL), std::sqrt(eM / nM));
  if (N <= 0) return 0;

  // GPTQ on a random layer W (N, K) with the H above (undamped: gptq_quantize damps), both factorizations.
  std::vector<double> Hd(H.begin(), H.end());
  for (int64_t k = 0; k < K; ++k) Hd[k * K + k] -= 0.01 * md;
  std::vector<float> W(static_cast<size_t>(N * K));
  for (auto& v : W) v = 0.05f * nd(rng);
  QuantSpec spec;
  spec.bits = 4; spec.group = 128; spec.symmetric = true; spec.prefer_gguf = false;
  for (bool ao : {false, true}) {
    GptqOptions o;
    o.act_order = ao;
    double e[2];
    for (int f64 = 0; f64 < 2; ++f64) {
      o.f64_factor = f64 != 0;
      const QuantizedMatrix q = gptq_quantize(W.data(), N, K, Hd.data(), spec, o);
      e[f64] = relative_output_error(W.data(), q.values.data(), X.data(), N, K, n);
    }
    std::printf("GPTQ int4g128 N=%lld act-order %d: rel. output error f32 factor %.6e, f64 factor %.6e (x%.4f)\n",
                (long long)N, int(ao), e[0], e[1], e[0] / e[1]);
  }
  return 0;
}
