// The Vulkan norm, rope, softmax, elementwise and attention shaders against the CPU scalar kernels
// (kernels_for(Isa::Scalar)) on ragged shapes; and the context's budget and error reporting.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/attention.h"
#include "kernels/kernel_table.h"
#include "runtime/error.h"
#include "vk_test_util.h"

using namespace edgellm;
using namespace edgellm::vktest;

namespace {
const KernelTable& S() { return *kernels_for(Isa::Scalar); }
}  // namespace

TEST_CASE("vulkan rmsnorm forward and backward") {
  for (uint32_t rows : {1u, 7u, 33u, 130u})  // 130: dw sums three chunks of 64 rows, the last one short
    for (uint32_t C : {1u, 64u, 257u, 1000u}) {
      const auto x = randv(size_t(rows) * C, rows * 7 + C), w = randv(C, C + 3), dy = randv(size_t(rows) * C, C + 9);
      std::vector<float> y(x.size()), rstd(rows), dx0 = randv(x.size(), 5), dw0 = randv(C, 6);
      S().rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, C, 1e-5f);
      std::vector<float> dx = dx0, dw = dw0;
      S().rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, C);
      vk::Buffer bx = up(x), bw = up(w), by = ctx().alloc(x.size() * 4), br = ctx().alloc(rows * 4);
      vk::Buffer bdy = up(dy), bdx = up(dx0), bdw = up(dw0);
      vk::Batch b(ctx());
      vk::rmsnorm_forward(b, {&by, 0}, &br, {&bx, 0}, bw, rows, C, 1e-5f);
      vk::rmsnorm_backward(b, bdx, bdw, bdy, bx, bw, br, rows, C);
      b.submit();
      INFO("rows=" << rows << " C=" << C);
      CHECK(worst(down(by, y.size()), y, 1e-5, 1e-4) <= 1);
      CHECK(worst(down(br, rows), rstd, 1e-5, 1e-4) <= 1);
      CHECK(worst(down(bdx, dx.size()), dx, 1e-4, 1e-4) <= 1);
      CHECK(worst(down(bdw, dw.size()), dw, 1e-4 * rows, 1e-4) <= 1);
    }
}

