#!/usr/bin/env bash
# Spark's overhead: the same augmentation and evaluation as single-machine commands and as Spark jobs
# at local[1] and local[2], one after the other on this machine. Wall time of each whole command
# (JVM start, model load, Spark start included); each Spark output is checked against the
# single-machine file. Prints a Markdown table.
# Usage: scripts/bench/spark-scale.sh MODEL_DIR [AUG_TASK] [AUG_ROWS]
#   MODEL_DIR: a fine-tuned model directory, evaluated on its task's dev set
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"; aug_task="${2:-MRPC}"; rows="${3:-256}"
out=runs/bench/spark-scale; rm -rf "$out"; mkdir -p "$out"
./distill --version >/dev/null; ./distill spark --version >/dev/null   # build both apps first
secs() { local t0; t0=$(date +%s.%N); "$@" > "$out/last.log" 2>&1 || { cat "$out/last.log" >&2; exit 1; }
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)"; }
same() { cmp -s "$1" "$2" && echo identical || echo DIFFERENT; }

a0=$(secs ./distill augment --task "$aug_task" --limit "$rows" --out "$out/aug-single.tsv" --cache-dir "$out/cache")
a1=$(secs ./distill spark augment --task "$aug_task" --limit "$rows" --out "$out/aug-l1.tsv" --master 'local[1]' --partitions 1)
a2=$(secs ./distill spark augment --task "$aug_task" --limit "$rows" --out "$out/aug-l2.tsv" --master 'local[2]' --partitions 2)
texts=$(python3 -c "
import csv, sys
rows = [r for r in csv.reader(open('$out/aug-single.tsv'), delimiter='\t', quoting=csv.QUOTE_NONE)][1:]
print(sum(1 for _ in rows))")

e0=$(secs ./distill eval --model "$model" --out "$out/eval-single")
e1=$(secs ./distill spark eval --model "$model" --out "$out/eval-l1" --master 'local[1]' --partitions 1)
e2=$(secs ./distill spark eval --model "$model" --out "$out/eval-l2" --master 'local[2]' --partitions 2)
n=$(($(wc -l < "$out/eval-single/predictions.tsv") - 1))

echo "| job | work | single machine | Spark local[1] | Spark local[2] | output |"
echo "|---|---|---|---|---|---|"
printf '| augment (%s) | %d training rows -> %d rows | %s s | %s s (%.2fx) | %s s (%.2fx) | %s, %s |\n' \
  "$aug_task" "$rows" "$texts" "$a0" "$a1" "$(echo "$a1 / $a0" | bc -l)" "$a2" "$(echo "$a2 / $a0" | bc -l)" \
  "$(same "$out/aug-single.tsv" "$out/aug-l1.tsv")" "$(same "$out/aug-single.tsv" "$out/aug-l2.tsv")"
printf '| eval (%s) | %d dev examples | %s s | %s s (%.2fx) | %s s (%.2fx) | %s, %s |\n' \
  "$(basename "$(dirname "$model")")" "$n" "$e0" "$e1" "$(echo "$e1 / $e0" | bc -l)" "$e2" \
  "$(echo "$e2 / $e0" | bc -l)" "$(same "$out/eval-single/predictions.tsv" "$out/eval-l1/predictions.tsv")" \
  "$(same "$out/eval-single/predictions.tsv" "$out/eval-l2/predictions.tsv")"
