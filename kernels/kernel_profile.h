// Profiling through the kernel table (`--profile`): a copy of the active table whose every entry, called as an op
// (outside any op and any parallel job), records a profile scope named after the kernel with its ISA as the path.
// Not the recorder (runtime/profile.h) and not the drivers' own scopes (each driver in kernels/ opens one).
#pragma once

#include "runtime/profile.h"

namespace edgellm {

struct KernelTable;
namespace detail {
// kernels() returns `t` instead of the active table while t is not null (kernels/kernel_table.cpp).
void set_profiled_table(const KernelTable* t);
}  // namespace detail

// Starts the recorder and makes kernels() hand out the recording table; stop puts the plain table back. While
// off, kernels() costs one relaxed load more than before.
void kernel_profile_start();
void kernel_profile_stop();

// This machine's bounds for the report: STREAM triad over buffers far larger than the caches, and the f32 FMA
// peak as the active sgemm micro-kernel reaches it on L1-resident panels, both on num_threads() threads. ~0.3 s.
profile::Bounds measure_machine_bounds();

}  // namespace edgellm