TEST_CASE("vulkan rope both pairings, forward and backward, in place and strided") {
  for (RopePairing pr : {RopePairing::Interleaved, RopePairing::NeoX})
    for (uint32_t T : {1u, 7u, 33u}) {
      const uint32_t NH = 3, HD = 64, half = HD / 2;
      const auto x = randv(size_t(T) * NH * HD, T + 11);
      std::vector<float> cs(size_t(T) * half), sn(cs.size());
      for (uint32_t t = 0; t < T; ++t)
        for (uint32_t i = 0; i < half; ++i) {
          const float a = float(t + 5) * std::pow(10000.0f, -2.0f * i / HD);
          cs[t * half + i] = std::cos(a), sn[t * half + i] = std::sin(a);
        }
      std::vector<float> y(x.size()), dx = randv(x.size(), 77);
      const std::vector<float> dx0 = dx;
      S().rope_forward(y.data(), x.data(), cs.data(), sn.data(), T, NH, HD, pr);
      S().rope_backward(dx.data(), x.data(), cs.data(), sn.data(), T, NH, HD, pr);
      vk::Buffer bx = up(x), bc = up(cs), bs = up(sn), bdx = up(dx0);
      vk::Batch b(ctx());
      vk::rope(b, {&bdx, 0}, NH * HD, {&bx, 0}, NH * HD, bc, bs, T, NH, HD, pr, true);  // dx += Rᵀ·x
      vk::rope(b, {&bx, 0}, NH * HD, {&bx, 0}, NH * HD, bc, bs, T, NH, HD, pr);        // in place
      b.submit();
      INFO("T=" << T << " pairing=" << int(pr));
      CHECK(worst(down(bx, y.size()), y, 1e-5, 1e-4) <= 1);
      CHECK(worst(down(bdx, dx.size()), dx, 1e-5, 1e-4) <= 1);

      // Three sequences of T rows in one dispatch: each restarts at the tables' first position.
      const uint32_t seqs = 3;
      std::vector<float> x3, y3, dx3;
      for (uint32_t s = 0; s < seqs; ++s) {
        const auto xs = randv(x.size(), 100 + s);
        std::vector<float> ys(x.size()), dxs(dx0);
        S().rope_forward(ys.data(), xs.data(), cs.data(), sn.data(), T, NH, HD, pr);
        S().rope_backward(dxs.data(), xs.data(), cs.data(), sn.data(), T, NH, HD, pr);
        x3.insert(x3.end(), xs.begin(), xs.end());
        y3.insert(y3.end(), ys.begin(), ys.end());
        dx3.insert(dx3.end(), dxs.begin(), dxs.end());
      }
      std::vector<float> dx03;
      for (uint32_t s = 0; s < seqs; ++s) dx03.insert(dx03.end(), dx0.begin(), dx0.end());
      vk::Buffer bx3 = up(x3), bdx3 = up(dx03);
      vk::Batch b3(ctx());
      vk::rope(b3, {&bdx3, 0}, NH * HD, {&bx3, 0}, NH * HD, bc, bs, T, NH, HD, pr, true, 0, seqs);
      vk::rope(b3, {&bx3, 0}, NH * HD, {&bx3, 0}, NH * HD, bc, bs, T, NH, HD, pr, false, 0, seqs);
      b3.submit();
      CHECK(worst(down(bx3, y3.size()), y3, 1e-5, 1e-4) <= 1);
      CHECK(worst(down(bdx3, dx3.size()), dx3, 1e-5, 1e-4) <= 1);
    }
}

TEST_CASE("vulkan softmax, swiglu and elementwise ops") {
  for (uint32_t n : {1u, 7u, 257u, 4099u}) {
    const auto a = randv(n, n), c = randv(n, n + 1, -3, 3), dy = randv(n, n + 2);
    std::vector<float> add(n), mul(n), scl(n), sw(n), dg = randv(n, 9), du = randv(n, 10), sm(n);
    const std::vector<float> dg0 = dg, du0 = du;
    S().add_forward(add.data(), a.data(), c.data(), n);
    S().mul_forward(mul.data(), a.data(), c.data(), n);
    S().scale_forward(scl.data(), a.data(), 0.25f, n);
    S().swiglu_forward(sw.data(), c.data(), a.data(), n);
    S().swiglu_backward(dg.data(), du.data(), dy.data(), c.data(), a.data(), n);
    S().softmax_forward(sm.data(), c.data(), 1, n);
    std::vector<float> axpy = a;
    for (uint32_t i = 0; i < n; ++i) axpy[i] += 0.5f * c[i];
    vk::Buffer ba = up(a), bc = up(c), bdy = up(dy), bdg = up(dg0), bdu = up(du0), bax = up(a);
    vk::Buffer o1 = ctx().alloc(n * 4), o2 = ctx().alloc(n * 4), o3 = ctx().alloc(n * 4), o4 = ctx().alloc(n * 4),
               o5 = ctx().alloc(n * 4);
    vk::Batch b(ctx());
    vk::elementwise(b, vk::Ew::Add, {&o1, 0}, {&ba, 0}, {&bc, 0}, n);
    vk::elementwise(b, vk::Ew::Mul, {&o2, 0}, {&ba, 0}, {&bc, 0}, n);
    vk::elementwise(b, vk::Ew::Scale, {&o3, 0}, {&ba, 0}, {}, n, 0.25f);
    vk::elementwise(b, vk::Ew::Swiglu, {&o4, 0}, {&bc, 0}, {&ba, 0}, n);
    vk::elementwise(b, vk::Ew::Axpy, {&bax, 0}, {&bc, 0}, {}, n, 0.5f);
    vk::swiglu_backward(b, bdg, bdu, bdy, bc, ba, n);
    vk::softmax_forward(b, o5, bc, 1, n);
    b.submit();
    INFO("n=" << n);
    CHECK(worst(down(o1, n), add, 1e-6, 1e-6) <= 1);
    CHECK(worst(down(o2, n), mul, 1e-6, 1e-6) <= 1);
    CHECK(worst(down(o3, n), scl, 1e-6, 1e-6) <= 1);
    CHECK(worst(down(o4, n), sw, 1e-6, 1e-5) <= 1);
    CHECK(worst(down(bax, n), axpy, 1e-6, 1e-6) <= 1);
    CHECK(worst(down(bdg, n), dg, 1e-6, 1e-5) <= 1);
    CHECK(worst(down(bdu, n), du, 1e-6, 1e-5) <= 1);
    CHECK(worst(down(o5, n), sm, 1e-7, 1e-5) <= 1);
  }
}

