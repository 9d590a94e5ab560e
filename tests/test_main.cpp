// doctest's main, shared by every test binary; it also prints which kernel ISA is
// active so that logs (qemu, CI) show what actually ran.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "kernels/kernel_table.h"

int main(int argc, char** argv) {
  try {
    std::printf("edgellm tests: active ISA %s (compiled: %s)\n", edgellm::isa_name(edgellm::active_isa()),
                edgellm::compiled_isas_string().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgellm tests: %s\n", e.what());
    return 2;
  }
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  return ctx.run();
}
