#!/usr/bin/env bash
# Cost of one update, full fine-tuning against LoRA (r = 8, query and value), on the same model,
# task slice, batch and length: seconds per update (training time over updates, checkpoint/state.json) and the
# process's peak resident memory. Two short runs of 60 updates, one after the other.
# Usage: scripts/bench/lora-cost.sh MODEL TASK [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"; task="$2"; out="${3:-runs/bench/lora-cost}"
for kind in full lora; do
  dir="$out/$task-$kind"; rm -rf "$dir"; mkdir -p "$dir"
  extra=(); lr=5e-5
  [ "$kind" = lora ] && { extra=(--lora-rank 8); lr=1e-3; }
  /usr/bin/time -v -o "$dir/time.txt" ./distill finetune --model "$model" --task "$task" --epochs 1 \
    --train-limit 1920 --batch-size 32 --max-length 128 --lr "$lr" --seed 42 --checkpoint-every 0 \
    --out "$dir" "${extra[@]}" > "$dir/log.txt" 2>&1
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.2f", $2 / 1048576}' "$dir/time.txt")
  spu=$(python3 -c "
import json
s = json.load(open('$dir/checkpoint/state.json'))
print(f\"{s['train_seconds'] / s['step']:.2f}\")")
  echo "$model $task $kind: $spu s/update, peak RSS $rss GiB, $(du -sh "$dir/checkpoint" | cut -f1) checkpoint"
done
