#!/usr/bin/env bash
# Keeps the small records of finished runs in docs/results/runs/NAME/ (report.json, report.md,
# provenance.json, metrics.jsonl, run.txt, a pruned run's sparsity.json, the best model's
# distill.json, and each kept skipped update's skip.json as skipped-step-N.json), so that the
# results tables can be printed again after runs/ is gone. Models and checkpoints are never copied.
# A run counts as finished when the trainer marked its checkpoint so ("finished": true in
# checkpoint/state.json, what Trainer.finished reads), or, for `distill report` output, when it has
# report.json.
# A record already kept under the same name is never overwritten (the tables cite it): archive a
# run made again with SUFFIX=-something, which is appended to its name.
# Usage: [SUFFIX=-TAG] scripts/archive-runs.sh RUN_DIR...
#   e.g. scripts/archive-runs.sh runs/bge-small-rte-* runs/teachers/bge-small/RTE runs/speed-rte
#        scripts/archive-runs.sh --name-of RUN_DIR   (prints the name a run is kept under)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=docs/results/runs
name_of() {
  case "$1" in
    */teachers/*) echo "teacher-$(basename "$(dirname "$1")")-$(basename "$1")" ;;
    */lora/*) echo "lora-$(basename "$(dirname "$1")")-$(basename "$1")" ;;
    */pruning/*) echo "pruning-$(basename "$1")" ;;
    *) basename "$1" ;;
  esac
}
if [ "${1:-}" = --name-of ]; then name_of "${2%/}"; exit 0; fi
for run in "$@"; do
  run="${run%/}"
  state="$run/checkpoint/state.json"
  if [ -f "$state" ]; then
    grep -Eq '"finished" *: *true' "$state" || { echo "skipped $run: not finished ($state)" >&2; continue; }
  elif [ ! -f "$run/report.json" ]; then
    echo "skipped $run: neither a finished run ($state) nor a report (report.json)" >&2
    continue
  fi
  name="$(name_of "$run")${SUFFIX:-}"
  if [ -e "$dest/$name" ]; then
    if cmp -s "$run/metrics.jsonl" "$dest/$name/metrics.jsonl"; then
      echo "kept already: $run as $dest/$name" >&2
    else
      echo "skipped $run: $dest/$name keeps another run of that name; give SUFFIX=-TAG" >&2
    fi
    continue
  fi
  mkdir -p "$dest/$name"
  for f in report.json report.md provenance.json metrics.jsonl run.txt sparsity.json best/distill.json; do
    [ -f "$run/$f" ] && cp "$run/$f" "$dest/$name/$(basename "$f")"
  done
  # What a skipped update was (its examples and loss values), without the checkpoint kept beside it.
  for f in "$run"/skipped/step-*/skip.json; do
    [ -f "$f" ] && cp "$f" "$dest/$name/skipped-$(basename "$(dirname "$f")").json"
  done
  echo "archived $run -> $dest/$name" >&2
done
