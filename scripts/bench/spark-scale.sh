#!/usr/bin/env bash
# Spark's overhead: the same augmentation, teacher pass and evaluation on one machine and as Spark
# jobs at local[1] and local[2], one after the other on this machine. augment and eval: wall time of
# each whole command (JVM start, model load, Spark start included), each Spark output checked
# against the single-machine file. Teacher pass: the seconds the trainer's own pass takes (a
# DistilBERT recipe's log) against the teacher-outputs job's own seconds (reading, Spark, Parquet).
# Prints a Markdown table.
# Usage: scripts/bench/spark-scale.sh MODEL_DIR [AUG_TASK] [AUG_ROWS] [TEACHER_EXAMPLES]
#   MODEL_DIR: a fine-tuned model directory: evaluated on its task's dev set, and the teacher whose
#   logits and last layer's token states are computed for its task's first TEACHER_EXAMPLES
#   training examples (default 2000)
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"; aug_task="${2:-MRPC}"; rows="${3:-256}"; limit="${4:-2000}"
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

# The teacher pass: the trainer's own (a DistilBERT recipe with a one-layer student, one epoch), then Spark's.
task=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['task'])" "$model/distill.json")
top=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['num_hidden_layers'])" "$model/config.json")
cat > "$out/teacher-pass.yaml" <<YAML
name: spark-scale-teacher-pass
method: distilbert
task: $task
data: {max_length: 128, train_limit: $limit}
teacher: {model: $model}
student: {layers: [$top]}
distill: {cosine: 1.0}
train: {epochs: 1}
output: {dir: $out/teacher-pass, speed_examples: 0}
YAML
./distill run "$out/teacher-pass.yaml" > "$out/teacher-pass.log" 2>&1
t0=$(tr '\r' '\n' < "$out/teacher-pass.log" | sed -n 's/.*teacher pass \([0-9.]*\) s.*/\1/p' | tail -1)
job() { "$@" 2>&1 | tee -a "$out/jobs.log" | sed -n 's/.* \([0-9.]*\) s$/\1/p' | tail -1; }
t1=$(job ./distill spark teacher-outputs --teacher "$model" --task "$task" --layers "$top" --limit "$limit" \
  --out "$out/to-l1" --master 'local[1]' --partitions 1)
t2=$(job ./distill spark teacher-outputs --teacher "$model" --task "$task" --layers "$top" --limit "$limit" \
  --out "$out/to-l2" --master 'local[2]' --partitions 2)

e0=$(secs ./distill eval --model "$model" --out "$out/eval-single")
e1=$(secs ./distill spark eval --model "$model" --out "$out/eval-l1" --master 'local[1]' --partitions 1)
e2=$(secs ./distill spark eval --model "$model" --out "$out/eval-l2" --master 'local[2]' --partitions 2)
n=$(($(wc -l < "$out/eval-single/predictions.tsv") - 1))

echo "| job | work | single machine | Spark local[1] | Spark local[2] | output |"
echo "|---|---|---|---|---|---|"
printf '| augment (%s) | %d training rows -> %d rows | %s s | %s s (%.2fx) | %s s (%.2fx) | %s, %s |\n' \
  "$aug_task" "$rows" "$texts" "$a0" "$a1" "$(echo "$a1 / $a0" | bc -l)" "$a2" "$(echo "$a2 / $a0" | bc -l)" \
  "$(same "$out/aug-single.tsv" "$out/aug-l1.tsv")" "$(same "$out/aug-single.tsv" "$out/aug-l2.tsv")"
printf '| teacher outputs (%s) | %d training examples: logits, layer %s token states | %s s | %s s (%.2fx) | %s s (%.2fx) | Parquet shards |\n' \
  "$task" "$limit" "$top" "$t0" "$t1" "$(echo "$t1 / $t0" | bc -l)" "$t2" "$(echo "$t2 / $t0" | bc -l)"
printf '| eval (%s) | %d dev examples | %s s | %s s (%.2fx) | %s s (%.2fx) | %s, %s |\n' \
  "$(basename "$(dirname "$model")")" "$n" "$e0" "$e1" "$(echo "$e1 / $e0" | bc -l)" "$e2" \
  "$(echo "$e2 / $e0" | bc -l)" "$(same "$out/eval-single/predictions.tsv" "$out/eval-l1/predictions.tsv")" \
  "$(same "$out/eval-single/predictions.tsv" "$out/eval-l2/predictions.tsv")"
