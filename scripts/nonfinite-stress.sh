#!/usr/bin/env bash
# The non-finite-gradient harness (issue: sporadic NaN/Inf gradients in fp32): from a run's
# checkpoint, compute its next UPDATES updates REPEATS times without applying them, once per
# setting below, and count the computations whose gradients are not finite. Same weights, batches
# and dropout draws every time: an update non-finite in some repeats and not in others is a
# computation that is not repeatable.
# Usage: scripts/nonfinite-stress.sh RUN_DIR UPDATES REPEATS [SETTING ...]
#   RUN_DIR: a run stopped (or copied) with a checkpoint; its recipe.yaml is used as is.
#   SETTING: base | omp1 (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1) | jemalloc (LD_PRELOAD)
#            | avx2 (ATen, MKL and oneDNN kept to AVX2 kernels)
#            | noprefetch (batches tokenized on the training thread)
#            | torchdropout (libtorch's dropout instead of masks drawn in Java)
#            | arenas (glibc's per-thread arenas instead of the one arena scripts/native-env.sh sets) ; default: all
# Prints one summary per setting; the lines also go to RUN_DIR/../stress-NAME-SETTING.txt
set -uo pipefail
cd "$(dirname "$0")/.."
run="$1"; updates="$2"; repeats="$3"; shift 3
settings=("$@"); [ ${#settings[@]} -eq 0 ] && settings=(base omp1 jemalloc)
name=$(basename "$run")
for s in "${settings[@]}"; do
  envs=()
  case "$s" in
    base) ;;
    omp1) envs=(OMP_NUM_THREADS=1 MKL_NUM_THREADS=1) ;;
    jemalloc) lib=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null)
      [ -n "$lib" ] || { echo "jemalloc: not installed (apt-get install libjemalloc2)"; continue; }
      envs=(LD_PRELOAD="$lib") ;;
    avx2) envs=(ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2) ;;
    noprefetch) envs=(DISTILL_JAVA_OPTS="-Xmx8g -Ddistill4j.prefetch=false") ;;
    torchdropout) envs=(DISTILL_JAVA_OPTS="-Xmx8g -Ddistill4j.dropout=torch") ;;
    arenas) envs=(MALLOC_ARENA_MAX=16) ;;
    *) echo "unknown setting $s"; exit 2 ;;
  esac
  out="$(dirname "$run")/stress-$name-$s.txt"
  echo "== $s ${envs[*]}" | tee "$out"
  env "${envs[@]}" ./distill run "$run/recipe.yaml" --stress "$updates,$repeats" 2>>"$out.log" | tee -a "$out"
done