namespace {
// Runs f once per attention path: the flash shaders (the default where HD <= 128 and the device has subgroup
// shuffles), the tiled ones and the per-row ones (EDGELLM_VULKAN_ATTENTION=flash, tiled, naive), all against the
// same CPU reference. Each mode must get the path it asks for where the shape allows it (HD <= 128): a silent
// fallback would test the wrong shader. (A device without subgroup shuffles fails here: say so, do not skip.)
template <class F>
void for_each_attention_path(const AttentionDims& d, F f) {
  for (const char* mode : {"flash", "tiled", "naive"}) {
    setenv("EDGELLM_VULKAN_ATTENTION", mode, 1);
    const vk::AttentionPath path = vk::attention_path(ctx(), d);
    const std::string what = std::string("EDGELLM_VULKAN_ATTENTION=") + mode + " path=" + vk::attention_path_name(path);
    INFO(what);
    if (d.HD <= 128) {
      const vk::AttentionPath want = mode[0] == 'f' ? vk::AttentionPath::Flash
                                     : mode[0] == 't' ? vk::AttentionPath::Tiled
                                                      : vk::AttentionPath::PerRow;
      CHECK(path == want);
    } else {
      CHECK(path == vk::AttentionPath::PerRow);
    }
    f(vk::attention_path_name(path));
  }
  unsetenv("EDGELLM_VULKAN_ATTENTION");
}
// A copy of v after `off` leading junk floats (a view at an offset into a bigger buffer).
std::vector<float> with_prefix(const std::vector<float>& v, uint32_t off) {
  std::vector<float> r(off, 1e30f);
  r.insert(r.end(), v.begin(), v.end());
  return r;
}
}  // namespace

