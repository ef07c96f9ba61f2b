#!/usr/bin/env bash
# Fine-tunes the teachers recorded in docs/results/teachers.md, one run at a time (2 cores).
# Usage: scripts/finetune-teachers.sh MODEL_KEY [TASK ...]
#   MODEL_KEY: minilm | bge-small | bert-base
# Each run writes runs/teachers/MODEL_KEY/TASK/ and resumes from its checkpoint if interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
key="$1"; shift
case "$key" in
  minilm)    model=builtin:all-minilm-l6-v2;  lr=1e-4; ;;
  bge-small) model=builtin:bge-small-en-v1.5; lr=5e-5; ;;
  bert-base) model=builtin:bert-base-uncased; lr=2e-5; ;;
  *) echo "unknown model key $key" >&2; exit 2 ;;
esac
tasks=("$@"); [ ${#tasks[@]} -gt 0 ] || tasks=(MRPC RTE STS-B CoLA SST-2)
for task in "${tasks[@]}"; do
  epochs=3
  case "$task" in
    RTE|STS-B) epochs=5 ;;      # small sets: more passes, as is usual for them
    SST-2) epochs=${SST2_EPOCHS:-1} ;;  # 67k examples: one epoch on CPU unless asked
  esac
  out="runs/teachers/$key/$task"
  # --resume continues a stopped run (one stopped before its first checkpoint starts over).
  resume=(); [ -f "$out/run.txt" ] && resume=(--resume)
  echo "== $(date -u +%FT%TZ) $model $task epochs=$epochs lr=$lr" >&2
  ./distill finetune --model "$model" --task "$task" --epochs "$epochs" --lr "$lr" --batch-size 32 \
    --max-length 128 --seed 42 --out "$out" "${resume[@]}"
done
