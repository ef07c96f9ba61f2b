"""Checks distill4j's LoRA adapter files against HuggingFace PEFT, both ways, on a GLUE dev set.

Usage: python scripts/bench/peft_check.py BASE_DIR RUN_DIR GLUE_DIR WORK_DIR

BASE_DIR  the base model as a HuggingFace directory (./distill convert builtin:NAME --out BASE_DIR)
RUN_DIR   a distill4j LoRA run: RUN_DIR/adapter (the adapters, PEFT's layout) and RUN_DIR/best (merged)
WORK_DIR  where the PEFT-written adapter and its distill4j merge go

1. distill4j -> PEFT: PeftModel.from_pretrained(BASE_DIR, RUN_DIR/adapter) against transformers on
   RUN_DIR/best (the merge distill4j wrote): largest logit difference, predictions that differ.
2. PEFT -> distill4j: PEFT puts adapters (r=8, query and value, random B) and a new head on BASE_DIR
   and saves them; `./distill lora merge` folds them in and `./distill eval` scores the result; the
   predictions are compared with PEFT's own, and transformers on the merged directory with PEFT's logits.
Needs the distill launcher in the working directory (run from the repository root).
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast

COLUMNS = {"SST-2": (0, None, 1), "CoLA": (3, None, 1), "MRPC": (3, 4, 0), "RTE": (1, 2, 3),
           "STS-B": (7, 8, 9), "WNLI": (1, 2, 3), "QNLI": (1, 2, 3)}
HEADERLESS = {"CoLA"}

base_dir, run_dir, glue, work = (Path(a) for a in sys.argv[1:5])
info = json.loads((run_dir / "adapter" / "distill.json").read_text())
task, max_length, labels = info["task"], info.get("max_length", 128), info.get("labels")
num_labels = 1 if labels is None else len(labels)
tok = PreTrainedTokenizerFast(tokenizer_file=str(base_dir / "tokenizer.json"), cls_token="[CLS]",
                              sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]")
a, b, y = COLUMNS[task]
with open(glue / task / "dev.tsv", newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
rows = rows if task in HEADERLESS else rows[1:]


def logits_of(model):
    out = []
    with torch.no_grad():
        for i in range(0, len(rows), 32):
            chunk = rows[i:i + 32]
            enc = tok([r[a] for r in chunk], [r[b] for r in chunk] if b is not None else None, truncation=True,
                      max_length=max_length, padding=True, return_tensors="pt", return_token_type_ids=True)
            out.append(model(**enc).logits)
    return torch.cat(out).numpy()


def base_model():
    torch.manual_seed(0)  # the pooler and head a bare encoder lacks start random, as PEFT would see them
    return AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=num_labels).eval()


def predictions(logits):
    return logits[:, 0] if labels is None else logits.argmax(-1)


def differ(p, q):
    return int((np.abs(p - q) > (1e-3 if labels is None else 0)).sum())


print(f"{task} dev, {len(rows)} examples; transformers {transformers.__version__}, peft {peft.__version__}")

# 1. Our adapter in PEFT.
ours = PeftModel.from_pretrained(base_model(), run_dir / "adapter").eval()
peft_logits = logits_of(ours)
merged_logits = logits_of(AutoModelForSequenceClassification.from_pretrained(run_dir / "best").eval())
print(f"distill4j adapter in PEFT vs distill4j's merged model in transformers: max |logit diff| = "
      f"{np.abs(peft_logits - merged_logits).max():.2e}, "
      f"{differ(predictions(peft_logits), predictions(merged_logits))} of {len(rows)} predictions differ")

# 2. A PEFT adapter here.
torch.manual_seed(1)
model = get_peft_model(base_model(), LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16,
                                                target_modules=["query", "value"],
                                                modules_to_save=["classifier", "pooler"]))
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.normal_(0, 0.02)  # as if trained: a fresh B is zero and would check nothing
model.eval()
theirs = logits_of(model)
adapter = work / "peft-adapter"
model.save_pretrained(adapter)
(adapter / "distill.json").write_text(json.dumps({"task": task, "max_length": max_length,
                                                  **({"labels": labels} if labels else {})}))
merged = work / "peft-merged"
subprocess.run(["./distill", "lora", "merge", "--model", str(base_dir), "--adapter", str(adapter), "--out",
                str(merged)], check=True)
subprocess.run(["./distill", "eval", "--model", str(merged), "--task", task, "--glue-dir", str(glue), "--out",
                str(work / "peft-eval")], check=True, stdout=subprocess.DEVNULL)
with open(work / "peft-eval" / "predictions.tsv") as f:
    ours_pred = np.array([float(r[1]) for r in list(csv.reader(f, delimiter="\t"))[1:]])
again = logits_of(AutoModelForSequenceClassification.from_pretrained(merged).eval())
print(f"PEFT adapter merged by distill4j: ./distill eval predictions vs PEFT's: "
      f"{differ(ours_pred, predictions(theirs))} of {len(rows)} differ; the merged directory in transformers vs "
      f"PEFT: max |logit diff| = {np.abs(again - theirs).max():.2e}")
