// The memory budget: refusals past it (with a message saying asked / in use / budget), the exact peak,
// charge/uncharge, and that tensors give their bytes back. Not an allocator benchmark.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

using namespace edgellm;

TEST_CASE("an allocation past the budget raises BudgetError naming what was asked, in use and the budget") {
  MemoryArena arena(10000, "the test arena");
  void* a = arena.allocate(6000, "activations");
  CHECK(arena.in_use() == 6000);
  try {
    arena.allocate(4001, "the kv cache");
    FAIL("no BudgetError past the budget");
  } catch (const BudgetError& e) {
    const std::string m = e.what();
    CAPTURE(m);
    CHECK(m.find("4001 bytes") != std::string::npos);   // asked
    CHECK(m.find("6000 bytes") != std::string::npos);   // in use
    CHECK(m.find("10000 bytes") != std::string::npos);  // budget
    CHECK(m.find("the kv cache") != std::string::npos);
    CHECK(m.find("the test arena") != std::string::npos);
  }
  CHECK(arena.in_use() == 6000);  // a refusal charges nothing
  void* b = arena.allocate(4000);  // exactly up to the budget is fine
  CHECK(arena.in_use() == 10000);
  CHECK_THROWS_AS(arena.allocate(1), BudgetError);
  arena.release(b, 4000);
  arena.release(a, 6000);
  CHECK(arena.in_use() == 0);
  // An ask larger than the whole budget, and a huge one, fail cleanly rather than wrap around.
  CHECK_THROWS_AS(arena.allocate(20000), BudgetError);
  CHECK_THROWS_AS(arena.allocate(SIZE_MAX), BudgetError);
  CHECK(arena.in_use() == 0);
}

TEST_CASE("the peak is exact after a random sequence of allocations and frees") {
  MemoryArena arena(0, "unlimited");
  std::mt19937 g(3);
  struct Block {
    void* p;
    size_t bytes, align;
  };
  std::vector<Block> live;
  size_t in_use = 0, peak = 0;
  for (int step = 0; step < 500; ++step) {
    if (live.empty() || g() % 3 != 0) {
      const size_t bytes = g() % 5000, align = size_t{8} << (g() % 5);
      void* p = arena.allocate(bytes, nullptr, align);
      REQUIRE(p != nullptr);
      CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
      if (bytes) static_cast<char*>(p)[bytes - 1] = 1;  // the memory is usable
      live.push_back({p, bytes, align});
      in_use += bytes;
      peak = std::max(peak, in_use);
    } else {
      const size_t i = g() % live.size();
      arena.release(live[i].p, live[i].bytes, live[i].align);
      in_use -= live[i].bytes;
      live.erase(live.begin() + static_cast<long>(i));
    }
    REQUIRE(arena.in_use() == in_use);
    REQUIRE(arena.peak() == peak);
  }
  for (const Block& b : live) arena.release(b.p, b.bytes, b.align);
  CHECK(arena.in_use() == 0);
  CHECK(arena.peak() == peak);  // the peak survives frees
  arena.reset_peak();
  CHECK(arena.peak() == 0);
  CHECK_THROWS_AS(arena.allocate(8, nullptr, 3), Error);  // not a power of two
}

TEST_CASE("charge and uncharge count against the same budget") {
  MemoryArena arena(1000, "charged");
  arena.charge(700, "a vector");
  CHECK(arena.in_use() == 700);
  CHECK(arena.would_fit(300));
  CHECK_FALSE(arena.would_fit(301));
  CHECK_THROWS_AS(arena.charge(301, "too much"), BudgetError);
  CHECK_THROWS_WITH(arena.allocate(400), doctest::Contains("700 bytes"));
  arena.uncharge(200);
  CHECK(arena.in_use() == 500);
  void* p = arena.allocate(500);
  CHECK(arena.peak() == 1000);
  arena.release(p, 500);
  arena.uncharge(500);
  CHECK(arena.in_use() == 0);
  // A budget lowered below what is in use: the next allocation fails, freeing still works.
  arena.charge(800);
  arena.set_budget(500);
  CHECK(arena.budget() == 500);
  CHECK_THROWS_AS(arena.charge(1), BudgetError);
  arena.uncharge(800);
  CHECK_NOTHROW(arena.charge(500));
  arena.uncharge(500);
  CHECK(arena.in_use() == 0);
}

TEST_CASE("tensors charge their arena and give the bytes back when the last view dies") {
  MemoryArena arena(1 << 20, "tensors");
  {
    Tensor a = Tensor::empty({16, 64}, DType::F32, &arena);  // 4096 bytes
    CHECK(arena.in_use() == 4096);
    Tensor h = Tensor::zeros({16, 64}, DType::F16, &arena);  // 2048 bytes
    CHECK(arena.in_use() == 6144);
    Tensor view = a.slice(0, 2, 5);
    a = Tensor();  // the view keeps the storage alive
    CHECK(arena.in_use() == 6144);
    view = Tensor();
    CHECK(arena.in_use() == 2048);
    CHECK_THROWS_AS(Tensor::empty({1 << 20}, DType::F32, &arena), BudgetError);
    CHECK(arena.in_use() == 2048);
  }
  CHECK(arena.in_use() == 0);
  CHECK(arena.peak() == 6144);
}

TEST_CASE("released large blocks are reused, and live plus kept memory never passes the peak or the budget") {
  MemoryArena arena(64 << 20, "the test arena");
  void* a = arena.allocate(1 << 20, "activations");
  arena.release(a, 1 << 20);
  CHECK(arena.in_use() == 0);
  if (arena.kept() != 0) {  // not under AddressSanitizer, which gets every block back at once
    CHECK(arena.kept() == (1 << 20));
    void* b = arena.allocate(1 << 20, "activations again");
    CHECK(b == a);  // the same block, no fresh pages
    CHECK(arena.kept() == 0);
    arena.release(b, 1 << 20);
  }
  std::mt19937 g(11);
  std::vector<std::pair<void*, size_t>> live;
  size_t max_in_use = arena.peak();
  for (int step = 0; step < 400; ++step) {
    if (live.empty() || g() % 3 != 0) {
      const size_t bytes = (size_t{64} << 10) * (1 + g() % 40);  // 64 KiB .. 2.5 MiB, sizes repeat
      if (!arena.would_fit(bytes)) continue;
      void* p = arena.allocate(bytes);
      static_cast<char*>(p)[bytes - 1] = 1;
      live.emplace_back(p, bytes);
    } else {
      const size_t i = g() % live.size();
      arena.release(live[i].first, live[i].second);
      live.erase(live.begin() + static_cast<long>(i));
    }
    max_in_use = std::max(max_in_use, arena.in_use());
    REQUIRE(arena.in_use() + arena.kept() <= max_in_use);
    REQUIRE(arena.in_use() + arena.kept() <= arena.budget());
  }
  for (auto& [p, bytes] : live) arena.release(p, bytes);
  arena.set_budget(4 << 20);  // lowered: the next fresh allocation gives kept blocks back first
  void* c = arena.allocate((3 << 20) + 4096);
  CHECK(arena.in_use() + arena.kept() <= (4u << 20));
  arena.release(c, (3 << 20) + 4096);
  arena.trim();
  CHECK(arena.kept() == 0);
  CHECK(arena.in_use() == 0);
}