// Tiled: 32 query rows x 32 keys (HD <= 64: 16, 18, 32, 48, 64), 16 x 16 (HD <= 128: 70, 80, 96, 128); flash: 64
// rows x 32 keys and 16 x 16. T and pos0 + T off multiples of the tiles and below one tile, a KV prefix (pos0 > 0)
// and rows past pos0 + T in the cache (S larger), GQA, several sequences (workgroup z), view offsets, window and
// soft-cap, the l base's shape (T 256, 6 heads of 64); HD 200 and 256 fall back to the per-row shader in every mode.
TEST_CASE("vulkan causal attention with online softmax: GQA, KV-cache prefix, strided views, window, soft-cap") {
  struct Case { int64_t T, pos0, NH, KVH, HD, window = 0; double softcap = 0; int64_t batch = 1; };
  for (Case cs : {Case{1, 0, 2, 1, 16}, Case{7, 0, 4, 2, 64}, Case{5, 70, 4, 4, 32}, Case{33, 100, 6, 2, 128},
                  Case{1, 130, 8, 2, 64}, Case{7, 0, 4, 2, 32, 4, 0}, Case{9, 70, 4, 2, 64, 4, 50},
                  Case{1, 130, 8, 2, 64, 100, 0}, Case{33, 5, 2, 1, 16, 0, 3}, Case{1, 200, 2, 2, 256, 65, 20},
                  Case{40, 0, 4, 2, 64, 0, 0, 3}, Case{5, 37, 4, 1, 32, 0, 0, 2}, Case{70, 13, 6, 3, 48, 0, 0, 2},
                  Case{45, 20, 4, 2, 64, 17, 0, 2}, Case{65, 31, 2, 2, 64, 0, 30, 1}, Case{40, 3, 4, 2, 80, 0, 0, 2},
                  Case{96, 0, 2, 1, 64, 40, 10, 2}, Case{50, 7, 4, 2, 96, 21, 0, 2}, Case{40, 3, 4, 2, 200, 0, 0, 2},
                  Case{37, 4, 4, 2, 18, 0, 0, 2}, Case{20, 9, 2, 1, 70, 0, 0, 1}, Case{256, 0, 6, 6, 64, 0, 0, 2},
                  Case{130, 0, 4, 2, 128, 0, 0, 1}, Case{100, 30, 4, 2, 80, 50, 5, 2}, Case{67, 0, 2, 2, 32, 0, 0, 2}}) {
    AttentionDims d;
    d.T = cs.T, d.S = cs.pos0 + cs.T + (cs.batch > 1 ? 3 : 0), d.NH = cs.NH, d.KVH = cs.KVH, d.HD = cs.HD;
    d.pos0 = cs.pos0;
    d.q_stride = d.NH * d.HD + 3, d.k_stride = d.KVH * d.HD, d.v_stride = d.KVH * d.HD + 5, d.o_stride = d.NH * d.HD;
    d.scale = 1.0 / std::sqrt(double(d.HD));
    d.window = cs.window, d.softcap = cs.softcap;  // the families' sliding window and soft-cap (Gemma 2/3)
    const int64_t nb = cs.batch;
    const auto q = randv(size_t(nb * d.T * d.q_stride), 1 + cs.T, -2, 2),
               k = randv(size_t(nb * d.S * d.k_stride), 2 + cs.T, -2, 2),
               v = randv(size_t(nb * d.S * d.v_stride), 3 + cs.T);
    std::vector<float> o(size_t(nb * d.T * d.o_stride)), L(size_t(nb * d.T * d.NH)),
        work(size_t(attention_work_floats(d.HD)));
    for (int64_t z = 0; z < nb; ++z)
      for (int64_t g = 0; g < d.KVH; ++g)
        S().attention_forward(o.data() + z * d.T * d.o_stride, L.data() + z * d.T * d.NH,
                              q.data() + z * d.T * d.q_stride,
                              k.data() + z * d.S * d.k_stride, v.data() + z * d.S * d.v_stride, d, g, 0, d.T,
                              work.data());
    const uint32_t qo = 7, ko = 11, vo = 2, oo = 5;  // element offsets of the views
    for_each_attention_path(d, [&](const char* mode) {
      vk::Buffer bq = up(with_prefix(q, qo)), bk = up(with_prefix(k, ko)), bv = up(with_prefix(v, vo)),
                 bo = ctx().alloc((o.size() + oo) * 4), bL = ctx().alloc(L.size() * 4);
      vk::Batch b(ctx());
      vk::attention_forward(b, {&bo, oo}, &bL, {&bq, qo}, {&bk, ko}, {&bv, vo}, d, uint32_t(nb));
      b.submit();
      INFO(mode << " T=" << cs.T << " pos0=" << cs.pos0 << " NH=" << cs.NH << " KVH=" << cs.KVH << " HD=" << cs.HD
                << " window=" << cs.window << " softcap=" << cs.softcap << " batch=" << nb
               );
      const auto got = down(bo, o.size() + oo);
      CHECK(worst(std::vector<float>(got.begin() + oo, got.end()), o, 1e-5, 1e-4) <= 1);
      CHECK(worst(down(bL, L.size()), L, 1e-5, 1e-5) <= 1);
    });
  }
}

