"""Scores a distill4j model directory on a GLUE dev set with HuggingFace transformers, to check that
the directory opens in transformers with the predictions ./distill eval makes.

Usage: python scripts/bench/hf_eval.py MODEL_DIR GLUE_DIR [PREDICTIONS_TSV]
The task and length come from MODEL_DIR/distill.json. With PREDICTIONS_TSV (./distill eval's
predictions.tsv), also counts the examples whose prediction differs.
"""
import csv
import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast

COLUMNS = {"SST-2": (0, None, 1), "CoLA": (3, None, 1), "MRPC": (3, 4, 0), "RTE": (1, 2, 3),
           "STS-B": (7, 8, 9), "WNLI": (1, 2, 3), "QNLI": (1, 2, 3)}
HEADERLESS = {"CoLA"}

model_dir, glue = Path(sys.argv[1]), Path(sys.argv[2])
info = json.loads((model_dir / "distill.json").read_text())
task, max_length = info["task"], info.get("max_length", 128)
model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
tok = PreTrainedTokenizerFast(tokenizer_file=str(model_dir / "tokenizer.json"), cls_token="[CLS]",
                              sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]")
a, b, y = COLUMNS[task]
with open(glue / task / "dev.tsv", newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
rows = rows if task in HEADERLESS else rows[1:]
labels = info.get("labels")
preds, gold = [], []
with torch.no_grad():
    for i in range(0, len(rows), 32):
        chunk = rows[i:i + 32]
        enc = tok([r[a] for r in chunk], [r[b] for r in chunk] if b is not None else None, truncation=True,
                  max_length=max_length, padding=True, return_tensors="pt",
                  return_token_type_ids=True)
        logits = model(**enc).logits
        if labels is None:
            preds += logits[:, 0].tolist()
            gold += [float(r[y]) for r in chunk]
        else:
            preds += logits.argmax(-1).tolist()
            gold += [labels.index(r[y]) for r in chunk]
preds, gold = np.array(preds), np.array(gold)
if labels is None:
    from scipy.stats import pearsonr, spearmanr
    result = {"pearson": 100 * pearsonr(preds, gold)[0], "spearman": 100 * spearmanr(preds, gold)[0]}
elif task == "CoLA":
    tp, tn = ((preds == 1) & (gold == 1)).sum(), ((preds == 0) & (gold == 0)).sum()
    fp, fn = ((preds == 1) & (gold == 0)).sum(), ((preds == 0) & (gold == 1)).sum()
    result = {"mcc": 100 * (tp * tn - fp * fn) / max(1e-12, np.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))))}
else:
    result = {"accuracy": 100 * (preds == gold).mean()}
    if task == "MRPC":
        tp, fp, fn = ((preds == 1) & (gold == 1)).sum(), ((preds == 1) & (gold == 0)).sum(), ((preds == 0) & (gold == 1)).sum()
        result["f1"] = 100 * 2 * tp / (2 * tp + fp + fn)
line = f"{task} dev ({len(rows)} examples), transformers {__import__('transformers').__version__}: " + \
       " ".join(f"{k}={v:.2f}" for k, v in result.items())
if len(sys.argv) > 3:
    with open(sys.argv[3]) as f:
        rows_ours = list(csv.reader(f, delimiter="\t"))[1:]
    ours = np.array([float(r[1]) for r in rows_ours])
    differ = int((np.abs(ours - preds) > (1e-3 if labels is None else 0)).sum())
    line += f"; {differ} of {len(rows)} predictions differ from ./distill eval"
print(line)
