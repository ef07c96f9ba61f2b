#!/usr/bin/env bash
# What the word-embedding space adds to TinyBERT's augmentation (docs/results/tinybert.md): the
# first LIMIT training rows of a classification task augmented twice with the same seed, with the
# space (words of several pieces get neighbours in BERT-base's input embeddings) and without it
# (--no-neighbours: such words are kept), then the fine-tuned teacher run on every row of both. For
# each: copies written, and the share of copies on which the teacher keeps the prediction it makes
# on the copy's original (a copy that changes the teacher's answer carries a label that may no
# longer hold).
# Usage: scripts/augment-space.sh TASK [LIMIT] [TEACHER_DIR]   (default 500 rows, runs/teachers/bge-small/TASK/best)
set -euo pipefail
cd "$(dirname "$0")/.."
task="${1:?usage: scripts/augment-space.sh TASK [LIMIT] [TEACHER_DIR]}"
limit="${2:-500}"
teacher="${3:-runs/teachers/bge-small/$task/best}"
glue="${GLUE_DIR:-../shared/data/glue}"
[ "$task" != STS-B ] || { echo "augment-space.sh compares predicted classes; STS-B is a regression task" >&2; exit 2; }
out="runs/augment-space/$task-$limit"
mkdir -p "$out"
for v in space none; do
  flag=(); [ "$v" = space ] || flag=(--no-neighbours)
  [ -f "$out/$v.tsv" ] || ./distill augment --task "$task" --limit "$limit" --n 8 "${flag[@]}" --out "$out/$v.tsv" \
    | tee "$out/$v.log"
  if [ ! -f "$out/eval-$v/predictions.tsv" ]; then
    # The augmented file as the dev split of a GLUE directory of its own (train and dev share a layout).
    rm -rf "$out/glue-$v"; mkdir -p "$out/glue-$v/$task"
    cp "$out/$v.tsv" "$out/glue-$v/$task/dev.tsv"
    ./distill eval --model "$teacher" --task "$task" --glue-dir "$out/glue-$v" --out "$out/eval-$v" > /dev/null
  fi
done
python3 - "$glue/$task/train.tsv" "$limit" "$out" <<'PY'
import sys
train, limit, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# The first LIMIT rows, and the header line where the task has one (it never matches a data row).
originals = set(l for l in open(train, encoding="utf-8-sig").read().split("\n")[:limit + 1] if l)

def stats(v):
    rows = [l for l in open(f"{out}/{v}.tsv", encoding="utf-8-sig").read().split("\n") if l]
    preds = [l.split("\t") for l in open(f"{out}/eval-{v}/predictions.tsv").read().split("\n")[1:] if l]
    # One prediction per data row: a row more is the header line of a task whose TSV has one.
    assert len(rows) - len(preds) in (0, 1), (v, len(rows), len(preds))
    rows = rows[len(rows) - len(preds):]
    copies = kept = gold = 0
    texts = set()
    orig = None
    for row, (_, pred, label) in zip(rows, preds):
        if row in originals:
            orig = pred
            continue
        copies += 1
        texts.add(row)
        kept += pred == orig
        gold += pred == label
    return copies, kept, gold, texts

s, n = stats("space"), stats("none")
print(f"| {sys.argv[2]} rows | copies | teacher keeps its prediction | teacher agrees with the original's label |")
print("|---|---|---|---|")
for name, (c, k, g, _) in (("with the space", s), ("without (--no-neighbours)", n)):
    print(f"| {name} | {c:,} | {100 * k / c:.1f}% | {100 * g / c:.1f}% |")
print(f"copies in both: {len(s[3] & n[3]):,}; only with the space: {len(s[3] - n[3]):,}")
PY