// Both decode shaders against the CPU: one recording per case replayed at several positions (the step buffer's),
// contexts 1, 2, 31, 257, 600 and past 2048 keys (split: one or several 64-key tiles per workgroup, 32 for HD > 64,
// one split or many merged), GQA, heads of 8 to 128 (split) and 256 (per head in both modes).
TEST_CASE("vulkan attention_decode: split and per-head shaders, replayed at several positions, GQA") {
  struct Case {
    int64_t NH, KVH, HD, cap;
    std::vector<int64_t> pos;
  };
  const Case cases[] = {{2, 1, 16, 40, {0, 1, 30}},           {4, 2, 64, 700, {0, 1, 30, 256, 599, 63, 64}},
                        {8, 2, 64, 2100, {2099, 127, 128, 5}}, {6, 2, 128, 1100, {600, 31, 1099, 32}},
                        {2, 1, 8, 300, {299}},                 {4, 2, 96, 301, {300, 0}},
                        {4, 4, 32, 256, {255}},                {2, 1, 256, 41, {40}}};
  for (const char* mode : {"split", "head"}) {
    setenv("EDGELLM_VULKAN_ATTENTION_DECODE", mode, 1);
    for (const Case& cs : cases) {
      const bool split = vk::attention_decode_path(ctx(), uint32_t(cs.HD)) == vk::DecodeAttentionPath::Split;
      CHECK(split == (std::string(mode) == "split" && cs.HD <= 128));  // lavapipe has the subgroups split needs
      const int64_t kst = cs.KVH * cs.HD;
      const auto q = randv(size_t(cs.NH * cs.HD), 11, -2, 2), k = randv(size_t((cs.cap + 3) * kst), 12, -2, 2),
                 v = randv(size_t((cs.cap + 3) * kst), 13);  // 3 rows past the capacity: never read
      std::vector<uint8_t> zeros(vk::attention_decode_work_bytes(uint32_t(cs.NH), uint32_t(cs.HD), uint32_t(cs.cap)));
      vk::Buffer bq = up(q), bk = up(k), bv = up(v), bs = up(std::vector<float>(4)), bw = up(zeros),
                 bo = ctx().alloc(size_t(cs.NH * cs.HD) * 4);
      vk::Batch b(ctx(), true);
      REQUIRE(vk::attention_decode(b, {&bo, 0}, {&bq, 0}, {&bk, 0}, {&bv, 0}, uint32_t(cs.NH), uint32_t(cs.KVH),
                                   uint32_t(cs.HD), uint32_t(kst), float(1.0 / std::sqrt(double(cs.HD))), bs,
                                   uint32_t(cs.cap), &bw));
      for (int64_t pos : cs.pos) {
        AttentionDims d;
        d.T = 1, d.S = pos + 1, d.NH = cs.NH, d.KVH = cs.KVH, d.HD = cs.HD, d.pos0 = pos;
        d.q_stride = d.o_stride = d.NH * d.HD, d.k_stride = d.v_stride = kst;
        d.scale = 1.0 / std::sqrt(double(d.HD));
        std::vector<float> o(size_t(d.o_stride)), L(size_t(d.NH)), work(size_t(attention_work_floats(d.HD)));
        for (int64_t g = 0; g < d.KVH; ++g)
          S().attention_forward(o.data(), L.data(), q.data(), k.data(), v.data(), d, g, 0, 1, work.data());
        const uint32_t p32 = static_cast<uint32_t>(pos);
        ctx().upload(bs, &p32, 4);
        if (b.kept()) b.replay();
        else b.submit();
        INFO(std::string(mode) << " pos=" << pos << " NH=" << cs.NH << " KVH=" << cs.KVH << " HD=" << cs.HD << " cap=" << cs.cap);
        CHECK(worst(down(bo, o.size()), o, 1e-5, 1e-4) <= 1);
        std::vector<uint32_t> tickets(size_t(cs.NH));
        ctx().download(bw, tickets.data(), tickets.size() * 4);
        CHECK(std::count(tickets.begin(), tickets.end(), 0u) == cs.NH);  // back at zero for the next replay
      }
    }
  }
  unsetenv("EDGELLM_VULKAN_ATTENTION_DECODE");
}

