#!/usr/bin/env bash
# Fault injection on a short real distillation (DistilBERT objective, 2-layer MiniLM student, 640
# SST-2 sentences, 40 updates, a checkpoint every 3): every fault below must end, after --resume,
# with a student bit-identical to an uninterrupted run, or with a clear error and the previous
# checkpoint intact.
#   - kill -9 at random moments, and the moment a checkpoint write starts (checkpoint.tmp appears);
#   - a full disk (a small tmpfs, so: root) during a checkpoint write, and during a teacher-cache write;
#   - SIGTERM (kill, timeout, a container stop) at random moments: a clean exit 143 after a checkpoint,
#     no hs_err file, and the resumed run bit-identical.
# Usage: scripts/fault-inject.sh [TRIALS] [KILLS_PER_TRIAL] [SIGTERMS]   (defaults 7, 3 and 8)
# Writes runs/faults/results.tsv (one row per fault) and prints a summary table.
set -uo pipefail
cd "$(dirname "$0")/.."
trials=${1:-7}; per=${2:-3}; terms=${3:-8}
work=${FAULT_DIR:-runs/faults}
mkdir -p "$work"
work=$(cd "$work" && pwd)
results="$work/results.tsv"
printf 'fault\ttrial\tdetail\toutcome\n' > "$results"

teacher="$work/teacher"
if [ ! -f "$teacher/best/model.safetensors" ]; then
  ./distill finetune --model builtin:all-minilm-l6-v2 --task SST-2 --epochs 1 --train-limit 640 --batch-size 32 \
    --max-length 64 --out "$teacher" --overwrite > "$work/teacher.log" 2>&1 \
    || { echo "teacher fine-tuning failed: $work/teacher.log"; exit 1; }
fi

recipe() { # the recipe file; each run names its output.dir with --set
  cat > "$work/recipe.yaml" <<YAML
name: fault-injection
method: distilbert
task: SST-2
seed: 42
data: {max_length: 64, train_limit: 640}
teacher: {model: $teacher/best}
student: {layers: [2, 4]}
distill: {hard_weight: 0.5, soft_weight: 0.5, temperature: 2.0, cosine: 1.0}
train: {epochs: 2, batch_size: 32, lr: 3.0e-4, eval_every: 10, checkpoint_every: 3}
YAML
  echo "$work/recipe.yaml"
}

digest() { sha256sum "$1" 2>/dev/null | cut -c1-64; }

# The reference: straight through.
ref="$work/reference/run"
if [ ! -f "$ref/report.json" ]; then
  rm -rf "$work/reference"
  ./distill run "$(recipe)" --set output.dir="$ref" > "$work/reference.log" 2>&1 || { echo "reference run failed"; exit 1; }
fi
ref_best=$(digest "$ref/best/model.safetensors")
ref_ckpt=$(digest "$ref/checkpoint/model.safetensors")

finish() { # $1 = run dir: resume until it ends; prints the exit code
  ./distill run "$(recipe)" --set output.dir="$1" --resume >> "$work/$(basename "$(dirname "$1")").log" 2>&1
  echo $?
}

compare() { # $1 = run dir -> "identical" or what differs
  local b c
  b=$(digest "$1/best/model.safetensors"); c=$(digest "$1/checkpoint/model.safetensors")
  if [ "$b" = "$ref_best" ] && [ "$c" = "$ref_ckpt" ]; then echo identical; else echo "DIFFERS (best $b, checkpoint $c)"; fi
}

