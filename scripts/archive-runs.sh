#!/usr/bin/env bash
# Keeps the small records of finished runs in docs/results/runs/NAME/ (report.json, report.md,
# provenance.json, metrics.jsonl, run.txt, the best model's distill.json), so that the results tables can be printed
# again after runs/ is gone. Models are never copied.
# Usage: scripts/archive-runs.sh RUN_DIR...      e.g. scripts/archive-runs.sh runs/bge-small-rte-* runs/teachers/bge-small/RTE
set -euo pipefail
cd "$(dirname "$0")/.."
dest=docs/results/runs
for run in "$@"; do
  run="${run%/}"
  case "$run" in
    */teachers/*) name="teacher-$(basename "$(dirname "$run")")-$(basename "$run")" ;;
    *) name="$(basename "$run")" ;;
  esac
  found=0
  mkdir -p "$dest/$name"
  for f in report.json report.md provenance.json metrics.jsonl run.txt best/distill.json; do
    if [ -f "$run/$f" ]; then cp "$run/$f" "$dest/$name/$(basename "$f")"; found=1; fi
  done
  if [ "$found" = 0 ]; then rmdir "$dest/$name" 2>/dev/null || true; echo "skipped $run: not a finished run" >&2
  else echo "archived $run -> $dest/$name" >&2; fi
done