// Every path (flash and tiled for HD <= 128 in two tile sizes each, per-row for 160) on ragged T, a KV prefix, GQA,
// several sequences, the l base's shape; every gradient.
TEST_CASE("vulkan attention backward (dq, dk, dv accumulate) against the scalar kernel: GQA, prefix, strides") {
  struct Case { int64_t T, pos0, NH, KVH, HD, batch = 1; };
  for (Case cs : {Case{1, 0, 2, 1, 16}, Case{7, 0, 4, 2, 64}, Case{33, 0, 6, 2, 32}, Case{5, 9, 4, 4, 128},
                  Case{70, 0, 2, 1, 64}, Case{40, 0, 4, 2, 64, 3}, Case{5, 37, 4, 1, 32, 2}, Case{70, 13, 6, 3, 48, 2},
                  Case{33, 2, 2, 2, 80, 2}, Case{100, 0, 6, 6, 64}, Case{45, 6, 4, 2, 128, 2},
                  Case{20, 4, 4, 2, 160, 2}, Case{37, 4, 4, 2, 30, 2}, Case{20, 9, 2, 1, 70},
                  Case{256, 0, 6, 6, 64, 2}, Case{67, 0, 4, 2, 80, 2}, Case{130, 3, 4, 1, 128}, Case{33, 40, 2, 2, 32}}) {
    AttentionDims d;
    d.T = cs.T, d.S = cs.pos0 + cs.T, d.NH = cs.NH, d.KVH = cs.KVH, d.HD = cs.HD, d.pos0 = cs.pos0;
    d.q_stride = d.NH * d.HD + 2, d.k_stride = d.KVH * d.HD, d.v_stride = d.KVH * d.HD + 1, d.o_stride = d.NH * d.HD;
    d.scale = 1.0 / std::sqrt(double(d.HD));
    const int64_t nb = cs.batch;
    const uint32_t sd = uint32_t(cs.T * 31 + cs.HD);
    const auto q = randv(size_t(nb * d.T * d.q_stride), sd + 1, -2, 2),
               k = randv(size_t(nb * d.S * d.k_stride), sd + 2, -2, 2),
               v = randv(size_t(nb * d.S * d.v_stride), sd + 3),
               dO = randv(size_t(nb * d.T * d.o_stride), sd + 4);
    std::vector<float> o(size_t(nb * d.T * d.o_stride)), L(size_t(nb * d.T * d.NH));
    std::vector<float> work(size_t(std::max(attention_work_floats(d.HD), int64_t(1) << 16)));
    const auto dq0 = randv(q.size(), sd + 5), dk0 = randv(k.size(), sd + 6), dv0 = randv(v.size(), sd + 7);
    std::vector<float> dq = dq0, dk = dk0, dv = dv0;
    for (int64_t z = 0; z < nb; ++z) {
      const int64_t qz = z * d.T * d.q_stride, kz = z * d.S * d.k_stride, vz = z * d.S * d.v_stride,
                    oz = z * d.T * d.o_stride, lz = z * d.T * d.NH;
      for (int64_t g = 0; g < d.KVH; ++g)
        S().attention_forward(o.data() + oz, L.data() + lz, q.data() + qz, k.data() + kz, v.data() + vz, d, g, 0, d.T,
                              work.data());
      for (int64_t g = 0; g < d.KVH; ++g)
        S().attention_backward(dq.data() + qz, dk.data() + kz, dv.data() + vz, dO.data() + oz, q.data() + qz,
                               k.data() + kz, v.data() + vz, o.data() + oz, L.data() + lz, d, g, work.data());
    }
    for_each_attention_path(d, [&](const char* mode) {
      vk::Buffer bq = up(q), bk = up(k), bv = up(v), bo = up(o), bL = up(L), bdO = up(dO);
      vk::Buffer bdq = up(dq0), bdk = up(dk0), bdv = up(dv0);
      vk::Batch b(ctx());
      vk::attention_backward(b, bdq, bdk, bdv, bdO, bq, bk, bv, bo, bL, d, uint32_t(nb));
      b.submit();
      INFO(mode << " T=" << cs.T << " pos0=" << cs.pos0 << " NH=" << cs.NH << " KVH=" << cs.KVH << " HD=" << cs.HD
                << " batch=" << nb);
      CHECK(worst(down(bdq, dq.size()), dq, 1e-4, 1e-4) <= 1);
      CHECK(worst(down(bdk, dk.size()), dk, 1e-4, 1e-4) <= 1);
      CHECK(worst(down(bdv, dv.size()), dv, 1e-4, 1e-4) <= 1);
    });
  }
}

