#!/usr/bin/env bash
# The TinyBERT results of docs/results/tinybert.md for the bge-small teacher, one run at a time
# (2 cores), each resuming where it stopped: teachers, the GLUE corpus, the general student,
# augmented sets, then TinyBERT4/6 per task with and without augmentation.
# Usage: DISTILL_APP=/frozen/app scripts/tinybert-bge-small.sh [TASK ...]
set -euo pipefail
cd "$(dirname "$0")/.."
# The teacher's attention scores and states are cached for the intermediate stage's many epochs when
# they fit in half the heap: 5.7 GB for TinyBERT6 on RTE.
export DISTILL_JAVA_OPTS=${DISTILL_JAVA_OPTS:--Xmx13g}
tasks=("$@"); [ ${#tasks[@]} -gt 0 ] || tasks=(RTE MRPC STS-B CoLA SST-2)
stamp() { echo "== $(date -u +%FT%TZ) $*" >&2; }
scripts/finetune-teachers.sh bge-small "${tasks[@]}"   # a finished teacher resumes into nothing to do
[ -f runs/glue-corpus.txt ] || { stamp corpus; ./distill glue corpus --out runs/glue-corpus.txt; }
stamp general; ./distill run configs/tinybert/general-bge-small-4x312.yaml --resume
for t in "${tasks[@]}"; do
  k=$(echo "$t" | tr 'A-Z' 'a-z' | tr -d '-')
  for s in 4 6; do stamp "$t tinybert$s"; ./distill run "configs/tinybert/bge-small/$k-tinybert$s.yaml" --resume; done
  if [ -f "configs/tinybert/bge-small/$k-tinybert4-aug.yaml" ]; then
    stamp "$t augment"; ./distill augment --task "$t" --n 8 --out "runs/augmented/$t.tsv"
    for s in 4 6; do stamp "$t tinybert$s-aug"; ./distill run "configs/tinybert/bge-small/$k-tinybert$s-aug.yaml" --resume; done
  fi
done
