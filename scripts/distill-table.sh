#!/usr/bin/env bash
# Runs the students of docs/results/distillation.md for the given tasks, one run at a time (2 cores):
# DistilBERT, PKD-skip, PKD-last and plain fine-tuning, each with 6 and 3 layers, from the fine-tuned
# bge-small teacher (runs/teachers/bge-small/TASK/best, made first if missing).
# Usage: scripts/distill-table.sh TASK...      TASK: mrpc | rte | stsb | cola | sst2
#   DEPTHS="3" (default "6 3") runs only the students of those depths; METHODS="pkd-skip pkd-last"
#   (default "finetune distilbert pkd-skip pkd-last") only those methods, in that order.
# A finished run (runs/NAME/report.json) is skipped; an interrupted one resumes from its checkpoint.
# Print the table with: python3 scripts/results-table.py runs/bge-small-*
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: scripts/distill-table.sh TASK... (mrpc rte stsb cola sst2)" >&2; exit 2; }
layers() {  # method, student depth -> teacher layers the student starts from
  case "$1-$2" in
    distilbert-6) echo "[2, 4, 6, 8, 10, 12]" ;;   # every other layer, as DistilBERT
    distilbert-3) echo "[4, 8, 12]" ;;
    *-6) echo "[1, 2, 3, 4, 5, 6]" ;;              # the bottom layers, as PKD
    *-3) echo "[1, 2, 3]" ;;
  esac
}
for task in "$@"; do
  for depth in ${DEPTHS:-6 3}; do
    for method in ${METHODS:-finetune distilbert pkd-skip pkd-last}; do
      cfg="configs/bge-small/$task-$method.yaml"
      [ -f "$cfg" ] || { echo "no recipe $cfg" >&2; exit 2; }
      name="bge-small-$task-$method-$depth"
      if [ -f "runs/$name/report.json" ]; then
        echo "== $name: done" >&2
        continue
      fi
      resume=(); [ -d "runs/$name/checkpoint" ] && resume=(--resume)
      echo "== $(date -u +%FT%TZ) $name" >&2
      ./distill run "$cfg" --set "name=$name" --set "student.layers=$(layers "$method" "$depth")" "${resume[@]}"
    done
  done
done