TEST_CASE("vulkan context: device listed, budget refused with BudgetError naming sizes, unknown shader") {
  const auto devs = vk::list_devices();
  REQUIRE(!devs.empty());
  vk::Context& c = ctx();
  MESSAGE("device: " << c.info().name << " (" << c.info().type << ")");
  // The listing's tensor cores are the ones the context uses, unless EDGELLM_VULKAN_COOPMAT overrides it.
  const char* coop_env = std::getenv("EDGELLM_VULKAN_COOPMAT");
  if (!coop_env || !*coop_env || std::string(coop_env) == "auto")
    CHECK(devs[static_cast<size_t>(c.info().index)].coop_matrix == (c.coop() == vk::Context::Coop::Hardware));
  const size_t old = c.budget();
  c.set_budget(c.used() + 1000);
  CHECK_THROWS_AS(c.alloc(4096), BudgetError);
  try {
    c.alloc(4096);
  } catch (const BudgetError& e) {
    CHECK(std::string(e.what()).find("4096 bytes") != std::string::npos);
  }
  c.set_budget(old);
  vk::Buffer small = c.alloc(64);
  if (const char* f = std::getenv("EDGELLM_VULKAN_STAGING"); f && std::string(f) == "1")
    CHECK(small.mapped == nullptr);  // the forced discrete path: device-local, reached through staging
  vk::Batch b(c);
  CHECK_THROWS_AS(b.dispatch("no_such_shader", {&small}, nullptr, 0, 1), Error);
  CHECK_THROWS_AS(c.upload(small, std::vector<float>(100).data(), 400), Error);
}

TEST_CASE("vulkan fence timeout: an Error naming VK_TIMEOUT, never a hang; the batch works again after") {
  vk::Context& c = ctx();
  const uint32_t n = 384;
  const auto a = randv(size_t(n) * n, 1);
  vk::Buffer ba = up(a), bc = c.alloc(size_t(n) * n * 4);
  vk::Batch b(c);
  const uint64_t old = c.timeout_ns();
  c.set_timeout_ns(0);  // poll once: a batch of 8 GEMMs of 384³ is not done yet
  for (int i = 0; i < 8; ++i) vk::gemm_f32(b, {&bc, 0}, n, {&ba, 0}, n, 1, {&ba, 0}, n, 1, n, n, n);
  bool timed_out = false;
  try {
    b.submit();
  } catch (const Error& e) {
    timed_out = std::string(e.what()).find("VK_TIMEOUT") != std::string::npos;
  }
  c.set_timeout_ns(old);
  vkDeviceWaitIdle(c.device());  // let the abandoned batch finish before its buffers go
  CHECK(timed_out);
  vk::gemm_f32(b, {&bc, 0}, n, {&ba, 0}, n, 1, {&ba, 0}, n, 1, 1, 1, 1);
  b.submit();
  CHECK(down(bc, 1)[0] == doctest::Approx(a[0] * a[0]));
}

