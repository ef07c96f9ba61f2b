#!/usr/bin/env bash
# Runs the models of docs/results/pruning.md for one task, one run at a time (2 cores), then measures
# them with the teacher: dev scores, parameters (non-zero), dev examples/s timed together in
# alternating rounds (runs/pruning/TASK/report.md, report.json, speed-TASK.png), and file sizes.
#   - gradual magnitude pruning at 50%, 70% and 90% sparsity, without and with distillation
#     (configs/pruning/bge-small-TASK-gmp.yaml and -gmp-kd.yaml);
#   - one-shot structured pruning of 25% and 50% of heads and FFN neurons by importance, scored
#     as cut and after recovery by distillation (configs/pruning/bge-small-TASK-structured.yaml).
# Usage: scripts/pruning-table.sh TASK      TASK: mrpc | sst2
#   SPARSITIES="0.9" (default "0.5 0.7 0.9") and SHARES="0.5" (default "0.25 0.5") run fewer.
# A finished run (runs/NAME/report.json) is skipped; an interrupted one resumes from its checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:?usage: scripts/pruning-table.sh mrpc|sst2}"
case "$t" in mrpc) T=MRPC ;; sst2) T=SST-2 ;; *) echo "task: mrpc or sst2, not $t" >&2; exit 2 ;; esac
teacher="runs/teachers/bge-small/$T/best"
pct() { python3 -c "import sys; print(round(float(sys.argv[1]) * 100))" "$1"; }
run() {  # config, name, --set...
  local cfg="$1" name="$2"; shift 2
  if [ -f "runs/$name/report.json" ]; then echo "== $name: done" >&2; return; fi
  # --resume also when a stopped run left no checkpoint yet: it then starts over in its own directory.
  local resume=(); [ -f "runs/$name/recipe.yaml" ] && resume=(--resume)
  echo "== $(date -u +%FT%TZ) $name" >&2
  ./distill run "$cfg" --set "name=$name" "$@" "${resume[@]}"
}
models=()
for s in ${SPARSITIES:-0.5 0.7 0.9}; do
  for kind in gmp gmp-kd; do
    name="bge-small-$t-$kind-$(pct "$s")"
    run "configs/pruning/bge-small-$t-$kind.yaml" "$name" --set "prune.sparsity=$s"
    models+=("runs/$name")
  done
done
# The teacher exists by now (the runs above make it when missing).
[ -f "$teacher/importance.json" ] || ./distill importance --model "$teacher" --task "$T"
for f in ${SHARES:-0.25 0.5}; do
  cut="runs/pruning/bge-small-$T-h$(pct "$f")"
  [ -f "$cut/model.safetensors" ] || ./distill prune --model "$teacher" --heads "$f" --ffn "$f" --out "$cut"
  name="bge-small-$t-structured-$(pct "$f")"
  run "configs/pruning/bge-small-$t-structured.yaml" "$name" --set "student.init=$cut"
  models+=("$cut" "runs/$name")
done
out="runs/pruning/$T"
./distill report "$teacher" "${models[@]}" --out "$out" --speed-examples "${SPEED_EXAMPLES:-256}"
{
  echo; echo "| model | model.safetensors | gzip -6 |"; echo "|---|---|---|"
  for m in "$teacher" "${models[@]}"; do
    d="$m"; [ -d "$m/best" ] && d="$m/best"
    printf '| %s | %.1f MB | %.1f MB |\n' "$m" "$(echo "$(stat -c %s "$d/model.safetensors") / 1000000" | bc -l)" \
      "$(echo "$(gzip -6 -c "$d/model.safetensors" | wc -c) / 1000000" | bc -l)"
  done
} | tee -a "$out/report.md"
