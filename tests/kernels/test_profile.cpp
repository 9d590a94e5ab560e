// --profile's recorder through the kernel drivers and the recording kernel table: what is recorded (ops, their
// paths and costs), what is not (inner kernels, parallel workers, anything while off), that results do not change,
// and that the trace is valid trace-event JSON.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "../runtime/temp_path.h"
#include "kernels/kernel_profile.h"
#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "kernels/quant_convert.h"
#include "runtime/parallel.h"
#include "runtime/profile.h"
#include "runtime/tensor.h"

using namespace edgellm;

namespace {

std::vector<float> random_vec(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(g);
  return v;
}

Tensor q4_0_weight(int64_t N, int64_t K) {
  const auto w = random_vec(N * K, 7);
  Tensor W = Tensor::empty({N, K}, DType::Q4_0);
  for (int64_t r = 0; r < N; ++r)
    quantize_row_to(DType::Q4_0, W.raw() + r * dtype_row_bytes(DType::Q4_0, K), w.data() + r * K, K);
  W.name = "w";
  return W;
}

// Runs one decode-like step: a Q4_0 linear (M = 1), an f32 linear (M = 8) and an RMSNorm through the table.
void step(std::vector<float>& y1, std::vector<float>& y2, std::vector<float>& yn, const Tensor& Wq, const Tensor& Wf) {
  const int64_t N = Wq.shape().rows(), K = Wq.shape().cols();
  const auto x = random_vec(8 * K, 3);
  const auto w = random_vec(K, 4);
  y1.assign(static_cast<size_t>(N), 0.0f);
  y2.assign(static_cast<size_t>(8 * N), 0.0f);
  yn.assign(static_cast<size_t>(8 * K), 0.0f);
  linear_forward(y1.data(), x.data(), Wq, nullptr, 1);
  linear_forward(y2.data(), x.data(), Wf, nullptr, 8);
  kernels().rmsnorm_forward(yn.data(), nullptr, x.data(), w.data(), 8, K, 1e-5f);
}

}  // namespace

TEST_CASE("profile: off records nothing and hands out the plain table") {
  const KernelTable* plain = kernels_for(active_isa());
  CHECK(&kernels() == plain);
  CHECK_FALSE(profile::on());
  const Tensor Wq = q4_0_weight(64, 256);
  Tensor Wf = Tensor::empty({64, 256});
  const auto wf = random_vec(64 * 256, 5);
  std::copy(wf.begin(), wf.end(), Wf.data<float>());
  std::vector<float> a, b, c;
  kernel_profile_start();
  kernel_profile_stop();
  const int64_t before = profile::recorded_calls();
  step(a, b, c, Wq, Wf);
  CHECK(profile::recorded_calls() == before);
  CHECK(&kernels() == plain);
}

TEST_CASE("profile: ops, their paths and costs; the same results as unprofiled") {
  const int64_t N = 64, K = 256;
  const Tensor Wq = q4_0_weight(N, K);
  Tensor Wf = Tensor::empty({N, K});
  const auto wf = random_vec(N * K, 5);
  std::copy(wf.begin(), wf.end(), Wf.data<float>());
  std::vector<float> a0, b0, c0, a1, b1, c1;
  step(a0, b0, c0, Wq, Wf);

  kernel_profile_start();
  CHECK(&kernels() != kernels_for(active_isa()));
  step(a1, b1, c1, Wq, Wf);
  // Inside a parallel job nothing is an op of its own (a worker's kernel calls are its caller's op).
  parallel_for(4, 1, [&](int64_t, int64_t) { kernels().add_forward(c1.data(), c1.data(), c1.data(), 0); });
  kernel_profile_stop();

  CHECK(a0 == a1);  // the recording table forwards to the same kernels
  CHECK(b0 == b1);
  CHECK(c0 == c1);
  // linear (Q4_0, M = 1), linear (f32, M = 8), rmsnorm_forward: three ops. The Q4_0 linear's activation
  // quantization and vec_dot calls, and the f32 linear's GEMM, are inside their op; parallel workers never record.
  // With one thread the parallel_for above runs on the caller, flagged as a job all the same.
  CHECK(profile::recorded_calls() == 3);

  const test::TempPath trace("trace.json");
  profile::write_trace(trace.str());
  std::ifstream f(trace.str());
  const auto js = nlohmann::json::parse(f);
  std::vector<std::string> names, paths;
  double q_flops = -1, q_bytes = -1;
  for (const auto& e : js.at("traceEvents")) {
    if (e.at("ph") != "X") continue;
    names.push_back(e.at("name"));
    paths.push_back(e.at("cat"));
    CHECK(e.at("dur").get<double>() >= 0);
    if (e.at("cat").get<std::string>().rfind("q4_0 vec_dot", 0) == 0) {
      q_flops = e.at("args").at("flops");
      q_bytes = e.at("args").at("bytes");
    }
  }
  REQUIRE(names.size() == 3);
  CHECK(names[0] == "linear");
  CHECK(names[1] == "linear");
  CHECK(names[2] == "rmsnorm_forward");
  CHECK(paths[0].rfind("q4_0 vec_dot ", 0) == 0);
  CHECK(paths[1].rfind("f32 gemm ", 0) == 0);
  CHECK(paths[2] == kernels().rmsnorm_forward_isa);
  CHECK(q_flops == doctest::Approx(2.0 * N * K));
  // 64 rows of 8 Q4_0 blocks (18 bytes each) + x and y in f32.
  CHECK(q_bytes == doctest::Approx(64.0 * 8 * 18 + 4.0 * (K + N)));

  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  profile::print_report(out, profile::Bounds{10, 100, 1});
  std::fclose(out);
  const std::string report(buf, len);
  std::free(buf);
  CHECK(report.find("rmsnorm_forward") != std::string::npos);
  CHECK(report.find("q4_0 vec_dot") != std::string::npos);
  CHECK(report.find("(outside ops)") != std::string::npos);
}

TEST_CASE("profile: machine bounds are positive") {
  const profile::Bounds b = measure_machine_bounds();
  CHECK(b.gbps > 0);
  CHECK(b.gflops > 0);
  CHECK(b.threads == num_threads());
}
