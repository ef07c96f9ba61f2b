#!/usr/bin/env python3
"""Prints the markdown table of docs/results/distillation.md from finished recipe runs.

Usage: python3 scripts/results-table.py [--speeds REPORT_JSON]... runs/bge-small-*
Each run directory holds report.json (written by `./distill run`); its name says
bge-small-TASK-METHOD-DEPTH, or bge-small-TASK-tinybertDEPTH[-aug] (configs/tinybert). With --speeds, the speed-ups come instead from the report.json of
`./distill report TEACHER_DIR STUDENT_RUNS... --out DIR` (one per task: all its models timed
together, in alternating rounds), matched by model directory. Scores are dev scores x 100 (GLUE's per-task score: MRPC mean of F1
and accuracy, STS-B mean of Pearson and Spearman, CoLA MCC, else accuracy). Speed-up is the
student's dev examples/s over the teacher's, both measured in the same run; the table gives the
mean over the tasks with its range. Students distilled from different teachers (a teacher fine-tuned
again, told apart by provenance.json's teacher_hash) stand under their own teacher's row.
"""
import json
import pathlib
import re
import sys

TASKS = ["sst2", "mrpc", "cola", "stsb", "rte"]
TASK_NAMES = {"sst2": "SST-2", "mrpc": "MRPC", "cola": "CoLA", "stsb": "STS-B", "rte": "RTE"}
METHODS = ["distilbert", "pkd-skip", "pkd-last", "finetune", "tinybert", "tinybert-aug"]
METHOD_NAMES = {"distilbert": "DistilBERT", "pkd-skip": "PKD-skip", "pkd-last": "PKD-last",
                "finetune": "fine-tuned, no distillation", "tinybert": "TinyBERT",
                "tinybert-aug": "TinyBERT, augmented"}

args = sys.argv[1:]
speeds = {}  # model directory -> dev examples/s, from `distill report`
while args and args[0] == "--speeds":
    for e in json.loads(pathlib.Path(args[1]).read_text()):
        speeds[str(pathlib.Path(e["dir"]).resolve())] = (e["task"], e["dev_examples_per_second"])
    args = args[2:]


def measured_speed_up(run_dir, task):
    """Student over teacher from the --speeds reports, or None."""
    student = speeds.get(str((run_dir / "best").resolve()))
    teachers = [v for k, v in speeds.items() if "/teachers/" in k and v[0] == task]
    if not student or len(teachers) != 1 or not teachers[0][1]:
        return None
    return student[1] / teachers[0][1]


runs = {}  # (method, depth, task) -> (student row, speed-up, teacher key)
teachers = {}  # (task, teacher key) -> teacher row
for d in map(pathlib.Path, args):
    m = re.fullmatch(r"bge-small-(\w+)-(distilbert|pkd-skip|pkd-last|finetune)-(\d+)", d.name)
    tb = re.fullmatch(r"bge-small-(\w+)-tinybert(\d+)(-aug)?", d.name)
    report = d / "report.json"
    if not (m or tb) or not report.is_file():
        continue
    if m:
        task, method, depth = m.group(1), m.group(2), int(m.group(3))
    else:
        task, method, depth = tb.group(1), "tinybert" + (tb.group(3) or ""), int(tb.group(2))
    r = json.loads(report.read_text())
    rows = {row["role"]: row for row in r["rows"]}
    speed_up = measured_speed_up(d, TASK_NAMES[task]) if speeds else r.get("speed_up")
    # A teacher fine-tuned again (another machine, another day) is another teacher: its students are
    # measured against it. Its weights' hash in provenance.json tells it apart.
    prov = d / "provenance.json"
    key = json.loads(prov.read_text()).get("teacher_hash") if prov.is_file() else None
    if "teacher" in rows:
        key = key or f"score {rows['teacher']['dev']['score']}"
        teachers[(task, key)] = rows["teacher"]
    runs[(method, depth, task)] = (rows["student"], speed_up, key)

tasks = [t for t in TASKS if any(k[2] == t for k in runs)]
head = "| model | layers | " + " | ".join(TASK_NAMES[t] for t in tasks) + " | average | % of teacher | parameters | speed-up |"
print(head)
print("|" + "---|" * (head.count("|") - 1))

# Rows in table order, then grouped under the teacher they were distilled from (one group when every
# run shares its task's teacher; the table of distillation.md is one group).
order = [(method, depth) for depth in (6, 4, 3) for method in METHODS
         if any((method, depth, t) in runs for t in tasks)]
groups = []  # [task -> teacher key, [rows]]
for row in order:
    keys = {t: runs[row + (t,)][2] for t in tasks if row + (t,) in runs and runs[row + (t,)][2]}
    for g in groups:
        if all(g[0].get(t, k) == k for t, k in keys.items()):
            g[0].update(keys)
            g[1].append(row)
            break
    else:
        groups.append([dict(keys), [row]])

for keys, rows in groups:
    trow = {t: teachers[(t, k)] for t, k in keys.items() if (t, k) in teachers}
    t_scores = [100 * trow[t]["dev"]["score"] for t in tasks if t in trow]
    t_avg = sum(t_scores) / len(t_scores) if len(t_scores) == len(tasks) and tasks else None
    if trow:
        params = next(iter(trow.values()))["parameters"]
        label = "teacher (bge-small-en-v1.5 fine-tuned)" + (" of the rows below" if len(groups) > 1 else "")
        print(f"| {label} | 12 | " + " | ".join(
            f"{100 * trow[t]['dev']['score']:.2f}" if t in trow else "-" for t in tasks)
            + (f" | {t_avg:.2f} | 100 | {params / 1e6:.1f} M | 1.00x |" if t_avg is not None else " | - | - | - | 1.00x |"))
    for method, depth in rows:
        cells = [runs.get((method, depth, t)) for t in tasks]
        scores = [100 * c[0]["dev"]["score"] if c else None for c in cells]
        done = [s for s in scores if s is not None]
        avg = sum(done) / len(done) if len(done) == len(tasks) else None
        speed = [c[1] for c in cells if c and c[1]]
        params = next(c for c in cells if c)[0]["parameters"]
        print(f"| {METHOD_NAMES[method]} | {depth} | "
              + " | ".join(f"{s:.2f}" if s is not None else "-" for s in scores)
              + (f" | {avg:.2f} | {100 * avg / t_avg:.1f}" if avg is not None and t_avg else " | - | -")
              + f" | {params / 1e6:.1f} M | "
              + (f"{sum(speed) / len(speed):.2f}x ({min(speed):.2f}-{max(speed):.2f})" if speed else "-") + " |")
