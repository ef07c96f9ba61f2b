#!/usr/bin/env python3
"""Standard deviation of a student's segment (token-type) embeddings and of its position embeddings
in ranges of 16, to see which rows training moved away from the initialiser's 0.02.
Usage: python3 scripts/embedding-spread.py runs/tinybert/general-bge-small-4x312/best/model.safetensors"""
import array
import json
import statistics
import struct
import sys

with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))

    def rows(name):
        meta = header[name]
        start, end = meta["data_offsets"]
        f.seek(8 + n + start)
        values = array.array("f")
        values.frombytes(f.read(end - start))
        d = meta["shape"][1]
        return [values[r * d:(r + 1) * d] for r in range(meta["shape"][0])]

    types = rows("embeddings.token_type_embeddings.weight")
    for i, r in enumerate(types):
        print(f"segment {'AB'[i]}: {statistics.pstdev(r):.4f}")
    pos = rows("embeddings.position_embeddings.weight")
    for lo in range(0, 160, 16):
        print(f"positions {lo}-{lo + 15}: {statistics.mean(statistics.pstdev(r) for r in pos[lo:lo + 16]):.4f}")
    print(f"positions 256-511: {statistics.mean(statistics.pstdev(r) for r in pos[256:512]):.4f}")
