#!/usr/bin/env bash
# LoRA fine-tuning runs recorded in docs/results/lora.md, one at a time (2 cores): the same model,
# epochs, batch, length and seed as scripts/finetune-teachers.sh, with r = 8 adapters on query and
# value of a frozen backbone at a LoRA learning rate. Peak resident memory is kept in time.txt.
# Usage: scripts/lora-finetune.sh MODEL_KEY [TASK ...]
#   MODEL_KEY: minilm | bge-small | bert-base
# Each run writes runs/lora/MODEL_KEY/TASK/ (best/ merged, adapter/) and resumes if interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
key="$1"; shift
case "$key" in
  minilm)    model=builtin:all-minilm-l6-v2 ;;
  bge-small) model=builtin:bge-small-en-v1.5 ;;
  bert-base) model=builtin:bert-base-uncased ;;
  *) echo "unknown model key $key" >&2; exit 2 ;;
esac
lr=${LORA_LR:-1e-3}
tasks=("$@"); [ ${#tasks[@]} -gt 0 ] || tasks=(MRPC RTE STS-B CoLA SST-2)
for task in "${tasks[@]}"; do
  epochs=3
  case "$task" in
    RTE|STS-B) epochs=5 ;;
    SST-2) epochs=${SST2_EPOCHS:-1} ;;
  esac
  out="runs/lora/$key/$task"
  mkdir -p "$out"
  resume=(); [ -f "$out/run.txt" ] && resume=(--resume)   # a stopped run continues
  echo "== $(date -u +%FT%TZ) $model $task LoRA r=8 epochs=$epochs lr=$lr" >&2
  /usr/bin/time -v -o "$out/time.txt" ./distill finetune --model "$model" --task "$task" --epochs "$epochs" \
    --lr "$lr" --batch-size 32 --max-length 128 --seed 42 --lora-rank 8 --out "$out" "${resume[@]}"
  grep "Maximum resident" "$out/time.txt" >&2
done
