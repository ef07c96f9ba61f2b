#!/usr/bin/env bash
# The papers' setting of docs/results/tinybert.md, one run at a time (2 cores), each resuming where it
# stopped: fine-tuned BERT-base teachers, the general TinyBERT4 from the pre-trained BERT-base on the
# GLUE corpus, the augmented sets (the same files as the bge-small runs: BERT-base's masked-LM head
# proposes the words for both), then task distillation. The log's stamps time each step.
# Usage: DISTILL_APP=/frozen/app scripts/tinybert-bert-base.sh [TASK ...]   (default: RTE MRPC)
set -euo pipefail
cd "$(dirname "$0")/.."
export DISTILL_JAVA_OPTS=${DISTILL_JAVA_OPTS:--Xmx13g}
tasks=("$@"); [ ${#tasks[@]} -gt 0 ] || tasks=(RTE MRPC)
stamp() { echo "== $(date -u +%FT%TZ) $*" >&2; }
scripts/finetune-teachers.sh bert-base "${tasks[@]}"   # a finished teacher resumes into nothing to do
[ -f runs/glue-corpus.txt ] || { stamp corpus; ./distill glue corpus --out runs/glue-corpus.txt; }
stamp general; ./distill run configs/tinybert/general-bert-base-4x312.yaml --resume
for t in "${tasks[@]}"; do
  k=$(echo "$t" | tr 'A-Z' 'a-z' | tr -d '-')
  stamp "$t augment"; ./distill augment --task "$t" --n 8 --out "runs/augmented/$t.tsv"
  stamp "$t tinybert4-aug"; ./distill run "configs/tinybert/bert-base/$k-tinybert4-aug.yaml" --resume
done
stamp done