# 1. kill -9: each trial is one run killed PER times, then resumed to its end.
for t in $(seq 1 "$trials"); do
  out="$work/kill-$t/run"; rm -rf "$work/kill-$t"; mkdir -p "$work/kill-$t"
  for k in $(seq 1 "$per"); do
    args=(); [ -d "$out" ] && args=(--resume)
    touch "$work/started"
    ./distill run "$(recipe)" --set output.dir="$out" "${args[@]}" >> "$work/kill-$t.log" 2>&1 &
    pid=$!
    if [ $(( (t + k) % 2 )) -eq 0 ]; then
      # The moment a checkpoint write starts (at most 90 s): a checkpoint.tmp made since this start
      # (a killed write leaves its own behind until the next write clears it).
      what="during a checkpoint write"
      for _ in $(seq 1 4500); do
        [ -n "$(find "$out" -maxdepth 1 -name checkpoint.tmp -newer "$work/started" 2>/dev/null)" ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.02
      done
    else
      delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.1f", 3 + rand() * 30 }')
      what="after ${delay} s"
      sleep "$delay"
    fi
    if kill -0 $pid 2>/dev/null; then
      kill -9 $pid; wait $pid 2>/dev/null
      state=$(ls -d "$out"/checkpoint* 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' ')
      printf 'kill -9\t%d\t%s (left: %s)\tkilled\n' "$t" "$what" "$state" >> "$results"
    else
      wait $pid 2>/dev/null
      printf 'kill -9\t%d\t%s\tthe run had ended first\n' "$t" "$what" >> "$results"
    fi
  done
  code=$(finish "$out")
  printf 'resume after kills\t%d\t%d kills, exit %s\t%s\n' "$t" "$per" "$code" "$(compare "$out")" >> "$results"
done

# 2. A full disk during a checkpoint write: a tmpfs that holds one checkpoint, the best model and
# the teacher cache, but not a second checkpoint beside the first.
disk="$work/fulldisk"; rm -rf "$disk"; mkdir -p "$disk"
if mount -t tmpfs -o size=330m tmpfs "$disk" 2>/dev/null; then
  out="$disk/run"
  ./distill run "$(recipe)" --set output.dir="$out" > "$work/fulldisk.log" 2>&1
  code=$?
  err=$(grep -m1 -i "no space\|cannot write" "$work/fulldisk.log" | cut -c1-160)
  step=$(grep -o '"step" : [0-9]*' "$out/checkpoint/state.json" 2>/dev/null | grep -o '[0-9]*$')
  # The checkpoint left behind must be whole: make room (as a user would) and resume it to the end.
  mount -o remount,size=1g "$disk"
  rcode=$(finish "$out")
  verdict=$(compare "$out")
  umount "$disk"
  printf 'full disk, checkpoint write\t1\texit %s: %s; checkpoint left at step %s\tresumed after making room (exit %s): %s\n' \
    "$code" "$err" "${step:-none}" "$rcode" "$verdict" >> "$results"

  # 3. A full disk during the teacher-cache write: the cache directory alone on a 4 MB tmpfs.
  rm -rf "$work/cachefull"; mkdir -p "$work/cachefull/teacher-cache"
  mount -t tmpfs -o size=4m tmpfs "$work/cachefull/teacher-cache"
  ./distill run "$(recipe)" --set output.dir="$work/cachefull/run" > "$work/cachefull.log" 2>&1
  code=$?
  warn=$(grep -m1 "not kept" "$work/cachefull.log" | cut -c1-160)
  left=$(ls "$work/cachefull/teacher-cache" | wc -l)
  umount "$work/cachefull/teacher-cache"
  printf 'full disk, teacher-cache write\t1\texit %s: %s; files left in the cache dir: %s\t%s\n' \
    "$code" "$warn" "$left" "$(compare "$work/cachefull/run")" >> "$results"
else
  printf 'full disk\t-\tmount -t tmpfs failed (needs root)\tnot run\n' >> "$results"
fi

# 4. SIGTERM at a random moment (startup, training, evaluation, a checkpoint write), then resumed.
for t in $(seq 1 "$terms"); do
  out="$work/term-$t/run"; rm -rf "$work/term-$t"; mkdir -p "$work/term-$t"
  DISTILL_JAVA_OPTS="-Xmx8g -XX:ErrorFile=$work/term-$t/hs_err_pid%p.log" \
    ./distill run "$(recipe)" --set output.dir="$out" > "$work/term-$t.log" 2>&1 &
  pid=$!
  delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.1f", 3 + rand() * 30 }')
  sleep "$delay"
  if kill -0 $pid 2>/dev/null; then
    kill -TERM $pid; wait $pid; code=$?
    said=$(grep -m1 -o "stopped on request after update [0-9]* of [0-9]*" "$work/term-$t.log")
    crash=$(ls "$work/term-$t"/hs_err_pid*.log 2>/dev/null | wc -l)
    rcode=$(finish "$out")
    printf 'SIGTERM\t%d\tafter %s s: exit %s, %s, hs_err files: %s\tresumed (exit %s): %s\n' "$t" "$delay" "$code" \
      "${said:-no checkpoint message}" "$crash" "$rcode" "$(compare "$out")" >> "$results"
  else
    wait $pid 2>/dev/null
    printf 'SIGTERM\t%d\tafter %s s\tthe run had ended first\n' "$t" "$delay" >> "$results"
  fi
done

column -t -s $'\t' "$results"
