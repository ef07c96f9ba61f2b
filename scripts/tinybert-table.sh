#!/usr/bin/env bash
# The TinyBERT results of docs/results/tinybert.md for one teacher, one run at a time (2 cores), each
# resuming where it stopped: fine-tuned teachers, the GLUE corpus with its pairs, the general student
# (configs/tinybert/general-KEY-4x312-narrowed.yaml), then per task every recipe configs/tinybert/KEY/ has:
# TinyBERT4/6 without augmentation, then the augmented set and the recipes on it. The augmented sets
# are shared by both teachers: BERT-base's masked-LM head proposes the words for each. The log's stamps
# time each step (the RTE pipeline: augment + two stages).
# Usage: DISTILL_APP=/frozen/app scripts/tinybert-table.sh KEY [TASK ...]
#   KEY: bge-small (default tasks RTE MRPC STS-B CoLA SST-2) | bert-base (the papers' setting: RTE MRPC)
set -euo pipefail
cd "$(dirname "$0")/.."
key="${1:?usage: scripts/tinybert-table.sh bge-small|bert-base [TASK ...]}"; shift
# The teacher's attention scores and states are cached for the intermediate stage's many epochs when
# they fit in half the heap: 5.7 GB for TinyBERT6 on RTE.
export DISTILL_JAVA_OPTS=${DISTILL_JAVA_OPTS:--Xmx13g}
tasks=("$@")
if [ ${#tasks[@]} -eq 0 ]; then
  case "$key" in bert-base) tasks=(RTE MRPC) ;; *) tasks=(RTE MRPC STS-B CoLA SST-2) ;; esac
fi
stamp() { echo "== $(date -u +%FT%TZ) $*" >&2; }
scripts/finetune-teachers.sh "$key" "${tasks[@]}"   # a finished teacher resumes into nothing to do
[ -f runs/glue-corpus-pairs.txt ] || { stamp corpus; ./distill glue corpus --pairs --out runs/glue-corpus-pairs.txt; }
stamp general; ./distill run "configs/tinybert/general-$key-4x312-narrowed.yaml" --resume
for t in "${tasks[@]}"; do
  k=$(echo "$t" | tr 'A-Z' 'a-z' | tr -d '-')
  for s in 4 6; do
    cfg="configs/tinybert/$key/$k-tinybert$s.yaml"
    [ ! -f "$cfg" ] || { stamp "$t tinybert$s"; ./distill run "$cfg" --resume; }
  done
  if compgen -G "configs/tinybert/$key/$k-tinybert*-aug.yaml" > /dev/null; then
    # SST-2's recipes train on its first 20,000 sentences (their configs say why).
    case "$t" in SST-2) aug=(--limit 20000 --n 4) ;; *) aug=(--n 8) ;; esac
    stamp "$t augment"; ./distill augment --task "$t" "${aug[@]}" --out "runs/augmented/$t.tsv"
    for s in 4 6; do
      cfg="configs/tinybert/$key/$k-tinybert$s-aug.yaml"
      [ ! -f "$cfg" ] || { stamp "$t tinybert$s-aug"; ./distill run "$cfg" --resume; }
    done
  fi
done
stamp done
