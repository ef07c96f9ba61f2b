# Environment for the native libraries (libtorch, Intel MKL, glibc) under a distill4j JVM; sourced
# by ./distill, the GPU bundle's launcher and the benchmarks, so that all of them run alike. Every
# value can be overridden by setting it before.
export TORCH_CPP_LOG_LEVEL="${TORCH_CPP_LOG_LEVEL:-ERROR}"
# Intel MKL (inside libtorch) guarantees the same bits run to run only in its conditional numerical
# reproducibility mode; a resumed training replays its updates bit for bit only with it.
export MKL_CBWR="${MKL_CBWR:-AUTO}"
# glibc malloc. A training step frees and allocates the same tensors again and again (25 MB each for
# one layer's attention at batch 32 x 128). By default the JVM's threads allocate from secondary
# arenas whose heaps are handed back to the kernel as soon as they empty, and blocks above a moving
# threshold are mapped afresh: every step faulted in about 570 MB of new pages (146,000 minor faults).
# One arena, a fixed 32 MB mapping threshold (glibc's largest) and no trimming keep those pages in
# the process: about 10,000 faults a step. The price is that the process keeps its peak heap.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-33554432}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-17179869184}"
