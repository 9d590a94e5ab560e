// bench_compare_blas: edgellm's gemm_f32 against OpenBLAS's cblas_sgemm/sgemv in one process on the
// same shapes and threads, plus a triad bandwidth so GEMV reads as % of it. Writes a markdown table.
// Not a library dependency: only this program links OpenBLAS. Not a test: it asserts nothing.
//
// Usage: bench_compare_blas [--threads 1,2] [--reps 7] [--min-time 0.15] [--out FILE] [--quick] [--cpu-time]
// --cpu-time times 1-thread rows on the calling thread's CPU clock (robust on a shared machine;
// both libraries then run on the calling thread); rows with more threads stay on the wall clock.
#include <cblas.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/parallel.h"

extern "C" {
void openblas_set_num_threads(int);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace {

using namespace edgellm;
using Clock = std::chrono::steady_clock;

struct Stats {
  double median = 0, lo = 0, hi = 0;
};

// Seconds on the wall clock, or (--cpu-time, single-threaded rows only) on this thread's CPU clock,
// which a busy machine's preemptions do not inflate.
bool g_cpu_clock = false;
double now_s() {
  if (g_cpu_clock) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// Median (and range) over `reps` runs of the rate `work / seconds`, each run repeating fn until
// min_time has passed so that short shapes are timed over many calls.
Stats measure(const std::function<void()>& fn, double work, int reps, double min_time) {
  fn();  // warm-up: page faults, packing buffers, thread start
  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) {
    int64_t calls = 0;
    const double t0 = now_s();
    double dt = 0;
    do {
      fn();
      ++calls;
      dt = now_s() - t0;
    } while (dt < min_time);
    rates.push_back(work * static_cast<double>(calls) / dt);
  }
  std::sort(rates.begin(), rates.end());
  return {rates[rates.size() / 2], rates.front(), rates.back()};
}

// Lets the other library's idle threads stop spinning before the next timing (2 cores only).
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }

std::vector<float> randv(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

int64_t l3_bytes() {
  int64_t b = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (b <= 0) {
    std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index3/size");
    std::string s;
    if (f >> s) b = std::atoll(s.c_str()) * (s.back() == 'K' ? 1024 : s.back() == 'M' ? 1048576 : 1);
  }
  return std::max<int64_t>(b, 32 << 20);
}

std::string cpu_line() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// Triad a[i] = b[i] + s * c[i] over arrays of 2x L3 each; GB/s counts the 3 arrays (STREAM convention).
double triad_gbs(int threads, int reps) {
  const int64_t n = l3_bytes() * 2 / 4;
  float* a = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(n) * 4));
  float* b = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(n) * 4));
  float* c = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(n) * 4));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;  // first touch by the same threads
  const float s = 3.0f;
  const Stats st = measure(
      [&] {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
      },
      3.0 * 4.0 * static_cast<double>(n) * 1e-9, reps, 0.0);
  std::free(a);
  std::free(b);
  std::free(c);
  return st.median;
}

// The 1/5/15-minute load averages: how busy the (shared) machine was around the run.
std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct Shape {
  std::string name;
  int64_t M, N, K;
  bool xwt;  // y = x·Wᵀ with W (N, K), else C = A·B with B (K, N)
};