TEST_CASE("vulkan GPU profile: one row per shader, its calls counted once per submit and replay, results unchanged") {
  if (ctx().timestamp_bits() == 0) {
    MESSAGE("this device's compute queue has no timestamps: the GPU profile is off there");
    return;
  }
  const uint32_t n = 4099;
  const auto a = randv(n, 3), c = randv(n, 4);
  std::vector<float> add(n);
  S().add_forward(add.data(), a.data(), c.data(), n);
  vk::Buffer ba = up(a), bc = up(c), o1 = ctx().alloc(n * 4), o2 = ctx().alloc(n * 4);
  vk::reset_gpu_profile();
  vk::set_gpu_profiling(true);
  vk::Batch once(ctx());
  vk::elementwise(once, vk::Ew::Add, {&o1, 0}, {&ba, 0}, {&bc, 0}, n);
  vk::softmax_forward(once, o2, o1, 1, n);  // depends on o1: a barrier between, each stamped after its own
  once.submit();
  vk::Batch kept(ctx(), true);
  vk::elementwise(kept, vk::Ew::Add, {&o1, 0}, {&ba, 0}, {&bc, 0}, n);
  kept.submit();
  kept.replay();
  vk::set_gpu_profiling(false);
  vk::Batch off(ctx());  // recorded with profiling off: counts nothing
  vk::elementwise(off, vk::Ew::Add, {&o1, 0}, {&ba, 0}, {&bc, 0}, n);
  off.submit();
  const auto rows = vk::gpu_profile();
  REQUIRE(rows.size() == 2);
  for (const vk::ShaderTime& r : rows) {
    CHECK(r.ms >= 0);
    CHECK(r.ms < 1e4);  // a wrapped or unmasked timestamp would be absurd
    if (r.name == "elementwise") CHECK(r.calls == 3);
    else CHECK((r.name == "softmax" && r.calls == 1));
  }
  CHECK(worst(down(o1, n), add, 1e-6, 1e-6) <= 1);
  vk::reset_gpu_profile();
  CHECK(vk::gpu_profile().empty());
}

TEST_CASE("vulkan prefetch (EDGELLM_VULKAN_PREFETCH): no barrier before it, nothing written, a size limit") {
  const auto wv = randv(8192, 31), av = randv(256, 32);
  vk::Buffer w = up(wv), a = up(av), y = ctx().alloc(256 * 4), z = ctx().alloc(256 * 4);
  setenv("EDGELLM_VULKAN_PREFETCH", "0.02", 1);  // 20,971 bytes
  CHECK(vk::prefetch_limit_bytes() == 20971);
  const vk::BatchStats before = vk::batch_stats(ctx());
  {
    vk::Batch b(ctx());
    vk::elementwise(b, vk::Ew::Add, {&y, 0}, {&a, 0}, {&a, 0}, 256);
    vk::prefetch_weights(b, w, 20, 16000);     // recorded: beside the add, no barrier
    vk::prefetch_weights(b, w, 0, 32768);      // over the limit: not recorded
    vk::elementwise(b, vk::Ew::Add, {&z, 0}, {&y, 0}, {&a, 0}, 256);  // reads y: the one barrier
    b.submit();
  }
  const vk::BatchStats& after = vk::batch_stats(ctx());
  CHECK(after.dispatches - before.dispatches == 3);
  CHECK(after.barriers - before.barriers == 1);
  CHECK(down(w, wv.size()) == wv);
  const auto zv = down(z, 256);
  for (size_t i = 0; i < 256; ++i) CHECK(zv[i] == doctest::Approx(3 * av[i]));
  setenv("EDGELLM_VULKAN_PREFETCH", "many", 1);
  CHECK_THROWS_WITH(vk::prefetch_limit_bytes(), doctest::Contains("EDGELLM_VULKAN_PREFETCH=many"));
  unsetenv("EDGELLM_VULKAN_PREFETCH");
  CHECK(vk::prefetch_limit_bytes() == 0);
}
