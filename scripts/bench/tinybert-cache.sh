#!/usr/bin/env bash
# What caching the teacher's attention scores and states buys a TinyBERT intermediate stage: the same
# short run with the teacher cached (one pass before training) and live (a pass with every batch),
# one after the other. Prints each run's wall time, the intermediate stage's logged examples/s, the
# cache's size and peak resident memory, and whether the two students are bit-identical.
# Usage: scripts/bench/tinybert-cache.sh CONFIG [EXAMPLES [EPOCHS [OUT_DIR]]]
#   e.g. scripts/bench/tinybert-cache.sh configs/tinybert/bge-small/mrpc-tinybert6.yaml 640 3
set -euo pipefail
cd "$(dirname "$0")/../.."
cfg="$1"; n="${2:-640}"; epochs="${3:-3}"; out="${4:-runs/bench/tinybert-cache}"
export DISTILL_JAVA_OPTS=${DISTILL_JAVA_OPTS:--Xmx13g}
rm -rf "$out"; mkdir -p "$out"
for cache in true false; do
  dir="$out/$cache"
  /usr/bin/time -f "%e %M" -o "$out/$cache.time" ./distill run "$cfg" --set "data.train_limit=$n" \
    --set "stages.intermediate.epochs=$epochs" --set stages.prediction.epochs=1 \
    --set "train.cache_teacher=$cache" --set "output.dir=$dir" > "$out/$cache.log" 2>&1
  read -r wall rss < "$out/$cache.time"
  rate=$(python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$dir/metrics.jsonl')]
r = [d['examples_per_second'] for d in rows if d.get('stage') == 'intermediate' and 'examples_per_second' in d]
print(f'{r[-1]:.1f}' if r else '-')")
  kept=$(grep -o 'teacher outputs cached: [0-9]* MB' "$out/$cache.log" | head -1 | grep -o '[0-9]* MB' || echo none)
  echo "$cfg, $n examples, $epochs intermediate epochs, cache $cache: ${wall} s wall, intermediate ${rate} ex/s, cache ${kept}, peak RSS $((rss / 1024)) MB"
done
cmp -s "$out/true/best/model.safetensors" "$out/false/best/model.safetensors" \
  && echo "students bit-identical" || echo "students differ (the cache's batching changes last bits)"