struct Row {
  std::string shape;
  int threads;
  Stats ours, blas;
  double gemv_bytes = 0;  // > 0 for GEMV rows: bytes of W per call
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts = {1, 2};
  int reps = 7;
  double min_time = 0.15;
  std::string out;
  bool quick = false, cpu_time = false;
  std::string cmd;
  for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
  const std::string load_before = loadavg();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") {
      thread_counts.clear();
      std::stringstream ss(next());
      for (std::string t; std::getline(ss, t, ',');) thread_counts.push_back(std::atoi(t.c_str()));
    } else if (a == "--reps") {
      reps = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--min-time") {
      min_time = std::atof(next().c_str());
    } else if (a == "--out") {
      out = next();
    } else if (a == "--cpu-time") {
      cpu_time = true;
    } else if (a == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--threads 1,2] [--reps 7] [--min-time 0.15] [--out FILE] [--quick] [--cpu-time]\n", argv[0]);
      return 2;
    }
  }

  std::vector<Shape> shapes;
  for (int64_t s : {256, 512, 1024, 2048})
    if (!quick || s == 1024) shapes.push_back({std::to_string(s) + "³ A·B", s, s, s, false});
  shapes.push_back({"1024³ x·Wᵀ", 1024, 1024, 1024, true});
  for (int64_t M : {1, 64}) {
    shapes.push_back({"M=" + std::to_string(M) + " x·Wᵀ, W 5632×2048", M, 5632, 2048, true});
    shapes.push_back({"M=" + std::to_string(M) + " x·Wᵀ, W 4096×4096", M, 4096, 4096, true});
  }

  // GEMV reads W from DRAM as in decoding: rotate over copies totalling 2x L3 so none is cached.
  const int64_t l3 = l3_bytes();
  std::vector<Row> rows;
  std::vector<double> triad;
  for (int t : thread_counts) {
    triad.push_back(triad_gbs(t, reps));
    std::fprintf(stderr, "triad %d threads: %.1f GB/s\n", t, triad.back());
  }
  for (const Shape& sh : shapes) {
    const bool gemv = sh.M == 1;
    const int64_t wbytes = sh.N * sh.K * 4;
    const int copies = gemv ? static_cast<int>(std::max<int64_t>(1, 2 * l3 / wbytes + 1)) : 1;
    std::vector<std::vector<float>> B;
    for (int c = 0; c < copies; ++c) B.push_back(randv(static_cast<size_t>(sh.N * sh.K), 11 + c));
    const auto A = randv(static_cast<size_t>(sh.M * sh.K), 7);
    std::vector<float> C(static_cast<size_t>(sh.M * sh.N));
    const double flop = 2.0 * static_cast<double>(sh.M) * sh.N * sh.K * 1e-9;
    const int64_t ldb = sh.xwt ? sh.K : sh.N;
    for (int t : thread_counts) {
      int next_copy = 0;
      auto pick = [&]() -> const float* { return B[static_cast<size_t>(next_copy++ % copies)].data(); };
      set_num_threads(t);
      openblas_set_num_threads(t);
      g_cpu_clock = cpu_time && t == 1;
      Row row{sh.name, t, {}, {}, gemv ? static_cast<double>(wbytes) : 0.0};
      settle();
      row.ours = measure(
          [&] {
            gemm_f32(Trans::N, sh.xwt ? Trans::T : Trans::N, sh.M, sh.N, sh.K, 1.0f, A.data(), sh.K, pick(), ldb,
                     0.0f, C.data(), sh.N);
          },
          flop, reps, min_time);
      settle();
      row.blas = measure(
          [&] {
            // OpenBLAS at its best: sgemv for M = 1 (what sgemm callers switch to), sgemm otherwise.
            if (gemv)
              cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(sh.N), static_cast<int>(sh.K), 1.0f, pick(),
                          static_cast<int>(sh.K), A.data(), 1, 0.0f, C.data(), 1);
            else
              cblas_sgemm(CblasRowMajor, CblasNoTrans, sh.xwt ? CblasTrans : CblasNoTrans, static_cast<int>(sh.M),
                          static_cast<int>(sh.N), static_cast<int>(sh.K), 1.0f, A.data(), static_cast<int>(sh.K),
                          pick(), static_cast<int>(ldb), 0.0f, C.data(), static_cast<int>(sh.N));
          },
          flop, reps, min_time);
      std::fprintf(stderr, "%-28s t=%d edgellm %7.1f  openblas %7.1f GFLOP/s\n", sh.name.c_str(), t, row.ours.median,
                   row.blas.median);
      rows.push_back(row);
    }
  }

  std::ostringstream md;
  md << "CPU: " << cpu_line() << ", " << std::thread::hardware_concurrency() << " threads, L3 " << (l3 >> 20)
     << " MiB; OpenBLAS " << openblas_get_config() << " (core " << openblas_get_corename() << "); edgellm ISA "
     << isa_name(active_isa()) << "\n\n";
  md << "Command: `" << cmd << "`\n\n";
  if (cpu_time) md << "Timing: 1-thread rows on the calling thread's CPU clock (--cpu-time), others on the wall clock.\n\n";
  md << "Load average (1/5/15 min) before: " << load_before << ", after: " << loadavg() << "\n\n";
  md << "Triad bandwidth (a = b + s·c, 3 arrays of " << (l3 * 2 >> 20) << " MiB):";
  for (size_t i = 0; i < thread_counts.size(); ++i)
    md << " " << thread_counts[i] << " thread" << (thread_counts[i] > 1 ? "s" : "") << " " << triad[i] << " GB/s;";
  md << "\n\n| shape (M, N, K) | threads | edgellm GFLOP/s | OpenBLAS GFLOP/s | ratio | GEMV % of triad BW "
        "(edgellm / OpenBLAS) | spread (max-min)/median |\n|---|---|---|---|---|---|---|\n";
  char buf[512];
  for (const Row& r : rows) {
    const size_t ti = static_cast<size_t>(std::find(thread_counts.begin(), thread_counts.end(), r.threads) -
                                          thread_counts.begin());
    std::string bw = "-";
    if (r.gemv_bytes > 0) {
      // GFLOP/s -> bytes of W per second: each weight (4 bytes) is one multiply-add (2 flops).
      const double ours_gbs = r.ours.median * 2.0, blas_gbs = r.blas.median * 2.0;
      std::snprintf(buf, sizeof buf, "%.0f%% / %.0f%%", 100.0 * ours_gbs / triad[ti], 100.0 * blas_gbs / triad[ti]);
      bw = buf;
    }
    const double spread = std::max((r.ours.hi - r.ours.lo) / r.ours.median, (r.blas.hi - r.blas.lo) / r.blas.median);
    std::snprintf(buf, sizeof buf, "| %s | %d | %.1f | %.1f | %.2f | %s | %.0f%% |\n", r.shape.c_str(), r.threads,
                  r.ours.median, r.blas.median, r.ours.median / r.blas.median, bw.c_str(), 100.0 * spread);
    md << buf;
  }
  std::fputs(md.str().c_str(), stdout);
  if (!out.empty()) {
    std::ofstream f(out);
    f << md.str();
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", out.c_str());
      return 1;
    }
  }
  return 0;
}
