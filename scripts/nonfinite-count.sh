#!/usr/bin/env bash
# Counts fp32 updates, and the updates skipped or recomputed for non-finite gradients, in the runs
# trained since the fix of their cause (model/Scalar; docs/results/reliability.md).
# Usage: scripts/nonfinite-count.sh [RUN_DIR ...]
#   default: the kept records in docs/results/runs/ (scripts/archive-runs.sh), then every run under
#   runs/ not kept there yet, so that the count survives the loss of runs/.
# A run counts when its provenance.json names a commit that contains the fix; fp16 runs are left
# out (their skips are expected loss-scale overflows).
set -uo pipefail
cd "$(dirname "$0")/.."
fix=$(git log --format=%H --diff-filter=A -- distill-core/src/main/java/org/distill4j/model/Scalar.java | tail -1)
[ -n "$fix" ] || { echo "the fix is not in this checkout's history"; exit 2; }
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  mapfile -t dirs < <(find docs/results/runs -name provenance.json -printf '%h\n' 2>/dev/null | sort)
  while read -r d; do
    [ -d "docs/results/runs/$(scripts/archive-runs.sh --name-of "$d")" ] || dirs+=("$d")
  done < <(find runs -name provenance.json -printf '%h\n' 2>/dev/null | sort)
fi
total=0; events=0
for d in "${dirs[@]}"; do
  [ -f "$d/provenance.json" ] && [ -f "$d/metrics.jsonl" ] || continue
  commit=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("git_commit","").split("-")[0])' "$d/provenance.json")
  git merge-base --is-ancestor "$fix" "$commit" 2>/dev/null || continue
  grep -q '"precision" *: *"fp16"' "$d/recipe.yaml" 2>/dev/null && continue
  grep -q 'precision=fp16' "$d/run.txt" 2>/dev/null && continue
  read -r n e < <(python3 - "$d/metrics.jsonl" <<'PY'
import json, sys
last, bad = {}, 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "skipped" in r or "recomputed" in r:
        bad += 1
    if "step" in r and "eval" not in r:
        last[r.get("stage", "")] = max(last.get(r.get("stage", ""), 0), r["step"])
print(sum(last.values()), bad)
PY
)
  printf '%-60s %8d updates %4d skipped or recomputed\n' "$d" "$n" "$e"
  total=$((total + n)); events=$((events + e))
done
echo "total: $total fp32 updates since ${fix:0:7}, $events skipped or recomputed"
