"""ONNX Runtime's own dynamic quantization of a ./distill export, for comparison with --int8.

Usage: python scripts/bench/ort_quantize.py SRC_DIR DST_DIR [--per-channel]
Writes DST_DIR/model.onnx (quantize_dynamic, int8 weights) and copies the files beside it.
"""
import shutil
import sys
from pathlib import Path

from onnxruntime.quantization import QuantType, quantize_dynamic

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
quantize_dynamic(str(src / "model.onnx"), str(dst / "model.onnx"), weight_type=QuantType.QInt8,
                 per_channel="--per-channel" in sys.argv[3:])
for name in ("tokenizer.json", "config.json", "distill.json"):
    if (src / name).exists():
        shutil.copy(src / name, dst / name)
print(f"{dst / 'model.onnx'}: {(dst / 'model.onnx').stat().st_size / 1e6:.1f} MB")
