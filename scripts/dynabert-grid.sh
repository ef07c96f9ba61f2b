#!/usr/bin/env bash
# Cuts every width x depth sub-network out of a DynaBERT run and measures them with the teacher:
# dev scores, parameters, and dev examples/s timed together in alternating rounds
# (runs/NAME/grid/report.md, report.json, speed-TASK.png with the Pareto front).
# Usage: scripts/dynabert-grid.sh RUN_DIR TEACHER_DIR [OTHER_MODEL_DIR ...]
#   e.g. scripts/dynabert-grid.sh runs/bge-small-mrpc-dynabert runs/teachers/bge-small/MRPC/best \
#          runs/bge-small-mrpc-pkd-skip-6/best
set -euo pipefail
cd "$(dirname "$0")/.."
run="$1"; shift
widths=${WIDTHS:-"1.0 0.75 0.5 0.25"}; depths=${DEPTHS:-"1.0 0.75 0.5"}
cells=()
for d in $depths; do
  for w in $widths; do
    out="$run/grid/w$w-d$d"
    [ -f "$out/model.safetensors" ] || ./distill extract --model "$run/best" --width "$w" --depth "$d" --out "$out"
    cells+=("$out")
  done
done
./distill report "${cells[@]}" "$@" --out "$run/grid" --speed-examples "${SPEED_EXAMPLES:-256}"
