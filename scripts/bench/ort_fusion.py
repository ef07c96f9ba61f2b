"""What ONNX Runtime makes of our int8 export and of its own quantize_dynamic output.

For each model directory: the operators after ONNX Runtime's graph optimizations (do the int8
products fuse into DynamicQuantizeMatMul / MatMulIntegerToFloat?), then milliseconds per batch of
8 MRPC dev pairs, timed in alternating rounds, as written and with ONNX shape inference added
(value_info, which lets ONNX Runtime fuse Add + LayerNormalization into SkipLayerNormalization).

Usage: python scripts/bench/ort_fusion.py GLUE_DIR THREADS MODEL_DIR...
"""
import collections
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnx.shape_inference
import onnxruntime as ort
from tokenizers import Tokenizer

glue, threads, dirs = Path(sys.argv[1]), int(sys.argv[2]), [Path(d) for d in sys.argv[3:]]
rows = [l.rstrip("\n").split("\t") for l in (glue / "MRPC/dev.tsv").read_text(encoding="utf-8").splitlines()[1:33]]
tok = Tokenizer.from_file(str(dirs[0] / "tokenizer.json"))
tok.enable_truncation(128)
tok.enable_padding()
batches = []
for i in range(0, len(rows), 8):
    enc = tok.encode_batch([(r[3], r[4]) for r in rows[i:i + 8]])
    batches.append({"input_ids": np.array([e.ids for e in enc], np.int64),
                    "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
                    "token_type_ids": np.array([e.type_ids for e in enc], np.int64)})
tmp = Path(tempfile.mkdtemp())
sessions = {}
for d in dirs:
    variants = {"as written": d / "model.onnx"}
    shaped = tmp / (d.name + "-shapes.onnx")
    onnx.save(onnx.shape_inference.infer_shapes(onnx.load(str(d / "model.onnx"))), str(shaped))
    variants["with shapes"] = shaped
    for label, path in variants.items():
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.optimized_model_filepath = str(tmp / f"{d.name}-{label.replace(' ', '-')}-opt.onnx")
        sessions[(d.name, label)] = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        ops = collections.Counter(n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node)
        fused = {k: v for k, v in ops.items() if k in ("DynamicQuantizeMatMul", "MatMulIntegerToFloat",
                 "MatMulInteger", "DynamicQuantizeLinear", "SkipLayerNormalization", "LayerNormalization",
                 "MatMul", "FusedMatMul")}
        print(f"{d.name} ({label}): {sum(ops.values())} nodes after optimization; {dict(sorted(fused.items()))}")
times = collections.defaultdict(list)
for _ in range(9):
    for key, s in sessions.items():
        t = time.perf_counter()
        for b in batches:
            s.run(None, b)
        times[key].append((time.perf_counter() - t) * 1000 / len(batches))
print(f"\n| model | graph | ms per batch of 8 MRPC pairs ({threads} threads, median of 9) |\n|---|---|---|")
for (name, label), t in times.items():
    print(f"| {name} | {label} | {statistics.median(t):.1f} |")
